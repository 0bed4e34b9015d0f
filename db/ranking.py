"""How search results are chosen and ordered: modes, sorts, the related-photo rule, fusion and tiers.

The default search returns two tiers. *Matches* are the photos whose words (caption, tags, folder and file
names) match the query as keyword mode does; they are ordered by adjacency of the query's words, then by
BM25 fused with caption similarity. *Related* photos match by meaning only and come after every match,
admitted by `related_mask`. This module is pure: the Store gathers the lists and similarities and calls it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

# A photo is *related* to a query when its caption is both close in absolute terms and far above what
# the query's similarity is to this library's typical caption. Chosen with `bench/search_quality.py
# --sweep` on three unlike libraries (varied scenes, one-subject shapes, a beach holiday):
# - The z-score (median and MAD of the query's similarity with the whole library) adapts to the library:
#   in a library of one subject every caption is close to every on-subject query, so a fixed floor
#   returned all of it; with the z-score, only what stands out from the library is related.
# - The absolute floor stops queries about nothing in the library: off-topic queries reach at most 0.26
#   with any caption of the evaluation libraries, while a one-word synonym with a sentence is often
#   just above 0.3 ("puppy" vs "a dog sleeping on a couch").
# - A caption that shares a word with the query but lacks the others is lifted by that word alone ("red
#   car" vs "a red beach umbrella" 0.32), so it needs the higher PARTIAL_FLOOR.
RELATED_FLOOR = 0.28
PARTIAL_FLOOR = 0.40
RELATED_Z = 2.0
# How deep each list goes before fusion: RRF weight at rank 200 is a quarter of rank 1's.
CANDIDATES = 200
RRF_K = 60  # reciprocal rank fusion constant (Cormack et al. 2009); ranks beyond ~60 weigh little
# Text-to-photo cosines of a CLIP-family model live in a lower range than MiniLM's caption cosines, so the
# pixels get their own floor; the z-score rule is shared. PROVISIONAL: CLIP ViT-B/32 puts a matching
# text-photo pair around 0.25-0.35 and unrelated ones around 0.10-0.20, but no CLIP weights exist on the
# machine this was written on, so this floor has not been swept like RELATED_FLOOR (docs/search.md, Search by pixels).
PIXEL_FLOOR = 0.22
SPREAD_SAMPLE = 20_000  # rows sampled for the library's median and spread: a strided sample is exact enough


def library_spread(similarities: np.ndarray) -> tuple[float, float]:
    """Median and robust standard deviation (1.4826 MAD) of a query's similarity with the library."""
    if not len(similarities):
        return 0.0, 1.0
    step = max(1, len(similarities) // SPREAD_SAMPLE)
    sample = similarities[::step]
    median = float(np.median(sample))
    spread = float(np.median(np.abs(sample - median))) * 1.4826
    return median, max(spread, 1e-6)


def close_mask(similarities: np.ndarray, floor: float = RELATED_FLOOR) -> np.ndarray:
    """Rows close to the query both in absolute terms and against this library's typical row."""
    median, spread = library_spread(similarities)
    return (similarities >= floor) & ((similarities - median) / spread >= RELATED_Z)


def related_mask(
    similarities: np.ndarray,
    eligible: np.ndarray | None = None,
    hold_some_words: Callable[[np.ndarray], np.ndarray] | None = None,
    floor: float = RELATED_FLOOR,
    contradicts: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Rows whose caption (or, with floor=PIXEL_FLOOR, pixels) are close enough to show without a word match.

    hold_some_words(rows) says which of those rows hold some of the query's words (but not all: those
    are matches); it is asked only about the rows the higher PARTIAL_FLOOR would drop. contradicts(rows)
    says which captions give a thing the query describes another value ("an orange square" for `purple
    square`, db/attributes.py): never related, however close, since the person said otherwise."""
    mask = close_mask(similarities, floor)
    if eligible is not None:
        mask &= eligible
    if hold_some_words is not None:
        doubtful = np.flatnonzero(mask & (similarities < PARTIAL_FLOOR))
        if len(doubtful):
            mask[doubtful[hold_some_words(doubtful)]] = False
    if contradicts is not None:
        rows = np.flatnonzero(mask)
        if len(rows):
            mask[rows[contradicts(rows)]] = False
    return mask


def reciprocal_rank_fusion(*rankings: Sequence[int], k: int = RRF_K) -> list[tuple[int, float]]:
    """Fuse ranked id lists: each id scores sum(1 / (k + rank)); best first."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda pair: (-pair[1], pair[0]))


def rank_matches(
    bm25: Sequence[int], by_similarity: Sequence[int], adjacency: dict[int, int] | None = None
) -> list[tuple[int, float]]:
    """Matches best first: more of the query's words side by side in the caption ("a red circle" above
    "a black circle on a red background"), then BM25 and caption similarity fused."""
    fused = reciprocal_rank_fusion(bm25, by_similarity)
    if adjacency:
        fused.sort(key=lambda pair: -adjacency.get(pair[0], 0))  # stable: fusion order within a level
    return fused


def positions_in(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """For each id, its position in `sorted_ids`, or -1 where it is absent (a binary search each)."""
    if not len(sorted_ids):
        return np.full(len(ids), -1, dtype=np.int64)
    positions = np.clip(np.searchsorted(sorted_ids, ids), 0, len(sorted_ids) - 1)
    return np.where(sorted_ids[positions] == ids, positions, -1)


def top_rows(similarities: np.ndarray, mask: np.ndarray, k: int) -> np.ndarray:
    """Row numbers of the k most similar rows the mask admits, best first."""
    rows = np.flatnonzero(mask)
    if len(rows) > k:
        rows = rows[np.argpartition(-similarities[rows], k - 1)[:k]]
    return rows[np.argsort(-similarities[rows], kind="stable")]
