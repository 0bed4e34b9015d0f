"""Held-out evaluation: libraries and queries that played no part in choosing the related-photo rule
(tests/eval/libraries.py chose it). Relevance is by the words a caption holds, so it is written once
and checked by code, not by hand per caption.
"""

from __future__ import annotations

import random

from tests.eval.captions import all_captions
from tests.eval.libraries import Library


def _relevant(captions: list[str], words: tuple[str, ...]) -> frozenset[str]:
    return frozenset(caption for caption in captions if set(caption.split()) & set(words))


_GUESTS = (
    "the bride",
    "the groom",
    "a bridesmaid",
    "an old couple",
    "two guests",
    "a flower girl",
    "the best man",
    "a group of guests",
    "the bride and groom",
    "a little boy in a suit",
)
_DOING = (
    "dancing on the dance floor",
    "cutting the wedding cake",
    "walking down the aisle",
    "posing for photos outside the church",
    "holding a bouquet of flowers",
    "sitting at a long table",
    "raising glasses for a toast",
    "exchanging rings at the altar",
    "laughing under string lights",
    "throwing rice on the steps",
)
_WHEN = ("", " in the evening", " at the reception", " in the garden", " after the ceremony")


def wedding_library(count: int = 250, seed: int = 3) -> Library:
    """One subject, as a wedding album is: every caption is close to every wedding query."""
    rng = random.Random(seed)
    captions: list[str] = []
    while len(captions) < count:
        caption = f"{rng.choice(_GUESTS)} {rng.choice(_DOING)}{rng.choice(_WHEN)}"
        if caption not in captions:
            captions.append(caption)
    queries: dict[str, tuple[str, frozenset[str]]] = {
        query: ("present", _relevant(captions, words))
        for query, words in (
            ("cake", ("cake",)),
            ("bouquet", ("bouquet",)),
            ("church", ("church",)),
            ("rings", ("rings",)),
            ("dancing", ("dancing",)),
        )
    }
    queries.update(
        {
            query: ("absent", frozenset())
            for query in (
                "surfboard",
                "snowy mountain",
                "laptop on a desk",
                "red car",
                "giraffe",
                "pizza",
                "train station",
                "cat on a sofa",
            )
        }
    )
    return Library("wedding", captions, queries)


# New synonym queries over the varied captions: none of the query's words is in a relevant caption.
_SYNONYMS = {
    "canine": ("dog", "dogs", "puppy", "retriever"),
    "pooch": ("dog", "dogs", "puppy", "retriever"),
    "feline": ("cat", "kitten"),
    "vessel": ("boat", "boats", "ship", "sailboat", "yacht", "canoe"),
    "locomotive": ("train",),
    "aeroplane": ("airplane", "plane", "jet", "airliner"),
    "avian": ("bird", "birds", "seagull", "ducks", "pigeon", "eagle", "parrot"),
    "equine": ("horse", "horses"),
    "parasol": ("umbrella", "umbrellas"),
    "bovine": ("cow", "cows"),
}


def synonym_set() -> Library:
    captions = all_captions()
    return Library("synonyms", captions, {query: ("synonym", _relevant(captions, words)) for query, words in _SYNONYMS.items()})


_SCENES = {
    "market": [
        "a woman selling vegetables at a market stall",
        "crates of fruit at an outdoor market",
        "people shopping at a farmers market",
        "a vendor weighing tomatoes on a scale",
    ],
    "music": [
        "a man playing a guitar on stage",
        "a band performing at a concert",
        "a woman singing into a microphone",
        "a violinist playing in the street",
    ],
    "garden": [
        "a garden full of red roses",
        "tulips blooming in a flower bed",
        "a woman watering plants in her garden",
        "sunflowers in a field",
    ],
    "cycling": [
        "a man riding a bicycle down a street",
        "bicycles parked along a fence",
        "a cyclist racing on a mountain road",
        "a child learning to ride a bicycle",
    ],
    "reading": [
        "a shelf full of old books",
        "a woman reading a book in a cafe",
        "stacks of books in a library",
        "a child reading on a bed",
    ],
    "fishing": [
        "a man fishing from a wooden dock",
        "a fisherman holding a large fish",
        "two people fishing in a small lake",
        "fishing rods leaning against a boat",
    ],
}


def second_varied_library() -> Library:
    """Varied scenes again, other ones: words that match, meanings that must, and nothing for off-topic."""
    captions = [caption for scene in _SCENES.values() for caption in scene]

    def scene(name: str) -> frozenset[str]:
        return frozenset(_SCENES[name])

    queries: dict[str, tuple[str, frozenset[str]]] = {
        "guitar": ("keyword", _relevant(captions, ("guitar",))),
        "bicycle": ("keyword", _relevant(captions, ("bicycle", "bicycles"))),
        "books": ("keyword", _relevant(captions, ("books", "book"))),
        "fish": ("keyword", _relevant(captions, ("fish",))),
        "bike": ("synonym", scene("cycling")),
        "musicians": ("synonym", scene("music")),
        "blossoms": ("synonym", scene("garden")),
        "angler": ("synonym", scene("fishing")),
        "novels": ("synonym", scene("reading")),
        "groceries": ("synonym", scene("market")),
    }
    queries.update(
        {
            query: ("off-topic", frozenset())
            for query in ("tax spreadsheet", "quantum physics", "snowy mountain peak", "airport runway")
        }
    )
    return Library("varied-2", captions, queries)


def heldout_libraries() -> list[Library]:
    from tests.eval.heldout_more import album_library, second_shapes_library

    return [second_varied_library(), wedding_library(), synonym_set(), second_shapes_library(), album_library()]
