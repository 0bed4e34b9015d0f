"""What a library holds, as db/plain.py asks it: place names, a person's keywords, words, dates. Answered from
the full-text index alone (its word lists and day column), so it follows whatever the catalog writes there."""

from __future__ import annotations

from datetime import date

from whoosh import query as wq

from db.documents import CAMERA_NAME, PLACE_NAME, fold_name
from db.fulltext import FulltextIndex
from db.query import words_analyzer
from db.types import Filters

# Where a word counts as held by the library besides a place, a keyword or a camera: what the photo shows and
# what its files are called. The fields of those are what is being told apart, so they are left out.
HELD_FIELDS = ("caption", "file", "description", "text")


class IndexVocabulary:
    """Looks words up in one searcher's lists: a handful of term lookups a query."""

    def __init__(self, fulltext: FulltextIndex, searcher) -> None:
        self.fulltext, self.searcher, self.reader = fulltext, searcher, searcher.reader()

    def _has(self, field: str, term: str) -> bool:
        """A photo holds the term. Whoosh's word list keeps the terms of a photo's old record (a keyword since
        removed) until its segment is merged; its postings skip the deleted records."""
        with self.fulltext.damage_named():
            if field not in self.reader.schema or (field, term) not in self.reader:
                return False
            return bool(self.reader.postings(field, term).is_active())

    def place(self, name: str) -> bool:
        return self._has(PLACE_NAME, fold_name(name))

    def keyword(self, name: str) -> bool:
        """A tag whose words are all a person's keywords' (auto-tags are caption words, not keywords)."""
        words = _words(name)
        return bool(words) and self._has("tag", name) and all(self._has("keywords", word) for word in words)

    def camera(self, name: str) -> bool:
        return self._has(CAMERA_NAME, fold_name(name))

    def holds(self, words: str) -> bool:
        analysed = _words(words)
        if not analysed:
            return False
        if len(analysed) == 1:
            return any(self._has(field, analysed[0]) for field in HELD_FIELDS)
        phrases = [wq.Phrase(field, analysed) for field in HELD_FIELDS if field in self.reader.schema]
        with self.fulltext.damage_named():
            return next(iter(self.searcher.docs_for_query(wq.Or(phrases))), None) is not None

    def taken_in(self, first: date, last: date) -> bool:
        with self.fulltext.damage_named():
            return bool(self.fulltext.columns(self.searcher).date_mask(Filters(date_from=first, date_to=last)).any())


def _words(text: str) -> list[str]:
    return [token.text for token in words_analyzer()(text)]
