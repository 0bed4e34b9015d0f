"""Indexing and re-indexing: incremental, rename-aware, edits kept, models, roots, schema, locking."""

import os
import shutil
import sqlite3
import time

import pytest

from db.errors import CaptionaryError, IndexLockedError, ModelLoadError, SchemaTooNewError
from db.models import SCHEMA_VERSION, Content, utcnow
from db.records import thumbnail_path
from db.sequence import mark_files_changed, next_seq
from db.store import Store
from indexer.options import IndexOptions
from indexer.pipeline import index_roots
from indexer.workers import ordered_prefetch
from tests.conftest import FakeCaptioner, tree_snapshot
from tests.helpers import db_state, paths_found
from tests.photos import COLOURS, photo, save_jpeg


class CountingFactory:
    """A captioner factory that records whether the model was loaded at all."""

    def __init__(self, model_id="fake-model"):
        self.loads = 0
        self.captioner = FakeCaptioner(model_id)

    def __call__(self, options):
        self.loads += 1
        return self.captioner

    def images_captioned(self):
        return sum(self.captioner.batches)


def run(store, root, factory, **options):
    options.setdefault("model", factory.captioner.model_id)
    options.setdefault("embeddings", False)
    return index_roots(store, [root], IndexOptions(**options), factory)


@pytest.fixture
def store(data_dir):
    with Store.open(data_dir) as opened:
        yield opened


def test_first_index_records_images_and_failures(store, photo_tree):
    factory = CountingFactory()
    report = run(store, photo_tree["root"], factory)
    stats = store.stats()
    # 5 tree photos + 11 formats; the 4 bad files are recorded, not fatal
    assert (report.captioned, report.failed) == (15, 4)
    assert stats["images"] == 16 and stats["failed"] == 4
    # photo.jpg and PHOTO_UPPER.JPEG are byte-identical: captioned once, both searchable
    assert report.reused == 1 and stats["duplicates"] == 1
    assert factory.images_captioned() == 15
    reasons = dict(store.failures())
    assert reasons[str(photo_tree["bad"]["empty"])] == "empty file"


def test_the_feeds_hash_lookups_hold_no_snapshot_that_would_stop_a_checkpoint(store, photo_tree, data_dir):
    run(store, photo_tree["root"], CountingFactory())
    known = store.image_by_path(photo_tree["red"])
    with store.catalog.hash_lookups() as lookup:
        assert lookup(known.content_hash) == ("fake-model", False) and lookup("0" * 64) is None
        with store.sessions.begin() as session:  # a batch written meanwhile
            session.add(
                Content(hash="f" * 64, width=1, height=1, format="JPEG", caption="c", model="late", captioned_at=utcnow())
            )
        assert lookup("f" * 64) == ("late", False)  # seen at once: no snapshot from before it
        other = sqlite3.connect(data_dir / "captionary.db")
        busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        other.close()
        assert busy == 0  # a reader holding a snapshot makes TRUNCATE busy, and the WAL grows all run


def test_metadata_is_stored(store, photo_tree):
    run(store, photo_tree["root"], CountingFactory())
    red = store.image_by_path(photo_tree["red"])
    assert (red.width, red.height, red.format, red.camera) == (64, 48, "JPEG", "Pixel 4")
    assert red.taken_at.year == 2019 and red.model == "fake-model"
    rotated = store.image_by_path(photo_tree["rotated"])
    assert (rotated.width, rotated.height) == (40, 80)  # EXIF orientation applied


def test_index_writes_nothing_into_the_photo_tree(store, photo_tree):
    before = tree_snapshot(photo_tree["root"])
    run(store, photo_tree["root"], CountingFactory())
    assert tree_snapshot(photo_tree["root"]) == before


def test_reindex_skips_unchanged_images_without_loading_the_model(store, photo_tree):
    run(store, photo_tree["root"], CountingFactory())
    second = CountingFactory()
    report = run(store, photo_tree["root"], second)
    # the 4 files that failed still fail (until they change): counted failed, not unchanged
    assert (report.captioned, report.unchanged, report.failed) == (0, 16, 4)
    # an unchanged tree costs a stat per file: the model is never even loaded
    assert second.loads == 0
    assert "0 captioned, 16 unchanged, 0 reused, 4 failed" in report.summary()


def test_new_and_modified_files_are_captioned(store, photo_tree):
    run(store, photo_tree["root"], CountingFactory())
    save_jpeg(photo(colour=COLOURS[0]), photo_tree["root"] / "2022" / "new.jpg")
    # overwrite the park photo with the red-car picture: new bytes, new caption
    save_jpeg(photo(colour=COLOURS[0], size=(70, 50)), photo_tree["park"])
    factory = CountingFactory()
    report = run(store, photo_tree["root"], factory)
    assert report.captioned == 2 and factory.images_captioned() == 2
    assert store.image_by_path(photo_tree["park"]).caption == "a red car parked on a city street"
    assert str(photo_tree["park"]) in paths_found(store, "car")
    assert str(photo_tree["park"]) not in paths_found(store, "children")


def test_touched_file_with_same_bytes_is_not_recaptioned(store, photo_tree):
    run(store, photo_tree["root"], CountingFactory())
    later = time.time() + 100
    os.utime(photo_tree["red"], (later, later))
    factory = CountingFactory()
    report = run(store, photo_tree["root"], factory)
    assert report.reused == 1 and report.captioned == 0 and factory.images_captioned() == 0
    # the new mtime is recorded, so the next run does not hash it again
    assert run(store, photo_tree["root"], CountingFactory()).unchanged == 16  # and 4 failed, as before


def test_deleted_files_disappear_from_db_and_search(store, photo_tree):
    run(store, photo_tree["root"], CountingFactory())
    photo_tree["red"].unlink()
    report = run(store, photo_tree["root"], CountingFactory())
    assert report.removed == 1
    assert paths_found(store, "car") == set()
    assert str(photo_tree["red"]) not in db_state(store)
    assert store.check().ok


def test_moved_file_keeps_caption_without_the_model(store, photo_tree, tmp_path):
    other_root = tmp_path / "other"
    other_root.mkdir()
    run(store, photo_tree["root"], CountingFactory())
    run(store, other_root, CountingFactory())
    thumbnail = thumbnail_path(store.thumbnail_dir, store.image_by_path(photo_tree["red"]).content_hash)
    assert thumbnail.exists()
    renamed = photo_tree["root"] / "2019" / "renamed car.jpg"
    os.rename(photo_tree["red"], renamed)
    shutil.move(photo_tree["park"], other_root / "park.jpg")  # across roots
    factory = CountingFactory()
    first = run(store, photo_tree["root"], factory)
    second = run(store, other_root, factory)
    # a move is a path update: no model call, and no model loaded
    assert factory.images_captioned() == 0 and factory.loads == 0
    assert first.reused == 1 and first.removed == 2 and second.reused == 1
    # the park's old path went in the first run (a removal there); to the second it is a photo come back, not a move
    assert first.moved == 1 and second.moved == 0
    assert paths_found(store, "car") == {str(renamed)}
    assert str(other_root / "park.jpg") in paths_found(store, "children")
    assert str(photo_tree["park"]) not in paths_found(store, "children")
    # the thumbnail is keyed by content, so it survives the move
    assert thumbnail.exists()


class CannotLoad(CountingFactory):
    """The model of a library indexed with --model PATH, re-run without it offline: it cannot load."""

    def __call__(self, options):
        raise ModelLoadError(f"Cannot download model {options.model}")


def test_renames_moves_and_touched_photos_are_recorded_when_the_model_cannot_load(store, photo_tree):
    run(store, photo_tree["root"], CountingFactory())
    renamed = photo_tree["root"] / "2019" / "renamed car.jpg"
    os.rename(photo_tree["red"], renamed)
    os.makedirs(photo_tree["root"] / "moved")
    shutil.move(photo_tree["park"], photo_tree["root"] / "moved" / "park.jpg")
    touched = os.stat(photo_tree["beach"])
    os.utime(photo_tree["beach"], ns=(touched.st_atime_ns, touched.st_mtime_ns + 10**9))
    shutil.copy(photo_tree["rotated"], photo_tree["root"] / "copy.jpg")
    report = run(store, photo_tree["root"], CannotLoad(), model="nlpconnect/vit-gpt2-image-captioning")
    assert (report.captioned, report.reused, report.removed) == (0, 4, 2)
    # the summary says which were moves: a touched photo and a copy are reused too, and their old paths stay
    assert report.moved == 2 and "; 2 of the reused were moved or renamed" in report.summary()
    assert paths_found(store, "car") == {str(renamed)}
    assert str(photo_tree["root"] / "moved" / "park.jpg") in paths_found(store, "children")
    assert str(photo_tree["park"]) not in db_state(store) and store.check().ok


def test_a_new_photo_among_renames_loads_the_model_once_and_is_the_only_one_captioned(store, photo_tree):
    run(store, photo_tree["root"], CountingFactory())
    os.rename(photo_tree["red"], photo_tree["root"] / "2019" / "renamed car.jpg")
    save_jpeg(photo(colour=COLOURS[2], size=(90, 60), seed=7), photo_tree["root"] / "2019" / "new.jpg")
    factory = CountingFactory()
    report = run(store, photo_tree["root"], factory)
    assert factory.loads == 1 and factory.images_captioned() == 1
    assert (report.captioned, report.reused, report.removed) == (1, 1, 1)
    save_jpeg(photo(colour=COLOURS[3], size=(90, 60), seed=8), photo_tree["root"] / "newer.jpg")
    with pytest.raises(ModelLoadError):  # a new photo does need the model
        run(store, photo_tree["root"], CannotLoad())


def test_user_caption_survives_reindex_and_recaption(store, photo_tree):
    run(store, photo_tree["root"], CountingFactory())
    red = store.image_by_path(photo_tree["red"])
    store.set_caption(red.id, "Grandpa's old Volvo")
    assert paths_found(store, "volvo") == {str(photo_tree["red"])}
    run(store, photo_tree["root"], CountingFactory("other-model"), recaption=True)
    assert store.image_by_path(photo_tree["red"]).caption == "Grandpa's old Volvo"
    # editing the photo's bytes keeps the person's caption on the path
    save_jpeg(photo(colour=COLOURS[0], size=(90, 60)), photo_tree["red"])
    run(store, photo_tree["root"], CountingFactory())
    assert store.image_by_path(photo_tree["red"]).caption == "Grandpa's old Volvo"
    assert store.image_by_path(photo_tree["red"]).edited


def test_reverting_a_user_caption_restores_the_models(store, photo_tree):
    run(store, photo_tree["root"], CountingFactory())
    red = store.image_by_path(photo_tree["red"])
    store.set_caption(red.id, "mine")
    reverted = store.set_caption(red.id, None)
    assert reverted.caption == "a red car parked on a city street" and not reverted.edited
    with pytest.raises(CaptionaryError):
        store.set_caption(red.id, "   ")


def test_model_change_keeps_old_captions_unless_recaption(store, photo_tree):
    run(store, photo_tree["root"], CountingFactory("model-a"))
    save_jpeg(photo(colour=COLOURS[2], size=(66, 50)), photo_tree["root"] / "new.jpg")
    factory_b = CountingFactory("model-b")
    report = run(store, photo_tree["root"], factory_b)
    # only the new file goes to model-b; the summary says how many are from another model
    assert report.captioned == 1 and report.other_model == 16
    assert "16 captions are from another model" in report.summary()
    assert store.image_by_path(photo_tree["root"] / "new.jpg").model == "model-b"
    assert store.image_by_path(photo_tree["red"]).model == "model-a"
    recaption = CountingFactory("model-b")
    report = run(store, photo_tree["root"], recaption, recaption=True)
    # 15 distinct contents from model-a (one duplicate pair) are re-captioned, each once
    assert recaption.images_captioned() == 15 and report.other_model == 0
    assert store.stats()["model"] == ["model-b"]


def test_exclude_removes_matching_paths(store, photo_tree):
    run(store, photo_tree["root"], CountingFactory())
    report = run(store, photo_tree["root"], CountingFactory(), excludes=["formats"])
    assert report.removed == 11
    assert not any("/formats/" in path for path in db_state(store))


def test_forget_root_removes_everything_under_it(store, photo_tree):
    before = tree_snapshot(photo_tree["root"])
    run(store, photo_tree["root"], CountingFactory())
    removed = store.forget_root(photo_tree["root"])
    assert removed == 20 and db_state(store) == {}
    assert paths_found(store, "*") == set()
    assert store.stats()["roots"] == []
    assert tree_snapshot(photo_tree["root"]) == before  # files untouched
    again = run(store, photo_tree["root"], CountingFactory())
    # their captions are kept for a while, so nothing is captioned again; nothing moved either
    assert (again.captioned, again.reused, again.moved) == (0, 16, 0)


def test_missing_root_is_an_error_not_a_mass_delete(store, photo_tree, tmp_path):
    run(store, photo_tree["root"], CountingFactory())
    with pytest.raises(CaptionaryError, match="not a folder"):
        run(store, tmp_path / "unmounted", CountingFactory())
    assert store.stats()["images"] == 16


def test_unreadable_subfolder_is_not_swept(store, photo_tree, monkeypatch):
    run(store, photo_tree["root"], CountingFactory())
    holidays = str(photo_tree["beach"].parent)
    real_scandir = os.scandir

    def failing_scandir(path):
        if str(path) == holidays:
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", failing_scandir)
    report = run(store, photo_tree["root"], CountingFactory())
    # the photos we could not list are kept, not deleted
    assert report.removed == 0 and holidays in dict(report.unreadable_folders)
    assert str(photo_tree["beach"]) in db_state(store)


def test_second_indexer_on_same_data_dir_is_refused(store, photo_tree):
    from filelock import FileLock

    with FileLock(str(store.data_dir / "index.lock")):
        with pytest.raises(IndexLockedError, match="already running"):
            run(store, photo_tree["root"], CountingFactory())


def test_db_from_newer_schema_is_refused(data_dir):
    Store.open(data_dir).close()
    with sqlite3.connect(data_dir / "captionary.db") as connection:
        connection.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(SchemaTooNewError, match="newer captionary"):
        Store.open(data_dir)


def test_schema_version_is_recorded(store):
    with sqlite3.connect(store.data_dir / "captionary.db") as connection:
        version = connection.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
    assert int(version) == SCHEMA_VERSION


def test_lagging_fulltext_is_repaired_by_search(store, photo_tree):
    run(store, photo_tree["root"], CountingFactory())
    # Simulate a crash after the DB commit but before Whoosh saw it.
    with store.sessions.begin() as session:
        seq = next_seq(session)
        session.get(Content, 1).user_caption = "zebra crossing"
        mark_files_changed(session, seq, content_ids=[1])
    assert store.check().fulltext_lag == 1
    assert paths_found(store, "zebra")  # search noticed the lag and synced first
    assert store.check().ok


def test_deleted_fulltext_directory_is_rebuilt(store, photo_tree):
    run(store, photo_tree["root"], CountingFactory())
    store.fulltext.close()
    shutil.rmtree(store.data_dir / "fulltext")
    assert len(paths_found(store, "*")) == 16


def test_check_reports_stale_documents_and_rebuild_fixes_them(store, photo_tree):
    run(store, photo_tree["root"], CountingFactory())
    writer = store.fulltext.index.writer()
    writer.add_document(id="99999", caption="ghost")
    writer.commit()
    report = store.check()
    assert report.stale_in_fulltext == [99999] and not report.ok
    store.sync_fulltext(rebuild=True)
    assert store.check().ok


def test_check_reports_files_missing_on_disk(store, photo_tree):
    run(store, photo_tree["root"], CountingFactory())
    photo_tree["park"].unlink()
    assert store.check().missing_on_disk == [str(photo_tree["park"])]


def test_batches_reach_the_model_at_batch_size(store, tmp_path):
    root = tmp_path / "many"
    for i in range(21):
        save_jpeg(photo(colour=COLOURS[i % 5], noise=10, seed=i), root / f"{i:03}.jpg")
    factory = CountingFactory()
    run(store, root, factory, batch_size=8, workers=2)
    assert factory.captioner.batches == [8, 8, 5]


def test_model_sees_reduced_images(store, tmp_path):
    root = tmp_path / "big"
    root.mkdir()
    photo(size=(4000, 3000), noise=20).save(root / "big.jpg")
    factory = CountingFactory()
    run(store, root, factory)
    # draft decode + reduction: the fake model (input side 32) never sees the 12 MP
    width, height = factory.captioner.seen_sizes[0]
    assert min(width, height) <= 48


def test_ordered_prefetch_bounds_work_in_flight():
    import threading
    from concurrent.futures import ThreadPoolExecutor

    started = []
    lock = threading.Lock()

    def work(item):
        with lock:
            started.append(item)
        return item * 2

    consumed = []
    with ThreadPoolExecutor(2) as pool:
        for result in ordered_prefetch(work, iter(range(100)), pool, ahead=4):
            time.sleep(0.001)  # a slow consumer
            with lock:
                # never more than `ahead` items submitted beyond what was consumed
                assert len(started) <= len(consumed) + 5
            consumed.append(result)
    assert consumed == [i * 2 for i in range(100)]


def test_worker_error_is_recorded_and_does_not_stall(store, tmp_path):
    root = tmp_path / "mixed"
    for i in range(10):
        save_jpeg(photo(colour=COLOURS[i % 5]), root / f"{i}.jpg")
    (root / "5.jpg").write_bytes(b"garbage")
    report = run(store, root, CountingFactory(), workers=2, batch_size=3)
    # the other nine are indexed (five colours: five captioned, four byte-identical twins reused)
    assert (report.captioned, report.reused, report.failed) == (5, 4, 1)
    assert store.stats()["images"] == 9 and store.failures()[0][1] == "not an image (unrecognised format)"


def catalog_rows(data_dir) -> dict[str, list[tuple]]:
    """Every row a run writes, by natural keys (a hash, a path) instead of ids, less the moments it was written."""
    connection = sqlite3.connect(data_dir / "captionary.db")
    skip = {"id", "content_id", "file_id", "captioned_at", "indexed_at"}

    def rows(table: str, joined: str = "", keys: str = "") -> list[tuple]:
        columns = [row[1] for row in connection.execute(f"PRAGMA table_info({table})") if row[1] not in skip]
        selected = ", ".join([*(f"{table}.{column}" for column in columns), *filter(None, [keys])])
        return sorted(map(tuple, connection.execute(f"SELECT {selected} FROM {table} {joined}")), key=repr)

    found = {
        "contents": rows("contents"),
        "tags": rows("tags", "JOIN contents ON contents.id = tags.content_id", "contents.hash"),
        "files": rows("files", "LEFT JOIN contents ON contents.id = files.content_id", "contents.hash"),
        "file_keywords": rows("file_keywords", "JOIN files ON files.id = file_keywords.file_id", "files.path"),
    }
    connection.close()
    return found


def written_both_ways(tmp_path, monkeypatch, write) -> dict[str, tuple]:
    """What `write` returns and the rows it leaves: new photos written with INSERTs, then every row through the ORM."""
    import db.batch

    written = {}
    for way in ("inserts", "orm"):
        if way == "orm":
            monkeypatch.setattr(db.batch, "_fresh", lambda outcomes, files, contents: set())
        with Store.open(tmp_path / way) as store:
            result = write(store)
        written[way] = (result, catalog_rows(tmp_path / way))
    return written


def test_new_photos_are_written_as_the_orm_writes_them(photo_tree, tmp_path, monkeypatch):
    from tests.metadata_photos import add_iptc, xmp_packet

    root = photo_tree["root"]
    tagged = save_jpeg(
        photo(colour=COLOURS[2], seed=7),
        root / "2022" / "tagged.jpg",
        gps={1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 8.0)},
    )
    add_iptc(tagged, {(2, 25): [b"Grandma", b"Paris", b"Grandma"], (2, 5): b"Lunch"})
    tagged.with_name("tagged.jpg.xmp").write_bytes(xmp_packet(hierarchy=["People|Family|Grandma"]))
    shutil.copy(tagged, root / "2022" / "copy of tagged.jpg")  # a twin: same bytes, no sidecar of its own

    def index(store):
        report = run(store, root, CountingFactory(), batch_size=4)
        return report.captioned, report.reused, sorted(report.failures)

    written = written_both_ways(tmp_path, monkeypatch, index)
    assert written["inserts"] == written["orm"]
    rows = written["inserts"][1]
    assert len(rows["files"]) == 22 and rows["file_keywords"] and len(rows["tags"]) > 15  # something to compare


def test_a_path_twice_in_one_batch_is_one_file(store, tmp_path):
    from db.records import Outcome, PhotoFacts

    run_id = store.catalog.begin_run([str(tmp_path)])
    path = str(tmp_path / "a.jpg")
    twice = [
        Outcome(path, str(tmp_path), 10, 1, "1" * 64, error="cannot decode: truncated"),
        Outcome(path, str(tmp_path), 10, 1, "2" * 64, PhotoFacts(4, 3, "JPEG"), "a blue car"),
    ]
    store.catalog.record_batch(twice, run_id, "m")
    assert db_state(store) == {path: "a blue car"}  # the later outcome, as the ORM has always written it


def _batch_with_every_case(root: str) -> list:
    from db.records import Outcome, PhotoFacts, PhotoMetadata

    facts, vector = PhotoFacts(4, 3, "JPEG"), b"\x01\x02" * 4
    keyworded = PhotoMetadata(camera="Pixel 7", keywords=("grandma", "paris", "grandma"), problems=("x.xmp: not XML",))
    return [
        Outcome(f"{root}/a.jpg", root, 1, 1, "a" * 64, facts, "a red car", metadata=keyworded, ocr_text="STOP"),
        Outcome(f"{root}/b.jpg", root, 2, 2, "b" * 64, facts, "a dog on a beach"),  # no vector, no text
        Outcome(f"{root}/b copy.jpg", root, 2, 3, "b" * 64, facts, "a dog on a beach", image_vector=vector, ocr_text="late"),
        Outcome(f"{root}/bad.jpg", root, 3, 4, "c" * 64, error="cannot decode: truncated", sidecars="bad.xmp"),
        Outcome(f"{root}/gone.jpg", root, 4, 5, vanished=True),
    ]


def test_a_batch_of_every_kind_is_written_by_inserts_as_the_orm_writes_it(tmp_path, monkeypatch):
    def record(store):
        run_id = store.catalog.begin_run([str(tmp_path)])
        recorded = store.catalog.record_batch(_batch_with_every_case(str(tmp_path)), run_id, "m", "clip", "ocr")
        return recorded.reused, len(recorded.captioned), recorded.failures, recorded.metadata_problems

    written = written_both_ways(tmp_path, monkeypatch, record)
    assert written["inserts"] == written["orm"]
    rows = written["inserts"][1]
    twin = next(row for row in rows["contents"] if row[0] == "b" * 64)
    assert "late" in twin and b"\x01\x02" * 4 in twin  # the copy that read something wrote it


def test_an_sqlite_without_insert_returning_writes_new_photos_through_the_orm(store, tmp_path):
    dialect = store.catalog.engine.dialect  # what SQLAlchemy sets for SQLite before 3.35
    dialect.insert_returning = dialect.insert_executemany_returning = False
    dialect.insert_executemany_returning_sort_by_parameter_order = False
    run_id = store.catalog.begin_run([str(tmp_path)])
    store.catalog.record_batch(_batch_with_every_case(str(tmp_path)), run_id, "m", "clip", "ocr")
    assert db_state(store)[str(tmp_path / "b copy.jpg")] == "a dog on a beach"


def test_photos_deleted_between_the_scan_and_their_reading_are_counted_not_passed_over(tmp_path, data_dir, monkeypatch):
    from tests.helpers import index_with

    root = tmp_path / "photos"
    for number in range(6):
        save_jpeg(photo(size=(64, 48), colour=COLOURS[number % 5], noise=20, seed=number), root / f"img_{number}.jpg")
    with Store.open(data_dir) as store:
        scanned = store.catalog.pending

        def deleted_after_the_scan():  # a folder moved away while the run goes
            for item in scanned():
                if item.path.endswith(("img_3.jpg", "img_4.jpg")):
                    os.unlink(item.path)
                yield item

        monkeypatch.setattr(store.catalog, "pending", deleted_after_the_scan)
        report = index_with(store, [root], FakeCaptioner())
    assert (report.captioned, report.vanished) == (4, 2)
    assert "; 2 deleted or changed while the run read them (the next run settles them)" in report.summary()  # was: nothing
