"""The data directory: where each file lives in it, the SQLite engine and its settings, schema migrations."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from urllib.parse import quote

from platformdirs import user_data_dir
from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, ExceptionContext
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from db.errors import (
    FREE_SPACE,
    SQLITE_CORRUPT,
    SQLITE_NOTADB,
    SQLITE_READONLY,
    BusyError,
    CaptionaryError,
    DamagedCatalogError,
    DiskFullError,
    NotIndexedError,
    SchemaTooNewError,
    disk_full,
    sqlite_code,
)
from db.formats import CATALOG_FILE
from db.models import SCHEMA_VERSION, Base, Meta

DB_NAME = CATALOG_FILE  # its folder is skipped by any index run that finds it in a photo root (indexer/crawl.py)
FULLTEXT_DIR = "fulltext"
THUMBNAIL_DIR = "thumbnails"
# How long a write waits for another process's write lock: the indexer's own writes wait long (its
# commits are short and it has nothing better to do); a person's edit waits briefly and says why.
WRITE_WAIT_SECONDS = 30
FREE_SOME_SPACE = f"{FREE_SPACE} (search answers from the index as it is meanwhile)"


Sessions = sessionmaker[Session]  # what every job module is handed to reach the catalog


def platform_data_dir() -> Path:
    """Where a library lives when neither --data-dir nor $CAPTIONARY_DATA_DIR says (indexer/settings.py)."""
    return Path(user_data_dir("captionary", appauthor=False))


def data_dir_path(chosen: Path | str | None) -> Path:
    """The one normaliser of a data dir as given (a flag, the environment, an argument): ~ expanded, absolute,
    links resolved; none given: the platform's."""
    return Path(chosen).expanduser().resolve() if chosen else platform_data_dir()


def meta_int(session: Session, key: str) -> int:
    row = session.get(Meta, key)
    return int(row.value) if row else 0


def remembered_image_embedder(session: Session) -> str | None:
    """The image embedder a person last named to `index` or `reembed --images`: "" for --image-embedder none,
    None when none was ever named (db/catalog.py Catalog.image_embedder_setting)."""
    row = session.get(Meta, "image_embedder")
    return row.value if row else None


def _set_sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers (search, the app) keep working while the indexer writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={WRITE_WAIT_SECONDS * 1000}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


CHOOSE_ANOTHER = "choose another with --data-dir or CAPTIONARY_DATA_DIR"


def _set_read_only_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def _reset_busy_timeout(dbapi_connection, _record) -> None:
    """A connection goes back to the pool with the default wait, whatever `writing` set."""
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={WRITE_WAIT_SECONDS * 1000}")
    cursor.close()


def _uri(db_path: Path, **options: str) -> URL:
    """SQLite's URI of the catalog. Built as a URL object, not parsed from a string: SQLAlchemy would decode the
    quoted path, and a library folder named "photos #1?" would open a catalog named "photos " beside it."""
    return URL.create("sqlite", database=f"file:{quote(str(db_path))}", query={**options, "uri": "true"})


def open_engine(data_dir: Path, create: bool, read_only_reason: str | None = None) -> tuple[Engine, str | None]:
    """The catalog's engine and why it is read-only (None: it is not); refuses a missing (unless `create`) or empty file.

    read_only_reason: open it read-only, though the folder could be written (the disk is full)."""
    db_path = data_dir / DB_NAME
    if not db_path.exists() and not create:
        blocking = next((folder for folder in (data_dir, *data_dir.parents) if folder.exists()), None)
        if blocking is not None and not blocking.is_dir():  # no index run could make the library there either
            raise CaptionaryError(f"{blocking} is a file, so there is no library at {data_dir}: {CHOOSE_ANOTHER}")
        raise NotIndexedError(f"No index in {data_dir}; run: captionary index PHOTO_FOLDER --data-dir {data_dir}")
    if db_path.exists() and db_path.stat().st_size == 0:
        raise DamagedCatalogError(
            f"The catalog at {db_path} is empty (0 bytes): restore it from a backup, or delete it to start a new library"
        )
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CaptionaryError(f"Cannot create the library folder {data_dir} ({error.strerror}): {CHOOSE_ANOTHER}") from None
    if not db_path.exists() and not os.access(data_dir, os.W_OK):
        # SQLite would say "unable to open database file", which read as a damaged catalog.
        raise CaptionaryError(f"The library folder {data_dir} cannot be written (read-only?): {CHOOSE_ANOTHER}")
    # A backup or a NAS share may be read-only: search and stats still work, without writing anything.
    if read_only_reason is None and db_path.exists() and not (os.access(data_dir, os.W_OK) and os.access(db_path, os.W_OK)):
        read_only_reason = "its folder is read-only (a backup, a read-only share?); copy it somewhere writable to change it"
    if read_only_reason is not None:
        engine = create_engine(_uri(db_path, mode="ro", immutable="1"))
        event.listen(engine, "connect", _set_read_only_pragmas)
    else:
        if not db_path.exists():
            sqlite3.connect(db_path).close()
        # Never created again by a later connection: a library moved or deleted while a command runs must not
        # come back as an empty catalog where it was.
        engine = create_engine(_uri(db_path, mode="rw"))
        event.listen(engine, "connect", _set_sqlite_pragmas)
        event.listen(engine, "checkin", _reset_busy_timeout)
    event.listen(engine, "handle_error", partial(_name_the_problem, db_path, read_only_reason))
    return engine, read_only_reason


@contextmanager
def writing(sessions: Sessions, wait_seconds: float) -> Iterator[Session]:
    """A write transaction that waits at most `wait_seconds` for another process's write lock, then
    raises BusyError (a search never waits on the indexer; an edit waits briefly)."""
    try:
        with sessions.begin() as session:
            session.connection().exec_driver_sql(f"PRAGMA busy_timeout={int(wait_seconds * 1000)}")
            yield session
    except OperationalError as error:
        if "locked" not in str(error) and "busy" not in str(error):
            raise
        raise BusyError(
            f"The library is busy: an index run is writing to it. Try again in a moment (waited {wait_seconds:g} s)"
        ) from None


def _name_the_problem(db_path: Path, read_only_reason: str | None, context: ExceptionContext) -> None:
    """Driver errors that mean damage, a full disk or a read-only catalog become messages that say what to do,
    wherever they happen (a page read in the middle of a search, a commit)."""
    error = context.original_exception
    if not db_path.exists():
        raise library_gone(db_path.parent)
    code = sqlite_code(error)
    if code in (SQLITE_CORRUPT, SQLITE_NOTADB):
        raise damaged(db_path, " ".join(str(error).split()))
    if disk_full(error, db_path.parent):
        raise full_disk(db_path.parent, str(error))
    if code == SQLITE_READONLY and read_only_reason is not None:
        raise cannot_change(db_path.parent, read_only_reason)


def library_gone(data_dir: Path) -> CaptionaryError:
    return CaptionaryError(
        f"The library at {data_dir} was deleted or moved while this command ran, so what it wrote since is lost; run "
        "the command again"
    )


def cannot_change(data_dir: Path, reason: str) -> CaptionaryError:
    return CaptionaryError(f"The library in {data_dir} can be searched but not changed: {reason}")


def full_disk(data_dir: Path, reason: str) -> DiskFullError:
    return DiskFullError(f"The disk holding the library in {data_dir} is full ({' '.join(reason.split())}): {FREE_SOME_SPACE}")


def damaged(db_path: Path, reason: str) -> DamagedCatalogError:
    return DamagedCatalogError(
        f"The catalog at {db_path} is damaged ({reason}): restore it from a backup, or move it away and "
        "run captionary index again to build a new one (captions are recomputed)"
    )


def catalog_problems(session: Session) -> list[str]:
    """What SQLite's quick_check finds wrong with the catalog's pages and indexes (nothing: [])."""
    found = list(session.connection().exec_driver_sql("PRAGMA quick_check").scalars())
    return [] if found == ["ok"] else [str(problem) for problem in found]


def migrate(sessions: sessionmaker[Session], data_dir: Path, read_only: bool) -> None:
    """Bring the schema to SCHEMA_VERSION in one transaction, or refuse with the reason."""
    with sessions.begin() as session:
        tables = set(session.connection().exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'").scalars())
        version = meta_int(session, "schema_version") if "meta" in tables else 0
        if version > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"The index in {data_dir} was written by a newer captionary (schema {version}, "
                f"this one knows {SCHEMA_VERSION}); upgrade captionary: pip install -U captionary"
            )
        if version < SCHEMA_VERSION and read_only:
            raise CaptionaryError(
                f"The catalog in {data_dir} needs an upgrade, but it is read-only; open it once where it can be written"
            )
        if "files" not in tables:  # a new catalog gets today's tables whole; the steps upgrade older ones
            _create_tables(session)
            session.merge(Meta(key="schema_version", value=str(SCHEMA_VERSION)))
            return
        for target, step in MIGRATIONS:
            if version < target:
                step(session)
                session.merge(Meta(key="schema_version", value=str(target)))
                version = target


def _create_tables(session: Session) -> None:
    """A new catalog gets today's tables whole; the steps after it only add what an older one lacks."""
    Base.metadata.create_all(session.connection())


def _add_image_embeddings(session: Session) -> None:
    connection = session.connection()
    columns = {row[1] for row in connection.exec_driver_sql("PRAGMA table_info(contents)")}
    if "image_embedding" not in columns:
        connection.exec_driver_sql("ALTER TABLE contents ADD COLUMN image_embedding BLOB")
    if "image_embedder" not in columns:
        connection.exec_driver_sql("ALTER TABLE contents ADD COLUMN image_embedder VARCHAR")
    connection.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_contents_image_embedder ON contents (image_embedder)")


def _add_places(session: Session) -> None:
    connection = session.connection()
    columns = {row[1] for row in connection.exec_driver_sql("PRAGMA table_info(contents)")}
    for name, kind in (("latitude", "FLOAT"), ("longitude", "FLOAT"), ("place", "VARCHAR")):
        if name not in columns:
            connection.exec_driver_sql(f"ALTER TABLE contents ADD COLUMN {name} {kind}")


def _add_file_metadata(session: Session) -> None:
    """Schema 4. Existing files keep sidecars NULL: the next index reads their metadata once, unhashed."""
    connection = session.connection()
    added = {
        "contents": (
            ("lens", "VARCHAR"),
            ("title", "TEXT"),
            ("description", "TEXT"),
            ("rating", "INTEGER"),
            ("keyword_paths", "TEXT"),
        ),
        "files": (("sidecars", "TEXT"), ("metadata_problem", "VARCHAR")),
        "pending": (("sidecars", "TEXT NOT NULL DEFAULT ''"), ("metadata_only", "BOOLEAN NOT NULL DEFAULT 0")),
    }
    for table, columns in added.items():
        present = {row[1] for row in connection.exec_driver_sql(f"PRAGMA table_info({table})")}
        for name, kind in columns:
            if name not in present:
                connection.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


def _add_ocr(session: Session) -> None:
    connection = session.connection()
    present = {row[1] for row in connection.exec_driver_sql("PRAGMA table_info(contents)")}
    for name, kind in (("ocr_text", "TEXT"), ("ocr_engine", "VARCHAR")):
        if name not in present:
            connection.exec_driver_sql(f"ALTER TABLE contents ADD COLUMN {name} {kind}")
    connection.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_contents_ocr_engine ON contents (ocr_engine)")


# What a file says about itself, moved from its content to the file in schema 6.
FILE_METADATA = (
    ("taken_at", "DATETIME"),
    ("camera", "VARCHAR"),
    ("lens", "VARCHAR"),
    ("latitude", "FLOAT"),
    ("longitude", "FLOAT"),
    ("place", "VARCHAR"),
    ("title", "TEXT"),
    ("description", "TEXT"),
    ("rating", "INTEGER"),
    ("keyword_paths", "TEXT"),
)


def _metadata_per_file(session: Session) -> None:
    """Schema 6: metadata belongs to the file (a copy without the sidecar says less), captions to the bytes.

    Each file gets what its content said, and the keywords of source `file` become FileKeywords; a file whose
    bytes another path shares reads its own metadata again on the next index (sidecars NULL: never read), without
    re-captioning. Paths holding U+FFFF get it doubled: it now escapes the bytes that are not UTF-8."""
    from db.models import FileKeyword
    from db.sequence import next_seq
    from db.tags import auto_tags

    connection = session.connection()
    present = {row[1] for row in connection.exec_driver_sql("PRAGMA table_info(files)")}
    for name, kind in FILE_METADATA:
        if name not in present:
            connection.exec_driver_sql(f"ALTER TABLE files ADD COLUMN {name} {kind}")
    Base.metadata.create_all(connection, tables=[Base.metadata.tables[FileKeyword.__tablename__]])
    on_contents = {row[1] for row in connection.exec_driver_sql("PRAGMA table_info(contents)")}
    moved = [name for name, _ in FILE_METADATA if name in on_contents]
    if moved:
        columns = ", ".join(moved)
        connection.exec_driver_sql(
            f"UPDATE files SET ({columns}) = (SELECT {columns} FROM contents WHERE contents.id = files.content_id) "
            "WHERE content_id IS NOT NULL"
        )
    connection.exec_driver_sql(
        "INSERT OR IGNORE INTO file_keywords (file_id, tag) SELECT files.id, tags.tag FROM tags "
        "JOIN files ON files.content_id = tags.content_id WHERE tags.source = 'file'"
    )
    # A file keyword had taken over the auto-tag of the same word: it is the caption's again.
    taken = "SELECT contents.id, coalesce(user_caption, caption), tag FROM tags JOIN contents ON contents.id = tags.content_id"
    for content_id, caption, tag in connection.exec_driver_sql(f"{taken} WHERE source = 'file'").all():
        if tag in auto_tags(caption):
            connection.exec_driver_sql("UPDATE tags SET source = 'auto' WHERE content_id = ? AND tag = ?", (content_id, tag))
    connection.exec_driver_sql("DELETE FROM tags WHERE source = 'file'")
    connection.exec_driver_sql(
        "UPDATE files SET sidecars = NULL WHERE content_id IN "
        "(SELECT content_id FROM files GROUP BY content_id HAVING count(*) > 1)"
    )
    if moved and tuple(map(int, connection.exec_driver_sql("SELECT sqlite_version()").scalar_one().split("."))) >= (3, 35):
        for name in moved:  # SQLite before 3.35 cannot drop a column: there it stays, unread
            connection.exec_driver_sql(f"ALTER TABLE contents DROP COLUMN {name}")
    escaped = {"files": ("path", "root", "folder", "name", "sidecars", "error", "metadata_problem"), "roots": ("path",)}
    for table, names in escaped.items():
        for name in names:
            connection.exec_driver_sql(
                f"UPDATE {table} SET {name} = replace({name}, char(65535), char(65535) || char(65535)) "
                f"WHERE instr({name}, char(65535)) > 0"
            )
    if connection.exec_driver_sql("SELECT 1 FROM files WHERE instr(path, char(65535)) > 0 LIMIT 1").first():
        connection.exec_driver_sql("UPDATE files SET ft_seq = ? WHERE instr(path, char(65535)) > 0", (next_seq(session),))
    connection.exec_driver_sql("DELETE FROM pending")


def _add_formats(session: Session) -> None:
    """Schema 7: the date taken's time zone (on the file, beside taken_at), and the files the scan found but
    does not read."""
    from db.models import SkippedFile

    connection = session.connection()
    present = {row[1] for row in connection.exec_driver_sql("PRAGMA table_info(files)")}
    if "taken_zone" not in present:
        connection.exec_driver_sql("ALTER TABLE files ADD COLUMN taken_zone VARCHAR")
    Base.metadata.create_all(connection, tables=[Base.metadata.tables[SkippedFile.__tablename__]])
    # Dates are read as cameras write them now (GPSDateTime, CreateDate, offsets): the next index reads every
    # photo's metadata once more, headers only, as a schema-3 library's first run did.
    connection.exec_driver_sql("UPDATE files SET sidecars = NULL WHERE content_id IS NOT NULL")


def _add_root_identity(session: Session) -> None:
    """Schema 8: each root's folder identity, recorded by the next run of it (NULL until then)."""
    connection = session.connection()
    if "identity" not in {row[1] for row in connection.exec_driver_sql("PRAGMA table_info(roots)")}:
        connection.exec_driver_sql("ALTER TABLE roots ADD COLUMN identity VARCHAR")


# Ordered (version, step) pairs; a new schema version appends a step that upgrades in place.
MIGRATIONS: list[tuple[int, Callable[[Session], None]]] = [
    (1, _create_tables),
    (2, _add_image_embeddings),
    (3, _add_places),
    (4, _add_file_metadata),
    (5, _add_ocr),
    (6, _metadata_per_file),
    (7, _add_formats),
    (8, _add_root_identity),
]
