"""The real `captionary` command, stopped at a named checkpoint: what the crash tests run.

    python -m tests.crashing_cli kill POINT[:N] -- index ROOT ...   # SIGKILL the N-th time POINT is reached
    python -m tests.crashing_cli pause POINT[:N] -- index ROOT ...  # stall there, for the test to kill
    python -m tests.crashing_cli run -- index ROOT ...              # not stopped: a rerun with the options below

Points: scan, caption, commit (indexer/pipeline.py); embed, image-embed, ocr, fulltext-write, fulltext-commit (db/).
Only this entry point installs the hook: the shipped command's checkpoints do nothing.
CRASHING_OCR_BATCH=N makes the text pass commit every N photos, so a test needs fewer photos to reach its second batch.
CRASHING_SYNC_HERE=1 reads in threads and keeps the full text in step in this process, as a small run does: a large
run syncs from a process of its own (indexer/background_sync.py), where no checkpoint is hooked, so whether this one's
final sync still found documents to write depended on timing.
CRASHING_FAKE_CAPTIONER=1 captions with the colour captioner of tests/conftest.py (tests/reader_faults.py fake_captions)
instead of loading --model's weights (transformers and a VisionEncoderDecoder, seconds of CPU a process): for a test
whose claim (what a kill leaves, what a rerun makes of it) does not depend on the captioner, and whose runs around
the killed one use the same fake. --model still names the model the captions are recorded under; its weights never load.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections import Counter

from db.store import Store
from indexer import feed, ocr_pass
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
    assert "--" in argv, __doc__
    separator = argv.index("--")
    (action, *point), arguments = argv[:separator], argv[separator + 1 :]
    assert (action, len(point)) in (("kill", 1), ("pause", 1), ("run", 0)), __doc__
    if point:
        Store.checkpoint = staticmethod(stopping_at(action, point[0]))  # type: ignore[assignment]
    if "CRASHING_OCR_BATCH" in os.environ:
        ocr_pass.BATCH = int(os.environ["CRASHING_OCR_BATCH"])
    if os.environ.get("CRASHING_SYNC_HERE") == "1":
        feed.PROCESSES_FROM = sys.maxsize
    if os.environ.get("CRASHING_FAKE_CAPTIONER") == "1":
        from indexer import pipeline
        from tests.reader_faults import fake_captions

        pipeline.load_captioner = fake_captions  # what index_roots loads when the command names no factory
    cli(arguments, prog_name="captionary")


if __name__ == "__main__":
    main(sys.argv[1:])
