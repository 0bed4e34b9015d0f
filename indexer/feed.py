"""The index run's feed: pending files through the readers (processes or threads), distinct new photos to the
model in batches, every result to the writer thread, and the CPU cores shared by what each stage costs."""

from __future__ import annotations

import os
import pickle
import queue
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from contextlib import closing, contextmanager
from typing import Any

from db.catalog import Catalog
from db.records import PendingFile
from indexer.reading import PhotoReader, Prepared, reading_deadline
from indexer.report import IndexReport
from indexer.stages import CaptionStage, RunPlan, default_split
from indexer.workers import ProcessRunner, ThreadRunner

PREFETCH_BATCHES = 3  # keep this many batches read ahead of the model
WRITE_QUEUE_BATCHES = 2  # batches captioned and waiting for the writer: bounds memory, not speed
# Below this many photos to read, reader processes cost more to start (a second each) than they save.
PROCESSES_FROM = 24
SWITCH_INTERVAL = 0.001  # seconds; Python's default is 0.005


def uses_processes(to_read: int) -> bool:
    """Whether a run with this many photos to read starts reader processes (and a full-text sync process)."""
    return to_read >= PROCESSES_FROM


class CoreSplit:
    """How many readers decode and how many threads torch has on a CPU, from what each stage costs.

    Photos are decoded by `readers` of the started processes (or threads) and captioned with `threads` torch
    threads. When neither was asked for, both follow the measured cost per photo: the readers' CPU seconds
    against this process's (the model, the writer, the caption embeddings). A big model on 2 cores gets both
    cores and one reader (decoding is 3% of the work); a tiny one a core each (bench/throughput.py)."""

    def __init__(self, plan: RunPlan, cores: int | None = None) -> None:
        self.cores = cores or os.cpu_count() or 1
        initial_readers, initial_threads = default_split(plan.device, self.cores)
        self.fixed_readers, self.fixed_threads = plan.workers is not None, plan.threads is not None
        self.started = plan.workers or (self.cores if plan.device == "cpu" else initial_readers)
        self.readers = plan.workers or initial_readers
        self.threads = plan.threads or initial_threads
        self.adapts = plan.device == "cpu" and not (self.fixed_readers and self.fixed_threads)
        self._decode = self._model = 0.0

    def measured(self, decode_seconds: float, run_seconds: float, photos: int) -> None:
        """Reader CPU seconds and this process's CPU seconds since the last batch; moves cores to the dearer."""
        if not self.adapts or not photos:
            return
        decode, model = decode_seconds / photos, run_seconds / photos
        weight = 0.5 if self._decode or self._model else 1.0  # a running mean: one odd batch moves it halfway
        self._decode += weight * (decode - self._decode)
        self._model += weight * (model - self._model)
        total = self._decode + self._model
        if total <= 0:
            return
        share = self._model / total
        if not self.fixed_threads:
            self.threads = max(1, min(self.cores, round(self.cores * share)))
        if not self.fixed_readers:
            self.readers = max(1, min(self.started, round(self.cores * (1 - share))))


class WriterThread:
    """Stage 3 on its own thread: the catalog's transactions, caption embeddings and full-text syncs never stall
    the model. FIFO, so a photo written after its byte-identical twin finds the twin's caption committed."""

    def __init__(self, write: Callable[[list[Prepared]], None]) -> None:
        self.write = write
        self.batches: queue.Queue[list[Prepared] | None] = queue.Queue(maxsize=WRITE_QUEUE_BATCHES)
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="captionary-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (batch := self.batches.get()) is not None:
            if self.failure is None:
                try:
                    self.write(batch)
                except BaseException as error:  # noqa: BLE001 - raised in the feeding thread
                    self.failure = error

    def submit(self, batch: list[Prepared]) -> None:
        self._raise()
        if batch:
            self.batches.put(batch)

    def finish(self) -> None:
        """Write what is queued, then stop; a writer failure is raised here."""
        self.batches.put(None)
        self.thread.join()
        self._raise()

    def _raise(self) -> None:
        if self.failure is not None:
            raise self.failure


def crash_outcome(pending: PendingFile, reason: str) -> Prepared:
    return Prepared(pending.path, pending.root, pending.size, pending.mtime_ns, sidecars=pending.sidecars, error=reason[:200])


@contextmanager
def reader_runner(reader: PhotoReader, split: CoreSplit, processes: bool):
    """Reader processes, or threads of this process for a small run or a reader that cannot travel."""
    runner: Any
    if processes:
        try:
            pickle.dumps(reader)
        except (pickle.PicklingError, AttributeError, TypeError):
            processes = False  # a stage given as a local object (a test's fake engine) runs in threads
    # Threads cannot be stopped: only reader processes hold a photo to its deadline.
    if processes:
        runner = ProcessRunner(reader, split.started, crash_outcome, reading_deadline)
    else:
        runner = ThreadRunner(reader, split.started)
    try:
        yield runner
    except BaseException:
        runner.close(at_once=True)  # Ctrl-C, or a failing run: the readers' work in hand is not wanted
        raise
    runner.close()


class Feed:
    """Each distinct new photo goes to the model once; its byte-identical twins are written after it."""

    def __init__(
        self,
        catalog: Catalog,
        plan: RunPlan,
        reader: PhotoReader,
        caption: CaptionStage,
        write: Callable[[list[Prepared]], None],
        report: IndexReport,
        set_threads: Callable[[int], None],
    ) -> None:
        self.catalog, self.plan, self.reader, self.caption, self.report = catalog, plan, reader, caption, report
        self.writer = WriterThread(write)
        self.split = CoreSplit(plan)
        self.set_threads = set_threads
        self.to_model: list[Prepared] = []
        self.to_write: list[Prepared] = []
        self.followers: dict[str, list[Prepared]] = {}  # hash -> twins met while it waits for the model
        # Hashes sent to the model in this run: a twin of one may arrive before the writer committed it.
        self.recent: OrderedDict[str, None] = OrderedDict()
        self._batch_decode = 0.0
        self._cpu = time.process_time()
        self.lookup: Callable[[str], tuple[str, bool] | None] = lambda _hash: None  # set while the feed runs

    def run(self, pending: Iterable[PendingFile], processes: bool, cluster: Any = None) -> None:
        """Read in processes (or threads), or, given a cluster runner (indexer/ray_run.py), read and caption there."""
        window = self.plan.batch_size * PREFETCH_BATCHES
        self.set_threads(self.split.threads)
        # The reader pump and the writer wait for the interpreter's lock while the model's thread runs Python;
        # a shorter switch interval keeps them from idling the readers and the catalog.
        interval = sys.getswitchinterval()
        sys.setswitchinterval(min(interval, SWITCH_INTERVAL))
        try:
            readers = closing(cluster) if cluster is not None else reader_runner(self.reader, self.split, processes)
            with self.catalog.hash_lookups() as self.lookup, readers as runner:
                runner.active = self.split.readers
                for prepared in runner.map(pending, window):
                    self.report.decode_time.add(prepared.decode_started, prepared.decode_seconds)
                    self._batch_decode += prepared.decode_cpu
                    self._route(prepared)
                    if len(self.to_model) >= self.plan.batch_size:
                        self._caption_waiting()
                        runner.active = self.split.readers
                    if len(self.to_write) >= self.plan.batch_size:
                        self.writer.submit(self.to_write)
                        self.to_write = []
                self._caption_waiting()
            self.writer.submit(self.to_write)
        finally:
            self.writer.finish()
            sys.setswitchinterval(interval)

    def _route(self, item: Prepared) -> None:
        content_hash = item.content_hash
        if item.nothing_to_caption:
            self.to_write.append(item)
        elif item.caption is not None:  # captioned where it was read (a cluster worker, indexer/ray_run.py)
            self.recent[content_hash] = None
            self.to_write.append(item)
        elif content_hash in self.followers:
            item.pixels = None
            self.followers[content_hash].append(item)
        elif content_hash in self.recent or not self._needs_caption(content_hash):
            item.pixels = None  # known bytes, or a twin captioned (and queued for writing) already
            self.to_write.append(item)
        else:
            if item.pixels is None:  # the run-start snapshot said known, the catalog says otherwise: decode now
                item = self.reader(PendingFile(0, item.path, item.root, item.size, item.mtime_ns, item.sidecars), True)
                if item.pixels is None:
                    self.to_write.append(item)
                    return
            self.followers[content_hash] = []
            self.to_model.append(item)

    def _needs_caption(self, content_hash: str) -> bool:
        known = self.lookup(content_hash)
        return known is None or (self.plan.recaption and not known[1] and known[0] != self.plan.caption_source)

    def _caption_waiting(self) -> None:
        if not self.to_model:
            return
        for item in self.caption(self.to_model):
            self.to_write.append(item)
            self.to_write.extend(self.followers.pop(item.content_hash, []))
            self.recent[item.content_hash] = None
        threads = self.split.threads
        spent, self._cpu = time.process_time() - self._cpu, time.process_time()
        self.split.measured(self._batch_decode, spent, len(self.to_model))
        if self.split.threads != threads:
            self.set_threads(self.split.threads)
        self._batch_decode = 0.0
        limit = 4 * self.plan.batch_size * (PREFETCH_BATCHES + WRITE_QUEUE_BATCHES)
        while len(self.recent) > limit:
            self.recent.popitem(last=False)
        self.to_model = []
