"""Text for photos indexed before OCR was on (`index --ocr` added to a library later): decoded again at the
size OCR needs, read, stored a batch per transaction; never re-captioned. New photos are read in the main
pass, on the decode their caption uses (indexer/stages.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from db.store import Store
from indexer.imaging import ImageReadError, open_photo, read_regular_photo
from indexer.models.ocr import OCR_DECODE_SIDE
from indexer.reading import TextReaderLike
from indexer.report import IndexReport
from indexer.stages import paged_prefetch

QUERY_CHUNK = 200
BATCH = 16  # photos a transaction: a kill loses at most this much reading


def read_missing_text(
    store: Store, reader: Callable[[], TextReaderLike], workers: int, report: IndexReport, follow_symlinks: bool = False
) -> None:
    """Read the text of every content that has none recorded, a batch per transaction."""
    engine = reader()  # cheap: the engine loads its models on first use

    def read(item: tuple[int, str]) -> tuple[int, str, str, tuple[float, float], str | None]:
        content_id, path = item
        started = time.perf_counter()
        try:
            with read_regular_photo(path, follow_symlinks) as (_, _, source):
                text = engine.read(open_photo(source, OCR_DECODE_SIDE, name=path).image)
            return content_id, path, text, (started, time.perf_counter() - started), None
        except (ImageReadError, OSError) as problem:
            return content_id, path, "", (started, 0.0), str(problem)

    batch: list[tuple[int, str]] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ocr") as pool:
        page = partial(store.catalog.without_text, limit=QUERY_CHUNK)
        for content_id, path, text, spent, error in paged_prefetch(page, read, pool, workers * 2):
            if error is not None:  # unreadable now: tried again next run
                report.failures.append((path, f"text not read: {error}"))
                continue
            batch.append((content_id, text))
            report.ocr_read += 1
            report.ocr_with_text += bool(text)
            report.ocr_time.add(*spent)
            if len(batch) >= BATCH:
                store.catalog.store_texts(batch, engine.engine_id)
                batch = []
    if batch:
        store.catalog.store_texts(batch, engine.engine_id)
