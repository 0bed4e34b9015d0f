"""One batch of an index run written atomically: what the stages learned about each file (Outcome) becomes
content rows (reused by hash, captioned, re-captioned) and file rows, in one transaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session, selectinload

from db.models import Content, File, FileKeyword, Pending, Tag, utcnow
from db.records import Outcome, PhotoMetadata
from db.rows import PIXEL_COLUMNS, content_columns, file_columns, metadata_columns, pixel_columns, read_columns
from db.schema import Sessions
from db.sequence import mark_files_changed, next_seq
from db.tags import auto_tags, retag, set_file_keywords


@dataclass
class Recorded:
    captioned: list[int] = field(default_factory=list)  # content ids whose caption this batch wrote
    reused: int = 0
    moved: int = 0  # of the reused: new paths of bytes that had no path left (moved or renamed since)
    failures: list[tuple[str, str]] = field(default_factory=list)
    metadata_read: int = 0  # photos whose bytes were known, read again for their metadata only
    vanished: int = 0  # deleted or written since the scan: nothing recorded, the next run settles them
    metadata_problems: list[tuple[str, str]] = field(default_factory=list)


def record_batch(
    sessions: Sessions,
    checkpoint: Callable[[str], None],
    outcomes: Sequence[Outcome],
    run_id: int,
    model_id: str,
    image_embedder: str | None = None,
    ocr_engine: str | None = None,
) -> Recorded:
    """Commit one batch atomically (a crash loses at most the batch in flight) and dequeue it."""
    recorded = Recorded()
    with sessions.begin() as session:
        seq = next_seq(session)
        paths = [item.path for item in outcomes]
        # Two lookups for the whole batch, not two per photo.
        files = {
            file.path: file
            for file in session.scalars(
                select(File)
                .options(selectinload(File.content).selectinload(Content.tags), selectinload(File.keywords))
                .where(File.path.in_(paths))
            )
        }
        hashes = {item.content_hash for item in outcomes if item.error is None and not item.vanished}
        contents = {content.hash: content for content in session.scalars(select(Content).where(Content.hash.in_(hashes)))}
        homeless = _homeless(session, hashes)
        # INSERT ... RETURNING many rows needs SQLite 3.35 (2021); an older one writes every row through the ORM.
        returning = session.get_bind().dialect.insert_executemany_returning_sort_by_parameter_order
        fresh = _fresh(outcomes, files, contents) if returning else set()
        sources = (model_id, image_embedder, ocr_engine)
        captioned: list[Content] = []
        for item in outcomes:
            if item.vanished:
                recorded.vanished += 1
                continue
            file = files.get(item.path)
            if item.metadata is not None and item.metadata.problems:
                recorded.metadata_problems.append((item.path, "; ".join(item.metadata.problems)))
            if item.metadata_only:  # never fresh: its path is known
                if file is not None:
                    _metadata_only(file, item, seq)
                    recorded.metadata_read += 1
                continue
            if item.error is not None:
                recorded.failures.append((item.path, item.error))
            if item.path not in fresh:
                files[item.path] = _write_with_orm(session, item, file, contents, sources, (run_id, seq), captioned, recorded)
                if file is None and item.error is None:
                    _count_move(contents.get(item.content_hash), homeless, recorded)
        new = [item for item in outcomes if item.path in fresh]
        inserted = _insert_fresh(session, new, run_id, seq, sources, recorded)
        session.execute(delete(Pending).where(Pending.path.in_(paths)))
        session.flush()
        # Other paths with a content the ORM wrote show it too; inserted contents have no other path.
        mark_files_changed(session, seq, content_ids=[content.id for content in captioned])
        recorded.captioned = [content.id for content in captioned] + list(inserted.values())
        checkpoint("commit")
    return recorded


def _homeless(session: Session, hashes: set[str]) -> set[int]:
    """Contents whose last path this run swept: a new path for one is a move or a rename. Those left without a path
    by an earlier run or by `forget` are marked orphaned (collect_orphan_contents): a path for one is a return."""
    pathless = ~select(File.id).where(File.content_id == Content.id).exists()
    swept = Content.orphaned_at.is_(None)
    return set(session.scalars(select(Content.id).where(Content.hash.in_(hashes), pathless, swept)))


def _count_move(content: Content | None, homeless: set[int], recorded: Recorded) -> None:
    if content is not None and content.id in homeless:
        recorded.moved += 1
        homeless.discard(content.id)  # a second new path for it in this batch is a copy


def _write_with_orm(
    session: Session,
    item: Outcome,
    file: File | None,
    contents: dict[str, Content],
    sources: tuple[str, str | None, str | None],
    run: tuple[int, int],
    captioned: list[Content],
    recorded: Recorded,
) -> File:
    """A path already known, or bytes already known: its rows reconciled with what is there."""
    model_id, image_embedder, ocr_engine = sources
    content = None
    if item.error is None:
        content = _content_for(session, item, contents, file, model_id, captioned, recorded)
        for column, value in pixel_columns(item, image_embedder, ocr_engine).items():
            setattr(content, column, value)
    if file is None:
        file = File(path=item.path)
        session.add(file)
    _describe_file(file, item, content, *run)
    if item.metadata is not None:
        apply_metadata(file, item.metadata)
    return file


def _fresh(outcomes: Sequence[Outcome], files: dict[str, File], contents: dict[str, Content]) -> set[str]:
    """The paths that are new and whose bytes are new too (or that failed): most of a first run, written with
    plain INSERTs (_insert_fresh) at about a quarter of the ORM's cost in the interpreter that also runs the model.
    Bytes the catalog knows, or that another photo of this batch brings, go through the ORM, which reconciles
    them with what is there (reuse, re-caption, a person's caption following an edited photo)."""
    candidates = [item for item in outcomes if not item.vanished and not item.metadata_only and item.path not in files]
    once = {path for path, count in Counter(item.path for item in candidates).items() if count == 1}
    elsewhere = {item.content_hash for item in outcomes if item.error is None and item.path not in once}
    return {
        item.path
        for item in candidates
        if item.path in once
        and (item.error is not None or (item.content_hash not in contents and item.content_hash not in elsewhere))
    }


def _insert_fresh(
    session: Session,
    fresh: Sequence[Outcome],
    run_id: int,
    seq: int,
    sources: tuple[str, str | None, str | None],
    recorded: Recorded,
) -> dict[str, int]:
    """The rows the ORM path would write for new paths with new bytes: contents with their auto-tags, files with
    their keywords. Returns the new contents' ids by hash."""
    ids = _insert_contents(session, fresh, sources, recorded)
    if not fresh:
        return ids
    table = cast(Table, File.__table__)
    rows = [_file_row(item, ids.get(item.content_hash) if item.error is None else None, run_id, seq) for item in fresh]
    file_ids = list(session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars())
    keywords = [
        {"file_id": file_id, "tag": word}
        for file_id, item in zip(file_ids, fresh)
        if item.metadata is not None
        for word in dict.fromkeys(item.metadata.keywords)
    ]
    if keywords:
        session.execute(insert(cast(Table, FileKeyword.__table__)), keywords)
    return ids


def _insert_contents(
    session: Session, fresh: Sequence[Outcome], sources: tuple[str, str | None, str | None], recorded: Recorded
) -> dict[str, int]:
    """One content row (and its auto-tags) for each new hash; a twin later in the batch reuses it."""
    model_id, image_embedder, ocr_engine = sources
    now = utcnow()
    contents: dict[str, dict[str, Any]] = {}
    for item in fresh:
        if item.error is not None:
            continue
        if item.content_hash in contents:  # a twin
            recorded.reused += 1
        else:
            contents[item.content_hash] = content_columns(item, model_id, now) | dict.fromkeys(PIXEL_COLUMNS)
        contents[item.content_hash] |= pixel_columns(item, image_embedder, ocr_engine)
    if not contents:
        return {}
    table = cast(Table, Content.__table__)
    returned = session.execute(
        insert(table).returning(table.c.hash, table.c.id, sort_by_parameter_order=True), list(contents.values())
    )
    ids = {content_hash: content_id for content_hash, content_id in returned}
    tags = [
        {"content_id": ids[content_hash], "tag": tag, "source": "auto"}
        for content_hash, row in contents.items()
        for tag in auto_tags(row["caption"])
    ]
    if tags:
        session.execute(insert(cast(Table, Tag.__table__)), tags)
    return ids


def _file_row(item: Outcome, content_id: int | None, run_id: int, seq: int) -> dict[str, Any]:
    return {"path": item.path, "content_id": content_id} | file_columns(item, run_id, seq) | metadata_columns(item.metadata)


def _content_for(
    session: Session,
    item: Outcome,
    contents: dict[str, Content],
    file: File | None,
    model_id: str,
    captioned: list[Content],
    recorded: Recorded,
) -> Content:
    """The content row for a readable file: known bytes are reused, new bytes get their caption, and a
    caption from another model is replaced only when this run re-captioned it (never a person's)."""
    now = utcnow()
    content = contents.get(item.content_hash)
    if content is None:
        content = Content(**content_columns(item, model_id, now))
        previous = file.content if file is not None else None
        if previous is not None:
            # A person's caption and tag edits follow the path when the photo's bytes are edited.
            content.user_caption, content.edited_at = previous.user_caption, previous.edited_at
            content.tags = [Tag(tag=tag.tag, source=tag.source) for tag in previous.tags if tag.source in ("user", "hidden")]
        retag(content)
        session.add(content)
        contents[content.hash] = content  # a twin later in this batch reuses it
        captioned.append(content)
    elif item.caption is not None and content.model != model_id and content.user_caption is None:
        content.caption, content.model, content.captioned_at = item.caption, model_id, now
        content.embedding = None
        retag(content)
        captioned.append(content)
    else:
        recorded.reused += 1
    return content


def apply_metadata(file: File, metadata: PhotoMetadata) -> None:
    """What the file and its sidecars say now replaces what they said before, for this file alone (a
    byte-identical copy has its own sidecars); captions and a person's caption and tags are not touched."""
    for column, value in metadata_columns(metadata).items():
        setattr(file, column, value)
    set_file_keywords(file, metadata.keywords)


def _metadata_only(file: File, item: Outcome, seq: int) -> None:
    """A photo whose bytes are known and unchanged, read again for its metadata only."""
    _record_metadata(file, item)
    if item.metadata is not None:
        apply_metadata(file, item.metadata)
    file.ft_seq = seq


def _record_metadata(file: File, item: Outcome) -> None:
    for column, value in read_columns(item).items():
        setattr(file, column, value)


def _describe_file(file: File, item: Outcome, content: Content | None, run_id: int, seq: int) -> None:
    for column, value in file_columns(item, run_id, seq).items():
        setattr(file, column, value)
    file.content = content
