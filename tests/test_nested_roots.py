"""Roots inside roots (`/photos` and `/photos/Family` indexed apart): a root holds every photo under it, so
forgetting one keeps the photos another still holds, and a run's sweep weighs every photo under its root."""

from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import File
from db.store import Store
from tests.conftest import FakeCaptioner
from tests.helpers import db_state, index_with, paths_found
from tests.photos import COLOURS, photo, save_jpeg


@pytest.fixture
def store(data_dir):
    with Store.open(data_dir) as opened:
        yield opened


def photos_in(folder: Path, count: int, seed: int = 0) -> set[str]:
    return {
        str(save_jpeg(photo(colour=COLOURS[i % len(COLOURS)], noise=8, seed=seed + i), folder / f"IMG_{seed + i}.jpg"))
        for i in range(count)
    }


def roots_of_files(store: Store) -> dict[str, str]:
    with store.sessions() as session:
        return {path: root for path, root in session.execute(select(File.path, File.root))}


@pytest.fixture
def library(tmp_path) -> dict[str, set[str]]:
    """/photos with 3 photos of its own, /photos/Family with 2 and /photos/Family/2019 with 2; /photos2 beside."""
    photos = tmp_path / "photos"
    return {
        "photos": photos_in(photos, 3),
        "family": photos_in(photos / "Family", 2, seed=10),
        "2019": photos_in(photos / "Family" / "2019", 2, seed=20),
        "photos2": photos_in(tmp_path / "photos2", 2, seed=30),
    }


def test_forget_of_a_nested_root_keeps_the_photos_the_other_root_holds(store, library, tmp_path):
    photos = tmp_path / "photos"
    index_with(store, [photos / "Family"], FakeCaptioner())
    index_with(store, [photos], FakeCaptioner())  # the Family photos are unchanged: recorded under Family
    removed = store.forget_root(photos / "Family")
    everything = library["photos"] | library["family"] | library["2019"]
    assert removed == 0 and set(db_state(store)) == everything and store.stats()["images"] == 7
    assert paths_found(store, "*") == everything
    assert set(roots_of_files(store).values()) == {str(photos)}  # handed over: forgetting /photos removes them
    assert store.forget_root(photos) == 7 and db_state(store) == {}


def test_forget_of_the_outer_root_hands_its_photos_to_the_deepest_root_left_that_holds_them(store, library, tmp_path):
    photos = tmp_path / "photos"
    for root in (photos, photos / "Family", photos / "Family" / "2019", tmp_path / "photos2"):
        index_with(store, [root], FakeCaptioner())  # the nested ones find every photo unchanged
    assert store.forget_root(photos) == 3
    kept = library["family"] | library["2019"] | library["photos2"]
    assert set(db_state(store)) == kept and store.stats()["images"] == 6
    owners = roots_of_files(store)
    assert {owners[path] for path in library["family"]} == {str(photos / "Family")}
    assert {owners[path] for path in library["2019"]} == {str(photos / "Family" / "2019")}
    assert store.forget_root(photos / "Family") == 2  # /photos2 is not under /photos, nor 2019 under it now
    assert set(db_state(store)) == library["2019"] | library["photos2"]
    assert store.forget_root(photos / "Family" / "2019") == 2 and set(db_state(store)) == library["photos2"]


def test_every_path_is_under_the_root_of_the_file_system(store, library, tmp_path):
    index_with(store, [tmp_path / "photos"], FakeCaptioner())
    assert store.catalog.count_files("/") == 7
    assert store.catalog.count_files(str(tmp_path / "photos" / "Family")) == 4


def test_a_run_weighs_the_photos_a_nested_root_recorded_before_holding_back_their_removal(store, tmp_path):
    photos = tmp_path / "photos"
    photos_in(photos, 6)
    family = photos_in(photos / "Family", 4, seed=10)
    index_with(store, [photos / "Family"], FakeCaptioner())
    index_with(store, [photos], FakeCaptioner())
    for path in family:
        Path(path).unlink()
    report = index_with(store, [photos], FakeCaptioner())  # 4 of the 10 photos under /photos: no unmounted disk
    assert report.removed == 4 and not report.held_back
