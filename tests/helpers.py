"""Small helpers shared by tests: index a tree with the fake captioner, read back state."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from db.records import PendingFile
from db.store import Store
from indexer.options import IndexOptions
from indexer.pipeline import index_roots
from indexer.reading import PhotoReader, Prepared, ReadSettings
from indexer.report import IndexReport


@contextmanager
def tmpfs_at(mount_point: Path, size: str) -> Iterator[Path]:
    """A small disk of its own mounted at the folder (made here), unmounted after unless the test did; the test
    is skipped where mounting needs root."""
    import pytest

    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)], capture_output=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        if os.path.ismount(mount_point):
            subprocess.run(["umount", "-l", str(mount_point)], check=True)


def captionary_here(*args, check: bool = True) -> subprocess.CompletedProcess:
    """The command run in this process, for the runs around a killed one: a process of its own would import torch
    and transformers again (6 s here) to show nothing more."""
    from click.testing import CliRunner

    from indexer.cli import cli

    result = CliRunner().invoke(cli, [str(arg) for arg in args])
    if check:  # an exception here stays in result.exception; it never reaches stderr as a traceback
        assert result.exit_code == 0 and result.exception is None, (result.stderr, result.exception)
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def index_with(store: Store, roots, captioner, text_reader_factory=None, **options) -> IndexReport:
    options.setdefault("model", captioner.model_id)
    options.setdefault("embeddings", False)  # the semantic tests turn them on
    return index_roots(
        store,
        [Path(root) for root in roots],
        IndexOptions(**options),
        lambda _: captioner,
        text_reader_factory=text_reader_factory,
    )


def paths_found(store: Store, query: str, limit: int = 1000) -> set[str]:
    return {hit.image.path for hit in store.search(query, limit=limit).hits}


def db_state(store: Store) -> dict[str, str | None]:
    """path -> caption (or the failure reason): what a clean run must also produce."""
    from sqlalchemy import select

    from db.models import Content, File

    with store.sessions() as session:
        rows = session.execute(
            select(File.path, Content.caption, Content.user_caption, File.error).outerjoin(Content, File.content_id == Content.id)
        )
        return {path: (user or caption) if error is None else f"failed: {error}" for path, caption, user, error in rows}


def pending_embeddings(store: Store) -> int:
    """Contents whose caption has no embedding from the store's embedder."""
    from sqlalchemy import func, select

    from db.models import Content

    with store.sessions() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(Content)
                .where(Content.embedding.is_(None) | Content.embedder.is_(None) | (Content.embedder != store.embedder_id))
            )
            or 0
        )


def read_one(path: Path) -> Prepared:
    """What a reader makes of one file, as the scan found it (a file that has since changed is read as it is now)."""
    settings = ReadSettings(follow_symlinks=False, decode_side=32, model_side=32, specs=(None,), thumbnail_dir=None)
    stat = os.lstat(path)
    return PhotoReader(settings)(PendingFile(1, str(path), str(path.parent), stat.st_size, stat.st_mtime_ns))
