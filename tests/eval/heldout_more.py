"""Two more held-out libraries, written for issue #29 and never tuned on:

- shapes-2: one subject (coloured shapes), one shape a caption, phrased several ways, with counts and sizes:
  "an orange square on a blue background", "three green triangles on a grey background". A query that names
  a colour or a count of a shape is relevant only where that shape has it: "purple square" is not "a yellow
  square on a purple background". Synonym queries name colours no caption uses ("crimson circle").
- album: a family's photos of five years with dates, places and keywords, in folders that carry no dates,
  for plain-language queries ("grandma 2019", "sydney in july"); relevance comes from the metadata.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from tests.eval.captions import all_captions
from tests.eval.libraries import Library

_COLOURS = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "black", "white", "grey")
_SHAPES = ("circle", "square", "triangle", "star", "heart", "hexagon")
_NUMBERS = {"two": 2, "three": 3, "four": 4}


def _shape_caption(rng: random.Random) -> tuple[str, str, str, int, str]:
    """(caption, colour, shape, count, size) of one drawing."""
    colour, background = rng.sample(_COLOURS, 2)
    shape = rng.choice(_SHAPES)
    roll = rng.random()
    article = "an" if colour[0] in "aeiou" else "a"
    on = f"on {'an' if background[0] in 'aeiou' else 'a'} {background} background"
    if roll < 0.5:
        return f"{article} {colour} {shape} {on}", colour, shape, 1, ""
    if roll < 0.7:
        number = rng.choice(list(_NUMBERS))
        return f"{number} {colour} {shape}s {on}", colour, shape, _NUMBERS[number], ""
    if roll < 0.85:
        size = rng.choice(("small", "large"))
        return f"a {size} {colour} {shape} {on}", colour, shape, 1, size
    return f"{article} {colour} {shape} drawn on {background} paper", colour, shape, 1, ""


def second_shapes_library(count: int = 200, seed: int = 29) -> Library:
    rng = random.Random(seed)
    drawings: dict[str, tuple[str, str, int, str]] = {}
    while len(drawings) < count:
        caption, *facts = _shape_caption(rng)
        drawings.setdefault(caption, tuple(facts))  # type: ignore[arg-type]
    captions = list(drawings)

    def where(test) -> frozenset[str]:
        return frozenset(caption for caption, facts in drawings.items() if test(*facts))

    queries: dict[str, tuple[str, frozenset[str]]] = {}
    for colour in _COLOURS:  # a colour anywhere, the shape's or the background's
        queries[colour] = ("colour", frozenset(c for c in captions if colour in c.split()))
    for shape in _SHAPES:
        queries[shape] = ("shape", where(lambda _, s, *rest, shape=shape: s == shape))
    for colour in _COLOURS:
        for shape in _SHAPES:
            wanted = where(lambda c, s, *rest, colour=colour, shape=shape: (c, s) == (colour, shape))
            if wanted:
                queries[f"{colour} {shape}"] = ("colour+shape", wanted)
    for number, value in _NUMBERS.items():
        for shape in ("stars", "circles", "hearts"):
            queries[f"{number} {shape}"] = ("count+shape", where(lambda _, s, n, *r, v=value, t=shape: (s, n) == (t[:-1], v)))
    for size in ("small", "large"):
        queries[f"{size} triangle"] = ("size+shape", where(lambda _, s, n, z, size=size: (s, z) == ("triangle", size)))
    for query, colour, shape in (
        ("crimson circle", "red", "circle"),
        ("scarlet star", "red", "star"),
        ("navy square", "blue", "square"),
        ("violet heart", "purple", "heart"),
        ("golden triangle", "yellow", "triangle"),
        ("gray hexagon", "grey", "hexagon"),
    ):
        queries[query] = ("synonym", where(lambda c, s, *r, colour=colour, shape=shape: (c, s) == (colour, shape)))
    return Library("shapes-2", captions, {query: kind for query, kind in queries.items() if kind[1]})


# -- album: when, where, who ------------------------------------------------------------------------------

_PLACES = (
    "Bondi Beach, Sydney, New South Wales, Australia",
    "Paris, Ile-de-France, France",
    "Brooklyn, New York City, New York, United States",
    "Kyoto, Japan",
    "Fitzroy, Melbourne, Victoria, Australia",
)
_PEOPLE = ("grandma", "tom", "aunt mary")


@dataclass(frozen=True)
class Photo:
    caption: str
    taken: date
    place: str | None
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Album(Library):
    photos: list[Photo] = field(default_factory=list)


def album_library(count: int = 240, seed: int = 5) -> Album:
    rng = random.Random(seed)
    scenes = all_captions()
    photos = []
    for caption in rng.sample(scenes, min(count, len(scenes))):
        taken = date(2016, 1, 1) + timedelta(days=rng.randrange(6 * 365))
        place = rng.choice(_PLACES) if rng.random() < 0.6 else None
        keywords = tuple(person for person in _PEOPLE if rng.random() < 0.2)
        photos.append(Photo(caption, taken, place, keywords))

    def where(test) -> frozenset[str]:
        return frozenset(photo.caption for photo in photos if test(photo))

    def at(name: str):
        return lambda photo: photo.place is not None and name in photo.place.lower().split(", ")

    queries = {
        "grandma 2019": where(lambda p: "grandma" in p.keywords and p.taken.year == 2019),
        "tom in paris": where(lambda p: "tom" in p.keywords and at("paris")(p)),
        "aunt mary 2017": where(lambda p: "aunt mary" in p.keywords and p.taken.year == 2017),
        "paris 2018": where(lambda p: at("paris")(p) and p.taken.year == 2018),
        "sydney 2019": where(lambda p: at("sydney")(p) and p.taken.year == 2019),
        "new york": where(at("new york")),
        "kyoto in spring": where(lambda p: at("kyoto")(p) and p.taken.month in (3, 4, 5)),
        "melbourne in july": where(lambda p: at("melbourne")(p) and p.taken.month == 7),
        "july 2019": where(lambda p: (p.taken.year, p.taken.month) == (2019, 7)),
        "summer 2020": where(lambda p: date(2020, 6, 1) <= p.taken <= date(2020, 8, 31)),
        "2017 to 2018": where(lambda p: p.taken.year in (2017, 2018)),
        "photos from 2016": where(lambda p: p.taken.year == 2016),
        "dog 2019": where(lambda p: "dog" in p.caption.split() and p.taken.year == 2019),
        "beach in sydney": where(lambda p: "beach" in p.caption.split() and at("sydney")(p)),
    }
    return Album("album", [photo.caption for photo in photos], {q: ("plain", r) for q, r in queries.items() if r}, photos)
