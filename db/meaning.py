"""Search by meaning: the word matches, the caption vectors and (when the library has them) the image vectors
gather the candidates of one query; db/ranking.py decides which are related and in what order."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from db.attributes import contradiction_check
from db.fulltext import FulltextIndex
from db.query import ParsedQuery
from db.ranking import (
    CANDIDATES,
    PIXEL_FLOOR,
    RELATED_FLOOR,
    close_mask,
    positions_in,
    rank_matches,
    reciprocal_rank_fusion,
    related_mask,
    top_rows,
)
from db.semantic import VectorIndex
from db.types import CAPTION_MEANING, PIXELS, RELATED, WORDS, Filters, Mode, Sort

Row = tuple[int, float, str, tuple[str, ...]]  # file id, score, WORDS | RELATED, signals


@dataclass(frozen=True)
class Found:
    """One page of rows, with the counts of both tiers."""

    page: list[Row]
    matches: int
    related: int
    terms: set[str]
    ids: np.ndarray  # every file id found, both tiers


@dataclass(frozen=True)
class Pixels:
    """The library's image vectors and how to embed a query's text into their space."""

    vectors: VectorIndex
    encode: Callable[[str], np.ndarray | None]  # None: the text tower cannot load here, so no pixel signal


@dataclass
class Side:
    """One vector space's view of a query: similarities, and which rows match, are eligible, are related."""

    ids: np.ndarray
    similarities: np.ndarray
    is_match: np.ndarray
    eligible: np.ndarray | None
    floor: float
    signal: str
    related: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    @classmethod
    def of(
        cls,
        vectors: VectorIndex,
        query: np.ndarray,
        match_ids: np.ndarray,
        filtered: np.ndarray | None,
        floor: float,
        signal: str,
    ) -> Side:
        eligible = None if filtered is None else vectors.mask_of(filtered)
        return cls(vectors.file_ids, vectors.scores(query), vectors.mask_of(match_ids), eligible, floor, signal)

    @staticmethod
    def query(vectors: VectorIndex, encode: Callable[[str], np.ndarray | None], words: str) -> np.ndarray | None:
        return encode(words) if len(vectors) else np.zeros(0, dtype=np.float32)  # no model loads for nothing

    @property
    def not_matched(self) -> np.ndarray:
        return ~self.is_match if self.eligible is None else ~self.is_match & self.eligible

    def related_ids(self) -> np.ndarray:
        return self.ids[self.related]

    def close_ids(self, file_ids: np.ndarray) -> set[int]:
        """Which of these ids are close to the query on this side (related, or a match that is close)."""
        rows = positions_in(self.ids, file_ids)
        rows = rows[rows >= 0]
        close = self.related[rows] | (self.is_match[rows] & close_mask(self.similarities, self.floor)[rows])
        return set(self.ids[rows[close]].tolist())


def meaning_search(
    fulltext: FulltextIndex,
    vectors: VectorIndex,
    encode: Callable[[str], np.ndarray],
    parsed: ParsedQuery,
    filters: Filters,
    offset: int,
    limit: int,
    mode: Mode,
    pixels: Pixels | None = None,
    captions: Callable[[Iterable[int]], dict[int, str]] | None = None,
) -> Found:
    """Hybrid: the matches (as keyword mode finds them, less those that contradict a plain query: db/attributes),
    then photos related by caption or pixels; semantic and visual: ranked by caption or by pixel similarity alone.

    Operators, quotes, fields and wildcards keep their boolean meaning: the vectors may reorder what the
    boolean query admits, never add to it. Filters apply before ranking. captions(ids) reads captions, for
    the photos of a query that describes something (none shown may contradict it)."""
    boolean, words, sort = not parsed.plain, parsed.words, parsed.sort
    needed = offset + limit
    bm25, match_ids, terms = fulltext.search(parsed, filters, 0, max(CANDIDATES, needed), sort=Sort.RELEVANCE)
    check = contradiction_check(words, captions) if captions is not None and not boolean else None
    if check is not None and len(match_ids):  # "a yellow square on a purple background" is no purple square
        match_ids = match_ids[~np.asarray(check(match_ids.tolist()), dtype=bool)]
        kept = set(match_ids.tolist())
        bm25 = [row for row in bm25 if row[0] in kept]
    filtered = None if filters.is_empty() else fulltext.matching_fids(None, filters)
    caption_query = Side.query(vectors, encode, words)
    assert caption_query is not None
    sides = [Side.of(vectors, caption_query, match_ids, filtered, RELATED_FLOOR, CAPTION_MEANING)]
    pixel_query = Side.query(pixels.vectors, pixels.encode, words) if pixels is not None else None
    if pixels is not None and pixel_query is not None:
        sides.append(Side.of(pixels.vectors, pixel_query, match_ids, filtered, PIXEL_FLOOR, PIXELS))
    for side in sides:
        contradicts = None if check is None else _rows_check(check, side.ids)
        if boolean:
            side.related = np.zeros(len(side.ids), dtype=bool)
        elif side.signal == PIXELS:  # pixels hold no words: the partial-word check is for captions
            side.related = related_mask(side.similarities, side.not_matched, None, side.floor, contradicts)
        else:
            side.related = related_mask(
                side.similarities,
                side.not_matched,
                lambda rows: fulltext.hold_some_words(parsed.analysed, sides[0].ids[rows]),
                contradicts=contradicts,
            )
    if mode in (Mode.SEMANTIC, Mode.VISUAL):
        found = _by_similarity(fulltext, sides[-1] if mode is Mode.VISUAL else sides[0], sort, offset, needed, terms)
    else:
        bm25_ids = [file_id for file_id, _ in bm25]
        found = _two_tiers(fulltext, sides, bm25_ids, match_ids, parsed.pairs, sort, offset, needed, terms)
    return _with_signals(found, sides, match_ids)


def _rows_check(check: Callable[[Iterable[int]], list[bool]], ids: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    return lambda rows: np.asarray(check(ids[rows].tolist()), dtype=bool)


def _by_similarity(fulltext: FulltextIndex, side: Side, sort: Sort, offset: int, needed: int, terms: set[str]) -> Found:
    # A word match is evidence too: these modes rank the hybrid set of one side by its similarity alone.
    admitted = side.is_match | side.related
    if sort is not Sort.RELEVANCE:
        rows = _by_date(fulltext, side.ids, np.flatnonzero(admitted), sort)[offset:needed]
    else:
        rows = top_rows(side.similarities, admitted, needed)[offset:]
    page: list[Row] = [
        (int(side.ids[row]), float(side.similarities[row]), WORDS if side.is_match[row] else RELATED, ()) for row in rows
    ]
    return Found(page, int(side.is_match.sum()), int(side.related.sum()), terms, side.ids[admitted])


def _two_tiers(
    fulltext: FulltextIndex,
    sides: list[Side],
    bm25: list[int],
    match_ids: np.ndarray,
    pairs: tuple[str, ...],
    sort: Sort,
    offset: int,
    needed: int,
    terms: set[str],
) -> Found:
    caption = sides[0]
    related_ids = caption.related_ids()
    for side in sides[1:]:
        related_ids = np.union1d(related_ids, side.related_ids())
    wanted = max(0, needed - len(match_ids))
    if sort is not Sort.RELEVANCE:
        matches = [(int(file_id), 0.0) for file_id in _ids_by_date(fulltext, match_ids, sort)[:needed]]
        related = [(int(file_id), 0.0) for file_id in _ids_by_date(fulltext, related_ids, sort)[:wanted]]
    else:
        by_similarity = caption.ids[top_rows(caption.similarities, caption.is_match, max(CANDIDATES, needed))].tolist()
        matches = rank_matches(bm25, by_similarity, fulltext.adjacency(pairs))
        rows = [top_rows(side.similarities, side.related, wanted) for side in sides]
        if len(sides) == 1:
            related = [(int(caption.ids[row]), float(caption.similarities[row])) for row in rows[0]]
        else:  # captions and pixels each rank their related photos; fusion interleaves the two lists
            related = reciprocal_rank_fusion(*(side.ids[side_rows].tolist() for side, side_rows in zip(sides, rows)))
    results: list[Row] = [(file_id, score, WORDS, ()) for file_id, score in matches]
    results += [(file_id, score, RELATED, ()) for file_id, score in related[:wanted]]
    return Found(results[offset:needed], len(match_ids), len(related_ids), terms, np.union1d(match_ids, related_ids))


def _with_signals(found: Found, sides: list[Side], match_ids: np.ndarray) -> Found:
    """Say for each row of the page which signals found it: its words, its caption's meaning, its pixels."""
    page_ids = np.array([row[0] for row in found.page], dtype=np.int64)
    matched = set(np.intersect1d(page_ids, match_ids).tolist())
    close = [(side.signal, side.close_ids(page_ids)) for side in sides]
    page = [
        (file_id, score, tier, tuple([WORDS] * (file_id in matched) + [name for name, ids in close if file_id in ids]))
        for file_id, score, tier, _ in found.page
    ]
    return Found(page, found.matches, found.related, found.terms, found.ids)


def _ids_by_date(fulltext: FulltextIndex, file_ids: np.ndarray, sort: Sort) -> np.ndarray:
    return file_ids[_by_date(fulltext, file_ids, np.arange(len(file_ids)), sort)]


def _by_date(fulltext: FulltextIndex, ids: np.ndarray, rows: np.ndarray, sort: Sort) -> np.ndarray:
    """The rows by the date and time their ids were taken; equal moments keep their order."""
    moments = fulltext.moments_of(ids[rows])
    return rows[np.argsort(moments if sort is Sort.DATE_ASC else -moments, kind="stable")]
