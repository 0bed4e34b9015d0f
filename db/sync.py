"""Keeping the derived Whoosh index in step with the catalog (by change sequence), and `check`."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from db.documents import FulltextDoc, day_number, moment_number
from db.errors import BusyError, DamagedIndexError, DiskFullError, disk_full
from db.fulltext import FulltextIndex
from db.models import Content, File, FulltextDelete, Meta, file_keywords_sql, joined_tags, tags_sql
from db.records import photo_moment
from db.schema import DB_NAME, Sessions, catalog_problems, damaged, meta_int, writing
from db.types import CheckReport

SYNC_CHUNK = 2000


class FulltextSync:
    """The full-text index of one library kept in step with its catalog."""

    def __init__(
        self, sessions: Sessions, fulltext: FulltextIndex, data_dir: Path, read_only: bool, checkpoint: Callable[[str], None]
    ) -> None:
        self.sessions, self.fulltext, self.data_dir = sessions, fulltext, data_dir
        self.read_only = read_only  # a catalog opened read-only: no full-text repair
        self.checkpoint = checkpoint

    def lag(self) -> int:
        """How many change sequences the Whoosh index is behind the DB (0: in step)."""
        with self.sessions() as session:
            head = meta_int(session, "seq")
            synced = meta_int(session, "fulltext_seq")
            index_id = session.get(Meta, "fulltext_index_id")
        if index_id is None or index_id.value != self.fulltext.index_id():
            return max(head, 1)
        return max(0, head - synced)

    def sync(self, wait: float = 30.0, rebuild: bool = False) -> bool:
        """Bring Whoosh up to the DB's sequence; returns False if another process holds its lock.

        Idempotent: documents are written by id, so a crash between the Whoosh commit and the
        DB's note of it only means the same documents are written again next time. A damaged index is
        rebuilt from the catalog, which is checked first: a catalog that cannot be read keeps its index."""
        fulltext = self.fulltext
        with self.sessions() as session:
            index_id = session.get(Meta, "fulltext_index_id")
            problems = catalog_problems(session) if rebuild else []
        if problems:
            raise damaged(self.data_dir / DB_NAME, "; ".join(problems[:3]))
        if rebuild or index_id is None or index_id.value != fulltext.index_id() or not fulltext.is_current():
            self._rebuild(wait)
            return True
        try:
            head = self._write_changes(wait)
        except DamagedIndexError:
            if rebuild:
                raise
            return self.sync(wait, rebuild=True)
        if head is None:
            return False
        if not head:
            return True  # nothing new: a search writes nothing
        with writing(self.sessions, wait) as session:
            if meta_int(session, "fulltext_seq") < head:
                session.merge(Meta(key="fulltext_seq", value=str(head)))
            session.execute(delete(FulltextDelete).where(FulltextDelete.seq <= head))
        return True

    def _rebuild(self, wait: float) -> None:
        """Every document, written into a new index that replaces the old one once whole (FulltextIndex.rebuild)."""
        head = 0

        def fill(writer) -> None:
            nonlocal head
            with self.sessions() as session:
                # The documents as of `head` at least: one changed after it carries a later sequence, and the
                # next sync writes it again. No sync can run meanwhile: the old index's writer lock is held.
                head = meta_int(session, "seq")
                self.fulltext.apply(writer, changed_docs(session, 0, head), ())
            self.checkpoint("fulltext-write")

        def adopt(new_id: str) -> None:
            with writing(self.sessions, wait) as session:
                session.merge(Meta(key="fulltext_index_id", value=new_id))
                session.merge(Meta(key="fulltext_seq", value=str(head)))
                session.execute(delete(FulltextDelete).where(FulltextDelete.seq <= head))
            self.checkpoint("fulltext-commit")

        self.fulltext.rebuild(fill, adopt, wait)

    def _write_changes(self, wait: float) -> int | None:
        """Write the documents changed since the last sync; returns the sequence written up to, 0 when nothing was
        new, None when another process holds Whoosh's lock."""
        fulltext = self.fulltext
        writer = fulltext.writer(timeout=wait)
        if writer is None:
            return None
        try:
            # Read the DB only while holding Whoosh's lock, so two syncers can never write an
            # older version of a document over a newer one.
            with self.sessions() as session:
                head = meta_int(session, "seq")
                synced = meta_int(session, "fulltext_seq")
                if head <= synced:
                    writer.cancel()
                    return 0
                deleted = list(
                    session.scalars(select(FulltextDelete.file_id).where(FulltextDelete.seq > synced, FulltextDelete.seq <= head))
                )
                # Files that changed but have no caption (they became unreadable) leave the index.
                deleted += session.scalars(
                    select(File.id).where(File.ft_seq > synced, File.ft_seq <= head, File.content_id.is_(None))
                )
                fulltext.apply(writer, changed_docs(session, synced, head), deleted)
            self.checkpoint("fulltext-write")
            fulltext.commit(writer)
            self.checkpoint("fulltext-commit")
        except BaseException:
            writer.cancel()
            raise
        return head

    def ensure(self) -> bool:
        """Repair a lagging or damaged Whoosh index (e.g. after a crash) unless that cannot be done now (a writer
        is busy doing so, the disk is full, the catalog is read-only); returns whether there is an index to search."""
        if not self.read_only and (self.lag() or not self.fulltext.is_current()):
            self.sync_if_possible(wait=0)
        return self.fulltext.index_id() is not None

    def repair(self) -> bool:
        """Rebuild a damaged Whoosh index from the catalog if it can be done now; returns whether it was."""
        return not self.read_only and self.sync_if_possible(wait=0, rebuild=True)

    def show_edit(self) -> None:
        """Show a committed edit in search at once; if an index run holds a lock, that run syncs it (and a full
        disk only delays it: the edit is in the catalog)."""
        self.sync_if_possible(wait=2)

    def sync_if_possible(self, wait: float, rebuild: bool = False) -> bool:
        """sync(), or False when a lock is held past `wait` or the disk is full (the next sync catches up)."""
        try:
            return self.sync(wait, rebuild)
        except BusyError:
            return False  # an index run is committing: answer from the index as it is; that run syncs it
        except (DiskFullError, OSError) as error:
            if not disk_full(error, self.data_dir):
                raise
            return False

    def check(self) -> CheckReport:
        """What is out of step, after SQLite's quick_check: a damaged catalog is an error, not a report line."""
        with self.sessions() as session:
            problems = catalog_problems(session)
        if problems:
            more = f" and {len(problems) - 1} more problems" if len(problems) > 1 else ""
            raise damaged(self.data_dir / DB_NAME, f"quick_check: {problems[0]}{more}")
        report = CheckReport(fulltext_lag=self.lag())
        with self.sessions() as session:
            db_ids = set(session.scalars(select(File.id).where(File.content_id.is_not(None))))
            for path in session.scalars(select(File.path)):
                if not os.path.lexists(path):
                    report.missing_on_disk.append(path)
        try:
            index_ids = set(self.fulltext.all_ids()) if self.fulltext.index_id() else set()
        except DamagedIndexError as error:
            report.fulltext_damaged, index_ids = str(error), set()
        report.missing_in_fulltext = sorted(db_ids - index_ids)
        report.stale_in_fulltext = sorted(index_ids - db_ids)
        report.out_of_step = self._out_of_step(report.missing_in_fulltext, report.stale_in_fulltext)
        return report

    def _out_of_step(self, missing: list[int], stale: list[int]) -> list[int]:
        """The ids missing from or stale in the index that the next sync (any search, the next index run) would not
        mend: what changed past its last sequence it writes, and an index it does not know it builds whole."""
        if not (missing or stale) or not self.fulltext.is_current():
            return []
        with self.sessions() as session:
            index_id = session.get(Meta, "fulltext_index_id")
            if index_id is None or index_id.value != self.fulltext.index_id():
                return []
            synced = meta_int(session, "fulltext_seq")
            changed = set(session.scalars(select(File.id).where(File.ft_seq > synced)))
            deleted = set(session.scalars(select(FulltextDelete.file_id).where(FulltextDelete.seq > synced)))
        return sorted({*missing} - changed) + sorted({*stale} - changed - deleted)


def changed_docs(session: Session, after: int, upto: int) -> Iterator[FulltextDoc]:
    """The full-text documents of files whose sequence is in (after, upto]."""
    rows = session.execute(
        select(
            File.id,
            File.path,
            File.root,
            File.ext,
            File.mtime_ns,
            Content.effective_caption,
            File.taken_at,
            tags_sql("auto", "user"),
            file_keywords_sql(),
            tags_sql("user"),
            File.camera,
            File.place,
            File.title,
            File.description,
            File.keyword_paths,
            Content.ocr_text,
            File.rating,
        )
        .join(Content, File.content_id == Content.id)
        .where(File.ft_seq > after, File.ft_seq <= upto)
        .execution_options(yield_per=SYNC_CHUNK)
    )
    for file_id, path, root, ext, mtime_ns, caption, taken_at, content_tags, keywords, user_tags, *described in rows:
        camera, place, title, description, paths, text, rating = described
        moment = photo_moment(taken_at, mtime_ns)  # a date rechecked: rows stored before dates were checked too
        yield FulltextDoc(
            file_id,
            caption,
            path,
            root,
            ext,
            day_number(moment.date()),
            ",".join(joined_tags(content_tags, keywords)),
            camera or "",
            place or "",
            " ".join(filter(None, (title, description))),
            # a person's tags and the file's keywords, and the words of its keyword hierarchies
            " ".join([*joined_tags(user_tags, keywords), (paths or "").replace("|", " ")]).strip(),
            text or "",
            moment_number(moment),
            rating,
        )
