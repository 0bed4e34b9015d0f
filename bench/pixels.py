"""Search by pixels: what it costs to index, and how the image vectors scale. Side by side in one run.

    python bench/pixels.py --cost --count 48     # index with and without a CLIP ViT-B/32 (random weights, real shapes)
    python bench/pixels.py --scale 1000000       # memory and latency of a text-to-photo query over N image vectors
    python bench/pixels.py --cold-start          # `captionary search` in a fresh process, with image vectors
    python bench/pixels.py --cold-start-large    # the same at 100,000 photos (bench/search_latency.py's library)

Torch threads are pinned (--threads, default 1), and each indexing run is its own child process.
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

from bench.photoset import CACHE, full_size_model, photo_set  # noqa: E402


def full_size_clip() -> Path:
    from tests.tiny_clip import build_tiny_clip

    target = CACHE / "full-size-random-clip"
    if not (target / "model.safetensors").exists():
        build_tiny_clip(target, image_side=224, full_size=True)
    return target


def index_once(folder: Path, model: Path, clip: Path | None, threads: int) -> dict:
    """One index run, models loaded before the clock starts."""
    from db.store import Store
    from indexer.options import IndexOptions
    from indexer.pipeline import index_roots, load_captioner, load_image_embedder

    options = IndexOptions(
        model=str(model), device="cpu", threads=threads, workers=1, embeddings=False, image_embedder=str(clip) if clip else None
    )
    captioner = load_captioner(options)
    embedder = load_image_embedder(options) if clip else None
    with tempfile.TemporaryDirectory() as data_dir, Store.open(data_dir) as store:
        started = time.perf_counter()
        report = index_roots(store, [folder], options, lambda _: captioner, image_embedder_factory=lambda _: embedder)
        seconds = time.perf_counter() - started
    return {
        "images": report.processed,
        "seconds": seconds,
        "model_s": report.model_seconds,
        "pixels_s": report.image_seconds,
        "images_per_s": report.processed / seconds,
    }


def cost(args) -> None:
    folder = photo_set(args.count)
    model, clip = full_size_model(), full_size_clip()
    results = {}
    for label, with_clip in (("captions only", False), ("captions + pixels", True)):
        command = [
            sys.executable,
            __file__,
            "--child",
            str(folder),
            str(model),
            str(clip) if with_clip else "",
            "--threads",
            str(args.threads),
        ]
        results[label] = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
        r = results[label]
        print(
            f"{label:18} {r['images']} photos in {r['seconds']:.1f}s = {r['images_per_s']:.2f} images/s "
            f"(caption model {r['model_s']:.1f}s, image embedder {r['pixels_s']:.1f}s)",
            flush=True,
        )
    ratio = results["captions + pixels"]["images_per_s"] / results["captions only"]["images_per_s"]
    print(
        f"throughput with image embeddings / without = {ratio:.2f} (default caption model's shapes, CLIP ViT-B/32's "
        f"shapes, random weights, CPU, {args.threads} torch thread(s))"
    )


def scale(args) -> None:
    import numpy as np

    from db.ranking import PIXEL_FLOOR, close_mask, top_rows
    from db.semantic import dot_products

    rng = np.random.default_rng(0)
    count, dimension = args.scale, 512
    matrix = np.empty((count, dimension), dtype=np.float32)
    for start in range(0, count, 100_000):  # filled in chunks: the float64 draw would double the peak
        block = rng.standard_normal((min(100_000, count - start), dimension), dtype=np.float32)
        matrix[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    queries = rng.standard_normal((30, dimension), dtype=np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    half = matrix.astype(np.float16)
    variants = (
        ("float32, numpy", matrix, lambda query: matrix @ query),
        # converted a chunk at a time, so the float32 copy is never whole: what plain numpy can do with float16
        (
            "float16, numpy by chunks",
            half,
            lambda query: np.concatenate([half[i : i + 65536].astype(np.float32) @ query for i in range(0, count, 65536)]),
        ),
        ("float16, SimSIMD (captionary)", half, lambda query: dot_products(query.astype(np.float16).reshape(1, -1), half)[0]),
    )
    for label, stored, score in variants:
        timings = []
        for query in queries:
            started = time.perf_counter()
            scores = score(query)
            mask = close_mask(scores, PIXEL_FLOOR)
            top_rows(scores, mask | (scores > 0), 50)
            timings.append(time.perf_counter() - started)
        timings.sort()
        print(
            f"{count:,} x {dimension} {label}: {stored.nbytes / 1e9:.2f} GB; "
            f"query p50 {timings[len(timings) // 2] * 1000:.0f} ms, p95 {timings[int(len(timings) * 0.95) - 1] * 1000:.0f} ms"
            " (scores, related rule, top 50; one thread)",
            flush=True,
        )


def time_fresh_searches(data_dir: Path, label: str) -> None:
    for attempt in range(3):
        started = time.perf_counter()
        command = [sys.executable, "-m", "indexer", "search", "a dog on the beach", "--data-dir", str(data_dir), "--json"]
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        print(
            f"captionary search at {label}, hybrid with pixels, fresh process #{attempt + 1}: "
            f"{time.perf_counter() - started:.2f} s ({len(json.loads(result.stdout))} rows)",
            flush=True,
        )


def cold_start(args) -> None:
    """A library with image vectors from the full-size CLIP: `captionary search` in a fresh process."""
    from db.store import Store
    from indexer.options import IndexOptions
    from indexer.pipeline import index_roots
    from tests.conftest import FakeCaptioner

    clip = full_size_clip()
    folder = photo_set(24, size=(640, 480))
    data_dir = Path(tempfile.mkdtemp())
    options = IndexOptions(model="fake", embeddings=True, image_embedder=str(clip), threads=args.threads)
    with Store.open(data_dir) as store:
        index_roots(store, [folder], options, lambda _: FakeCaptioner())
    time_fresh_searches(data_dir, "24 photos")


def cold_start_large(args) -> None:
    """The 100,000-photo library of bench/search_latency.py, given a random image vector per photo from the
    full-size CLIP: `captionary search` in fresh processes, with caption and image vectors to load."""
    import shutil

    import numpy as np
    from sqlalchemy import select, update

    from db.models import Content
    from db.semantic import to_blob
    from db.sequence import next_seq
    from db.store import Store

    source = CACHE / "search-index-100000"
    if not source.exists():
        raise SystemExit("run python bench/search_latency.py once first: it builds the 100,000-photo library")
    clip = full_size_clip()
    data_dir = Path(tempfile.mkdtemp()) / "library"
    shutil.copytree(source, data_dir, ignore=shutil.ignore_patterns("thumbnails"))
    rng = np.random.default_rng(0)
    with Store.open(data_dir) as store:
        with store.sessions() as session:
            ids = list(session.scalars(select(Content.id)))
        with store.sessions.begin() as session:
            for content_id in ids:
                vector = rng.standard_normal(512).astype(np.float32)
                session.execute(
                    update(Content)
                    .where(Content.id == content_id)
                    .values(image_embedding=to_blob(vector / np.linalg.norm(vector)), image_embedder=str(clip))
                )
            next_seq(session)
    print(f"{len(ids):,} photos with image vectors", flush=True)
    time_fresh_searches(data_dir, f"{len(ids):,} photos")
    shutil.rmtree(data_dir.parent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cost", action="store_true")
    parser.add_argument("--count", type=int, default=48)
    parser.add_argument("--scale", type=int, default=0)
    parser.add_argument("--cold-start", action="store_true")
    parser.add_argument("--cold-start-large", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", nargs=3, metavar=("FOLDER", "MODEL", "CLIP"))
    args = parser.parse_args()
    if args.child:
        import torch

        torch.set_num_threads(args.threads)
        folder, model, clip = args.child
        print(json.dumps(index_once(Path(folder), Path(model), Path(clip) if clip else None, args.threads)))
        return
    if args.cost:
        cost(args)
    if args.scale:
        scale(args)
    if args.cold_start:
        cold_start(args)
    if args.cold_start_large:
        cold_start_large(args)


if __name__ == "__main__":
    main()
