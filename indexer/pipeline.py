"""An index run: scan the roots against the catalog, then feed the queue through the stages
(indexer/feed.py: read -> caption -> write), embed the new captions, and keep full text in step."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from db.errors import ModelLoadError
from db.formats import UNREADABLE
from db.store import Store
from indexer.background_sync import FULLTEXT_SYNC_SECONDS, BackgroundSync
from indexer.crawl import crawl, distinct_roots, is_excluded_below
from indexer.feed import Feed, uses_processes
from indexer.known_first import settle_known
from indexer.missing_roots import identity, present_roots, settle_moved_roots
from indexer.models.captioner import CaptionModel, caption_inputs
from indexer.models.families import Family, refuse_unwanted_prompt
from indexer.models.image_embedder import image_inputs
from indexer.models.loading import cpu_turn
from indexer.models.search_encoders import enable_embeddings
from indexer.ocr_pass import read_missing_text
from indexer.options import IndexOptions
from indexer.pixels import ModelInputs
from indexer.reading import KnownContents, PhotoReader, Prepared, TextReaderLike
from indexer.report import IndexReport, NoProgress, Progress
from indexer.settings import Settings
from indexer.stages import CaptionStage, ImageEmbedderLike, NoModel, Writer, default_split, make_plan

if TYPE_CHECKING:  # pragma: no cover
    from indexer.ray_run import RayRunner

MASS_REMOVAL_SHARE = 0.5  # a run that would remove more than this share of a root's photos removes none


class Indexer:
    """One index run over some roots; `run()` does it all under the data dir's writer lock."""

    def __init__(
        self,
        store: Store,
        roots: Sequence[str | Path],
        options: IndexOptions,
        captioner_factory: Callable[[IndexOptions], CaptionModel],
        progress: Progress | None = None,
        image_embedder_factory: Callable[[IndexOptions], ImageEmbedderLike] | None = None,
        text_reader_factory: Callable[[IndexOptions], TextReaderLike] | None = None,
    ) -> None:
        self.store = store
        self.text_reader_factory = text_reader_factory or load_text_reader
        self.text_reader: TextReaderLike | None = None
        self.ocr = False
        self.image_embedder_factory = image_embedder_factory or load_image_embedder
        self.catalog = store.catalog
        # Each folder once, however it was spelled (`a`, `./a/`, a link to it): crawled twice, its skipped files
        # were counted and listed twice.
        self.roots = distinct_roots(roots)
        self.options = options
        self.captioner_factory = captioner_factory
        self.progress = progress or NoProgress()
        self.report = IndexReport()
        self.source = ""  # the run's caption source key (indexer/models/families.py CaptionSettings.key)
        self.background_sync = False
        # After a run that did not finish, even a few photos are read in processes: if one of them killed that run,
        # it now kills only its reader, and is recorded as failed (indexer/workers.py).
        self.isolate = False
        self.ray: Any = None  # the Ray module once connected (--ray), else None
        self.folders: dict[str, str] = {}  # every folder the scan entered, by identity (indexer/missing_roots.py)

    def run(self) -> IndexReport:
        # A root not found is skipped while others are there (a disk not mounted), and named.
        self.roots = present_roots(self.roots, os.path.realpath(self.store.data_dir), self.report)
        if self.options.ray:  # before the lock and the scan: an unreachable cluster changes nothing
            from indexer.ray_run import check_roots, connect

            self.ray = connect(self.options.ray)
            check_roots(self.ray, self.roots)
        lock = self.store.writer_lock()
        started = time.perf_counter()
        try:
            self.store.recover_fulltext()
            self.isolate = not self.catalog.last_run_finished()
            run_id = self.catalog.begin_run(self.roots, {root: identity(root) for root in self.roots})
            self.ocr = self.catalog.ocr_setting(self.options.ocr)
            self.options = self.options.as_library_captions(self.store.caption_source())
            for root in self.roots:
                self._scan_root(root, run_id)
            self.source = self.options.caption_source(self._speed())
            if self.options.recaption:
                # The scan counted these files unchanged (those not queued already); now they are to be captioned.
                queued = self.catalog.count_pending()
                self.catalog.queue_recaptions(self.source)
                self.report.unchanged -= self.catalog.count_pending() - queued
            try:
                self._process_pending(run_id)
            except ModelLoadError:
                self.catalog.forget_roots_never_indexed(self.roots)
                raise
            settle_moved_roots(self.catalog, self.roots, run_id, self.report, self.folders)  # gone, its photos here
            if self.ocr:  # photos indexed before OCR was on, or whose text a killed run did not store
                workers = self.options.workers or default_split(self.options.device)[0]
                read_missing_text(self.store, self._text_reader, workers, self.report, self.options.follow_symlinks)
            self._embed()  # leftovers: a new embedder, or a run killed before it embedded
            self.catalog.finish_run(self.roots)
            self.store.refuse_if_gone()  # before the sync, which would make the search index again where it was
            self.store.sync_fulltext()
            self.report.other_model = self.catalog.count_other_model(self.source)
            if self.options.image_embedder is not None and not self.report.warnings:
                self.report.without_image_vectors = self.catalog.count_without_image_vectors(self.options.image_embedder)
        finally:
            self.report.seconds = time.perf_counter() - started
            lock.release()
        return self.report

    # -- scan: stat every file, compare with the catalog, mark what is seen, queue what changed --

    def _scan_root(self, root: str, run_id: int) -> None:
        unreadable: list[str] = []
        skipped: list[tuple[str, str]] = []  # (path, kind): found, not read, said so (db/formats.py)

        def remember_error(path: str, error: OSError) -> None:
            if path not in unreadable:
                unreadable.append(path)
                reason = f"{UNREADABLE}: {error.strerror or error}"
                skipped.append((path, reason))  # stats lists it with the others not read
                self.report.unreadable_folders.append((path, reason))

        with self.catalog.scanning(root, run_id) as scan:
            for folder, records in crawl(
                root,
                self.options.excludes,
                self.options.follow_symlinks,
                remember_error,
                skip=[self.store.data_dir],
                on_skipped=lambda path, kind: skipped.append((path, kind)),
                folders=self.folders,
            ):
                self.report.unchanged += scan.folder(folder, [(r.path, r.size, r.mtime_ns, r.sidecars) for r in records])
                self.progress.scanned(len(records))
            self.report.add_standing_failures(scan.standing_failures)
        self.catalog.record_skipped(root, skipped)
        self.report.skipped.extend(skipped)
        self._sweep(root, run_id, unreadable)

    def _sweep(self, root: str, run_id: int, unreadable: Sequence[str]) -> None:
        """Remove what the scan did not see under this root: those files are gone."""
        # A folder we could not read is not evidence that its photos are gone.
        protected = tuple(folder.rstrip(os.sep) + os.sep for folder in unreadable)
        gone = [
            (file_id, path)
            for file_id, path in self.catalog.unseen(root, run_id)
            if not (protected and path.startswith(protected))
        ]
        # Files the person excluded are removed as asked; only the others can mean an unmounted disk.
        vanished = sum(not is_excluded_below(path, root, self.options.excludes) for _, path in gone)
        if vanished and not self.options.allow_removal:
            known = self.catalog.count_files(root)
            if vanished > known * MASS_REMOVAL_SHARE:
                # An unmounted disk is an empty folder: losing most of a root is held back until asked for.
                self.report.held_back.append((root, vanished, known))
                return
        self.catalog.remove_files([file_id for file_id, _ in gone])
        self.report.removed += len(gone)

    # -- process: read in workers, caption in batches, write --------------------------------------

    def _process_pending(self, run_id: int) -> None:
        known: KnownContents | None = None
        if self.catalog.count_pending(metadata_only=False) and not (self.options.recaption or self.ray):
            # Moves, renames and copies of known photos are settled before any model loads (indexer/known_first.py).
            # In this process even after a run that did not finish: it parses only bytes a reader parsed before.
            known = settle_known(
                self.catalog, self.options, self.source, self.store.thumbnail_dir, run_id, self.report, self.progress
            )
        total = self.catalog.count_pending()
        if not total:
            self.progress.start(0)
            return
        # The model loads only once there is something to caption: an unchanged tree, or one where only
        # sidecars changed, never pays for it.
        to_read = self.catalog.count_pending(metadata_only=False)
        if to_read:
            loading = time.perf_counter()
            self.progress.loading(self.options.model)
            if self.ray is not None:
                inputs, family = caption_inputs(self.options.model, self._settings())
                speed = self._cluster_speed(family)
                captioner: CaptionModel = self._driver_copy(inputs, self.captioner_factory, speed)
            else:
                captioner = self.captioner_factory(self.options)
                speed = getattr(captioner, "speed", None) or self.options.speed or "exact"
            image_embedder = self._image_embedder()
            if self.options.embeddings:  # now: a caption embedder that cannot load stops the run before its first batch
                self.store.embedders.load()
            text_reader = self._text_reader() if self.ocr else None
            self.source = self.options.caption_source(speed)
            self.catalog.remember_caption_run(self.source, speed)
            self.report.load_seconds = time.perf_counter() - loading
        else:
            captioner, image_embedder, text_reader = NoModel(self.source), None, None
        self.progress.start(total)  # drawn once the models are loaded: a "loading" line never lands on it
        plan = make_plan(self.options, self.source, captioner, self.store.thumbnail_dir, image_embedder, text_reader)
        # Bytes the catalog already has need no decode; the readers are told before they start (no database
        # connection travels to them), and the feed asks the catalog again before captioning.
        if known is None:  # without --recaption any model's caption settles a hash: the first pass's set serves
            known = KnownContents(self.catalog.settled_hashes(plan.caption_source, plan.recaption) if to_read else ())
        reader = PhotoReader(plan.read, known, text_reader)
        caption = CaptionStage(captioner, self.report, self.store.checkpoint, image_embedder)
        write = Writer(self.catalog, run_id, plan, self.report, self.progress)
        last_sync = time.perf_counter()

        def write_and_embed(batch: list[Prepared]) -> None:  # on the writer thread
            nonlocal last_sync
            self._embed(write(batch))  # the captions just written, in one batch
            self.store.refuse_if_gone()
            if not self.background_sync and time.perf_counter() - last_sync >= FULLTEXT_SYNC_SECONDS:
                self._sync()
                last_sync = time.perf_counter()

        set_threads = getattr(captioner, "set_threads", lambda _threads: None)
        feed = Feed(self.catalog, plan, reader, caption, write_and_embed, self.report, set_threads)
        cluster = self._cluster(reader, speed, image_embedder, total) if self.ray is not None and to_read else None
        # A large run reads in processes and keeps full text in step from another one (indexer/background_sync.py).
        self.background_sync = uses_processes(to_read)
        with BackgroundSync(self.store.data_dir) if self.background_sync else nullcontext():
            feed.run(self.catalog.pending(), processes=self.background_sync or self.isolate, cluster=cluster)

    def _cluster(self, reader: PhotoReader, speed: str, image_embedder: ImageEmbedderLike | None, rows: int) -> RayRunner:
        """The read and caption stages on Ray's actors, which load the models as this process did, at its speed."""
        from indexer.ray_run import RayRunner, WorkerParts

        embedder_factory = self.image_embedder_factory if image_embedder is not None else None
        parts = WorkerParts(reader, replace(self.options, speed=speed), self.captioner_factory, embedder_factory)
        thumbnails = self.store.thumbnail_dir if self.options.thumbnails else None
        return RayRunner(self.ray, parts, thumbnails, rows=rows, report=self.report)

    def _speed(self) -> str:
        """The run's caption speed before its model loads: as asked; for --recaption the device's default (the
        queue depends on it); else what the library's last captioning run used. The model, once loaded, says."""
        if self.options.speed:
            return self.options.speed
        if self.options.recaption:
            from indexer.models.families import default_speed

            return default_speed(self.options.model, self._caption_device())
        return self.catalog.caption_speed() or "exact"

    def _driver_copy(self, inputs: ModelInputs, factory: Any, speed: str | None = None) -> Any:
        """On Ray the driver runs no model: its copy holds what the plan needs (input sizes, pixel specs); the
        weights load, on this machine's CPU, only for a photo the driver must caption itself."""
        from indexer.ray_run import DriverCopy

        here = replace(self.options, device="cpu", speed=speed or self.options.speed)  # --device: the actors'
        return DriverCopy(inputs, lambda: factory(here))

    def _settings(self) -> Settings:
        return self.options.settings or Settings.resolve()

    def _caption_device(self) -> str:
        """Where this run's captions are made: on the Ray actors' device with --ray, else on this machine's."""
        if self.ray is not None:
            from indexer.ray_run import cluster_device

            return cluster_device(self.ray, self.options.device)
        from indexer.models.loading import pick_device

        return pick_device(self.options.device)

    def _cluster_speed(self, family: Family) -> str:
        """The actors' speed: as asked, else their device's default for the model (exact on a GPU, where int8
        cannot run; int8 for vit-gpt2 on CPUs), refused here in one line if their device cannot run it."""
        from indexer.models.families import check_speed, speed_for

        device = self._caption_device()
        speed = self.options.speed or speed_for(family, device)
        check_speed(speed, device)
        return speed

    def _text_reader(self) -> TextReaderLike:
        if self.text_reader is None:  # shipped with rapidocr: nothing to download, loads in milliseconds
            self.text_reader = self.text_reader_factory(self.options)
        return self.text_reader

    def _image_embedder(self) -> ImageEmbedderLike | None:
        """The image embedder, if search by pixels is on. The default one failing to load (offline on a first
        run) costs only search by pixels, said in one line; one the person named is an error."""
        if self.options.image_embedder is None:
            return None
        self.progress.loading(self.options.image_embedder)
        try:
            if self.ray is not None:
                inputs = image_inputs(self.options.image_embedder, self._settings())
                return self._driver_copy(inputs, self.image_embedder_factory)
            return self.image_embedder_factory(self.options)
        except ModelLoadError as error:
            if self.options.image_embedder_required:
                raise
            self.report.warnings.append(
                f"search by pixels is off for this run: {error.reason}. Captions and words work as usual; to turn "
                "it on, run once with network access or pass --image-embedder PATH (--image-embedder none stops trying)"
            )
            return None

    def _embed(self, content_ids: Sequence[int] | None = None) -> None:
        """Embed the given contents' captions, or (None) every caption without a current embedding.

        During a run only the batch just written is named: looking for "any caption without an
        embedding" scans the whole contents table once per batch (bench/growth.py)."""
        if self.options.embeddings and (content_ids is None or content_ids):
            with cpu_turn(self.options.device):  # the clock starts once the model's batch has let go of the CPU
                started = time.perf_counter()
                self.report.embedded += self.store.embed_pending(content_ids=content_ids)
                self.report.embed_seconds += time.perf_counter() - started

    def _sync(self) -> None:
        started = time.perf_counter()
        self.store.sync_fulltext()
        self.report.store_seconds += time.perf_counter() - started


def index_roots(
    store: Store,
    roots: Sequence[str | Path],
    options: IndexOptions,
    captioner_factory: Callable[[IndexOptions], CaptionModel] | None = None,
    progress: Progress | None = None,
    image_embedder_factory: Callable[[IndexOptions], ImageEmbedderLike] | None = None,
    text_reader_factory: Callable[[IndexOptions], TextReaderLike] | None = None,
) -> IndexReport:
    """Index the roots into the store: the one function the CLI and the app call."""
    refuse_unwanted_prompt(options.model, options.prompt)
    if options.embeddings and store.embedder_id is None:
        # Captions are embedded where they are captioned: on the GPU when there is one.
        enable_embeddings(store, options.embedder, options.threads, options.device)
    # The library remembers the image embedder a person named, once a run with it succeeds; `none` at once: it
    # loads nothing that could fail, and a first run stopped early would leave the next to load (or download) the default.
    chosen = store.catalog.image_embedder_setting(options.image_embedder, options.image_embedder_required)
    if options.image_embedder_required and chosen is None:
        store.catalog.remember_image_embedder(None)
    options = replace(options, image_embedder=chosen)
    indexer = Indexer(
        store, roots, options, captioner_factory or load_captioner, progress, image_embedder_factory, text_reader_factory
    )
    report = indexer.run()
    if options.image_embedder_required:
        store.catalog.remember_image_embedder(options.image_embedder)
    return report


def load_captioner(options: IndexOptions) -> CaptionModel:
    """Load the configured model with a deliberate split of the cores between torch and decoding."""
    from indexer.models.captioner import Captioner
    from indexer.models.loading import pick_device

    device = pick_device(options.device)
    threads = options.threads or default_split(device)[1]
    return Captioner(
        options.model,
        device,
        threads,
        settings=options.settings,
        prompt=options.prompt,
        max_new_tokens=options.max_new_tokens,
        speed=options.speed,
    )


def load_text_reader(options: IndexOptions) -> TextReaderLike:
    """The OCR engine, with the threads the split gives torch (OCR runs in the decode workers, one at a time)."""
    from indexer.models.loading import pick_device
    from indexer.models.ocr import TextReader

    return TextReader(threads=options.threads or default_split(pick_device(options.device))[1])


def load_image_embedder(options: IndexOptions) -> ImageEmbedderLike:
    """The run's image embedder, on the captioner's device, with the torch threads the split gives it."""
    from indexer.models.image_embedder import ImageEmbedder
    from indexer.models.loading import pick_device

    assert options.image_embedder is not None
    device = pick_device(options.device)
    threads = options.threads or default_split(device)[1]
    return ImageEmbedder(options.image_embedder, device=device, threads=threads, settings=options.settings)
