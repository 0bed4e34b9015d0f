"""Queries that say what a photo must not show, in plain words ("beach without dogs", "street with no cars"),
drawn from the varied and beach libraries: for a query with several relevant captions, a word some of them hold
and others do not; what is relevant is the query's relevant captions that do not hold it."""

from __future__ import annotations

from collections import Counter

from db.documents import text_analyzer
from db.plain_words import ENGLISH
from tests.eval.libraries import Library, beach_library, varied_library

PHRASINGS = ("{query} without {word}", "{query} with no {word}", "{query} but not {word}", "{query} except {word}")


def _stems(text: str) -> set[str]:
    return {token.text for token in text_analyzer()(text)}


def negation_library(source: Library, per_query: int = 2) -> Library:
    """The source's captions, with queries "Q without W" for each of its queries Q of 4 or more relevant captions,
    W a word of between a fifth and four fifths of them (the most evenly split first)."""
    queries: dict[str, tuple[str, frozenset[str]]] = {}
    for number, (query, (_, relevant)) in enumerate(sorted(source.queries.items())):
        if len(relevant) < 4:
            continue
        asked_for = _stems(query) | _stems(" ".join(ENGLISH.glue))
        held = Counter(stem for caption in relevant for stem in _stems(caption) - asked_for)
        surface = {token.text: word for caption in relevant for word in caption.split() for token in text_analyzer()(word)}
        share = {stem: count / len(relevant) for stem, count in held.items()}
        split = sorted((abs(part - 0.5), stem) for stem, part in share.items() if 0.2 <= part <= 0.8)
        for rank, (_, stem) in enumerate(split[:per_query]):
            phrasing = PHRASINGS[(number + rank) % len(PHRASINGS)]
            asked = phrasing.format(query=query, word=surface[stem])
            queries[asked] = ("negation", frozenset(caption for caption in relevant if stem not in _stems(caption)))
    return Library(f"{source.name}-without", source.captions, queries)


def negation_libraries() -> list[Library]:
    return [negation_library(varied_library()), negation_library(beach_library())]
