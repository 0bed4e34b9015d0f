"""`captionary reembed --images`: image vectors for photos that have none from the current image embedder (a new
embedder, or a library indexed before search by pixels). Decodes the photos, never re-captions them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from db.semantic import to_blob
from db.store import Store
from indexer.backfill import decode_again
from indexer.options import IndexOptions
from indexer.pipeline import load_image_embedder
from indexer.reading import reduce_for_model
from indexer.report import Progress
from indexer.settings import batch_size_for
from indexer.stages import ImageEmbedderLike, default_split

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
    lock = store.writer_lock()
    try:
        embedder = factory(options)
        device = getattr(embedder, "device", "cpu")
        batch_size = batch_size_for(device, options.batch_size)

        side = embedder.input_side
        batch: list[tuple[int, object]] = []
        page = partial(store.catalog.without_image_vectors, embedder.model_id, limit=QUERY_CHUNK)
        workers = options.workers or default_split(device)[0]
        photos = decode_again(
            page, side, lambda image: reduce_for_model(image, side), workers, batch_size * 2, options.follow_symlinks
        )
        for photo in photos:
            if progress is not None:
                progress.advance(1)
            if photo.value is None:
                report.failures.append((photo.path, photo.error or "unreadable"))
                continue
            batch.append((photo.content_id, photo.value))
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
