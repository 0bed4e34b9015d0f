"""The Store: one open library (the SQLite catalog, the source of truth, and its derived Whoosh index).

A thin facade, and the front ends' one way into db/ (with the values of db/types.py and the errors of
db/errors.py). It opens the library and wires the job modules, each handed only what it uses: the session
factory, the FulltextIndex, the Embedders. Its methods are the library's API, each a line into the module
that owns the job; the job objects are its attributes (catalog, fulltext_sync, embedders) for what the API
does not name. No module of db/ imports this one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import sessionmaker

from db import edits, looks, reads
from db import export as exports
from db.catalog import Catalog
from db.columns import display_text as display_text  # the text helpers the front ends use, named here
from db.columns import visible_direction_controls as visible_direction_controls
from db.embedders import Embedders
from db.errors import DiskFullError, IndexLockedError, UsageError, disk_full
from db.export import XmpReport, write_csv, write_json
from db.formats import INDEXED_EXTENSIONS as INDEXED_EXTENSIONS
from db.formats import extensions_of as extensions_of
from db.fulltext import FulltextIndex
from db.looks import DUPLICATE_THRESHOLD as DUPLICATE_THRESHOLD
from db.query import highlight as highlight
from db.query import words_analyzer as words_analyzer
from db.reads import FacetCache
from db.records import MAX_TAG_LENGTH as MAX_TAG_LENGTH
from db.records import normalize_tag as normalize_tag
from db.records import thumbnail_path
from db.schema import (
    DB_NAME,
    FREE_SOME_SPACE,
    FULLTEXT_DIR,
    THUMBNAIL_DIR,
    cannot_change,
    damaged,
    data_dir_path,
    full_disk,
    library_gone,
    migrate,
    open_engine,
)
from db.search import Search
from db.semantic import EmbedderLike, VectorIndex
from db.sync import FulltextSync
from db.types import CheckReport, Facets, Group, ImageRecord

LOCK_NAME = "index.lock"


def no_checkpoint(name: str) -> None:
    """A named moment between two durable steps (tests/crashing_cli.py kills the process at one)."""


class Store:
    """Open with Store.open(data_dir); every front end goes through one of these."""

    # Called at each named moment of a write; the crash tests replace it to kill the process there.
    checkpoint: Callable[[str], None] = staticmethod(no_checkpoint)

    def __init__(self, data_dir: Path, engine: Engine, read_only_reason: str | None = None) -> None:
        self.data_dir = data_dir
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.fulltext = FulltextIndex(data_dir / FULLTEXT_DIR)
        # Opened from a folder it cannot write, or with the disk full: reads only, no full-text repair.
        self.read_only_reason = read_only_reason
        read_only = self.read_only
        # The jobs, each handed what it uses; a checkpoint is looked up when reached (the crash tests set it late).
        checkpoint = self._reached
        self.catalog = Catalog(self.sessions, engine, self.thumbnail_dir, checkpoint)
        self.embedders = Embedders(self.sessions, checkpoint)  # the front end names them (db/ imports no torch)
        self.fulltext_sync = FulltextSync(self.sessions, self.fulltext, data_dir, read_only, checkpoint)
        self._facets = FacetCache()
        self._search = Search(self.sessions, self.fulltext_sync, self.embedders, self._facets.tags)
        # A search, as db/search.py Search.run takes it (the text, filters, sort, page, mode): not restated here.
        self.search = self._search.run
        self._identity: tuple[int, int] | None = None  # the catalog file's, when opened (refuse_if_gone)

    @property
    def read_only(self) -> bool:
        return self.read_only_reason is not None

    def refuse_changes_if_read_only(self) -> None:
        """Before a job that writes (an index run): a read-only library is named as such before anything is tried."""
        if self.read_only_reason is not None:
            raise cannot_change(self.data_dir, self.read_only_reason)

    def writer_lock(self) -> FileLock:
        """The data dir's writer lock, taken: one index run, re-embedding or `forget` at a time; search and edits
        never wait on it (an edit changes one photo, these change which photos there are)."""
        self.refuse_changes_if_read_only()  # the lock file is the first thing such a run would fail to write
        lock = FileLock(str(self.data_dir / LOCK_NAME))
        try:
            # An OS-level lock: released by the kernel even when the indexer is killed with -9.
            lock.acquire(timeout=0)
        except Timeout:
            raise IndexLockedError(
                f"Another 'captionary index' (or reembed, or forget) is already running on {self.data_dir}; "
                "wait for it to finish (search keeps working meanwhile)"
            ) from None
        return lock

    def refuse_if_gone(self) -> None:
        """Between the steps of a long command: a catalog deleted or replaced meanwhile (its folder removed) takes
        every later write into a file nobody will open again, and the command must not end saying it succeeded."""
        if _identity(self.data_dir / DB_NAME) != self._identity:
            raise library_gone(self.data_dir)

    def _reached(self, name: str) -> None:
        self.checkpoint(name)

    @classmethod
    def open(cls, data_dir: Path | str | None = None, create: bool = True) -> Store:
        data_dir = data_dir_path(data_dir)
        try:
            return cls._open(data_dir, create)
        except DiskFullError:
            # Not even SQLite's -shm file fits: read it as a read-only catalog is read (searches answer from the
            # index as it is; a change says the disk is full).
            return cls._open(data_dir, create, read_only_reason=f"the disk is full; {FREE_SOME_SPACE}")

    @classmethod
    def _open(cls, data_dir: Path, create: bool, read_only_reason: str | None = None) -> Store:
        engine, read_only_reason = open_engine(data_dir, create, read_only_reason)
        store = cls(data_dir, engine, read_only_reason)
        try:
            migrate(store.sessions, data_dir, store.read_only)
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
        store._identity = _identity(data_dir / DB_NAME)
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

    def thumbnail(self, content_hash: str) -> Path:
        return thumbnail_path(self.thumbnail_dir, content_hash)

    # -- embedders (the job object: self.embedders) ---------------------------------------------

    def use_embedder(self, embedder_id: str, factory: Callable[[], EmbedderLike]) -> None:
        self.embedders.use_embedder(embedder_id, factory)

    def use_image_embedder(self, embedder_id: str, factory: Callable[[], EmbedderLike]) -> None:
        self.embedders.use_image_embedder(embedder_id, factory)

    @property
    def embedder_id(self) -> str | None:
        return self.embedders.embedder_id

    @property
    def image_embedder_id(self) -> str | None:
        return self.embedders.image_embedder_id

    def has_embeddings(self) -> bool:
        return self.embedders.has_embeddings()

    def embed_pending(self, batch_size: int = 256, content_ids: Sequence[int] | None = None) -> int:
        return self.embedders.embed_pending(batch_size, content_ids)

    def reembed_captions(self) -> int:
        """`captionary reembed`: every caption without an embedding from the current embedder, under the writer
        lock, so that no index run or `forget` changes which photos there are meanwhile."""
        lock = self.writer_lock()
        try:
            return self.embed_pending()
        finally:
            lock.release()

    def vectors(self) -> VectorIndex:
        return self.embedders.vectors()

    def image_vectors(self) -> VectorIndex:
        return self.embedders.image_vectors()

    def encode_query(self, text: str) -> np.ndarray:
        return self.embedders.encode_query(text)

    def encode_image_query(self, text: str) -> np.ndarray:
        return self.embedders.encode_image_query(text)

    # -- full text -----------------------------------------------------------------------------

    def sync_fulltext(self, wait: float = 30.0, rebuild: bool = False) -> bool:
        if rebuild:
            self.refuse_changes_if_read_only()  # else Whoosh's lock file fails to write and reads as damage
        return self.fulltext_sync.sync(wait, rebuild)

    def recover_fulltext(self) -> None:
        """At the start of an index run, after one that may have been killed: a rebuild's leftovers beside the
        index go (a whole copy of it, perhaps), and the index catches up with rows committed after its last sync."""
        self.fulltext.sweep()
        self.sync_fulltext()

    def check(self) -> CheckReport:
        return self.fulltext_sync.check()

    # -- reading -------------------------------------------------------------------------------

    def images(self, file_ids: Sequence[int]) -> dict[int, ImageRecord]:
        return reads.images(self.sessions, file_ids)

    def image(self, file_id: int) -> ImageRecord:
        return reads.image(self.sessions, file_id)

    def image_by_path(self, path: str | Path) -> ImageRecord:
        return reads.image_by_path(self.sessions, path)

    def stats(self) -> dict:
        return reads.stats(self.sessions, self.data_dir, self.embedder_id)

    def caption_source(self) -> str | None:
        with self.sessions() as session:
            return reads.caption_source(session)

    def failures(self) -> list[tuple[str, str]]:
        return reads.failures(self.sessions)

    def metadata_problems(self) -> list[tuple[str, str]]:
        return reads.metadata_problems(self.sessions)

    def skipped_files(self) -> list[dict[str, str]]:
        return reads.skipped_files(self.sessions)

    def roots(self) -> list[str]:
        return reads.roots(self.sessions)

    def tag_counts(self, limit: int | None = None) -> list[tuple[str, int]]:
        return self._facets.tags(self.sessions).counts(limit=limit)

    def facets(self, top_tags: int = 30) -> Facets:
        return self._facets.get(self.sessions, top_tags)

    # -- writing -------------------------------------------------------------------------------

    def set_caption(self, file_id: int, text: str | None) -> ImageRecord:
        return edits.set_caption(self.sessions, self.fulltext_sync, self.embedders, file_id, text)

    def edit_tags(self, file_id: int, add: Sequence[str] = (), remove: Sequence[str] = ()) -> ImageRecord:
        return edits.edit_tags(self.sessions, self.fulltext_sync, file_id, add, remove)

    def forget_root(self, root: str | Path) -> int:
        """Remove a root and everything under it from the catalog and the index; files are not touched.

        Under the writer lock: an index run of that root would go on writing its photos into a root that no
        longer exists."""
        if str(root) == "":  # it would become the current folder
            raise UsageError("An empty path names no folder: give the root as captionary stats lists it")
        lock = self.writer_lock()
        try:
            removed = self.catalog.forget_root(os.path.abspath(os.path.expanduser(str(root))))
        finally:
            lock.release()
        self.sync_fulltext()
        return removed

    # -- photos that look alike (db/looks.py) ---------------------------------------------------

    def stored_vector(self, path: str) -> np.ndarray | None:
        return looks.stored_vector(self.sessions, self.embedders, path)

    def similar_to(self, vector: np.ndarray, limit: int = 20, exclude: str | None = None) -> list[tuple[ImageRecord, float]]:
        return looks.similar_to(self.sessions, self.embedders, vector, limit, exclude)

    def duplicate_groups(self, threshold: float | None = None) -> list[Group]:
        return looks.duplicate_groups(self.sessions, self.embedders, threshold)

    # -- export (db/export.py) -------------------------------------------------------------------

    def export_rows(self) -> Iterator[exports.ExportRow]:
        return exports.export_rows(self.sessions)

    def export(self, stream, file_format: str = "csv") -> int:
        """Every row to `stream` as CSV or JSON; returns how many."""
        return (write_csv if file_format == "csv" else write_json)(self.export_rows(), stream)

    def export_file(self, output: Path, file_format: str = "csv") -> int:
        """Every row to a file, written whole or not at all (a link, FIFO or device is written through)."""
        return exports.export_file(self.export_rows(), output, file_format)

    def export_xmp(self, sidecar_dir: Path | None = None, next_to_photos: bool = False) -> XmpReport:
        return exports.export_xmp(self.sessions, sidecar_dir, next_to_photos)


@contextmanager
def open_store(data_dir: Path | str | None = None, create: bool = False) -> Iterator[Store]:
    store = Store.open(data_dir, create=create)
    try:
        yield store
    finally:
        store.close()


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino
