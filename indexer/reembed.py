"""`captionary reembed --images`: image vectors for photos that have none from the current image embedder (a new
embedder, or a library indexed before search by pixels). Decodes the photos, never re-captions them."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from db.semantic import to_blob
from db.store import Store
from indexer.imaging import ImageReadError, open_photo, read_regular_photo
from indexer.options import IndexOptions
from indexer.pipeline import load_image_embedder, writer_lock
from indexer.reading import reduce_for_model
from indexer.report import Progress
from indexer.settings import batch_size_for
from indexer.stages import ImageEmbedderLike, default_split, paged_prefetch

QUERY_CHUNK = 500


@dataclass
class ReembedReport:
    embedded: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): unreadable now


def reembed_images(
    store: Store,
    options: IndexOptions,
    factory: Callable[[IndexOptions], ImageEmbedderLike] = load_image_embedder,
    progress: Progress | None = None,
) -> ReembedReport:
    """Embed every content without a vector from options.image_embedder, a batch per transaction (a crash
    loses at most the batch in flight, and a re-run goes on where it stopped)."""
    assert options.image_embedder is not None
    report = ReembedReport()
    started = time.perf_counter()
    lock = writer_lock(store)
    try:
        embedder = factory(options)
        device = getattr(embedder, "device", "cpu")
        batch_size = batch_size_for(device, options.batch_size)

        def read(item: tuple[int, str]):
            content_id, path = item
            try:
                with read_regular_photo(path, options.follow_symlinks) as (_, _, source):
                    image = reduce_for_model(open_photo(source, embedder.input_side, name=path).image, embedder.input_side)
                return content_id, path, image, None
            except (ImageReadError, OSError) as error:
                return content_id, path, None, str(error)

        batch: list[tuple[int, object]] = []
        page = partial(store.catalog.without_image_vectors, embedder.model_id, limit=QUERY_CHUNK)
        with ThreadPoolExecutor(max_workers=options.workers or default_split(device)[0]) as pool:
            for content_id, path, image, error in paged_prefetch(page, read, pool, batch_size * 2):
                if progress is not None:
                    progress.advance(1)
                if image is None:
                    report.failures.append((path, error or "unreadable"))
                    continue
                batch.append((content_id, image))
                if len(batch) >= batch_size:
                    report.embedded += _embed(store, embedder, batch)
        if batch:
            report.embedded += _embed(store, embedder, batch)
    finally:
        lock.release()
    report.seconds = time.perf_counter() - started
    return report


def _embed(store: Store, embedder: ImageEmbedderLike, batch: list) -> int:
    vectors = embedder.embed_images([image for _, image in batch])
    store.catalog.store_image_vectors([(content_id, to_blob(v)) for (content_id, _), v in zip(batch, vectors)], embedder.model_id)
    count = len(batch)
    batch.clear()
    return count
