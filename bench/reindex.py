"""No-op re-index cost: index N photos once (tiny model), then re-run on the unchanged tree, then on the tree with a
tenth of its photos moved to another folder.

    python bench/reindex.py              # 10,000 photos (640x480), generated once into bench/.cache

Reports the runs' seconds and the re-run's ratio to the first; neither the re-run nor the run of moves may load a
model. The tree indexed is made of hard links to the cached photos, so moving them leaves the cache as it was.
"""

from __future__ import annotations

import argparse
import os
import shutil
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
    cached = photo_set(args.count, size=(640, 480))
    folder = cached.parent / f"reindex-{args.count}"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(cached, folder, copy_function=os.link)
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
        moved = folder / "moved"
        moved.mkdir()
        for path in sorted(p for p in folder.rglob("*.jpg") if moved not in p.parents)[::10]:
            path.rename(moved / f"{path.parent.name}-{path.name}")
        started = time.perf_counter()
        third = index_roots(store, [folder], IndexOptions(model=model, threads=args.threads), counting_factory)
        third_seconds = time.perf_counter() - started
    shutil.rmtree(folder)
    print(f"first run : {first.summary()}  [{first_seconds:.2f}s wall]")
    print(f"re-run    : {second.summary()}  [{second_seconds:.2f}s wall]")
    print(f"moves     : {third.summary()}  [{third_seconds:.2f}s wall]")
    print(f"model loads after the first run: {len(loads) - 1}")
    print(
        f"no-op re-index = {second_seconds:.2f}s for {args.count} files = {second_seconds / first_seconds:.4f} "
        f"of the first run ({first_seconds / second_seconds:.0f}x faster)"
    )


if __name__ == "__main__":
    main()
