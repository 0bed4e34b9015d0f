"""Stage 1 of an index run as a plain picklable callable: a pending file -> its hash and metadata, and, when its
bytes are new, a thumbnail, its text (OCR) and the pixels each model takes.

PhotoReader holds no database connection and no model: it runs in reader processes (indexer/workers.py), in
threads for a small run, or in a cluster worker, and what it returns is plain values. Whether bytes are new is
judged against a snapshot of the catalog's hashes taken when the run starts (KnownContents); the run itself
checks again before captioning (indexer/pipeline.py), so the snapshot only saves decodes."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

import numpy as np

from db.records import Outcome, PendingFile, PhotoFacts, PhotoMetadata, storable_ns, thumbnail_path
from indexer.imaging import ImageReadError, for_model, open_photo, open_regular, read_regular_photo
from indexer.metadata import read_metadata
from indexer.pixels import PixelSpec, fit
from indexer.thumbnails import save_thumbnail

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image


# The CPU a reader process may spend on one photo (hash, metadata, decode, thumbnail, text) before it is stopped
# and the photo recorded as failed: a minute, and a second more for each 4 MB of the file (a 1 GB TIFF). Ordinary
# photos take a small fraction of that (bench/hostile_reads.py); files built to make a decoder crawl take more.
READ_SECONDS = 60.0
READ_BYTES_A_SECOND = 4 << 20


def reading_deadline(pending: PendingFile) -> float:
    return READ_SECONDS + pending.size / READ_BYTES_A_SECOND


class TextReaderLike(Protocol):
    engine_id: str

    def read(self, image: Image.Image) -> str: ...


@dataclass
class Prepared:
    """A pending file after the reader: known bytes (by hash), pixels for the models, or a failure."""

    path: str
    root: str
    size: int
    mtime_ns: int
    content_hash: str = ""  # "" until a worker has hashed the bytes
    # One entry per model of the run (captioner, image embedder): a PixelSpec's fitted uint8 array, or the
    # photo reduced for the model when it has no spec. None: not decoded (known bytes, or a failure).
    pixels: tuple[np.ndarray, ...] | None = None
    facts: PhotoFacts | None = None
    error: str | None = None
    vanished: bool = False
    caption: str | None = None
    image_vector: bytes | None = None
    decode_started: float = 0.0  # time.perf_counter(), system-wide on Linux: spans from readers compare
    decode_seconds: float = 0.0  # wall seconds the reader spent on this file
    decode_cpu: float = 0.0  # CPU seconds of them (indexer/feed.py CoreSplit)
    sidecars: str = ""
    metadata_only: bool = False
    metadata: PhotoMetadata | None = None
    ocr_text: str | None = None
    ocr_seconds: float = 0.0
    ocr_started: float = 0.0

    @property
    def nothing_to_caption(self) -> bool:
        """A failure, a file gone since the scan, a metadata-only read, or bytes never hashed: written as it is."""
        return self.error is not None or self.vanished or self.metadata_only or not self.content_hash

    def outcome(self) -> Outcome:
        """The writer's input: every field Outcome has, by name (the two classes share their field names)."""
        return Outcome(**{item.name: getattr(self, item.name) for item in fields(Outcome)})


@dataclass(frozen=True)
class ReadSettings:
    """Decided once per run, before any file is read; everything a reader process needs."""

    follow_symlinks: bool
    decode_side: int  # the shorter side a decode keeps: enough for the models, the thumbnail and OCR
    model_side: int  # the photo reduced for models that have no PixelSpec
    specs: tuple[PixelSpec | None, ...]  # one per model of the run
    thumbnail_dir: str | None  # None: no thumbnails


class KnownContents:
    """The hashes whose bytes need no model in this run, as sorted 64-bit prefixes: 8 MB for a million photos,
    small enough to give every reader process. A prefix collision only costs a decode the run does itself."""

    def __init__(self, hashes: Iterable[str] = ()) -> None:
        self.prefixes = np.unique(np.fromiter((int(value[:16], 16) for value in hashes if value), dtype=np.uint64))

    def __contains__(self, content_hash: str) -> bool:
        if not self.prefixes.size or not content_hash:
            return False
        key = np.uint64(int(content_hash[:16], 16))
        index = int(np.searchsorted(self.prefixes, key))
        return index < self.prefixes.size and self.prefixes[index] == key

    def __len__(self) -> int:
        return int(self.prefixes.size)


@dataclass
class PhotoReader:
    """Read one pending file; every failure is a reason on the result, never an exception."""

    settings: ReadSettings
    known: KnownContents = field(default_factory=KnownContents)
    # The OCR engine (None: text is not read). Pickled to a reader process, indexer.models.ocr.TextReader builds its
    # engine there anew; an engine that cannot be pickled keeps the readers in this process's threads.
    text_reader: TextReaderLike | None = None
    # False: bytes not in `known` are hashed and left undecoded (a run's first pass, before any model has loaded,
    # indexer/known_first.py).
    decode_new: bool = True

    def __call__(self, pending: PendingFile, force_decode: bool = False) -> Prepared:
        started, cpu = time.perf_counter(), time.thread_time()
        item = Prepared(pending.path, pending.root, pending.size, pending.mtime_ns, sidecars=pending.sidecars)
        try:
            if pending.metadata_only:
                self._metadata_only(item)
            else:
                with read_regular_photo(pending.path, self.settings.follow_symlinks) as (stat, content_hash, source):
                    # Record the stat of the bytes we actually read, so a file written meanwhile is redone next time.
                    item.size, item.mtime_ns, item.content_hash = stat.st_size, stat.st_mtime_ns, content_hash
                    new = content_hash not in self.known
                    # Bytes never read before are parsed only by the run's readers, whose processes can be stopped.
                    if self.decode_new or not new:
                        item.metadata = read_metadata(source, pending.path, pending.sidecars, self.settings.follow_symlinks)
                    if force_decode or (self.decode_new and new):
                        self._decode(item, source)
        except FileNotFoundError:
            item.vanished = True  # deleted since the scan; the next run's sweep settles it
        except ImageReadError as error:
            item.error, item.pixels = str(error), None
        except OSError as error:
            item.error = f"cannot read: {error.strerror or error}"
        item.decode_started, item.decode_seconds = started, time.perf_counter() - started
        item.decode_cpu = time.thread_time() - cpu
        return item

    def _metadata_only(self, item: Prepared) -> None:
        """Read only the metadata of a photo whose bytes the catalog has (its sidecars changed, or it was
        indexed before metadata was read): Pillow reads the header, nothing is hashed or decoded. A photo
        changed since the scan is left for the next run, which sees it changed (no model is loaded for a run
        of sidecar edits, so this one could not caption it)."""
        with open_regular(item.path, self.settings.follow_symlinks) as (handle, stat):
            if (stat.st_size, storable_ns(stat.st_mtime_ns)) != (item.size, item.mtime_ns):
                item.vanished = True  # written since the scan: nothing is recorded, the next run reads it whole
                return
            item.metadata = read_metadata(handle, item.path, item.sidecars, self.settings.follow_symlinks)
        item.metadata_only = True

    def _decode(self, item: Prepared, source: bytes | BinaryIO) -> None:
        """Decode once for the models, the app's thumbnail and OCR (the same decode makes all of them)."""
        settings = self.settings
        decoded = open_photo(source, settings.decode_side, name=item.path)
        item.facts = decoded.info
        if settings.thumbnail_dir is not None:
            target = thumbnail_path(Path(settings.thumbnail_dir), item.content_hash)
            if not target.exists():
                try:
                    save_thumbnail(decoded.image, target)
                except OSError:
                    pass  # a thumbnail is a cache; the app makes it on first view instead
        reader = self.text_reader
        if reader is not None:  # on this decode, before it shrinks for the model
            started = time.perf_counter()
            item.ocr_text = reader.read(decoded.image)
            item.ocr_started, item.ocr_seconds = started, time.perf_counter() - started
        reduced = reduce_for_model(decoded.image, settings.model_side)
        plain = np.asarray(reduced, dtype=np.uint8) if None in settings.specs else None
        # A strip is evened out as the models themselves would (indexer/imaging.py for_model) before it is fitted.
        item.pixels = tuple(plain if spec is None else fit(for_model(reduced, spec.side), spec) for spec in settings.specs)  # type: ignore[misc]


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
