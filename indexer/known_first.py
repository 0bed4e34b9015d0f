"""A run's first pass, before any model loads: pending files whose bytes the catalog already has (a photo moved,
renamed or touched, a copy of one indexed) are hashed, their metadata read, and written as reused, in the queue's
order, until the first whose bytes are new. A run of renames and moves then never loads a model, so it costs no
model's load and works offline or without the model the library was captioned with. The first new photo, and the
few read ahead of it, are read again by the run's readers: one file's read, against a model's load saved."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from db.catalog import Catalog
from indexer.options import IndexOptions
from indexer.reading import KnownContents, PhotoReader, Prepared
from indexer.report import IndexReport, Progress
from indexer.stages import NoModel, Writer, default_split, make_plan
from indexer.workers import ThreadRunner


def settle_known(
    catalog: Catalog,
    options: IndexOptions,
    source: str,
    thumbnail_dir: Path,
    run_id: int,
    report: IndexReport,
    progress: Progress,
) -> KnownContents:
    """Returns the hashes it looked up, which the run's readers are given too (a million cost a second to read)."""
    known = KnownContents(catalog.settled_hashes(source, recaption=False))
    if not len(known):
        return known  # a new library: every photo needs the model
    plan = make_plan(options, source, NoModel(source), thumbnail_dir)
    write = Writer(catalog, run_id, plan, report, progress)
    threads = options.workers or default_split(options.device)[0]
    reader = PhotoReader(plan.read, known, decode_new=False)
    runner = ThreadRunner(reader, threads)
    try:
        with catalog.hash_lookups() as lookup:
            for batch in _known_batches(runner.map(catalog.pending(), threads * 2), lookup, plan.batch_size):
                write(batch)
                progress.recognised(len(batch))
    finally:
        runner.close(at_once=True)  # what was read ahead of the first new photo is read again by the run
    return known


def _known_batches(
    read: Iterable[Prepared], lookup: Callable[[str], tuple[str, bool] | None], size: int
) -> Iterable[list[Prepared]]:
    batch: list[Prepared] = []
    for item in read:
        if not item.nothing_to_caption and lookup(item.content_hash) is None:
            break  # new bytes (or a 64-bit prefix shared with known ones): the model's run reads it from here
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
