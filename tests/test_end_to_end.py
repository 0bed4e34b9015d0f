"""The real `captionary` command in subprocesses: a full index with the tiny model, search, stats, one-line errors."""

import json
import os
import subprocess
import sys

import pytest

from db.store import Store
from tests.conftest import tree_snapshot
from tests.helpers import captionary_here

pytestmark = pytest.mark.slow


def captionary(*args, env=None, check=True, stop=None, **kwargs) -> subprocess.CompletedProcess:
    """Run the command; stop=("kill", "commit:4") runs it through tests/crashing_cli.py, killed at that point, and
    stop=("run",) there unstopped (with its CRASHING_* options)."""
    full_env = {**os.environ, **(env or {})}
    entry = ["-m", "tests.crashing_cli", *stop, "--"] if stop else ["-m", "indexer"]
    result = subprocess.run(
        [sys.executable, *entry, *map(str, args)], capture_output=True, text=True, env=full_env, timeout=300, **kwargs
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_index_search_stats_end_to_end(photo_tree, data_dir, tiny_model):
    before = tree_snapshot(photo_tree["root"])
    indexed = captionary("index", photo_tree["root"], "--data-dir", data_dir, "--model", tiny_model, "--batch-size", "4")
    summary = indexed.stdout.strip().splitlines()[0]
    assert summary.startswith("15 captioned, 0 unchanged, 1 reused, 4 failed")
    assert "Traceback" not in indexed.stderr

    stats = json.loads(captionary("stats", "--data-dir", data_dir, "--json").stdout)
    assert (stats["images"], stats["failed"], stats["duplicates"]) == (16, 4, 1)
    # the default model's family decodes greedily on a CPU, and its captions say so (docs/models.md: Choosing a caption model)
    assert stats["model"] == [f'{tiny_model} | {{"speed": "int8"}}'] and stats["roots"] == [str(photo_tree["root"])]

    # the tiny model's words are random, but folder words are known: search by them
    hits = json.loads(captionary("search", "holidays", "--data-dir", data_dir, "--json").stdout)
    assert [hit["path"] for hit in hits] == [str(photo_tree["beach"])]
    assert set(hits[0]) >= {"path", "caption", "score"} and hits[0]["caption"]

    # a word from a real caption finds that photo
    word = max(hits[0]["caption"].split(), key=len)  # the longest: never a stop word like "the"
    found = json.loads(captionary("search", word, "--data-dir", data_dir, "--json", "--limit", "100").stdout)
    assert str(photo_tree["beach"]) in [hit["path"] for hit in found]

    with Store.open_existing(data_dir) as store:
        failures = dict(store.failures())
    assert failures[str(photo_tree["bad"]["bomb"])].startswith("too many pixels")
    # nothing was written into the photo tree; everything lives in the data dir
    assert tree_snapshot(photo_tree["root"]) == before
    assert (data_dir / "captionary.db").exists() and (data_dir / "fulltext").is_dir()

    assert stats["embedded"] == 15  # captions embedded for semantic search, one per distinct photo
    again = captionary("index", photo_tree["root"], "--data-dir", data_dir, "--model", tiny_model)
    # the 4 files that failed, unchanged since, still count as failed (issue 24, item 23), not as unchanged
    assert again.stdout.strip().splitlines()[0].startswith("0 captioned, 16 unchanged, 0 reused, 4 failed")


def test_unparseable_query_exits_2_without_traceback(photo_tree, data_dir, tiny_model):
    captionary_here("index", photo_tree["root"], "--data-dir", data_dir, "--model", tiny_model, "--no-embeddings")
    result = captionary("search", '"unbalanced', "--data-dir", data_dir, check=False)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_default_model_offline_fails_in_one_line(photo_tree):
    result = captionary("caption", photo_tree["red"], check=False, env={"HF_HUB_OFFLINE": "1"})
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "--model PATH" in result.stderr and "CAPTIONARY_MODEL" in result.stderr
