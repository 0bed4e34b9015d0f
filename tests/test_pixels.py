"""Search by pixels: image embeddings made from the captioner's decode, stored per content, searched as a third
signal (related tier) and alone (visual mode); the real CLIP/SigLIP loading path; the schema upgrade."""

import json
import sqlite3

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from db.models import SCHEMA_VERSION, Content
from db.store import Store
from indexer import pipeline
from indexer.cli import cli
from indexer.models.search_encoders import enable_embeddings, enable_image_search
from indexer.options import IndexOptions
from indexer.pipeline import index_roots
from tests.conftest import FakeCaptioner, FakeImageEmbedder
from tests.old_catalogs import as_schema_5
from tests.photos import photo, save_jpeg


def index_with_pixels(store, root, image_embedder, embeddings=True):
    options = IndexOptions(model="fake-model", embeddings=embeddings, image_embedder=image_embedder.model_id)
    return index_roots(store, [root], options, lambda _: FakeCaptioner(), image_embedder_factory=lambda _: image_embedder)


@pytest.fixture
def pixel_store(photo_tree, data_dir):
    fake = FakeImageEmbedder()
    with Store.open(data_dir) as store:
        report = index_with_pixels(store, photo_tree["root"], fake)
        store.use_image_embedder(fake.model_id, lambda: fake)
        yield store, report, fake


def image_vectors(store, embedder_id):
    with store.sessions() as session:
        return session.scalar(select(func.count()).select_from(Content).where(Content.image_embedder == embedder_id))


def test_each_distinct_photo_gets_an_image_vector_from_the_same_decode(pixel_store):
    store, report, fake = pixel_store
    # 15 distinct readable photos, each embedded once, in the captioner's batches (no second decode pass)
    assert report.image_embedded == fake.images_seen == report.captioned == 15
    assert image_vectors(store, "fake-clip") == 15
    assert "pixels" in report.summary()


def test_a_photo_found_only_by_its_pixels_is_related_in_hybrid_and_first_in_visual(pixel_store, photo_tree):
    store, _, _ = pixel_store
    # "emerald" is in no caption, tag or file name: only the pixels of the green park photo know it
    hybrid = store.search("emerald", mode="hybrid", limit=50)
    assert hybrid.matches == 0 and hybrid.related >= 1
    park = next(hit for hit in hybrid.hits if hit.image.path == str(photo_tree["park"]))
    assert park.match == "related" and "pixels" in park.signals
    visual = store.search("emerald", mode="visual", limit=5)
    assert visual.mode == "visual" and visual.hits[0].image.path == str(photo_tree["park"])
    assert "pixels" in visual.hits[0].signals


def test_a_colour_most_of_the_library_shares_is_not_related_to_everything(pixel_store):
    store, _, _ = pixel_store
    # most photos of this tree are blue: like a one-subject library, nothing stands out, so nothing is
    # related by pixels (the same z-score rule as captions; a fixed floor would return all of them)
    page = store.search("cobalt", mode="hybrid", limit=50)
    assert not any("pixels" in hit.signals for hit in page.hits)


def test_words_still_come_first_and_say_which_signals_found_them(pixel_store, photo_tree):
    store, _, _ = pixel_store
    page = store.search("red car", mode="hybrid", limit=50)
    first = page.hits[0]
    # the caption says "a red car", and the fake embedder sees red in its pixels too
    assert first.image.path == str(photo_tree["red"]) and first.match == "words"
    assert first.signals[0] == "words" and "pixels" in first.signals
    assert all(hit.match == "related" for hit in page.hits[page.matches :])


def test_a_query_no_pixel_or_caption_knows_returns_nothing_related(pixel_store):
    store, _, _ = pixel_store
    assert store.search("quantum chromodynamics", mode="hybrid").total == 0


def test_visual_mode_without_image_vectors_says_how_to_get_them(photo_tree, data_dir):
    with Store.open(data_dir) as store:
        index_roots(store, [photo_tree["root"]], IndexOptions(model="fake-model", embeddings=False), lambda _: FakeCaptioner())
        with pytest.raises(Exception, match="reembed --images"):
            store.search("cobalt", mode="visual")


def test_the_real_loading_path_embeds_with_a_tiny_clip(photo_tree, data_dir, tiny_clip):
    # AutoModel + AutoProcessor from a folder saved with save_pretrained, as openai/clip-vit-base-patch32 loads
    options = IndexOptions(model="fake-model", embeddings=False, image_embedder=str(tiny_clip), threads=1)
    with Store.open(data_dir) as store:
        report = index_roots(store, [photo_tree["root"]], options, lambda _: FakeCaptioner())
        assert report.image_embedded == 15 and image_vectors(store, str(tiny_clip)) == 15
        enable_embeddings(store, queries=True)
        enable_image_search(store)  # picks the model that made the library's vectors
        assert store.image_embedder_id == str(tiny_clip)
        from indexer.models.image_embedder import ImageEmbedder

        # the query is embedded by the numpy text tower, the same vector transformers gives
        expected = ImageEmbedder(str(tiny_clip), device="cpu", threads=1).embed_texts(["a dog on the beach"])[0]
        assert np.allclose(store.encode_image_query("a dog on the beach"), expected, atol=1e-5)
        page = store.search("a dog on the beach", mode="visual", limit=3)
        scores = [hit.score for hit in page.hits]
        assert page.mode == "visual" and page.hits and scores == sorted(scores, reverse=True)  # by pixel similarity
        vector = store.image_vectors().matrix[0]
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-3  # unit length, as cosine similarity needs


@pytest.mark.parametrize("family", ["clip", "siglip"])
def test_clip_and_siglip_load_through_the_same_auto_path(tmp_path, family):
    from PIL import Image

    from indexer.models.image_embedder import ImageEmbedder
    from tests.tiny_clip import build_tiny_clip

    embedder = ImageEmbedder(str(build_tiny_clip(tmp_path / family, family)), device="cpu", threads=1)
    images = embedder.embed_images([Image.new("RGB", (50, 40), "red"), Image.new("RGB", (64, 64), "blue")])
    texts = embedder.embed_texts(["a dog on the beach", "a birthday cake"])
    assert embedder.model_type == family and images.shape[1] == texts.shape[1]
    assert np.allclose(np.linalg.norm(images, axis=1), 1.0, atol=1e-4)


def test_features_are_read_from_an_output_object_or_a_bare_tensor():
    import torch

    from indexer.models.image_embedder import _features

    tensor = torch.ones(2, 3)

    class Output:  # transformers 5: the projection is the output's pooler_output
        pooler_output = tensor

    assert _features(Output()) is tensor and _features(tensor) is tensor  # 4.x returned the tensor itself


def test_the_default_image_embedder_offline_warns_once_and_indexes_the_captions(photo_tree, data_dir, monkeypatch):
    monkeypatch.setattr(pipeline, "load_captioner", lambda options: FakeCaptioner())
    result = CliRunner().invoke(cli, ["index", str(photo_tree["root"]), "--data-dir", str(data_dir), "--no-embeddings"])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: search by pixels is off")]
    assert len(warnings) == 1 and "cannot download openai/clip-vit-base-patch32 (HF_HUB_OFFLINE is set)" in warnings[0]
    assert "--image-embedder PATH" in warnings[0] and "Fix it with one of" not in warnings[0]  # one reason, one fix
    assert result.stdout.startswith("15 captioned")


def test_an_image_embedder_the_person_named_that_cannot_load_is_an_error(photo_tree, data_dir, monkeypatch, tmp_path):
    monkeypatch.setattr(pipeline, "load_captioner", lambda options: FakeCaptioner())
    arguments = ["index", str(photo_tree["root"]), "--data-dir", str(data_dir), "--image-embedder", str(tmp_path / "nope")]
    result = CliRunner().invoke(cli, arguments)
    last = result.stderr.splitlines()[-1]  # after the two "loading model" lines: one line saying why
    assert result.exit_code == 1 and "no such folder" in last and "--image-embedder" in last


def test_search_json_rows_name_their_signals(pixel_store, data_dir):
    store, _, _ = pixel_store
    rows = json.loads(CliRunner().invoke(cli, ["search", "red car", "--data-dir", str(data_dir), "--json"]).stdout)
    # the CLI has no image embedder that loads offline for this library ("fake-clip"): words and meaning only
    assert rows[0]["signals"][0] == "words" and set(rows[0]["signals"]) <= {"words", "caption-meaning", "pixels"}


def test_a_schema_1_catalog_gains_the_image_columns_and_keeps_its_rows(photo_tree, data_dir):
    with Store.open(data_dir) as store:
        index_roots(store, [photo_tree["root"]], IndexOptions(model="fake-model", embeddings=False), lambda _: FakeCaptioner())
    as_schema_5(data_dir)
    with sqlite3.connect(data_dir / "captionary.db") as connection:  # as captionary 0.1 left it
        connection.execute("DROP INDEX ix_contents_image_embedder")
        connection.execute("ALTER TABLE contents DROP COLUMN image_embedder")
        connection.execute("ALTER TABLE contents DROP COLUMN image_embedding")
        connection.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    with Store.open_existing(data_dir) as store:
        assert store.stats()["images"] == 16 and image_vectors(store, "x") == 0
    with sqlite3.connect(data_dir / "captionary.db") as connection:
        version = connection.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
        columns = {row[1] for row in connection.execute("PRAGMA table_info(contents)")}
        file_columns = {row[1] for row in connection.execute("PRAGMA table_info(files)")}
    assert int(version) == SCHEMA_VERSION and {"image_embedding", "image_embedder"} <= columns and "place" in file_columns


def test_reembed_images_embeds_a_library_indexed_without_them_and_never_recaptions(photo_tree, data_dir):
    from indexer.reembed import reembed_images

    captioner, fake = FakeCaptioner(), FakeImageEmbedder()
    with Store.open(data_dir) as store:
        index_roots(store, [photo_tree["root"]], IndexOptions(model="fake-model", embeddings=False), lambda _: captioner)
        captioned = sum(captioner.batches)
        before = {hit.image.path: hit.image.caption for hit in store.search("*", limit=100).hits}
        report = reembed_images(store, IndexOptions(image_embedder=fake.model_id), lambda _: fake)
        assert report.embedded == 15 and image_vectors(store, fake.model_id) == 15
        assert sum(captioner.batches) == captioned  # the captioner was never called again
        assert {hit.image.path: hit.image.caption for hit in store.search("*", limit=100).hits} == before
        assert reembed_images(store, IndexOptions(image_embedder=fake.model_id), lambda _: fake).embedded == 0
        assert store.stats()["image_embedded"] == 15


def test_an_index_run_says_how_many_earlier_photos_lack_image_vectors(photo_tree, data_dir):
    fake = FakeImageEmbedder()
    with Store.open(data_dir) as store:
        index_roots(store, [photo_tree["root"]], IndexOptions(model="fake-model", embeddings=False), lambda _: FakeCaptioner())
        # a later run with an image embedder embeds only what it captions; the others are named, with the fix
        report = index_with_pixels(store, photo_tree["root"], fake, embeddings=False)
        assert report.image_embedded == 0 and report.without_image_vectors == 15
        assert "15 photos have no image vectors yet (captionary reembed --images)" in report.summary()


def test_the_library_remembers_the_image_embedder_it_was_given(photo_tree, data_dir, tiny_clip, monkeypatch):
    # issue 24: after reembed --images --image-embedder PATH, index went back to the default (every run then said
    # "N photos have no image vectors yet (captionary reembed --images)", and that command failed offline)
    monkeypatch.setattr(pipeline, "load_captioner", lambda options: FakeCaptioner())
    library = ["--data-dir", str(data_dir)]
    runner = CliRunner()
    indexed = runner.invoke(cli, ["index", str(photo_tree["root"]), *library, "--no-embeddings", "--image-embedder", "none"])
    assert indexed.exit_code == 0 and "image vectors" not in indexed.output
    assert runner.invoke(cli, ["reembed", "--images", *library]).exit_code == 2  # off, as told: it says how to name one
    named = runner.invoke(cli, ["reembed", "--images", *library, "--image-embedder", str(tiny_clip)])
    assert named.exit_code == 0 and "embedded 15 photos" in named.output
    save_jpeg(photo(colour=(30, 200, 30), noise=40, seed=24), photo_tree["root"] / "new.jpg")
    again = runner.invoke(cli, ["index", str(photo_tree["root"]), *library, "--no-embeddings"])
    assert again.exit_code == 0, again.output
    assert "no image vectors" not in again.output and "search by pixels is off" not in again.output
    assert json.loads(runner.invoke(cli, ["stats", "--json", *library]).stdout)["image_embedders"] == {str(tiny_clip): 16}
    hint = runner.invoke(cli, ["reembed", "--images", *library])  # what the hint names works, with no flag
    assert hint.exit_code == 0 and f"embedded 0 photos with {tiny_clip}" in hint.output


def test_image_embedder_none_is_remembered_even_when_the_first_run_is_stopped(photo_tree, data_dir, monkeypatch):
    def stopped(options):
        raise KeyboardInterrupt  # Ctrl-C (or a kill) while the first run starts

    monkeypatch.setattr(pipeline, "load_captioner", stopped)
    runner = CliRunner()
    library = [str(photo_tree["root"]), "--data-dir", str(data_dir), "--no-embeddings"]
    assert runner.invoke(cli, ["index", *library, "--image-embedder", "none"]).exit_code == 1
    loaded: list[str] = []
    monkeypatch.setattr(pipeline, "load_captioner", lambda options: FakeCaptioner())
    monkeypatch.setattr(pipeline, "load_image_embedder", lambda options: loaded.append(options.image_embedder))
    again = runner.invoke(cli, ["index", *library])
    assert again.exit_code == 0 and loaded == [] and "image vectors" not in again.output, again.output


def test_a_library_embedded_before_it_remembered_uses_the_model_of_its_vectors(photo_tree, data_dir, tiny_clip, monkeypatch):
    options = IndexOptions(model="fake-model", embeddings=False, image_embedder=str(tiny_clip), threads=1)
    with Store.open(data_dir) as store:
        index_roots(store, [photo_tree["root"]], options, lambda _: FakeCaptioner())
    monkeypatch.setattr(pipeline, "load_captioner", lambda options: FakeCaptioner())
    save_jpeg(photo(colour=(30, 200, 30), noise=40, seed=24), photo_tree["root"] / "new.jpg")
    result = CliRunner().invoke(cli, ["index", str(photo_tree["root"]), "--data-dir", str(data_dir), "--no-embeddings"])
    assert result.exit_code == 0 and "no image vectors" not in result.output and "warning" not in result.output
    with Store.open(data_dir) as store:
        assert image_vectors(store, str(tiny_clip)) == 16
