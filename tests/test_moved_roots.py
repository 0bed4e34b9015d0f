"""A root that is gone: renamed or moved (its photos turn up under the root being indexed) or a disk taken away
(its photos must never be dropped for it). A folder renamed on its disk keeps its device and inode: a run that
indexes it under its new name settles the move; anything less proven is left as it is, with the command to run."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer import pipeline
from indexer.cli import cli
from tests.conftest import FakeCaptioner
from tests.helpers import tmpfs_at
from tests.photos import COLOURS, photo, save_jpeg


@pytest.fixture
def captionary(data_dir, monkeypatch):
    """The CLI as a person runs it, on one library, with the fake captioner for a model."""
    monkeypatch.setattr(pipeline, "load_captioner", lambda options: FakeCaptioner(options.model or "fake-model"))

    def run(command: str, *arguments):
        extra = ["--model", "fake-model", "--no-embeddings", "--image-embedder", "none"] if command == "index" else []
        return CliRunner().invoke(cli, [command, *map(str, arguments), "--data-dir", str(data_dir), *extra])

    return run


def photos_in(folder: Path, count: int, seed: int = 0) -> None:
    for i in range(count):
        save_jpeg(photo(colour=COLOURS[i % len(COLOURS)], noise=8, seed=seed + i), folder / f"d{i % 2}" / f"IMG_{seed + i}.jpg")


def stats(captionary) -> dict:
    return json.loads(captionary("stats", "--json").stdout)


def searched(captionary) -> list[str]:
    return [hit["path"] for hit in json.loads(captionary("search", "*", "--json", "--limit", "100").stdout)]


def test_a_root_renamed_is_settled_as_a_move_by_the_run_that_indexes_its_new_name(captionary, tmp_path):
    photos, pictures = tmp_path / "Photos", tmp_path / "Pictures"
    photos_in(photos, 6)
    assert captionary("index", photos).exit_code == 0
    photos.rename(pictures)
    result = captionary("index", pictures)
    assert result.exit_code == 0, result.output
    # was: "0 captioned, 0 unchanged, 6 reused, 0 failed, 0 removed", no word of a move, and 12 images in 2 roots
    assert result.stdout.startswith("0 captioned, 0 unchanged, 6 reused, 0 failed, 6 removed in "), result.stdout
    assert "; 6 of the reused were moved or renamed (their old paths are counted as removed)" in result.stdout
    assert f"; {photos} is now {pictures} (no longer a root of its own)" in result.stdout
    assert (stats(captionary)["images"], stats(captionary)["roots"]) == (6, [str(pictures)])
    assert len(searched(captionary)) == 6 and all(path.startswith(f"{pictures}/") for path in searched(captionary))
    assert captionary("check").exit_code == 0  # nothing missing on disk, nothing for `forget` to do


def test_the_old_name_of_a_settled_move_is_no_root_to_forget_and_a_root_not_there_still_is(captionary, tmp_path):
    photos, pictures = tmp_path / "Photos", tmp_path / "Pictures"
    photos_in(photos, 2)
    assert captionary("index", photos).exit_code == 0
    photos.rename(pictures)
    assert captionary("index", pictures).exit_code == 0
    old_name = captionary("index", photos)
    # was: "if it was moved or renamed ... captionary forget", and forget then said it is not an indexed root
    assert old_name.exit_code == 2 and "forget" not in old_name.stderr, old_name.stderr
    assert old_name.stderr.strip().endswith("does not exist, and is no root of this library (captionary stats lists them)")
    pictures.rename(tmp_path / "Elsewhere")  # now a root that is not there: the command that drops it is named
    gone = captionary("index", pictures)
    assert gone.exit_code == 2 and f"captionary forget {pictures}" in gone.stderr


def test_a_root_still_there_keeps_its_photos_when_copies_turn_up_elsewhere(captionary, tmp_path):
    photos, backup = tmp_path / "Photos", tmp_path / "Backup"
    photos_in(photos, 4)
    assert captionary("index", photos).exit_code == 0
    shutil.copytree(photos, backup)
    result = captionary("index", backup)
    assert result.stdout.startswith("0 captioned, 0 unchanged, 4 reused, 0 failed, 0 removed in "), result.stdout
    assert (stats(captionary)["images"], stats(captionary)["roots"]) == (8, [str(backup), str(photos)])


def test_roots_inside_a_renamed_root_move_with_it(captionary, tmp_path):
    photos, pictures = tmp_path / "Photos", tmp_path / "Pictures"
    photos_in(photos, 4)
    photos_in(photos / "Family", 3, seed=10)
    assert captionary("index", photos / "Family").exit_code == 0
    assert captionary("index", photos).exit_code == 0
    photos.rename(pictures)
    result = captionary("index", pictures)
    assert result.stdout.startswith("0 captioned, 0 unchanged, 7 reused, 0 failed, 7 removed in "), result.stdout
    assert "7 of the reused were moved or renamed" in result.stdout
    assert (stats(captionary)["images"], stats(captionary)["roots"]) == (7, [str(pictures)])


@pytest.mark.parametrize("link_left", [False, True], ids=["moved", "moved-with-a-link-left"])
def test_a_root_moved_into_another_root_is_settled_by_that_roots_run(captionary, tmp_path, link_left):
    photos, pictures = tmp_path / "Photos", tmp_path / "Pictures"
    photos_in(photos, 3)
    photos_in(pictures, 2, seed=10)
    assert captionary("index", photos).exit_code == 0 and captionary("index", pictures).exit_code == 0
    photos.rename(pictures / "from-the-old-laptop")
    if link_left:  # the old paths still open through it: roots are real paths, so they were each photo twice
        photos.symlink_to(pictures / "from-the-old-laptop")
    result = captionary("index", pictures)
    assert result.stdout.startswith("0 captioned, 2 unchanged, 3 reused, 0 failed, 3 removed in "), result.stdout
    assert f"; {photos} is now {pictures / 'from-the-old-laptop'} (no longer a root of its own)" in result.stdout
    assert (stats(captionary)["images"], stats(captionary)["roots"]) == (5, [str(pictures)])


@pytest.mark.parametrize("link_left", [None, "to nowhere", "to the copy"])
def test_a_root_copied_elsewhere_then_deleted_is_named_with_the_command_never_dropped(captionary, tmp_path, link_left):
    photos, pictures = tmp_path / "Photos", tmp_path / "Pictures"
    photos_in(photos, 6)
    assert captionary("index", photos).exit_code == 0
    shutil.copytree(photos, pictures)  # a move across disks: a new folder, nothing proves it is the old one
    shutil.rmtree(photos)
    if link_left:  # neither is the folder indexed as Photos: it was settled as moved, 6 paths removed
        photos.symlink_to(pictures / "usb" / "Photos" if link_left == "to nowhere" else pictures)
    result = captionary("index", pictures)
    assert result.exit_code == 0 and "6 reused, 0 failed, 0 removed" in result.stdout, result.output
    advice = [line for line in result.stderr.splitlines() if str(photos) in line]
    if link_left == "to the copy":  # there, opening the copies: nothing is wrong with it
        assert advice == [] and stats(captionary)["images"] == 12
        return
    assert advice == [
        f"warning: {photos} is not found, and 6 of its 6 photos were found again in this run: if it was moved or "
        f"renamed, drop its old paths with: captionary forget {photos} (a disk that is not mounted needs nothing: "
        "its photos stay indexed)"
    ]  # was: not a word
    marked = f"root:       {photos}  (not found: a disk not mounted? if it was moved or renamed: captionary forget {photos})"
    assert marked in captionary("stats").stdout.splitlines()
    assert stats(captionary)["images"] == 12  # kept until the person says
    assert captionary("forget", photos).exit_code == 0 and stats(captionary)["images"] == 6


def test_a_library_from_before_root_identities_is_upgraded_and_only_told(captionary, tmp_path, data_dir):
    from tests.old_catalogs import as_schema_7

    photos, pictures = tmp_path / "Photos", tmp_path / "Pictures"
    photos_in(photos, 3)
    assert captionary("index", photos).exit_code == 0
    as_schema_7(data_dir)  # no identity recorded for Photos: its rename cannot be proven
    photos.rename(pictures)
    result = captionary("index", pictures)
    assert result.exit_code == 0 and "0 removed" in result.stdout and f"captionary forget {photos}" in result.stderr
    assert stats(captionary)["images"] == 6
    pictures.rename(tmp_path / "Later")  # indexed since the upgrade: its identity is recorded
    assert "is now" in captionary("index", tmp_path / "Later").stdout


@pytest.fixture
def usb_disk(tmp_path):
    """A disk of its own (a small tmpfs), whose mount point goes when it is unmounted, as a desktop's does."""
    with tmpfs_at(tmp_path / "usb", "8m") as mount_point:
        yield mount_point


def test_a_disk_taken_away_keeps_its_photos_even_when_they_all_turn_up_elsewhere(captionary, usb_disk, tmp_path):
    photos_in(usb_disk / "Photos", 4)
    assert captionary("index", usb_disk / "Photos").exit_code == 0
    shutil.copytree(usb_disk / "Photos", tmp_path / "Backup")  # the same photos, the same folders, on this disk
    subprocess.run(["umount", str(usb_disk)], check=True)
    usb_disk.rmdir()  # as a desktop removes the mount point of a disk taken away
    result = captionary("index", tmp_path / "Backup")
    assert result.exit_code == 0 and "4 reused, 0 failed, 0 removed" in result.stdout, result.output
    assert f"captionary forget {usb_disk / 'Photos'}" in result.stderr  # named, in case it was moved; not done
    assert stats(captionary)["images"] == 8 and str(usb_disk / "Photos") in stats(captionary)["roots"]
    again = captionary("index", tmp_path / "Backup")
    assert again.exit_code == 0 and again.stderr == ""  # a run that found nothing moved says nothing of it


def test_a_move_proven_wrongly_removes_only_paths_whose_bytes_are_elsewhere(captionary, tmp_path, monkeypatch):
    """Another disk mounted where the root's was can give a folder the same device and inode: the proof is then
    wrong, and what it may remove must be only paths, never a photo found nowhere else or a person's caption."""
    from indexer import missing_roots

    usb, home = tmp_path / "USB" / "Photos", tmp_path / "home" / "Pictures"
    photos_in(usb, 10)
    assert captionary("index", usb).exit_code == 0
    only_here = usb / "d1" / "IMG_9.jpg"
    assert captionary("set-caption", only_here, "grandma at the lake").exit_code == 0
    for path in usb.rglob("*.jpg"):
        if path != only_here:  # 9 of the 10 copied home: 90% of the root's photos found elsewhere
            target = home / path.relative_to(usb)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    shutil.rmtree(usb.parent)  # the disk taken away
    monkeypatch.setattr(missing_roots, "_renamed_to", lambda root, recorded, folders: str(home))  # the wrong proof
    result = captionary("index", home)
    assert result.exit_code == 0, result.output
    assert "9 removed" in result.stdout and f"captionary forget {usb}" in result.stderr
    found = json.loads(captionary("search", "grandma", "--json").stdout)
    assert [row["path"] for row in found] == [str(only_here)]  # its record and its caption are kept
    assert str(usb) in stats(captionary)["roots"]
