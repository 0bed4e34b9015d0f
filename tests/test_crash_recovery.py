"""Kill -9 at named points of a real `captionary index`, then a rerun: the catalog equals a clean run's; a second
indexer is refused while searches go on.

What a kill leaves and what a rerun makes of it do not depend on which model captions: every run here, killed or not,
in a process of its own or in this one, captions with the colour captioner of tests/conftest.py (known captions, and
no VisionEncoderDecoder to load in each process). The caption embedder and the image embedder stay real."""

import json
import shutil
import signal
import subprocess
import sys
import time

import pytest

from db.store import Store
from indexer import pipeline
from tests.helpers import captionary_here, db_state
from tests.photos import COLOURS, photo, save_jpeg
from tests.reader_faults import fake_captions
from tests.test_end_to_end import captionary

pytestmark = pytest.mark.slow

# Captions and words only, as most runs here: the default image embedder cannot load offline (a warning, once torch is
# imported in the process); `none` turns it off at once. The embedding tests below keep theirs.
NO_EMBEDDERS = ("--no-embeddings", "--image-embedder", "none")


def caption_with_colours(monkeypatch: pytest.MonkeyPatch) -> None:
    """The colour captioner for `captionary index` in this process and in those tests/crashing_cli.py starts."""
    monkeypatch.setattr(pipeline, "load_captioner", fake_captions)
    monkeypatch.setenv("CRASHING_FAKE_CAPTIONER", "1")


@pytest.fixture(autouse=True)
def colour_captions(monkeypatch):
    caption_with_colours(monkeypatch)


@pytest.fixture(scope="module")
def crash_tree(tmp_path_factory, tiny_model):
    """A tree of 40 photos and the state a clean, uninterrupted index of it produces."""
    base = tmp_path_factory.mktemp("crash")
    root = base / "photos"
    for i in range(40):
        save_jpeg(photo(size=(96, 72), colour=COLOURS[i % 5], noise=25, seed=i), root / f"folder{i % 4}" / f"photo_{i:02}.jpg")
    save_jpeg(photo(size=(96, 72)), root / "folder0" / "twin_a.jpg")
    save_jpeg(photo(size=(96, 72)), root / "folder3" / "twin_b.jpg")
    (root / "folder1" / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    clean_dir = base / "clean"
    with pytest.MonkeyPatch.context() as monkeypatch:
        caption_with_colours(monkeypatch)
        captionary_here("index", root, "--data-dir", clean_dir, "--model", tiny_model, "--batch-size", "4", *NO_EMBEDDERS)
    return root, final_state(clean_dir)


def final_state(data_dir):
    with Store.open_existing(data_dir) as store:
        everything = sorted(hit.image.path for hit in store.search("*", limit=1000).hits)
        # A file name's word ("folder0" would find nothing: a folder's name is searched split, as `folder 0`), and
        # one word of each caption the colour captioner gives (tests/photos.py CAPTIONS); "photo" finds every photo
        by_word = {
            word: sorted(hit.image.path for hit in store.search(word, limit=1000).hits)
            for word in ("twin", "city", "dog", "children", "blue", "food")
        }
        return {"rows": db_state(store), "all": everything, "words": by_word, "check": store.check().ok}


@pytest.mark.parametrize("point", ["scan:2", "caption:3", "commit:4", "fulltext-write:2", "fulltext-commit:2"])
def test_kill_at_any_moment_then_rerun_equals_a_clean_index(crash_tree, tmp_path, tiny_model, point):
    root, clean = crash_tree
    data_dir = tmp_path / "data"
    common = ("--data-dir", data_dir, "--model", tiny_model, "--batch-size", "4", *NO_EMBEDDERS)
    # The full text's second write and commit are the first catch-up sync with documents (the first is the empty
    # index's rebuild), in this process (tests/crashing_cli.py CRASHING_SYNC_HERE)
    env = {"CRASHING_SYNC_HERE": "1"} if point.startswith("fulltext") else {}
    killed = captionary("index", root, *common, env=env, stop=("kill", point), check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    # One rerun is a process of its own, as a person's is: its readers' stderr is its own (tests/crashing_cli.py
    # run: not stopped, the same captioner)
    if point == "commit:4":
        resumed = captionary("index", root, *common, stop=("run",))
    else:
        resumed = captionary_here("index", root, *common)
    assert "Traceback" not in resumed.stderr
    state = final_state(data_dir)
    # same paths, same captions, same failures, same search results, DB and Whoosh in agreement
    assert state == clean


def test_second_indexer_is_refused_while_search_keeps_working(crash_tree, tmp_path, tiny_model):
    root, _ = crash_tree
    data_dir = tmp_path / "data"
    first = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.crashing_cli",
            "pause",
            "caption:4",
            "--",
            "index",
            str(root),
            "--data-dir",
            str(data_dir),
            "--model",
            str(tiny_model),
            "--batch-size",
            "4",
            *NO_EMBEDDERS,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 120
        images, previous = 0, -1
        # Until the writer has committed some batches and stopped at its pause: a count read while a batch
        # is being committed would race the search below (the flake this loop fixes: 8 counted, 12 found).
        while time.time() < deadline and (images < 8 or images != previous):
            time.sleep(1)
            stats = captionary("stats", "--data-dir", data_dir, "--json", check=False)
            previous, images = images, json.loads(stats.stdout)["images"] if stats.returncode == 0 else 0
        # readers see the batches committed so far while the writer is still running
        assert images >= 8 and first.poll() is None
        found = json.loads(captionary("search", "*", "--data-dir", data_dir, "--json", "--limit", "100").stdout)
        after = json.loads(captionary("stats", "--data-dir", data_dir, "--json").stdout)["images"]
        # search shows every committed photo: at least what was counted before it, at most what is counted after
        assert images <= len(found) <= after

        started = time.time()
        second = captionary("index", root, "--data-dir", data_dir, "--model", tiny_model, check=False)
        assert second.returncode == 1 and "already running" in second.stderr
        assert time.time() - started < 30  # refused at once, not after waiting
    finally:
        first.kill()
        first.wait()
    # the lock dies with the process, even with kill -9
    after = captionary_here("index", root, "--data-dir", data_dir, "--model", tiny_model, *NO_EMBEDDERS)
    assert "captioned" in after.stdout


def test_kill_while_embedding_then_rerun_embeds_everything_once(crash_tree, tmp_path, tiny_model):
    root, clean = crash_tree
    data_dir = tmp_path / "data"
    common = ("--data-dir", data_dir, "--model", tiny_model, "--batch-size", "4")
    killed = captionary("index", root, *common, stop=("kill", "embed:2"), check=False)
    assert killed.returncode == -signal.SIGKILL
    resumed = captionary_here("index", root, *common)
    assert "Traceback" not in resumed.stderr
    state = final_state(data_dir)
    assert state["rows"] == clean["rows"] and state["check"]
    stats = json.loads(captionary_here("stats", "--data-dir", data_dir, "--json").stdout)
    # every distinct caption has exactly one embedding, from the one embedder
    assert stats["embedded"] == stats["images"] - stats["duplicates"]
    caption = max(caption for caption in state["rows"].values() if caption and not caption.startswith("failed"))
    word = max(caption.split(), key=len)  # a word of a caption, not one that is only glue
    hybrid = json.loads(captionary_here("search", word, "--data-dir", data_dir, "--json").stdout)  # a caption's word
    assert hybrid and hybrid[0]["mode"] == "hybrid"


def test_kill_while_embedding_images_then_rerun_embeds_every_photo_once(crash_tree, tmp_path, tiny_model, tiny_clip):
    root, clean = crash_tree
    data_dir = tmp_path / "data"
    captionary_here("index", root, "--data-dir", data_dir, "--model", tiny_model, *NO_EMBEDDERS)
    again = ("reembed", "--images", "--data-dir", data_dir, "--image-embedder", tiny_clip)
    killed = captionary(*again, stop=("kill", "image-embed:2"), check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    partial = json.loads(captionary_here("stats", "--data-dir", data_dir, "--json").stdout)["image_embedded"]
    resumed = captionary_here(*again)
    stats = json.loads(captionary_here("stats", "--data-dir", data_dir, "--json").stdout)
    distinct = stats["images"] - stats["duplicates"]
    # the batches committed before the kill are kept, the re-run does only the rest, and no caption changed
    assert 0 < partial < distinct and f"embedded {distinct - partial} photos" in resumed.stdout
    assert stats["image_embedders"] == {str(tiny_clip): distinct} and final_state(data_dir)["rows"] == clean["rows"]


def test_kill_while_settling_moves_before_the_model_loads_then_rerun_equals_a_clean_index(crash_tree, tmp_path, tiny_model):
    from indexer.options import IndexOptions
    from indexer.pipeline import index_roots

    root = tmp_path / "photos"
    shutil.copytree(crash_tree[0], root)
    options = IndexOptions(model=str(tiny_model), batch_size=4, embeddings=False, image_embedder=None)
    data_dir = tmp_path / "data"
    with Store.open(data_dir) as store:
        index_roots(store, [root], options, fake_captions)
    (root / "folder0").rename(root / "moved")  # 11 photos: three batches of the first pass
    common = ("--data-dir", data_dir, "--model", tiny_model, "--batch-size", "4", *NO_EMBEDDERS)
    killed = captionary("index", root, *common, stop=("kill", "commit:2"), check=False)
    assert killed.returncode == -signal.SIGKILL and "loading model" not in killed.stderr  # killed in the first pass
    resumed = captionary_here("index", root, *common)
    assert "Traceback" not in resumed.stderr and "loading model" not in resumed.stderr
    with Store.open(tmp_path / "clean") as store:
        index_roots(store, [root], options, fake_captions)
    assert final_state(data_dir) == final_state(tmp_path / "clean")
