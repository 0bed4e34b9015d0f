"""The stars a photo carries (XMP or EXIF Rating, from Lightroom, digiKam or the camera): found by plain words
(`4 stars`, `five-star`, `★★★`, `4 or 5 stars`: at least that many, as a photo manager's rating filter reads them),
chosen in the app's Rating filter, and shown in `search --json`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from db.store import Store
from indexer.cli import cli
from tests.conftest import FakeCaptioner
from tests.helpers import index_with, paths_found
from tests.metadata_photos import xmp_packet
from tests.photos import COLOURS, photo, save_jpeg
from tests.test_app import search, shown_names, start_app

RATINGS = {"five.jpg": 5, "four.jpg": 4, "two.jpg": 2, "unrated.jpg": None, "rejected.jpg": -1}


def rated_library(root, data_dir):
    for i, (name, rating) in enumerate(RATINGS.items()):
        path = save_jpeg(photo(colour=COLOURS[1], seed=i), root / name)  # all "a dog running on the beach..."
        if rating is not None:
            path.with_name(path.name + ".xmp").write_bytes(xmp_packet(rating=rating))
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root, data_dir = tmp_path_factory.mktemp("photos"), tmp_path_factory.mktemp("data")
    rated_library(root, data_dir)
    with Store.open(data_dir) as store:
        yield store, root, data_dir


@pytest.mark.parametrize(
    "query, expected",
    [
        ("4 stars", {"five.jpg", "four.jpg"}),  # was: every photo holding "4" and "stars": none
        ("five-star photos", {"five.jpg"}),
        ("★★", {"five.jpg", "four.jpg", "two.jpg"}),
        ("4 or 5 stars", {"five.jpg", "four.jpg"}),
        ("dog 3 stars or more", {"five.jpg", "four.jpg"}),
        ("1 star", {"five.jpg", "four.jpg", "two.jpg"}),  # a rejected photo (-1) and an unrated one have no star
        ("beach", set(RATINGS)),
        ("a star", set()),  # no rating
    ],
)
def test_a_rating_in_plain_words_finds_the_photos_with_at_least_those_stars(library, query, expected):
    store, root, _ = library
    assert paths_found(store, query) == {str(root / name) for name in expected}, query


def test_json_shows_each_photos_stars_and_the_reading(library):
    _, _, data_dir = library
    result = CliRunner().invoke(cli, ["search", "4 stars", "--json", "--data-dir", str(data_dir)])
    rows = json.loads(result.stdout)
    assert sorted(row["rating"] for row in rows) == [4, 5]
    assert rows[0]["understood"]["readings"][0] | {"words": ""} == {
        "words": "",
        "as": "stars",
        "shown": "rated 4 stars or more",
        "also_words": False,
        "stars": 4,
    }
    assert 'reading "4 stars" as rated 4 stars or more' in result.stderr


def test_a_rating_changed_in_the_sidecar_is_found_by_its_new_stars(tmp_path):
    root, data_dir = tmp_path / "photos", tmp_path / "data"
    rated_library(root, data_dir)
    (root / "two.jpg.xmp").write_bytes(xmp_packet(rating=5))  # raised in Lightroom
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
        assert paths_found(store, "5 stars") == {str(root / "five.jpg"), str(root / "two.jpg")}


def test_the_apps_rating_filter_keeps_the_photos_with_those_stars(library, monkeypatch):
    _, _, data_dir = library
    app = search(start_app(data_dir, monkeypatch), "beach")
    assert len(shown_names(app)) == len(RATINGS)
    app.selectbox(key="stars").select(4).run()
    assert not app.exception and sorted(shown_names(app)) == ["five.jpg", "four.jpg"]


def test_the_rating_filter_is_shown_only_where_some_photo_has_stars(tmp_path, monkeypatch):
    root = tmp_path / "photos"
    save_jpeg(photo(colour=COLOURS[1]), root / "a.jpg")
    with Store.open(tmp_path / "data") as store:
        index_with(store, [root], FakeCaptioner())
    app = start_app(tmp_path / "data", monkeypatch)
    assert not [box for box in app.selectbox if box.key == "stars"]


def test_export_has_each_photos_camera_and_stars(tmp_path):
    import csv

    root, data_dir = tmp_path / "photos", tmp_path / "data"
    rated_library(root, data_dir)
    save_jpeg(photo(colour=COLOURS[0]), root / "phone.jpg", camera="iPhone 12", make="Apple")
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
    output = tmp_path / "all.csv"
    assert CliRunner().invoke(cli, ["export", "--output", str(output), "--data-dir", str(data_dir)]).exit_code == 0
    rows = {row["path"].rsplit("/", 1)[1]: row for row in csv.DictReader(output.open(encoding="utf-8"))}
    assert (rows["five.jpg"]["rating"], rows["rejected.jpg"]["rating"], rows["unrated.jpg"]["rating"]) == ("5", "-1", "")
    assert rows["phone.jpg"]["camera"] == "Apple iPhone 12"
    result = CliRunner().invoke(cli, ["export", "--format", "json", "--data-dir", str(data_dir)])
    by_name = {row["path"].rsplit("/", 1)[1]: row for row in json.loads(result.stdout)}
    assert (by_name["four.jpg"]["rating"], by_name["unrated.jpg"]["rating"], by_name["phone.jpg"]["camera"]) == (
        4,
        None,
        "Apple iPhone 12",
    )


def test_a_caption_saying_star_takes_no_rating_from_a_query_only_its_own_words_do(tmp_path):
    # The index keeps no number: "4 stars" asked whether any caption says "star", and one cookie turned every
    # rating query into words
    root = tmp_path / "photos"
    for i, (name, rating) in enumerate({"five.jpg": 5, "four.jpg": 4, "cookie.jpg": None, "hotel.jpg": None}.items()):
        path = save_jpeg(photo(colour=COLOURS[i], noise=8, seed=i), root / name)
        if rating is not None:
            path.with_name(path.name + ".xmp").write_bytes(xmp_packet(rating=rating))
    with Store.open(tmp_path / "data") as store:
        index_with(store, [root], FakeCaptioner())
        store.set_caption(store.image_by_path(root / "cookie.jpg").id, "a star shaped cookie on a plate")
        store.set_caption(store.image_by_path(root / "hotel.jpg").id, "a five star hotel lobby")
        assert paths_found(store, "4 stars") == {str(root / "five.jpg"), str(root / "four.jpg")}
        assert paths_found(store, "5 stars") == {str(root / "five.jpg")}
        assert paths_found(store, "five stars") == {str(root / "five.jpg")}  # was: the hotel's words
        assert paths_found(store, "5 star hotel") == {str(root / "hotel.jpg")}  # the caption's words
        assert paths_found(store, "five star hotel") == {str(root / "hotel.jpg")}
