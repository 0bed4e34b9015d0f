"""The overhead of `captionary index --ray`, side by side in one run: the local pipeline, then the same photos
through a local Ray instance with 1 and 2 actors, each into a new data dir, with the tiny offline model.

    python bench/ray_throughput.py                # 64 photo-size JPEGs, 2 CPUs for Ray
    python bench/ray_throughput.py --count 256 --size 1600x1200

Each Ray row includes what a person waits for: connecting, starting the actors and loading the model in each
(the local row loads its model inside the run too). Threads are pinned: torch gets one thread per actor on Ray
and --threads locally, so the rows compare engines, not thread counts.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.photoset import photo_set, tiny_model  # noqa: E402


def index_once(folder: Path, model: Path, ray: str | None, actors: int | None, threads: int) -> dict:
    from db.store import Store
    from indexer.options import IndexOptions
    from indexer.pipeline import index_roots, load_captioner

    options = IndexOptions(model=str(model), embeddings=False, batch_size=8, threads=threads, ray=ray, workers=actors)
    with tempfile.TemporaryDirectory() as data_dir, Store.open(data_dir) as store:
        started = time.perf_counter()
        report = index_roots(store, [folder], options, load_captioner)
        seconds = time.perf_counter() - started
    # store_ms: the driver's catalog writes per photo, what bounds how many actors one driver keeps busy
    store_ms = round(1000 * report.store_seconds / max(1, report.captioned), 2)
    return {"captioned": report.captioned, "failed": report.failed, "seconds": round(seconds, 2), "store_ms": store_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=64)
    parser.add_argument("--size", default="1600x1200")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs the local Ray instance is given")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the local run")
    args = parser.parse_args()
    width, height = (int(side) for side in args.size.split("x"))
    folder = photo_set(args.count, (width, height))
    model = tiny_model()

    import ray

    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    rows = {"local": index_once(folder, model, None, None, args.threads)}
    for actors in (1, 2):
        rows[f"ray, {actors} actor{'s' * (actors > 1)}"] = index_once(folder, model, "auto", actors, args.threads)
    ray.shutdown()
    local = rows["local"]["seconds"]
    for name, row in rows.items():
        row["photos_per_s"] = round(row["captioned"] / row["seconds"], 2)
        row["vs_local"] = round(local / row["seconds"], 2)
        print(f"{name:16} {row['photos_per_s']:7.2f} photos/s  {row['vs_local']:.2f}x local  ({row})")
    print(json.dumps({"count": args.count, "size": args.size, "cpus": args.cpus, "rows": rows}))


if __name__ == "__main__":
    main()
