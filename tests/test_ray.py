"""`captionary index --ray`: the read and caption stages on a local Ray instance give the catalog a local run gives,
with the same guarantees: a photo that stops its worker is retried once, then recorded as failed; a driver killed
mid-run loses only what it had not committed. One Ray instance for the module (it takes seconds to start)."""

from __future__ import annotations

import contextlib
import queue
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from db.errors import CaptionaryError, ModelLoadError
from db.store import Store
from indexer import pipeline
from indexer.cli import cli
from indexer.options import IndexOptions
from indexer.pipeline import index_roots, load_captioner
from tests.helpers import captionary_here, db_state
from tests.photos import COLOURS, photo, save_jpeg
from tests.reader_faults import CountedLoads, StoppingReader, fake_captions, no_weights_here
from tests.test_crash_recovery import final_state
from tests.test_end_to_end import captionary

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 * 2**20, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def index_tiny(data_dir: Path, root: Path, model: Path, load=load_captioner, **options) -> tuple[dict, object]:
    with Store.open(data_dir) as store:
        report = index_roots(store, [root], IndexOptions(model=str(model), batch_size=4, embeddings=False, **options), load)
        return db_state(store), report


def worker_temporary_folders() -> set[Path]:
    # the workers of the module's cluster were started from this process: the same temporary folder
    return set(Path(tempfile.gettempdir()).glob("captionary-thumbnails-*"))


def test_a_ray_run_gives_the_catalog_a_local_run_gives(cluster, photo_tree, tmp_path, tiny_model):
    local, local_report = index_tiny(tmp_path / "local", photo_tree["root"], tiny_model)
    before = worker_temporary_folders()
    on_ray, ray_report = index_tiny(tmp_path / "ray", photo_tree["root"], tiny_model, ray="auto")
    assert worker_temporary_folders() <= before  # the thumbnails' way to the driver leaves nothing on the workers
    # same paths, same captions, same failures with the same reasons
    assert on_ray == local and len(local) > 10
    assert ray_report.model_seconds > 0  # measured on the actors, said in the run's summary
    assert sorted(ray_report.failures) == sorted(local_report.failures) and ray_report.failures
    # thumbnails made on the workers are kept in the driver's data dir
    assert sorted(p.name for p in (tmp_path / "ray" / "thumbnails").rglob("*.jpg")) == sorted(
        p.name for p in (tmp_path / "local" / "thumbnails").rglob("*.jpg")
    )


def test_a_root_a_ray_node_cannot_see_is_refused_in_one_line(cluster, tmp_path):
    from indexer.ray_run import check_roots

    with pytest.raises(CaptionaryError) as refused:
        check_roots(ray, [str(tmp_path), str(tmp_path / "not-mounted")])
    message = str(refused.value)
    assert "not-mounted" in message and "same path" in message and "\n" not in message


def test_without_ray_the_flag_says_how_to_install_it(photo_tree, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    result = CliRunner().invoke(cli, ["index", str(photo_tree["root"]), "--data-dir", str(tmp_path / "d"), "--ray"])
    assert result.exit_code == 1
    assert "pip install 'captionary[ray]'" in result.output and "Traceback" not in result.output


def test_a_photo_that_stops_its_worker_twice_is_failed_and_once_is_retried(cluster, tmp_path, tiny_model, monkeypatch):
    root = tmp_path / "photos"
    for i in range(6):
        save_jpeg(photo(size=(64, 48), colour=COLOURS[i % 5], noise=20, seed=i), root / f"photo_{i}.jpg")
    save_jpeg(photo(size=(64, 48), colour=COLOURS[1], seed=40), root / "poison.jpg")
    save_jpeg(photo(size=(64, 48), colour=COLOURS[2], seed=41), root / "once.jpg")
    markers = tmp_path / "markers"
    markers.mkdir()
    monkeypatch.setattr(pipeline, "PhotoReader", lambda *args: StoppingReader(*args, markers=str(markers)))

    state, report = index_tiny(tmp_path / "data", root, tiny_model, fake_captions, ray="auto")

    assert (markers / "once.jpg.stopped").exists()  # it did stop its worker, once
    assert state[str(root / "once.jpg")] and not state[str(root / "once.jpg")].startswith("failed")
    assert state[str(root / "poison.jpg")] == "failed: reading it stopped the Ray worker twice (a crashing decoder?)"
    assert report.captioned == 7 and report.failed == 1
    assert all(not caption.startswith("failed") for path, caption in state.items() if Path(path).name.startswith("photo_"))


def test_one_pool_of_actors_serves_the_whole_run_and_the_catalog_is_read_as_photos_come_back(
    cluster, tmp_path, tiny_model, monkeypatch
):
    import indexer.ray_source as ray_source

    root = tmp_path / "photos"
    for i in range(40):
        save_jpeg(photo(size=(64, 48), colour=COLOURS[i % 5], noise=20, seed=i), root / f"photo_{i:02}.jpg")
    loads = tmp_path / "loads"
    loads.mkdir()
    back = [0]  # rows the actors have returned so far
    ahead: list[int] = []  # at each row the driver reads from the catalog: rows read and not yet back
    returned = ray_source.Feeder.returned

    def count_back(feeder, rows):
        back[0] += rows
        returned(feeder, rows)

    monkeypatch.setattr(ray_source.Feeder, "returned", count_back)
    with Store.open(tmp_path / "data") as store:
        catalog_pending = store.catalog.pending

        def pending():
            for drawn, item in enumerate(catalog_pending(), start=1):
                ahead.append(drawn - back[0])
                yield item

        monkeypatch.setattr(store.catalog, "pending", pending)
        options = IndexOptions(model=str(tiny_model), batch_size=1, workers=1, embeddings=False, ray="auto")
        report = index_roots(store, [root], options, CountedLoads(fake_captions, str(loads)))
        state = db_state(store)
    assert report.captioned == 40 and all(not caption.startswith("failed") for caption in state.values())
    # 40 batches, in chunks the driver handed over as the run went: the one actor loaded its model once, and
    # the driver, which only plans, not at all
    assert len(list(loads.iterdir())) == 1
    # chunks of 4 rows; in flight at most 4 x (3 for the actor + 2 read tasks + 2 in the queue) = 28, and the
    # chunk being read from the catalog
    assert len(ahead) == 40 and max(ahead) <= 32


def test_a_worker_that_cannot_load_the_model_stops_the_run_in_one_line(cluster, photo_tree, tmp_path, tiny_model):
    options = IndexOptions(model=str(tiny_model), batch_size=4, embeddings=False, ray="auto")
    with Store.open(tmp_path / "data") as store, pytest.raises(ModelLoadError) as stopped:
        index_roots(store, [photo_tree["root"]], options, no_weights_here)
    message = str(stopped.value)
    assert message.startswith("a Ray worker could not load the models: Cannot load model")
    assert "weights are not on this machine" in message and "same path" in message and "\n" not in message


def test_driver_killed_mid_run_then_rerun_equals_a_clean_run(cluster, tmp_path, tiny_model, monkeypatch):
    root = tmp_path / "photos"
    for i in range(24):
        save_jpeg(photo(size=(96, 72), colour=COLOURS[i % 5], noise=25, seed=i), root / f"folder{i % 3}" / f"photo_{i:02}.jpg")
    (root / "folder1" / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    # What a killed driver leaves does not depend on the captioner: every run here captions with the colour captioner
    # of tests/conftest.py (the killed driver's actors, and this process's clean run and rerun); no weights load
    monkeypatch.setattr(pipeline, "load_captioner", fake_captions)
    common = ("--model", tiny_model, "--batch-size", "4", "--no-embeddings")
    index_tiny(tmp_path / "clean", root, tiny_model, fake_captions)  # the same settings as `common`, in this process

    data_dir = tmp_path / "data"
    env = {"RAY_ADDRESS": cluster, "CRASHING_FAKE_CAPTIONER": "1"}
    killed = captionary(
        "index", root, "--data-dir", data_dir, *common, "--ray", "auto", env=env, stop=("kill", "commit:2"), check=False
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with Store.open_existing(data_dir) as store:
        committed = sum(1 for reason in db_state(store).values() if reason)
    assert 0 < committed < 25  # the first batches were kept, the rest not yet read

    resumed = captionary_here("index", root, "--data-dir", data_dir, *common)  # finished locally, in this process
    assert "Traceback" not in resumed.stderr
    assert final_state(data_dir) == final_state(tmp_path / "clean")


class Cluster:
    """Stands in for the ray module of a cluster with these resources, seen from the driver."""

    def __init__(self, resources: dict[str, float]) -> None:
        self.resources = resources

    def cluster_resources(self) -> dict[str, float]:
        return self.resources


class HandedToActors(Exception):
    pass


def plan_a_ray_run(tmp_path, root, tiny_model, monkeypatch, resources, **options) -> tuple[list[IndexOptions], IndexOptions]:
    """What the driver loads for itself, and what it hands the actors, on a cluster with these resources."""
    import indexer.ray_run as ray_run

    handed: list[IndexOptions] = []
    loaded: list[IndexOptions] = []

    def runner(ray, parts, thumbnail_dir, rows, report, actors=None):
        handed.append(parts.options)
        raise HandedToActors

    def factory(options):
        loaded.append(options)
        return load_captioner(options)

    monkeypatch.setattr(ray_run, "connect", lambda address: Cluster(resources))
    monkeypatch.setattr(ray_run, "check_roots", lambda ray, roots: None)
    monkeypatch.setattr(ray_run, "RayRunner", runner)
    with Store.open(tmp_path / "data") as store, pytest.raises(HandedToActors):
        index_roots(store, [root], IndexOptions(model=str(tiny_model), embeddings=False, ray="auto", **options), factory)
    return loaded, handed[0]


def test_a_driver_without_a_gpu_gives_gpu_actors_a_speed_they_can_run(photo_tree, tmp_path, tiny_model, monkeypatch):
    loaded, handed = plan_a_ray_run(tmp_path, photo_tree["root"], tiny_model, monkeypatch, {"CPU": 32.0, "GPU": 4.0})
    # this driver's own default would be int8 (CPU only): the actors, each on a GPU, caption as published
    assert handed.speed == "exact" and handed.device == "auto"
    # the driver's copy of the model only plans the run: its weights never load here
    assert loaded == []


def test_device_cuda_names_the_actors_device_not_the_drivers(photo_tree, tmp_path, tiny_model, monkeypatch):
    # this driver has no CUDA: loading its planning copy there would fail
    loaded, handed = plan_a_ray_run(
        tmp_path, photo_tree["root"], tiny_model, monkeypatch, {"CPU": 32.0, "GPU": 4.0}, device="cuda"
    )
    assert handed.device == "cuda" and handed.speed == "exact" and loaded == []


def test_the_drivers_copy_plans_without_weights_and_loads_them_on_first_use(tiny_model):
    from indexer.models.captioner import caption_inputs
    from indexer.ray_run import DriverCopy
    from indexer.settings import Settings

    loads: list[str] = []

    def load():
        loads.append("weights")
        return load_captioner(IndexOptions(model=str(tiny_model), device="cpu", speed="fast"))

    copy = DriverCopy(caption_inputs(str(tiny_model), Settings.resolve())[0], load)
    real = load_captioner(IndexOptions(model=str(tiny_model), device="cpu", speed="fast"))
    assert (copy.input_side, copy.pixel_spec, copy.model_id) == (real.input_side, real.pixel_spec, real.model_id)
    assert loads == []
    pixels = [np.full((real.input_side, real.input_side, 3), 120, np.uint8)] * 2
    assert copy.caption_pixels(pixels) == real.caption_pixels(pixels) and loads == ["weights"]
    copy.caption_pixels(pixels)
    assert loads == ["weights"]


def test_cpu_actors_get_the_cpu_default(photo_tree, tmp_path, tiny_model, monkeypatch):
    from indexer.models.int8 import kernels_here

    _, handed = plan_a_ray_run(tmp_path, photo_tree["root"], tiny_model, monkeypatch, {"CPU": 8.0})
    assert handed.speed == ("int8" if kernels_here() else "fast")


def test_int8_asked_of_a_gpu_cluster_is_refused_before_any_actor(photo_tree, tmp_path, tiny_model, monkeypatch):
    with pytest.raises(CaptionaryError, match="runs on a CPU only"):
        plan_a_ray_run(tmp_path, photo_tree["root"], tiny_model, monkeypatch, {"CPU": 32.0, "GPU": 4.0}, speed="int8")


class LocalQueue(queue.Queue):
    """Stands in for Ray's queue, which has the same put and get, and a shutdown."""

    def shutdown(self, force: bool = False) -> None:
        pass


def rows(count: int) -> list:
    from db.records import PendingFile

    return [PendingFile(i, f"/photos/{i}.jpg", "/photos", 1, 1) for i in range(count)]


def queued_rows(chunks: LocalQueue, wanted: int, seconds: float = 5.0) -> list:
    taken: list = []
    deadline = time.monotonic() + seconds
    while len(taken) < wanted and time.monotonic() < deadline:
        with contextlib.suppress(queue.Empty):
            taken.extend(chunks.get(timeout=0.05) or [])
    return taken


def test_the_feeder_hands_rows_only_as_fast_as_they_come_back():
    from indexer.ray_source import Feeder

    chunks = LocalQueue()
    feeder = Feeder(rows(10), chunk=2, in_flight=4, queue=chunks)
    assert len(queued_rows(chunks, 4)) == 4
    assert queued_rows(chunks, 1, seconds=0.5) == []  # 4 out, none back: it waits
    feeder.returned(2)
    assert len(queued_rows(chunks, 2)) == 2
    feeder.close()


def test_a_chunk_that_never_comes_back_holds_the_feeder_only_for_a_while(monkeypatch):
    import indexer.ray_source as ray_source

    monkeypatch.setattr(ray_source, "STALL_SECONDS", 0.3)
    monkeypatch.setattr(ray_source, "WAIT_SECONDS", 0.05)
    chunks = LocalQueue()
    feeder = ray_source.Feeder(rows(6), chunk=2, in_flight=2, queue=chunks)
    # lost with a read task's node, nothing comes back; every row still goes out, then the end marks
    assert len(queued_rows(chunks, 6)) == 6
    assert chunks.get(timeout=1) is None
    feeder.close()


def test_a_failure_reading_the_catalog_ends_the_rows_and_is_raised_at_the_end():
    from indexer.ray_source import Feeder

    def pending():
        yield from rows(3)
        raise OSError("the catalog went away")

    chunks = LocalQueue()
    feeder = Feeder(pending(), chunk=2, in_flight=100, queue=chunks)
    assert len(queued_rows(chunks, 2)) == 2
    assert chunks.get(timeout=1) is None  # the half chunk is not sent (its rows stay queued); every read task ends
    with pytest.raises(OSError, match="went away"):
        feeder.close()
