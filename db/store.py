"""The Store: one open library (the SQLite catalog, the source of truth, and its derived Whoosh index).

A thin facade: each job lives in its own module (db/schema.py opening and migrations, db/catalog.py the index
run's writes, db/edits.py a person's edits, db/reads.py records and stats, db/sync.py full text, db/search.py
with db/ranking.py search, db/semantic.py caption vectors), and both front ends reach them through here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from db import edits, reads, search, semantic, sync
from db.catalog import Catalog
from db.errors import BusyError, DiskFullError, ModelLoadError, disk_full
from db.fulltext import FulltextIndex
from db.reads import FacetCache
from db.schema import (
    DB_NAME,
    FREE_SOME_SPACE,
    FULLTEXT_DIR,
    THUMBNAIL_DIR,
    damaged,
    full_disk,
    migrate,
    open_engine,
    platform_data_dir,
)
from db.semantic import VectorIndex
from db.types import CheckReport, Facets, Filters, ImageRecord, SearchPage


class EmbedderLike(Protocol):
    model_id: str

    def encode(self, texts: Sequence[str]): ...


def no_checkpoint(name: str) -> None:
    """A named moment between two durable steps (tests/crashing_cli.py kills the process at one)."""


class Store:
    """Open with Store.open(data_dir); every front end goes through one of these."""

    # Called at each named moment of a write; the crash tests replace it to kill the process there.
    checkpoint: Callable[[str], None] = staticmethod(no_checkpoint)

    def __init__(self, data_dir: Path, engine: Engine, read_only: bool = False) -> None:
        self.data_dir = data_dir
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.fulltext = FulltextIndex(data_dir / FULLTEXT_DIR)
        self.read_only = read_only  # opened from a folder it cannot write: reads only, no full-text repair
        self.catalog = Catalog(self)
        # Semantic search: the front end names the embedder and how to load it (db/ imports no torch).
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
        self._facets = FacetCache()

    @classmethod
    def open(cls, data_dir: Path | str | None = None, create: bool = True) -> Store:
        data_dir = Path(data_dir).expanduser().resolve() if data_dir else platform_data_dir()
        try:
            return cls._open(data_dir, create)
        except DiskFullError:
            # Not even SQLite's -shm file fits: read it as a read-only catalog is read (searches answer from the
            # index as it is; a change says the disk is full).
            return cls._open(data_dir, create, read_only_reason=f"the disk is full; {FREE_SOME_SPACE}")

    @classmethod
    def _open(cls, data_dir: Path, create: bool, read_only_reason: str | None = None) -> Store:
        engine, read_only = open_engine(data_dir, create, read_only_reason)
        store = cls(data_dir, engine, read_only)
        try:
            migrate(store.sessions, data_dir, read_only)
        except DatabaseError as error:
            store.close()
            if "locked" in str(error) or "busy" in str(error):
                raise
            if disk_full(error, data_dir):
                raise full_disk(data_dir, str(error.orig)) from None
            raise damaged(data_dir / DB_NAME, str(error.orig) if error.orig is not None else type(error).__name__) from None
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def open_existing(cls, data_dir: Path | str | None = None) -> Store:
        return cls.open(data_dir, create=False)

    def close(self) -> None:
        self.fulltext.close()
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def thumbnail_dir(self) -> Path:
        return self.data_dir / THUMBNAIL_DIR

    @contextmanager
    def writing(self, wait_seconds: float) -> Iterator[Session]:
        """A write transaction that waits at most `wait_seconds` for another process's write lock, then
        raises BusyError (a search never waits on the indexer; an edit waits briefly)."""
        try:
            with self.sessions.begin() as session:
                session.connection().exec_driver_sql(f"PRAGMA busy_timeout={int(wait_seconds * 1000)}")
                yield session
        except OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            raise BusyError(
                f"The library is busy: an index run is writing to it. Try again in a moment (waited {wait_seconds:g} s)"
            ) from None

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

    def encode_query(self, text: str):
        assert self.embedder is not None
        return self.embedder.encode([text])[0]

    def vectors(self) -> VectorIndex:
        """The caption vectors, loaded once and reloaded only when the DB changed since."""
        assert self.embedder_id is not None
        if self._vectors is None or self._vectors.embedder_id != self.embedder_id:
            self._vectors = VectorIndex(self.embedder_id)
        self._vectors.refresh(self.sessions)
        return self._vectors

    def use_image_embedder(self, embedder_id: str, factory: Callable[[], EmbedderLike]) -> None:
        """Enable search by pixels with this model's text tower; it loads on the first query that needs it."""
        self.image_embedder_id, self._image_factory, self._image_encoder = embedder_id, factory, None
        self._image_failure = None

    def encode_image_query(self, text: str):
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

    def has_embeddings(self) -> bool:
        return semantic.has_embeddings(self)

    def embed_pending(self, batch_size: int = 256, content_ids: Sequence[int] | None = None) -> int:
        return semantic.embed_pending(self, batch_size, content_ids)

    # -- search --------------------------------------------------------------------------------

    def search(
        self,
        text: str,
        filters: Filters = Filters(),
        sort: str = "relevance",
        offset: int = 0,
        limit: int = 20,
        mode: str = "auto",
        today: date | None = None,
        literal: frozenset[str] = frozenset(),
    ) -> SearchPage:
        return search.search(self, text, filters, sort, offset, limit, mode, today, literal)

    # -- full text -----------------------------------------------------------------------------

    def sync_fulltext(self, wait: float = 30.0, rebuild: bool = False) -> bool:
        return sync.sync_fulltext(self, wait, rebuild)

    def check(self) -> CheckReport:
        return sync.check(self)

    # -- reading -------------------------------------------------------------------------------

    def images(self, file_ids: Sequence[int]) -> dict[int, ImageRecord]:
        return reads.images(self, file_ids)

    def image(self, file_id: int) -> ImageRecord:
        return reads.image(self, file_id)

    def image_by_path(self, path: str | Path) -> ImageRecord:
        return reads.image_by_path(self, path)

    def stats(self) -> dict:
        return reads.stats(self)

    def models(self) -> list[str]:
        """The models that wrote this library's automatic captions, most used first (by photos)."""
        with self.sessions() as session:
            return [model for model, _ in reads.model_counts(session)]

    def failures(self) -> list[tuple[str, str]]:
        return reads.failures(self)

    def metadata_problems(self) -> list[tuple[str, str]]:
        return reads.metadata_problems(self)

    def skipped_files(self) -> list[dict[str, str]]:
        return reads.skipped_files(self)

    def roots(self) -> list[str]:
        return reads.roots(self)

    def tag_counts(self, limit: int | None = None) -> list[tuple[str, int]]:
        return reads.tag_counts(self, limit)

    def facets(self, top_tags: int = 30) -> Facets:
        return self._facets.get(self, top_tags)

    # -- writing -------------------------------------------------------------------------------

    def set_caption(self, file_id: int, text: str | None) -> ImageRecord:
        return edits.set_caption(self, file_id, text)

    def edit_tags(self, file_id: int, add: Sequence[str] = (), remove: Sequence[str] = ()) -> ImageRecord:
        return edits.edit_tags(self, file_id, add, remove)

    def forget_root(self, root: str | Path) -> int:
        """Remove a root and everything under it from the catalog and the index; files are not touched."""
        removed = self.catalog.forget_root(os.path.abspath(os.path.expanduser(str(root))))
        self.sync_fulltext()
        return removed


@contextmanager
def open_store(data_dir: Path | str | None = None, create: bool = False) -> Iterator[Store]:
    store = Store.open(data_dir, create=create)
    try:
        yield store
    finally:
        store.close()
