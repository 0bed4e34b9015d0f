"""Let a library answer semantic queries: the caption embedder and the image embedder's text tower, each
loaded on the first query that needs it. The front ends call this to open a library for search (and the index
run, to embed new captions); it imports nothing of the index run."""

from __future__ import annotations

from db.store import Store
from indexer.settings import DEFAULT_EMBEDDER


def enable_embeddings(
    store: Store, embedder: str = DEFAULT_EMBEDDER, threads: int | None = None, device: str = "cpu", queries: bool = False
) -> None:
    """Let the store embed captions and answer semantic queries; the model loads on first need.

    queries=True is for front ends that embed one text at a time (a search, an edited caption): a
    BERT sentence model such as the default then runs in numpy, and torch is never imported."""

    def load():
        from indexer.models import query_encoder
        from indexer.models.caption_embedder import embedder_location

        location = embedder_location(embedder)
        if queries and query_encoder.supports(location):
            return query_encoder.NumpyQueryEncoder(embedder, location)
        from indexer.models.caption_embedder import Embedder

        return Embedder(embedder, device=device, threads=threads)

    store.use_embedder(embedder, load)


def enable_image_search(store: Store, image_embedder: str | None = None, named: bool = False, device: str = "cpu") -> None:
    """Let the store answer queries by pixels, with the model that made the library's image vectors (or the one
    the person named); its text tower loads on the first query that needs it."""
    chosen = image_embedder if named else next(iter(store.embedders.image_embedders()), None)
    if chosen is None:
        return

    def load():
        from indexer.models import clip_text
        from indexer.models.loading import local_folder

        folder = local_folder(chosen)
        if folder is not None and clip_text.supports(folder):
            return clip_text.NumpyClipTextEncoder(chosen, folder)  # a query in milliseconds, and no torch
        from indexer.models.image_embedder import ImageEmbedder

        return ImageEmbedder(chosen, device=device)

    store.use_image_embedder(chosen, load)
