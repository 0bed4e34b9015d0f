"""Files the disk allows and a library must take (issue #24, items 1 and 3): a name that is not UTF-8 (café.jpg
written in Latin-1, as old archives and Samba shares hold them) and a modification time after 2262 or before
1970. Each once stopped every run with 0 photos indexed."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from db.columns import display_text, real_path, stored_path
from db.errors import NotIndexedError
from db.models import File
from db.sidecars import sidecar_signature, signature_entries
from db.store import Store
from db.types import Filters
from indexer import pipeline
from indexer.cli import cli
from tests.conftest import FakeCaptioner
from tests.helpers import index_with, paths_found
from tests.metadata_photos import xmp_packet
from tests.old_catalogs import as_schema_5
from tests.photos import COLOURS, photo, save_jpeg

LATIN1 = b"caf\xe9"  # "café" in Latin-1: not UTF-8


@pytest.fixture
def latin1_tree(tmp_path) -> tuple[Path, str]:
    """photos/ok.jpg and photos/café/café.jpg, the second written by its bytes."""
    root = tmp_path / "photos"
    save_jpeg(photo(colour=COLOURS[0]), root / "ok.jpg")
    folder = os.path.join(os.fsencode(root), LATIN1)
    os.mkdir(folder)
    odd = os.path.join(folder, LATIN1 + b".jpg")
    with open(odd, "wb") as handle:
        photo(colour=COLOURS[1]).save(handle, "JPEG")
    assert LATIN1 + b".jpg" in os.listdir(folder)  # the name on disk is the Latin-1 bytes
    return root, os.fsdecode(odd)


def file_rows(store: Store) -> int:
    with store.sessions() as session:
        return session.scalar(select(func.count()).select_from(File)) or 0


def test_paths_are_stored_losslessly_and_shown_with_a_replacement_character():
    for path in ["/a/caf\udce9.jpg", "/a/\uffff\udce9/\uffffdce9.jpg", "/plain/ascii.jpg", "/ü/\uffff\uffff"]:
        assert real_path(stored_path(path)) == path
        stored_path(path).encode("utf-8")  # what SQLite and Whoosh can take
    assert display_text("/a/caf\udce9.jpg") == "/a/caf\ufffd.jpg"


def test_a_name_that_is_not_utf8_is_indexed_searched_and_shown(latin1_tree, data_dir):
    root, odd = latin1_tree
    with Store.open(data_dir) as store:
        report = index_with(store, [root], FakeCaptioner())
        assert (report.captioned, report.failed) == (2, 0)
        assert paths_found(store, "dog") == {odd}  # the blue photo's caption, found at its real path
        assert paths_found(store, "file:caf") == {odd}
        folder = os.path.dirname(odd)
        assert [hit.image.path for hit in store.search("", Filters(folder=folder), mode="keyword").hits] == [odd]
        record = store.image_by_path(odd)
        with open(record.path, "rb") as handle:  # the path read back opens the real bytes
            assert handle.read(2) == b"\xff\xd8"
        assert [row.path for row in store.export_rows()] == sorted([str(root / "ok.jpg"), odd])
        assert index_with(store, [root], FakeCaptioner()).unchanged == 2 and file_rows(store) == 2


def test_a_name_holding_the_escape_character_survives_the_upgrade(tmp_path, data_dir):
    root = tmp_path / "photos"
    odd = save_jpeg(photo(colour=COLOURS[1]), root / "sea\uffffdce9.jpg")  # valid UTF-8 that looks like an escape
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
    as_schema_5(data_dir)
    with Store.open(data_dir) as store:
        assert store.image_by_path(odd).path == str(odd)
        again = index_with(store, [root], FakeCaptioner())
        # known at its path: neither captioned nor reused as a new file, only its metadata read once (schema 7)
        assert (again.captioned, again.reused, again.metadata_read) == (0, 0, 1) and file_rows(store) == 1
        assert paths_found(store, "dog") == {str(odd)}


def test_the_cli_prints_a_name_that_is_not_utf8_and_edits_it_by_that_path(latin1_tree, data_dir, monkeypatch, tmp_path):
    root, odd = latin1_tree
    shown = display_text(odd)
    monkeypatch.setattr(pipeline, "load_captioner", lambda options: FakeCaptioner())
    runner = CliRunner()  # its stdout is strict UTF-8, as a terminal's is: a lone surrogate would raise
    library = ["--data-dir", str(data_dir)]
    indexed = runner.invoke(cli, ["index", str(root), *library, "--no-embeddings"])
    assert indexed.exit_code == 0 and indexed.stdout.startswith("2 captioned"), indexed.output
    found = runner.invoke(cli, ["search", "dog", *library])
    assert found.exit_code == 0 and found.stdout.startswith(f"{shown}  a dog running"), found.output
    rows = json.loads(runner.invoke(cli, ["search", "dog", "--json", *library]).stdout)
    assert [row["path"] for row in rows] == [shown] and "\ufffd" in shown
    stats = runner.invoke(cli, ["stats", *library])
    assert stats.exit_code == 0 and "images:     2" in stats.stdout
    exported = runner.invoke(cli, ["export", "--format", "json", *library])
    assert exported.exit_code == 0 and shown in [row["path"] for row in json.loads(exported.stdout)]
    assert shown in runner.invoke(cli, ["export", *library]).stdout  # CSV
    captioned = runner.invoke(cli, ["set-caption", odd, "a cup of coffee", *library])
    assert captioned.exit_code == 0 and captioned.stdout == f"{shown}: a cup of coffee\n", captioned.output
    tagged = runner.invoke(cli, ["tag", odd, "--add", "paris", "--json", *library])
    assert tagged.exit_code == 0 and "paris" in json.loads(tagged.stdout)["tags"]
    assert runner.invoke(cli, ["forget", str(root), *library]).exit_code == 0
    again = runner.invoke(cli, ["index", str(root), *library, "--no-embeddings"])
    assert again.exit_code == 0 and again.stdout.startswith("0 captioned"), again.output  # bytes known: reused
    again = runner.invoke(cli, ["index", str(root), *library, "--no-embeddings"])
    assert again.stdout.startswith("0 captioned, 2 unchanged")
    with Store.open(data_dir) as store:
        assert file_rows(store) == 2 and store.image_by_path(odd).caption == "a cup of coffee"


def test_a_skipped_file_whose_name_is_not_utf8_is_recorded_and_named(tmp_path, data_dir, monkeypatch):
    root = tmp_path / "photos"
    save_jpeg(photo(colour=COLOURS[0]), root / "ok.jpg")
    video, other = (os.path.join(os.fsencode(root), name) for name in (LATIN1 + b".mov", b"notes." + LATIN1))
    for name in (video, other):  # a video named in Latin-1, and a file whose extension is not UTF-8
        with open(name, "wb") as handle:
            handle.write(b"\x00\x00\x00\x14ftypqt  ")
    shown = display_text(os.fsdecode(video))
    monkeypatch.setattr(pipeline, "load_captioner", lambda options: FakeCaptioner())
    runner = CliRunner()  # strict UTF-8 stdout: a lone surrogate would raise
    library = ["--data-dir", str(data_dir)]
    indexed = runner.invoke(cli, ["index", str(root), *library, "--no-embeddings"])
    assert indexed.exit_code == 0, indexed.output
    assert "; 2 skipped: 1 .caf\ufffd (not a photo type), 1 .mov (video)" in indexed.stdout
    assert f"  skipped: {shown} (video)" in indexed.stdout
    numbers = json.loads(runner.invoke(cli, ["stats", "--json", *library]).stdout)
    assert {row["path"] for row in numbers["skipped_files"]} == {shown, display_text(os.fsdecode(other))}
    listed = runner.invoke(cli, ["stats", *library])
    assert listed.exit_code == 0 and f"  skipped: {shown} (video)" in listed.stdout, listed.output
    with Store.open(data_dir) as store:  # kept losslessly: the real path, as the scan found it
        assert {row["path"] for row in store.skipped_files()} == {os.fsdecode(video), os.fsdecode(other)}


def test_the_app_shows_a_name_that_is_not_utf8(latin1_tree, data_dir, monkeypatch):
    from tests.test_app import metadata, search, shown_names, start_app

    root, odd = latin1_tree
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
        photo_id = store.image_by_path(odd).id
    app = search(start_app(data_dir, monkeypatch), "dog")
    assert shown_names(app) == ["caf\ufffd.jpg"]
    app.selectbox(key="folder").select(os.path.dirname(odd)).run()  # the folder filter, by its real path
    assert not app.exception and shown_names(app) == ["caf\ufffd.jpg"]
    app.session_state["selected"] = photo_id  # the photo view reads the photo by its id
    app.run()
    assert not app.exception, app.exception
    assert display_text(odd) in metadata(app)


def far_mtime(path: Path, when: datetime) -> int:
    nanoseconds = int((when.replace(tzinfo=timezone.utc) - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds()) * 10**9
    os.utime(path, ns=(nanoseconds, nanoseconds))
    return os.stat(path).st_mtime_ns


def test_a_file_dated_after_2262_or_before_1970_is_indexed_and_then_unchanged(tmp_path, data_dir):
    root = tmp_path / "photos"
    future, past = (
        save_jpeg(photo(colour=COLOURS[0]), root / "future.jpg"),
        save_jpeg(photo(colour=COLOURS[1]), root / "past.jpg"),
    )
    assert far_mtime(future, datetime(2300, 1, 1)) > 2**63  # touch -d 2300-01-01: past SQLite's INTEGER
    past_ns = far_mtime(past, datetime(1900, 1, 1))  # ext4 keeps 1901-12-13 at the earliest
    assert past_ns < 0
    with Store.open(data_dir) as store:
        report = index_with(store, [root], FakeCaptioner())
        assert (report.captioned, report.failed) == (2, 0)
        assert store.image_by_path(future).mtime.year == 2262  # kept at the last time SQLite can hold
        assert store.image_by_path(past).mtime == datetime.fromtimestamp(past_ns / 1e9, timezone.utc).replace(tzinfo=None)
        assert paths_found(store, "car") == {str(future)}
        again = index_with(store, [root], FakeCaptioner())
        assert (again.unchanged, again.captioned, again.reused) == (2, 0, 0)  # not read again on every run
        (root / "future.jpg.xmp").write_text("<x/>")  # a sidecar added: its metadata alone is read again
        assert index_with(store, [root], FakeCaptioner()).metadata_read == 1


@pytest.mark.parametrize(
    "stem",
    [b"new\nline", b"back\\slash \\u000a", b"carriage\rreturn\ttab", b"line\xe2\x80\xa8separator", LATIN1],
    ids=["newline", "backslash", "return-and-tab", "unicode-line-separator", "latin1"],
)
def test_the_sidecar_of_a_photo_with_any_name_is_read_and_then_unchanged(tmp_path, data_dir, stem):
    root = tmp_path / "photos"
    root.mkdir()
    name = os.path.join(os.fsencode(root), stem + b".jpg")
    with open(name, "wb") as handle:
        photo(colour=COLOURS[2]).save(handle, "JPEG")
    with open(name + b".xmp", "wb") as handle:
        handle.write(xmp_packet(subjects=["Grandma"], title=None))
    with Store.open(data_dir) as store:
        report = index_with(store, [root], FakeCaptioner())
        assert (report.captioned, report.failed, report.skipped) == (1, 0, [])
        assert store.image_by_path(os.fsdecode(name)).file_tags == ["grandma"]  # was []: the sidecar was not read
        again = index_with(store, [root], FakeCaptioner())
        assert (again.unchanged, again.metadata_read) == (1, 0)


def test_a_plain_sidecar_name_is_stored_as_it_always_was():
    # a library indexed before names were escaped keeps its signatures: nothing is read again after the upgrade
    assert sidecar_signature([("IMG_1.jpg.xmp", 12, 34), ("IMG_1.xmp", 5, -6)]) == "IMG_1.jpg.xmp\t12\t34\nIMG_1.xmp\t5\t-6"
    odd = [("a\\u000a\n\r\t\\.xmp", 1, 2), ("caf\udce9.xmp", 3, 4)]
    assert signature_entries(sidecar_signature(odd)) == odd
    sidecar_signature(odd).encode("utf-8")  # what XML (captionary:sources in an exported sidecar) can hold


def test_a_library_folder_named_like_a_uri_keeps_its_catalog_inside(photo_tree, tmp_path):
    data_dir = tmp_path / "libraries" / "library #1?%20&mode=ro"
    with Store.open(data_dir) as store:
        index_with(store, [photo_tree["root"]], FakeCaptioner())
    assert [path.name for path in data_dir.parent.iterdir()] == [data_dir.name]
    # opened as a full disk opens it: the read-only open took the path up to "#", a catalog that is not there
    with Store._open(data_dir, create=False, read_only_reason="a test") as read_only:
        assert read_only.read_only and paths_found(read_only, "car") == {str(photo_tree["red"])}


def test_a_name_copied_from_captionarys_output_names_the_photo(latin1_tree, data_dir, tmp_path):
    # What search, export and the app show is all a person can copy: U+FFFD where a byte is not UTF-8.
    root, odd = latin1_tree
    shown = display_text(odd)
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
        assert store.image_by_path(shown).path == odd
        # a second name shown alike (café.jpg beside cafè.jpg, both in Latin-1) is named by neither spelling
        other = os.path.join(os.fsencode(os.path.dirname(odd)), b"caf\xe8.jpg")
        with open(other, "wb") as handle:
            photo(colour=COLOURS[2]).save(handle, "JPEG")
        index_with(store, [root], FakeCaptioner())
        with pytest.raises(NotIndexedError, match="as your shell completes it"):
            store.image_by_path(shown)
        assert store.image_by_path(odd).path == odd


def test_a_name_that_really_holds_the_replacement_character_is_never_taken_for_another(latin1_tree, data_dir):
    root, odd = latin1_tree
    real = os.path.join(os.path.dirname(odd), "caf\ufffd.jpg")  # valid UTF-8, shown as the Latin-1 name is
    with open(real, "wb") as handle:
        handle.write(b"\xff\xd8 not really")
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
        with pytest.raises(NotIndexedError, match="could not be read when it was indexed"):
            store.image_by_path(real)  # its own record, not café.jpg's
