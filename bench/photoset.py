"""Generate benchmark photo sets once into bench/.cache: photo-size JPEGs with realistic entropy."""

from __future__ import annotations

import random
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CACHE = ROOT / "bench" / ".cache"


def realistic_photo(size: tuple[int, int], seed: int) -> Image.Image:
    """Shapes, gradients and sensor-like grain: compresses like a camera JPEG, unlike flat colour."""
    rng = random.Random(seed)
    width, height = size
    small = Image.new("RGB", (width // 8, height // 8))
    draw = ImageDraw.Draw(small)
    top = tuple(rng.randrange(256) for _ in range(3))
    bottom = tuple(rng.randrange(256) for _ in range(3))
    for y in range(small.height):  # sky-to-ground gradient
        t = y / max(1, small.height - 1)
        draw.line([(0, y), (small.width, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom)))
    for _ in range(40):  # objects
        x0, y0 = rng.randrange(small.width), rng.randrange(small.height)
        x1, y1 = x0 + rng.randrange(5, small.width // 3), y0 + rng.randrange(5, small.height // 3)
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x0, y0, x1, y1], fill=colour)
    image = small.resize(size, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(2))
    grain = Image.new("RGB", size)
    tile = _grain_tile(seed % 8)
    for x in range(0, width, tile.width):
        for y in range(0, height, tile.height):
            grain.paste(tile, (x, y))
    return Image.blend(image, grain, 0.12)


def _grain_tile(variant: int, side: int = 509) -> Image.Image:
    """Sensor-like noise, made on a tile (a prime side, so tiles do not align with JPEG blocks)."""
    random.seed(variant)
    return Image.merge("RGB", [Image.effect_noise((side, side), 40) for _ in range(3)])


def _write_photo(job: tuple[Path, tuple[int, int], int, int]) -> None:
    target, size, seed, quality = job
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        realistic_photo(size, seed).save(target, "JPEG", quality=quality)


def photo_set(count: int, size: tuple[int, int] = (4000, 3000), quality: int = 90, distinct: int | None = None) -> Path:
    """Folder of `count` JPEGs (made once, reused by later runs), in sub-folders of 100.

    distinct=N draws only N pictures and gives the rest of the files unique bytes by a numbered trailer
    after the JPEG's end marker: each file still hashes differently and decodes in full, so the indexer
    does the whole work for each, and a 1,000-photo GPU set is made in seconds rather than minutes."""
    distinct = min(distinct or count, count)
    label = f"photos-{size[0]}x{size[1]}-{count}" + (f"-of-{distinct}" if distinct < count else "")
    folder = CACHE / label
    done = folder / ".complete"
    if done.exists():
        return folder
    targets = [folder / f"{index // 100:04}" / f"IMG_{index:06}.jpg" for index in range(count)]
    jobs = [(targets[index], size, index, quality) for index in range(distinct)]
    with ProcessPoolExecutor() as pool:  # drawing a 12 MP picture takes ~1 s; use every core
        list(pool.map(_write_photo, jobs))
    for index in range(distinct, count):
        targets[index].parent.mkdir(parents=True, exist_ok=True)
        targets[index].write_bytes(targets[index % distinct].read_bytes() + f"copy {index}".encode())
    done.write_text("ok")
    return folder


def tiny_model(image_side: int = 224) -> Path:
    """The offline tiny ViT+GPT-2 model at the real model's input size (224), built once."""
    from tests.tiny_model import build_tiny_model

    target = CACHE / f"tiny-model-{image_side}"
    if not (target / "config.json").exists():
        build_tiny_model(target, image_side=image_side)
    return target


def full_size_model() -> Path:
    """The default model's architecture (ViT-base + GPT-2 small) with random weights, built once."""
    from tests.tiny_model import build_full_size_model

    target = CACHE / "full-size-random-model"
    if not (target / "config.json").exists():
        build_full_size_model(target)
    return target


def random_embedder(source: Path) -> Path:
    """A sentence-transformers model with `source`'s architecture and tokenizer but random weights.

    For GPU runs where the packaged MiniLM (88 MB) cannot travel: the cost of embedding depends on the
    shapes, not on the weights. `source` needs the model's config, tokenizer and module files."""
    import shutil

    from transformers import AutoConfig, AutoModel

    target = CACHE / f"random-{source.name}"
    if not (target / "model.safetensors").exists():
        shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.safetensors", "*.bin", "README.md"))
        AutoModel.from_config(AutoConfig.from_pretrained(target)).save_pretrained(target)
    return target
