"""Photos the catalog already has, decoded again for a pass that adds what they lack (their text for `index --ocr`,
their image vectors for `reembed --images`), never re-captioned: the one read loop both passes share."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from indexer.imaging import ImageReadError, open_photo, read_regular_photo
from indexer.workers import ordered_prefetch

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

T = TypeVar("T")


@dataclass(frozen=True)
class Backfilled(Generic[T]):
    """One photo read again: what `work` made of its pixels, or why it could not be read now (tried next run)."""

    content_id: int
    path: str
    value: T | None
    error: str | None
    started: float  # time.perf_counter() when its read began
    seconds: float  # the read, the decode and `work`


def decode_again(
    page: Callable[[int], Sequence[tuple[int, str]]],
    side: int,
    work: Callable[[Image.Image], T],
    workers: int,
    ahead: int,
    follow_symlinks: bool = False,
) -> Iterator[Backfilled[T]]:
    """Every (content id, path) the query pages give, decoded at `side` and turned by `work` in `workers` threads,
    in order, `ahead` in flight. Each page is asked for after the last id of the one before, so no cursor stays
    open while the photos are read and the caller commits."""

    def read(item: tuple[int, str]) -> Backfilled[T]:
        content_id, path = item
        started = time.perf_counter()
        try:
            with read_regular_photo(path, follow_symlinks) as (_, _, source):
                value = work(open_photo(source, side, name=path).image)
            return Backfilled(content_id, path, value, None, started, time.perf_counter() - started)
        except (ImageReadError, OSError) as error:
            return Backfilled(content_id, path, None, str(error), started, 0.0)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="backfill") as pool:
        last = 0
        while rows := page(last):
            last = rows[-1][0]
            yield from ordered_prefetch(read, rows, pool, ahead)
