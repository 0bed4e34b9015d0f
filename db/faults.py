"""Fault injection for the crash tests: CAPTIONARY_CRASH_AT / CAPTIONARY_PAUSE_AT=point[:n]."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

_hits: Counter[str] = Counter()


def _reached(variable: str, name: str) -> bool:
    wanted = os.environ.get(variable)
    if not wanted:
        return False
    point, _, count = wanted.partition(":")
    return point == name and _hits[name] >= int(count or 1)


def crash_point(name: str) -> None:
    """SIGKILL this process (or stall it, to be killed by a test) the n-th time it passes `name`.

    A no-op unless one of the variables is set; the crash tests use it to stop the indexer
    at exact moments instead of guessing with timers.
    """
    if "CAPTIONARY_CRASH_AT" not in os.environ and "CAPTIONARY_PAUSE_AT" not in os.environ:
        return
    _hits[name] += 1
    if _reached("CAPTIONARY_CRASH_AT", name):
        os.kill(os.getpid(), signal.SIGKILL)
    if _reached("CAPTIONARY_PAUSE_AT", name):
        while True:
            time.sleep(1)
