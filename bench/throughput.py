"""Indexing throughput, side by side in one run: the seed-style loop, captionary's pipeline end to end, and
each of the pipeline's stages alone (reading in reader processes; the model on fitted pixels), with the ratio
of the pipeline to its slowest stage.

    python bench/throughput.py                 # 200 photo-size JPEGs, the tiny offline model
    python bench/throughput.py --model full-size --count 48 --seed-count 8      # CPU, the default model's shapes
    python bench/throughput.py --sweep 1000,10000   # peak RSS of the pipeline (no-op model) by collection size
    python bench/throughput.py --device cuda --model full-size --count 1024 --distinct 128 \
        --batch-sizes 128,256 --seed-count 32      # GPU: the default model's shapes, random weights

Each mode runs in its own child process so its peak RSS is its own. --threads pins torch's threads for every
mode (the seed loop's default: all cores); without it the pipeline splits the cores as it does for a person.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.photoset import full_size_model, photo_set, random_embedder, tiny_model  # noqa: E402
from indexer.models.families import SPEEDS  # noqa: E402


class NoOpCaptioner:
    """The model replaced by nothing: what is left is reading, hashing, decoding and storing."""

    def __init__(self, input_side: int) -> None:
        self.model_id = "no-op"
        self.input_side = input_side

    def caption(self, images):
        return ["a photo" for _ in images]


def peak_rss_mb() -> float:
    """This process's peak RSS. Linux's VmHWM, not getrusage: ru_maxrss survives exec, so a child would
    report its parent's peak when the parent is the larger (it is, after building a full-size model)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_seed_loop(folder: Path, args) -> dict:
    """The original demo's way: open, full decode, process, generate, one image at a time."""
    from PIL import Image

    from indexer.models.captioner import Captioner

    captioner = Captioner(args.model, device=args.device, threads=args.threads, speed="exact")
    paths = sorted(folder.rglob("*.jpg"))[: args.seed_count]
    started = time.perf_counter()
    for path in paths:
        image = Image.open(path)
        if image.mode != "RGB":
            image = image.convert("RGB")
        captioner.caption([image])
    return {"images": len(paths), "seconds": time.perf_counter() - started}


def run_read_alone(folder: Path, args) -> dict:
    """Stage 1 alone: every photo hashed, read and decoded by the reader processes, nothing stored."""
    from db.records import PendingFile
    from indexer.feed import crash_outcome
    from indexer.options import IndexOptions
    from indexer.pipeline import load_captioner
    from indexer.reading import KnownContents, PhotoReader, ReadSettings
    from indexer.stages import default_split, pixel_spec
    from indexer.workers import ProcessRunner

    captioner = load_captioner(IndexOptions(model=args.model, device=args.device, threads=args.threads))
    spec = pixel_spec(captioner)
    side = captioner.input_side
    settings = ReadSettings(follow_symlinks=False, decode_side=max(side, 320), model_side=side, specs=(spec,), thumbnail_dir=None)
    paths = sorted(folder.rglob("*.jpg"))
    pending = [
        PendingFile(n, str(path), str(folder), path.stat().st_size, path.stat().st_mtime_ns) for n, path in enumerate(paths)
    ]
    workers = args.workers or default_split(args.device)[0]
    runner = ProcessRunner(PhotoReader(settings, KnownContents()), workers, crash_outcome)
    try:
        list(runner.map(pending[:workers], ahead=workers * 2))  # started and warm, as in a run
        started = time.perf_counter()
        done = sum(1 for item in runner.map(pending, ahead=workers * 4) if item.pixels is not None)
        seconds = time.perf_counter() - started
    finally:
        runner.close()
    return {"images": done, "seconds": seconds, "workers": workers}


def run_model_alone(folder: Path, args) -> dict:
    """Stage 2 alone: the captioner on photos already fitted to its input, batch after batch."""
    import numpy as np

    from indexer.options import IndexOptions
    from indexer.pipeline import load_captioner
    from indexer.settings import batch_size_for

    captioner = load_captioner(IndexOptions(model=args.model, device=args.device, threads=args.threads, speed=args.speed))
    batch = batch_size_for(captioner.device, args.batch_size)
    rng = np.random.default_rng(0)
    spec = captioner.pixel_spec
    pixels = [rng.integers(0, 255, (spec.height, spec.width, 3), dtype=np.uint8) for _ in range(batch)]
    captioner.caption_pixels(pixels)  # warm up
    count = max(batch, (args.model_count or args.count) // batch * batch)
    started = time.perf_counter()
    for _ in range(count // batch):
        captioner.caption_pixels(pixels)
    if captioner.device == "cuda":
        import torch

        torch.cuda.synchronize()
    return {"images": count, "seconds": time.perf_counter() - started, "batch_size": batch, "speed": captioner.speed}


def run_pipeline(folder: Path, args, no_op: bool = False) -> dict:
    """Crawl + hash + decode + caption + store + full text (+ caption embeddings unless --no-embeddings).

    Models are loaded before the clock starts, as for the seed loop: this measures indexing, not loading.
    """
    from db.store import Store
    from indexer.models.caption_embedder import Embedder
    from indexer.options import IndexOptions
    from indexer.pipeline import index_roots, load_captioner
    from indexer.settings import DEFAULT_EMBEDDER, batch_size_for

    embeddings = not no_op and not args.no_embeddings
    options = IndexOptions(
        model=args.model,
        device=args.device,
        batch_size=args.batch_size,
        workers=args.workers,
        threads=args.threads,
        embeddings=embeddings,
        speed=args.speed,
    )
    from db.tags import auto_tags

    captioner = NoOpCaptioner(args.input_side) if no_op else load_captioner(options)
    embedder_id = args.embedder or DEFAULT_EMBEDDER
    embedder = Embedder(embedder_id, device=args.device, threads=args.threads) if embeddings else None
    auto_tags("warm up")  # the tagger's dictionary loads once per process (~2 s), like a model
    with tempfile.TemporaryDirectory() as data_dir, Store.open(data_dir) as store:
        if embedder is not None:
            store.use_embedder(embedder_id, lambda: embedder)
        started, cpu = time.perf_counter(), time.process_time()
        report = index_roots(store, [folder], options, lambda _options: captioner)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "images": report.processed,
        "seconds": seconds,
        # The model's own process, every thread of it: with a no-op model, what shares the interpreter with
        # generate on a GPU (readers are other processes and not counted).
        "parent_cpu_ms": 1000 * cpu / max(report.processed, 1),
        "decode_s": report.decode_seconds,
        "model_s": report.model_seconds,
        "store_s": report.store_seconds,
        "embed_s": report.embed_seconds,
        "failed": report.failed,
        "workers": options.workers or "split",
        "speed": getattr(captioner, "speed", "-"),
        "batch_size": batch_size_for(getattr(captioner, "device", args.device), options.batch_size),
        "embedded": report.embedded,
    }


def child(args) -> None:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    folder = Path(args.folder)
    if args.mode == "seed":
        result = run_seed_loop(folder, args)
    elif args.mode == "pipeline":
        result = run_pipeline(folder, args)
    elif args.mode == "read-alone":
        result = run_read_alone(folder, args)
    elif args.mode == "model-alone":
        result = run_model_alone(folder, args)
    else:
        result = run_pipeline(folder, args, no_op=True)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    if args.device == "cuda":
        result["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    result["images_per_s"] = result["images"] / result["seconds"]
    print(json.dumps(result))


def spawn(mode: str, folder: Path, args, batch_size: int | None = None, no_embeddings: bool = False) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        mode,
        "--folder",
        str(folder),
        "--model",
        str(args.model),
        "--device",
        args.device,
        "--input-side",
        str(args.input_side),
    ]
    # The seed loop had every core for its one model; the pipeline splits them unless --threads pins them.
    threads = args.threads or (os.cpu_count() if mode == "seed" else None)
    if threads:
        command += ["--threads", str(threads)]
    if mode == "seed":
        command += ["--speed", "exact"]
    elif args.speed:
        command += ["--speed", args.speed]
    command += ["--count", str(args.count)]  # the model-alone mode captions this many unless --model-count
    if args.model_count:
        command += ["--model-count", str(args.model_count)]
    if args.seed_count:
        command += ["--seed-count", str(args.seed_count)]
    if batch_size:
        command += ["--batch-size", str(batch_size)]
    if args.workers:
        command += ["--workers", str(args.workers)]
    if args.embedder:
        command += ["--embedder", args.embedder]
    if no_embeddings:
        command += ["--no-embeddings"]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode:
        raise SystemExit(f"{mode} failed:\n{finished.stderr[-3000:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def describe(mode: str, result: dict) -> str:
    line = (
        f"{mode:12} {result['images']:5} images in {result['seconds']:7.1f}s = "
        f"{result['images_per_s']:6.2f} images/s, peak RSS {result['peak_rss_mb']:.0f} MB"
    )
    if "peak_gpu_mb" in result:
        line += f", peak GPU memory {result['peak_gpu_mb']:.0f} MB"
    if "decode_s" in result:
        line += (
            f" (decode {result['decode_s']:.1f}s in readers, model {result['model_s']:.1f}s, "
            f"store {result['store_s']:.1f}s, embed {result['embed_s']:.1f}s for {result['embedded']}; "
            f"the model's process {result['parent_cpu_ms']:.2f} ms of CPU a photo; "
            f"readers={result['workers']} batch={result['batch_size']} speed={result['speed']})"
        )
    elif "batch_size" in result:
        line += f" (batch={result['batch_size']} speed={result['speed']})"
    elif "workers" in result:
        line += f" (readers={result['workers']})"
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument(
        "--model",
        default=None,
        help="model id or folder, or 'full-size' (the default model's "
        "shapes with random weights) [default: the tiny offline model]",
    )
    parser.add_argument(
        "--embedder",
        default=None,
        help="embedding model folder, or 'random:FOLDER' for FOLDER's "
        "architecture with random weights [default: the packaged MiniLM]",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads, pinned for every mode [default: as captionary splits]"
    )
    parser.add_argument("--speed", default=None, choices=SPEEDS, help="the pipeline's --speed [default: the device's]")
    parser.add_argument("--model-count", type=int, default=None, help="photos the model alone captions [default: --count]")
    parser.add_argument("--skip", default="", help="comma-separated modes not to run (seed, no-embedding, decode-only)")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--batch-sizes", default=None, help="comma-separated: one pipeline run per batch size")
    parser.add_argument("--seed-count", type=int, default=None, help="time the slow seed loop on this many")
    parser.add_argument("--distinct", type=int, default=None, help="distinct pictures in the photo set")
    parser.add_argument("--input-side", type=int, default=224)
    parser.add_argument("--no-embeddings", action="store_true", help="pipeline without caption embeddings")
    parser.add_argument("--sweep", default=None, help="comma-separated collection sizes for the memory sweep")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--folder", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.mode = args.child
        child(args)
        return
    if args.model == "full-size":
        args.model = str(full_size_model())
    args.model = args.model or str(tiny_model())
    if args.embedder and args.embedder.startswith("random:"):
        args.embedder = str(random_embedder(Path(args.embedder.split(":", 1)[1])))
    print(f"torch threads: {args.threads or 'as captionary splits'}; cores: {os.cpu_count()}; model: {args.model}", flush=True)
    if args.sweep:
        for count in [int(value) for value in args.sweep.split(",")]:
            folder = photo_set(count, size=(640, 480))
            result = spawn("decode-only", folder, args)
            print(
                f"sweep {count:>6} images (640x480): {result['images_per_s']:7.1f} images/s, "
                f"peak RSS {result['peak_rss_mb']:.0f} MB",
                flush=True,
            )
        return
    folder = photo_set(args.count, distinct=args.distinct)
    skip = set(args.skip.split(","))
    seed = None if "seed" in skip else spawn("seed", folder, args)
    if seed:
        print(describe("seed", seed), flush=True)
    read = spawn("read-alone", folder, args)
    print(describe("read alone", read), flush=True)
    rows = []
    for batch_size in [int(value) for value in (args.batch_sizes or str(args.batch_size or 0)).split(",")]:
        model = spawn("model-alone", folder, args, batch_size)
        print(describe("model alone", model), flush=True)
        result = spawn("pipeline", folder, args, batch_size, no_embeddings=args.no_embeddings)
        print(describe("pipeline", result), flush=True)
        slowest = min(read["images_per_s"], model["images_per_s"])
        print(f"  ratio pipeline / slowest stage alone = {result['images_per_s'] / slowest:.2f} at batch {result['batch_size']}")
        rows.append((result, model))
    best, _ = max(rows, key=lambda row: row[0]["images_per_s"])
    if "no-embedding" not in skip and not args.no_embeddings:
        plain = spawn("pipeline", folder, args, best["batch_size"], no_embeddings=True)
        print(describe("no embedding", plain), flush=True)
        print(f"ratio with/without caption embeddings = {best['images_per_s'] / plain['images_per_s']:.2f}")
    if "decode-only" not in skip:
        ceiling = spawn("decode-only", folder, args, best["batch_size"])
        print(describe("decode-only", ceiling), flush=True)
        print(f"ratio decode-only/pipeline = {ceiling['images_per_s'] / best['images_per_s']:.2f}")
    print("\nstage                 photos/s")
    if seed:
        print(f"seed loop             {seed['images_per_s']:8.2f}")
    print(f"read alone            {read['images_per_s']:8.2f}  ({read['workers']} readers)")
    for result, model in rows:
        print(f"model alone, batch {model['batch_size']:<3}{model['images_per_s']:8.2f}  ({model['speed']})")
        print(f"pipeline, batch {result['batch_size']:<6}{result['images_per_s']:8.2f}")
    slowest = min(
        read["images_per_s"], *(model["images_per_s"] for _, model in rows if model["batch_size"] == best["batch_size"])
    )
    line = f"best pipeline / slowest stage alone = {best['images_per_s'] / slowest:.2f}"
    if seed:
        line += f"; pipeline / seed loop = {best['images_per_s'] / seed['images_per_s']:.2f}"
    print(line)


if __name__ == "__main__":
    main()
