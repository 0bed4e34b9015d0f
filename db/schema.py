"""The data directory: where each file lives in it, the SQLite engine and its settings, schema migrations."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from platformdirs import user_data_dir
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from db.errors import CaptionaryError, DamagedCatalogError, NotIndexedError, SchemaTooNewError
from db.models import SCHEMA_VERSION, Base, Meta

DB_NAME = "captionary.db"
FULLTEXT_DIR = "fulltext"
THUMBNAIL_DIR = "thumbnails"
# How long a write waits for another process's write lock: the indexer's own writes wait long (its
# commits are short and it has nothing better to do); a person's edit waits briefly and says why.
WRITE_WAIT_SECONDS = 30


def platform_data_dir() -> Path:
    """Where a library lives when neither --data-dir nor $CAPTIONARY_DATA_DIR says (indexer/settings.py)."""
    return Path(user_data_dir("captionary", appauthor=False))


def thumbnail_path(directory: Path, content_hash: str) -> Path:
    return directory / content_hash[:2] / f"{content_hash}.jpg"


def meta_int(session: Session, key: str) -> int:
    row = session.get(Meta, key)
    return int(row.value) if row else 0


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


def open_engine(data_dir: Path, create: bool) -> tuple[Engine, bool]:
    """The catalog's engine and whether it is read-only; refuses a missing (unless `create`) or empty file."""
    db_path = data_dir / DB_NAME
    if not db_path.exists() and not create:
        raise NotIndexedError(f"No index in {data_dir}; run: captionary index PHOTO_FOLDER --data-dir {data_dir}")
    if db_path.exists() and db_path.stat().st_size == 0:
        raise DamagedCatalogError(
            f"The catalog at {db_path} is empty (0 bytes): restore it from a backup, or delete it to start a new library"
        )
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
    return engine, read_only


def damaged(db_path: Path, reason: str) -> DamagedCatalogError:
    return DamagedCatalogError(
        f"The catalog at {db_path} is damaged ({reason}): restore it from a backup, or move it away and "
        "run captionary index again to build a new one (captions are recomputed)"
    )


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


def _add_formats(session: Session) -> None:
    """Schema 6: the date taken's time zone, and the files the scan found but does not read."""
    connection = session.connection()
    present = {row[1] for row in connection.exec_driver_sql("PRAGMA table_info(contents)")}
    if "taken_zone" not in present:
        connection.exec_driver_sql("ALTER TABLE contents ADD COLUMN taken_zone VARCHAR")
    connection.exec_driver_sql(
        "CREATE TABLE IF NOT EXISTS skipped_files "
        "(path VARCHAR NOT NULL PRIMARY KEY, root VARCHAR NOT NULL, kind VARCHAR NOT NULL)"
    )
    connection.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_skipped_files_root ON skipped_files (root)")
    # Dates are read as cameras write them now (GPSDateTime, CreateDate, offsets): the next index reads every
    # photo's metadata once more, headers only, as a schema-3 library's first run did.
    connection.exec_driver_sql("UPDATE files SET sidecars = NULL WHERE content_id IS NOT NULL")


# Ordered (version, step) pairs; a new schema version appends a step that upgrades in place.
MIGRATIONS: list[tuple[int, Callable[[Session], None]]] = [
    (1, _create_tables),
    (2, _add_image_embeddings),
    (3, _add_places),
    (4, _add_file_metadata),
    (5, _add_ocr),
    (6, _add_formats),
]
