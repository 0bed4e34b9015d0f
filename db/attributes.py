"""When a caption contradicts the query: the query gives a thing a value of some kind ("purple square": the
square's colour; "two dogs": their count; "wooden chair": its material) and the caption gives that same
thing another value of that kind ("an orange square", "three dogs", "a metal chair"). A related photo
(found by meaning, no word match) must not contradict what the person typed (db/ranking.related_mask).

Captions are read as runs of words between function words and prepositions ("a red circle and a blue square
on a white background": red circle, blue square, white background); the last word of a run is the thing, the
table's words before it its values. A thing the caption names without a value of that kind ("a square")
says nothing either way, so it never contradicts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from whoosh.lang.porter import stem

from db.tags import FUNCTION_WORDS, ING_NOUNS, PHRASE_BREAKS

# word -> (kind, value). Shades name their colour ("crimson" is red); materials their family ("steel" is
# metal), so a caption is not called contradicting over a finer word for the same value.
_KINDS: dict[str, dict[str, tuple[str, ...]]] = {
    "colour": {
        "red": ("red", "crimson", "scarlet", "maroon"),
        "orange": ("orange",),
        "yellow": ("yellow", "golden", "gold"),
        "green": ("green", "olive", "lime"),
        "blue": ("blue", "navy", "azure", "turquoise", "teal"),
        "purple": ("purple", "violet", "lilac", "lavender", "magenta"),
        "pink": ("pink",),
        "brown": ("brown", "tan", "beige"),
        "black": ("black",),
        "white": ("white",),
        "grey": ("grey", "gray", "silver"),
    },
    "material": {
        "wood": ("wooden", "wood"),
        "metal": ("metal", "metallic", "steel", "iron", "aluminium", "aluminum", "brass", "copper"),
        "plastic": ("plastic",),
        "glass": ("glass",),
        "paper": ("paper", "cardboard"),
        "stone": ("stone", "marble", "concrete", "brick"),
        "leather": ("leather",),
        "fabric": ("cotton", "woolen", "wool", "knitted", "denim"),
        "ceramic": ("ceramic", "porcelain"),
    },
    "size": {"small": ("small", "little", "tiny"), "large": ("large", "big", "huge", "giant", "enormous")},
}
ATTRIBUTES = {word: (kind, value) for kind, values in _KINDS.items() for value, words in values.items() for word in words}
COUNTS = {
    **{word: number for number, word in enumerate("one two three four five six seven eight nine ten eleven twelve".split(), 1)},
    "single": 1,
    "pair": 2,
}
ARTICLES = frozenset({"a", "an"})  # a count of one, in a caption ("a square"); in a query only a habit of speech
COUNT = "count"
_TOKEN = re.compile(r"[^\W\d_]+|\d+|[^\w\s]")


@dataclass
class Thing:
    """A run's last word (stemmed) and the values its run gives it, by kind."""

    head: str
    values: dict[str, set[str]] = field(default_factory=dict)
    count: int | None = None


def things(text: str, in_query: bool = False) -> list[Thing]:
    """The things a text names, each with the values its words give it."""
    found: list[Thing] = []
    run: list[str] = []
    article = False
    for token in [*_TOKEN.findall(text.lower()), "."]:
        if _ends_run(token, run):
            if run and run[-1] not in ATTRIBUTES and run[-1] not in COUNTS:
                found.append(_thing(run, article and not in_query))
            # "a yellow and blue umbrella": values joined by "and" stay with the thing that follows
            if not (token in ("and", ",") and run and all(word in ATTRIBUTES for word in run)):
                run, article = [], token in ARTICLES
            continue
        run.append(token)
    return found


def _ends_run(token: str, run: list[str]) -> bool:
    if not token[0].isalnum() or token in PHRASE_BREAKS or (token in FUNCTION_WORDS and token not in COUNTS):
        return True
    # a participle after the thing is its verb ("two dogs playing"); before it, a quality ("a parked car")
    return bool(run) and run[-1] not in ATTRIBUTES and token.endswith(("ing", "ed")) and token not in ING_NOUNS


def _thing(run: list[str], article: bool) -> Thing:
    thing = Thing(_stem(run[-1]))
    for word in run[:-1]:
        if word in ATTRIBUTES:
            kind, value = ATTRIBUTES[word]
            thing.values.setdefault(kind, set()).add(value)
        elif word in COUNTS or word.isdigit():
            thing.count = COUNTS.get(word) or int(word)
    if thing.count is None and article:
        thing.count = 1
    return thing


@lru_cache(maxsize=10_000)
def _stem(word: str) -> str:
    return stem(word)


def described(query: str) -> list[Thing]:
    """What the query says of its things: only the things it gives a value (or a count)."""
    return [thing for thing in things(query, in_query=True) if thing.values or thing.count is not None]


def contradicts(wanted: list[Thing], caption: str) -> bool:
    """Whether the caption gives a thing the query describes only other values of a kind the query names."""
    if not wanted:
        return False
    named = things(caption)
    for thing in wanted:
        same = [other for other in named if other.head == thing.head]
        if not same:
            continue
        for kind, values in thing.values.items():
            given = [other.values.get(kind) for other in same]
            if all(given) and not values & set().union(*given):  # type: ignore[arg-type]
                return True
        counts = [other.count for other in same]
        if thing.count is not None and None not in counts and sum(counts) != thing.count:  # type: ignore[arg-type]
            return True
    return False


def contradiction_check(
    query: str, captions: Callable[[Iterable[int]], dict[int, str]]
) -> Callable[[Iterable[int]], list[bool]] | None:
    """For a query that describes something, a check of file ids against it (captions read only then)."""
    wanted = described(query)
    if not wanted:
        return None

    def check(file_ids: Iterable[int]) -> list[bool]:
        ids = list(file_ids)
        texts = captions(ids)
        return [contradicts(wanted, texts.get(file_id, "")) for file_id in ids]

    return check
