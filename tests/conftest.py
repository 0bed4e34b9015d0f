"""Shared fixtures: offline tiny model, generated photo trees, a deterministic fake captioner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.photos import CAPTIONS, COLOURS, make_photo_tree

# Set before anything imports huggingface_hub, which reads these once: no test touches the network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"


@pytest.fixture(autouse=True)
def offline_environment(monkeypatch, tmp_path_factory):
    # No test may use a user's real data dir or model settings.
    monkeypatch.setenv("CAPTIONARY_DATA_DIR", str(tmp_path_factory.mktemp("default-data")))
    monkeypatch.delenv("CAPTIONARY_MODEL", raising=False)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    from tests.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


class FakeCaptioner:
    """Captions by the colour at the image centre: known captions for search tests, no torch."""

    input_side = 32

    def __init__(self, model_id: str = "fake-model") -> None:
        self.model_id = model_id
        self.batches: list[int] = []
        self.seen_sizes: list[tuple[int, int]] = []

    def caption(self, images):
        self.batches.append(len(images))
        captions = []
        for image in images:
            self.seen_sizes.append(image.size)
            pixel = image.convert("RGB").getpixel((image.width // 2, image.height // 2))
            nearest = min(CAPTIONS, key=lambda colour: sum((a - b) ** 2 for a, b in zip(colour, pixel)))
            captions.append(CAPTIONS[nearest])
        return captions


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory) -> Path:
    from tests.tiny_clip import build_tiny_clip

    return build_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


class FakeImageEmbedder:
    """Embeds a photo as the colour at its centre and a text by the colour words it names (synonyms the
    captions never use included): a deterministic stand-in for CLIP that sees what the caption misses."""

    model_id = "fake-clip"
    input_side = 32
    WORDS = {
        "red": 0,
        "scarlet": 0,
        "blue": 1,
        "cobalt": 1,
        "green": 2,
        "emerald": 2,
        "white": 3,
        "ivory": 3,
        "yellow": 4,
        "amber": 4,
    }

    def __init__(self) -> None:
        self.images_seen = 0

    def embed_images(self, images):
        import numpy as np

        self.images_seen += len(images)
        vectors = np.zeros((len(images), 5), dtype=np.float32)
        for row, image in enumerate(images):
            pixel = image.convert("RGB").getpixel((image.width // 2, image.height // 2))
            nearest = min(range(5), key=lambda i: sum((a - b) ** 2 for a, b in zip(COLOURS[i], pixel)))
            vectors[row, nearest] = 1.0
        return vectors

    def encode(self, texts):
        import numpy as np

        vectors = np.zeros((len(texts), 5), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                if word in self.WORDS:
                    vectors[row, self.WORDS[word]] = 1.0
            norm = np.linalg.norm(vectors[row])
            vectors[row] = vectors[row] / norm if norm else vectors[row]
        return vectors


@pytest.fixture
def fake_captioner():
    return FakeCaptioner()


@pytest.fixture
def photo_tree(tmp_path) -> dict:
    return make_photo_tree(tmp_path / "photos")


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


def tree_snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every entry under root with its size and mtime: proves a command wrote nothing there."""
    snapshot = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            stat = os.lstat(path)
            snapshot[path] = (stat.st_size, stat.st_mtime_ns)
    return snapshot
