"""Generate benchmark photo sets once into bench/.cache: photo-size JPEGs with realistic entropy."""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

CACHE = Path(__file__).resolve().parent / ".cache"


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


def photo_set(count: int, size: tuple[int, int] = (4000, 3000), quality: int = 90) -> Path:
    """Folder of `count` distinct JPEGs (made once, reused by later runs), in sub-folders of 100."""
    folder = CACHE / f"photos-{size[0]}x{size[1]}-{count}"
    done = folder / ".complete"
    if done.exists():
        return folder
    for index in range(count):
        target = folder / f"{index // 100:04}" / f"IMG_{index:06}.jpg"
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        realistic_photo(size, index).save(target, "JPEG", quality=quality)
    done.write_text("ok")
    return folder


def tiny_model(image_side: int = 224) -> Path:
    """The offline tiny ViT+GPT-2 model at the real model's input size (224), built once."""
    import sys

    target = CACHE / f"tiny-model-{image_side}"
    if not (target / "config.json").exists():
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.tiny_model import build_tiny_model

        build_tiny_model(target, image_side=image_side)
    return target
