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

TODAY = {"every photo dated by its file"}


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
        ("date:2019-07..", {"beach"} | TODAY),  # open at the end: from July 2019 on, today's files included
        ("date:..2019-07", {"red"}),  # open at the start: up to the end of July 2019
        ("date:2019-07.. OR date:2019-06", {"red", "beach"} | TODAY),  # the same range read in place
        ("-date:..2019-07", {"beach"} | TODAY),
    ],
)
def test_date_terms_select_by_the_date_taken(dated, query, expected):
    store, paths = dated
    found = paths_found(store, query)
    today = found - set(paths.values())
    if TODAY <= expected:
        assert len(today) == 14  # every photo dated by its file (test_stats_count_the_photos_dated_by_exif)
    else:
        assert not today
    assert found - today == {paths[name] for name in expected - TODAY}


def test_a_date_term_and_the_apps_date_filter_both_apply(dated):
    from datetime import date

    store, paths = dated
    found = store.search("date:2019", Filters(date_from=date(2019, 8, 1)), limit=50)
    assert {hit.image.path for hit in found.hits} == {paths["beach"]}


@pytest.mark.parametrize(
    "query",
    ["date:2019-13", "date:19", "date:2019-08..2019-06", "date:", "date:2019-02-30", "date:soon", "date:..", "date:2019..soon"],
)
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


# -- dates inside OR, NOT and parentheses: a date term means what it says where it stands -------------------


@pytest.fixture
def two_years(photo_tree, data_dir):
    # red: taken 2019-06-01; beach: taken 2019-08-15; park: no EXIF date, its file dated 2020-04-10
    import os
    from datetime import datetime

    stamp = datetime(2020, 4, 10, 12).timestamp()
    os.utime(photo_tree["park"], (stamp, stamp))
    with Store.open(data_dir) as store:
        index_with(store, [photo_tree["root"]], FakeCaptioner())
        yield store, {name: str(photo_tree[name]) for name in ("red", "beach", "park")}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("(file:beach date:2019) OR (file:park date:2020)", {"beach", "park"}),
        ("(file:beach date:2020) OR (file:park date:2020)", {"park"}),  # the beach is from 2019
        ("file:park OR date:2019", {"park", "red", "beach"}),
        ("date:2019-06 OR file:park", {"red", "park"}),
        ("date:2019-06..2019-07 OR file:beach", {"red", "beach"}),
        ("date:2019 OR date:2020", {"red", "beach", "park"}),  # dates alone on both sides
        ("date:2019-06 OR date:2020", {"red", "park"}),
        ("date:2019-06 OR date:2019-08", {"red", "beach"}),
    ],
)
def test_a_date_inside_an_or_finds_either_side(two_years, query, expected):
    store, paths = two_years
    assert paths_found(store, query) == {paths[name] for name in expected}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("(date:2019-06)", {"red"}),
        ("file:park OR (date:2019)", {"park", "red", "beach"}),
        ("(date:2019-06 OR date:2020)", {"red", "park"}),
        ("((date:2020))", {"park"}),
    ],
)
def test_a_date_in_parentheses_is_read_without_them(two_years, query, expected):
    store, paths = two_years
    assert paths_found(store, query) == {paths[name] for name in expected}


@pytest.mark.parametrize(
    ("query", "left_out"),
    [
        ("NOT (date:2019)", {"red", "beach"}),
        ("-(date:2019-06)", {"red"}),
        ("NOT (date:2019 OR date:2020)", {"red", "beach", "park"}),
    ],
)
def test_a_negated_group_of_dates_leaves_those_ranges_out(two_years, query, left_out):
    store, paths = two_years
    assert paths_found(store, query) == paths_found(store, "*") - {paths[name] for name in left_out}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("(date:2019 NOT date:2019-06) OR file:park", {"beach", "park"}),
        ("(date:2019 NOT date:2019-08) OR (date:2020 file:park)", {"red", "park"}),
        ("file:park OR (NOT date:2019 file:img*)", {"park"}),  # both img files are from 2019
        ("file:img* ANDNOT date:2019-06", {"beach"}),
    ],
)
def test_a_negated_date_inside_a_group_leaves_its_range_out_of_that_group(two_years, query, expected):
    store, paths = two_years
    assert paths_found(store, query) & set(paths.values()) == {paths[name] for name in expected}


@pytest.mark.parametrize("query", ["(date:2019-13)", "file:park OR date:2019-13", "NOT (date:2019-13)"])
def test_a_malformed_date_in_a_group_names_the_date_alone(two_years, query):
    store, _ = two_years
    with pytest.raises(QueryError, match=r"^date:2019-13 is not a date; use date:2019, ") as raised:
        store.search(query)
    assert "\n" not in str(raised.value)


def test_a_date_or_in_the_cli_is_a_valid_query(two_years, data_dir):
    store, paths = two_years
    result = CliRunner().invoke(cli, ["search", "date:2019 OR date:2020", "--data-dir", str(data_dir), "--json"])
    assert result.exit_code == 0, result.stderr
    assert {row["path"] for row in json.loads(result.stdout)} == set(paths.values())


def test_a_quoted_date_term_is_words_not_a_date(two_years):
    store, _ = two_years
    # as every quoted word is literal: no photo's words hold "date 2019"
    assert paths_found(store, '"date:2019"') == set()


def test_top_level_dates_still_take_the_day_column_path():
    # The common case (`beach date:2019`, `-date:2019-06 car`) stays an array comparison on the day column
    # rather than a Whoosh numeric range (docs/performance.md): the terms leave the text and become bounds.
    from datetime import date

    from db.query_dates import DateTerms, date_terms

    terms = date_terms("car date:2019 AND -date:2019-06 NOT date:2019-08-15")
    assert (terms.text, terms.first, terms.last) == ("car", date(2019, 1, 1), date(2019, 12, 31))
    assert terms.excluded == ((date(2019, 6, 1), date(2019, 6, 30)), (date(2019, 8, 15), date(2019, 8, 15)))
    # Inside OR, ANDNOT or a group the terms stay where they are, for the parser to read in place.
    for kept in ("date:2019 OR date:2020", "file:park OR (date:2019)", "NOT (date:2019)", "(car date:2019) park"):
        assert date_terms(kept) == DateTerms(kept, None, None)


@pytest.mark.parametrize("mode", ["hybrid", "semantic"])
def test_a_date_inside_an_or_keeps_its_meaning_in_search_by_meaning(photo_tree, data_dir, mode):
    import os
    from datetime import datetime

    from indexer.models.caption_embedder import DEFAULT_EMBEDDER, Embedder

    stamp = datetime(2020, 4, 10, 12).timestamp()
    os.utime(photo_tree["park"], (stamp, stamp))
    with Store.open(data_dir) as store:
        embedder = Embedder(threads=1)
        store.use_embedder(DEFAULT_EMBEDDER, lambda: embedder)
        index_with(store, [photo_tree["root"]], FakeCaptioner(), embeddings=True)
        # the vectors may reorder what the boolean query admits, never add to it
        for query, expected in [("date:2019 OR date:2020", {"red", "beach", "park"}), ("car OR (date:2020)", {"red", "park"})]:
            page = store.search(query, mode=mode, limit=100)
            assert {hit.image.path for hit in page.hits} == {str(photo_tree[name]) for name in expected}
        # dates alone hold no words to embed: the match decides, not the embedded text "date:2019 OR date:2020"
        assert store.search("date:2019 OR date:2020", mode=mode).mode == "keyword"


def test_not_before_a_signed_date_is_refused_as_a_double_negative(two_years):
    store, _ = two_years
    with pytest.raises(QueryError, match=r"^NOT -date:2019 is a double negative; write date:2019 or NOT date:2019$"):
        store.search("car NOT -date:2019")
