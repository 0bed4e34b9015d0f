"""A camera named in plain words (`iphone`, `canon 2019`, `photos from my nikon d750`) is read as the photos taken
with it, as a place or a person is (db/plain.py); a name some photo holds as words (`apple` beside a caption of an
apple, `iphone` beside a folder of screenshots) is both."""

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
    "pie": ("recipes/apple_pie.jpg", "Canon", "Canon EOS 5D Mark III", "2017:03:01 10:00:00"),
    "leica": ("2016/L100.jpg", "LEICA CAMERA AG", "LEICA Q2", "2016:01:01 10:00:00"),
    "sony": ("2015/DSC0001.jpg", "SONY", None, "2015:01:01 10:00:00"),  # a make, and no model
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
        ("iphone 12", {"phone_2019", "phone_2020"}),  # was: nothing
        ("iphone 2019", {"phone_2019"}),
        ("photos from my iphone", {"phone_2019", "phone_2020"}),
        ("canon", {"canon_card", "canon_trip", "pie"}),  # was: the card's folder alone, 100CANON
        ("canon eos r5", {"canon_card", "canon_trip"}),
        ("canon 5d", {"pie"}),  # the make and a later part of the model
        ("canon 5d mark iii", {"pie"}),
        ("leica q2", {"leica"}),
        ("leica", {"leica"}),
        ("camera", set()),  # "LEICA CAMERA AG": a company's word names no camera
        ("sony", {"sony"}),
        ("nikon", {"nikon"}),
        ("nikon d750", {"nikon"}),
        ("d750", {"nikon"}),
        ("iphone or nikon", {"phone_2019", "phone_2020", "nikon"}),
        ("iphone and nikon", {"phone_2019", "phone_2020", "nikon"}),  # a photo is taken with one camera
        ("canon in 2019", {"canon_card", "canon_trip"}),
        ("pro", set()),  # a word of a model's name is no camera
        ("mark", set()),
        ("corporation", set()),
        # A name some photo holds as words too is the camera or the words: a file "apple_pie", a folder of screenshots
        ("apple pie", {"pie"}),
        ("iphone", {"phone_2019", "phone_2020"}),
        ("camera:canon", {"canon_card", "canon_trip", "pie"}),  # the field, as before
    ],
)
def test_a_camera_named_in_plain_words_finds_the_photos_taken_with_it(library, query, expected):
    store, paths, _ = library
    assert paths_found(store, query) == {paths[name] for name in expected}, query


def test_the_cli_says_it_read_a_camera_and_the_json_names_it(library):
    _, _, data_dir = library
    result = CliRunner().invoke(cli, ["search", "nikon 2018", "--json", "--data-dir", str(data_dir)])
    assert 'reading "nikon" as taken with nikon' in result.stderr
    rows = json.loads(result.stdout)
    assert [row["camera"] for row in rows] == ["NIKON CORPORATION NIKON D750"]  # shown, to say why it was found
    readings = rows[0]["understood"]["readings"]
    assert [(reading["as"], reading.get("camera")) for reading in readings] == [("camera", "nikon"), ("date", None)]


def test_a_camera_name_some_photo_holds_as_words_searches_both(library):
    store, paths, _ = library
    page = store.search("apple", limit=100)
    assert [reading.shown for reading in page.understood.readings] == ["taken with apple, or the word apple"]
    iphones = {paths["phone_2019"], paths["phone_2020"]}
    assert paths_found(store, "apple") == {paths["pie"], *iphones}  # the file apple_pie.jpg, and the iPhones
    apple = store.set_caption(store.image_by_path(paths["scan"]).id, "an apple on a wooden table")
    try:
        # was (before cameras were searched as words too): one caption holding the name hid the camera's photos
        assert paths_found(store, "apple") == {paths["scan"], paths["pie"], *iphones}
        assert paths_found(store, "apple 2019") == {paths["phone_2019"]}
    finally:
        store.set_caption(apple.id, None)


def test_a_folder_named_for_a_camera_keeps_its_photos_found_by_their_words(tmp_path):
    root = tmp_path / "photos"
    phone = save_jpeg(photo(colour=COLOURS[0]), root / "2020/IMG_1.jpg", camera="iPhone 12", make="Apple")
    shot = save_jpeg(photo(colour=COLOURS[1], seed=1), root / "iPhone Screenshots/settings.png.jpg")  # no EXIF
    with Store.open(tmp_path / "data") as store:
        index_with(store, [root], FakeCaptioner())
        # was: "taken with iphone" alone, so the folder's screenshots were found by neither word
        assert paths_found(store, "iphone") == {str(phone), str(shot)}
        assert paths_found(store, "iphone screenshots") == {str(shot)}
