"""Thumbnails: made from the decode an index run already holds, or from the photo when the app first shows it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from PIL import Image

from db.records import make_thumbnail_folder
from indexer.imaging import open_photo

THUMBNAIL_SIDE = 320
THUMBNAIL_QUALITY = 82
# The grid shows a thumbnail's middle square (search_assets.py: object-fit: cover). A panorama of 12000x500 fitted
# whole was 320x13, and its square a smear of 13 pixels; its middle, 2:1 at most, keeps 160 pixels of height.
THUMBNAIL_MAX_RATIO = 2


def make_thumbnail(image: Image.Image, side: int = THUMBNAIL_SIDE) -> Image.Image:
    width, height = image.size
    if max(width, height) > THUMBNAIL_MAX_RATIO * min(width, height):
        keep = THUMBNAIL_MAX_RATIO * min(width, height)
        left, top = (width - keep) // 2 if width > height else 0, (height - keep) // 2 if height > width else 0
        thumb = image.crop((left, top, min(width, left + keep), min(height, top + keep)))
    else:
        thumb = image.copy()
    thumb.thumbnail((side, side), Image.Resampling.LANCZOS)
    return thumb


def save_thumbnail(image: Image.Image, target: Path) -> None:
    """Write atomically so a reader (the app) never sees half a thumbnail."""
    make_thumbnail_folder(target)
    temporary = target.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")
    make_thumbnail(image).save(temporary, "JPEG", quality=THUMBNAIL_QUALITY)
    os.replace(temporary, target)


def ensure_thumbnail(thumbnail_file: Path, photo_path: str) -> Path:
    """The cached thumbnail, made now from the photo if indexing did not make it."""
    if not thumbnail_file.exists():
        decoded = open_photo(photo_path, THUMBNAIL_SIDE)
        save_thumbnail(decoded.image, thumbnail_file)
    return thumbnail_file


def display_image(photo_path: str, max_side: int = 1600) -> Image.Image:
    """The photo upright and scaled to a screen, never the full 12 MP."""
    image = open_photo(photo_path, max_side).image
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image
