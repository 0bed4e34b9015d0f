"""What reading text in photos costs and finds, on this machine's CPU, side by side in one run:

    python bench/ocr.py                 # 100 photos of 1024x768, 10% with text; recall on the text set
    python bench/ocr.py --count 300 --threads 2

- recall: the words drawn on tests/text_photos.py's photos (signs, an angled sign, light on dark, a screenshot,
  small print) found in the text read, at two sizes;
- cost per photo: detection only (a photo without text) and detection + recognition (a photo with text);
- throughput: `index` and `index --ocr` of the same tree into fresh libraries, no-op model (the upper bound of
  OCR's share), and the ratio that follows with the default model's measured CPU speed (docs/performance.md).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.photoset import CACHE, realistic_photo  # noqa: E402
from bench.throughput import NoOpCaptioner  # noqa: E402
from tests.text_photos import TEXT_PHOTOS, text_photo  # noqa: E402

DEFAULT_MODEL_CPU_SECONDS = 1 / 0.8  # vit-gpt2's shapes, 1 thread, bench/throughput.py --model full-size


def make_tree(count: int) -> Path:
    folder = CACHE / f"ocr-mix-{count}-distinct"
    if (folder / ".complete").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    names = [name for name, words in TEXT_PHOTOS.items() if words]
    for index in range(count):
        if index % 10 == 0:
            image = text_photo(names[(index // 10) % len(names)], (1024, 768))
            image.putpixel((0, 0), (index % 256, 0, 0))  # distinct bytes: no text photo is a duplicate
        else:
            image = realistic_photo((1024, 768), index)
        image.save(folder / f"IMG_{index:05}.jpg", "JPEG", quality=90)
    (folder / ".complete").touch()
    return folder


def recall(reader) -> tuple[int, int]:
    found = total = 0
    for size in ((640, 480), (1600, 1200)):
        for name, words in TEXT_PHOTOS.items():
            text = reader.read(text_photo(name, size)).lower()
            total += len(words)
            found += sum(word in text for word in words)
    return found, total


def per_photo(reader) -> tuple[float, float]:
    with_text = [text_photo(name, (1024, 768)) for name, words in TEXT_PHOTOS.items() if words]
    without = [realistic_photo((1024, 768), seed) for seed in range(5)]
    timings = []
    for images in (without, with_text):
        started = time.perf_counter()
        for image in images:
            reader.read(image)
        timings.append((time.perf_counter() - started) / len(images))
    return timings[0], timings[1]


def index_seconds(tree: Path, ocr: bool, threads: int, reader) -> tuple[float, int]:
    from db.store import Store
    from indexer.options import IndexOptions
    from indexer.pipeline import index_roots

    options = IndexOptions(model="no-op", embeddings=False, image_embedder=None, ocr=ocr, threads=threads, workers=1)
    with tempfile.TemporaryDirectory() as data_dir, Store.open(Path(data_dir)) as store:
        started = time.perf_counter()
        report = index_roots(store, [tree], options, lambda _: NoOpCaptioner(224), text_reader_factory=lambda _: reader)
        return time.perf_counter() - started, report.ocr_with_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import torch

    from indexer.models.ocr import TextReader

    torch.set_num_threads(args.threads)
    reader = TextReader(threads=args.threads)
    found, total = recall(reader)
    without, with_text = per_photo(reader)
    tree = make_tree(args.count)
    plain, _ = index_seconds(tree, False, args.threads, reader)
    reader.detections = reader.recognitions = 0
    ocr, with_found = index_seconds(tree, True, args.threads, reader)
    print(f"OCR on this CPU, {args.threads} thread(s)")
    print(f"recall: {found} of {total} words ({found / total:.0%}) on the text set at 640x480 and 1600x1200")
    print(f"per photo: {without * 1000:.0f} ms without text (detection only), {with_text * 1000:.0f} ms with text")
    print(
        f"index of {args.count} photos (10% with text), no-op model: {plain:.1f} s; with --ocr {ocr:.1f} s = "
        f"{ocr / plain:.1f}x; text found in {with_found}, recognition ran on {reader.recognitions} of {reader.detections}"
    )
    extra = (ocr - plain) / args.count
    print(
        f"with the default model on this CPU ({DEFAULT_MODEL_CPU_SECONDS:.2f} s a photo): "
        f"{(DEFAULT_MODEL_CPU_SECONDS + extra) / DEFAULT_MODEL_CPU_SECONDS:.2f}x the time of `index`"
    )


if __name__ == "__main__":
    main()
