"""The Store: one data directory holding the SQLite DB (source of truth) and its derived Whoosh index."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Protocol

from platformdirs import user_data_dir
from sqlalchemy import bindparam, create_engine, delete, event, func, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session, joinedload, sessionmaker

from db.errors import BusyError, CaptionaryError, DamagedCatalogError, NotIndexedError, SchemaTooNewError
from db.fulltext import Filters, FulltextDoc, FulltextIndex, day_number
from db.models import SCHEMA_VERSION, Base, Content, File, FulltextDelete, Meta, Root, Tag, plausible_date
from db.ranking import Mode, parse_mode, parse_sort
from db.search import WORDS, Found, keyword_search, meaning_search
from db.semantic import VectorIndex, to_blob
from db.tags import auto_tags, normalize_tag, printable

DB_NAME = "captionary.db"
FULLTEXT_DIR = "fulltext"
THUMBNAIL_DIR = "thumbnails"
SYNC_CHUNK = 2000
ORPHAN_GRACE = timedelta(days=30)
# How long a write waits for another process's write lock: the indexer's own writes wait long (its
# commits are short and it has nothing better to do); a person's edit waits briefly and says why.
WRITE_WAIT_SECONDS = 30
EDIT_WAIT_SECONDS = 5.0


def default_data_dir() -> Path:
    configured = os.environ.get("CAPTIONARY_DATA_DIR")
    return Path(configured) if configured else Path(user_data_dir("captionary", appauthor=False))


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class ImageRecord:
    """What front ends show about one indexed path."""

    id: int
    path: str
    root: str
    name: str
    ext: str
    size: int
    mtime: datetime
    caption: str
    edited: bool
    model: str
    width: int
    height: int
    format: str
    taken_at: datetime | None
    camera: str | None
    content_hash: str
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SearchHit:
    image: ImageRecord
    score: float
    match: str = WORDS  # "words": the query's words match; "related": by meaning only (db/ranking.py)


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    total: int  # matches and related photos together
    terms: set[str]
    seconds: float
    mode: str = "keyword"
    related: int = 0  # how many of `total` are related photos (they come after every match)

    @property
    def matches(self) -> int:
        return self.total - self.related


class EmbedderLike(Protocol):
    model_id: str

    def encode(self, texts: Sequence[str]): ...


@dataclass(frozen=True)
class Facets:
    folders: list[str]
    extensions: list[str]
    tags: list[tuple[str, int]]
    roots: list[str]


@dataclass
class CheckReport:
    missing_in_fulltext: list[int] = field(default_factory=list)
    stale_in_fulltext: list[int] = field(default_factory=list)
    missing_on_disk: list[str] = field(default_factory=list)
    fulltext_lag: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing_in_fulltext or self.stale_in_fulltext or self.missing_on_disk or self.fulltext_lag)


def _record(file: File) -> ImageRecord:
    content = file.content
    assert content is not None
    return ImageRecord(
        id=file.id,
        path=file.path,
        root=file.root,
        name=file.name,
        ext=file.ext,
        size=file.size,
        mtime=datetime.fromtimestamp(file.mtime_ns / 1e9, timezone.utc).replace(tzinfo=None),
        caption=content.effective_caption,
        edited=content.user_caption is not None,
        model=content.model,
        width=content.width,
        height=content.height,
        format=content.format,
        taken_at=plausible_date(content.taken_at),
        camera=content.camera,
        content_hash=content.hash,
        tags=content.visible_tags,
    )


def _set_sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers (search, the app) keep working while the indexer writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={WRITE_WAIT_SECONDS * 1000}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _set_read_only_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def _reset_busy_timeout(dbapi_connection, _record) -> None:
    """A connection goes back to the pool with the default wait, whatever `Store.writing` set."""
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={WRITE_WAIT_SECONDS * 1000}")
    cursor.close()


def no_checkpoint(name: str) -> None:
    """A named moment between two durable steps (tests/crashing_cli.py kills the process at one)."""


class Store:
    """Open with Store.open(data_dir); every front end goes through one of these."""

    # Called at each named moment of a write; the crash tests replace it to kill the process there.
    checkpoint: Callable[[str], None] = staticmethod(no_checkpoint)

    def __init__(self, data_dir: Path, engine: Engine) -> None:
        self.data_dir = data_dir
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.fulltext = FulltextIndex(data_dir / FULLTEXT_DIR)
        # Semantic search: the front end names the embedder and how to load it (db/ imports no torch).
        self.embedder_id: str | None = None
        self._embedder_factory: Callable[[], EmbedderLike] | None = None
        self._embedder: EmbedderLike | None = None
        self._vectors: VectorIndex | None = None
        self._facets: tuple[tuple[int, int], Facets] | None = None
        self.read_only = False  # opened from a folder it cannot write: reads only, no full-text repair

    def use_embedder(self, embedder_id: str, factory: Callable[[], EmbedderLike]) -> None:
        """Enable semantic search and embedding of edited captions; the model loads on first use."""
        self.embedder_id, self._embedder_factory = embedder_id, factory
        self._embedder = None

    @property
    def embedder(self) -> EmbedderLike | None:
        if self._embedder is None and self._embedder_factory is not None:
            self._embedder = self._embedder_factory()
        return self._embedder

    # -- opening and schema ------------------------------------------------------------------

    @classmethod
    def open(cls, data_dir: Path | str | None = None, create: bool = True) -> Store:
        data_dir = Path(data_dir).expanduser().resolve() if data_dir else default_data_dir()
        db_path = data_dir / DB_NAME
        if not db_path.exists() and not create:
            raise NotIndexedError(f"No index in {data_dir}; run: captionary index PHOTO_FOLDER --data-dir {data_dir}")
        if db_path.exists() and db_path.stat().st_size == 0:
            raise DamagedCatalogError(f"The catalog at {db_path} is empty (0 bytes): restore it from a backup, or "
                                      "delete it to start a new library")
        data_dir.mkdir(parents=True, exist_ok=True)
        # A backup or a NAS share may be read-only: search and stats still work, without writing anything.
        read_only = db_path.exists() and not (os.access(data_dir, os.W_OK) and os.access(db_path, os.W_OK))
        if read_only:
            engine = create_engine(f"sqlite:///file:{db_path}?mode=ro&immutable=1&uri=true")
            event.listen(engine, "connect", _set_read_only_pragmas)
        else:
            engine = create_engine(f"sqlite:///{db_path}")
            event.listen(engine, "connect", _set_sqlite_pragmas)
            event.listen(engine, "checkin", _reset_busy_timeout)
        store = cls(data_dir, engine)
        store.read_only = read_only
        try:
            store._migrate()
        except DatabaseError as error:
            store.close()
            if "locked" in str(error) or "busy" in str(error):
                raise
            reason = str(error.orig) if error.orig is not None else type(error).__name__
            raise DamagedCatalogError(
                f"The catalog at {db_path} is damaged ({reason}): restore it from a backup, or move it away and "
                "run captionary index again to build a new one (captions are recomputed)") from None
        return store

    @classmethod
    def open_existing(cls, data_dir: Path | str | None = None) -> Store:
        return cls.open(data_dir, create=False)

    def _migrate(self) -> None:
        with self.sessions.begin() as session:
            tables = set(session.connection().exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type='table'").scalars())
            version = 0
            if "meta" in tables:
                value = session.get(Meta, "schema_version")
                version = int(value.value) if value else 0
            if version > SCHEMA_VERSION:
                raise SchemaTooNewError(
                    f"The index in {self.data_dir} was written by a newer captionary (schema {version}, "
                    f"this one knows {SCHEMA_VERSION}); upgrade captionary: pip install -U captionary")
            if version < SCHEMA_VERSION and self.read_only:
                raise CaptionaryError(f"The catalog in {self.data_dir} needs an upgrade, but it is read-only; "
                                      "open it once where it can be written")
            for target, step in MIGRATIONS:
                if version < target:
                    step(session)
                    session.merge(Meta(key="schema_version", value=str(target)))
                    version = target

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
            raise BusyError("The library is busy: an index run is writing to it. Try again in a moment "
                            f"(waited {wait_seconds:g} s)") from None

    # -- change sequence: every write that the full-text index must see gets a number ----------

    @staticmethod
    def next_seq(session: Session) -> int:
        """Allocate the sequence number for the rows this transaction changes."""
        row = session.get(Meta, "seq")
        value = int(row.value) + 1 if row else 1
        session.merge(Meta(key="seq", value=str(value)))
        return value

    @staticmethod
    def _meta_int(session: Session, key: str) -> int:
        row = session.get(Meta, key)
        return int(row.value) if row else 0

    @staticmethod
    def mark_files_changed(session: Session, seq: int, file_ids: Sequence[int] = (), content_ids: Sequence[int] = ()) -> None:
        if file_ids:
            session.execute(update(File).where(File.id.in_(file_ids)).values(ft_seq=seq))
        if content_ids:
            session.execute(update(File).where(File.content_id.in_(content_ids)).values(ft_seq=seq))

    @staticmethod
    def delete_files(session: Session, seq: int, file_ids: Sequence[int]) -> None:
        """Delete file rows and leave a tombstone so the full-text document goes too."""
        for start in range(0, len(file_ids), 500):
            chunk = list(file_ids[start: start + 500])
            session.execute(delete(File).where(File.id.in_(chunk)))
            session.execute(sqlite_insert(FulltextDelete).on_conflict_do_update(
                index_elements=[FulltextDelete.file_id], set_={"seq": seq}),
                [{"file_id": file_id, "seq": seq} for file_id in chunk])

    # -- keeping Whoosh in step with the DB ----------------------------------------------------

    def fulltext_lag(self) -> int:
        """How many change sequences the Whoosh index is behind the DB (0: in step)."""
        with self.sessions() as session:
            head = self._meta_int(session, "seq")
            synced = self._meta_int(session, "fulltext_seq")
            index_id = session.get(Meta, "fulltext_index_id")
        if index_id is None or index_id.value != self.fulltext.index_id():
            return max(head, 1)
        return max(0, head - synced)

    def sync_fulltext(self, wait: float = 30.0, rebuild: bool = False) -> bool:
        """Bring Whoosh up to the DB's sequence; returns False if another process holds its lock.

        Idempotent: documents are written by id, so a crash between the Whoosh commit and the
        DB's note of it only means the same documents are written again next time.
        """
        with self.sessions() as session:
            index_id = session.get(Meta, "fulltext_index_id")
        if rebuild or index_id is None or index_id.value != self.fulltext.index_id() or not self.fulltext.is_current():
            new_id = self.fulltext.create()
            with self.writing(wait) as session:
                session.merge(Meta(key="fulltext_index_id", value=new_id))
                session.merge(Meta(key="fulltext_seq", value="0"))
        writer = self.fulltext.writer(timeout=wait)
        if writer is None:
            return False
        try:
            # Read the DB only while holding Whoosh's lock, so two syncers can never write an
            # older version of a document over a newer one.
            with self.sessions() as session:
                head = self._meta_int(session, "seq")
                synced = self._meta_int(session, "fulltext_seq")
                if head <= synced:
                    writer.cancel()
                    return True
                docs = self._changed_docs(session, synced, head)
                deleted = list(session.scalars(select(FulltextDelete.file_id).where(
                    FulltextDelete.seq > synced, FulltextDelete.seq <= head)))
                # Files that changed but have no caption (they became unreadable) leave the index.
                deleted += session.scalars(select(File.id).where(
                    File.ft_seq > synced, File.ft_seq <= head, File.content_id.is_(None)))
                self.fulltext.apply(writer, docs, deleted)
            self.checkpoint("fulltext-write")
            writer.commit()
            self.checkpoint("fulltext-commit")
        except BaseException:
            writer.cancel()
            raise
        with self.writing(wait) as session:
            if self._meta_int(session, "fulltext_seq") < head:
                session.merge(Meta(key="fulltext_seq", value=str(head)))
            session.execute(delete(FulltextDelete).where(FulltextDelete.seq <= head))
        return True

    def _changed_docs(self, session: Session, after: int, upto: int) -> Iterator[FulltextDoc]:
        tags = (select(func.group_concat(Tag.tag, ",")).where(Tag.content_id == Content.id, Tag.source != "hidden")
                .scalar_subquery())
        rows = session.execute(
            select(File.id, File.path, File.root, File.ext, File.mtime_ns, Content.caption,
                   Content.user_caption, Content.taken_at, tags)
            .join(Content, File.content_id == Content.id)
            .where(File.ft_seq > after, File.ft_seq <= upto)
            .execution_options(yield_per=SYNC_CHUNK)
        )
        for file_id, path, root, ext, mtime_ns, caption, user_caption, taken_at, tag_list in rows:
            taken_at = plausible_date(taken_at)  # rows stored before dates were checked too
            when = taken_at.date() if taken_at else date.fromtimestamp(mtime_ns / 1e9)
            yield FulltextDoc(file_id, user_caption if user_caption is not None else caption,
                              path, root, ext, day_number(when), tag_list or "")

    def ensure_fulltext(self) -> bool:
        """Repair a lagging Whoosh index (e.g. after a crash) unless a writer is busy doing so; returns
        whether there is an index to search."""
        if self.read_only or (not self.fulltext_lag() and self.fulltext.is_current()):
            return self.fulltext.index_id() is not None
        try:
            self.sync_fulltext(wait=0)
        except BusyError:
            pass  # an index run is committing: answer from the index as it is; that run syncs it
        return self.fulltext.index_id() is not None

    # -- reading -----------------------------------------------------------------------------

    def images(self, file_ids: Sequence[int]) -> dict[int, ImageRecord]:
        """Rows for the given ids; ids that are no longer in the DB are simply absent."""
        with self.sessions() as session:
            files = session.scalars(
                select(File).options(joinedload(File.content).selectinload(Content.tags))
                .where(File.id.in_(list(file_ids)), File.content_id.is_not(None))
            )
            return {file.id: _record(file) for file in files}

    def image(self, file_id: int) -> ImageRecord:
        record = self.images([file_id]).get(file_id)
        if record is None:
            raise NotIndexedError(f"No indexed image with id {file_id}")
        return record

    def image_by_path(self, path: str | Path) -> ImageRecord:
        resolved = str(Path(path).expanduser().absolute())
        with self.sessions() as session:
            file_id = session.scalar(select(File.id).where(
                File.path.in_([resolved, str(Path(resolved).resolve())]), File.content_id.is_not(None)))
        if file_id is None:
            raise NotIndexedError(f"{resolved} is not indexed; run: captionary index FOLDER_CONTAINING_IT")
        return self.image(file_id)

    def search(self, text: str, filters: Filters = Filters(), sort: str = "relevance",
               offset: int = 0, limit: int = 20, mode: str = "auto") -> SearchPage:
        """Whoosh (and the caption vectors) find ids; the rows come from SQLite, so a deleted path is never shown.

        mode: keyword, semantic, hybrid (db/ranking.py says what each does), or auto: hybrid when this
        store has embeddings for its embedder, else keyword.
        """
        started = time.perf_counter()
        chosen_sort = parse_sort(sort)
        if not self.ensure_fulltext():
            raise NotIndexedError(f"No search index in {self.data_dir}; run: captionary rebuild-fulltext")
        chosen = self.resolve_mode(mode)
        found: Found
        if chosen is Mode.KEYWORD or not text.strip():
            found, chosen = keyword_search(self.fulltext, text, filters, chosen_sort, offset, limit), Mode.KEYWORD
        else:
            found = meaning_search(self.fulltext, self.vectors(), self._encode_query, text, filters, chosen_sort,
                                   offset, limit, chosen)
        rows = self.images([file_id for file_id, _, _ in found.page])
        hits = [SearchHit(rows[file_id], score, match) for file_id, score, match in found.page if file_id in rows]
        return SearchPage(hits, found.matches + found.related, found.terms, time.perf_counter() - started,
                          chosen.value, found.related)

    def _encode_query(self, text: str):
        assert self.embedder is not None
        return self.embedder.encode([text])[0]

    def has_embeddings(self) -> bool:
        if self.embedder_id is None:
            return False
        with self.sessions() as session:
            return session.scalar(select(Content.id).where(Content.embedder == self.embedder_id).limit(1)) is not None

    def resolve_mode(self, mode: str) -> Mode:
        if mode == "auto":
            return Mode.HYBRID if self.has_embeddings() else Mode.KEYWORD
        chosen = parse_mode(mode)
        if chosen is not Mode.KEYWORD and not self.has_embeddings():
            raise NotIndexedError(f"No caption embeddings for {chosen.value} search yet; run: captionary reembed")
        return chosen

    def vectors(self) -> VectorIndex:
        """The caption vectors, loaded once and reloaded only when the DB changed since."""
        assert self.embedder_id is not None
        if self._vectors is None or self._vectors.embedder_id != self.embedder_id:
            self._vectors = VectorIndex(self.embedder_id)
        self._vectors.refresh(self.sessions)
        return self._vectors

    def pending_embeddings(self, content_ids: Sequence[int] | None = None) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(Content)
                                  .where(self._needs_embedding(content_ids))) or 0

    def _needs_embedding(self, content_ids: Sequence[int] | None = None):
        needed = (Content.embedding.is_(None)) | (Content.embedder.is_(None)) | (Content.embedder != self.embedder_id)
        return needed if content_ids is None else needed & Content.id.in_(list(content_ids))

    def embed_pending(self, batch_size: int = 256, content_ids: Sequence[int] | None = None) -> int:
        """Embed every caption (or those of `content_ids`) that has no embedding from the current embedder;
        captions only, no image is read. Each batch commits, so a crash loses at most one batch. The model
        loads only once there is a caption to embed."""
        if self.embedder_id is None:
            return 0
        table = Content.__table__
        contents = table.c
        # One statement per batch, and only where the caption is still the one embedded (a person may
        # have edited it meanwhile).
        store_vector = (update(table)  # type: ignore[arg-type]  # a Table; the stubs say FromClause
                        .where(contents.id == bindparam("content_id"),
                               contents.caption.is_not_distinct_from(bindparam("embedded_caption")),
                               contents.user_caption.is_not_distinct_from(bindparam("embedded_user")))
                        .values(embedding=bindparam("vector"), embedder=self.embedder_id))
        done = 0
        while True:
            with self.sessions() as session:
                batch = session.execute(select(Content.id, Content.caption, Content.user_caption)
                                        .where(self._needs_embedding(content_ids)).limit(batch_size)).all()
            if not batch:
                return done
            embedder = self.embedder
            assert embedder is not None  # embedder_id is set, so a factory is too
            vectors = embedder.encode([user if user is not None else caption for _, caption, user in batch])
            self.checkpoint("embed")
            with self.sessions.begin() as session:
                session.execute(store_vector, [
                    {"content_id": content_id, "embedded_caption": caption, "embedded_user": user,
                     "vector": to_blob(vector)} for (content_id, caption, user), vector in zip(batch, vectors)])
                self.next_seq(session)  # the vector index reloads on a new sequence
            done += len(batch)

    def stats(self) -> dict:
        with self.sessions() as session:
            images = session.scalar(select(func.count()).select_from(File).where(File.content_id.is_not(None))) or 0
            distinct = session.scalar(select(func.count(func.distinct(File.content_id)))) or 0
            failed = session.scalar(select(func.count()).select_from(File).where(File.error.is_not(None)))
            models = self._model_counts(session)
            edited = session.scalar(select(func.count()).select_from(Content).where(Content.user_caption.is_not(None)))
            embedders = dict(session.execute(select(Content.embedder, func.count()).where(
                Content.embedder.is_not(None), Content.embedding.is_not(None)).group_by(Content.embedder)).all())
            embedded = embedders.get(self.embedder_id, 0) if self.embedder_id else sum(embedders.values())
        return {
            "images": images,
            "failed": failed,
            "duplicates": images - distinct,
            "edited": edited,
            "model": [model for model, _ in models],
            "models": {model: count for model, count in models},
            "roots": self.roots(),
            "data_dir": str(self.data_dir),
            "embedded": embedded,
            "embedders": embedders,
        }

    def models(self) -> list[str]:
        """The models that wrote this library's automatic captions, most used first (by photos)."""
        with self.sessions() as session:
            return [model for model, _ in self._model_counts(session)]

    @staticmethod
    def _model_counts(session: Session) -> list[tuple[str, int]]:
        return [(model, count) for model, count in session.execute(
            select(Content.model, func.count()).join(File, File.content_id == Content.id)
            .group_by(Content.model).order_by(func.count().desc()))]

    def failures(self) -> list[tuple[str, str]]:
        with self.sessions() as session:
            return [(path, error or "") for path, error in session.execute(
                select(File.path, File.error).where(File.error.is_not(None)).order_by(File.path))]

    def folders(self) -> list[str]:
        """Every folder that holds an indexed image, with its ancestors up to the root."""
        with self.sessions() as session:
            rows = session.execute(select(File.root, File.folder).where(File.content_id.is_not(None)).distinct())
            result: set[str] = set()
            for root, folder in rows:
                current = Path(folder)
                while True:
                    result.add(str(current))
                    if str(current) == root or current.parent == current:
                        break
                    current = current.parent
        return sorted(result)

    def facets(self, top_tags: int = 30) -> Facets:
        """Folders, file types, top tags and roots for filter widgets; recomputed only after the DB changes
        (each is a scan over every photo: ~0.5 s at 100k, too slow for every page view)."""
        with self.sessions() as session:
            seq = self._meta_int(session, "seq")
        cached = self._facets
        if cached is None or cached[0] != (seq, top_tags):
            facets = Facets(self.folders(), self.extensions(), self.tag_counts(top_tags), self.roots())
            self._facets = cached = ((seq, top_tags), facets)
        return cached[1]

    def roots(self) -> list[str]:
        with self.sessions() as session:
            return list(session.scalars(select(Root.path).order_by(Root.path)))

    def extensions(self) -> list[str]:
        with self.sessions() as session:
            return list(session.scalars(select(File.ext).where(File.content_id.is_not(None)).distinct().order_by(File.ext)))

    # -- a person's edits ----------------------------------------------------------------------

    def set_caption(self, file_id: int, text: str | None) -> ImageRecord:
        """Save a person's caption (None reverts to the model's); re-indexing never overwrites it."""
        if text is not None:
            text = " ".join(printable(text).split())
            if not text:
                raise CaptionaryError("A caption cannot be empty; to go back to the model's caption, revert it")
        with self.writing(EDIT_WAIT_SECONDS) as session:
            file = session.get(File, file_id)
            if file is None or file.content is None:
                raise NotIndexedError(f"No indexed image with id {file_id}")
            seq = self.next_seq(session)
            content_id = file.content.id
            file.content.user_caption = text
            file.content.edited_at = utcnow() if text is not None else None
            self.set_auto_tags(file.content)  # auto-tags follow the caption a person sees
            file.content.embedding = None  # and so does the embedding
            self.mark_files_changed(session, seq, content_ids=[file.content.id])
        self._show_edit()
        if self.has_embeddings():  # semantic search is in use: this caption's vector changes now
            self.embed_pending(content_ids=[content_id])
        return self.image(file_id)

    @staticmethod
    def set_auto_tags(content: Content) -> None:
        """Replace the content's auto-tags with those of its current caption; a person's tags stay,
        and tags a person removed stay removed."""
        kept = {tag.tag: tag for tag in content.tags if tag.source != "auto"}
        content.tags = list(kept.values()) + [
            Tag(tag=tag, source="auto") for tag in auto_tags(content.effective_caption) if tag not in kept]

    def edit_tags(self, file_id: int, add: Sequence[str] = (), remove: Sequence[str] = ()) -> ImageRecord:
        """A person's tag edit: added tags are theirs; removed ones stay removed through re-indexing."""
        with self.writing(EDIT_WAIT_SECONDS) as session:
            file = session.get(File, file_id)
            if file is None or file.content is None:
                raise NotIndexedError(f"No indexed image with id {file_id}")
            current = {tag.tag: tag for tag in file.content.tags}
            for source, names in (("user", add), ("hidden", remove)):
                for name in filter(None, map(normalize_tag, names)):
                    if name in current:
                        current[name].source = source
                    elif source == "user":
                        current[name] = Tag(tag=name, source="user")
                        file.content.tags.append(current[name])
            self.mark_files_changed(session, self.next_seq(session), content_ids=[file.content.id])
        self._show_edit()
        return self.image(file_id)

    def _show_edit(self) -> None:
        """Show a committed edit in search at once; if an index run holds a lock, that run syncs it."""
        try:
            self.sync_fulltext(wait=2)
        except BusyError:
            pass

    def tag_counts(self, limit: int | None = None) -> list[tuple[str, int]]:
        """Tags with the number of photos (paths) that carry them, most used first."""
        with self.sessions() as session:
            count = func.count(File.id)
            query = (select(Tag.tag, count).join(File, File.content_id == Tag.content_id)
                     .where(Tag.source != "hidden").group_by(Tag.tag).order_by(count.desc(), Tag.tag))
            if limit:
                query = query.limit(limit)
            return [(tag, number) for tag, number in session.execute(query)]

    # -- roots and consistency -----------------------------------------------------------------

    def forget_root(self, root: str | Path) -> int:
        """Remove a root and everything under it from the DB and the index; files are not touched."""
        root_path = str(Path(root).expanduser().absolute())
        with self.sessions.begin() as session:
            known = session.get(Root, root_path) or session.get(Root, str(Path(root_path).resolve()))
            if known is None:
                raise NotIndexedError(f"{root_path} is not an indexed root; see: captionary stats")
            ids = list(session.scalars(select(File.id).where(File.root == known.path)))
            seq = self.next_seq(session)
            self.delete_files(session, seq, ids)
            session.delete(known)
            self.collect_orphan_contents(session)
        self.sync_fulltext()
        return len(ids)

    def collect_orphan_contents(self, session: Session, grace: timedelta = ORPHAN_GRACE) -> int:
        """Mark contents no path uses any more; delete (with thumbnails) those orphaned for `grace`."""
        now = utcnow()
        session.execute(update(Content).where(Content.orphaned_at.is_not(None), Content.files.any())
                        .values(orphaned_at=None))
        session.execute(update(Content).where(Content.orphaned_at.is_(None), ~Content.files.any())
                        .values(orphaned_at=now))
        expired = session.execute(select(Content.id, Content.hash).where(
            Content.orphaned_at <= now - grace, ~Content.files.any())).all()
        for start in range(0, len(expired), 500):
            chunk = expired[start: start + 500]
            session.execute(delete(Content).where(Content.id.in_([cid for cid, _ in chunk])))
            for _, content_hash in chunk:
                thumbnail_path(self.thumbnail_dir, content_hash).unlink(missing_ok=True)
        return len(expired)

    def check(self) -> CheckReport:
        report = CheckReport(fulltext_lag=self.fulltext_lag())
        with self.sessions() as session:
            db_ids = set(session.scalars(select(File.id).where(File.content_id.is_not(None))))
            for path in session.scalars(select(File.path)):
                if not os.path.lexists(path):
                    report.missing_on_disk.append(path)
        try:
            index_ids = set(self.fulltext.all_ids()) if self.fulltext.index_id() else set()
        except Exception:
            index_ids = set()
        report.missing_in_fulltext = sorted(db_ids - index_ids)
        report.stale_in_fulltext = sorted(index_ids - db_ids)
        return report


def thumbnail_path(directory: Path, content_hash: str) -> Path:
    return directory / content_hash[:2] / f"{content_hash}.jpg"


def _create_v1(session: Session) -> None:
    Base.metadata.create_all(session.connection())


# Ordered (version, step) pairs; a new schema version appends a step that upgrades in place.
MIGRATIONS = [(1, _create_v1)]


@contextmanager
def open_store(data_dir: Path | str | None = None, create: bool = False) -> Iterator[Store]:
    store = Store.open(data_dir, create=create)
    try:
        yield store
    finally:
        store.close()
