"""A camera named in plain words (`iphone`, `canon 2019`, `photos from my nikon d750`) is read as the photos taken
with it, as a place or a person is (db/plain.py); a name some caption holds ("apple") stays a word."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from db.store import Store
from indexer.cli import cli
from tests.conftest import FakeCaptioner
from tests.helpers import index_with, paths_found
from tests.photos import COLOURS, photo, save_jpeg

# name -> (file, make, model, taken)
PHOTOS = {
    "phone_2019": ("2019/summer/IMG_0001.jpg", "Apple", "iPhone 12 Pro", "2019:07:01 10:00:00"),
    "phone_2020": ("2020/IMG_0002.jpg", "Apple", "iPhone 12 Pro", "2020:07:01 10:00:00"),
    "canon_card": ("DCIM/100CANON/IMG_0003.jpg", "Canon", "Canon EOS R5", "2019:08:01 10:00:00"),  # as the card is copied
    "canon_trip": ("2019/trip/IMG_0004.jpg", "Canon", "Canon EOS R5", "2019:08:02 10:00:00"),
    "nikon": ("2018/DSC_0005.jpg", "NIKON CORPORATION", "NIKON D750", "2018:01:01 10:00:00"),
    "scan": ("scans/old.jpg", None, None, None),
}


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    paths = {}
    for seed, (name, (relative, make, model, taken)) in enumerate(PHOTOS.items()):
        picture = photo(colour=COLOURS[seed % 4], seed=seed)
        paths[name] = str(save_jpeg(picture, root / relative, taken=taken, camera=model, make=make))
    data_dir = tmp_path_factory.mktemp("data")
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
        yield store, paths, data_dir


@pytest.mark.parametrize(
    "query, expected",
    [
        ("iphone", {"phone_2019", "phone_2020"}),  # was: nothing
        ("iphone 12", {"phone_2019", "phone_2020"}),
        ("iphone 2019", {"phone_2019"}),
        ("photos from my iphone", {"phone_2019", "phone_2020"}),
        ("canon", {"canon_card", "canon_trip"}),  # was: the card's folder alone, 100CANON
        ("canon eos r5", {"canon_card", "canon_trip"}),
        ("nikon", {"nikon"}),
        ("nikon d750", {"nikon"}),
        ("d750", {"nikon"}),
        ("iphone or nikon", {"phone_2019", "phone_2020", "nikon"}),
        ("iphone and nikon", {"phone_2019", "phone_2020", "nikon"}),  # a photo is taken with one camera
        ("canon in 2019", {"canon_card", "canon_trip"}),
        ("pro", set()),  # a word of a model's name is no camera
        ("corporation", set()),
        ("camera:canon", {"canon_card", "canon_trip"}),  # the field, as before
    ],
)
def test_a_camera_named_in_plain_words_finds_the_photos_taken_with_it(library, query, expected):
    store, paths, _ = library
    assert paths_found(store, query) == {paths[name] for name in expected}, query


def test_the_cli_says_it_read_a_camera_and_the_json_names_it(library):
    _, _, data_dir = library
    result = CliRunner().invoke(cli, ["search", "iphone 2019", "--json", "--data-dir", str(data_dir)])
    assert 'reading "iphone" as taken with iphone' in result.stderr
    readings = json.loads(result.stdout)[0]["understood"]["readings"]
    assert [(reading["as"], reading.get("camera")) for reading in readings] == [("camera", "iphone"), ("date", None)]


def test_a_camera_reading_taken_back_searches_the_word(library):
    store, paths, _ = library
    assert paths_found(store, "canon") == {paths["canon_card"], paths["canon_trip"]}
    page = store.search("canon", limit=100, literal=frozenset({"canon"}))
    assert {hit.image.path for hit in page.hits} == {paths["canon_card"]}  # the folder's name alone


def test_a_camera_name_a_caption_holds_is_the_word_not_the_camera(library):
    store, paths, _ = library
    apple = store.set_caption(store.image_by_path(paths["scan"]).id, "an apple on a wooden table")
    try:
        assert paths_found(store, "apple") == {paths["scan"]}  # the fruit, not every iPhone photo
        assert paths_found(store, "iphone") == {paths["phone_2019"], paths["phone_2020"]}
    finally:
        store.set_caption(apple.id, None)
