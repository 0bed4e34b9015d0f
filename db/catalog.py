"""The catalog's writes for an index run. Every change the full-text index must see takes a sequence number
here (db/sync.py copies rows whose number is past the last one it copied); the indexer writes only through
this module."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, delete, func, insert, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from db.batch import Recorded, record_batch
from db.errors import NotIndexedError
from db.models import Content, File, Meta, Pending, Root, SkippedFile, utcnow
from db.records import Outcome, PendingFile, storable_ns, thumbnail_path
from db.roots import forget_found_elsewhere, forget_root_files, found_elsewhere, under
from db.schema import Sessions, remembered_image_embedder
from db.sequence import delete_files, mark_files_changed, next_seq

SCAN_COMMIT_EVERY = 2000  # files marked seen per scan transaction
ORPHAN_GRACE = timedelta(days=30)
CHUNK = 500  # ids per IN (...) list
_HASH_LOOKUP = "SELECT model, user_caption IS NOT NULL FROM contents WHERE hash = ?"


def collect_orphan_contents(session: Session, thumbnail_dir: Path, grace: timedelta = ORPHAN_GRACE) -> int:
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
            thumbnail_path(thumbnail_dir, content_hash).unlink(missing_ok=True)
    return len(expired)


class Scan:
    """Marks what one root's scan sees and queues what changed, committing every SCAN_COMMIT_EVERY files."""

    def __init__(self, session: Session, root: str, run_id: int, checkpoint: Callable[[str], None]) -> None:
        self.session, self.root, self.run_id, self.checkpoint = session, root, run_id, checkpoint
        self._since_commit = 0
        self.standing_failures: list[tuple[str, str]] = []  # (path, reason) of unchanged files that failed before

    def folder(self, folder: str, files: Iterable[tuple[str, int, int, str]]) -> int:
        """Record one folder's (path, size, mtime_ns, sidecars) listing; returns how many files are unchanged (an
        unchanged file that failed before goes to standing_failures instead).

        A photo whose bytes are unchanged but whose sidecars changed (or whose metadata was never read) is
        queued metadata-only: read again for its metadata, never hashed or captioned."""
        known = {
            path: (file_id, size, mtime_ns, sidecars, error)
            for file_id, path, size, mtime_ns, sidecars, error in self.session.execute(
                select(File.id, File.path, File.size, File.mtime_ns, File.sidecars, File.error).where(File.folder == folder)
            )
        }
        seen_ids: list[int] = []
        queued: list[dict] = []
        unchanged = listed = 0
        for path, size, mtime_ns, sidecars in files:
            listed += 1
            existing = known.get(path)
            same_bytes = False
            if existing is not None:
                seen_ids.append(existing[0])
                same_bytes = (existing[1], existing[2]) == (size, storable_ns(mtime_ns))
                if same_bytes and existing[3] == sidecars:
                    if existing[4] is not None:
                        self.standing_failures.append((path, existing[4]))  # failed until it changes
                    else:
                        unchanged += 1  # a stat, nothing more
                    continue
            row = {"path": path, "root": self.root, "size": size, "mtime_ns": mtime_ns, "sidecars": sidecars}
            queued.append({**row, "metadata_only": same_bytes})
        if seen_ids:
            self.session.execute(update(File).where(File.id.in_(seen_ids)).values(seen_run=self.run_id))
        if queued:
            self.session.execute(insert(Pending).prefix_with("OR IGNORE"), queued)
        self.checkpoint("scan")
        self._since_commit += listed
        if self._since_commit >= SCAN_COMMIT_EVERY:
            self.session.commit()
            self.session.begin()
            self._since_commit = 0
        return unchanged


class Catalog:
    """The index run's view of the catalog: runs, the scan's marks, the queue, batches of results."""

    def __init__(self, sessions: Sessions, engine: Engine, thumbnail_dir: Path, checkpoint: Callable[[str], None]) -> None:
        self.sessions, self.engine, self.thumbnail_dir = sessions, engine, thumbnail_dir
        self.checkpoint = checkpoint  # Store.checkpoint: a named moment between two durable steps

    def begin_run(self, roots: Sequence[str], identities: Mapping[str, str | None] | None = None) -> int:
        """A new run id (the scan marks the files it sees with it) and the roots recorded, with their folders'
        identities where given."""
        with self.sessions.begin() as session:
            previous = session.get(Meta, "run")
            run_id = int(previous.value) + 1 if previous is not None else 1
            session.merge(Meta(key="run", value=str(run_id)))
            for root in roots:
                known = session.get(Root, root)
                if known is None:
                    known = Root(path=root, added_at=utcnow(), last_indexed_at=None)
                    session.add(known)
                known.identity = (identities or {}).get(root) or known.identity
            # Pending work is recomputed from the disk on every run; a killed run's list is stale.
            session.execute(delete(Pending))
        return run_id

    def last_run_finished(self) -> bool:
        """Whether the last run reached its end. One that did not may have been killed by a photo (the OOM killer,
        a decoder that crashed the process), and a small run reading in threads would die on it again."""
        with self.sessions() as session:
            started, finished = session.get(Meta, "run"), session.get(Meta, "run_finished")
            return started is None or (finished is not None and finished.value == started.value)

    @contextmanager
    def scanning(self, root: str, run_id: int) -> Iterator[Scan]:
        with self.sessions() as session:
            session.begin()
            yield Scan(session, root, run_id, self.checkpoint)
            session.commit()

    def unseen(self, root: str, run_id: int) -> list[tuple[int, str]]:
        """(id, path) of files under the root that this run's scan did not see."""
        with self.sessions() as session:
            rows = session.execute(select(File.id, File.path).where(under(File.path, root), File.seen_run != run_id))
            return [(file_id, path) for file_id, path in rows]

    def other_roots(self, roots: Sequence[str]) -> list[tuple[str, str | None]]:
        """(path, folder identity) of the indexed roots other than these, by path (a root before those inside it)."""
        with self.sessions() as session:
            rows = session.execute(select(Root.path, Root.identity).where(Root.path.not_in(roots)).order_by(Root.path))
            return [(path, identity) for path, identity in rows]

    def found_elsewhere(self, root: str, run_id: int) -> tuple[int, int]:
        """(photos under the root, those whose bytes this run saw at a path outside it): db/roots.py."""
        with self.sessions() as session:
            return found_elsewhere(session, root, run_id)

    def forget_found_elsewhere(self, root: str, run_id: int) -> tuple[int, int]:
        """A moved root's old paths whose bytes this run saw elsewhere removed, the root too when nothing is left
        under it: (removed, left). db/roots.py."""
        with self.sessions.begin() as session:
            return forget_found_elsewhere(session, root, run_id, next_seq(session))

    def count_files(self, root: str) -> int:
        """The files under the root, as `unseen` counts them: those a nested root's run recorded too."""
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(File).where(under(File.path, root))) or 0

    def remove_files(self, file_ids: Sequence[int]) -> None:
        if file_ids:
            with self.sessions.begin() as session:
                delete_files(session, next_seq(session), file_ids)

    def queue_recaptions(self, model_id: str) -> None:
        """Queue one file per content whose automatic caption came from another source (never a person's)."""
        with self.sessions.begin() as session:
            first_file = (
                select(func.min(File.id))
                .join(Content, File.content_id == Content.id)
                .where(Content.model != model_id, Content.user_caption.is_(None))
                .group_by(Content.id)
            )
            rows = session.execute(
                select(File.path, File.root, File.size, File.mtime_ns, File.sidecars).where(File.id.in_(first_file))
            )
            values = [{"path": p, "root": r, "size": s, "mtime_ns": m, "sidecars": c or ""} for p, r, s, m, c in rows]
            if values:
                # A file the scan queued for its metadata only must now be decoded too.
                upsert = sqlite_insert(Pending).on_conflict_do_update(index_elements=["path"], set_={"metadata_only": False})
                session.execute(upsert, values)

    def count_pending(self, metadata_only: bool | None = None) -> int:
        """Queued files; metadata_only=False: those whose bytes must be read (maybe decoded and captioned)."""
        query = select(func.count()).select_from(Pending)
        if metadata_only is not None:
            query = query.where(Pending.metadata_only == metadata_only)
        with self.sessions() as session:
            return session.scalar(query) or 0

    def pending(self) -> Iterator[PendingFile]:
        """The queue in id order, without holding a cursor open across the run's commits."""
        last_id = 0
        while True:
            with self.sessions() as session:
                chunk = [
                    PendingFile(row.id, row.path, row.root, row.size, row.mtime_ns, row.sidecars, row.metadata_only)
                    for row in session.scalars(select(Pending).where(Pending.id > last_id).order_by(Pending.id).limit(CHUNK))
                ]
            if not chunk:
                return
            yield from chunk
            last_id = chunk[-1].id

    @contextmanager
    def hash_lookups(self) -> Iterator[Callable[[str], tuple[str, bool] | None]]:
        """A lookup of (model, edited by a person) by hash, on one connection held for the feed and then given
        back (a connection left open would keep SQLite's shared-memory file after the store closes)."""
        with self.engine.connect() as connection:
            # The driver's own connection: one lookup a photo in the model's interpreter, where SQLAlchemy's
            # execute and rollback cost 5x the query. Outside a transaction, each SELECT that has returned all
            # its rows holds no read snapshot, so the WAL can still be checkpointed.
            driver = connection.connection.driver_connection
            assert driver is not None

            def lookup(content_hash: str) -> tuple[str, bool] | None:
                try:
                    rows = driver.execute(_HASH_LOOKUP, (content_hash,)).fetchall()
                except sqlite3.DatabaseError:  # again through SQLAlchemy, whose error hook names damage or a full disk
                    rows = list(connection.exec_driver_sql(_HASH_LOOKUP, (content_hash,)))
                    connection.rollback()
                return (rows[0][0], bool(rows[0][1])) if rows else None

            yield lookup

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

    def record_batch(
        self,
        outcomes: Sequence[Outcome],
        run_id: int,
        model_id: str,
        image_embedder: str | None = None,
        ocr_engine: str | None = None,
    ) -> Recorded:
        return record_batch(self.sessions, self.checkpoint, outcomes, run_id, model_id, image_embedder, ocr_engine)

    def ocr_setting(self, asked: bool | None) -> bool:
        """Whether this run reads text in photos: as asked (and remembered for later runs), else as the
        library was last told (index --ocr keeps doing it until --no-ocr)."""
        with self.sessions.begin() as session:
            if asked is not None:
                session.merge(Meta(key="ocr", value="on" if asked else "off"))
                return asked
            remembered = session.get(Meta, "ocr")
            return remembered is not None and remembered.value == "on"

    def image_embedder_setting(self, asked: str | None, named: bool) -> str | None:
        """The image embedder of a run: the one named, else the one the library was last given (remembered like
        --ocr: a hint to run `reembed --images` then means that model), else, unless asked for none, the one that
        made most of its image vectors, else `asked` (the default)."""
        if named:
            return asked
        with self.sessions() as session:
            remembered = remembered_image_embedder(session)
            if remembered is not None:
                return remembered or None
            if asked is None:
                return None
            most = select(Content.image_embedder).where(Content.image_embedder.is_not(None)).group_by(Content.image_embedder)
            return session.scalar(most.order_by(func.count().desc()).limit(1)) or asked

    def remember_image_embedder(self, embedder_id: str | None) -> None:
        """After a run that a person named it for (None: --image-embedder none)."""
        with self.sessions.begin() as session:
            session.merge(Meta(key="image_embedder", value=embedder_id or ""))

    def caption_speed(self) -> str | None:
        """The speed the library's last captioning run used (a run that loads no model reports against it)."""
        with self.sessions() as session:
            remembered = session.get(Meta, "caption_speed")
            return remembered.value if remembered is not None else None

    def remember_caption_run(self, source: str, speed: str) -> None:
        """After a run loaded its captioner: a run that names no model captions as this one did (Store.caption_source)."""
        with self.sessions.begin() as session:
            session.merge(Meta(key="caption_speed", value=speed))
            session.merge(Meta(key="caption_source", value=source))

    def without_text(self, after: int, limit: int) -> list[tuple[int, str]]:
        """(content id, one of its paths) for contents whose text was never read, by id."""
        return self._contents_lacking(Content.ocr_engine.is_(None), after, limit)

    def store_texts(self, texts: Sequence[tuple[int, str]], engine: str) -> None:
        """One transaction per batch; the full-text index picks the new text up by sequence number."""
        with self.sessions.begin() as session:
            seq = next_seq(session)
            for content_id, text in texts:
                session.execute(update(Content).where(Content.id == content_id).values(ocr_text=text, ocr_engine=engine))
            mark_files_changed(session, seq, content_ids=[content_id for content_id, _ in texts])
            self.checkpoint("ocr")

    def without_image_vectors(self, embedder_id: str, after: int, limit: int) -> list[tuple[int, str]]:
        """(content id, one of its paths) for contents with no image vector from this embedder, by id."""
        return self._contents_lacking((Content.image_embedder != embedder_id) | Content.image_embedder.is_(None), after, limit)

    def _contents_lacking(self, lacking: ColumnElement[bool], after: int, limit: int) -> list[tuple[int, str]]:
        """A page of (content id, its first readable path) meeting `lacking`, by id. Contents no readable path
        uses (orphans in their grace period) are left out in SQL: a page of only those would otherwise come
        back empty and end the caller's paging before the contents after it."""
        first_path = select(func.min(File.path)).where(File.content_id == Content.id, File.error.is_(None)).scalar_subquery()
        query = select(Content.id, first_path).where(Content.id > after, lacking, first_path.is_not(None))
        with self.sessions() as session:
            return [(content_id, path) for content_id, path in session.execute(query.order_by(Content.id).limit(limit))]

    def count_without_image_vectors(self, embedder_id: str) -> int:
        with self.sessions() as session:
            missing = (Content.image_embedder != embedder_id) | Content.image_embedder.is_(None)
            return session.scalar(select(func.count()).select_from(Content).where(missing, Content.files.any())) or 0

    def store_image_vectors(self, vectors: Sequence[tuple[int, bytes]], embedder_id: str) -> None:
        """One transaction per batch; the new sequence number makes searchers reload the image vectors."""
        with self.sessions.begin() as session:
            for content_id, blob in vectors:
                session.execute(
                    update(Content).where(Content.id == content_id).values(image_embedding=blob, image_embedder=embedder_id)
                )
            next_seq(session)
            self.checkpoint("image-embed")

    def record_skipped(self, root: str, skipped: Sequence[tuple[str, str]]) -> None:
        """The (path, kind) of every file this scan of the root found and does not read, replacing the last's."""
        with self.sessions.begin() as session:
            session.execute(delete(SkippedFile).where(SkippedFile.root == root))
            for start in range(0, len(skipped), CHUNK):
                rows = [{"path": path, "root": root, "kind": kind} for path, kind in skipped[start : start + CHUNK]]
                session.execute(sqlite_insert(SkippedFile).values(rows).on_conflict_do_nothing())

    def finish_run(self, roots: Sequence[str]) -> None:
        with self.sessions.begin() as session:
            collect_orphan_contents(session, self.thumbnail_dir)
            started = session.get(Meta, "run")
            if started is not None:
                session.merge(Meta(key="run_finished", value=started.value))
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
                    session.execute(delete(SkippedFile).where(SkippedFile.root == root))
            session.execute(delete(Pending))

    def forget_root(self, root: str) -> int:
        """Remove a root and everything under it that no other root holds from the catalog (db/roots.py);
        files on disk are not touched. Returns how many files were removed."""
        with self.sessions.begin() as session:
            known = session.get(Root, root) or session.get(Root, os.path.realpath(root))
            if known is None:
                raise NotIndexedError(f"{root} is not an indexed root; see: captionary stats")
            removed = forget_root_files(session, known.path, next_seq(session))
            session.delete(known)
            collect_orphan_contents(session, self.thumbnail_dir)
        return removed

    def settled_hashes(self, model_id: str, recaption: bool) -> Iterator[str]:
        """The hashes of contents a run with this caption source leaves alone: captioned by it, by a person, or
        (without --recaption) by any model."""
        query = select(Content.hash)
        if recaption:
            query = query.where((Content.model == model_id) | Content.user_caption.is_not(None))
        with self.sessions() as session:
            yield from session.scalars(query.execution_options(yield_per=10_000))
