"""The file formats captionary reads, by extension, with the name a person knows them by ("JPEG" for .jpg and
.jpeg), and the kinds of file it does not read (named in the index summary and in `stats`)."""

from __future__ import annotations

import os

# Read by Pillow (AVIF since Pillow 11.3), pillow-heif (HEIC) and pillow-jxl-plugin (JPEG XL).
PHOTO_FORMATS = {
    "jpg": "JPEG",
    "jpeg": "JPEG",
    "jpe": "JPEG",
    "png": "PNG",
    "webp": "WebP",
    "gif": "GIF",
    "bmp": "BMP",
    "tif": "TIFF",
    "tiff": "TIFF",
    "heic": "HEIC",
    "heif": "HEIC",
    "avif": "AVIF",
    "jxl": "JPEG XL",
}
# Camera RAW, read by its embedded preview (indexer/raw.py): each is known by its own extension.
RAW_EXTENSIONS = frozenset(
    {"cr2", "cr3", "nef", "nrw", "arw", "srf", "sr2", "raf", "rw2", "rwl", "dng", "orf", "pef", "srw", "3fr", "iiq"}
    | {"erf", "kdc", "mrw", "x3f"}
)
FORMAT_NAMES = {**PHOTO_FORMATS, **{ext: ext.upper() for ext in RAW_EXTENSIONS}}
INDEXED_EXTENSIONS = frozenset(FORMAT_NAMES)

VIDEO = "video"
NOT_A_PHOTO = "not a photo type"
LINK_NOT_FOLLOWED = "link not followed"  # index --follow-symlinks reads through it
BROKEN_LINK = "broken link"
NOT_A_FILE = "not a regular file"  # a FIFO, socket or device where a file was expected
UNREADABLE = "could not read"  # a folder or entry the scan could not stat or list; the reason follows
# A library's catalog file: the folder holding it is a captionary data dir (db/schema.py), never photos to index.
CATALOG_FILE = "captionary.db"
LIBRARY = "captionary library"  # another library's data dir found in a photo root: skipped whole, named once
VIDEO_EXTENSIONS = frozenset(
    {"mov", "mp4", "m4v", "avi", "mkv", "mts", "m2ts", "3gp", "wmv", "webm", "mpg", "mpeg", "flv", "lrv", "insv"}
)


def extension(path: str) -> str:
    return os.path.splitext(path)[1][1:].lower()


def format_name(ext: str) -> str:
    """ "JPEG" for "jpg" and "jpeg"; an extension captionary does not know is shown as it is, upper case."""
    ext = ext.lower().lstrip(".")
    return FORMAT_NAMES.get(ext, ext.upper())


def extensions_of(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Every extension of the named formats: the app's type filter picks "JPEG" and finds .jpg and .jpeg."""
    wanted = set(names)
    return tuple(sorted(ext for ext, name in FORMAT_NAMES.items() if name in wanted))


def is_raw(path: str) -> bool:
    return extension(path) in RAW_EXTENSIONS


def skipped_kind(path: str) -> str:
    """Why a file found in a photo folder is not indexed, in a word a person reads in the summary."""
    return VIDEO if extension(path) in VIDEO_EXTENSIONS else NOT_A_PHOTO


def skipped_label(path: str, kind: str | None = None) -> str:
    """How the summary groups a skipped file: ".mov (video)", "no extension (not a photo type)"; what is not a
    file of some type by its kind alone ("link not followed": a folder's name has no extension to show)."""
    kind = kind or skipped_kind(path)
    if kind not in (VIDEO, NOT_A_PHOTO):
        return kind
    ext = extension(path)
    return f"{'.' + ext if ext else 'no extension'} ({kind})"


def skipped_summary(labels: list[str]) -> str:
    """ "3 skipped: 2 .mov (video), 1 .psd (not a photo type)", the largest group first."""
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    groups = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return f"{len(labels)} skipped: " + ", ".join(f"{count} {label}" for label, count in groups)


def pair_key(name: str) -> str:
    """What a RAW and the JPEG the camera wrote beside it share: the name without its extension, any case."""
    return os.path.splitext(name)[0].lower()


def pair_of(name: str, neighbours: list[str]) -> str | None:
    """The other half of a RAW+JPEG pair among the names in the same folder: a RAW's photo (JPEG first), or
    a photo's RAW; None when there is none."""
    key, raw = pair_key(name), is_raw(name)
    halves = [other for other in neighbours if other != name and pair_key(other) == key and is_raw(other) != raw]
    halves.sort(key=lambda other: (format_name(extension(other)) != "JPEG", other))
    return halves[0] if halves else None
