"""What each caption family costs: photos per second through the product's Captioner, for random weights of
the guide's checkpoint shapes (tests/tiny_families.py REAL_SHAPES; no Hub here).

    python bench/caption_models.py                          # CPU, torch pinned to 2 threads
    python bench/caption_models.py --device cuda --photos 256 --batch-size 32

Random weights never write the end token, so every caption runs to the family's --max-new-tokens budget:
a real model that stops earlier is faster than this (an upper bound on time per photo). Each family runs in
its own child process, so one model's memory does not weigh on the next.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CPU_FAMILIES = ["vit-gpt2", "blip", "git", "florence-2", "smolvlm"]


def build(family: str, target: Path) -> Path:
    if family == "vit-gpt2":
        from tests.tiny_model import build_full_size_model

        return build_full_size_model(target)
    from tests.tiny_families import BUILDERS

    return BUILDERS[family](target, real=True)  # type: ignore[call-arg]


def measure(family: str, args) -> dict:
    import torch

    from bench.photoset import realistic_photo
    from bench.throughput import peak_rss_mb
    from indexer.models.captioner import Captioner
    from indexer.reading import reduce_for_model

    with tempfile.TemporaryDirectory() as folder:
        model_dir = build(family, Path(folder) / family)
        started = time.perf_counter()
        captioner = Captioner(str(model_dir), device=args.device, threads=args.threads, max_new_tokens=args.max_new_tokens)
        load_seconds = time.perf_counter() - started
    parameters = sum(p.numel() for p in captioner.model.parameters())
    photos = [realistic_photo((1600, 1200), seed) for seed in range(args.photos)]
    photos = [reduce_for_model(photo, captioner.input_side) for photo in photos]  # what the pipeline hands it
    batches = [photos[i : i + args.batch_size] for i in range(0, len(photos), args.batch_size)]
    captioner.caption(batches[0])  # warm-up: allocator, kernels, lazy imports
    if args.device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for chunk in batches:
        captioner.caption(chunk)
    if args.device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    return {
        "family": family,
        "parameters_m": round(parameters / 1e6),
        "max_new_tokens": captioner.max_new_tokens,
        "batch_size": args.batch_size,
        "photos": len(photos),
        "seconds_per_photo": round(seconds / len(photos), 3),
        "photos_per_second": round(len(photos) / seconds, 2),
        "load_seconds": round(load_seconds, 1),
        "peak_rss_mb": round(peak_rss_mb()),
        "device": torch.cuda.get_device_name() if args.device == "cuda" else f"cpu, {args.threads} threads",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", default=",".join(CPU_FAMILIES))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=None, help="[default: each family's]")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the child process's family
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args)))
        return
    print("| family | parameters | tokens | s/photo | photos/s | load s | peak RSS MB | device |")
    print("|---|---|---|---|---|---|---|---|")
    for family in args.families.split(","):
        child = [sys.executable, __file__, "--one", family, *sys.argv[1:]]
        done = subprocess.run(child, capture_output=True, text=True)
        if done.returncode:
            print(f"| {family} | failed: {(done.stderr.strip().splitlines() or ['?'])[-1]} |||||||", flush=True)
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"| {family} | {row['parameters_m']}M | {row['max_new_tokens']} | {row['seconds_per_photo']} | "
            f"{row['photos_per_second']} | {row['load_seconds']} | {row['peak_rss_mb']} | {row['device']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
