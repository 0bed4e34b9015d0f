"""Walk photo roots and yield file records (filesystem only: stat, never open)."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from db.columns import within
from db.formats import (
    BROKEN_LINK,
    CATALOG_FILE,
    INDEXED_EXTENSIONS,
    LIBRARY,
    LINK_NOT_FOLLOWED,
    NOT_A_FILE,
    extension,
    skipped_kind,
)
from db.sidecars import sidecar_signature

IMAGE_EXTENSIONS = INDEXED_EXTENSIONS


@dataclass(frozen=True)
class FileRecord:
    path: str
    root: str
    size: int
    mtime_ns: int
    sidecars: str = ""  # sidecar_signature() of the XMP sidecars beside it

    @property
    def folder(self) -> str:
        return os.path.dirname(self.path)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def ext(self) -> str:
        return extension(self.path)


def _is_sidecar_name(name: str) -> bool:
    return extension(name) == SIDECAR_EXTENSION


def is_image_name(name: str) -> bool:
    return not name.startswith(".") and extension(name) in IMAGE_EXTENSIONS


SIDECAR_EXTENSION = "xmp"


def sidecar_names(photo_name: str) -> tuple[str, str]:
    """Lower-cased names of a photo's sidecars, in the order they are read (the later one wins a field both
    set): `photo.xmp` (Lightroom, Capture One), then `photo.jpg.xmp` (darktable, digiKam: one file each)."""
    lower = photo_name.lower()
    return f"{os.path.splitext(lower)[0]}.{SIDECAR_EXTENSION}", f"{lower}.{SIDECAR_EXTENSION}"


def _with_sidecars(records: list[FileRecord], sidecars: dict[str, tuple[str, int, int]]) -> list[FileRecord]:
    if not sidecars:
        return records
    return [
        replace(record, sidecars=sidecar_signature([sidecars[name] for name in sidecar_names(record.name) if name in sidecars]))
        for record in records
    ]


def normalize_root(root: str | Path) -> str:
    """Roots are stored by real path, so two spellings of one folder are one root."""
    return os.path.realpath(os.path.expanduser(str(root)))


def distinct_roots(roots: Sequence[str | Path]) -> list[str]:
    """Each folder once, by real path; a folder inside another one given is crawled with it, not a second time."""
    given = list(dict.fromkeys(normalize_root(root) for root in roots))
    return [root for root in given if not any(other != root and within(root, other) for other in given)]


def is_excluded(path: str, root: str, patterns: Sequence[str]) -> bool:
    """A pattern matches the name, the path relative to the root, or the absolute path."""
    if not patterns:
        return False
    relative = os.path.relpath(path, root)
    name = os.path.basename(path)
    return any(
        fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(path, pattern)
        for pattern in patterns
    )


def is_excluded_below(path: str, root: str, patterns: Sequence[str]) -> bool:
    """The file, or a folder between it and the root, matches a pattern: the crawl never reaches it."""
    if not patterns:
        return False
    current = path
    while current != root and current.startswith(root):
        if is_excluded(current, root, patterns):
            return True
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return False


def _identities(folders: Sequence[str | Path]) -> set[tuple[int, int]]:
    found: set[tuple[int, int]] = set()
    for folder in folders:
        try:
            identity = os.stat(folder)
            found.add((identity.st_dev, identity.st_ino))
        except OSError:
            pass  # not there yet: nothing to skip
    return found


_FOLDER, _PHOTO, _SIDECAR = "folder", "photo", "sidecar"
LIBRARY_FOLDERS = ("thumbnails", "fulltext")  # what a data dir keeps beside its catalog (db/schema.py)


def is_library(entries: Sequence[os.DirEntry[str]]) -> bool:
    """The folder listed is a library's data dir, this run's or another's: a SQLite catalog named captionary.db
    beside the thumbnails or the search index it keeps, none of it a photo. A file of that name alone (a backup of
    the catalog kept with the photos) is not enough: the folder's photos would be swept from the library."""
    names = {entry.name: entry for entry in entries}
    catalog = names.get(CATALOG_FILE)
    kept = [names[name] for name in LIBRARY_FOLDERS if name in names]
    if catalog is None or not catalog.is_file(follow_symlinks=False):
        return False
    if not any(folder.is_dir(follow_symlinks=False) for folder in kept):
        return False
    try:
        with open(catalog.path, "rb") as handle:
            return handle.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _kind(entry: os.DirEntry[str], follow_symlinks: bool) -> str:
    """A folder, a photo, a sidecar, or why the entry is not read (db/formats.py); "": passed over (a link to a
    sidecar: its photo's metadata is read without it)."""
    if entry.is_symlink() and not follow_symlinks:
        return "" if _is_sidecar_name(entry.name) else LINK_NOT_FOLLOWED
    if entry.is_dir(follow_symlinks=follow_symlinks):
        return _FOLDER
    if not entry.is_file(follow_symlinks=follow_symlinks):
        return BROKEN_LINK if entry.is_symlink() and not os.path.exists(entry.path) else NOT_A_FILE
    if is_image_name(entry.name):
        return _PHOTO
    return _SIDECAR if _is_sidecar_name(entry.name) else skipped_kind(entry.path)


def _enter(folder: str, visited: set[tuple[int, int]], folders: dict[str, str] | None) -> list[os.DirEntry[str]] | None:
    """The folder's entries by name, or None when it was entered before (by identity: links lead back)."""
    identity = os.stat(folder)
    if (identity.st_dev, identity.st_ino) in visited:
        return None
    visited.add((identity.st_dev, identity.st_ino))
    if folders is not None:
        folders[f"{identity.st_dev}:{identity.st_ino}"] = folder
    with os.scandir(folder) as entries:
        return sorted(entries, key=lambda entry: entry.name)


def crawl(
    root: str,
    excludes: Sequence[str] = (),
    follow_symlinks: bool = False,
    on_error: Callable[[str, OSError], None] | None = None,
    skip: Sequence[str | Path] = (),
    on_skipped: Callable[[str, str], None] | None = None,
    folders: dict[str, str] | None = None,
) -> Iterator[tuple[str, list[FileRecord]]]:
    """Yield (folder, image records) for every folder under root, depth first, sorted by name.

    Hidden files and folders are skipped, and so are the folders in `skip` (captionary's own data dir: inside a
    photo root its thumbnails would be indexed, and grow, on every run) and any other library's data dir, told by
    its catalog file and named once to `on_skipped`. Symlinks are not followed unless asked; when they are, a folder
    already visited (by real path) is not entered again, so link loops end. Everything else that is neither a photo
    nor a sidecar nor excluded goes to `on_skipped` with its kind (a video, a link not followed, a FIFO...), so
    nothing in the folders is left out in silence. `folders` gets each folder entered by its identity
    ("st_dev:st_ino", which a folder renamed or moved on its disk keeps: indexer/missing_roots.py)."""
    visited = _identities(skip)
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            ordered = _enter(folder, visited, folders)
            library = ordered is not None and is_library(ordered)
        except OSError as error:
            if on_error:
                on_error(folder, error)
            continue
        if ordered is None:
            continue  # entered before, through a link
        if library:
            if on_skipped:
                on_skipped(folder, LIBRARY)
            continue
        records: list[FileRecord] = []
        sidecars: dict[str, tuple[str, int, int]] = {}  # lower-cased name -> (name, size, mtime_ns)
        subfolders: list[str] = []
        for entry in ordered:
            if entry.name.startswith("."):
                continue
            try:
                if not _is_sidecar_name(entry.name) and is_excluded(entry.path, root, excludes):
                    continue
                kind = _kind(entry, follow_symlinks)
                if kind == _FOLDER:
                    subfolders.append(entry.path)
                elif kind == _PHOTO:
                    stat = entry.stat(follow_symlinks=follow_symlinks)
                    records.append(FileRecord(entry.path, root, stat.st_size, stat.st_mtime_ns))
                elif kind == _SIDECAR:
                    stat = entry.stat(follow_symlinks=follow_symlinks)
                    sidecars.setdefault(entry.name.lower(), (entry.name, stat.st_size, stat.st_mtime_ns))
                elif kind and on_skipped:
                    on_skipped(entry.path, kind)
            except OSError as error:
                if on_error:
                    on_error(entry.path, error)
        yield folder, _with_sidecars(records, sidecars)
        stack.extend(reversed(subfolders))
