"""Export captions and tags: streamed CSV/JSON, and XMP sidecars that digiKam, darktable and Lightroom read."""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from sqlalchemy import select

from db.columns import display_text, within
from db.errors import FREE_SPACE, CaptionaryError, DiskFullError, disk_full
from db.models import Content, File, Root, file_keywords_sql, joined_tags, tags_sql
from db.records import plausible_date
from db.schema import Sessions
from db.sidecars import without_sidecar
from db.xmp import MAX_XMP_BYTES, SidecarError, SidecarFields, sidecar_xml

EXPORT_CHUNK = 1000
FIELDS = ("path", "caption", "tags", "model", "taken_at", "edited", "title", "description", "place", "text", "camera", "rating")


@dataclass(frozen=True)
class ExportRow:
    path: str
    caption: str
    tags: list[str]
    model: str
    taken_at: str | None
    edited: bool
    title: str | None = None  # the file's own (IPTC/XMP), not the model's
    description: str | None = None
    place: str | None = None
    auto_tags: list[str] = field(default_factory=list)  # XMP only: which tags came from the caption
    removed_tags: list[str] = field(default_factory=list)  # and which a person removed
    keyword_paths: list[str] = field(default_factory=list)
    text: str | None = None  # read in the pixels (OCR)
    file_tags: list[str] = field(default_factory=list)  # XMP only: the tags that are the file's keywords
    sidecars: str = ""  # XMP only: the sidecars beside the photo when its metadata was read
    camera: str | None = None  # EXIF make and model
    rating: int | None = None  # the file's stars (-1 rejected, 1 to 5) as it says, 0 (unrated) read as none; added after text

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "caption": self.caption,
            "tags": self.tags,
            "model": self.model,
            "taken_at": self.taken_at,
            "edited": self.edited,
            "title": self.title,
            "description": self.description,
            "place": self.place,
            "text": self.text,
            "camera": self.camera,
            "rating": self.rating,
        }

    def sidecar_fields(self, sources: str) -> SidecarFields:
        return SidecarFields(
            self.caption,
            self.tags,
            self.auto_tags,
            self.title,
            self.description,
            self.keyword_paths,
            self.place,
            self.removed_tags,
            self.text,
            self.file_tags,
            sources,
        )


def export_rows(sessions: Sessions) -> Iterator[ExportRow]:
    """Every indexed image, in path order, a chunk at a time: memory stays flat for a million rows."""
    last_path = ""
    while True:
        with sessions() as session:
            chunk = session.execute(
                select(
                    File.path,
                    Content.effective_caption,
                    Content.user_caption.is_not(None),
                    Content.model,
                    File.taken_at,
                    tags_sql("auto", "user"),
                    file_keywords_sql(),
                    File.title,
                    File.description,
                    File.place,
                    tags_sql("auto"),
                    tags_sql("hidden"),
                    File.keyword_paths,
                    Content.ocr_text,
                    File.sidecars,
                    File.camera,
                    File.rating,
                )
                .join(Content, File.content_id == Content.id)
                .where(File.path > last_path)
                .order_by(File.path)
                .limit(EXPORT_CHUNK)
            ).all()
        if not chunk:
            return
        for path, caption, edited, model, taken_at, content_tags, keywords, title, description, place, *rest in chunk:
            auto, hidden, paths, text, sidecars, camera, rating = rest
            taken = plausible_date(taken_at)
            file_tags = joined_tags(keywords)  # the file's keywords, less those a person removed
            own = set(file_tags)
            yield ExportRow(
                path,
                caption,
                joined_tags(content_tags, keywords),
                model,
                taken.isoformat() if taken else None,
                bool(edited),
                title,
                description,
                place,
                [tag for tag in joined_tags(auto) if tag not in own],  # a keyword of the file is the person's
                joined_tags(hidden),
                paths.split("\n") if paths else [],
                text,
                file_tags,
                sidecars or "",
                camera,
                rating,
            )
        last_path = chunk[-1][0]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """A cell a spreadsheet will show, not run: OWASP's advice for CSV injection is a leading quote on
    anything starting like a formula (a caption "=cmd|' /C calc'!A0", a tag "+SUM(...)")."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


# C0 controls but tab and newline: a name's ESC or BEL would reach whoever prints the file; a CR would end a row.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f]")


def csv_cell(text: str) -> str:
    """A cell as written: UTF-8 (a byte of a name that is not UTF-8 as U+FFFD), without C0 controls but tab
    and newline, and safe in a spreadsheet."""
    return spreadsheet_safe(_CONTROL.sub("", display_text(text)))


class Output(Protocol):
    def write(self, text: str, /) -> int: ...


def write_csv(rows: Iterator[ExportRow], out: Output) -> int:
    writer = csv.writer(out)
    writer.writerow(FIELDS)
    count = 0
    for row in rows:
        writer.writerow(
            [
                csv_cell(cell)
                for cell in (
                    row.path,
                    row.caption,
                    ";".join(row.tags),
                    row.model,
                    row.taken_at or "",
                    "true" if row.edited else "false",  # as in JSON: an empty cell would read as unknown
                    row.title or "",
                    row.description or "",
                    row.place or "",
                    row.text or "",
                    row.camera or "",
                )
            ]
            # a number of ours, not text of a file's: "-1" (rejected) is no formula to quote
            + ["" if row.rating is None else str(row.rating)]
        )
        count += 1
    return count


def write_json(rows: Iterator[ExportRow], out: Output) -> int:
    """A JSON array written element by element, never built in memory."""
    out.write("[")
    count = 0
    for row in rows:
        out.write(",\n" if count else "\n")
        out.write(display_text(json.dumps(row.as_dict(), ensure_ascii=False)))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


@dataclass
class XmpReport:
    written: int = 0
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


def sidecar_path(photo: str, sidecar_dir: Path | None) -> Path:
    """`photo.jpg.xmp` (digiKam/darktable naming) beside the photo, or mirrored under sidecar_dir."""
    if sidecar_dir is None:
        return Path(photo + ".xmp")
    return sidecar_dir / (photo.lstrip(os.sep) + ".xmp")


def export_xmp(sessions: Sessions, sidecar_dir: Path | None = None, next_to_photos: bool = False) -> XmpReport:
    """Write one sidecar per image; next to the photos only when asked for explicitly."""
    if (sidecar_dir is None) == (not next_to_photos):
        raise CaptionaryError(
            "Choose where sidecars go: --sidecar-dir DIR, or --next-to-photos to write photo.jpg.xmp beside each photo"
        )
    if sidecar_dir is not None:
        _refuse_among_photos(sessions, sidecar_dir)
    chosen = os.path.realpath(sidecar_dir) if sidecar_dir is not None else ""
    inside: set[Path] = set()  # the folders found inside it (photos share folders: one realpath each)
    report = XmpReport()
    for row in export_rows(sessions):
        target = sidecar_path(row.path, sidecar_dir)
        # the other sidecars beside the photo its copies were read with (not this one, about to change)
        sources = without_sidecar(row.sidecars, target.name) if sidecar_dir is None else row.sidecars
        try:
            if sidecar_dir is not None:
                _refuse_a_way_out(target.parent, chosen, inside)
            existing = _existing_sidecar(target)
            content = sidecar_xml(existing, row.sidecar_fields(sources))
            if content == existing:
                report.unchanged += 1  # nothing changed: no write, the file's mtime stays
                continue
            _replace(target, content)
            report.written += 1
        except (OSError, SidecarError) as error:
            report.failed.append((str(target), str(error)))
    return report


def _refuse_among_photos(sessions: Sessions, sidecar_dir: Path) -> None:
    """--sidecar-dir / mirrors every photo's path onto itself, and a folder inside a root writes among the photos:
    both would write into the photo folders, which only --next-to-photos may do."""
    chosen = os.path.realpath(sidecar_dir)
    with sessions() as session:
        roots = list(session.scalars(select(Root.path)))
    for root in roots:
        if chosen == os.sep or within(chosen, root):
            raise CaptionaryError(
                f"--sidecar-dir {sidecar_dir} would write among the photos under {root}; choose a folder outside "
                "your photo folders, or --next-to-photos to write beside each photo on purpose"
            )


def _refuse_a_way_out(folder: Path, chosen: str, inside: set[Path]) -> None:
    """A folder link inside --sidecar-dir (real path `chosen`) could lead into the photo folders: not followed."""
    if folder in inside:
        return
    real = os.path.realpath(folder)
    if not within(real, chosen):
        raise SidecarError(f"a folder link inside {chosen} leads to {real}: left untouched (links are not followed)")
    inside.add(folder)


def _existing_sidecar(target: Path) -> bytes | None:
    """The sidecar's bytes, None when there is none. Anything but a regular file (a FIFO would hang the
    read; a link would be followed, then replaced by a file) is left untouched, as indexing does."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(target, flags)
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno == errno.ELOOP:  # a symbolic link, O_NOFOLLOW's answer
            raise SidecarError("not a regular file (a symbolic link); left untouched") from None
        raise
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise SidecarError("not a regular file; left untouched")
        os.set_blocking(descriptor, True)
        data = handle.read(MAX_XMP_BYTES + 1)
    if len(data) > MAX_XMP_BYTES:
        raise SidecarError(f"existing sidecar is over {MAX_XMP_BYTES} bytes; left untouched")
    return data


def _replace(target: Path, content: bytes) -> None:
    """Written beside it under a fresh name (never through a link planted there), then renamed over it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(os.lstat(target).st_mode)  # the sidecar's own permissions are kept
    except FileNotFoundError:
        mode = 0o644  # as photo tools write one (mkstemp's file is private)
    with replacing(target, mode) as handle:
        handle.write(content)


@contextmanager
def replacing(target: Path, mode: int = 0o644) -> Iterator[BinaryIO]:
    """A file written whole or not at all: beside the target under a fresh name, renamed over it at the end."""
    # A short name: `.{name}.tmp` passed 255 bytes for a photo whose own sidecar name still fits.
    descriptor, temporary = tempfile.mkstemp(prefix=".captionary-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            yield handle
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def export_file(rows: Iterator[ExportRow], output: Path, file_format: str) -> int:
    """The rows written to a file whole or not at all; a link is written through to what it names, and a FIFO or
    device (/dev/stdout) is written to as it is, never replaced by a file."""
    write = write_csv if file_format == "csv" else write_json
    target = output.resolve() if output.is_symlink() else output
    try:
        if target.exists() and not target.is_file():
            with open(target, "w", encoding="utf-8", newline="") as stream:
                return write(rows, stream)
        with replacing(target) as handle:
            stream = io.TextIOWrapper(handle, encoding="utf-8", newline="")
            count = write(rows, stream)
            stream.flush()
            stream.detach()  # the binary handle is `replacing`'s to close, before the rename
    except OSError as error:
        if disk_full(error, target.parent):
            raise DiskFullError(f"No space left on the disk writing {output}: {FREE_SPACE}") from None
        raise
    return count
