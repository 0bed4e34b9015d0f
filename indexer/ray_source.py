"""The run's pending files as one Ray Data source, handed over as the run goes (`captionary index --ray`).

A dataset made from a list must hold its rows before it starts, so a large run was cut into windows, and each
window started a new pool of actors, every one loading its models again. Here the driver keeps a bounded queue
filled from the catalog's pending rows on a thread of its own; a few long read tasks take chunks from it until
told there are no more, so one dataset, and one pool of actors, serves the whole run. Imported only with Ray."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from ray.data import Datasource, ReadTask
from ray.data.block import BlockMetadata
from ray.util.queue import Full, Queue

from db.records import PendingFile

QUEUED_CHUNKS = 4  # chunks waiting in the queue: Ray Data's own buffers hold the rest of what is in flight
PUT_WAIT_SECONDS = 1.0  # how often a blocked feeder looks whether the run has stopped


class PendingSource(Datasource):
    """`tasks` read tasks, each yielding the chunks it takes from the queue as one block, until it takes None."""

    def __init__(self, queue: Queue, tasks: int) -> None:
        self.queue, self.tasks = queue, tasks

    def estimate_inmemory_data_size(self) -> int | None:
        return None  # unknown until the run ends

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None, data_context: Any = None) -> list[ReadTask]:
        queue = self.queue

        def read() -> Iterator[Any]:
            import pyarrow

            while (chunk := queue.get()) is not None:
                yield pyarrow.table({"pending": pyarrow.array(chunk, type=pyarrow.binary())})

        metadata = BlockMetadata(num_rows=None, size_bytes=None, exec_stats=None, input_files=None)
        return [ReadTask(read, metadata) for _ in range(self.tasks)]


class Feeder:
    """Fills the queue from the pending rows in chunks on a thread, then tells every read task to stop. The
    queue's bound is the driver's backpressure: it reads the catalog only as fast as the actors take photos."""

    def __init__(self, pending: Iterable[PendingFile], chunk: int, tasks: int) -> None:
        self.queue = Queue(maxsize=QUEUED_CHUNKS, actor_options={"num_cpus": 0})
        self.pending, self.chunk, self.tasks = pending, chunk, tasks
        self.stopping = threading.Event()
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="captionary-ray-feeder", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            chunk: list[bytes] = []
            for item in self.pending:
                chunk.append(pickle.dumps(item))
                if len(chunk) == self.chunk:
                    if not self._put(chunk):
                        return  # the run stopped: read no further
                    chunk = []
            if chunk:
                self._put(chunk)
        except BaseException as error:  # noqa: BLE001 - raised in the run's thread, once the dataset has ended
            self.failure = error
        for _ in range(self.tasks):  # one end mark for each read task, even after a failure: the dataset ends
            self._put(None)

    def _put(self, chunk: list[bytes] | None) -> bool:
        while not self.stopping.is_set():
            try:
                self.queue.put(chunk, timeout=PUT_WAIT_SECONDS)
                return True
            except Full:
                continue
        return False

    def close(self) -> None:
        """The run ended (or was stopped): the thread leaves, the queue's actor goes; a feed failure is raised."""
        self.stopping.set()
        self.thread.join()
        self.queue.shutdown(force=True)
        if self.failure is not None:
            raise self.failure
