"""CPU time of the model's own process a photo, the model replaced by a no-op: what shares the interpreter (and
its GIL) with `generate` on a GPU, where the readers are other processes and the model alone is fast.

    python bench/model_process.py                      # 1,500 JPEGs of 320x240, 3 runs
    PYTHONPATH=/tmp/old python bench/model_process.py  # the same, for a worktree of an older commit

Small photos keep the readers well ahead, so the figure is the process's own work: receiving the readers'
results, the feed, the catalog's writes and tags, full-text syncs. On a GPU, a photo costs about this plus
`generate`'s own time in that interpreter.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

if not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.photoset import photo_set  # noqa: E402
from bench.throughput import NoOpCaptioner  # noqa: E402


def run(folder: Path, workers: int) -> tuple[int, float, float]:
    from db.store import Store
    from indexer.options import IndexOptions
    from indexer.pipeline import index_roots

    options = IndexOptions(model="no-op", device="cpu", batch_size=64, embeddings=False, workers=workers)
    captioner = NoOpCaptioner(224)
    with tempfile.TemporaryDirectory() as data_dir, Store.open(data_dir) as store:
        started, cpu = time.perf_counter(), time.process_time()
        report = index_roots(store, [folder], options, lambda _options: captioner)
        return report.processed, time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="reader processes")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from db.tags import auto_tags

    auto_tags("warm up")  # the tagger's dictionaries load once per process, like a model
    folder = photo_set(args.count, size=(320, 240), quality=85)
    import db

    print(f"code: {Path(db.__file__).resolve().parent.parent}; {args.count} photos of 320x240, {args.workers} readers")
    for _ in range(args.runs):
        photos, seconds, cpu = run(folder, args.workers)
        share = 1000 * cpu / photos
        print(f"{photos} photos in {seconds:.2f} s = {photos / seconds:.0f}/s; the model's process {share:.2f} ms of CPU a photo")


if __name__ == "__main__":
    main()
