"""The index run's stages: read (hash, decode, thumbnail) -> caption -> write. Each stage is a small object
with one call, so a runner can be swapped (a fake captioner in tests, a distributed runner later) and a
stage's input and output are plain values (PendingFile, Prepared, Outcome)."""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, TypeVar

import numpy as np

from db.batch import Outcome, PhotoFacts, PhotoMetadata
from db.catalog import Catalog, PendingFile
from db.columns import storable_ns
from db.schema import thumbnail_path
from db.semantic import to_blob
from indexer.caption import CaptionModel
from indexer.imaging import THUMBNAIL_SIDE, ImageReadError, open_photo, open_regular, read_regular_photo, save_thumbnail
from indexer.metadata import read_metadata
from indexer.ocr import OCR_DECODE_SIDE
from indexer.places import place_name
from indexer.report import IndexOptions, IndexReport, Progress

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

T = TypeVar("T")
R = TypeVar("R")


def default_split(device: str, cores: int | None = None) -> tuple[int, int]:
    """(decode workers, torch threads): on a CPU they share the cores, so neither gets all of them."""
    cores = cores or os.cpu_count() or 1
    if device == "cpu":
        workers = max(1, min(4, cores // 2))
        return workers, max(1, cores - workers)
    return max(2, min(8, cores)), max(1, min(4, cores))


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


def paged_prefetch(
    page: Callable[[int], Sequence[tuple[int, str]]],
    function: Callable[[tuple[int, str]], R],
    pool: ThreadPoolExecutor,
    ahead: int,
) -> Iterator[R]:
    """ordered_prefetch over every row of a query read a page at a time, each page after the last id of the
    one before: the passes over contents that lack something (text, image vectors) hold no cursor open."""
    last = 0
    while rows := page(last):
        last = rows[-1][0]
        yield from ordered_prefetch(function, rows, pool, ahead)


@dataclass(frozen=True)
class RunPlan:
    """Decided once, after the model loaded and before any file is read; the decode workers only read it."""

    model_id: str
    batch_size: int
    workers: int
    decode_side: int  # the shorter side a decode keeps: enough for the model and the thumbnail
    model_side: int  # what the models are given: the processors' own resize is then cheap
    image_embedder: str | None  # the id stored with each image vector
    ocr_engine: str | None  # the id stored with each photo's text; None: text is not read this run
    recaption: bool
    thumbnails: bool
    follow_symlinks: bool
    thumbnail_dir: Path


@dataclass
class Prepared:
    """A pending file after the reader: known bytes (by hash), decoded pixels for the model, or a failure."""

    path: str
    root: str
    size: int
    mtime_ns: int
    content_hash: str = ""  # "" until a worker has hashed the bytes
    image: Image.Image | None = None
    facts: PhotoFacts | None = None
    error: str | None = None
    vanished: bool = False
    caption: str | None = None
    image_vector: bytes | None = None
    decode_seconds: float = 0.0
    decode_started: float = 0.0
    sidecars: str = ""
    metadata_only: bool = False
    metadata: PhotoMetadata | None = None
    ocr_text: str | None = None
    ocr_seconds: float = 0.0
    ocr_started: float = 0.0

    def outcome(self) -> Outcome:
        """The writer's input: every field Outcome has, by name (the two classes share their field names)."""
        return Outcome(**{item.name: getattr(self, item.name) for item in fields(Outcome)})


class Reader:
    """Stage 1, run in decode threads: hash the bytes, and decode only those the catalog needs a caption for."""

    def __init__(self, catalog: Catalog, plan: RunPlan, text_reader: TextReaderLike | None = None) -> None:
        self.catalog, self.plan, self.text_reader = catalog, plan, text_reader

    def __call__(self, pending: PendingFile) -> Prepared:
        started = time.perf_counter()
        item = Prepared(pending.path, pending.root, pending.size, pending.mtime_ns, sidecars=pending.sidecars)
        try:
            if pending.metadata_only and self._metadata_only(item):
                return item
            with read_regular_photo(pending.path, self.plan.follow_symlinks) as (stat, content_hash, source):
                # Record the stat of the bytes we actually read, so a file written meanwhile is redone next time.
                item.size, item.mtime_ns, item.content_hash = stat.st_size, stat.st_mtime_ns, content_hash
                item.metadata = read_metadata(source, pending.path, pending.sidecars, self.plan.follow_symlinks)
                known = self.catalog.lookup_hash(content_hash)
                if known is None or (self.plan.recaption and not known[1] and known[0] != self.plan.model_id):
                    self._decode(item, source)
        except FileNotFoundError:
            item.vanished = True  # deleted since the scan; the next run's sweep settles it
        except ImageReadError as error:
            item.error, item.image = str(error), None
        except OSError as error:
            item.error = f"cannot read: {error.strerror or error}"
        item.decode_started, item.decode_seconds = started, time.perf_counter() - started
        return item

    def _metadata_only(self, item: Prepared) -> bool:
        """Read only the metadata of a photo whose bytes the catalog has (its sidecars changed, or it was
        indexed before metadata was read): Pillow reads the header, nothing is hashed or decoded. A photo
        changed since the scan is left for the next run, which sees it changed (no model is loaded for a run
        of sidecar edits, so this one could not caption it)."""
        with open_regular(item.path, self.plan.follow_symlinks) as (handle, stat):
            if (stat.st_size, storable_ns(stat.st_mtime_ns)) != (item.size, item.mtime_ns):
                item.vanished = True  # written since the scan: nothing is recorded, the next run reads it whole
                return True
            item.metadata = read_metadata(handle, item.path, item.sidecars, self.plan.follow_symlinks)
        item.metadata_only = True
        return True

    def _decode(self, item: Prepared, source: bytes | BinaryIO) -> None:
        """Decode once for the model and the app's thumbnail (the same decode makes both)."""
        decoded = open_photo(source, self.plan.decode_side, name=item.path)
        item.facts = decoded.info
        if self.plan.thumbnails:
            target = thumbnail_path(self.plan.thumbnail_dir, item.content_hash)
            if not target.exists():
                try:
                    save_thumbnail(decoded.image, target)
                except OSError:
                    pass  # a thumbnail is a cache; the app makes it on first view instead
        if self.text_reader is not None:  # on this decode, before it shrinks for the model
            started = time.perf_counter()
            item.ocr_text = self.text_reader.read(decoded.image)
            item.ocr_started, item.ocr_seconds = started, time.perf_counter() - started
        item.image = reduce_for_model(decoded.image, self.plan.model_side)


class NoModel:
    """The captioner of a run with only metadata to re-read: loading a model there would cost seconds for nothing."""

    input_side = 0

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id

    def caption(self, images: Sequence[Image.Image]) -> list[str]:
        raise AssertionError("a metadata-only run decodes no photo")


class TextReaderLike(Protocol):
    engine_id: str

    def read(self, image: Image.Image) -> str: ...


class ImageEmbedderLike(Protocol):
    model_id: str
    input_side: int

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray: ...


class CaptionStage:
    """Stage 2: one model call per batch (and one image-embedder call, on the same pixels, when search by
    pixels is on); the pixels are freed as soon as the models are done with them."""

    def __init__(
        self,
        captioner: CaptionModel,
        report: IndexReport,
        checkpoint: Callable[[str], None],
        image_embedder: ImageEmbedderLike | None = None,
    ) -> None:
        self.captioner, self.report, self.checkpoint = captioner, report, checkpoint
        self.image_embedder = image_embedder

    def __call__(self, batch: list[Prepared]) -> list[Prepared]:
        if not batch:
            return []
        started = time.perf_counter()
        images = [item.image for item in batch if item.image is not None]
        assert len(images) == len(batch)  # only decoded items are sent to the model
        captions = self.captioner.caption(images)
        self.report.model_seconds += time.perf_counter() - started
        if self.image_embedder is not None:
            started = time.perf_counter()
            for item, vector in zip(batch, self.image_embedder.embed_images(images)):
                item.image_vector = to_blob(vector)
            self.report.image_seconds += time.perf_counter() - started
            self.report.image_embedded += len(batch)
        for item, caption in zip(batch, captions):
            item.caption, item.image = caption, None
        self.checkpoint("caption")
        return batch


class Writer:
    """Stage 3: one catalog transaction per batch; returns the ids of the contents whose caption it wrote."""

    def __init__(self, catalog: Catalog, run_id: int, plan: RunPlan, report: IndexReport, progress: Progress) -> None:
        self.catalog, self.run_id, self.plan, self.report, self.progress = catalog, run_id, plan, report, progress

    def __call__(self, batch: list[Prepared]) -> list[int]:
        started = time.perf_counter()
        for item in batch:
            item.metadata = with_place_name(item.metadata)
        outcomes = [item.outcome() for item in batch]
        recorded = self.catalog.record_batch(
            outcomes, self.run_id, self.plan.model_id, self.plan.image_embedder, self.plan.ocr_engine
        )
        self.report.captioned += len(recorded.captioned)
        self.report.reused += recorded.reused
        self.report.failed += len(recorded.failures)
        self.report.failures.extend(recorded.failures)
        self.report.metadata_read += recorded.metadata_read
        texts = [item.ocr_text for item in batch if item.ocr_text is not None]
        self.report.ocr_read += len(texts)
        self.report.ocr_with_text += sum(1 for text in texts if text)
        for item in batch:
            if item.ocr_text is not None:
                self.report.ocr_time.add(item.ocr_started, item.ocr_seconds)
        self.report.metadata_problems.extend(recorded.metadata_problems)
        self.report.store_seconds += time.perf_counter() - started
        self.progress.advance(len(batch))
        return recorded.captioned


def with_place_name(metadata: PhotoMetadata | None) -> PhotoMetadata | None:
    """A place typed in the file wins; else the GPS position is named (indexer/places.py)."""
    if metadata is None or metadata.place is not None or metadata.latitude is None or metadata.longitude is None:
        return metadata
    return replace(metadata, place=place_name(metadata.latitude, metadata.longitude))


def make_plan(
    options: IndexOptions,
    captioner: CaptionModel,
    thumbnail_dir: Path,
    image_embedder: ImageEmbedderLike | None = None,
    text_reader: TextReaderLike | None = None,
) -> RunPlan:
    from indexer.settings import batch_size_for

    device = getattr(captioner, "device", "cpu")
    model_side = max(captioner.input_side, image_embedder.input_side if image_embedder is not None else 0)
    return RunPlan(
        model_id=options.caption_source,
        batch_size=batch_size_for(device, options.batch_size),
        workers=options.workers or default_split(device)[0],
        # One decode serves every use: at the larger of what the models, the thumbnail and OCR need.
        decode_side=max(model_side, THUMBNAIL_SIDE if options.thumbnails else 0, OCR_DECODE_SIDE if text_reader else 0),
        model_side=model_side,
        image_embedder=image_embedder.model_id if image_embedder is not None else None,
        ocr_engine=text_reader.engine_id if text_reader is not None else None,
        recaption=options.recaption,
        thumbnails=options.thumbnails,
        follow_symlinks=options.follow_symlinks,
        thumbnail_dir=thumbnail_dir,
    )


def reduce_for_model(image: Image.Image, side: int) -> Image.Image:
    """Shrink so the shorter side is about `side`; the processor's own resize is then cheap."""
    from PIL import Image as PILImage

    shorter = min(image.size)
    if shorter <= side * 1.5:
        return image
    scale = side / shorter
    return image.resize(
        (max(side, round(image.width * scale)), max(side, round(image.height * scale))), PILImage.Resampling.BILINEAR
    )
