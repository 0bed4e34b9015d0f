"""One search: the full-text index and the caption vectors gather the candidates, db/ranking orders them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from db.errors import DamagedIndexError, ModelLoadError, NotIndexedError
from db.fulltext import FulltextIndex
from db.meaning import Found, Pixels, meaning_search
from db.plain import understand
from db.query import date_terms
from db.reads import captions, images
from db.semantic import VectorIndex, has_embeddings, has_image_embeddings
from db.sync import ensure_fulltext, repair_fulltext
from db.types import WORDS, Filters, Mode, SearchHit, SearchPage, Sort, Understood, parse_mode, parse_sort
from db.vocabulary import IndexVocabulary

if TYPE_CHECKING:  # pragma: no cover
    from db.store import Store


def search(
    store: Store,
    text: str,
    filters: Filters = Filters(),
    sort: str = "relevance",
    offset: int = 0,
    limit: int = 20,
    mode: str = "auto",
    today: date | None = None,
    literal: frozenset[str] = frozenset(),
) -> SearchPage:
    """Whoosh (and the caption vectors) find ids; the rows come from SQLite, so a deleted path is never shown.

    mode: keyword, semantic, hybrid (db/ranking.py says what each does), or auto: hybrid when the store
    has embeddings for its embedder, else keyword. Except in keyword mode, plain words that name a time, a
    place or a person's keyword are read as such (db/plain.py), against `today`; `literal` lists the
    readings (by their words) not to make. A damaged full-text index is rebuilt from the catalog and the
    search run again; one that cannot be rebuilt now (read-only, full disk, an index run busy) is named."""
    arguments = (store, text, filters, sort, offset, limit, mode, today, literal)
    try:
        return _search(*arguments)
    except DamagedIndexError:
        if not repair_fulltext(store):
            raise
    return _search(*arguments)


def _search(
    store: Store,
    text: str,
    filters: Filters,
    sort: str,
    offset: int,
    limit: int,
    mode: str,
    today: date | None,
    literal: frozenset[str],
) -> SearchPage:
    started = time.perf_counter()
    chosen_sort = parse_sort(sort)
    if not ensure_fulltext(store):
        raise NotIndexedError(f"No search index in {store.data_dir}; run: captionary rebuild-fulltext")
    chosen = resolve_mode(store, mode)
    text, filters = _with_date_terms(text, filters)
    understood = Understood(text)
    if mode != Mode.KEYWORD.value:
        with store.fulltext.searcher() as searcher:
            vocabulary = IndexVocabulary(store.fulltext, searcher)
            understood = understand(text, vocabulary, today or date.today(), literal)
        text, filters = understood.text, understood.narrow(filters)
    found: Found
    if chosen is Mode.KEYWORD or not text.strip():
        found, chosen = keyword_search(store.fulltext, text, filters, chosen_sort, offset, limit), Mode.KEYWORD
    else:
        pixels = Pixels(store.image_vectors(), _pixel_encoder(store, chosen)) if has_image_embeddings(store) else None
        vectors = store.vectors() if chosen is not Mode.VISUAL or has_embeddings(store) else VectorIndex("")
        found = meaning_search(
            store.fulltext,
            vectors,
            store.encode_query,
            text,
            filters,
            chosen_sort,
            offset,
            limit,
            chosen,
            pixels,
            lambda file_ids: captions(store, file_ids),
        )
    rows = images(store, [file_id for file_id, _, _, _ in found.page])
    hits = [SearchHit(rows[file_id], score, match, signals) for file_id, score, match, signals in found.page if file_id in rows]
    return SearchPage(
        hits, found.matches + found.related, found.terms, time.perf_counter() - started, chosen.value, found.related, understood
    )


def _with_date_terms(text: str, filters: Filters) -> tuple[str, Filters]:
    """`date:` terms become the date filter (both bounds apply when the app's filter is set too); `-date:`
    ranges are left out."""
    terms = date_terms(text)
    filters = replace(filters, not_dates=(*filters.not_dates, *terms.excluded))
    if terms.first is None:
        return terms.text, filters
    assert terms.last is not None
    date_from = terms.first if filters.date_from is None else max(terms.first, filters.date_from)
    date_to = terms.last if filters.date_to is None else min(terms.last, filters.date_to)
    return terms.text, replace(filters, date_from=date_from, date_to=date_to)


def _pixel_encoder(store: Store, mode: Mode) -> Callable[[str], np.ndarray | None]:
    def encode(text: str) -> np.ndarray | None:
        try:
            return store.encode_image_query(text)
        except ModelLoadError:
            if mode is Mode.VISUAL:
                raise
            return None  # the model that made the image vectors cannot load here: words and captions still work

    return encode


def resolve_mode(store: Store, mode: str) -> Mode:
    if mode == "auto":
        return Mode.HYBRID if has_embeddings(store) else Mode.KEYWORD
    chosen = parse_mode(mode)
    if chosen is Mode.VISUAL:
        if not has_image_embeddings(store):
            raise NotIndexedError("No image embeddings for visual search yet; run: captionary reembed --images")
        return chosen
    if chosen is not Mode.KEYWORD and not has_embeddings(store):
        raise NotIndexedError(f"No caption embeddings for {chosen.value} search yet; run: captionary reembed")
    return chosen


def keyword_search(fulltext: FulltextIndex, text: str, filters: Filters, sort: Sort, offset: int, limit: int) -> Found:
    page, total, terms = fulltext.search(text, filters, sort.value, offset, limit)
    return Found([(file_id, score, WORDS, (WORDS,)) for file_id, score in page], total, 0, terms)
