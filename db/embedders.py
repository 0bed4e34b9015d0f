"""The models a front end names for search and for embedding captions, loaded on their first use, and the vector
indexes loaded for them (db/ imports no torch: the front end hands in how to load each)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from sqlalchemy import func, select

from db.errors import ModelLoadError, NotIndexedError
from db.models import Content
from db.schema import Sessions, remembered_image_embedder
from db.semantic import EmbedderLike, VectorIndex, embed_pending


class Embedders:
    """The caption embedder (semantic search, edited captions) and the image embedder's text tower (search by
    pixels) of one open library, with their vector indexes."""

    def __init__(self, sessions: Sessions, checkpoint: Callable[[str], None]) -> None:
        self.sessions = sessions
        self.checkpoint = checkpoint
        self.embedder_id: str | None = None
        self._embedder_factory: Callable[[], EmbedderLike] | None = None
        self._embedder: EmbedderLike | None = None
        self._vectors: VectorIndex | None = None
        # Search by pixels: the text tower of the image embedder that made the library's image vectors.
        self.image_embedder_id: str | None = None
        self._image_factory: Callable[[], EmbedderLike] | None = None
        self._image_encoder: EmbedderLike | None = None
        self._image_vectors: VectorIndex | None = None
        self._image_failure: ModelLoadError | None = None

    # -- caption vectors -----------------------------------------------------------------------

    def use_embedder(self, embedder_id: str, factory: Callable[[], EmbedderLike]) -> None:
        """Enable semantic search and embedding of edited captions; the model loads on first use."""
        self.embedder_id, self._embedder_factory = embedder_id, factory
        self._embedder = None

    @property
    def embedder(self) -> EmbedderLike | None:
        if self._embedder is None and self._embedder_factory is not None:
            self._embedder = self._embedder_factory()
        return self._embedder

    def load(self) -> None:
        self._loaded()

    def _loaded(self) -> EmbedderLike:
        embedder = self.embedder
        assert embedder is not None  # embedder_id is set, so a factory is too
        return embedder

    def encode_query(self, text: str) -> np.ndarray:
        return self._loaded().encode([text])[0]

    def vectors(self) -> VectorIndex:
        """The caption vectors, loaded once and reloaded only when the DB changed since."""
        assert self.embedder_id is not None
        if self._vectors is None or self._vectors.embedder_id != self.embedder_id:
            self._vectors = VectorIndex(self.embedder_id)
        self._vectors.refresh(self.sessions)
        return self._vectors

    def has_embeddings(self) -> bool:
        if self.embedder_id is None:
            return False
        with self.sessions() as session:
            return session.scalar(select(Content.id).where(Content.embedder == self.embedder_id).limit(1)) is not None

    def embed_pending(self, batch_size: int = 256, content_ids: Sequence[int] | None = None) -> int:
        if self.embedder_id is None:
            return 0
        return embed_pending(self.sessions, self.embedder_id, self._loaded, self.checkpoint, batch_size, content_ids)

    # -- image vectors -------------------------------------------------------------------------

    def use_image_embedder(self, embedder_id: str, factory: Callable[[], EmbedderLike]) -> None:
        """Enable search by pixels with this model's text tower; it loads on the first query that needs it."""
        self.image_embedder_id, self._image_factory, self._image_encoder = embedder_id, factory, None
        self._image_failure = None

    def encode_image_query(self, text: str) -> np.ndarray:
        if self._image_encoder is None:
            assert self._image_factory is not None
            if self._image_failure is not None:
                raise self._image_failure  # tried once: a long-lived app does not retry on every query
            try:
                self._image_encoder = self._image_factory()
            except ModelLoadError as error:
                self._image_failure = error
                raise
        return self._image_encoder.encode([text])[0]

    def image_vectors(self) -> VectorIndex:
        assert self.image_embedder_id is not None
        if self._image_vectors is None or self._image_vectors.embedder_id != self.image_embedder_id:
            self._image_vectors = VectorIndex(self.image_embedder_id, images=True)
        self._image_vectors.refresh(self.sessions)
        return self._image_vectors

    def has_image_embeddings(self) -> bool:
        if self.image_embedder_id is None:
            return False
        with self.sessions() as session:
            found = select(Content.id).where(Content.image_embedder == self.image_embedder_id).limit(1)
            return session.scalar(found) is not None

    def no_image_vectors(self, lacking: str) -> NotIndexedError:
        """What to say where `lacking` (no image vectors) stops a command: the command that makes them. A library
        indexed with --image-embedder none remembers it (db/catalog.py), and `reembed --images` then needs a
        model named, so the advice names the flag there."""
        with self.sessions() as session:
            off = remembered_image_embedder(session) == ""
        if off:
            return NotIndexedError(
                f"{lacking}: this library's image embedder is off (--image-embedder none); "
                "run: captionary reembed --images --image-embedder ID|PATH"
            )
        return NotIndexedError(f"{lacking}; run: captionary reembed --images")

    def image_embedders(self) -> dict[str, int]:
        """The models that made this library's image vectors, with how many photos each, most first."""
        with self.sessions() as session:
            count = func.count()
            rows = session.execute(
                select(Content.image_embedder, count)
                .where(Content.image_embedder.is_not(None))
                .group_by(Content.image_embedder)
                .order_by(count.desc())
            )
            return {embedder: number for embedder, number in rows if embedder is not None}
