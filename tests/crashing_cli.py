"""The real `captionary` command, stopped at a named checkpoint: what the crash tests run.

    python -m tests.crashing_cli kill POINT[:N] -- index ROOT ...   # SIGKILL the N-th time POINT is reached
    python -m tests.crashing_cli pause POINT[:N] -- index ROOT ...  # stall there, for the test to kill

Points: scan, caption, commit (indexer/pipeline.py); embed, image-embed, ocr, fulltext-write, fulltext-commit (db/).
Only this entry point installs the hook: the shipped command's checkpoints do nothing.
CRASHING_OCR_BATCH=N makes the text pass commit every N photos, so a test needs fewer photos to reach its second batch.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections import Counter

from db.store import Store
from indexer import ocr_pass
from indexer.cli import cli


def stopping_at(action: str, point: str):
    name, _, count = point.partition(":")
    wanted = int(count or 1)
    hits: Counter[str] = Counter()

    def checkpoint(reached: str) -> None:
        hits[reached] += 1
        if reached != name or hits[reached] < wanted:
            return
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        while True:  # "pause": hold every lock until the test kills this process
            time.sleep(1)

    return checkpoint


def main(argv: list[str]) -> None:
    action, point, separator, *arguments = argv
    assert action in ("kill", "pause") and separator == "--", __doc__
    Store.checkpoint = staticmethod(stopping_at(action, point))  # type: ignore[assignment]
    if "CRASHING_OCR_BATCH" in os.environ:
        ocr_pass.BATCH = int(os.environ["CRASHING_OCR_BATCH"])
    cli(arguments, prog_name="captionary")


if __name__ == "__main__":
    main(sys.argv[1:])
