"""Library errors whose message tells the user how to fix the problem."""


class CaptionaryError(Exception):
    """Base class: front ends show str(error) as a one-line message."""

    exit_code = 1


class QueryError(CaptionaryError):
    """A search query that cannot be parsed (a usage error: exit code 2)."""

    exit_code = 2


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
