"""The overhead of `captionary index --ray`, side by side in one run: the local pipeline, then the same photos
through a local Ray instance with 1 and 2 actors, each into a new data dir, with the tiny offline model.

    python bench/ray_throughput.py                # 64 photo-size JPEGs, 2 CPUs for Ray
    python bench/ray_throughput.py --count 256 --size 1600x1200
    python bench/ray_throughput.py --driver-cost    # what the driver pays to plan a run, default model's shapes

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


def driver_cost(what: str) -> dict:
    """In this process (run fresh for each row): what the driver of a Ray run loads to plan it, with the default
    model's shapes. 'inputs' is what it reads now (config and processor); 'int8' is the whole CPU-default model a
    CPU driver loaded before, 'float32' the whole model as published."""
    import resource

    from bench.photoset import full_size_model

    model = str(full_size_model())
    import torch  # every row pays for torch; the rows differ by the model

    torch.set_num_threads(2)
    started = time.perf_counter()
    if what == "inputs":
        from indexer.models.captioner import caption_inputs
        from indexer.settings import Settings

        caption_inputs(model, Settings.resolve())
    else:
        from indexer.options import IndexOptions
        from indexer.pipeline import load_captioner

        load_captioner(IndexOptions(model=model, device="cpu", speed="int8" if what == "int8" else "exact"))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"what": what, "seconds": round(time.perf_counter() - started, 2), "peak_rss_mb": round(peak_mb)}


def driver_costs() -> None:
    import subprocess

    from bench.photoset import full_size_model

    full_size_model()  # built once, outside the measured processes
    for what in ("inputs", "int8", "float32"):
        command = [sys.executable, __file__, "--driver-cost-of", what]
        print(subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=64)
    parser.add_argument("--size", default="1600x1200")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs the local Ray instance is given")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the local run")
    parser.add_argument("--driver-cost", action="store_true", help="what the driver loads to plan a run, not a run")
    parser.add_argument("--driver-cost-of", choices=("inputs", "int8", "float32"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.driver_cost_of:
        print(json.dumps(driver_cost(args.driver_cost_of)))
        return
    if args.driver_cost:
        driver_costs()
        return
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
