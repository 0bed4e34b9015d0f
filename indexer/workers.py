"""Runners for a stage function: map it over items in input order with a bounded number in flight.

ThreadRunner runs it in threads of this process (a small run, or a stage that cannot be pickled).
ProcessRunner runs it in spawned processes, so decoding never shares the model's interpreter: each process
gets the function once, then small chunks of items over its own pipe, so the parent always knows which items
a process held. A process that dies (a decoder that crashes on one photo, the OOM killer) is replaced; the
items it held are retried one at a time, alone on a process, and an item that kills a process twice is
answered by `on_crash` (a failure with its reason) instead of being retried forever. An item that costs its process
more CPU than its `deadline` (a file built to make its decoder crawl) has the process killed and is answered by
`on_crash` at once; the others that process held are sent again. The CPU is read from /proc: elsewhere there is
no deadline."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

ATTEMPTS = 2  # an item that kills its process this many times is given up on
_DEPTH = 2  # tasks queued at each process: the next is ready when one finishes
_CHUNK = 8  # items in one task, at most


def start_helper(process: multiprocessing.process.BaseProcess) -> None:
    """Start a helper process deaf to Ctrl-C, which reaches the terminal's whole process group: only the run's own
    process answers it (one line), and a helper ends when that process closes its pipe. A spawned interpreter keeps
    an ignored SIGINT ignored from its first instruction, so the parent ignores it while the helper starts (a few
    milliseconds); one started off the main thread ignores it as its first step (`ignore_interrupts`)."""
    if threading.current_thread() is not threading.main_thread():
        process.start()
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        process.start()
    finally:
        # None: a handler installed from C, which Python cannot put back; the default one is the nearest
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)


def ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def cpu_seconds(pid: int | None) -> float | None:
    """The CPU a process has spent (user and system), from Linux's /proc; None where that cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()  # after the command's name, which may hold spaces
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime and stime: the 14th and 15th fields


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class StageCrashed(Exception):
    """A stage process died holding an item; the message says how (signal or exit code)."""


def ordered_prefetch(function: Callable[[T], R], items: Iterable[T], pool: ThreadPoolExecutor, ahead: int) -> Iterator[R]:
    """Map in a thread pool, yielding in input order with at most `ahead` items in flight.

    The bound is what keeps memory flat: decoded photos never pile up faster than the
    model consumes them, however large the collection.
    """
    window: deque[Future[R]] = deque()
    for item in items:
        window.append(pool.submit(function, item))
        if len(window) >= ahead:
            yield window.popleft().result()
    while window:
        yield window.popleft().result()


class ThreadRunner(Generic[T, R]):
    def __init__(self, function: Callable[[T], R], threads: int) -> None:
        self.function, self.threads = function, threads
        self.active = threads  # threads share one interpreter: how many run at once is left to the GIL
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="read")

    def map(self, items: Iterable[T], ahead: int) -> Iterator[R]:
        return ordered_prefetch(self.function, items, self.pool, ahead)

    def close(self, at_once: bool = False) -> None:
        self.pool.shutdown(wait=not at_once, cancel_futures=True)


def _serve(connection: Connection, function: Callable[[Any], Any], clock: Any) -> None:
    """A stage process: answer (ids, items) with (ids, [(ok, result)]) until told to stop or the parent is gone.
    `clock` (shared memory, no message) says which item it is on, and the CPU seconds it had spent when it began."""
    ignore_interrupts()
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):  # the parent died or closed the pipe: nothing left to do
            return
        if message is None:
            return
        task_ids, items = message
        answers = []
        for task_id, item in zip(task_ids, items):
            clock[1] = time.process_time()  # the CPU spent so far, then the item (the parent reads both twice)
            clock[0] = task_id
            try:
                answers.append((True, function(item)))
            except Exception as error:  # a bug in the stage for one item: reported for that item, the process goes on
                answers.append((False, f"{type(error).__name__}: {error}"))
        clock[0] = -1  # between tasks
        connection.send((task_ids, answers))


class _Slot:
    """One stage process and the tasks (lists of item ids) sent to it that have not come back."""

    def __init__(self, context: Any, function: Callable[[Any], Any]) -> None:
        parent, child = context.Pipe()
        self.connection: Connection = parent
        self.clock = context.Array("d", [-1.0, 0.0], lock=False)
        self.process = context.Process(target=_serve, args=(child, function, self.clock), daemon=True, name="captionary-reader")
        start_helper(self.process)
        child.close()
        self.tasks: list[list[int]] = []
        self.late: tuple[int, str] | None = None  # the item it was killed for taking too long on, and the reason
        self.alone = False  # running a suspect item: nothing else is sent until it returns
        self.dead = False  # a send failed: the process is gone, its replacement is on the way
        self.ended = False  # its pipe reached the end: nothing more will come from it


class ProcessRunner(Generic[T, R]):
    def __init__(
        self,
        function: Callable[[T], R],
        processes: int,
        on_crash: Callable[[T, str], R],
        deadline: Callable[[T], float] | None = None,
    ) -> None:
        self.function, self.on_crash, self.deadline = function, on_crash, deadline
        self.next_check = 0.0  # when the pump next looks for a late item
        self.context = multiprocessing.get_context("spawn")  # never fork a process that may hold CUDA or threads
        self.lock = threading.Condition()
        self.slots = [_Slot(self.context, function) for _ in range(processes)]
        self.active = processes  # how many of them are given new items (indexer/feed.py CoreSplit)
        self.queue: deque[list[int]] = deque()
        self.items: dict[int, T] = {}
        self.results: dict[int, R] = {}
        self.crashes: dict[int, int] = {}
        self.failure: BaseException | None = None
        self.closed = False
        self.pump = threading.Thread(target=self._pump, name="captionary-reader-pump", daemon=True)
        self.pump.start()

    @property
    def processes(self) -> int:
        return len(self.slots)

    def map(self, items: Iterable[T], ahead: int) -> Iterator[R]:
        """The function's results in input order, with at most `ahead` items submitted and not yet yielded.

        Items travel in chunks (up to _CHUNK, fewer when `ahead` is small): every message the parent handles
        costs it the interpreter's lock, which the model's thread holds most of the time."""
        chunk = max(1, min(_CHUNK, ahead // (2 * _DEPTH * max(1, self.active))))
        next_id = submitted = 0
        waiting: list[int] = []
        source = iter(items)
        exhausted = False
        while True:
            while not exhausted and submitted - next_id < ahead:
                try:
                    self.items[submitted] = next(source)
                except StopIteration:
                    exhausted = True
                    break
                waiting.append(submitted)
                submitted += 1
                if len(waiting) >= chunk:
                    self._submit(waiting)
                    waiting = []
            if waiting:  # the next result may be in it: never wait on a chunk not sent
                self._submit(waiting)
                waiting = []
            if next_id == submitted:
                return
            yield self._result(next_id)
            next_id += 1

    def _submit(self, task: list[int]) -> None:
        with self.lock:
            self.queue.append(task)
            self._dispatch()

    def _result(self, task_id: int) -> R:
        with self.lock:
            while task_id not in self.results:
                if self.failure is not None:
                    raise self.failure
                self.lock.wait(timeout=1.0)
            self.items.pop(task_id, None)
            return self.results.pop(task_id)

    def _dispatch(self) -> None:
        """Hand queued tasks to processes with room; a suspect item goes alone to an idle process."""
        while self.queue:
            task = self.queue[0]
            suspect = any(task_id in self.crashes for task_id in task)
            if suspect:
                free = [slot for slot in self.slots if not slot.tasks and not slot.dead]
            else:
                candidates = self.slots[: max(1, self.active)]
                free = [slot for slot in candidates if not slot.alone and not slot.dead and len(slot.tasks) < _DEPTH]
            if not free:
                return
            slot = min(free, key=lambda candidate: len(candidate.tasks))
            try:
                slot.connection.send((task, [self.items[task_id] for task_id in task]))
            except OSError:  # the process died and its sentinel is not handled yet: the task never reached it
                slot.dead = True
                continue
            self.queue.popleft()
            slot.tasks.append(task)
            slot.alone = suspect

    def _pump(self) -> None:
        try:
            while not self.closed:
                with self.lock:
                    watched: dict[Any, _Slot] = {slot.connection: slot for slot in self.slots}
                    watched.update({slot.process.sentinel: slot for slot in self.slots})
                for ready in wait(list(watched), timeout=0.2):
                    self._collect(watched[ready], ready)
                self._stop_the_late()
        except BaseException as error:  # noqa: BLE001 - handed to the consuming thread, which raises it
            with self.lock:
                self.failure = error
                self.lock.notify_all()

    def _collect(self, slot: _Slot, ready: Any) -> None:
        if ready is slot.connection:
            try:
                task, answers = slot.connection.recv()
            except (EOFError, OSError):
                slot.ended = True  # the process is gone; its sentinel (now, or at the next wait) replaces it
                return
            with self.lock:
                slot.tasks.remove(task)
                slot.alone = False
                for task_id, (ok, value) in zip(task, answers):
                    self.results[task_id] = value if ok else self.on_crash(self.items[task_id], value)
                self._dispatch()
                self.lock.notify_all()
            return
        slot.process.join(timeout=1.0)
        if slot.process.is_alive() or (not slot.ended and slot.connection.poll()):
            return  # results still buffered in the pipe come first
        self._replace(slot)

    def _stop_the_late(self) -> None:
        """Kill a process that has spent more CPU on its item than the item's deadline allows. CPU, not the clock: a
        stalled network share, a suspended run or a swapping machine must not fail a photo for good."""
        if self.deadline is None or time.monotonic() < self.next_check:
            return
        self.next_check = time.monotonic() + 1.0
        with self.lock:
            for slot in self.slots:
                task_id, since = int(slot.clock[0]), slot.clock[1]
                if slot.late is not None or task_id not in self.items or not any(task_id in task for task in slot.tasks):
                    continue
                spent = cpu_seconds(slot.process.pid)
                if spent is None or int(slot.clock[0]) != task_id:  # no /proc here, or it has moved on meanwhile
                    continue
                allowed = self.deadline(self.items[task_id])
                if spent - since > allowed:
                    slot.late = task_id, f"reading it took over {allowed:.0f} s of CPU: stopped"
                    slot.process.kill()  # its sentinel replaces it (_replace)

    def _replace(self, slot: _Slot) -> None:
        code = slot.process.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        with self.lock:
            if self.closed or slot not in self.slots:
                return
            lost = [task_id for task in slot.tasks for task_id in task]
            self.slots[self.slots.index(slot)] = _Slot(self.context, self.function)
            slot.connection.close()
            if slot.late is not None:  # only the late item is answered; the others were lost to its kill, and go again
                late, reason = slot.late
                if late in lost:  # not answered in the instant before the kill
                    self.results[late] = self.on_crash(self.items[late], reason)
                self.queue.extendleft(reversed([[task_id] for task_id in lost if task_id != late]))
                lost = []
            for task_id in reversed(lost):
                self.crashes[task_id] = self.crashes.get(task_id, 0) + 1
                if self.crashes[task_id] >= ATTEMPTS:
                    self.results[task_id] = self.on_crash(self.items[task_id], f"reading it stopped the reader process ({how})")
                else:
                    self.queue.appendleft([task_id])  # retried first, one at a time, alone on a process
            self._dispatch()
            self.lock.notify_all()

    def close(self, at_once: bool = False) -> None:
        """Let the processes finish the item in hand (5 s in all), or, `at_once` (the run is failing or was
        interrupted), stop them now: nothing they hold would be used."""
        with self.lock:
            self.closed = True
        for slot in self.slots:
            try:
                slot.connection.send(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + (0 if at_once else 5)
        for slot in self.slots:
            slot.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():
                slot.process.terminate()
                slot.process.join(timeout=5)
            slot.connection.close()
        self.pump.join(timeout=5)
