"""Byte-identical copies (issue #24, item 7): the caption is made once for the bytes, but what a file and its
sidecars say (keywords, title, place, date, rating) is that file's alone."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from db.store import Store
from indexer.cli import cli
from tests.conftest import FakeCaptioner
from tests.helpers import index_with, paths_found
from tests.metadata_photos import xmp_packet
from tests.old_catalogs import as_schema_5
from tests.photos import photo, save_jpeg


@pytest.fixture
def copies(tmp_path):
    """The issue's example: a/IMG_1.jpg with a sidecar that says grandma, and its identical copy b/IMG_1.jpg."""
    root = tmp_path / "photos"
    first = save_jpeg(photo(colour=(220, 30, 30)), root / "a" / "IMG_1.jpg", taken="2019:07:14 18:00:00")
    (root / "a" / "IMG_1.jpg.xmp").write_bytes(
        xmp_packet(subjects=["grandma"], title="Her birthday", city="Zermatt", country="Switzerland", rating=5)
    )
    second = root / "b" / "IMG_1.jpg"
    second.parent.mkdir()
    shutil.copyfile(first, second)
    return root, str(first), str(second)


def test_a_copy_without_the_sidecar_does_not_take_its_keywords(copies, data_dir):
    root, first, second = copies
    captioner = FakeCaptioner()
    with Store.open(data_dir) as store:
        index_with(store, [root], captioner)
        assert sum(captioner.batches) == 1  # one caption for the bytes, shared
        assert paths_found(store, "tag:grandma") == {first}
        assert paths_found(store, "grandma") == {first} and paths_found(store, "zermatt") == {first}
        a, b = store.image_by_path(first), store.image_by_path(second)
        assert (a.caption, a.content_hash) == (b.caption, b.content_hash)
        assert (a.file_tags, a.title, a.place, a.rating) == (["grandma"], "Her birthday", "Zermatt, Switzerland", 5)
        assert (b.file_tags, b.title, b.place, b.rating) == ([], None, None, None)
        assert "grandma" in a.tags and "grandma" not in b.tags
        assert a.taken_at == b.taken_at  # the EXIF date is in the bytes both share
        assert store.tag_counts() and dict(store.tag_counts())["grandma"] == 1
        assert (store.stats()["file_keywords"], store.stats()["described"], store.stats()["placed"]) == (1, 1, 1)
        exported = {row.path: row for row in store.export_rows()}
        assert "grandma" in exported[first].tags and "grandma" not in exported[second].tags
        assert exported[second].title is None
    rows = json.loads(CliRunner().invoke(cli, ["search", "tag:grandma", "--json", "--data-dir", str(data_dir)]).stdout)
    assert [row["path"] for row in rows] == [first]


def test_the_sidecar_of_one_copy_changes_only_that_copy_and_never_recaptions(copies, data_dir):
    root, first, second = copies
    captioner = FakeCaptioner()
    with Store.open(data_dir) as store:
        index_with(store, [root], captioner)
        (root / "b" / "IMG_1.xmp").write_bytes(xmp_packet(subjects=["beach"]))
        (root / "a" / "IMG_1.jpg.xmp").unlink()
        report = index_with(store, [root], captioner)
        assert (report.metadata_read, sum(captioner.batches)) == (2, 1)
        assert paths_found(store, "tag:beach") == {second} and paths_found(store, "tag:grandma") == set()
        assert store.image_by_path(first).title is None


def test_a_persons_caption_and_tags_stay_with_the_bytes(copies, data_dir):
    root, first, second = copies
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
        store.set_caption(store.image_by_path(first).id, "grandma's cake")
        store.edit_tags(store.image_by_path(second).id, add=["party"], remove=["grandma"])
        a, b = store.image_by_path(first), store.image_by_path(second)
        assert a.caption == b.caption == "grandma's cake"
        assert "party" in a.tags and "party" in b.tags
        assert "grandma" not in a.file_tags  # a person removed the word: it stays removed, on every copy
        index_with(store, [root], FakeCaptioner())
        assert "grandma" not in store.image_by_path(first).tags


def test_a_schema_5_library_keeps_its_metadata_and_each_copy_reads_its_own_once(copies, data_dir):
    root, first, second = copies
    captioner = FakeCaptioner()
    with Store.open(data_dir) as store:
        index_with(store, [root], captioner)
        store.set_caption(store.image_by_path(second).id, "a red square on a table")
    as_schema_5(data_dir)  # one metadata record for both copies, grandma a tag of source `file`
    with Store.open(data_dir) as store:
        a, b = store.image_by_path(first), store.image_by_path(second)
        assert a.file_tags == b.file_tags == ["grandma"] and a.place == b.place == "Zermatt, Switzerland"
        assert a.caption == "a red square on a table" and {"square", "table"} <= set(a.tags)  # kept
        report = index_with(store, [root], captioner)
        assert (report.metadata_read, report.captioned, sum(captioner.batches)) == (2, 0, 1)
        assert paths_found(store, "tag:grandma") == {first}
        assert store.image_by_path(second).place is None
        assert index_with(store, [root], captioner).metadata_read == 0  # once


def test_upgrading_gives_an_auto_tag_a_file_keyword_had_taken_back_to_the_caption(copies, data_dir):
    root, first, second = copies
    (root / "a" / "IMG_1.jpg.xmp").write_bytes(xmp_packet(subjects=["car"]))  # also a word of the caption
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
    as_schema_5(data_dir)
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
        b = store.image_by_path(second)
        assert b.file_tags == [] and "car" in b.tags  # the caption's word, though this copy has no keyword
        assert store.image_by_path(first).file_tags == ["car"]
