"""Reading runs in spawned processes for a run of any size worth it: same catalog as threads, order kept,
memory bounded, and a process that dies costs a retry, never a photo."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest

from db.records import PendingFile
from db.store import Store
from indexer import feed
from indexer.reading import KnownContents, PhotoReader, ReadSettings
from indexer.workers import ProcessRunner
from tests import reader_faults
from tests.helpers import db_state, index_with
from tests.photos import COLOURS, photo, save_jpeg

pytestmark = pytest.mark.slow


def photo_folder(root: Path, count: int) -> list[Path]:
    paths = []
    for number in range(count):
        colour = COLOURS[number % len(COLOURS)]
        paths.append(
            save_jpeg(photo((96, 64), colour, noise=20, seed=number), root / f"{number // 10:02}" / f"img_{number:03}.jpg")
        )
    return paths


def crashed(item, reason: str):
    return f"crashed: {reason}"


def test_results_come_back_in_input_order_with_bounded_work_in_flight():
    runner = ProcessRunner(reader_faults.double_slowly, 2, crashed)
    submitted = []

    def items():
        for number in range(40):
            submitted.append(number)
            yield number

    try:
        results = []
        for result in runner.map(items(), ahead=5):
            assert len(submitted) - len(results) <= 5  # never more than `ahead` items read and not yet used
            results.append(result)
    finally:
        runner.close()
    assert results == [number * 2 for number in range(40)]


def test_a_failing_run_stops_its_readers_at_once_not_after_the_photos_in_hand(tmp_path):
    import threading

    runner = ProcessRunner(reader_faults.mark_then_sleep, 2, crashed)
    markers = [tmp_path / f"started-{number}" for number in range(4)]

    def consume() -> None:
        with contextlib.suppress(Exception):  # what the closed runner answers its consumer is not the question here
            list(runner.map([(str(marker), 60) for marker in markers], ahead=4))

    threading.Thread(target=consume, daemon=True).start()
    deadline = time.monotonic() + 60
    while sum(marker.exists() for marker in markers) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # both readers are in a photo that takes a minute
    assert sum(marker.exists() for marker in markers) == 2
    started = time.monotonic()
    runner.close(at_once=True)  # Ctrl-C, or the run failing
    assert time.monotonic() - started < 5  # was: 5 s for each reader before it was stopped
    assert [slot.process.exitcode for slot in runner.slots] == [-signal.SIGTERM] * 2


def test_an_item_that_kills_its_process_twice_is_answered_as_failed_and_the_rest_go_on():
    runner = ProcessRunner(reader_faults.double_unless_poison, 2, crashed)
    try:
        results = list(runner.map(range(30), ahead=6))
    finally:
        runner.close()
    assert results[13] == "crashed: reading it stopped the reader process (exit code 70)"
    assert [result for number, result in enumerate(results) if number != 13] == [n * 2 for n in range(30) if n != 13]
    assert runner.crashes[13] == 2  # retried once, alone on a process, before it was given up on


@pytest.mark.parametrize("stage", ["double_but_crawl_on_five", "double_but_wait_on_five"])
def test_an_item_that_costs_more_cpu_than_its_deadline_is_answered_as_failed_at_once_and_one_that_waits_is_not(stage):
    runner = ProcessRunner(getattr(reader_faults, stage), 2, crashed, deadline=lambda item: 2.0)
    started = time.monotonic()
    try:
        results = list(runner.map(range(20), ahead=8))
    finally:
        runner.close(at_once=True)
    crawled = stage == "double_but_crawl_on_five"
    assert results[5] == ("crashed: reading it took over 2 s of CPU: stopped" if crawled else 10)
    assert [result for number, result in enumerate(results) if number != 5] == [n * 2 for n in range(20) if n != 5]
    assert 5 not in runner.crashes  # not tried again: its time is known to be its own
    assert time.monotonic() - started < 30  # not the minute it would take


def test_an_exception_in_the_stage_is_that_items_failure_only():
    runner = ProcessRunner(reader_faults.fail_on_seven, 1, crashed)
    try:
        results = list(runner.map(range(10), ahead=3))
    finally:
        runner.close()
    assert results[7] == "crashed: ValueError: seven is not a photo"
    assert results[:7] == [0, 2, 4, 6, 8, 10, 12]


def test_a_reader_process_killed_mid_batch_loses_no_photo(tmp_path):
    paths = photo_folder(tmp_path / "photos", 24)
    settings = ReadSettings(follow_symlinks=False, decode_side=32, model_side=32, specs=(None,), thumbnail_dir=None)
    reader = reader_faults.Slowly(PhotoReader(settings, KnownContents()), 0.1)
    pending = [
        PendingFile(n, str(path), str(tmp_path), path.stat().st_size, path.stat().st_mtime_ns) for n, path in enumerate(paths)
    ]
    runner = ProcessRunner(reader, 2, feed.crash_outcome)
    try:
        results = []
        for result in runner.map(pending, ahead=8):
            if len(results) == 3:
                victim = next(slot for slot in runner.slots if slot.tasks)  # a process holding photos right now
                os.kill(victim.process.pid, signal.SIGKILL)
            results.append(result)
    finally:
        runner.close()
    assert [item.path for item in results] == [str(path) for path in paths]
    assert all(item.error is None and item.pixels is not None and item.content_hash for item in results)
    assert runner.crashes  # the kill was noticed: what the process held was read again


def test_reader_processes_and_threads_make_the_same_catalog(tmp_path, monkeypatch):
    from tests.conftest import FakeCaptioner

    root = tmp_path / "photos"
    photo_folder(root, 30)
    (root / "00" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (root / "twin").mkdir()
    (root / "twin" / "img_000.jpg").write_bytes((root / "00" / "img_000.jpg").read_bytes())  # byte-identical
    states = []
    for processes in (True, False):
        monkeypatch.setattr(feed, "PROCESSES_FROM", 1 if processes else 1 << 40)
        with Store.open(tmp_path / f"data-{processes}") as store:
            captioner = FakeCaptioner()
            report = index_with(store, [root], captioner, workers=3)
            assert (report.captioned, report.reused, report.failed) == (30, 1, 1)
            assert sum(captioner.batches) == 30  # the twin was never sent to the model
            states.append(db_state(store))
    assert states[0] == states[1]


def test_index_with_more_reader_processes_than_cores_indexes_the_tree(tmp_path, tiny_model):
    root = tmp_path / "photos"
    photo_folder(root, 30)
    command = [
        sys.executable,
        "-m",
        "indexer",
        "index",
        str(root),
        "--data-dir",
        str(tmp_path / "data"),
        "--model",
        str(tiny_model),
    ]
    started = time.perf_counter()
    finished = subprocess.run(
        [*command, "--workers", "16", "--no-embeddings", "--image-embedder", "none"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.startswith("30 captioned, 0 unchanged, 0 reused, 0 failed"), finished.stdout
    assert time.perf_counter() - started < 300


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(child) for child in (task / "children").read_text().split()}
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _captioned(data_dir: Path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(f"file:{data_dir / 'captionary.db'}?mode=ro", uri=True, timeout=5) as catalog:
            return catalog.execute("SELECT count(*) FROM files WHERE content_id IS NOT NULL").fetchone()[0]
    except sqlite3.Error:
        return 0  # not made yet


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads children from /proc")
def test_ctrl_c_stops_the_run_in_one_line_and_its_helper_processes_with_it(tmp_path, tiny_model):
    photo_folder(tmp_path / "photos", 200)
    data_dir = tmp_path / "data"
    command = [sys.executable, "-m", "indexer", "index", str(tmp_path / "photos"), "--data-dir", str(data_dir)]
    options = ["--model", str(tiny_model), "--batch-size", "1", "--no-embeddings", "--image-embedder", "none"]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    # a run started in the background by a shell without job control inherits SIGINT ignored: not so a terminal's
    heard = partial(signal.signal, signal.SIGINT, signal.SIG_DFL)
    run = subprocess.Popen([*command, *options], **pipes, start_new_session=True, preexec_fn=heard)
    deadline = time.monotonic() + 120
    while not _captioned(data_dir) and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # a batch committed: the readers and the full-text process have started
    helpers = _children(run.pid)
    os.killpg(run.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C: the whole process group
    _, stderr = run.communicate(timeout=120)
    assert len(helpers) >= 3, stderr  # 2 readers and the full-text process (and multiprocessing's resource tracker)
    assert run.returncode == 1 and stderr.strip().endswith("Aborted!") and "Traceback" not in stderr, stderr
    assert _captioned(data_dir) >= 1  # the batches committed before the interrupt are kept
    deadline = time.monotonic() + 30
    while any(_running(pid) for pid in helpers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_running(pid) for pid in helpers)


def test_after_a_run_that_did_not_finish_a_photo_that_kills_its_reader_is_recorded_and_the_run_goes_on(
    tmp_path, data_dir, monkeypatch
):
    from indexer import pipeline
    from tests.conftest import FakeCaptioner

    root = tmp_path / "photos"
    for number in range(3):  # a small run: read in threads, unless the last run did not finish
        save_jpeg(photo(size=(64, 48), colour=COLOURS[number], seed=number), root / f"photo_{number}.jpg")
    save_jpeg(photo(size=(64, 48), seed=9), root / "poison.jpg")  # its decoder kills the process reading it
    monkeypatch.setattr(pipeline, "PhotoReader", lambda *args: reader_faults.StoppingReader(*args, markers=str(tmp_path)))
    with Store.open(data_dir) as store:
        store.catalog.begin_run([str(root)])  # a run that started and never finished: this photo killed it
        assert not store.catalog.last_run_finished()
        report = index_with(store, [root], FakeCaptioner())
        assert (report.captioned, report.failed) == (3, 1)
        assert (str(root / "poison.jpg"), "reading it stopped the reader process (exit code 71)") in store.failures()
        assert store.catalog.last_run_finished()

        started: list[int] = []
        monkeypatch.setattr(feed, "ProcessRunner", lambda *args, **kwargs: started.append(1) or ProcessRunner(*args, **kwargs))
        save_jpeg(photo(size=(64, 48), colour=COLOURS[4], noise=20, seed=12), root / "photo_3.jpg")
        assert index_with(store, [root], FakeCaptioner()).captioned == 1
        assert started == []  # after a finished run, a few photos are read in threads again
