"""Reading the catalog for the front ends: photo records, stats, folders, tags and other filter values."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import ColumnElement, String, and_, func, or_, select, type_coerce
from sqlalchemy.orm import Session, joinedload, selectinload

from db.columns import ESCAPE, display_text
from db.errors import NotIndexedError
from db.formats import format_name, pair_of, skipped_label
from db.models import Content, File, Meta, Pending, Root, SkippedFile
from db.records import EARLIEST_PHOTO, latest_plausible, photo_day, plausible_date
from db.schema import Sessions, meta_int
from db.tag_facets import TagMatrix
from db.types import Facets, ImageRecord


def _record(file: File) -> ImageRecord:
    content = file.content
    assert content is not None
    return ImageRecord(
        id=file.id,
        path=file.path,
        root=file.root,
        name=file.name,
        ext=file.ext,
        size=file.size,
        mtime=datetime.fromtimestamp(file.mtime_ns / 1e9, timezone.utc).replace(tzinfo=None),
        caption=content.effective_caption,
        edited=content.user_caption is not None,
        model=content.model,
        width=content.width,
        height=content.height,
        format=content.format,
        taken_at=plausible_date(file.taken_at),
        camera=file.camera,
        content_hash=content.hash,
        tags=file.visible_tags,
        place=file.place,
        title=file.title,
        description=file.description,
        file_tags=file.file_tags,
        rating=file.rating,
        latitude=file.latitude,
        longitude=file.longitude,
        metadata_problem=file.metadata_problem,
        text=content.ocr_text,
        taken_zone=file.taken_zone if plausible_date(file.taken_at) else None,
    )


PAIR_CHUNK = 250  # photos whose other halves one statement looks for


def images(sessions: Sessions, file_ids: Sequence[int]) -> dict[int, ImageRecord]:
    """Rows for the given ids; ids that are no longer in the DB are simply absent."""
    with sessions() as session:
        files = session.scalars(
            select(File)
            .options(joinedload(File.content).selectinload(Content.tags), selectinload(File.keywords))
            .where(File.id.in_(list(file_ids)), File.content_id.is_not(None))
        )
        records = {file.id: _record(file) for file in files}
        return _with_pairs(session, records)


def _with_pairs(session: Session, records: dict[int, ImageRecord]) -> dict[int, ImageRecord]:
    """Each record with the other half of its RAW+JPEG pair, if that is indexed too (db/formats.py)."""
    if not records:
        return records
    # LIKE ignores ASCII case, as cameras and card readers vary it (IMG_1.CR2, img_1.jpg); pair_of decides
    wanted = sorted({(os.path.dirname(record.path), os.path.splitext(record.name)[0]) for record in records.values()})
    by_folder: dict[str, dict[str, int]] = {}
    # SQLite parses a chain of ORs a level deep per term, and refuses more than 1,000 levels (`search --limit 2000`)
    for start in range(0, len(wanted), PAIR_CHUNK):
        query = select(File.id, File.path, File.name).where(
            File.content_id.is_not(None),
            or_(
                *(and_(File.folder == folder, File.name.like(f"{stem}.%")) for folder, stem in wanted[start : start + PAIR_CHUNK])
            ),
        )
        for file_id, path, name in session.execute(query):
            by_folder.setdefault(os.path.dirname(path), {})[name] = file_id
    for file_id, record in records.items():
        neighbours = by_folder.get(os.path.dirname(record.path), {})
        other = pair_of(record.name, list(neighbours))
        if other is not None:
            records[file_id] = replace(record, pair=os.path.join(os.path.dirname(record.path), other), pair_id=neighbours[other])
    return records


CAPTION_CHUNK = 500  # ids a statement: SQLite's limit on bound parameters is far above, the IN list stays cheap


def captions(sessions: Sessions, file_ids: Iterable[int]) -> dict[int, str]:
    """The caption shown for each id (a person's, else the model's); nothing else is read."""
    ids, found = list(file_ids), {}
    with sessions() as session:
        for start in range(0, len(ids), CAPTION_CHUNK):
            rows = session.execute(
                select(File.id, Content.effective_caption)
                .join(Content, File.content_id == Content.id)
                .where(File.id.in_(ids[start : start + CAPTION_CHUNK]))
            )
            found.update({file_id: caption or "" for file_id, caption in rows})
    return found


def image(sessions: Sessions, file_id: int) -> ImageRecord:
    record = images(sessions, [file_id]).get(file_id)
    if record is None:
        raise NotIndexedError(f"No indexed image with id {file_id}")
    return record


def image_by_path(sessions: Sessions, path: str | Path) -> ImageRecord:
    resolved = str(Path(path).expanduser().absolute())
    spellings = [resolved, str(Path(resolved).resolve())]
    with sessions() as session:
        if "\ufffd" in resolved and not _recorded(session, spellings):  # a name as captionary shows it, copied back
            spellings += _shown_as(session, resolved)
        file_id = session.scalar(select(File.id).where(File.path.in_(spellings), File.content_id.is_not(None)))
        if file_id is not None:
            return image(sessions, file_id)
        failed = session.scalar(select(File.error).where(File.path.in_(spellings), File.error.is_not(None)))
        waiting = session.scalar(select(Pending.id).where(Pending.path.in_(spellings)))
    if waiting is not None:
        raise NotIndexedError(
            f"{resolved} is not captioned yet: an index run found it and has not reached it (or was stopped first); "
            "try again once that run is done, or run: captionary index FOLDER_CONTAINING_IT"
        )
    if failed is not None:
        raise NotIndexedError(f"{resolved} could not be read when it was indexed ({failed}), so it has no caption to change")
    if "\ufffd" in resolved:  # shown alike with another name, or never indexed: the real bytes tell
        raise NotIndexedError(
            f"{resolved} names no one indexed photo: \ufffd stands for a byte that is not UTF-8; "
            "type the name as your shell completes it (Tab)"
        )
    raise NotIndexedError(f"{resolved} is not indexed; run: captionary index FOLDER_CONTAINING_IT")


def _recorded(session: Session, spellings: list[str]) -> bool:
    """A file or a queued file is recorded under one of these spellings (a name that really holds U+FFFD)."""
    return any(
        session.scalar(select(table.path).where(table.path.in_(spellings)).limit(1)) is not None for table in (File, Pending)
    )


def _shown_as(session: Session, shown: str) -> list[str]:
    """The one indexed path shown as `shown`: each byte of a name that is not UTF-8 is shown as U+FFFD, and
    kept in the catalog as U+FFFF and four hex digits (db/columns.py). Two names shown alike name neither."""
    special = {"*": "[*]", "?": "[?]", "[": "[[]"}
    pattern = "".join(ESCAPE + "????" if char == "\ufffd" else special.get(char, char) for char in shown)
    stored = type_coerce(File.path, String)  # the pattern is compared with the stored spelling itself
    candidates = session.scalars(select(File.path).where(stored.op("GLOB")(pattern)).limit(2)).all()
    return [candidates[0]] if len(candidates) == 1 and display_text(candidates[0]) == shown else []


def stats(sessions: Sessions, data_dir: Path, embedder_id: str | None) -> dict:
    with sessions() as session:
        count = session.scalar(select(func.count()).select_from(File).where(File.content_id.is_not(None))) or 0
        distinct = session.scalar(select(func.count(func.distinct(File.content_id)))) or 0
        failed = session.scalar(select(func.count()).select_from(File).where(File.error.is_not(None)))
        by_model = model_counts(session)
        # Of photos in the library now: a photo's content outlives it for a while (reused if it comes back)
        edited = session.scalar(select(func.count()).select_from(Content).where(Content.user_caption.is_not(None), _held()))
        dated = _photos_where(session, File.taken_at >= EARLIEST_PHOTO, File.taken_at <= datetime.now() + timedelta(days=1))
        placed = _photos_where(session, File.place.is_not(None))
        keyworded = _photos_where(session, File.keywords.any())
        described = _photos_where(session, (File.title.is_not(None)) | (File.description.is_not(None)))
        with_text = _photos_where(session, Content.ocr_text.is_not(None), Content.ocr_text != "")
        text_read = _photos_where(session, Content.ocr_engine.is_not(None))
        metadata_problems = session.scalar(select(func.count()).select_from(File).where(File.metadata_problem.is_not(None)))
        embedders = _vectors_by_model(session, Content.embedder, Content.embedding)
        image_embedders = _vectors_by_model(session, Content.image_embedder, Content.image_embedding)
        formats = format_counts(session)
        skipped_kinds = _skipped_kinds(session)
    embedded = embedders.get(embedder_id, 0) if embedder_id else sum(embedders.values())
    return {
        "images": count,
        "failed": failed,
        "duplicates": count - distinct,
        "edited": edited,
        "dated": dated,  # photos whose date taken comes from EXIF (the others are dated by their file)
        "placed": placed,  # photos with a place name (typed in the file, or from their GPS position)
        "file_keywords": keyworded,  # photos with keywords from their file or sidecar (IPTC/XMP)
        "described": described,  # photos with a title or description from their file
        "metadata_problems": metadata_problems,  # photos with a sidecar or XMP that could not be read
        "with_text": with_text,  # photos with text read in their pixels (OCR)
        "text_read": text_read,  # photos OCR has looked at (index --ocr)
        "model": [model for model, _ in by_model],
        "models": dict(by_model),
        "roots": roots(sessions),
        "data_dir": str(data_dir),
        "embedded": embedded,
        "embedders": embedders,
        # distinct photos with image vectors (all image embedders), and per image embedder
        "image_embedded": sum(image_embedders.values()),
        "image_embedders": image_embedders,
        "formats": formats,  # indexed photos by format name ("JPEG" counts .jpg and .jpeg), most first
        "skipped": sum(skipped_kinds.values()),  # files in the roots that are not read (videos, PSDs...)
        "skipped_kinds": skipped_kinds,  # {".mov (video)": 2}
        "skipped_files": skipped_files(sessions),  # [{"path", "kind"}]
    }


def format_counts(session: Session) -> dict[str, int]:
    counts: dict[str, int] = {}
    query = select(File.ext, func.count()).where(File.content_id.is_not(None)).group_by(File.ext)
    for ext, count in session.execute(query):
        counts[format_name(ext)] = counts.get(format_name(ext), 0) + count
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _skipped_kinds(session: Session) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path, kind in session.execute(select(SkippedFile.path, SkippedFile.kind)):
        label = skipped_label(path, kind)
        counts[label] = counts.get(label, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def skipped_files(sessions: Sessions) -> list[dict[str, str]]:
    """Every file the last scans found and do not read, by path."""
    with sessions() as session:
        rows = session.execute(select(SkippedFile.path, SkippedFile.kind).order_by(SkippedFile.path))
        return [{"path": path, "kind": kind} for path, kind in rows]


def _photos_where(session: Session, *conditions) -> int:
    """Indexed paths whose content meets the conditions (a photo at two paths counts twice, as `images`)."""
    query = select(func.count()).select_from(File).join(Content, File.content_id == Content.id).where(*conditions)
    return session.scalar(query) or 0


def _vectors_by_model(session: Session, model, vector) -> dict[str, int]:
    """How many distinct photos hold a vector from each model (of one kind: captions' or pixels')."""
    rows = session.execute(select(model, func.count()).where(model.is_not(None), vector.is_not(None), _held()).group_by(model))
    return {name: count for name, count in rows}


def _held() -> ColumnElement[bool]:
    """A content some indexed path holds: not one kept after its photo was removed (db/catalog.py ORPHAN_GRACE)."""
    return Content.id.in_(select(File.content_id).where(File.content_id.is_not(None)))


def model_counts(session: Session) -> list[tuple[str, int]]:
    """The models that wrote automatic captions with their photo counts, most used first."""
    return [
        (model, count)
        for model, count in session.execute(
            select(Content.model, func.count())
            .join(File, File.content_id == Content.id)
            .group_by(Content.model)
            .order_by(func.count().desc())
        )
    ]


def caption_source(session: Session) -> str | None:
    """The caption source (model and settings) of the library's last captioning run, else, in a library from
    before runs remembered it, the one that wrote most of its captions."""
    remembered = session.scalar(select(Meta.value).where(Meta.key == "caption_source"))
    if remembered is not None:
        return remembered
    most = model_counts(session)
    return most[0][0] if most else None


def failures(sessions: Sessions) -> list[tuple[str, str]]:
    with sessions() as session:
        return [
            (path, error or "")
            for path, error in session.execute(select(File.path, File.error).where(File.error.is_not(None)).order_by(File.path))
        ]


def metadata_problems(sessions: Sessions) -> list[tuple[str, str]]:
    """Photos indexed whole whose sidecar or embedded XMP could not be read, with the reason."""
    with sessions() as session:
        query = select(File.path, File.metadata_problem).where(File.metadata_problem.is_not(None)).order_by(File.path)
        return [(path, problem or "") for path, problem in session.execute(query)]


def folders(sessions: Sessions) -> list[str]:
    """Every folder that holds an indexed image, with its ancestors up to the root."""
    result: set[str] = set()
    with sessions() as session:
        rows = session.execute(select(File.root, File.folder).where(File.content_id.is_not(None)).distinct())
        for root, folder in rows:
            current = Path(folder)
            while True:
                result.add(str(current))
                if str(current) == root or current.parent == current:
                    break
                current = current.parent
    return sorted(result)


def roots(sessions: Sessions) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(Root.path).order_by(Root.path)))


def formats(sessions: Sessions) -> list[str]:
    """The formats of the indexed photos, by name, one entry per format ("JPEG" for .jpg and .jpeg)."""
    with sessions() as session:
        found = session.scalars(select(File.ext).where(File.content_id.is_not(None)).distinct())
        return sorted({format_name(ext) for ext in found})


def day_bounds(sessions: Sessions) -> tuple[date, date] | None:
    """The first and last day the photos are filed under (photo_day: taken, else the file's date), None for
    none: a date filter spanning them leaves every photo in."""
    indexed = File.content_id.is_not(None)
    believed = File.taken_at.between(EARLIEST_PHOTO, latest_plausible())
    days: list[date] = []
    with sessions() as session:
        # the first and last of each kind of date, aggregated in SQLite: no row per photo comes to Python
        first, last = session.execute(select(func.min(File.taken_at), func.max(File.taken_at)).where(indexed, believed)).one()
        days += [photo_day(taken, 0) for taken in (first, last) if taken is not None]
        unknown = select(func.min(File.mtime_ns), func.max(File.mtime_ns)).where(indexed, ~believed | File.taken_at.is_(None))
        days += [photo_day(None, mtime_ns) for mtime_ns in session.execute(unknown).one() if mtime_ns is not None]
    return (min(days), max(days)) if days else None


def place_counts(sessions: Sessions, limit: int = 60) -> list[tuple[str, int]]:
    """Countries and full place names with their photo counts, most photos first: "Japan" (every photo in
    it) as well as "Kyoto, Japan"."""
    counts: dict[str, int] = {}
    with sessions() as session:
        query = select(File.place, func.count(File.id)).where(File.content_id.is_not(None), File.place.is_not(None))
        for place, number in session.execute(query.group_by(File.place)):
            if place is None:
                continue
            country = place.rsplit(", ", 1)[-1]
            counts[country] = counts.get(country, 0) + number
            if place != country:
                counts[place] = counts.get(place, 0) + number
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]


def rated_count(sessions: Sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count(File.id)).where(File.content_id.is_not(None), File.rating >= 1)) or 0


class FacetCache:
    """Filter values, recomputed only after the DB changes (each is a scan over every photo: too slow to
    redo on every page view of a large library; bench/search_latency.py measures it)."""

    def __init__(self) -> None:
        self._cached: tuple[tuple[int, int], Facets] | None = None
        self._tags: tuple[int, TagMatrix] | None = None

    def get(self, sessions: Sessions, top_tags: int) -> Facets:
        seq = _seq(sessions)
        key = (seq, top_tags)
        if self._cached is None or self._cached[0] != key:
            facets = Facets(
                folders(sessions),
                formats(sessions),
                self.tags(sessions, seq).counts(limit=top_tags),
                roots(sessions),
                place_counts(sessions),
                day_bounds(sessions),
                rated_count(sessions),
            )
            self._cached = (key, facets)
        return self._cached[1]

    def tags(self, sessions: Sessions, seq: int | None = None) -> TagMatrix:
        """Which photo carries which tag, as of the catalog's last change (`seq`, where the caller has read it)."""
        seq = _seq(sessions) if seq is None else seq
        if self._tags is None or self._tags[0] != seq:
            self._tags = (seq, TagMatrix.read(sessions))
        return self._tags[1]


def _seq(sessions: Sessions) -> int:
    with sessions() as session:
        return meta_int(session, "seq")
