"""What an index run tells while running (Progress) and what it did (IndexReport); what it is asked is
indexer/options.py's IndexOptions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from db.formats import skipped_label, skipped_summary


class Progress(Protocol):
    def scanned(self, files: int) -> None: ...
    def recognised(self, files: int) -> None: ...  # new paths of bytes already captioned (indexer/known_first.py)
    def loading(self, model_id: str) -> None: ...
    def start(self, total: int) -> None: ...
    def advance(self, count: int) -> None: ...


class NoProgress:
    def scanned(self, files: int) -> None:
        pass

    def recognised(self, files: int) -> None:
        pass

    def loading(self, model_id: str) -> None:
        pass

    def start(self, total: int) -> None:
        pass

    def advance(self, count: int) -> None:
        pass


class BusyTime:
    """The wall-clock seconds in which at least one worker was at a task. Workers run side by side, so their
    own seconds, summed, can exceed the whole run's; the union of their spans cannot."""

    COMPACT_AT = 4096  # spans kept before they are merged (a busy stage merges into a few)

    def __init__(self) -> None:
        self._spans: list[tuple[float, float]] = []

    def add(self, started: float, seconds: float) -> None:
        self._spans.append((started, started + seconds))
        if len(self._spans) >= self.COMPACT_AT:
            self._spans = self._merged()

    def _merged(self) -> list[tuple[float, float]]:
        merged: list[tuple[float, float]] = []
        for start, end in sorted(self._spans):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged

    @property
    def seconds(self) -> float:
        return sum(end - start for start, end in self._merged())


@dataclass
class IndexReport:
    captioned: int = 0
    unchanged: int = 0
    reused: int = 0  # moved, renamed, duplicated or touched files: no model call
    moved: int = 0  # of the reused: moved or renamed (their old paths are among the removed)
    failed: int = 0
    removed: int = 0
    other_model: int = 0
    without_image_vectors: int = 0  # photos indexed earlier, with no vector from this run's image embedder
    seconds: float = 0.0
    load_seconds: float = 0.0  # of `seconds`: loading the models, before the first photo could be captioned
    decode_time: BusyTime = field(default_factory=BusyTime)  # the decode workers' (OCR of new photos included)
    model_seconds: float = 0.0
    store_seconds: float = 0.0
    embedded: int = 0
    embed_seconds: float = 0.0
    image_embedded: int = 0
    image_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)  # one line each, said before the summary
    unreadable_folders: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): kept, not removed
    held_back: list[tuple[str, int, int]] = field(default_factory=list)  # (root, gone, known): not removed
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): standing ones, then this run's
    standing_failed: int = 0  # of `failed`: files that failed before and are unchanged (not read again)
    ocr_read: int = 0  # photos whose text was read (OCR) in this run
    ocr_with_text: int = 0
    ocr_time: BusyTime = field(default_factory=BusyTime)
    metadata_read: int = 0  # known photos read again for their metadata only (a sidecar changed)
    vanished: int = 0  # deleted or written between the scan and their reading: left for the next run
    metadata_problems: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): indexed all the same
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, kind) of files found and not read
    missing_roots: list[str] = field(default_factory=list)  # given, not found (a disk not mounted): skipped
    moved_roots: list[tuple[str, str]] = field(default_factory=list)  # (old, new): gone, proven moved, forgotten
    maybe_moved: list[tuple[str, int, int]] = field(default_factory=list)  # (root, found, photos): gone, not proven

    @property
    def processed(self) -> int:
        """Photos this run read."""
        return self.captioned + self.reused + self.failed - self.standing_failed + self.metadata_read

    @property
    def images_per_second(self) -> float:
        """Captioned photos a second: a reused, failed or unchanged photo costs no model call, and counting
        them made one reused photo a rate. Over the time after the models loaded: with it, a run adding one photo
        said 0.1 images/s, the loading's 15 seconds."""
        working = self.seconds - self.load_seconds
        return self.captioned / working if working > 0 else 0.0

    @property
    def decode_seconds(self) -> float:
        return self.decode_time.seconds

    @property
    def ocr_seconds(self) -> float:
        return self.ocr_time.seconds

    def add_standing_failures(self, failures: Sequence[tuple[str, str]]) -> None:
        """Files that failed in an earlier run and have not changed since: failed still (as `stats` counts
        them) until they are fixed, not unchanged."""
        self.failed += len(failures)
        self.standing_failed += len(failures)
        self.failures.extend(failures)

    def summary(self) -> str:
        line = (
            f"{self.captioned} captioned, {self.unchanged} unchanged, {self.reused} reused, "
            f"{self.failed} failed, {self.removed} removed"
            + (f", {self.metadata_read} metadata re-read" if self.metadata_read else "")
            + f" in {self.seconds:.1f}s"
        )
        if self.processed:
            rate = f"{self.images_per_second:.1f} images/s; " if self.captioned and self.images_per_second else ""
            line += (
                f" ({rate}decode {self.decode_seconds:.1f}s, "
                f"model {self.model_seconds:.1f}s, store {self.store_seconds:.1f}s, "
                f"embed {self.embed_seconds:.1f}s" + (f", pixels {self.image_seconds:.1f}s" if self.image_embedded else "") + ")"
            )
        if self.moved:
            line += f"; {self.moved} of the reused were moved or renamed (their old paths are counted as removed)"
        for old, new in self.moved_roots:
            line += f"; {old} is now {new} (no longer a root of its own)"
        if self.ocr_read:
            line += f"; text read in {self.ocr_read} photos ({self.ocr_with_text} with text), OCR {self.ocr_seconds:.1f}s"
        if self.other_model:
            line += f"; {self.other_model} captions are from another model or other settings (--recaption to redo them)"
        if self.without_image_vectors:
            line += f"; {self.without_image_vectors} photos have no image vectors yet (captionary reembed --images)"
        if self.vanished:
            line += f"; {self.vanished} deleted or changed while the run read them (the next run settles them)"
        if self.skipped:  # nothing in the folders is left out in silence
            line += "; " + skipped_summary([skipped_label(path, kind) for path, kind in self.skipped])
        return line
