"""Full text kept in step during a large run by a process of its own.

Whoosh indexes in pure Python: a second per thousand photos, which in the run's own interpreter competes with
the model's generate loop and the writer for one GIL. A spawned process brings Whoosh up to the catalog every
FULLTEXT_SYNC_SECONDS instead (the same resumable sync a search does, under Whoosh's own lock), so search
still sees new captions within seconds; the run syncs once more itself when it ends. The process ends when
told to, or when the run's process is gone (its pipe closes)."""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType

from indexer.workers import ignore_interrupts, start_helper

FULLTEXT_SYNC_SECONDS = 2.0  # search sees new captions within about this long


def _sync_until_told(data_dir: str, connection: Connection, interval: float) -> None:
    ignore_interrupts()  # started off the main thread (the app), it heard Ctrl-C until now
    from db.errors import CaptionaryError
    from db.store import Store

    with Store.open_existing(data_dir) as store:
        while not connection.poll(interval):  # a message, or the parent's end closing, ends the loop
            try:
                store.refuse_if_gone()
            except CaptionaryError:
                return  # the library was moved or deleted: the run stops at its next batch, and says so
            # An edit holding the catalog's write lock, or a full disk, waits for the next turn; the run's own
            # last sync catches up in any case (this process only makes captions searchable sooner).
            store.fulltext_sync.sync_if_possible(wait=interval)


class BackgroundSync:
    def __init__(self, data_dir: Path, interval: float = FULLTEXT_SYNC_SECONDS) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(
            target=_sync_until_told, args=(str(data_dir), child, interval), daemon=True, name="captionary-fulltext"
        )
        start_helper(self.process)
        child.close()

    def __enter__(self) -> BackgroundSync:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        try:
            self.connection.send(None)
        except OSError:
            pass  # it has ended already
        # A failing or interrupted run does not wait for a sync in progress: a killed sync loses nothing.
        self.process.join(timeout=60 if kind is None else 0)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()
        self.connection.close()
