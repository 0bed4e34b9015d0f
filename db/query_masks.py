"""Which documents a boolean query admits, as a numpy mask over docnums: AND, OR and NOT of the words' postings
combined as arrays. Whoosh lists a NOT by stepping its inverse through every document in Python, and an AND by
listing both sides whole; a mask costs the words' postings (docs/performance.md: `NOT dog`, `dog NOT beach`)."""

from __future__ import annotations

import numpy as np
from whoosh import query as wq


def admitted(searcher, query: wq.Query, live: np.ndarray) -> np.ndarray:
    """Whether each document (index = docnum) matches the query; deleted documents never do."""
    if isinstance(query, wq.Every) and not query.fieldname:
        return live.copy()
    if isinstance(query, wq.Not):
        return live & ~admitted(searcher, query.query, live)
    if isinstance(query, wq.AndNot):
        return admitted(searcher, query.a, live) & ~admitted(searcher, query.b, live)
    if isinstance(query, (wq.AndMaybe, wq.ConstantScoreQuery)):  # the optional side adds no document
        return admitted(searcher, query.a if isinstance(query, wq.AndMaybe) else query.child, live)
    if isinstance(query, (wq.And, wq.Require)) and query.children():
        parts = list(query.children())
        mask = admitted(searcher, parts[0], live)
        for part in parts[1:]:
            mask &= admitted(searcher, part, live)
        return mask
    if type(query) is wq.Or and query.subqueries and not query.minmatch:
        mask = np.zeros(len(live), dtype=bool)
        for part in query.subqueries:
            mask |= admitted(searcher, part, live)
        return mask
    mask = np.zeros(len(live), dtype=bool)  # words, phrases, prefixes, ranges: their postings, as Whoosh lists them
    mask[np.fromiter(searcher.docs_for_query(query), dtype=np.int64)] = True
    return mask & live


# A file type, a tag or a day is there or not: BM25 over them ranks by how many tags a photo has, or by nothing.
_UNRANKED_FIELDS = frozenset({"ext", "tag", "day"})


def scores_nothing(query: wq.Query) -> bool:
    """Whether the query has no word to rank by (`*`, `-dog`, `NOT dog`, `ext:png`, `tag:grandma`): every match
    would score the same, or by what says nothing of it."""
    if isinstance(query, wq.Every) and not query.fieldname:
        return True
    if isinstance(query, wq.Not):
        return True
    if isinstance(query, (wq.Term, wq.NumericRange)):
        return query.fieldname in _UNRANKED_FIELDS
    if isinstance(query, wq.AndNot):
        return scores_nothing(query.a)
    if isinstance(query, (wq.And, wq.Or)):
        return all(scores_nothing(part) for part in query.subqueries)
    return False
