"""The change sequence: every write the full-text index must see takes the next number (db/sync.py copies the
rows whose number is past the last one it copied), and a deleted file leaves a tombstone with its number."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from db.models import File, FulltextDelete, Meta

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
