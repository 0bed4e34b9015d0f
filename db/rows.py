"""The columns a batch writes for a file and for a content, from what the stages learned about it (Outcome): one
home for both ways db/batch.py writes them, ORM objects and the plain INSERTs of new photos."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from db.models import utcnow
from db.records import Outcome, PhotoMetadata


def file_columns(item: Outcome, run_id: int, seq: int) -> dict[str, Any]:
    """A file's columns but its path, its content and what its metadata fills (metadata_columns)."""
    return {
        "root": item.root,
        "folder": os.path.dirname(item.path),
        "name": os.path.basename(item.path),
        "ext": os.path.splitext(item.path)[1][1:].lower(),
        "size": item.size,
        "mtime_ns": item.mtime_ns,
        "error": item.error,
        "indexed_at": utcnow(),
        "seen_run": run_id,
        "ft_seq": seq,
    } | read_columns(item)


def read_columns(item: Outcome) -> dict[str, Any]:
    """Which sidecars were read, and what could not be (also written when only the metadata is new)."""
    metadata = item.metadata
    return {
        "sidecars": metadata.sidecars if metadata is not None else item.sidecars,
        "metadata_problem": "; ".join(metadata.problems)[:500] or None if metadata is not None else None,
    }


def metadata_columns(metadata: PhotoMetadata | None) -> dict[str, Any]:
    """The file's columns that its metadata fills (all None without it); its keywords are rows of their own."""
    if metadata is None:
        return dict.fromkeys(metadata_columns(PhotoMetadata()))
    return {
        "taken_at": metadata.taken_at,
        "taken_zone": metadata.taken_zone,
        "camera": metadata.camera,
        "lens": metadata.lens,
        "latitude": metadata.latitude,
        "longitude": metadata.longitude,
        "place": metadata.place,
        "title": metadata.title,
        "description": metadata.description,
        "rating": metadata.rating,
        "keyword_paths": "\n".join(metadata.keyword_paths) or None,
    }


def content_columns(item: Outcome, model_id: str, now: datetime) -> dict[str, Any]:
    """New bytes, decoded and captioned by this run."""
    assert item.facts is not None and item.caption is not None
    return {
        "hash": item.content_hash,
        "width": item.facts.width,
        "height": item.facts.height,
        "format": item.facts.format,
        "caption": item.caption,
        "model": model_id,
        "captioned_at": now,
    }


PIXEL_COLUMNS = ("image_embedding", "image_embedder", "ocr_text", "ocr_engine")  # what pixel_columns may write


def pixel_columns(item: Outcome, image_embedder: str | None, ocr_engine: str | None) -> dict[str, Any]:
    """What this run read in the pixels, where it read something: each copy of the bytes that brings a vector
    or text writes it, so the last one that does wins."""
    columns: dict[str, Any] = {}
    if item.image_vector is not None and image_embedder is not None:
        columns |= {"image_embedding": item.image_vector, "image_embedder": image_embedder}
    if item.ocr_text is not None and ocr_engine is not None:
        columns |= {"ocr_text": item.ocr_text, "ocr_engine": ocr_engine}
    return columns
