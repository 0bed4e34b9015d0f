"""Dates in queries: `date:2019`, `date:2019-07`, `date:2019-07-14`, `date:2019-06..2019-08`, by the date taken
(EXIF), else the file's date, as the app's date filter."""

import json

import pytest
from click.testing import CliRunner

from db.errors import QueryError
from db.store import Store
from db.types import Filters
from indexer.cli import cli
from tests.conftest import FakeCaptioner
from tests.helpers import index_with, paths_found


@pytest.fixture
def dated(photo_tree, data_dir):
    # red: taken 2019-06-01 (EXIF); beach: taken 2019-08-15; every other photo: its file date, today
    with Store.open(data_dir) as store:
        index_with(store, [photo_tree["root"]], FakeCaptioner())
        yield store, {"red": str(photo_tree["red"]), "beach": str(photo_tree["beach"])}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("date:2019", {"red", "beach"}),
        ("date:2019-06", {"red"}),
        ("date:2019-08-15", {"beach"}),
        ("date:2019-6..2019-08", {"red", "beach"}),
        ("date:2019-07", set()),
        ("car date:2019", {"red"}),  # words and a date together
        ("dog date:2019-06", set()),  # the dog photo was taken in August
        ("date:2019 date:2019-08", {"beach"}),  # both apply
        ("DATE:2019-08", {"beach"}),
    ],
)
def test_date_terms_select_by_the_date_taken(dated, query, expected):
    store, paths = dated
    assert paths_found(store, query) == {paths[name] for name in expected}


def test_a_date_term_and_the_apps_date_filter_both_apply(dated):
    from datetime import date

    store, paths = dated
    found = store.search("date:2019", Filters(date_from=date(2019, 8, 1)), limit=50)
    assert {hit.image.path for hit in found.hits} == {paths["beach"]}


@pytest.mark.parametrize("query", ["date:2019-13", "date:19", "date:2019-08..2019-06", "date:", "date:2019-02-30", "date:soon"])
def test_a_malformed_date_says_what_it_accepts(dated, query):
    store, _ = dated
    with pytest.raises(QueryError, match="date:2019-06..2019-08|earlier date first"):
        store.search(query)


def test_a_malformed_date_from_the_cli_exits_2_in_one_line(dated, data_dir):
    result = CliRunner().invoke(cli, ["search", "date:2019-13", "--data-dir", str(data_dir)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "is not a date" in result.stderr


def test_stats_count_the_photos_dated_by_exif(dated):
    store, _ = dated
    # two photos carry a plausible EXIF date; the other 14 are dated by their file
    assert store.stats()["dated"] == 2


# -- dates as cameras and phones write them (indexer/dates.py) ---------------------------------------------

THOMPSON_SPRINGS = (38.9714, -109.7146)  # Utah: Mountain Time, UTC-07:00 in November


def _taken(tmp_path, exif: bytes = b"", iptc: dict | None = None, sidecar: bytes | None = None):
    from indexer.metadata import read_metadata
    from tests.metadata_photos import add_iptc
    from tests.photos import photo

    path = tmp_path / "shot.jpg"
    photo().save(path, "JPEG", exif=exif)
    if iptc:
        add_iptc(path, iptc)
    if sidecar is not None:
        (tmp_path / "shot.xmp").write_bytes(sidecar)
    read = read_metadata(path.read_bytes(), str(path), f"shot.xmp\t{len(sidecar)}\t0" if sidecar is not None else "")
    return read.taken_at, read.taken_zone


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        # a phone's GPSDateTime alone is UTC; the position's time zone makes it local, and says so
        ({"gps_date": ("2023:11:15", (12.0, 30.0, 0.0)), "position": THOMPSON_SPRINGS}, ("2023-11-15 05:30:00", "-07:00")),
        ({"gps_date": ("2023:11:15", (12.0, 30.0, 0.0))}, ("2023-11-15 12:30:00", "Z")),
        ({"create": "2021:02:03 04:05:06", "subsec_create": "25"}, ("2021-02-03 04:05:06.250000", None)),
        ({"original": "2019:07:14 10:00:00", "offset": "+02:00"}, ("2019-07-14 10:00:00", "+02:00")),
        # DateTimeOriginal wins over every other date
        (
            {
                "original": "2019:07:14 10:00:00",
                "create": "2020:01:01 00:00:00",
                "modify": "2021:01:01 00:00:00",
                "gps_date": ("2022:01:01", (0.0, 0.0, 0.0)),
            },
            ("2019-07-14 10:00:00", None),
        ),
        ({"create": "2020:01:01 09:00:00", "gps_date": ("2022:01:01", (0.0, 0.0, 0.0))}, ("2020-01-01 09:00:00", None)),
        ({"original": "0000:00:00 00:00:00", "offset": "+02:00"}, (None, None)),
    ],
)
def test_the_date_taken_is_read_as_cameras_and_phones_write_it(tmp_path, written, expected):
    from tests.format_photos import exif_bytes

    taken, zone = _taken(tmp_path, exif_bytes(**written))
    assert (str(taken) if taken else None, zone) == expected


def test_an_iptc_time_alone_is_no_date_but_with_its_date_it_is(tmp_path):
    assert _taken(tmp_path, iptc={(2, 60): b"101500+0900"}) == (None, None)
    taken, zone = _taken(tmp_path, iptc={(2, 55): b"20190714", (2, 60): b"101500+0900"})
    assert (str(taken), zone) == ("2019-07-14 10:15:00", "+09:00")


def test_a_sidecars_date_created_dates_a_photo_without_exif(tmp_path):
    from tests.metadata_photos import xmp_packet

    taken, zone = _taken(tmp_path, sidecar=xmp_packet(created="2018-05-06T07:08:09+02:00"))
    assert (str(taken), zone) == ("2018-05-06 07:08:09", "+02:00")


def test_search_json_keeps_the_date_taken_and_says_the_time_and_its_zone_apart(tmp_path, data_dir):
    import json

    from tests.format_photos import exif_bytes
    from tests.photos import photo

    root = tmp_path / "photos"
    root.mkdir()
    gps = {"gps_date": ("2023:11:15", (12.0, 30.0, 0.0))}
    photo().save(root / "utah.jpg", "JPEG", exif=exif_bytes(**gps, position=THOMPSON_SPRINGS))
    photo().save(root / "utc.jpg", "JPEG", exif=exif_bytes(**gps))
    photo().save(root / "plain.jpg", "JPEG", exif=exif_bytes(original="2019:07:14 10:00:00"))
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
    result = CliRunner().invoke(cli, ["search", "*", "--json", "--data-dir", str(data_dir)])
    rows = {row["path"].rsplit("/", 1)[1]: row for row in json.loads(result.output)}
    # `taken` is the date, as the CLI contract has always said; the time and its zone are `taken_time`
    assert {name: row["taken"] for name, row in rows.items()} == {
        "utah.jpg": "2023-11-15",
        "utc.jpg": "2023-11-15",
        "plain.jpg": "2019-07-14",
    }
    assert {name: row["taken_time"] for name, row in rows.items()} == {
        "utah.jpg": "2023-11-15T05:30:00-07:00",  # local time, the offset from the position's zone
        "utc.jpg": "2023-11-15T12:30:00Z",  # no position: UTC, and said so
        "plain.jpg": "2019-07-14T10:00:00",  # local time, zone unknown
    }


@pytest.mark.parametrize("query", ["* date:2018", "car date:2001", "date:2018 *"])
def test_a_date_no_photo_was_taken_in_finds_no_photo(dated, query):
    store, _ = dated
    page = store.search(query, limit=50)
    assert page.hits == [] and page.total == 0  # Whoosh reads an empty filter set as no filter at all


def test_a_date_no_photo_was_taken_in_finds_nothing_from_the_cli(dated, data_dir):
    result = CliRunner().invoke(cli, ["search", "* date:2018", "--data-dir", str(data_dir), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("-date:2019", "not 2019"),
        ("* -date:2019", "not 2019"),
        ("NOT date:2019", "not 2019"),
        ("car -date:2019", set()),  # the red car photo was taken in 2019
        ("-date:2019-06", "not june"),
        ("date:2019 -date:2019-06", {"beach"}),
    ],
)
def test_a_negated_date_leaves_that_range_out(dated, query, expected):
    store, paths = dated
    everything = paths_found(store, "*")
    wanted = (
        {
            "not 2019": everything - {paths["red"], paths["beach"]},
            "not june": everything - {paths["red"]},
        }.get(expected)
        if isinstance(expected, str)
        else {paths[name] for name in expected}
    )
    assert paths_found(store, query) == wanted and wanted != everything
