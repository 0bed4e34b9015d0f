"""What the app's filters select (folder, file type, tags, dates, places), as a Whoosh query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from whoosh import query as wq

from db.columns import stored_path
from db.documents import PLACE_NAME, text_analyzer


@dataclass(frozen=True)
class Filters:
    folder: str | None = None
    exts: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    places: tuple[str, ...] = ()  # any of these place names ("Japan", "Kyoto, Japan")
    # From the query's words (db/plain.py): each of these places, whole ("new york"), as the library names them.
    place_names: tuple[str, ...] = ()
    months: tuple[int, ...] = ()  # taken in one of these months, any year ("july", "summer")
    not_dates: tuple[tuple[date, date], ...] = ()  # taken outside each of these ranges (`-date:2019`)

    def has_dates(self) -> bool:
        return bool(self.date_from or self.date_to or self.months or self.not_dates)

    def is_empty(self) -> bool:
        return not (self.folder or self.exts or self.tags or self.places or self.place_names or self.has_dates())


def filter_query(filters: Filters) -> wq.Query | None:
    """Folder, type and tag filters as a Whoosh query; dates are filtered on the day column instead."""
    parts: list[wq.Query] = []
    if filters.folder:
        parts.append(wq.Term("folder", stored_path(str(Path(filters.folder)))))  # as ancestor_folders keeps it
    if filters.exts:
        parts.append(wq.Or([wq.Term("ext", ext.lower().lstrip(".")) for ext in filters.exts]))
    for tag in filters.tags:
        parts.append(wq.Term("tag", tag))
    places = [_place_query(place) for place in filters.places]
    if places:
        parts.append(wq.Or(places))
    parts.extend(wq.Term(PLACE_NAME, name) for name in filters.place_names)
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else wq.And(parts)


def _place_query(place: str) -> wq.Query:
    """Every word of the place name in the place field: "Kyoto, Japan" is a photo in Kyoto, Japan."""
    words = [token.text for token in text_analyzer()(place)]
    return wq.And([wq.Term("place", word) for word in words]) if words else wq.NullQuery
