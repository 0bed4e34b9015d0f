"""What the app's filters select (folder, file type, tags, dates, places), as a Whoosh query."""

from __future__ import annotations

from pathlib import Path

from whoosh import query as wq

from db.columns import stored_path
from db.documents import CAMERA_NAME, DEFAULT_FIELDS, PLACE_NAME, fold_name, text_analyzer
from db.types import Filters


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
    if filters.stars:
        parts.append(wq.NumericRange("rating", filters.stars, 5))
    for words in filters.without:  # "beach without dogs": no photo holding the word where a search looks
        parts.append(wq.Not(words_query(words)))
    for names in filters.names:  # each as its field holds it
        terms = [
            words_query(name) if field == "words" else wq.Term(_NAME_FIELDS[field], fold_name(name) if field != "tag" else name)
            for field, name in names
        ]
        parts.append(terms[0] if len(terms) == 1 else wq.Or(terms))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else wq.And(parts)


_NAME_FIELDS = {"place": PLACE_NAME, "tag": "tag", "camera": CAMERA_NAME}


def _place_query(place: str) -> wq.Query:
    """Every word of the place name in the place field: "Kyoto, Japan" is a photo in Kyoto, Japan."""
    words = [token.text for token in text_analyzer()(place)]
    return wq.And([wq.Term("place", word) for word in words]) if words else wq.NullQuery


def words_query(words: str) -> wq.Query:
    """The words side by side in a field a search looks in: the photos holding them (Span.or_words), as
    db/vocabulary.py's holds() found that some do ("christmas eve" is no photo with "christmas" here and "eve" there)."""
    analysed = [token.text for token in text_analyzer()(words)]
    if not analysed:
        return wq.NullQuery
    camera = wq.Term(CAMERA_NAME, fold_name(words))  # a camera's name whole ("without the iphone")
    fields = [field for field in DEFAULT_FIELDS if field != CAMERA_NAME]
    if len(analysed) == 1:
        return wq.Or([*(wq.Term(field, analysed[0]) for field in fields), camera])
    phrases: list[wq.Query] = [wq.Phrase(field, analysed) for field in fields if field != "keywords"]
    return wq.Or([*phrases, wq.And([wq.Term("keywords", word) for word in analysed]), camera])  # keywords keep no positions
