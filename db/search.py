"""One search: the full-text index and the caption vectors gather the candidates, db/ranking orders them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from db.errors import NotIndexedError
from db.fulltext import Filters, FulltextIndex
from db.query import is_plain, parse_query, semantic_text
from db.ranking import CANDIDATES, Mode, Sort, parse_mode, parse_sort, rank_matches, related_mask, top_rows
from db.reads import ImageRecord, images
from db.semantic import VectorIndex, has_embeddings
from db.sync import ensure_fulltext

if TYPE_CHECKING:  # pragma: no cover
    from db.store import Store

WORDS, RELATED = "words", "related"


@dataclass(frozen=True)
class SearchHit:
    image: ImageRecord
    score: float
    match: str = WORDS  # WORDS: the query's words match; RELATED: by meaning only (db/ranking.py)


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    total: int  # matches and related photos together
    terms: set[str]
    seconds: float
    mode: str = "keyword"
    related: int = 0  # how many of `total` are related photos (they come after every match)

    @property
    def matches(self) -> int:
        return self.total - self.related


def search(
    store: Store,
    text: str,
    filters: Filters = Filters(),
    sort: str = "relevance",
    offset: int = 0,
    limit: int = 20,
    mode: str = "auto",
) -> SearchPage:
    """Whoosh (and the caption vectors) find ids; the rows come from SQLite, so a deleted path is never shown.

    mode: keyword, semantic, hybrid (db/ranking.py says what each does), or auto: hybrid when the store
    has embeddings for its embedder, else keyword."""
    started = time.perf_counter()
    chosen_sort = parse_sort(sort)
    if not ensure_fulltext(store):
        raise NotIndexedError(f"No search index in {store.data_dir}; run: captionary rebuild-fulltext")
    chosen = resolve_mode(store, mode)
    found: Found
    if chosen is Mode.KEYWORD or not text.strip():
        found, chosen = keyword_search(store.fulltext, text, filters, chosen_sort, offset, limit), Mode.KEYWORD
    else:
        found = meaning_search(
            store.fulltext, store.vectors(), store.encode_query, text, filters, chosen_sort, offset, limit, chosen
        )
    rows = images(store, [file_id for file_id, _, _ in found.page])
    hits = [SearchHit(rows[file_id], score, match) for file_id, score, match in found.page if file_id in rows]
    return SearchPage(
        hits, found.matches + found.related, found.terms, time.perf_counter() - started, chosen.value, found.related
    )


def resolve_mode(store: Store, mode: str) -> Mode:
    if mode == "auto":
        return Mode.HYBRID if has_embeddings(store) else Mode.KEYWORD
    chosen = parse_mode(mode)
    if chosen is not Mode.KEYWORD and not has_embeddings(store):
        raise NotIndexedError(f"No caption embeddings for {chosen.value} search yet; run: captionary reembed")
    return chosen


@dataclass(frozen=True)
class Found:
    """One page of (file id, score, WORDS | RELATED), with the counts of both tiers."""

    page: list[tuple[int, float, str]]
    matches: int
    related: int
    terms: set[str]


def keyword_search(fulltext: FulltextIndex, text: str, filters: Filters, sort: Sort, offset: int, limit: int) -> Found:
    page, total, terms = fulltext.search(text, filters, sort.value, offset, limit)
    return Found([(file_id, score, WORDS) for file_id, score in page], total, 0, terms)


def meaning_search(
    fulltext: FulltextIndex,
    vectors: VectorIndex,
    encode: Callable[[str], np.ndarray],
    text: str,
    filters: Filters,
    sort: Sort,
    offset: int,
    limit: int,
    mode: Mode,
) -> Found:
    """Hybrid: the matches (as keyword mode finds them), then related photos; semantic: ranked by meaning.

    Operators, quotes, fields and wildcards keep their boolean meaning: the vectors may reorder what the
    boolean query admits, never add to it. Filters apply before ranking."""
    query = parse_query(text, fulltext.schema)  # parsing validates it
    boolean = not is_plain(text)
    needed = offset + limit
    depth = max(CANDIDATES, needed)
    # The count comes from the full match list below, not from Whoosh (a second pass over every match).
    bm25, _, terms = fulltext.search(text, filters, Sort.RELEVANCE.value, 0, depth, count=False)
    match_ids = fulltext.matching_fids(query, filters)
    match_count = len(match_ids)
    is_match = vectors.mask_of(match_ids)
    eligible = None if filters.is_empty() else vectors.mask_of(fulltext.matching_fids(None, filters))
    similarities = vectors.scores(encode(semantic_text(text) or text))
    ids = vectors.file_ids

    def some_words(rows: np.ndarray) -> np.ndarray:
        return fulltext.hold_some_words(text, ids[rows])

    not_matched = ~is_match if eligible is None else ~is_match & eligible
    related = np.zeros(len(ids), dtype=bool) if boolean else related_mask(similarities, not_matched, some_words)

    if mode is Mode.SEMANTIC:
        # A word match is evidence of meaning too: semantic mode ranks the hybrid set by similarity alone.
        admitted = is_match | related
        if sort is not Sort.RELEVANCE:
            rows = _by_date(fulltext, ids, np.flatnonzero(admitted), sort)[offset:needed]
        else:
            rows = top_rows(similarities, admitted, needed)[offset:]
        page = [(int(ids[row]), float(similarities[row]), WORDS if is_match[row] else RELATED) for row in rows]
        return Found(page, int(is_match.sum()), int(related.sum()), terms)

    related_count = int(related.sum())
    if sort is not Sort.RELEVANCE:
        ordered_matches = [(int(file_id), 0.0) for file_id in _ids_by_date(fulltext, match_ids, sort)[:needed]]
        related_rows = _by_date(fulltext, ids, np.flatnonzero(related), sort)
    else:
        by_similarity = ids[top_rows(similarities, is_match, depth)].tolist()
        ordered_matches = rank_matches([file_id for file_id, _ in bm25], by_similarity, fulltext.adjacency(text))
        related_rows = top_rows(similarities, related, max(0, needed - match_count))
    results = [(file_id, score, WORDS) for file_id, score in ordered_matches]
    results += [
        (int(ids[row]), 0.0 if sort is not Sort.RELEVANCE else float(similarities[row]), RELATED)
        for row in related_rows[: max(0, needed - match_count)]
    ]
    return Found(results[offset:needed], match_count, related_count, terms)


def _ids_by_date(fulltext: FulltextIndex, file_ids: np.ndarray, sort: Sort) -> np.ndarray:
    days = fulltext.days_of(file_ids)
    return file_ids[np.argsort(days if sort is Sort.DATE_ASC else -days, kind="stable")]


def _by_date(fulltext: FulltextIndex, ids: np.ndarray, rows: np.ndarray, sort: Sort) -> np.ndarray:
    days = fulltext.days_of(ids[rows])
    return rows[np.argsort(days if sort is Sort.DATE_ASC else -days, kind="stable")]
