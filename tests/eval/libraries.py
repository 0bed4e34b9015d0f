"""Evaluation libraries unlike each other: search must behave on all of them, not only on varied captions.

- varied: COCO-style captions of 25 scenes (tests/eval/captions.py), with keyword, synonym and paraphrase queries.
- shapes: one subject only (coloured shapes on coloured backgrounds), as in a library of product shots.
- beach: hundreds of captions of one holiday, with queries about things no photo shows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tests.eval.captions import QUERIES as VARIED_QUERIES
from tests.eval.captions import all_captions, relevant_captions


@dataclass(frozen=True)
class Library:
    name: str
    captions: list[str]
    # query -> (kind, relevant captions); an empty set means nothing in the library is about it
    queries: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict)


COLOURS = ("red", "blue", "green", "yellow", "black", "white", "orange", "purple")
SHAPES = ("circle", "square", "triangle", "star")


def shapes_library(count: int = 154, seed: int = 7) -> Library:
    """Captions of one kind: "a red circle and a blue square on a white background"."""
    rng = random.Random(seed)
    captions: list[str] = []
    while len(captions) < count:
        first, second, background = rng.sample(COLOURS, 3)
        shape, other = rng.sample(SHAPES, 2)
        if rng.random() < 0.5:
            caption = f"a {first} {shape} on a {background} background"
        else:
            caption = f"a {first} {shape} and a {second} {other} on a {background} background"
        if caption not in captions:
            captions.append(caption)
    queries: dict[str, tuple[str, frozenset[str]]] = {}
    for colour in COLOURS:  # a colour anywhere: a shape's or the background's
        queries[colour] = ("colour", frozenset(c for c in captions if colour in c.split()))
    for shape in SHAPES:
        queries[shape] = ("shape", frozenset(c for c in captions if shape in c.split()))
    for colour in COLOURS:  # "red circle": photos that hold a red circle, not a circle on red
        for shape in SHAPES:
            wanted = frozenset(c for c in captions if f"{colour} {shape}" in c)
            if wanted:
                queries[f"{colour} {shape}"] = ("colour+shape", wanted)
    return Library("shapes", captions, queries)


_PEOPLE = (
    "a man",
    "a woman",
    "a young boy",
    "a little girl",
    "a couple",
    "a family",
    "two children",
    "a group of friends",
    "an old man",
    "a teenager",
)
_ACTIVITIES = (
    "walking along the shore",
    "standing in the surf",
    "sitting on a towel",
    "playing in the sand",
    "building a sand castle",
    "swimming in the ocean",
    "lying under a beach umbrella",
    "flying a kite on the beach",
    "running on the sand",
    "looking at the waves",
)
_SCENERY = (
    "waves crashing on a sandy beach",
    "a beach at sunset with orange clouds",
    "palm trees on a tropical beach",
    "footprints in the wet sand",
    "a lifeguard tower on an empty beach",
    "seagulls flying over the ocean",
    "a row of beach chairs and umbrellas",
    "a wooden pier stretching into the sea",
    "rocks on the shore at low tide",
    "a sailboat on the horizon near the beach",
)
_COLOURS_BEACH = ("red", "blue", "yellow", "striped", "white")


def beach_library(count: int = 300, seed: int = 11) -> Library:
    """A holiday of beach photos: every caption is about the beach, so every caption is close to every beach
    query, and queries about other things must find nothing."""
    rng = random.Random(seed)
    captions: list[str] = []
    while len(captions) < count:
        roll = rng.random()
        if roll < 0.55:
            when = rng.choice(("", " on a sunny day", " in the morning", " in the evening", " on vacation"))
            caption = f"{rng.choice(_PEOPLE)} {rng.choice(_ACTIVITIES)}{when}"
        elif roll < 0.8:
            caption = rng.choice(_SCENERY)
            caption = f"{caption} {rng.choice(('on a sunny day', 'in the morning', 'under a cloudy sky', ''))}".strip()
        else:
            caption = f"a {rng.choice(_COLOURS_BEACH)} beach umbrella on the sand near {rng.choice(_PEOPLE)}"
        if caption not in captions:
            captions.append(caption)
    queries: dict[str, tuple[str, frozenset[str]]] = {
        # nothing on a beach holiday is about these: no word matches, and no caption is close
        query: ("absent", frozenset())
        for query in (
            "red car",
            "birthday cake",
            "snowy mountain",
            "computer keyboard",
            "cat sleeping on a couch",
            "city street at night",
            "wedding dress",
            "train station",
            "pizza",
            "dog",
        )
    }
    for query, words in (
        ("umbrella", ("umbrella",)),
        ("sunset", ("sunset",)),
        ("kite", ("kite",)),
        ("sand castle", ("castle",)),
        ("pier", ("pier",)),
    ):
        queries[query] = ("present", frozenset(c for c in captions if any(w in c for w in words)))
    return Library("beach", captions, queries)


def varied_library() -> Library:
    captions = all_captions()
    return Library(
        "varied", captions, {query: (kind, frozenset(relevant_captions(query))) for query, (kind, _) in VARIED_QUERIES.items()}
    )


def libraries() -> list[Library]:
    return [varied_library(), shapes_library(), beach_library()]
