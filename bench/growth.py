"""Adding photos to a large library vs to an empty one, side by side: per-batch work must not grow with the library.

    python bench/growth.py                  # 1,000 new 640x480 photos into an empty DB and into a 100k-photo DB

The model is a no-op (as in bench/throughput.py's decode-only mode) so what is compared is everything
else: scanning, hashing, decoding, storing, tagging, caption embeddings (MiniLM, 1 torch thread) and
full-text syncs. The 100k library is bench/search_latency.py's synthetic index, copied for each run.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.photoset import photo_set  # noqa: E402
from bench.search_latency import build_index  # noqa: E402
from bench.throughput import NoOpCaptioner  # noqa: E402


def index_new_photos(data_dir: Path, folder: Path, embedder, batch_size: int) -> tuple[float, object]:
    from db.store import Store
    from indexer.models.caption_embedder import DEFAULT_EMBEDDER
    from indexer.options import IndexOptions
    from indexer.pipeline import index_roots

    captioner = NoOpCaptioner(224)
    options = IndexOptions(model=captioner.model_id, threads=1, workers=1, batch_size=batch_size)
    with Store.open(data_dir) as store:
        store.use_embedder(DEFAULT_EMBEDDER, lambda: embedder)
        started = time.perf_counter()
        report = index_roots(store, [folder], options, lambda _options: captioner)
        return time.perf_counter() - started, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library", type=int, default=100_000)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()

    import torch

    from db.tags import auto_tags
    from indexer.models.caption_embedder import DEFAULT_EMBEDDER, Embedder

    torch.set_num_threads(1)
    embedder = Embedder(DEFAULT_EMBEDDER, threads=1)
    auto_tags("warm up")
    library = build_index(args.library, embedder)
    folder = photo_set(args.count, size=(640, 480))
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for label in ("empty", "library"):
            data_dir = Path(scratch) / label
            if label == "library":
                shutil.copytree(library, data_dir)
            seconds, report = index_new_photos(data_dir, folder, embedder, args.batch_size)
            results[label] = seconds
            print(f"{label:8} {seconds:7.1f}s  {report.summary()}", flush=True)
            shutil.rmtree(data_dir)
    print(
        f"{args.count} new photos into a {args.library}-photo library vs an empty one: "
        f"{results['library'] / results['empty']:.2f}x the time (batch {args.batch_size})"
    )


if __name__ == "__main__":
    main()
