"""Catalogs as older captionary versions left them, made from today's: what the migrations must upgrade."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from db.schema import DB_NAME, FILE_METADATA


def as_schema_7(data_dir: Path) -> None:
    """What captionary 0.7 wrote: no identity of a root's folder (a root renamed could not be told from one unplugged)."""
    with sqlite3.connect(data_dir / DB_NAME) as connection:
        connection.execute("ALTER TABLE roots DROP COLUMN identity")
        connection.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")


def as_schema_6(data_dir: Path) -> None:
    """What captionary 0.6 wrote: no time zone beside the date taken, no record of the files a scan skipped; and
    what 0.7 lacked."""
    as_schema_7(data_dir)
    with sqlite3.connect(data_dir / DB_NAME) as connection:
        connection.execute("ALTER TABLE files DROP COLUMN taken_zone")
        connection.execute("DROP TABLE skipped_files")
        connection.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")


def as_schema_5(data_dir: Path) -> None:
    """What captionary 0.5 wrote: the file's metadata on its content (shared by byte-identical copies, the
    first path's winning), its keywords as tags of source `file` (taking over an auto-tag of the same word), and
    paths as they are (no name that is not UTF-8 could be stored); and what 0.6 lacked."""
    as_schema_6(data_dir)
    with sqlite3.connect(data_dir / DB_NAME) as connection:
        names = [name for name, _ in FILE_METADATA]
        for name, kind in FILE_METADATA:
            connection.execute(f"ALTER TABLE contents ADD COLUMN {name} {kind}")
        columns = ", ".join(names)
        connection.execute(
            f"UPDATE contents SET ({columns}) = (SELECT {columns} FROM files WHERE files.content_id = contents.id "
            "ORDER BY files.id LIMIT 1)"
        )
        connection.execute(
            "INSERT OR REPLACE INTO tags (content_id, tag, source) SELECT DISTINCT files.content_id, file_keywords.tag, "
            "'file' FROM file_keywords JOIN files ON files.id = file_keywords.file_id WHERE files.content_id IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM tags WHERE tags.content_id = files.content_id AND tags.tag = file_keywords.tag "
            "AND tags.source IN ('user', 'hidden'))"
        )
        connection.execute("DROP TABLE file_keywords")
        for table, columns in {"files": ("path", "root", "folder", "name", "sidecars"), "roots": ("path",)}.items():
            for column in columns:  # U+FFFF was stored as itself: it escapes nothing before schema 6
                connection.execute(f"UPDATE {table} SET {column} = replace({column}, char(65535, 65535), char(65535))")
        for name in names:
            connection.execute(f"ALTER TABLE files DROP COLUMN {name}")
        connection.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
