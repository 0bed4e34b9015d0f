"""Stage functions that misbehave on purpose, importable by a spawned reader process (tests/test_readers.py) or a
Ray worker (tests/test_ray.py)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from indexer.reading import PhotoReader


def double_unless_poison(item: int) -> int:
    """Kills its own process on 13, as a decoder that segfaults on one file would."""
    if item == 13:
        os._exit(70)
    return item * 2


def double_slowly(item: int) -> int:
    time.sleep(0.05)
    return item * 2


def mark_then_sleep(item: tuple[str, int]) -> int:
    """Says it has started (a file), then takes `seconds`: a photo that is slow to decode."""
    marker, seconds = item
    open(marker, "w").close()
    time.sleep(seconds)
    return seconds


def double_but_crawl_on_five(item: int) -> int:
    """Spends a minute of CPU on 5, as a decoder crawling through a file built to be slow would."""
    ends = time.process_time() + (60 if item == 5 else 0.01)
    while time.process_time() < ends:
        pass
    return item * 2


def double_but_wait_on_five(item: int) -> int:
    """Waits 4 s on 5 without using the CPU, as a read from a stalled network share does."""
    time.sleep(4 if item == 5 else 0.01)
    return item * 2


def fail_on_seven(item: int) -> int:
    if item == 7:
        raise ValueError("seven is not a photo")
    return item * 2


@dataclass
class Slowly:
    """A stage slowed down, so a test can kill its process while it holds items."""

    stage: Any
    seconds: float

    def __call__(self, item: Any) -> Any:
        time.sleep(self.seconds)
        return self.stage(item)


@dataclass
class StoppingReader(PhotoReader):
    """A photo reader whose process dies on a photo named poison*, always, or once* the first time only (a marker
    file in `markers` says it happened), as a decoder that crashes on one file would (tests/test_ray.py)."""

    markers: str = ""

    def __call__(self, pending: Any, force_decode: bool = False) -> Any:
        name = os.path.basename(pending.path)
        if name.startswith("poison"):
            os._exit(71)
        if name.startswith("once"):
            marker = os.path.join(self.markers, name + ".stopped")
            if not os.path.exists(marker):
                open(marker, "w").close()
                os._exit(72)
        return super().__call__(pending, force_decode)


@dataclass
class CountedLoads:
    """A model loader that leaves a file in `folder` each time it runs, in whichever process (a Ray actor)."""

    load: Any
    folder: str

    def __call__(self, options: Any) -> Any:
        with open(os.path.join(self.folder, f"load-{os.getpid()}-{time.monotonic_ns()}"), "w"):
            pass
        return self.load(options)


def no_weights_here(options: Any) -> Any:
    """A model loader on a machine that lacks the model: a Ray worker whose cache was never filled."""
    from db.errors import ModelLoadError

    raise ModelLoadError(f"Cannot load model '{options.model}': its weights are not on this machine")


def fake_captions(options: Any) -> Any:
    """The colour captioner of tests/conftest.py, loaded in whichever process asks (a Ray actor): no torch."""
    from tests.conftest import FakeCaptioner

    return FakeCaptioner(options.model)
