"""Putting a rebuilt Whoosh index in place of the old one in one step.

A rebuild writes the new index in a folder beside the old one: searches answer from the old index until the
new one is whole, and a rebuild that fails (a full disk, a kill) leaves the old one as it was."""

from __future__ import annotations

import ctypes
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from whoosh.filedb.filestore import FileStorage

from db.errors import BusyError

WRITE_LOCK = "MAIN_WRITELOCK"  # Whoosh's writer lock for the default index name
_BUSY = "The search index is being written by an index run; try again when it has finished"
_RENAME_EXCHANGE = 2  # renameat2(2)'s flag: both names swapped in one step
_AT_FDCWD = -100


@contextmanager
def building_beside(directory: Path, wait: float) -> Iterator[Path]:
    """A new, empty folder beside `directory` for one rebuild at a time; removed afterwards, with whatever it holds
    then (the old index after a swap, a half-built one otherwise), and with what killed rebuilds left."""
    guard = FileLock(str(directory.parent / f"{directory.name}-rebuild.lock"))
    try:
        guard.acquire(timeout=wait)
    except Timeout:
        raise BusyError("The search index is being rebuilt by another command; try again when it has finished") from None
    try:
        for left in directory.parent.glob(f"{directory.name}.building-*"):
            shutil.rmtree(left, ignore_errors=True)
        building = directory.parent / f"{directory.name}.building-{uuid.uuid4().hex[:8]}"
        building.mkdir()
        try:
            yield building
        finally:
            shutil.rmtree(building, ignore_errors=True)
    finally:
        guard.release()


@contextmanager
def swapped_in(building: Path, directory: Path, wait: float) -> Iterator[None]:
    """Put `building` in `directory`'s place, and the old index at `building`. Writers of either index wait until
    the block ends, so that no sync writes into the old index, or reads the catalog's note of which index is
    current, while the note is changed."""
    with writer_lock(building, 0), writer_lock(directory, wait):
        if directory.exists() and not directory.is_dir():
            directory.unlink()  # a file in the index's place: nothing to keep
        _exchange(building, directory)
        yield


def _exchange(building: Path, directory: Path) -> None:
    if directory.exists():
        try:
            exchange = ctypes.CDLL(None, use_errno=True).renameat2
        except (AttributeError, OSError):
            exchange = None  # not Linux: a search in the instant between two renames finds no index
        if exchange is not None:
            if exchange(_AT_FDCWD, os.fsencode(building), _AT_FDCWD, os.fsencode(directory), _RENAME_EXCHANGE) == 0:
                return
            code = ctypes.get_errno()
            if code not in (22, 38):  # EINVAL, ENOSYS: a file system or kernel without it
                raise OSError(code, os.strerror(code), str(directory))
        aside = directory.with_name(f"{building.name}-old")
        os.rename(directory, aside)
        os.rename(building, directory)
        os.rename(aside, building)
        return
    os.rename(building, directory)


@contextmanager
def writer_lock(directory: Path, wait: float) -> Iterator[None]:
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
