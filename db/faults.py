"""Fault injection for the crash tests: CAPTIONARY_CRASH_AT=point[:n] kills the process at that point."""

from __future__ import annotations

import os
import signal
from collections import Counter

_hits: Counter[str] = Counter()


def crash_point(name: str) -> None:
    """SIGKILL this process the n-th time it passes `name` (no-op unless the variable is set)."""
    wanted = os.environ.get("CAPTIONARY_CRASH_AT")
    if not wanted:
        return
    point, _, count = wanted.partition(":")
    if point != name:
        return
    _hits[name] += 1
    if _hits[name] >= int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)
