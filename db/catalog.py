"""The catalog's writes for an index run. Every change the full-text index must see takes a sequence number
here (db/sync.py copies rows whose number is past the last one it copied); the indexer writes only through
this module."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from db.errors import NotIndexedError
from db.models import Content, File, FulltextDelete, Meta, Pending, Root, Tag, utcnow
from db.schema import thumbnail_path
from db.tags import auto_tags

if TYPE_CHECKING:  # pragma: no cover
    from db.store import Store

SCAN_COMMIT_EVERY = 2000  # files marked seen per scan transaction
ORPHAN_GRACE = timedelta(days=30)
CHUNK = 500  # ids per IN (...) list


def next_seq(session: Session) -> int:
    """Allocate the sequence number for the rows this transaction changes."""
    row = session.get(Meta, "seq")
    value = int(row.value) + 1 if row else 1
    session.merge(Meta(key="seq", value=str(value)))
    return value


def mark_files_changed(session: Session, seq: int, file_ids: Sequence[int] = (), content_ids: Sequence[int] = ()) -> None:
    if file_ids:
        session.execute(update(File).where(File.id.in_(file_ids)).values(ft_seq=seq))
    if content_ids:
        session.execute(update(File).where(File.content_id.in_(content_ids)).values(ft_seq=seq))


def delete_files(session: Session, seq: int, file_ids: Sequence[int]) -> None:
    """Delete file rows and leave a tombstone so the full-text document goes too."""
    for start in range(0, len(file_ids), CHUNK):
        chunk = list(file_ids[start : start + CHUNK])
        session.execute(delete(File).where(File.id.in_(chunk)))
        session.execute(
            sqlite_insert(FulltextDelete).on_conflict_do_update(index_elements=[FulltextDelete.file_id], set_={"seq": seq}),
            [{"file_id": file_id, "seq": seq} for file_id in chunk],
        )


def retag(content: Content) -> None:
    """Replace the content's auto-tags with those of the caption shown; a person's tags stay, and tags a
    person removed stay removed."""
    kept = {tag.tag: tag for tag in content.tags if tag.source != "auto"}
    content.tags = list(kept.values()) + [
        Tag(tag=tag, source="auto") for tag in auto_tags(content.effective_caption) if tag not in kept
    ]


def collect_orphan_contents(session: Session, store: Store, grace: timedelta = ORPHAN_GRACE) -> int:
    """Mark contents no path uses any more; delete (with thumbnails) those orphaned for `grace`."""
    now = utcnow()
    session.execute(update(Content).where(Content.orphaned_at.is_not(None), Content.files.any()).values(orphaned_at=None))
    session.execute(update(Content).where(Content.orphaned_at.is_(None), ~Content.files.any()).values(orphaned_at=now))
    expired = session.execute(
        select(Content.id, Content.hash).where(Content.orphaned_at <= now - grace, ~Content.files.any())
    ).all()
    for start in range(0, len(expired), CHUNK):
        chunk = expired[start : start + CHUNK]
        session.execute(delete(Content).where(Content.id.in_([cid for cid, _ in chunk])))
        for _, content_hash in chunk:
            thumbnail_path(store.thumbnail_dir, content_hash).unlink(missing_ok=True)
    return len(expired)


@dataclass(frozen=True)
class PhotoFacts:
    """What decoding a photo tells about it (indexer/imaging.py reads it)."""

    width: int
    height: int
    format: str
    taken_at: datetime | None
    camera: str | None


@dataclass(frozen=True)
class PendingFile:
    """A file the scan queued: new, or changed since it was indexed."""

    id: int
    path: str
    root: str
    size: int
    mtime_ns: int


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


@dataclass
class Recorded:
    captioned: list[int] = field(default_factory=list)  # content ids whose caption this batch wrote
    reused: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)


class Scan:
    """Marks what one root's scan sees and queues what changed, committing every SCAN_COMMIT_EVERY files."""

    def __init__(self, store: Store, session: Session, root: str, run_id: int) -> None:
        self.store, self.session, self.root, self.run_id = store, session, root, run_id
        self._since_commit = 0

    def folder(self, folder: str, files: Iterable[tuple[str, int, int]]) -> int:
        """Record one folder's (path, size, mtime_ns) listing; returns how many files are unchanged."""
        known = {
            path: (file_id, size, mtime_ns)
            for file_id, path, size, mtime_ns in self.session.execute(
                select(File.id, File.path, File.size, File.mtime_ns).where(File.folder == folder)
            )
        }
        seen_ids: list[int] = []
        queued: list[dict] = []
        unchanged = listed = 0
        for path, size, mtime_ns in files:
            listed += 1
            existing = known.get(path)
            if existing is not None:
                seen_ids.append(existing[0])
                if (existing[1], existing[2]) == (size, mtime_ns):
                    unchanged += 1  # a stat, nothing more
                    continue
            queued.append({"path": path, "root": self.root, "size": size, "mtime_ns": mtime_ns})
        if seen_ids:
            self.session.execute(update(File).where(File.id.in_(seen_ids)).values(seen_run=self.run_id))
        if queued:
            self.session.execute(insert(Pending).prefix_with("OR IGNORE"), queued)
        self.store.checkpoint("scan")
        self._since_commit += listed
        if self._since_commit >= SCAN_COMMIT_EVERY:
            self.session.commit()
            self.session.begin()
            self._since_commit = 0
        return unchanged


class Catalog:
    """The index run's view of the catalog: runs, the scan's marks, the queue, batches of results."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.sessions = store.sessions
        self._local = threading.local()

    def begin_run(self, roots: Sequence[str]) -> int:
        """A new run id (the scan marks the files it sees with it) and the roots recorded."""
        with self.sessions.begin() as session:
            previous = session.get(Meta, "run")
            run_id = int(previous.value) + 1 if previous is not None else 1
            session.merge(Meta(key="run", value=str(run_id)))
            for root in roots:
                if session.get(Root, root) is None:
                    session.add(Root(path=root, added_at=utcnow(), last_indexed_at=None))
            # Pending work is recomputed from the disk on every run; a killed run's list is stale.
            session.execute(delete(Pending))
        return run_id

    @contextmanager
    def scanning(self, root: str, run_id: int) -> Iterator[Scan]:
        with self.sessions() as session:
            session.begin()
            yield Scan(self.store, session, root, run_id)
            session.commit()

    def unseen(self, root: str, run_id: int) -> list[tuple[int, str]]:
        """(id, path) of files under the root that this run's scan did not see."""
        with self.sessions() as session:
            return [
                (file_id, path)
                for file_id, path in session.execute(
                    select(File.id, File.path).where(
                        File.path.startswith(root.rstrip(os.sep) + os.sep, autoescape=True), File.seen_run != run_id
                    )
                )
            ]

    def count_files(self, root: str) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(File).where(File.root == root)) or 0

    def remove_files(self, file_ids: Sequence[int]) -> None:
        if file_ids:
            with self.sessions.begin() as session:
                delete_files(session, next_seq(session), file_ids)

    def queue_recaptions(self, model_id: str) -> None:
        """Queue one file per content whose automatic caption came from another model (never a person's)."""
        with self.sessions.begin() as session:
            first_file = (
                select(func.min(File.id))
                .join(Content, File.content_id == Content.id)
                .where(Content.model != model_id, Content.user_caption.is_(None))
                .group_by(Content.id)
            )
            rows = session.execute(select(File.path, File.root, File.size, File.mtime_ns).where(File.id.in_(first_file)))
            values = [{"path": p, "root": r, "size": s, "mtime_ns": m} for p, r, s, m in rows]
            if values:
                session.execute(insert(Pending).prefix_with("OR IGNORE"), values)

    def count_pending(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(Pending)) or 0

    def pending(self) -> Iterator[PendingFile]:
        """The queue in id order, without holding a cursor open across the run's commits."""
        last_id = 0
        while True:
            with self.sessions() as session:
                chunk = [
                    PendingFile(row.id, row.path, row.root, row.size, row.mtime_ns)
                    for row in session.scalars(select(Pending).where(Pending.id > last_id).order_by(Pending.id).limit(CHUNK))
                ]
            if not chunk:
                return
            yield from chunk
            last_id = chunk[-1].id

    def lookup_hash(self, content_hash: str) -> tuple[str, bool] | None:
        """(model, edited by a person) of known bytes; safe from decode threads (each has its own connection)."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self.store.engine.connect()
        row = connection.execute(
            text("SELECT model, user_caption IS NOT NULL FROM contents WHERE hash = :hash"), {"hash": content_hash}
        ).first()
        connection.rollback()  # end the read transaction so the WAL can be checkpointed
        return (row[0], bool(row[1])) if row else None

    def count_other_model(self, model_id: str) -> int:
        with self.sessions() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(File)
                    .join(Content, File.content_id == Content.id)
                    .where(Content.model != model_id, Content.user_caption.is_(None))
                )
                or 0
            )

    def record_batch(self, outcomes: Sequence[Outcome], run_id: int, model_id: str) -> Recorded:
        """Commit one batch atomically (a crash loses at most the batch in flight) and dequeue it."""
        recorded = Recorded()
        with self.sessions.begin() as session:
            seq = next_seq(session)
            paths = [item.path for item in outcomes]
            # Two lookups for the whole batch, not two per photo.
            files = {
                file.path: file
                for file in session.scalars(
                    select(File).options(selectinload(File.content).selectinload(Content.tags)).where(File.path.in_(paths))
                )
            }
            hashes = {item.content_hash for item in outcomes if item.error is None and not item.vanished}
            contents = {content.hash: content for content in session.scalars(select(Content).where(Content.hash.in_(hashes)))}
            captioned: list[Content] = []
            for item in outcomes:
                if item.vanished:
                    continue
                file = files.get(item.path)
                content = None
                if item.error is None:
                    content = _content_for(session, item, contents, file, model_id, captioned, recorded)
                else:
                    recorded.failures.append((item.path, item.error))
                if file is None:
                    file = files[item.path] = File(path=item.path)
                    session.add(file)
                _describe_file(file, item, content, run_id, seq)
            session.execute(delete(Pending).where(Pending.path.in_(paths)))
            session.flush()
            recorded.captioned = [content.id for content in captioned]
            # Other paths with a re-captioned content show the new caption too.
            mark_files_changed(session, seq, content_ids=recorded.captioned)
            self.store.checkpoint("commit")
        return recorded

    def finish_run(self, roots: Sequence[str]) -> None:
        with self.sessions.begin() as session:
            collect_orphan_contents(session, self.store)
            for root in roots:
                known = session.get(Root, root)
                if known is not None:  # `forget` from another process may have dropped it meanwhile
                    known.last_indexed_at = utcnow()

    def forget_roots_never_indexed(self, roots: Sequence[str]) -> None:
        """A first run that could not load its model leaves no empty root behind in `stats`."""
        with self.sessions.begin() as session:
            for root in roots:
                known = session.get(Root, root)
                has_files = session.scalar(select(File.id).where(File.root == root).limit(1)) is not None
                if known is not None and known.last_indexed_at is None and not has_files:
                    session.delete(known)
            session.execute(delete(Pending))

    def forget_root(self, root: str) -> int:
        """Remove a root and everything under it from the catalog; files on disk are not touched."""
        with self.sessions.begin() as session:
            known = session.get(Root, root) or session.get(Root, os.path.realpath(root))
            if known is None:
                raise NotIndexedError(f"{root} is not an indexed root; see: captionary stats")
            ids = list(session.scalars(select(File.id).where(File.root == known.path)))
            delete_files(session, next_seq(session), ids)
            session.delete(known)
            collect_orphan_contents(session, self.store)
        return len(ids)


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
            taken_at=facts.taken_at,
            camera=facts.camera,
            caption=item.caption,
            model=model_id,
            captioned_at=now,
        )
        previous = file.content if file is not None else None
        if previous is not None:
            # A person's caption and tag edits follow the path when the photo's bytes are edited.
            content.user_caption, content.edited_at = previous.user_caption, previous.edited_at
            content.tags = [Tag(tag=tag.tag, source=tag.source) for tag in previous.tags if tag.source != "auto"]
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
