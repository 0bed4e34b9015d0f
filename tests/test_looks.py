"""Photos that look alike: `similar` (more like this) and `duplicates` (near-identical groups), by image vectors."""

import json
import os

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from db.errors import NotIndexedError
from db.store import Store
from indexer.cli import cli
from indexer.options import IndexOptions
from indexer.pipeline import index_roots
from tests.conftest import FakeCaptioner, FakeImageEmbedder
from tests.photos import COLOURS, photo, save_jpeg


@pytest.fixture
def copies(tmp_path):
    """An original, a resized copy, a re-encoded copy, and two photos of other colours."""
    root = tmp_path / "photos"
    original = save_jpeg(photo(size=(96, 72), colour=COLOURS[0], noise=20, seed=1), root / "original.jpg")
    resized = root / "resized.jpg"
    Image.open(original).resize((48, 36)).save(resized, quality=90)
    reencoded = root / "reencoded.jpg"
    Image.open(original).save(reencoded, quality=40)
    other = [save_jpeg(photo(size=(96, 72), colour=COLOURS[i], noise=20, seed=i), root / f"other{i}.jpg") for i in (1, 2)]
    return root, [original, resized, reencoded], other


@pytest.fixture
def looks_store(copies, data_dir):
    root, _, _ = copies
    fake = FakeImageEmbedder()
    with Store.open(data_dir) as store:
        options = IndexOptions(model="fake-model", embeddings=False, image_embedder=fake.model_id)
        index_roots(store, [root], options, lambda _: FakeCaptioner(), image_embedder_factory=lambda _: fake)
        store.use_image_embedder(fake.model_id, lambda: fake)
        yield store


def test_a_resized_and_a_re_encoded_copy_group_with_their_original_and_other_photos_do_not(looks_store, copies):
    _, family, others = copies
    groups = looks_store.duplicate_groups()
    assert [group.paths for group in groups] == [sorted(map(str, family))]
    assert groups[0].similarity >= 0.95
    assert not any(str(path) in group.paths for group in groups for path in others)


def test_a_higher_threshold_than_any_pair_finds_no_group(looks_store):
    # the fake embedder's copies are exactly alike (1.0): above that, nothing groups
    assert looks_store.duplicate_groups(threshold=1.01) == []


def test_more_like_this_uses_the_stored_vector_and_leaves_the_photo_out(looks_store, copies):
    _, family, others = copies
    vector = looks_store.stored_vector(str(family[0]))
    assert vector is not None
    found = looks_store.similar_to(vector, limit=10, exclude=str(family[0]))
    paths = [record.path for record, _ in found]
    assert str(family[0]) not in paths and set(paths[:2]) == {str(family[1]), str(family[2])}
    assert [score for _, score in found] == sorted((score for _, score in found), reverse=True)


def test_similar_and_duplicates_from_the_cli(looks_store, copies, data_dir):
    _, family, _ = copies
    runner = CliRunner()
    # an indexed photo needs no model: its stored vector is used (the library's embedder, a fake, never loads)
    rows = json.loads(runner.invoke(cli, ["similar", str(family[0]), "--data-dir", str(data_dir), "--json"]).stdout)
    assert {row["path"] for row in rows[:2]} == {str(family[1]), str(family[2])} and set(rows[0]) == {
        "path",
        "similarity",
        "caption",
    }
    groups = json.loads(runner.invoke(cli, ["duplicates", "--data-dir", str(data_dir), "--json"]).stdout)
    assert groups == [{"paths": sorted(map(str, family)), "similarity": 1.0}]


def test_without_image_vectors_both_say_how_to_make_them(photo_tree, data_dir):
    with Store.open(data_dir) as store:
        index_roots(store, [photo_tree["root"]], IndexOptions(model="fake-model", embeddings=False), lambda _: FakeCaptioner())
    result = CliRunner().invoke(cli, ["duplicates", "--data-dir", str(data_dir)])
    assert result.exit_code == 1 and "reembed --images" in result.stderr
    with Store.open(data_dir) as store, pytest.raises(NotIndexedError):
        store.duplicate_groups()


def test_a_library_indexed_with_image_embedder_none_is_told_a_command_that_makes_its_vectors(photo_tree, data_dir, tiny_clip):
    options = IndexOptions(model="fake-model", embeddings=False, image_embedder=None, image_embedder_required=True)
    with Store.open(data_dir) as store:
        index_roots(store, [photo_tree["root"]], options, lambda _: FakeCaptioner())
    runner, library = CliRunner(), ["--data-dir", str(data_dir)]
    advice = "run: captionary reembed --images --image-embedder ID|PATH"
    for command in (["similar", str(photo_tree["red"])], ["duplicates"], ["search", "red", "--mode", "visual"]):
        result = runner.invoke(cli, [*command, *library])
        assert result.exit_code == 1 and result.stderr.rstrip().endswith(advice), (command, result.stderr)
    # the advice, followed, works (a model named where the library's are off)
    followed = runner.invoke(cli, ["reembed", "--images", "--image-embedder", str(tiny_clip), *library])
    assert followed.exit_code == 0, followed.output
    assert runner.invoke(cli, ["duplicates", *library]).exit_code == 0


def test_a_file_from_elsewhere_is_embedded_with_the_librarys_model(photo_tree, data_dir, tiny_clip, tmp_path):
    options = IndexOptions(model="fake-model", embeddings=False, image_embedder=str(tiny_clip), threads=1)
    with Store.open(data_dir) as store:
        index_roots(store, [photo_tree["root"]], options, lambda _: FakeCaptioner())
    outside = save_jpeg(photo(colour=COLOURS[0]), tmp_path / "elsewhere" / "new.jpg")
    result = CliRunner().invoke(cli, ["similar", str(outside), "--data-dir", str(data_dir), "--limit", "3", "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 3  # ranked against the library's 16 photos by the tiny CLIP


def test_the_photo_view_shows_more_like_this(looks_store, copies, data_dir, monkeypatch):
    from tests.test_app import start_app, unescape

    _, family, _ = copies
    app = start_app(data_dir, monkeypatch)
    original = looks_store.image_by_path(family[0])
    app.session_state["selected"] = original.id
    app.run()
    assert not app.exception, app.exception
    assert any(element.value == "**More like this**" for element in app.markdown)
    shown = [unescape(element.value) for element in app.caption]
    # the two copies are offered, each with its own Open button; the photo itself is not
    assert {"resized.jpg", "reencoded.jpg"} <= set(shown) and "original.jpg" not in shown
    copy_id = looks_store.image_by_path(family[1]).id
    app.button(key=f"open-{copy_id}").click().run()
    assert unescape(app.subheader[0].value) == "resized.jpg"


class RoundingEmbedder(FakeImageEmbedder):
    """Every photo gets one unit vector whose float16 copy, multiplied by itself, comes out a hair above 1."""

    model_id = "rounding-clip"

    def embed_images(self, images):
        vector = np.random.default_rng(0).normal(size=16).astype(np.float32)
        return np.tile(vector / np.linalg.norm(vector), (len(images), 1))


def test_a_similarity_is_a_cosine_never_above_one(copies, data_dir):
    root, family, _ = copies
    embedder = RoundingEmbedder()
    with Store.open(data_dir) as store:
        options = IndexOptions(model="fake-model", embeddings=False, image_embedder=embedder.model_id)
        index_roots(store, [root], options, lambda _: FakeCaptioner(), image_embedder_factory=lambda _: embedder)
    runner = CliRunner()
    rows = json.loads(runner.invoke(cli, ["similar", str(family[0]), "--data-dir", str(data_dir), "--json"]).stdout)
    assert len(rows) == 4 and {row["similarity"] for row in rows} == {1.0}  # was 1.0001: float16 rounding
    groups = json.loads(runner.invoke(cli, ["duplicates", "--data-dir", str(data_dir), "--json"]).stdout)
    assert [group["similarity"] for group in groups] == [1.0]


@pytest.mark.parametrize("threshold", ["nan", "NaN", "-nan", "inf", "1.5"])
def test_a_threshold_that_is_not_a_number_from_0_to_1_is_a_usage_error(threshold, data_dir):
    result = CliRunner().invoke(cli, ["duplicates", "--threshold", threshold, "--data-dir", str(data_dir)])
    assert result.exit_code == 2 and "--threshold" in result.stderr  # nan was taken, and grouped nothing


def test_similar_refuses_a_file_over_the_size_cap_unread_as_indexing_does(looks_store, tmp_path):
    from indexer.imaging import MAX_PHOTO_BYTES

    huge = save_jpeg(photo(colour=COLOURS[0]), tmp_path / "elsewhere" / "huge.jpg")
    os.truncate(huge, MAX_PHOTO_BYTES + 1)  # a real photo, then a sparse gigabyte: costs no disk to write
    result = CliRunner().invoke(cli, ["similar", str(huge), "--data-dir", str(looks_store.data_dir)])
    assert result.exit_code == 1
    assert f"too large ({MAX_PHOTO_BYTES + 1} bytes; limit {MAX_PHOTO_BYTES})" in result.stderr
