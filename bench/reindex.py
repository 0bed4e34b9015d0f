"""No-op re-index cost: index N photos once (tiny model), then re-run on the unchanged tree.

    python bench/reindex.py              # 10,000 photos (640x480), generated once into bench/.cache

Reports both runs' seconds and their ratio; the re-run must read no image and load no model.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.photoset import photo_set, tiny_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    from db.store import Store
    from indexer.options import IndexOptions
    from indexer.pipeline import index_roots, load_captioner

    torch.set_num_threads(args.threads)
    folder = photo_set(args.count, size=(640, 480))
    model = str(tiny_model())
    loads = []

    def counting_factory(options):
        loads.append(1)
        return load_captioner(options)

    with tempfile.TemporaryDirectory() as data_dir, Store.open(data_dir) as store:
        started = time.perf_counter()
        first = index_roots(store, [folder], IndexOptions(model=model, threads=args.threads), counting_factory)
        first_seconds = time.perf_counter() - started
        started = time.perf_counter()
        second = index_roots(store, [folder], IndexOptions(model=model, threads=args.threads), counting_factory)
        second_seconds = time.perf_counter() - started
    print(f"first run : {first.summary()}  [{first_seconds:.2f}s wall]")
    print(f"re-run    : {second.summary()}  [{second_seconds:.2f}s wall, model loads: {len(loads) - 1}]")
    print(
        f"no-op re-index = {second_seconds:.2f}s for {args.count} files = {second_seconds / first_seconds:.4f} "
        f"of the first run ({first_seconds / second_seconds:.0f}x faster)"
    )


if __name__ == "__main__":
    main()
