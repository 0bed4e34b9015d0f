"""How the catalog keeps what the disk says about a file: any path, stored losslessly and shown legibly, and
any modification time.

A POSIX file name is bytes. Python decodes the bytes that are not UTF-8 (`café.jpg` written in Latin-1, common
on old archives and Samba shares) as lone surrogates (os.fsdecode), which open() turns back into the same
bytes; SQLite and Whoosh take UTF-8 only. So a path is stored with each lone surrogate written as U+FFFF and
its four hex digits (U+FFFF itself doubled), a mapping the catalog reverses on every read: code always sees
the real path, and opens the real bytes. A person sees display_text: U+FFFD where a byte could not be decoded.
"""

from __future__ import annotations

import os
import re

from sqlalchemy import Integer, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from db.records import storable_ns

ESCAPE = "\uffff"  # a noncharacter: no tool writes it in a file name, and a path that has it still round-trips
_TO_STORE = re.compile("[\ud800-\udfff\uffff]")
_STORED = re.compile("\uffff(\uffff|[0-9a-f]{4})")
_SURROGATE = re.compile("[\ud800-\udfff]")
# What SQLite's INTEGER holds; a file dated after 2262 or before 1677 (touch -d 2300-01-01) is kept at the edge.


def stored_path(path: str) -> str:
    """The path as the catalog (and the full-text index) keeps it: valid UTF-8, reversible by real_path."""
    if not _TO_STORE.search(path):
        return path
    return _TO_STORE.sub(lambda found: ESCAPE * 2 if found[0] == ESCAPE else f"{ESCAPE}{ord(found[0]):04x}", path)


def real_path(stored: str) -> str:
    """The path open() needs (lone surrogates for the bytes that are not UTF-8), from what stored_path made."""
    if ESCAPE not in stored:
        return stored
    return _STORED.sub(lambda found: ESCAPE if found[1] == ESCAPE else chr(int(found[1], 16)), stored)


def within(path: str, folder: str) -> bool:
    """Whether a path is the folder or inside it, both spelled the same way (real paths, say)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


# Direction overrides and isolates rearrange what follows them: "gnp.exe" after U+202E reads as "exe.png".
_DIRECTION_CONTROL = re.compile("[\u202a-\u202e\u2066-\u2069]")


def visible_direction_controls(text: str) -> str:
    """Where text is shown to a person (a terminal, the app): a direction control as its code, \\u202e."""
    return _DIRECTION_CONTROL.sub(lambda found: f"\\u{ord(found[0]):04x}", text)


def display_text(text: str) -> str:
    """Text fit to show or write as UTF-8 (the CLI, JSON, CSV, the app): an undecodable byte becomes U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


class PathText(TypeDecorator[str]):
    """A column of paths (or of file names): stored_path on the way in, real_path on the way out, also for
    the values a query compares with it."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else stored_path(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else real_path(value)


class Nanoseconds(TypeDecorator[int]):
    """A modification time in nanoseconds, clamped to what SQLite's INTEGER holds."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Dialect) -> int | None:
        return None if value is None else storable_ns(value)

    def process_result_value(self, value: int | None, dialect: Dialect) -> int | None:
        return value
