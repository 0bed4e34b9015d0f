"""The run's pending files as one Ray Data source, handed over as the run goes (`captionary index --ray`).

A dataset made from a list must hold its rows before it starts, so a large run was cut into windows, and each
window started a new pool of actors, every one loading its models again. Here the driver fills a small queue from
the catalog's pending rows on a thread of its own, a chunk at a time, no further ahead than the photos coming
back allow; one dataset, and one pool of actors, serves the whole run. Each read task takes one chunk and ends:
Ray Data holds back what a read task yields, merging its blocks, until the task ends. Imported only with Ray."""

from __future__ import annotations

import pickle
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from ray.data import Datasource, ReadTask
from ray.data.block import BlockMetadata
from ray.util.queue import Full, Queue

from db.records import PendingFile

QUEUED_CHUNKS = 2  # chunks waiting in the queue for a read task
WAIT_SECONDS = 1.0  # how often a waiting feeder looks whether the run has stopped
# Rows lost with a read task's node never come back: after this long with nothing back, the feeder hands over
# one more chunk anyway, so a lost chunk cannot hold the run for ever (a slow model only loosens the bound).
STALL_SECONDS = 60.0


class PendingSource(Datasource):
    """`tasks` read tasks, each taking one item from the queue: a chunk of pickled rows (one block), or None."""

    def __init__(self, queue: Queue, tasks: int) -> None:
        self.queue, self.tasks = queue, tasks

    def estimate_inmemory_data_size(self) -> int | None:
        return None  # unknown until the run ends

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None, data_context: Any = None) -> list[ReadTask]:
        queue = self.queue

        def read() -> Iterator[Any]:
            import pyarrow

            chunk = queue.get()
            if chunk is not None:
                yield pyarrow.table({"pending": pyarrow.array(chunk, type=pyarrow.binary())})

        metadata = BlockMetadata(num_rows=None, size_bytes=None, exec_stats=None, input_files=None)
        return [ReadTask(read, metadata) for _ in range(self.tasks)]


class Feeder:
    """Fills the queue from the pending rows in chunks on a thread, then with None for every read task left, until
    the run ends (a read task Ray retries takes one more). Rows handed to Ray and not yet back are bounded
    (`in_flight`): the read tasks would otherwise take every row of the run at once into Ray's object store,
    about 200 bytes a photo. So the catalog is read only as fast as photos come back."""

    def __init__(self, pending: Iterable[PendingFile], chunk: int, in_flight: int, queue: Any = None) -> None:
        self.queue = queue if queue is not None else Queue(maxsize=QUEUED_CHUNKS, actor_options={"num_cpus": 0})
        self.pending, self.chunk, self.in_flight = pending, chunk, in_flight
        self.handed = self.back = 0
        self.progress = threading.Condition()
        self.stopping = threading.Event()
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="captionary-ray-feeder", daemon=True)
        self.thread.start()

    def returned(self, rows: int) -> None:
        """`rows` came back from the actors (called from the run's thread)."""
        with self.progress:
            self.back += rows
            self.progress.notify()

    def _run(self) -> None:
        try:
            chunk: list[bytes] = []
            for item in self.pending:
                chunk.append(pickle.dumps(item))
                if len(chunk) == self.chunk:
                    if not self._hand(chunk):
                        return  # the run stopped: read no further
                    chunk = []
            if chunk:
                self._hand(chunk)
        except BaseException as error:  # noqa: BLE001 - raised in the run's thread, once the dataset has ended
            self.failure = error
        while self._put(None):  # even after a failure: every read task ends, and so does the dataset
            pass

    def _hand(self, chunk: list[bytes]) -> bool:
        """Wait for room under the bound, then queue the chunk; False if the run stopped meanwhile."""
        with self.progress:
            back, since = self.back, time.monotonic()
            while self.handed + len(chunk) - self.back > self.in_flight and not self.stopping.is_set():
                self.progress.wait(WAIT_SECONDS)
                if self.back != back:
                    back, since = self.back, time.monotonic()
                elif time.monotonic() - since > STALL_SECONDS:
                    break
            self.handed += len(chunk)
        return self._put(chunk)

    def _put(self, chunk: list[bytes] | None) -> bool:
        while not self.stopping.is_set():
            try:
                self.queue.put(chunk, timeout=WAIT_SECONDS)
                return True
            except Full:
                continue
        return False

    def stop(self) -> None:
        """The run ended or was stopped: the thread leaves and the queue's actor goes."""
        self.stopping.set()
        try:
            self.thread.join()
        finally:
            self.queue.shutdown(force=True)

    def close(self) -> None:
        """stop(), then raise what went wrong reading the pending rows, if anything did."""
        self.stop()
        if self.failure is not None:
            raise self.failure
