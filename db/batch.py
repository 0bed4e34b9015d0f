"""One batch of an index run written atomically: what the stages learned about each file (Outcome) becomes
content rows (reused by hash, captioned, re-captioned) and file rows, in one transaction."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from db.models import Content, File, Pending, Tag, utcnow
from db.records import Outcome, PhotoMetadata
from db.schema import Sessions
from db.sequence import mark_files_changed, next_seq
from db.tags import retag, set_file_keywords


@dataclass
class Recorded:
    captioned: list[int] = field(default_factory=list)  # content ids whose caption this batch wrote
    reused: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    metadata_read: int = 0  # photos whose bytes were known, read again for their metadata only
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
        captioned: list[Content] = []
        for item in outcomes:
            if item.vanished:
                continue
            file = files.get(item.path)
            if item.metadata is not None and item.metadata.problems:
                recorded.metadata_problems.append((item.path, "; ".join(item.metadata.problems)))
            if item.metadata_only:
                if file is not None:
                    _metadata_only(file, item, seq)
                    recorded.metadata_read += 1
                continue
            content = None
            if item.error is None:
                content = _content_for(session, item, contents, file, model_id, captioned, recorded)
                if item.image_vector is not None and image_embedder is not None:
                    content.image_embedding, content.image_embedder = item.image_vector, image_embedder
                if item.ocr_text is not None and ocr_engine is not None:
                    content.ocr_text, content.ocr_engine = item.ocr_text, ocr_engine
            else:
                recorded.failures.append((item.path, item.error))
            if file is None:
                file = files[item.path] = File(path=item.path)
                session.add(file)
            _describe_file(file, item, content, run_id, seq)
            if item.metadata is not None:
                apply_metadata(file, item.metadata)
        session.execute(delete(Pending).where(Pending.path.in_(paths)))
        session.flush()
        recorded.captioned = [content.id for content in captioned]
        # Other paths with a re-captioned content show it too.
        mark_files_changed(session, seq, content_ids=recorded.captioned)
        checkpoint("commit")
    return recorded


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
        assert item.facts is not None and item.caption is not None  # new bytes are decoded and captioned
        facts = item.facts
        content = Content(
            hash=item.content_hash,
            width=facts.width,
            height=facts.height,
            format=facts.format,
            caption=item.caption,
            model=model_id,
            captioned_at=now,
        )
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
    file.taken_at, file.taken_zone = metadata.taken_at, metadata.taken_zone
    file.camera, file.lens = metadata.camera, metadata.lens
    file.latitude, file.longitude, file.place = metadata.latitude, metadata.longitude, metadata.place
    file.title, file.description, file.rating = metadata.title, metadata.description, metadata.rating
    file.keyword_paths = "\n".join(metadata.keyword_paths) or None
    set_file_keywords(file, metadata.keywords)


def _metadata_only(file: File, item: Outcome, seq: int) -> None:
    """A photo whose bytes are known and unchanged, read again for its metadata only."""
    _record_metadata(file, item)
    if item.metadata is not None:
        apply_metadata(file, item.metadata)
    file.ft_seq = seq


def _record_metadata(file: File, item: Outcome) -> None:
    metadata = item.metadata
    file.sidecars = metadata.sidecars if metadata is not None else item.sidecars
    file.metadata_problem = "; ".join(metadata.problems)[:500] or None if metadata is not None else None


def _describe_file(file: File, item: Outcome, content: Content | None, run_id: int, seq: int) -> None:
    file.root = item.root
    file.folder = os.path.dirname(item.path)
    file.name = os.path.basename(item.path)
    file.ext = os.path.splitext(item.path)[1][1:].lower()
    file.size = item.size
    file.mtime_ns = item.mtime_ns
    file.content = content
    file.error = item.error
    file.indexed_at = utcnow()
    file.seen_run = run_id
    file.ft_seq = seq
    _record_metadata(file, item)
