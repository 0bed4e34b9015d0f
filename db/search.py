"""One search: the full-text index and the caption vectors gather the candidates, db/ranking orders them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date

import numpy as np

from db.embedders import Embedders
from db.errors import CaptionaryError, DamagedIndexError, ModelLoadError, NotIndexedError
from db.fulltext import FulltextIndex
from db.meaning import Found, Pixels, meaning_search
from db.plain import understand
from db.query import ParsedQuery, as_meant, refuse_unreadable, without_question_mark
from db.query_dates import date_terms
from db.reads import captions, images
from db.schema import Sessions
from db.semantic import VectorIndex
from db.sync import FulltextSync
from db.tag_facets import TagMatrix
from db.types import WORDS, Filters, Mode, SearchHit, SearchPage, Understood, parse_mode, parse_sort
from db.vocabulary import IndexVocabulary


class Search:
    """Searches of one library: its catalog (the rows shown), its full-text index kept in step, its embedders."""

    def __init__(
        self, sessions: Sessions, sync: FulltextSync, embedders: Embedders, tag_matrix: Callable[[Sessions], TagMatrix]
    ) -> None:
        self.sessions, self.sync, self.embedders = sessions, sync, embedders
        self.fulltext: FulltextIndex = sync.fulltext
        self.tag_matrix = tag_matrix  # which photo carries which tag, as of the catalog's last change

    def run(
        self,
        text: str,
        filters: Filters = Filters(),
        sort: str = "relevance",
        offset: int = 0,
        limit: int = 20,
        mode: str = "auto",
        today: date | None = None,
        literal: frozenset[str] = frozenset(),
        tags: int = 0,
    ) -> SearchPage:
        """Whoosh (and the caption vectors) find ids; the rows come from SQLite, so a deleted path is never shown.

        mode: keyword, semantic, hybrid (db/ranking.py says what each does), or auto: hybrid when the library
        has embeddings for its embedder, else keyword. Except in keyword mode, plain words that name a time, a
        place or a person's keyword are read as such (db/plain.py), against `today`; `literal` lists the
        readings (by their words) not to make; `tags`, how many of the tags the photos found carry most to give
        (SearchPage.tags). A damaged full-text index is rebuilt from the catalog and the
        search run again; one that cannot be rebuilt now (read-only, full disk, an index run busy) is named."""
        arguments = (text, filters, sort, offset, limit, mode, today, literal, tags)
        try:
            return self._run(*arguments)
        except DamagedIndexError:
            if not self.sync.repair():
                raise
        return self._run(*arguments)

    def _run(
        self,
        text: str,
        filters: Filters,
        sort: str,
        offset: int,
        limit: int,
        mode: str,
        today: date | None,
        literal: frozenset[str],
        tags: int,
    ) -> SearchPage:
        started = time.perf_counter()
        refuse_unreadable(text)  # before the plain words are read: they may shorten a query of 20,000 years
        text = without_question_mark(as_meant(text))
        chosen_sort = parse_sort(sort)
        if not self.sync.ensure():
            raise NotIndexedError(f"No search index in {self.sync.data_dir}; run: captionary rebuild-fulltext")
        chosen = self.resolve_mode(mode)
        text, filters = _with_date_terms(text, filters)
        understood = Understood(text)
        if mode != Mode.KEYWORD.value:
            with self.fulltext.searcher() as searcher:
                understood = _understood(text, IndexVocabulary(self.fulltext, searcher), today or date.today(), literal)
            text, filters = understood.text, understood.narrow(filters)
        parsed = ParsedQuery.of(text, chosen_sort, self.fulltext.schema)  # the one parse of this search
        found: Found
        # Nothing to embed (`date:2019 OR date:2020`, `-park`, `*`): the words' meaning cannot rank, the match does.
        if chosen is Mode.KEYWORD or not parsed.words:
            found, chosen = keyword_search(self.fulltext, parsed, filters, offset, limit), Mode.KEYWORD
        else:
            embedders = self.embedders
            has_images = embedders.has_image_embeddings()
            pixels = Pixels(embedders.image_vectors(), _pixel_encoder(embedders, chosen)) if has_images else None
            use_captions = chosen is not Mode.VISUAL or embedders.has_embeddings()
            found = meaning_search(
                self.fulltext,
                embedders.vectors() if use_captions else VectorIndex(""),
                embedders.encode_query,
                parsed,
                filters,
                offset,
                limit,
                chosen,
                pixels,
                lambda file_ids: captions(self.sessions, file_ids),
            )
        rows = images(self.sessions, [file_id for file_id, _, _, _ in found.page])
        hits = [SearchHit(rows[i], score, match, signals) for i, score, match, signals in found.page if i in rows]
        total = found.matches + found.related
        carried = self.tag_matrix(self.sessions).counts(found.ids, tags) if tags else []
        seconds = time.perf_counter() - started
        return SearchPage(hits, total, found.terms, seconds, chosen.value, found.related, understood, carried)

    def resolve_mode(self, mode: str) -> Mode:
        if mode == "auto":
            return Mode.HYBRID if self.embedders.has_embeddings() else Mode.KEYWORD
        chosen = parse_mode(mode)
        if chosen is Mode.VISUAL:
            if not self.embedders.has_image_embeddings():
                raise self.embedders.no_image_vectors("No image embeddings for visual search yet")
            return chosen
        if chosen is not Mode.KEYWORD and not self.embedders.has_embeddings():
            raise NotIndexedError(f"No caption embeddings for {chosen.value} search yet; run: captionary reembed")
        return chosen


def _with_date_terms(text: str, filters: Filters) -> tuple[str, Filters]:
    """Top-level `date:` terms become the date filter (both bounds apply when the app's filter is set too); `-date:`
    ranges are left out. Date terms inside OR or a group stay in the text: the parser reads them in place."""
    terms = date_terms(text)
    filters = replace(filters, not_dates=(*filters.not_dates, *terms.excluded))
    if terms.first is None:
        return terms.text, filters
    assert terms.last is not None
    date_from = terms.first if filters.date_from is None else max(terms.first, filters.date_from)
    date_to = terms.last if filters.date_to is None else min(terms.last, filters.date_to)
    return terms.text, replace(filters, date_from=date_from, date_to=date_to)


def _pixel_encoder(embedders: Embedders, mode: Mode) -> Callable[[str], np.ndarray | None]:
    def encode(text: str) -> np.ndarray | None:
        try:
            return embedders.encode_image_query(text)
        except ModelLoadError:
            if mode is Mode.VISUAL:
                raise
            return None  # the model that made the image vectors cannot load here: words and captions still work

    return encode


def keyword_search(fulltext: FulltextIndex, parsed: ParsedQuery, filters: Filters, offset: int, limit: int) -> Found:
    page, matches, terms = fulltext.search(parsed, filters, offset, limit)
    return Found([(file_id, score, WORDS, (WORDS,)) for file_id, score in page], len(matches), 0, terms, matches)


def _understood(text: str, vocabulary: IndexVocabulary, today: date, literal: frozenset[str]) -> Understood:
    """The plain words read, or the words as typed where reading them fails: a reading this code gets wrong
    must neither stop the search nor, raised inside the searcher, be called damage to the index (the
    vocabulary's own reads of the index name that themselves)."""
    try:
        return understand(text, vocabulary, today, literal)
    except CaptionaryError:
        raise
    except Exception:
        return Understood(text)
