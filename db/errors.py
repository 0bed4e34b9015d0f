"""Library errors whose message tells the user how to fix the problem, and how to tell a full disk from damage."""

import errno
import os
import shutil


class CaptionaryError(Exception):
    """Base class: front ends show str(error) as a one-line message."""

    exit_code = 1


class UsageError(CaptionaryError):
    """What a person typed (a caption, a tag, a root) cannot be used as typed: exit code 2, as for bad flags."""

    exit_code = 2


class QueryError(UsageError):
    """A search query that cannot be parsed."""


class SchemaTooNewError(CaptionaryError):
    pass


class IndexLockedError(CaptionaryError):
    pass


class NotIndexedError(CaptionaryError):
    pass


class ModelLoadError(CaptionaryError):
    """A model that cannot load; `reason` is the short why (the message adds how to fix it)."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


class BusyError(CaptionaryError):
    """Another process (an index run) holds the DB's write lock longer than this write may wait."""


class DamagedCatalogError(CaptionaryError):
    """The SQLite catalog cannot be read; the message says where it is and how to recover."""


class DamagedIndexError(CaptionaryError):
    """The Whoosh index cannot be read; it is derived from the catalog, so it can always be rebuilt."""

    def __init__(self, directory: object, error: BaseException) -> None:
        reason = " ".join(str(error).split()) or type(error).__name__
        super().__init__(
            f"The search index at {directory} is damaged ({type(error).__name__}: {reason}); rebuild it from the "
            "catalog: captionary rebuild-fulltext"
        )


FREE_SPACE = "free some space, then run the command again"  # what every full-disk message says to do


class DiskFullError(CaptionaryError):
    """The disk holding the library has no room: reads still work, writes wait for space."""


SQLITE_READONLY, SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_NOTADB = 8, 10, 11, 13, 26
FULL_DISK_BYTES = 1 << 20  # free space under this, with an I/O error, is a full disk


def sqlite_code(error: BaseException) -> int | None:
    """The primary SQLite result code of a driver error, as raised or as SQLAlchemy wraps it."""
    code = getattr(getattr(error, "orig", None) or error, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def disk_full(error: BaseException, directory: str | os.PathLike[str]) -> bool:
    """Whether an error means the disk under `directory` has no room left."""
    if isinstance(error, DiskFullError):
        return True
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    code = sqlite_code(error)
    if code == SQLITE_FULL:
        return True
    # SQLite reports a -shm file it cannot grow as an I/O error: only the free space tells the two apart.
    try:
        return code == SQLITE_IOERR and shutil.disk_usage(directory).free < FULL_DISK_BYTES
    except OSError:
        return False
