"""A full disk, a catalog damaged in the middle, a damaged search index (issue #24, items 18 and 19): each is
made for real (a small tmpfs filled to the last byte, pages of captionary.db and Whoosh segments overwritten)."""

import errno
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from db.errors import BusyError, DamagedCatalogError
from db.models import Content, File
from db.sequence import mark_files_changed, next_seq
from db.store import Store
from indexer.cli import cli
from tests.conftest import FakeCaptioner
from tests.helpers import index_with, tmpfs_at
from tests.photos import photo, save_jpeg

GARBAGE = b"\xde\xad\xbe\xef" * 1024  # no SQLite page type starts with 0xde; no Whoosh header reads it


def cli_run(*arguments: str):
    return CliRunner().invoke(cli, [str(argument) for argument in arguments])


def lag_behind(store: Store, file_id: int, caption: str) -> None:
    """A caption committed to the catalog that the search index has not seen (a run killed between the two)."""
    with store.sessions.begin() as session:
        seq = next_seq(session)
        content_id = session.get(File, file_id).content_id
        session.get(Content, content_id).user_caption = caption
        mark_files_changed(session, seq, content_ids=[content_id])


@pytest.fixture
def small_disk(tmp_path):
    with tmpfs_at(tmp_path / "disk", "4m") as mount_point:
        yield mount_point


def fill(disk: Path) -> None:
    """Write until the disk refuses another byte."""
    with open(disk / "filler", "wb", buffering=0) as handle:
        for size in (1 << 16, 1 << 10, 1):
            try:
                while True:
                    handle.write(b"\0" * size)
            except OSError as error:
                assert error.errno == errno.ENOSPC
    assert shutil.disk_usage(disk).free == 0


# -- 18. a full disk ----------------------------------------------------------------------------------


def test_search_on_a_full_disk_answers_from_the_index_as_it_is(small_disk, photo_tree):
    data_dir = small_disk / "data"
    with Store.open(data_dir) as store:
        index_with(store, [photo_tree["root"]], FakeCaptioner())
        red = store.image_by_path(photo_tree["red"])
        lag_behind(store, red.id, "a green bicycle")  # search would sync it first
        fill(small_disk)
        # While another process (the app) holds the catalog open, its -shm file exists: the catalog opens as
        # usual and the full-text sync is what fails (it failed with "No space left on device").
        searched = cli_run("search", "car", "--data-dir", data_dir, "--mode", "keyword")
        assert searched.exit_code == 0, searched.output
        assert searched.stdout.startswith(str(photo_tree["red"]))
    (small_disk / "filler").unlink()
    Store.open(data_dir).close()  # the last one out removes the -shm and -wal files
    assert not (data_dir / "captionary.db-shm").exists()
    fill(small_disk)
    # Nothing holds it open now: SQLite cannot even make its -shm file (it said "is damaged (disk I/O error)"),
    # so the catalog is read as a read-only one is.
    for arguments in (["search", "car", "--mode", "keyword"], ["stats"]):
        result = cli_run(*arguments, "--data-dir", data_dir)
        assert result.exit_code == 0 and "Error" not in result.output, result.output
    checked = cli_run("check", "--data-dir", data_dir)
    assert checked.exit_code == 1 and "1 changes behind" in checked.stdout and checked.stderr == ""
    assert cli_run("search", "car", "--data-dir", data_dir, "--mode", "keyword").stdout.startswith(str(photo_tree["red"]))
    # A change says why it cannot be made, in one line.
    edit = cli_run("tag", photo_tree["red"], "--add", "bike", "--data-dir", data_dir)
    assert edit.exit_code == 1 and "disk" in edit.stderr and "is full" in edit.stderr and "sqlalche" not in edit.stderr
    (small_disk / "filler").unlink()
    searched = cli_run("search", "bicycle", "--data-dir", data_dir, "--mode", "keyword")
    assert searched.exit_code == 0 and searched.stdout.startswith(str(photo_tree["red"]))  # synced once there is room


def test_a_rebuild_that_finds_the_disk_full_keeps_the_index_it_had(small_disk, photo_tree):
    data_dir = small_disk / "data"
    with Store.open(data_dir) as store:
        index_with(store, [photo_tree["root"]], FakeCaptioner())
        fill(small_disk)  # the catalog stays open meanwhile, as the app holds it
        rebuilt = cli_run("rebuild-fulltext", "--data-dir", data_dir)
        assert rebuilt.exit_code == 1 and "is full" in rebuilt.stderr and "free some space" in rebuilt.stderr, rebuilt.output
        # was: the old index deleted first, then "search index ... is damaged" for every search
        searched = cli_run("search", "car", "--data-dir", data_dir, "--mode", "keyword")
        assert searched.exit_code == 0 and searched.stdout.startswith(str(photo_tree["red"])), searched.output
        assert cli_run("check", "--data-dir", data_dir).exit_code == 0
    (small_disk / "filler").unlink()
    assert cli_run("rebuild-fulltext", "--data-dir", data_dir).exit_code == 0
    assert [path.name for path in data_dir.iterdir() if path.name.startswith("fulltext.")] == []  # nothing half-built left


def test_an_export_onto_a_full_disk_says_so_and_keeps_the_file_it_had(small_disk, photo_tree, data_dir):
    with Store.open(data_dir) as store:
        index_with(store, [photo_tree["root"]], FakeCaptioner())
    target = small_disk / "captions.json"
    assert cli_run("export", "--output", target, "--data-dir", data_dir).exit_code == 0
    before = target.read_bytes()
    fill(small_disk)
    exported = cli_run("export", "--output", target, "--format", "csv", "--data-dir", data_dir)
    assert exported.exit_code == 1 and exported.stderr.startswith("Error: No space left on the disk writing "), exported.output
    assert "free some space" in exported.stderr and "Errno" not in exported.stderr  # was: "OSError: [Errno 28] ..."
    assert target.read_bytes() == before


# -- 19. a damaged catalog ----------------------------------------------------------------------------


def damage_pages(db_path: Path, *tables: str) -> None:
    """Overwrite the root page of each table: the catalog's first page and schema stay readable."""
    with sqlite3.connect(db_path) as connection:
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        query = "SELECT rootpage FROM sqlite_master WHERE name = ?"
        roots = [connection.execute(query, (table,)).fetchone()[0] for table in tables]
    with open(db_path, "r+b") as handle:
        for page in roots:
            assert page > 1
            handle.seek((page - 1) * page_size)
            handle.write(GARBAGE[:page_size])


@pytest.fixture
def damaged_catalog(photo_tree, data_dir):
    with Store.open(data_dir) as store:
        index_with(store, [photo_tree["root"]], FakeCaptioner())
    damage_pages(data_dir / "captionary.db", "files", "contents")
    return data_dir


def test_check_finds_a_catalog_damaged_in_the_middle(damaged_catalog):
    for arguments in (["check"], ["check", "--json"]):
        result = cli_run(*arguments, "--data-dir", damaged_catalog)
        assert result.exit_code == 1 and result.stdout == ""  # was: exit 0, "0 missing"
        assert "is damaged" in result.stderr and "restore it from a backup" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "arguments",
    [["stats"], ["search", "car"], ["export"], ["rebuild-fulltext"], ["set-caption", "RED", "a bicycle"], ["tag", "RED"]],
)
def test_every_command_names_a_damaged_catalog_and_how_to_recover(damaged_catalog, photo_tree, arguments):
    whoosh_files = sorted(path.name for path in (damaged_catalog / "fulltext").iterdir())
    arguments = [str(photo_tree["red"]) if argument == "RED" else argument for argument in arguments]
    result = cli_run(*arguments, "--data-dir", damaged_catalog)
    assert result.exit_code == 1, result.output
    message = result.stderr.strip().splitlines()[-1]
    assert "is damaged" in message and "restore it from a backup" in message and "run captionary index again" in message
    assert "DatabaseError" not in result.stderr and "sqlalche" not in result.stderr
    # rebuild-fulltext looks before it leaps: the search index is not thrown away for a catalog it cannot read
    assert sorted(path.name for path in (damaged_catalog / "fulltext").iterdir()) == whoosh_files


def test_an_index_run_on_a_damaged_catalog_names_it(damaged_catalog, photo_tree):
    with Store.open(damaged_catalog) as store, pytest.raises(DamagedCatalogError, match="restore it from a backup"):
        index_with(store, [photo_tree["root"]], FakeCaptioner())


# -- 19. a damaged search index -----------------------------------------------------------------------


def damage_segments(data_dir: Path) -> None:
    segments = list((data_dir / "fulltext").glob("*.seg"))
    assert segments
    for segment in segments:
        size = segment.stat().st_size
        with open(segment, "r+b") as handle:
            handle.seek(size // 3)
            handle.write((GARBAGE * (size // len(GARBAGE) + 1))[: size // 3])


@pytest.fixture
def indexed(photo_tree, data_dir):
    with Store.open(data_dir) as store:
        index_with(store, [photo_tree["root"]], FakeCaptioner())
    return data_dir


def test_a_damaged_search_index_is_rebuilt_from_the_catalog(indexed, photo_tree):
    damage_segments(indexed)
    result = cli_run("search", "car", "--data-dir", indexed, "--mode", "keyword")
    assert result.exit_code == 0, result.output  # was: exit 2, "Cannot run query: Unknown file header"
    assert result.stdout.startswith(str(photo_tree["red"]))
    assert cli_run("check", "--data-dir", indexed).exit_code == 0


def test_an_edit_on_a_damaged_search_index_rebuilds_it(indexed, photo_tree):
    damage_segments(indexed)
    edit = cli_run("set-caption", photo_tree["red"], "a green bicycle", "--data-dir", indexed, "--embedder", "none")
    assert edit.exit_code == 0, edit.output  # was: exit 1, "FileFormatError: Unknown file header" after saving
    assert cli_run("search", "bicycle", "--data-dir", indexed, "--mode", "keyword").stdout.startswith(str(photo_tree["red"]))


def test_check_names_a_damaged_search_index(indexed):
    damage_segments(indexed)
    result = cli_run("check", "--data-dir", indexed)
    assert result.exit_code == 1 and "damaged" in result.stdout and "captionary rebuild-fulltext" in result.stdout


def test_check_after_a_killed_run_says_the_next_search_catches_up_and_names_rebuild_only_for_what_it_would_not(
    indexed, photo_tree, monkeypatch
):
    with Store.open(indexed) as store:
        monkeypatch.setattr(Store, "sync_fulltext", lambda *args, **kwargs: None)  # killed before its sync
        for number in range(2):
            save_jpeg(photo(seed=50 + number), photo_tree["root"] / "new" / f"new{number}.jpg")
        index_with(store, [photo_tree["root"]], FakeCaptioner())
        monkeypatch.undo()
    behind = cli_run("check", "--data-dir", indexed)
    assert behind.exit_code == 1 and "2 missing" in behind.stdout and "changes behind" in behind.stdout  # as before
    assert "the next search or index run catches it up" in behind.stdout, behind.stdout
    assert "rebuild-fulltext" not in behind.stdout  # was: "fix the search index with: captionary rebuild-fulltext"
    assert cli_run("search", "car", "--data-dir", indexed, "--mode", "keyword").exit_code == 0
    assert cli_run("check", "--data-dir", indexed).exit_code == 0  # the search caught it up, as check said
    with Store.open(indexed) as store:  # a document lost from the index that no change to come would write again
        writer = store.fulltext.writer(timeout=5)
        store.fulltext.apply(writer, [], [store.image_by_path(photo_tree["root"] / "new" / "new0.jpg").id])
        store.fulltext.commit(writer)
    lost = cli_run("check", "--data-dir", indexed)
    assert lost.exit_code == 1 and "1 missing" in lost.stdout and "captionary rebuild-fulltext" in lost.stdout, lost.stdout


def test_a_damaged_search_index_that_cannot_be_rebuilt_is_named_exit_1(indexed):
    damage_segments(indexed)
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    made = subprocess.run(["chattr", "-R", "+i", str(indexed)], capture_output=True)  # read-only even for root
    if made.returncode:
        pytest.skip(f"chattr +i is not supported here: {made.stderr.decode().strip()}")
    try:
        result = cli_run("search", "car", "--data-dir", indexed, "--mode", "keyword")
    finally:
        subprocess.run(["chattr", "-R", "-i", str(indexed)], check=True)
    assert result.exit_code == 1, result.output  # never 2: that is for a query that cannot be parsed
    assert "search index" in result.stderr and "damaged" in result.stderr and "rebuild-fulltext" in result.stderr


def test_a_rebuild_never_deletes_the_index_under_a_writer(indexed):
    with Store.open(indexed) as store:
        writer = store.fulltext.writer(timeout=0)  # an index run in the middle of a full-text commit
        try:
            with pytest.raises(BusyError):
                store.sync_fulltext(wait=0.5, rebuild=True)  # a rebuild waits this long for the writer to finish
            assert list((indexed / "fulltext").glob("*.seg"))  # was: the whole folder deleted under it
        finally:
            writer.cancel()
        assert store.sync_fulltext(rebuild=True)


def test_searches_during_a_rebuild_answer_from_the_old_index(indexed, photo_tree, monkeypatch):
    from db.fulltext import FulltextIndex

    answers = []
    apply = FulltextIndex.apply

    def apply_then_search(self, writer, docs, deleted):  # half-way through the rebuild, another process searches
        apply(self, writer, docs, deleted)
        with Store.open_existing(indexed) as other:
            answers.append([hit.image.path for hit in other.search("car", mode="keyword").hits])

    monkeypatch.setattr(FulltextIndex, "apply", apply_then_search)
    with Store.open(indexed) as store:
        assert store.sync_fulltext(rebuild=True)
    assert answers == [[str(photo_tree["red"])]]  # was: an empty index, or "damaged" while it was deleted
    monkeypatch.setattr(FulltextIndex, "apply", apply)
    assert cli_run("search", "car", "--data-dir", indexed, "--mode", "keyword").stdout.startswith(str(photo_tree["red"]))


def test_a_file_where_the_search_index_belongs_is_replaced_by_a_rebuild(indexed, photo_tree):
    shutil.rmtree(indexed / "fulltext")
    (indexed / "fulltext").write_text("not an index")
    rebuilt = cli_run("rebuild-fulltext", "--data-dir", indexed)
    assert rebuilt.exit_code == 0, rebuilt.output  # was: "damaged ... run rebuild-fulltext", from rebuild-fulltext
    assert cli_run("search", "car", "--data-dir", indexed, "--mode", "keyword").stdout.startswith(str(photo_tree["red"]))


def test_changes_made_while_the_index_is_rebuilt_all_reach_the_new_index(indexed, photo_tree):
    from sqlalchemy import select

    from db.schema import writing
    from db.sequence import delete_files

    rebuilder, other = Store.open_existing(indexed), Store.open_existing(indexed)  # two processes, in effect
    with other.sessions() as session:
        red, park = (session.scalar(select(File.id).where(File.path == str(photo_tree[name]))) for name in ("red", "park"))
    synced_beside = []

    def meanwhile(moment: str) -> None:
        if moment != "fulltext-write":
            return  # every document is in the new index, which is not in place yet
        other.fulltext_sync.show_edit = lambda: None  # the edit commits; its own sync is tried below
        other.set_caption(red, "a zebra grazing")
        with writing(other.sessions, 5) as session:  # an index run removes a photo
            delete_files(session, next_seq(session), [park])
        synced_beside.append(other.sync_fulltext(wait=0))  # that run's full-text sync

    rebuilder.checkpoint = meanwhile
    try:
        assert rebuilder.sync_fulltext(rebuild=True)
        rebuilder.checkpoint = Store.checkpoint
        assert synced_beside == [False]  # it waits for the rebuild, rather than write into the index being replaced
        assert rebuilder.sync_fulltext(wait=0)
        report = rebuilder.check()
        assert (report.fulltext_lag, report.stale_in_fulltext, report.missing_in_fulltext) == (0, [], [])
        assert [hit.image.path for hit in rebuilder.search("zebra", mode="keyword").hits] == [str(photo_tree["red"])]
    finally:
        rebuilder.close()
        other.close()


def test_a_rebuild_the_catalog_cannot_note_puts_the_old_index_back(indexed):
    with Store.open_existing(indexed) as store:
        before = store.fulltext.index_id()
        busy = sqlite3.connect(indexed / "captionary.db", timeout=5)
        busy.execute("BEGIN IMMEDIATE")  # an index run committing a batch for longer than the rebuild waits
        try:
            with pytest.raises(BusyError):
                store.sync_fulltext(wait=0.3, rebuild=True)
        finally:
            busy.rollback()
            busy.close()
        assert store.fulltext.index_id() == before and store.fulltext_sync.lag() == 0  # was: a new index nobody noted
    left = sorted(path.name for path in indexed.iterdir() if path.name.startswith("fulltext"))
    assert left == ["fulltext", "fulltext-rebuild.lock"]


def test_what_a_killed_rebuild_left_is_swept_by_the_next_run(indexed, photo_tree):
    leftover = indexed / "fulltext.building-0123abcd"
    shutil.copytree(indexed / "fulltext", leftover)  # a kill between the swap and the sweep leaves the old index here
    with Store.open_existing(indexed) as store:
        index_with(store, [photo_tree["root"]], FakeCaptioner())
    assert not leftover.exists()
