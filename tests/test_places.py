"""Places from GPS, offline: EXIF positions become "Kyoto, Japan", searchable by default and with place:."""

import json
import sqlite3

import pytest
from click.testing import CliRunner

from db.store import Store
from indexer import pipeline
from indexer.cli import cli
from indexer.places import place_name
from tests.conftest import FakeCaptioner
from tests.helpers import index_with, paths_found
from tests.old_catalogs import as_schema_5
from tests.photos import COLOURS, photo, save_jpeg

KYOTO = {1: "N", 2: (35.0, 0.0, 41.8), 3: "E", 4: (135.0, 46.0, 5.2)}
SYDNEY = {1: "S", 2: (33.0, 52.0, 0.0), 3: "E", 4: (151.0, 12.0, 0.0)}
PACIFIC = {1: "N", 2: (0.0, 0.0, 0.0), 3: "W", 4: (160.0, 0.0, 0.0)}  # open ocean: no town within 100 km


@pytest.fixture
def travels(tmp_path, data_dir):
    root = tmp_path / "photos"
    paths = {
        "kyoto": save_jpeg(photo(colour=COLOURS[0]), root / "trip" / "temple.jpg", gps=KYOTO),
        "sydney": save_jpeg(photo(colour=COLOURS[1]), root / "trip" / "harbour.jpg", gps=SYDNEY),
        "ocean": save_jpeg(photo(colour=COLOURS[2]), root / "trip" / "cruise.jpg", gps=PACIFIC),
        "broken": save_jpeg(photo(colour=COLOURS[3]), root / "trip" / "odd.jpg", gps={1: "N", 2: (1, 0), 3: "E"}),
        "none": save_jpeg(photo(colour=COLOURS[4]), root / "home.jpg"),
    }
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
        yield store, {name: str(path) for name, path in paths.items()}, root


def test_gps_positions_become_place_names(travels):
    store, paths, _ = travels
    places = {name: store.image_by_path(path).place for name, path in paths.items()}
    assert places == {
        "kyoto": "Kyoto, Japan",
        "sydney": "Pyrmont, Sydney, New South Wales, Australia",
        "ocean": None,
        "broken": None,
        "none": None,
    }


def test_a_place_word_finds_photos_by_default_and_with_place(travels):
    store, paths, _ = travels
    assert paths_found(store, "kyoto") == {paths["kyoto"]}
    assert paths_found(store, "sydney") == {paths["sydney"]}  # taken in Pyrmont, a district of Sydney
    assert paths_found(store, "japan") == {paths["kyoto"]}
    assert paths_found(store, "place:australia") == {paths["sydney"]}
    assert paths_found(store, '"new south wales"') == {paths["sydney"]}
    assert paths_found(store, "place:car") == set()  # the red photo's caption says car; its place does not


def test_json_rows_carry_place_and_date_taken_and_stats_count_them(travels, data_dir):
    store, paths, _ = travels
    rows = json.loads(CliRunner().invoke(cli, ["search", "kyoto", "--data-dir", str(data_dir), "--json"]).stdout)
    assert rows[0]["path"] == paths["kyoto"] and rows[0]["place"] == "Kyoto, Japan" and "taken" in rows[0]
    assert store.stats()["placed"] == 2


@pytest.mark.parametrize(
    ("gps", "position"),
    [
        ({1: "S", 2: (33.0, 52.0, 30.0), 3: "E", 4: (151.0, 12.0, 0.0)}, (-33.875, 151.2)),
        ({2: (33.0, 52.5, 0.0), 4: (151.0, 12.0, 0.0)}, (33.875, 151.2)),  # no sides written: north and east
        ({1: b"S\x00", 2: (33.0, 52.5, 0.0), 3: b"W", 4: (151.0, 12.0, 0.0)}, (-33.875, -151.2)),  # sides as bytes
        ({1: "Q", 2: (33.0, 52.0, 0.0), 3: "E", 4: (151.0, 12.0, 0.0)}, None),  # a side that is neither
        ({1: "N", 2: (33.0, 52.0, 0.0), 3: "Z", 4: (151.0, 12.0, 0.0)}, None),
        ({1: "N", 2: (33.0, 999.0, 0.0), 3: "E", 4: (151.0, 12.0, 0.0)}, None),  # 999 minutes
        ({1: "N", 2: (33.0, 1.0, 9999.0), 3: "E", 4: (151.0, 12.0, 0.0)}, None),  # 9999 seconds
    ],
)
def test_a_gps_position_is_read_only_when_well_formed(gps, position):
    from PIL import Image
    from PIL.TiffImagePlugin import IFDRational

    from indexer.exif import GPS_IFD, read_exif_tags

    exif = Image.Exif()
    exif.get_ifd(GPS_IFD).update(
        {tag: tuple(IFDRational(part) for part in value) if isinstance(value, tuple) else value for tag, value in gps.items()}
    )
    facts = read_exif_tags(exif)
    read = None if facts.latitude is None else (round(facts.latitude, 4), round(facts.longitude, 4))
    assert read == position


def test_exif_is_read_the_same_through_pillows_public_api_alone(tmp_path):
    """indexer/exif.py reads Pillow's private attributes to decode a tag at a time; a Pillow without them must
    still give the date, camera and place."""
    from PIL import Image

    from indexer.exif import read_exif_tags

    path = save_jpeg(
        photo(),
        tmp_path / "kyoto.jpg",
        taken="2019:04:02 10:00:00",
        camera="Pixel 7",
        gps={1: "N", 2: (35.0, 0.0, 41.8), 3: "E", 4: (135.0, 46.0, 5.2)},
    )

    class PublicOnly:  # what Image.Exif offers as its API, and nothing else
        def __init__(self, exif):
            self.get, self.get_ifd = exif.get, exif.get_ifd

    with Image.open(path) as image:
        exif = image.getexif()
        facts = read_exif_tags(exif)
        assert facts.taken_at is not None and facts.camera == "Pixel 7" and facts.latitude is not None
        assert read_exif_tags(PublicOnly(exif)) == facts


def test_positions_far_from_any_town_and_blank_ones_are_not_named():
    assert place_name(0.0, -160.0) is None  # the nearest GeoNames town is hundreds of km away
    assert place_name(35.0116, 135.7681) == "Kyoto, Japan"
    assert place_name(48.85, 2.29).startswith("Vanves, Paris, ")  # beside the Eiffel Tower: Paris is named
    # a city too small to be a big one, nearer another town's point: named too (was: "Kópavogur, Capital Region")
    assert place_name(64.1466, -21.9426) == "Kópavogur, Reykjavík, Capital Region, Iceland"
    assert place_name(46.948, 7.4474).startswith("Bern, ")


def test_a_schema_2_catalog_gains_the_place_columns(travels, data_dir):
    store, _, _ = travels
    store.close()
    as_schema_5(data_dir)
    with sqlite3.connect(data_dir / "captionary.db") as connection:
        for column in ("latitude", "longitude", "place"):
            connection.execute(f"ALTER TABLE contents DROP COLUMN {column}")
        connection.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    with Store.open_existing(data_dir) as reopened:
        assert reopened.stats()["images"] == 5 and reopened.stats()["placed"] == 0


def test_the_cli_index_names_places(tmp_path, data_dir, monkeypatch):
    monkeypatch.setattr(pipeline, "load_captioner", lambda options: FakeCaptioner())
    save_jpeg(photo(), tmp_path / "photos" / "temple.jpg", gps=KYOTO)
    result = CliRunner().invoke(cli, ["index", str(tmp_path / "photos"), "--data-dir", str(data_dir), "--no-embeddings"])
    assert result.exit_code == 0, result.output
    rows = json.loads(CliRunner().invoke(cli, ["search", "place:kyoto", "--data-dir", str(data_dir), "--json"]).stdout)
    assert [row["place"] for row in rows] == ["Kyoto, Japan"]


def test_the_photo_view_names_the_place_and_leaves_the_row_out_without_one(travels, data_dir, monkeypatch):
    from tests.test_app import metadata, start_app

    store, paths, _ = travels
    app = start_app(data_dir, monkeypatch)
    app.session_state["selected"] = store.image_by_path(paths["kyoto"]).id
    app.run()
    assert "Kyoto, Japan" in metadata(app)
    app.session_state["selected"] = store.image_by_path(paths["none"]).id
    app.run()
    assert "Place" not in metadata(app)
