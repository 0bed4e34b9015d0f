"""Dates in queries: `date:2019`, `date:2019-07`, `date:2019-07-14`, `date:2019-06..2019-08`, by the date taken
(EXIF), else the file's date, as the app's date filter."""

import json

import pytest
from click.testing import CliRunner

from db.errors import QueryError
from db.fulltext import Filters
from db.store import Store
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
