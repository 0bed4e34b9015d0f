"""The index run's stages: read (indexer/reading.py: hash, metadata, decode, thumbnail) -> caption -> write.
Each stage is a small object with one call, so a runner can be swapped (a fake captioner in tests, reader
processes, a distributed runner) and a stage's input and output are plain values (PendingFile, Prepared,
Outcome)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from db.catalog import Catalog
from db.records import PhotoMetadata
from db.semantic import to_blob
from indexer.models.captioner import CaptionModel
from indexer.models.ocr import OCR_DECODE_SIDE
from indexer.options import IndexOptions
from indexer.pixels import PixelSpec
from indexer.places import place_name
from indexer.reading import Prepared, ReadSettings, TextReaderLike
from indexer.report import IndexReport, Progress
from indexer.thumbnails import THUMBNAIL_SIDE

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

R = TypeVar("R")


def default_split(device: str, cores: int | None = None) -> tuple[int, int]:
    """(readers, torch threads) before anything is measured. On a CPU the model gets every core and one reader
    process decodes beside it (indexer/feed.py then moves cores to whichever stage costs more); on a GPU the
    readers get the cores and torch a few threads for what stays on the CPU."""
    cores = cores or os.cpu_count() or 1
    if device == "cpu":
        return max(1, cores // 4), cores
    return max(2, cores - 1), max(1, min(4, cores))


@dataclass(frozen=True)
class RunPlan:
    """Decided once, after the model loaded and before any file is read."""

    caption_source: str  # what each caption records as its source: the model and any non-default settings
    batch_size: int
    workers: int | None  # reader processes (or threads) as asked; None: the run's core split decides
    threads: int | None  # torch threads as asked; None: the core split decides
    device: str
    read: ReadSettings  # what every reader is told
    image_embedder: str | None  # the id stored with each image vector
    ocr_engine: str | None  # the id stored with each photo's text; None: text is not read this run
    recaption: bool


class NoModel:
    """The captioner of a run with only metadata to re-read: loading a model there would cost seconds for nothing."""

    input_side = 0

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id

    def caption(self, images: Sequence[Image.Image]) -> list[str]:
        raise AssertionError("a metadata-only run decodes no photo")


class ImageEmbedderLike(Protocol):
    model_id: str
    input_side: int

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray: ...


def pixel_spec(model: Any) -> PixelSpec | None:
    """The model's PixelSpec when it takes fitted uint8 batches (caption_pixels / embed_pixels), else None."""
    return getattr(model, "pixel_spec", None)


def _pictures(arrays: Sequence[np.ndarray]) -> list[Image.Image]:
    from PIL import Image as PILImage

    return [PILImage.fromarray(array) for array in arrays]


class CaptionStage:
    """Stage 2: one model call per batch (and one image-embedder call, on the same decode, when search by
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
        assert all(item.pixels is not None for item in batch)  # only decoded items are sent to the model
        captions = self._caption([item.pixels[0] for item in batch if item.pixels is not None])
        self.report.model_seconds += time.perf_counter() - started
        if self.image_embedder is not None:
            started = time.perf_counter()
            vectors = self._embed([item.pixels[1] for item in batch if item.pixels is not None])
            for item, vector in zip(batch, vectors):
                item.image_vector = to_blob(vector)
            self.report.image_seconds += time.perf_counter() - started
            self.report.image_embedded += len(batch)
        for item, caption in zip(batch, captions):
            item.caption, item.pixels = caption, None
        self.checkpoint("caption")
        return batch

    def _caption(self, arrays: list[np.ndarray]) -> list[str]:
        if pixel_spec(self.captioner) is not None:
            return self.captioner.caption_pixels(arrays)  # type: ignore[attr-defined]
        return self.captioner.caption(_pictures(arrays))

    def _embed(self, arrays: list[np.ndarray]) -> np.ndarray:
        assert self.image_embedder is not None
        if pixel_spec(self.image_embedder) is not None:
            return self.image_embedder.embed_pixels(arrays)  # type: ignore[attr-defined]
        return self.image_embedder.embed_images(_pictures(arrays))


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
            outcomes, self.run_id, self.plan.caption_source, self.plan.image_embedder, self.plan.ocr_engine
        )
        self.report.captioned += len(recorded.captioned)
        self.report.reused += recorded.reused
        self.report.moved += recorded.moved
        self.report.failed += len(recorded.failures)
        self.report.failures.extend(recorded.failures)
        self.report.metadata_read += recorded.metadata_read
        self.report.vanished += recorded.vanished
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


def free_gpu_bytes(device: str) -> int | None:
    if device != "cuda":
        return None
    import torch

    return int(torch.cuda.mem_get_info()[0])


def make_plan(
    options: IndexOptions,
    source: str,
    captioner: CaptionModel,
    thumbnail_dir: Path,
    image_embedder: ImageEmbedderLike | None = None,
    text_reader: TextReaderLike | None = None,
) -> RunPlan:
    from indexer.settings import batch_size_for

    device = getattr(captioner, "device", "cpu")
    model_side = max(captioner.input_side, image_embedder.input_side if image_embedder is not None else 0)
    specs = (pixel_spec(captioner),) + ((pixel_spec(image_embedder),) if image_embedder is not None else ())
    read = ReadSettings(
        follow_symlinks=options.follow_symlinks,
        # One decode serves every use: at the larger of what the models, the thumbnail and OCR need.
        decode_side=max(model_side, THUMBNAIL_SIDE if options.thumbnails else 0, OCR_DECODE_SIDE if text_reader else 0),
        model_side=model_side,
        specs=specs,
        thumbnail_dir=str(thumbnail_dir) if options.thumbnails else None,
    )
    return RunPlan(
        caption_source=source,
        batch_size=batch_size_for(device, options.batch_size, free_gpu_bytes(device)),
        workers=options.workers,
        threads=options.threads,
        device=device,
        read=read,
        image_embedder=image_embedder.model_id if image_embedder is not None else None,
        ocr_engine=text_reader.engine_id if text_reader is not None else None,
        recaption=options.recaption,
    )
