"""The numpy CLIP text encoder gives the same query vectors as transformers, so search by pixels needs no torch."""

import subprocess
import sys

import numpy as np
import pytest

from indexer.models.clip_text import NumpyClipTextEncoder, supports
from tests.tiny_clip import build_tiny_clip

TEXTS = ["a dog on the beach", "a birthday cake", "x", "a photo of a red car near the sea with people sitting at a table"]


@pytest.mark.parametrize("legacy_eos", [False, True])
def test_numpy_and_torch_agree_on_query_vectors(tmp_path, legacy_eos):
    from indexer.models.image_embedder import ImageEmbedder

    folder = build_tiny_clip(tmp_path / "clip", legacy_eos=legacy_eos)
    numpy_vectors = NumpyClipTextEncoder("tiny", folder).encode(TEXTS)
    torch_vectors = ImageEmbedder(str(folder), device="cpu", threads=1).embed_texts(TEXTS)
    # the same texts batched and padded in torch, one at a time in numpy: equal to float rounding
    assert np.abs(numpy_vectors - torch_vectors).max() < 1e-5
    assert np.allclose(np.linalg.norm(numpy_vectors, axis=1), 1.0, atol=1e-5)


def test_only_clip_folders_are_claimed(tmp_path, tiny_clip):
    assert supports(tiny_clip)
    assert not supports(build_tiny_clip(tmp_path / "siglip", "siglip"))  # SigLIP's text tower differs: torch
    assert not supports(tmp_path / "missing")


def test_a_search_by_pixels_never_imports_torch(tiny_clip, photo_tree, data_dir):
    from db.store import Store
    from indexer.options import IndexOptions
    from indexer.pipeline import index_roots
    from tests.conftest import FakeCaptioner

    options = IndexOptions(model="fake-model", embeddings=True, image_embedder=str(tiny_clip), threads=1)
    with Store.open(data_dir) as store:
        index_roots(store, [photo_tree["root"]], options, lambda _: FakeCaptioner())
    script = (
        "import sys, json; from click.testing import CliRunner; from indexer.cli import cli; "
        f"r = CliRunner().invoke(cli, ['search', 'a dog on the beach', '--data-dir', {str(data_dir)!r}, '--json']); "
        "rows = json.loads(r.stdout); print(len(rows), 'indexer.models.clip_text' in sys.modules, 'torch' in sys.modules)"
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120).stdout.split()
    # answered, with the query embedded for the pixels by the numpy encoder, and torch never loaded
    assert output == [output[0], "True", "False"] and int(output[0]) >= 1


def test_a_library_whose_image_embedder_is_not_here_searches_by_words_without_torch(photo_tree, data_dir):
    from db.store import Store
    from indexer.options import IndexOptions
    from indexer.pipeline import index_roots
    from tests.conftest import FakeCaptioner, FakeImageEmbedder

    fake = FakeImageEmbedder()  # "fake-clip": no such model on disk or in the Hub cache
    options = IndexOptions(model="fake-model", embeddings=True, image_embedder=fake.model_id)
    with Store.open(data_dir) as store:
        index_roots(store, [photo_tree["root"]], options, lambda _: FakeCaptioner(), image_embedder_factory=lambda _: fake)
    script = (
        "import sys, json; from click.testing import CliRunner; from indexer.cli import cli; "
        f"r = CliRunner().invoke(cli, ['search', 'red car', '--data-dir', {str(data_dir)!r}, '--json']); "
        "print(json.loads(r.stdout)[0]['signals'][0], 'torch' in sys.modules)"
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120).stdout.split()
    # the model is looked for before torch is imported: words still answer, and torch never loads (it did)
    assert output == ["words", "False"]
