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


def make_thumbnail(image: Image.Image, side: int = THUMBNAIL_SIDE) -> Image.Image:
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
