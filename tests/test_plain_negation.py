"""What a photo must not show, said in plain words ("beach without dogs", "street with no cars", "kids but not
grandma"): those words leave the search and no photo found holds them, among the matches or the related photos.
As words, they found the very photos asked against: every dog on a beach, closest by meaning."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from db.plain import understand
from db.store import Store
from indexer.cli import cli
from tests.conftest import FakeCaptioner
from tests.helpers import index_with
from tests.test_plain_language import TODAY, Holds


@pytest.mark.parametrize(
    "query, text, excluded",
    [
        ("beach without dogs", "beach", [("dogs",)]),
        ("beach without the dogs", "beach", [("dogs",)]),
        ("street with no cars", "street", [("cars",)]),
        ("street with no red cars", "street", [("red cars",)]),  # a red car, not every red thing
        ("kids but not grandma", "kids", [("grandma",)]),
        ("beach without dogs or people", "beach", [("dogs", "people")]),
        ("beach without dogs, people and boats", "beach", [("dogs", "people", "boats")]),
        ("beach except dogs 2019", "beach", [("dogs",)]),  # the year is read as the year
        ("dog not on the beach", "dog", [("beach",)]),
        ("dogs and no cats", "dogs", [("cats",)]),
        ("no people", "", [("people",)]),  # every photo but those
        ("beach without", "beach without", []),  # nothing after it: the word
        ("beach -dog", "beach -dog", []),  # the syntax, as typed
        ("no parking", "no parking", []),  # a sign the library holds: the words
        ("no parking sign", "no parking sign", []),  # and more words after it
        ("no. 5", "no. 5", []),  # a number
    ],
)
def test_what_a_photo_must_not_show_is_read_from_plain_words(query, text, excluded):
    understood = understand(query, Holds(words={"no parking"}), TODAY)
    assert understood.text == text
    assert [reading.excluded for reading in understood.readings if reading.kind == "not"] == excluded


def test_a_time_after_the_negation_is_a_time_no_photo_found_was_taken_in():
    from datetime import date

    from db.types import Filters

    understood = understand("dog not in 2019", Holds(), TODAY)
    assert understood.text == "dog" and [reading.shown for reading in understood.readings] == ["not taken in 2019"]
    assert [(span.first, span.last) for span in understood.narrow(Filters()).not_spans] == [
        (date(2019, 1, 1), date(2019, 12, 31))
    ]
    # a time of any year too: my first version read "not in july" as July itself
    understood = understand("dog not in july", Holds(), TODAY)
    assert understood.text == "dog" and [reading.shown for reading in understood.readings] == ["not taken in July, any year"]
    assert [span.months for span in understood.narrow(Filters()).not_spans] == [(7,)]
    # a third of a year too (was: "not taken in 2019", and the year's summer hidden)
    understood = understand("beach not in early 2019", Holds(), TODAY)
    assert [reading.shown for reading in understood.readings] == ["not taken in early 2019 (2019-01-01 to 2019-04-30)"]
    # ...even where a caption says "july" (was: without the word "july", and July's dogs shown)
    understood = understand("dog not in july", Holds(words={"july"}), TODAY)
    assert [reading.shown for reading in understood.readings] == ["not taken in July, any year"]


def test_photos_taken_then_are_kept_out(tmp_path):
    from tests.photos import COLOURS, photo, save_jpeg

    root = tmp_path / "photos"
    for i, taken in enumerate(("2019:07:04 10:00:00", "2020:07:20 10:00:00", "2019:12:25 10:00:00", "2018:03:01 10:00:00")):
        save_jpeg(photo(colour=COLOURS[1], seed=i), root / f"{i}.jpg", taken=taken)  # all "a dog running on the beach..."
    with Store.open(tmp_path / "data") as store:
        index_with(store, [root], FakeCaptioner())
        assert sorted(names(store, "dog not in july", today=TODAY)) == ["2.jpg", "3.jpg"]
        assert sorted(names(store, "dog not in 2019", today=TODAY)) == ["1.jpg", "3.jpg"]
        assert sorted(names(store, "dog not at christmas", today=TODAY)) == ["0.jpg", "1.jpg", "3.jpg"]


CAPTIONS = {
    "dog_beach.jpg": "a dog running on the beach",
    "umbrella_beach.jpg": "an umbrella on the beach",
    "people_beach.jpg": "people walking on the beach at sunset",
    "shore.jpg": "waves on a sandy shore",  # close to "beach" by meaning: a related photo
    "dog_shore.jpg": "a dog running on a sandy shore",  # close too, with a dog
    "street.jpg": "a busy street with red cars",
    "empty_street.jpg": "an empty street at dawn",
}


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    from tests.photos import COLOURS, photo, save_jpeg

    root = tmp_path_factory.mktemp("photos")
    for i, name in enumerate(CAPTIONS):
        save_jpeg(photo(colour=COLOURS[i % 4], seed=i), root / name)
    data_dir = tmp_path_factory.mktemp("data")
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner(), embeddings=True)  # the real MiniLM: related photos by meaning
        for name, caption in CAPTIONS.items():
            store.set_caption(store.image_by_path(root / name).id, caption)
        yield store, root, data_dir


def names(store, query: str, **options) -> list[str]:
    return [hit.image.path.rsplit("/", 1)[1] for hit in store.search(query, limit=100, **options).hits]


def test_no_photo_found_holds_the_words_asked_against(library):
    store, _, _ = library
    # was: "beach without dog" matched no caption ("without" was a word to find) and ranked the dogs on the beach
    # first by meaning
    found = names(store, "beach without dog")
    assert found and "dog_beach.jpg" not in found and "dog_shore.jpg" not in found
    assert {"umbrella_beach.jpg", "people_beach.jpg"} <= set(found)
    assert names(store, "beach without dogs or people")[:1] == ["umbrella_beach.jpg"]
    assert "street.jpg" not in names(store, "street with no red cars")
    assert "empty_street.jpg" in names(store, "street with no cars")


def test_related_photos_keep_out_the_words_too(library):
    store, _, _ = library
    related = [hit.image.path for hit in store.search("beach", limit=100).hits if hit.match != "words"]
    assert any(path.endswith("dog_shore.jpg") for path in related)  # what the test needs: a related dog
    page = store.search("beach without dogs", limit=100)
    assert not any(hit.image.path.endswith("dog_shore.jpg") for hit in page.hits)
    assert any(hit.image.path.endswith("shore.jpg") and hit.match != "words" for hit in page.hits)


def test_the_cli_says_what_it_kept_out_and_a_chip_takes_it_back(library):
    store, _, data_dir = library
    result = CliRunner().invoke(cli, ["search", "beach without dogs or people", "--json", "--data-dir", str(data_dir)])
    assert 'reading "without dogs or people" as without the words "dogs" or "people"' in result.stderr
    readings = json.loads(result.stdout)[0]["understood"]["readings"]
    assert [(reading["as"], reading["not"]) for reading in readings] == [("not", ["dogs", "people"])]
    taken_back = store.search("beach without dogs", limit=100, literal=frozenset({"without dogs"}))
    assert taken_back.understood.text == "beach without dogs" and not taken_back.understood.readings


def test_keyword_mode_takes_the_words_as_typed(library):
    store, _, _ = library
    assert names(store, "beach without dogs", mode="keyword") == []  # no caption holds "without"
