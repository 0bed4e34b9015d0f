"""Indexing throughput, side by side in one run: seed-style loop vs captionary's pipeline vs decode-only.

    python bench/throughput.py                 # 200 photo-size JPEGs, the tiny offline model
    python bench/throughput.py --count 500 --model /path/to/vit-gpt2 --device cuda
    python bench/throughput.py --sweep 1000,10000   # peak RSS of the pipeline (no-op model) by collection size

Each mode runs in its own child process so its peak RSS is its own; torch's threads are pinned
(--threads, default 1) so the modes compete for the same cores on the same terms.
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

from bench.photoset import photo_set, tiny_model  # noqa: E402


class NoOpCaptioner:
    """The model replaced by nothing: what is left is reading, hashing, decoding and storing."""

    def __init__(self, input_side: int) -> None:
        self.model_id = "no-op"
        self.input_side = input_side

    def caption(self, images):
        return ["a photo" for _ in images]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_seed_loop(folder: Path, args) -> dict:
    """The original demo's way: open, full decode, process, generate, one image at a time."""
    from PIL import Image

    from indexer.caption import Captioner

    captioner = Captioner(args.model, device=args.device, threads=args.threads)
    paths = sorted(folder.rglob("*.jpg"))
    started = time.perf_counter()
    for path in paths:
        image = Image.open(path)
        if image.mode != "RGB":
            image = image.convert("RGB")
        captioner.caption([image])
    return {"images": len(paths), "seconds": time.perf_counter() - started}


def run_pipeline(folder: Path, args, no_op: bool = False) -> dict:
    """Crawl + hash + decode + caption + store + full text (+ caption embeddings unless --no-embeddings).

    Models are loaded before the clock starts, as for the seed loop: this measures indexing, not loading.
    """
    from db.store import Store
    from indexer.caption import DEFAULT_EMBEDDER, Embedder
    from indexer.pipeline import IndexOptions, index_roots, load_captioner

    embeddings = not no_op and not args.no_embeddings
    options = IndexOptions(model=args.model, device=args.device, batch_size=args.batch_size,
                           workers=args.workers, threads=args.threads, embeddings=embeddings)
    from db.tags import auto_tags
    from indexer.pipeline import default_split

    captioner = NoOpCaptioner(args.input_side) if no_op else load_captioner(options)
    options.workers = options.workers or default_split(args.device)[0]
    embedder = Embedder(DEFAULT_EMBEDDER, device=args.device, threads=args.threads) if embeddings else None
    auto_tags("warm up")  # the tagger's dictionary loads once per process (~2 s), like a model
    with tempfile.TemporaryDirectory() as data_dir, Store.open(data_dir) as store:
        if embedder is not None:
            store.use_embedder(DEFAULT_EMBEDDER, lambda: embedder)
        started = time.perf_counter()
        report = index_roots(store, [folder], options, lambda _options: captioner)
        seconds = time.perf_counter() - started
    return {"images": report.processed, "seconds": seconds, "decode_s": report.decode_seconds,
            "model_s": report.model_seconds, "store_s": report.store_seconds, "embed_s": report.embed_seconds,
            "failed": report.failed, "workers": options.workers, "batch_size": options.batch_size}


def child(args) -> None:
    import torch

    torch.set_num_threads(args.threads)
    folder = Path(args.folder)
    if args.mode == "seed":
        result = run_seed_loop(folder, args)
    elif args.mode == "pipeline":
        result = run_pipeline(folder, args)
    else:
        result = run_pipeline(folder, args, no_op=True)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    result["images_per_s"] = result["images"] / result["seconds"]
    print(json.dumps(result))


def spawn(mode: str, folder: Path, args) -> dict:
    command = [sys.executable, __file__, "--child", mode, "--folder", str(folder), "--model", str(args.model),
               "--device", args.device, "--threads", str(args.threads), "--input-side", str(args.input_side)]
    if args.batch_size:
        command += ["--batch-size", str(args.batch_size)]
    if args.workers:
        command += ["--workers", str(args.workers)]
    if args.no_embeddings:
        command += ["--no-embeddings"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--model", default=None, help="model id or folder [default: the tiny offline model]")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads, pinned for every mode")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
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
    args.model = args.model or str(tiny_model())
    print(f"torch threads pinned to {args.threads}; cores: {os.cpu_count()}; model: {args.model}", flush=True)
    if args.sweep:
        for count in [int(value) for value in args.sweep.split(",")]:
            folder = photo_set(count, size=(640, 480))
            result = spawn("decode-only", folder, args)
            print(f"sweep {count:>6} images (640x480): {result['images_per_s']:7.1f} images/s, "
                  f"peak RSS {result['peak_rss_mb']:.0f} MB", flush=True)
        return
    folder = photo_set(args.count)
    results = {mode: spawn(mode, folder, args) for mode in ("seed", "pipeline", "decode-only")}
    for mode, result in results.items():
        print(f"{mode:12} {result['images']:5} images in {result['seconds']:7.1f}s = "
              f"{result['images_per_s']:6.2f} images/s, peak RSS {result['peak_rss_mb']:.0f} MB"
              + (f" (decode {result['decode_s']:.1f}s in workers, model {result['model_s']:.1f}s, "
                 f"store {result['store_s']:.1f}s, embed {result['embed_s']:.1f}s; "
                 f"workers={result['workers']} batch={result['batch_size']})"
                 if "decode_s" in result else ""))
    pipeline, seed, ceiling = (results[m]["images_per_s"] for m in ("pipeline", "seed", "decode-only"))
    print(f"ratio pipeline/seed = {pipeline / seed:.2f}   ratio decode-only/pipeline = {ceiling / pipeline:.2f}")


if __name__ == "__main__":
    main()
