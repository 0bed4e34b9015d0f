"""Crawling: which files are photos, hidden files, symlinks, excludes."""

import os
import shutil

from indexer.crawl import crawl, is_excluded
from tests.photos import photo


def crawled_paths(root, **options) -> list[str]:
    return [record.path for _, records in crawl(str(root), **options) for record in records]


def test_crawl_finds_every_format_case_insensitively(photo_tree):
    paths = crawled_paths(photo_tree["root"])
    names = {os.path.basename(p) for p in paths}
    # every supported extension, whatever its case
    assert {p.name for p in photo_tree["formats"]} <= names
    assert "PHOTO_UPPER.JPEG" in names
    # bad files are still crawled: they must be recorded as failed, not silently ignored
    assert {"empty.jpg", "truncated.jpg", "notes.png", "bomb.png"} <= names
    # non-image extensions are ignored
    assert "notes.txt" not in names


def test_crawl_skips_hidden_files_and_folders(photo_tree):
    paths = crawled_paths(photo_tree["root"])
    assert not any("/." in p for p in paths)


def test_crawl_does_not_follow_symlink_loop_by_default(photo_tree):
    paths = crawled_paths(photo_tree["root"])
    # each photo once: the loop link was not entered
    assert len(paths) == len(set(paths))
    assert not any("/loop/" in p for p in paths)


def test_follow_symlinks_detects_loops(photo_tree, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    photo().save(elsewhere / "linked.jpg")
    os.symlink(elsewhere, photo_tree["root"] / "linked-folder")
    paths = crawled_paths(photo_tree["root"], follow_symlinks=True)
    # the linked folder is followed ...
    assert any(p.endswith("linked-folder/linked.jpg") for p in paths)
    # ... and the loop back to the root terminates without duplicating the tree
    assert len([p for p in paths if p.endswith("IMG_0001.jpg")]) == 1


def test_exclude_globs_match_names_and_relative_paths(photo_tree):
    root = str(photo_tree["root"])
    paths = crawled_paths(root, excludes=["2019/holidays", "*.png"])
    assert not any("/2019/holidays/" in p for p in paths)
    assert not any(p.endswith(".png") for p in paths)
    assert any(p.endswith("IMG_0001.jpg") for p in paths)
    # a pattern names a folder (pruned as a whole) or a file; it is not a substring match
    assert is_excluded(f"{root}/a", root, ["a"]) is True
    assert is_excluded(f"{root}/a/b.jpg", root, ["a"]) is False
    assert is_excluded(f"{root}/ab.jpg", root, ["a"]) is False


def test_crawl_reports_unreadable_folders(tmp_path):
    root = tmp_path / "photos"
    locked = root / "locked"
    locked.mkdir(parents=True)
    photo().save(locked / "a.jpg")
    errors = []
    if os.geteuid() == 0:
        # root can read anything: simulate the error through a folder that vanishes instead
        list(crawl(str(root / "missing"), on_error=lambda path, error: errors.append(path)))
    else:  # pragma: no cover - CI runs as root
        locked.chmod(0)
        list(crawl(str(root), on_error=lambda path, error: errors.append(path)))
        locked.chmod(0o755)
    assert errors


def test_another_librarys_data_dir_inside_a_root_is_skipped_whole_and_named_once(tmp_path):
    from db.store import Store
    from tests.conftest import FakeCaptioner
    from tests.helpers import index_with

    root = tmp_path / "R2"
    root.mkdir()
    photo().save(root / "a.jpg")
    inside = root / "captionary-library"  # the library of R2 kept inside it: its catalog, thumbnails, index
    with Store.open(inside) as first:
        index_with(first, [root], FakeCaptioner())
    with Store.open(tmp_path / "L2") as second:
        report = index_with(second, [root], FakeCaptioner())
        indexed = [path for path, _ in second.failures()] + [path for path, _ in report.failures]
        images = second.stats()["images"]
    assert images == 1 and indexed == []  # was 2: the first library's thumbnail, captioned as a photo
    # was: its .db, .seg, .toc and .lock files, each listed; now the folder once, with what it is
    assert report.skipped == [(str(inside), "captionary library")]


def test_a_copy_of_a_catalog_kept_with_the_photos_does_not_hide_their_folder(tmp_path):
    """Only a data dir is a library: a catalog file alone (a backup beside the photos) is not, nor is an empty
    file of that name, and the folder's photos stay indexed."""
    from db.store import Store
    from tests.conftest import FakeCaptioner
    from tests.helpers import index_with

    root = tmp_path / "Photos"
    (root / "family").mkdir(parents=True)
    (root / "trips").mkdir()
    photo().save(root / "family" / "a.jpg")
    for i in range(3):  # the family folder is a quarter of the root: removing it is not held back as an unmounted disk
        photo(seed=i, noise=10).save(root / "trips" / f"{i}.jpg")
    with Store.open(tmp_path / "library") as store:
        index_with(store, [root], FakeCaptioner())
        shutil.copyfile(tmp_path / "library" / "captionary.db", root / "family" / "captionary.db")
        (root / "family" / "old").mkdir()
        (root / "family" / "old" / "captionary.db").write_bytes(b"")
        report = index_with(store, [root], FakeCaptioner())
        assert store.stats()["images"] == 4 and report.removed == 0  # was: the folder skipped, its photo removed
