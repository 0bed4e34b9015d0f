"""Putting a rebuilt Whoosh index in place of the old one in one step.

A rebuild writes the new index in a folder beside the old one: searches answer from the old index until the
new one is whole, and a rebuild that fails (a full disk, a kill) leaves the old one as it was. The old index's
writer lock is held from the start of the rebuild until the catalog notes the new one: an incremental sync
meanwhile would write into the old index and move the catalog's sequence past what the new one holds."""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from whoosh.filedb.filestore import FileStorage

from db.errors import BusyError, CaptionaryError

WRITE_LOCK = "MAIN_WRITELOCK"  # Whoosh's writer lock for the default index name
_BUSY = "The search index is being written by an index run; try again when it has finished"
_RENAME_EXCHANGE = 2  # renameat2(2)'s flag: both names swapped in one step
_AT_FDCWD = -100


def _leftovers(directory: Path) -> list[Path]:
    return list(directory.parent.glob(f"{directory.name}.building-*"))


def _guard(directory: Path) -> FileLock:
    if not directory.parent.is_dir():  # the library's folder was moved or deleted: never made again here
        raise CaptionaryError(f"The library folder {directory.parent} is gone")
    return FileLock(str(directory.parent / f"{directory.name}-rebuild.lock"))


@contextmanager
def building_beside(directory: Path, wait: float) -> Iterator[Path]:
    """A new, empty folder beside `directory` for one rebuild at a time; removed afterwards, with whatever it holds
    then (the old index after a swap, a half-built one otherwise), and with what killed rebuilds left."""
    guard = _guard(directory)
    try:
        guard.acquire(timeout=wait)
    except Timeout:
        raise BusyError("The search index is being rebuilt by another command; try again when it has finished") from None
    try:
        for left in _leftovers(directory):
            shutil.rmtree(left, ignore_errors=True)
        building = directory.parent / f"{directory.name}.building-{uuid.uuid4().hex[:8]}"
        building.mkdir()
        try:
            yield building
        finally:
            shutil.rmtree(building, ignore_errors=True)
    finally:
        guard.release()


def sweep_leftovers(directory: Path) -> None:
    """What a killed rebuild left beside the index (a whole copy of it, perhaps), unless a rebuild is running."""
    if not _leftovers(directory):
        return
    guard = _guard(directory)
    try:
        guard.acquire(timeout=0)
    except Timeout:
        return
    try:
        for left in _leftovers(directory):
            shutil.rmtree(left, ignore_errors=True)
    finally:
        guard.release()


@contextmanager
def swapped_in(building: Path, directory: Path) -> Iterator[None]:
    """Put `building` in `directory`'s place (and the old index at `building`) for good if the block succeeds;
    if it raises, the old index goes back. The new index's writer lock is held throughout, so no sync uses it
    before the catalog notes it."""
    with writer_lock(building, 0):
        if directory.exists() and not directory.is_dir():
            directory.unlink()  # a file in the index's place: nothing to keep
        replaced = directory.exists()
        aside = building.with_name(f"{building.name}-old")  # swept as a leftover if a kill strands it
        _exchange(building, directory, aside) if replaced else os.rename(building, directory)
        try:
            yield
        except BaseException:
            _exchange(directory, building, aside) if replaced else os.rename(directory, building)
            raise


def _exchange(first: Path, second: Path, aside: Path) -> None:
    if sys.platform == "linux":
        exchange = ctypes.CDLL(None, use_errno=True).renameat2
        if exchange(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS):  # a file system or kernel without it: two renames
            raise OSError(code, os.strerror(code), str(second))
    # Elsewhere a search in the instant between the renames finds no index (and is answered from a rebuild).
    os.rename(second, aside)
    os.rename(first, second)
    os.rename(aside, first)


@contextmanager
def writer_lock(directory: Path, wait: float) -> Iterator[None]:
    """Whoosh's writer lock of the index in `directory`, held by this block (none to take where there is no index).
    The lock is on the file: after a swap it stays with the index it was taken on."""
    if not directory.is_dir():
        yield
        return
    lock = FileStorage(str(directory)).lock(WRITE_LOCK)
    deadline = time.monotonic() + wait
    while not lock.acquire(blocking=False):
        if time.monotonic() >= deadline:
            raise BusyError(_BUSY)
        time.sleep(0.05)
    try:
        yield
    finally:
        lock.release()
