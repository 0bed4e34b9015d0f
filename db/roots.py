"""Which indexed root holds a file. A root holds every path under it, whichever root's run recorded the file:
the scan sweeps what it did not see under its root by path (Catalog.unseen), so `forget` decides by path too.
Roots may nest (`/photos` and `/photos/Family` indexed apart); forgetting one keeps what another still holds. A root
that is gone is weighed by how many of its photos a run found elsewhere (indexer/missing_roots.py)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, false, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from db.columns import within
from db.models import File, Root, SkippedFile
from db.sequence import delete_files


def under(column: InstrumentedAttribute[str], folder: str) -> ColumnElement[bool]:
    """Paths inside the folder: those that sort between "folder/" and "folder0" ("0" follows "/"), a range on
    the column's index, where LIKE would also have to escape the stored form of a name that is not UTF-8
    (db/columns.py). `/photos2/a.jpg` is not under `/photos`; every path is under `/`."""
    folder = folder.rstrip(os.sep)
    return (column > folder + os.sep) & (column < folder + chr(ord(os.sep) + 1))


def forget_root_files(session: Session, root: str, seq: int) -> int:
    """Delete the files and skipped files under the root that no other indexed root holds; the root's own
    that another does hold go to the deepest such root, so forgetting that one later removes them. Returns
    how many files were deleted. A statement per nested root, never one per file (a library holds millions)."""
    # Only a root above or below this one can hold a path under it; the deepest first, so that each file
    # is handed to the deepest root that holds it (roots holding one path are nested: the longer is deeper).
    known = session.scalars(select(Root.path).where(Root.path != root))
    others = sorted((other for other in known if within(root, other) or within(other, root)), key=len, reverse=True)
    gone = list(session.scalars(select(File.id).where(_recorded_under(File, root), ~_held(File, others))))
    delete_files(session, seq, gone)
    session.execute(delete(SkippedFile).where(_recorded_under(SkippedFile, root), ~_held(SkippedFile, others)))
    for other in others:
        # The root is a word source of its files' full-text documents (db/documents.py path_words): re-sync them.
        session.execute(update(File).where(File.root == root, under(File.path, other)).values(root=other, ft_seq=seq))
        session.execute(update(SkippedFile).where(SkippedFile.root == root, under(SkippedFile.path, other)).values(root=other))
    return len(gone)


def _recorded_under(table: type[File] | type[SkippedFile], root: str) -> ColumnElement[bool]:
    return under(table.path, root) | (table.root == root)


def _held(table: type[File] | type[SkippedFile], roots: Sequence[str]) -> ColumnElement[bool]:
    return or_(false(), *(under(table.path, other) for other in roots))


def _seen_elsewhere(root: str, run_id: int) -> ColumnElement[bool]:
    """A file under the root whose bytes this run saw at a path outside it."""
    other = aliased(File)
    return (
        select(other.id).where(other.content_id == File.content_id, other.seen_run == run_id, ~under(other.path, root)).exists()
    )


def forget_found_elsewhere(session: Session, root: str, run_id: int, seq: int) -> tuple[int, int]:
    """Delete the root's files whose bytes this run saw elsewhere, and the root itself when nothing else is left
    under it: (files deleted, files left). A file whose bytes are nowhere else is never deleted here, so a move
    proven wrongly (another disk mounted where the root's was) can lose no caption, tag or photo: only paths."""
    moved = list(
        session.scalars(
            select(File.id).where(under(File.path, root), File.content_id.is_not(None), _seen_elsewhere(root, run_id))
        )
    )
    delete_files(session, seq, moved)
    left = session.scalar(select(func.count()).select_from(File).where(_recorded_under(File, root))) or 0
    if not left:
        forget_root_files(session, root, seq)  # its skipped files
        # A root inside it, gone with it and holding nothing now, goes too
        session.execute(delete(Root).where((Root.path == root) | under(Root.path, root)))
    return len(moved), left


def found_elsewhere(session: Session, root: str, run_id: int) -> tuple[int, int]:
    """Of the photos under the root (read ones: a failed file has no bytes to find), how many have their bytes at a
    path outside it that the run saw: a root that is gone, and whose photos all turned up, was moved there."""
    photos = select(func.count()).select_from(File).where(under(File.path, root), File.content_id.is_not(None))
    return session.scalar(photos) or 0, session.scalar(photos.where(_seen_elsewhere(root, run_id))) or 0
