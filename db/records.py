"""The records db/ and indexer/ both hold, and the small rules that come with them: what the scan queues, what a
reader learns of a photo, what a run hands the catalog, where a thumbnail lives, which dates are believed and how
a tag is written. No SQLAlchemy here: a reader process imports this, never the catalog's machinery."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

EARLIEST_PHOTO = datetime(1826, 1, 1)
MAX_TAG_LENGTH = 100  # a person's longer tag is refused (db/edits.py); a file's longer keyword is cut to it
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class PendingFile:
    """A file the scan queued: new, or changed since it was indexed."""

    id: int
    path: str
    root: str
    size: int
    mtime_ns: int
    sidecars: str = ""  # the scan's signature of its sidecars (indexer/crawl.py)
    metadata_only: bool = False


@dataclass(frozen=True)
class PhotoFacts:
    """What decoding a photo tells about it (indexer/imaging.py); what its EXIF and sidecars say is
    PhotoMetadata's (indexer/metadata.py), read once."""

    width: int
    height: int
    format: str


@dataclass(frozen=True)
class PhotoMetadata:
    """What a photo's file and sidecars say (indexer/metadata.py reads it): EXIF, IPTC and XMP together."""

    taken_at: datetime | None = None
    taken_zone: str | None = None  # "+02:00", "Z" (UTC), or None: local time, zone unknown (indexer/dates.py)
    camera: str | None = None
    lens: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    place: str | None = None  # typed in the file (IPTC/XMP city, country), else named from the position
    title: str | None = None
    description: str | None = None
    keywords: tuple[str, ...] = ()  # normalised like a person's tags: they become tags of source `file`
    keyword_paths: tuple[str, ...] = ()  # "People|Family|Grandma"
    rating: int | None = None
    sidecars: str = ""  # the signature of the sidecars read (indexer/crawl.py)
    problems: tuple[str, ...] = ()  # "photo.xmp: XMP is not valid XML (...)"


@dataclass(frozen=True)
class Outcome:
    """What the pipeline learned about one pending file: bytes known by hash, a new caption, or a failure."""

    path: str
    root: str
    size: int
    mtime_ns: int
    content_hash: str = ""
    facts: PhotoFacts | None = None  # set when the bytes were decoded (new to the catalog, or re-captioned)
    caption: str | None = None
    error: str | None = None
    vanished: bool = False  # deleted since the scan: nothing is written, the next sweep settles it
    image_vector: bytes | None = None  # the pixels' embedding (float16) from the run's image embedder
    metadata: PhotoMetadata | None = None
    sidecars: str = ""  # the scan's sidecar signature, kept when the metadata could not be read
    metadata_only: bool = False  # bytes unchanged: only the metadata is new
    ocr_text: str | None = None  # text read in the pixels; None: not read in this run


def storable_ns(nanoseconds: int) -> int:
    """A modification time as the catalog keeps it; compare a stat with a stored time through this."""
    return min(max(nanoseconds, _INT64_MIN), _INT64_MAX)


def thumbnail_path(directory: Path, content_hash: str) -> Path:
    return directory / content_hash[:2] / f"{content_hash}.jpg"


def make_thumbnail_folder(target: Path) -> None:
    """The folders a thumbnail goes in, but never the library's own: one moved or deleted while a run goes on must
    not come back where it was (FileNotFoundError instead)."""
    if not target.parent.is_dir():
        target.parent.parent.mkdir(exist_ok=True)
        target.parent.mkdir(exist_ok=True)


def latest_plausible() -> datetime:
    """The last moment a date taken is believed: a camera's clock set ahead (2099) is not."""
    return datetime.now() + timedelta(days=1)


def plausible_date(value: datetime | None) -> datetime | None:
    """A date taken as it can be believed, else None (unknown): read from files and from stored rows."""
    if value is None or value < EARLIEST_PHOTO or value > latest_plausible():
        return None
    return value


def photo_moment(taken_at: datetime | None, mtime_ns: int) -> datetime:
    """When a photo is filed under by date filters and date order: taken (when believed), else its file's time."""
    taken_at = plausible_date(taken_at)
    return taken_at if taken_at else datetime.fromtimestamp(mtime_ns / 1e9)


def photo_day(taken_at: datetime | None, mtime_ns: int) -> date:
    return photo_moment(taken_at, mtime_ns).date()


def printable(text: str) -> str:
    """Text without control characters or lone surrogates (XML cannot hold them; a terminal misreads them)."""
    return "".join(char for char in text if unicodedata.category(char) not in ("Cc", "Cs") or char.isspace())


def undecodable(what: str, text: str) -> str | None:
    """Why typed text is refused when it holds a byte that is not UTF-8 (Python hands such a byte from a terminal
    on as a lone surrogate), else None: kept, the byte would be silently cut (printable)."""
    found = _UNDECODABLE.search(text)
    if found is None:
        return None
    byte = ord(found.group()) - 0xDC00
    return f"{what} holds a byte that is not UTF-8 (\\x{byte:02x}); set the terminal to UTF-8 and type it again"


_UNDECODABLE = re.compile("[\udc80-\udcff]")


def normalize_tag(text: str) -> str:
    """A person's tag: lower case, single spaces, no commas (they separate tags in the index) and no semicolons
    (they separate them in the CSV export)."""
    text = printable(unicodedata.normalize("NFC", text)).lower().replace(",", " ").replace(";", " ")
    return " ".join(text.split())[:MAX_TAG_LENGTH]
