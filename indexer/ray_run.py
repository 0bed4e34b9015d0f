"""An index run's read and caption stages on a Ray cluster (`captionary index --ray`).

The driver crawls, compares and writes the catalog exactly as a local run; Ray Data maps the same stage objects
(indexer/reading.py PhotoReader, indexer/stages.py CaptionStage) over a pool of actors, each loading its models
once. Workers get pickled PendingFile rows (paths, never pixels), handed over as the run goes
(indexer/ray_source.py), and return captioned Prepared rows plus the thumbnail's bytes, so a decoded photo never
enters Ray's object store. Ray restarts a dead actor and retries its batch; a batch tried again is read photo by
photo, and a photo that stopped its worker twice is answered with a failure instead of being retried forever
(CrashLedger)."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from db.errors import CaptionaryError, ModelLoadError
from db.records import PendingFile, make_thumbnail_folder, thumbnail_path
from indexer.models.captioner import CaptionModel
from indexer.options import IndexOptions
from indexer.pixels import ModelInputs
from indexer.reading import PhotoReader, Prepared
from indexer.report import IndexReport
from indexer.settings import batch_size_for
from indexer.stages import CaptionStage, ImageEmbedderLike

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from PIL import Image

    from indexer.ray_source import Feeder

INSTALL_HINT = "--ray needs Ray Data: pip install 'captionary[ray]'"
# A chunk of pending rows is one read task's block: a few batches to an actor's task, so Ray Data schedules a task
# per few batches rather than per batch. A read task does one queue call; two at a time keep the actors fed.
BATCHES_PER_CHUNK = 4
READ_TASKS = 2
TASKS_PER_ACTOR = 2  # one batch running and one waiting, so an actor never idles between batches
WORKER_MODELS = "every machine of the cluster needs the models at the same path, or in its Hugging Face cache"
CRASH_REASON = "reading it stopped the Ray worker twice (a crashing decoder?)"


def import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401 - the extra, not just the core
    except ImportError:
        raise CaptionaryError(INSTALL_HINT) from None
    return ray


def connect(address: str) -> Any:
    """Join the cluster at ADDRESS ('auto', 'ray://host:port', 'host:port'), or ('local') start one here."""
    ray = import_ray()
    # The run's own progress bar and summary speak for it: Ray's start-up notes and Ray Data's progress log go,
    # and Ray Data's error log too, which repeats the stack of an error the run then says in one line.
    logging.getLogger("ray").setLevel(logging.ERROR)
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)
    ray.data.DataContext.get_current().enable_progress_bars = False
    if not ray.is_initialized():
        try:
            if address == "local":
                ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
            else:
                ray.init(address=address, log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise CaptionaryError(
                f"cannot reach the Ray cluster at {address}: {' '.join(str(error).split())[:200]} "
                "(start it with 'ray start --head' on one machine and 'ray start --address HEAD:6379' on the others)"
            ) from None
    return ray


def _roots_seen_here(roots: list[str]) -> list[str]:
    return [root for root in roots if not os.path.isdir(root)]


def check_roots(ray: Any, roots: list[str]) -> None:
    """Every node must see the photos at the same path (a shared mount): asked of each node before any work."""
    nodes = [node for node in ray.nodes() if node.get("Alive")]
    probe = ray.remote(num_cpus=0)(_roots_seen_here)
    answers = []
    for node in nodes:
        strategy = ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
        answers.append((node.get("NodeManagerAddress", "?"), probe.options(scheduling_strategy=strategy).remote(roots)))
    for host, answer in answers:
        missing = ray.get(answer)
        if missing:
            raise CaptionaryError(
                f"the Ray node {host} does not see {missing[0]}: mount the photos at the same path on every machine "
                "of the cluster; nothing was changed"
            )


def cluster_device(ray: Any, requested: str) -> str:
    """The device the actors caption on, decided on the driver, which may have no GPU of its own: --device where
    given, else a GPU for each actor where the cluster has GPUs, else the CPU."""
    if requested != "auto":
        return requested
    return "cuda" if ray.cluster_resources().get("GPU", 0) else "cpu"


class DriverCopy:
    """A model the actors run, as the driver holds it: what the run's plan needs (ModelInputs), read without the
    weights. They load here only if the driver must run the model itself: a photo the run-start snapshot called
    known, and the catalog no longer has, is decoded and captioned on the driver (indexer/feed.py)."""

    device = "cpu"

    def __init__(self, inputs: ModelInputs, load: Callable[[], Any]) -> None:
        self.model_id, self.input_side, self.pixel_spec = inputs.model_id, inputs.input_side, inputs.pixel_spec
        self._load = load
        self._model: Any = None

    def _loaded(self) -> Any:
        if self._model is None:
            self._model = self._load()
        return self._model

    def caption(self, images: Sequence[Image.Image]) -> list[str]:
        return self._loaded().caption(images)

    def caption_pixels(self, pixels: Sequence[np.ndarray]) -> list[str]:
        return self._loaded().caption_pixels(pixels)

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        return self._loaded().embed_images(images)

    def embed_pixels(self, pixels: Sequence[np.ndarray]) -> np.ndarray:
        return self._loaded().embed_pixels(pixels)


def _reason(error: Exception) -> str:
    """The last line of a worker's traceback, without the exception's module path: what went wrong there."""
    last = (str(error).strip().splitlines() or [type(error).__name__])[-1]
    kind, _, message = last.partition(": ")
    return message if kind.endswith("ModelLoadError") else f"{kind.rpartition('.')[2]}: {message}"


class CrashLedger:
    """Started, and not finished, attempts per key (a batch, a photo), kept outside the workers that die."""

    def __init__(self) -> None:
        self.open: dict[str, int] = {}

    def begin(self, key: str) -> int:
        self.open[key] = self.open.get(key, 0) + 1
        return self.open[key]

    def end(self, key: str) -> None:
        self.open.pop(key, None)


@dataclass
class WorkerParts:
    """What every actor is built from: the driver's reader, the run's options, and how to load the models."""

    reader: PhotoReader
    options: IndexOptions
    captioner_factory: Callable[[IndexOptions], CaptionModel]
    image_embedder_factory: Callable[[IndexOptions], ImageEmbedderLike] | None


class RayWorker:
    """One actor: the models loaded once; a batch of pending rows -> captioned rows and thumbnail bytes."""

    def __init__(self, parts: WorkerParts, ledger: Any) -> None:
        import ray

        self.ray, self.ledger = ray, ledger
        self.reader = parts.reader
        captioner = parts.captioner_factory(parts.options)
        embedder = parts.image_embedder_factory(parts.options) if parts.image_embedder_factory else None
        self.report = IndexReport()  # the models' time here, sent back with the rows for the run's summary
        self.caption = CaptionStage(captioner, self.report, lambda _point: None, embedder)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        spent = self.report.model_seconds, self.report.image_seconds
        pending = [pickle.loads(row) for row in batch["pending"]]
        key = hashlib.sha1("\0".join(item.path for item in pending).encode("utf-8", "surrogateescape")).hexdigest()
        # Thumbnails are made here but kept by the driver (the data dir need not be mounted on the workers): in a
        # folder of this batch's, gone once they are read back. An actor is stopped, not asked to clean up, so a
        # folder of its own would stay in each worker's /tmp after every run.
        with tempfile.TemporaryDirectory(prefix="captionary-thumbnails-") as thumbnails:
            reader = self._reader_into(thumbnails)
            if self.ray.get(self.ledger.begin.remote(key)) == 1:
                done = self._read_and_caption(reader, pending)
            else:  # this batch stopped a worker before: one photo at a time finds the one that does it
                done = [item for one in pending for item in self._alone(reader, one)]
            thumbnail_bytes = [self._thumbnail(thumbnails, item) for item in done]
        self.ledger.end.remote(key)
        # each row carries its share of the batch's model time (the columns of a batch are rows)
        model = (self.report.model_seconds - spent[0]) / max(1, len(done))
        pixels = (self.report.image_seconds - spent[1]) / max(1, len(done))
        return {
            "prepared": [pickle.dumps(item) for item in done],
            "thumbnail": thumbnail_bytes,
            "model_seconds": [model] * len(done),
            "image_seconds": [pixels] * len(done),
        }

    def _reader_into(self, thumbnails: str) -> PhotoReader:
        settings = self.reader.settings
        if settings.thumbnail_dir is None:
            return self.reader
        return replace(self.reader, settings=replace(settings, thumbnail_dir=thumbnails))

    def _alone(self, reader: PhotoReader, pending: PendingFile) -> list[Prepared]:
        key = "photo\0" + pending.path
        if self.ray.get(self.ledger.begin.remote(key)) > 1:
            from indexer.feed import crash_outcome

            return [crash_outcome(pending, CRASH_REASON)]
        done = self._read_and_caption(reader, [pending])
        self.ray.get(self.ledger.end.remote(key))
        return done

    def _read_and_caption(self, reader: PhotoReader, pending: list[PendingFile]) -> list[Prepared]:
        items = [reader(one) for one in pending]
        self.caption([item for item in items if item.pixels is not None])
        return items

    def _thumbnail(self, thumbnails: str, item: Prepared) -> bytes:
        if not item.content_hash or self.reader.settings.thumbnail_dir is None:
            return b""
        try:
            return thumbnail_path(Path(thumbnails), item.content_hash).read_bytes()
        except OSError:
            return b""


class RayRunner:
    """Stands in for the reader runner of indexer/feed.py: pending files in, captioned Prepared rows out."""

    def __init__(
        self, ray: Any, parts: WorkerParts, thumbnail_dir: Path | None, rows: int, report: IndexReport, actors: int | None = None
    ) -> None:
        self.ray, self.parts, self.thumbnail_dir, self.rows = ray, parts, thumbnail_dir, rows  # rows: the pending ones
        self.report = report  # the run's: the actors' model time is added to it
        self.active = 0  # the feed's reader count: Ray schedules its own
        resources = ray.cluster_resources()
        on_gpus = cluster_device(ray, parts.options.device).startswith("cuda")
        self.gpus = int(resources.get("GPU", 0)) if on_gpus else 0
        cpus = int(resources.get("CPU", 1))
        self.actors = actors or parts.options.workers or self.gpus or max(1, cpus // 4)
        if not self.gpus and parts.options.threads is None:  # a CPU actor is given one core: torch gets that one
            parts = replace(parts, options=replace(parts.options, threads=1))
        self.parts = parts
        self.batch_size = batch_size_for("cuda" if self.gpus else "cpu", parts.options.batch_size)
        self.ledger = ray.remote(num_cpus=0)(CrashLedger).remote()

    def map(self, pending: Iterable[PendingFile], ahead: int) -> Iterator[Prepared]:
        from indexer.ray_source import QUEUED_CHUNKS, Feeder, PendingSource

        ray = self.ray
        chunk = BATCHES_PER_CHUNK * self.batch_size
        # each actor's tasks and the next for it, what the read tasks hold and what waits in the queue
        in_flight = chunk * ((TASKS_PER_ACTOR + 1) * self.actors + READ_TASKS + QUEUED_CHUNKS)
        feeder = Feeder(pending, chunk, in_flight)
        source = PendingSource(feeder.queue, tasks=-(-self.rows // chunk) + 1)  # the last one takes None
        dataset = ray.data.read_datasource(source, num_cpus=0, compute=ray.data.TaskPoolStrategy(size=READ_TASKS))
        try:
            yield from self._captioned(dataset, feeder)
        except BaseException:
            feeder.stop()  # what stopped the run is the error to see, not a later one of the feeder's
            raise
        feeder.close()

    def _captioned(self, dataset: Any, feeder: Feeder) -> Iterator[Prepared]:
        ray = self.ray
        mapped = dataset.map_batches(
            RayWorker,
            fn_constructor_args=(self.parts, self.ledger),
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=self.actors, max_tasks_in_flight_per_actor=TASKS_PER_ACTOR),
            batch_size=self.batch_size,
            num_gpus=1 if self.gpus else 0,
            num_cpus=0 if self.gpus else 1,
            batch_format="numpy",
        )
        # A bounded stream: Ray runs ahead by at most a few batches of small rows; nothing piles up here.
        try:
            for batch in mapped.iter_batches(batch_size=None, prefetch_batches=2, batch_format="numpy"):
                feeder.returned(len(batch["prepared"]))
                self.report.model_seconds += float(sum(batch["model_seconds"]))
                self.report.image_seconds += float(sum(batch["image_seconds"]))
                for row, thumbnail in zip(batch["prepared"], batch["thumbnail"]):
                    item: Prepared = pickle.loads(row)
                    self.report.image_embedded += item.image_vector is not None
                    self._keep_thumbnail(item.content_hash, thumbnail)
                    yield item
        except ray.exceptions.RayActorError as error:
            if not getattr(error, "actor_init_failed", False):
                raise
            raise ModelLoadError(f"a Ray worker could not load the models: {_reason(error)}; {WORKER_MODELS}") from None

    def _keep_thumbnail(self, content_hash: str, data: bytes) -> None:
        if not data or self.thumbnail_dir is None:
            return
        target = thumbnail_path(self.thumbnail_dir, content_hash)
        if target.exists():
            return
        try:
            make_thumbnail_folder(target)
            partial = target.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(data)
            os.replace(partial, target)
        except OSError:
            pass  # a thumbnail is a cache; the app makes it on first view instead

    def close(self) -> None:
        self.ray.kill(self.ledger)
