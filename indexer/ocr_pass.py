"""Text for photos indexed before OCR was on (`index --ocr` added to a library later): decoded again at the
size OCR needs, read, stored a batch per transaction; never re-captioned. New photos are read in the main
pass, on the decode their caption uses (indexer/stages.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from db.store import Store
from indexer.backfill import decode_again
from indexer.models.ocr import OCR_DECODE_SIDE
from indexer.reading import TextReaderLike
from indexer.report import IndexReport

QUERY_CHUNK = 200
BATCH = 16  # photos a transaction: a kill loses at most this much reading


def read_missing_text(
    store: Store, reader: Callable[[], TextReaderLike], workers: int, report: IndexReport, follow_symlinks: bool = False
) -> None:
    """Read the text of every content that has none recorded, a batch per transaction."""
    catalog = store.catalog
    engine = reader()  # cheap: the engine loads its models on first use
    batch: list[tuple[int, str]] = []
    page = partial(catalog.without_text, limit=QUERY_CHUNK)
    for photo in decode_again(page, OCR_DECODE_SIDE, engine.read, workers, workers * 2, follow_symlinks):
        if photo.value is None:  # unreadable now: tried again next run
            report.failures.append((photo.path, f"text not read: {photo.error}"))
            continue
        batch.append((photo.content_id, photo.value))
        report.ocr_read += 1
        report.ocr_with_text += bool(photo.value)
        report.ocr_time.add(photo.started, photo.seconds)
        if len(batch) >= BATCH:
            catalog.store_texts(batch, engine.engine_id)
            batch = []
    if batch:
        catalog.store_texts(batch, engine.engine_id)
