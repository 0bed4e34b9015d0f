"""Pictures with extreme sides (a 1x60000 strip): every model is given them evened out, so one such file costs
what a photo costs, under a real memory limit, with the real OCR engine and the real image processors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from indexer.imaging import MODEL_MAX_ASPECT, bounded_aspect, for_model, open_photo
from indexer.thumbnails import make_thumbnail, save_thumbnail
from tests.photos import photo, save_jpeg

REPOSITORY = Path(__file__).resolve().parent.parent
STRIPS = {"tall-strip.png": (1, 60000), "short-strip.png": (1, 600)}
PHOTO_BUDGET_MB = 500  # the most one photo may cost (issue: peak memory for any single photo)


@pytest.fixture(scope="module")
def clip_at_224(tmp_path_factory) -> Path:
    """A tiny CLIP whose processor is openai/clip-vit-base-patch32's: shorter side scaled to 224, then cropped."""
    from tests.tiny_clip import build_tiny_clip

    return build_tiny_clip(tmp_path_factory.mktemp("clip-224"), image_side=224)


def write_strips(root: Path) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, size in STRIPS.items():
        Image.new("RGB", size, (200, 40, 40)).save(root / name)
        paths[name] = root / name
    return paths


def test_thin_strips_index_with_ocr_and_an_image_embedder_within_a_photos_memory(tmp_path, tiny_model, clip_at_224):
    warm = tmp_path / "warm"
    save_jpeg(photo(size=(640, 480), noise=20), warm / "ordinary.jpg")
    write_strips(tmp_path / "strips")
    command = [
        sys.executable,
        "-m",
        "tests.memory_limited_index",
        str(tmp_path / "data"),
        str(warm),
        str(tmp_path / "strips"),
        str(tiny_model),
        str(clip_at_224),
        "1024",  # address space allowed above the loaded models: the detector alone asked 3.4 GiB for one strip
    ]
    environment = dict(os.environ, PYTHONPATH=str(REPOSITORY))
    finished = subprocess.run(command, capture_output=True, text=True, timeout=600, env=environment, cwd=REPOSITORY)
    assert finished.returncode == 0, finished.stderr[-2000:]
    result = json.loads(finished.stdout.strip().splitlines()[-1])
    assert result["failures"] == []
    assert result["captioned"] == result["image_embedded"] == result["ocr_read"] == len(STRIPS)
    assert result["growth_mb"] < PHOTO_BUDGET_MB, result


@pytest.mark.parametrize("size", [(1, 60000), (60000, 1), (1, 600), (7, 5000)])
def test_a_strip_is_evened_out_to_the_models_ratio_and_a_photo_is_left_alone(size):
    strip = Image.new("RGB", size, (0, 0, 0))
    given = for_model(strip, 224)
    longer, shorter = max(given.size), min(given.size)
    assert longer <= 224 * MODEL_MAX_ASPECT and longer <= MODEL_MAX_ASPECT * shorter + 1
    # the strip is kept whole (its black is there) on a white margin, not stretched across the picture
    assert given.convert("L").getextrema() == (0, 255)
    assert given.getpixel((0, 0)) == given.getpixel((given.width - 1, given.height - 1)) == (255, 255, 255)
    ordinary = photo(size=(4000, 300))  # a panorama well within the ratio
    assert for_model(ordinary, 224) is ordinary and bounded_aspect(ordinary, 20, 100) is ordinary


def test_a_strip_decodes_and_gets_a_thumbnail_no_longer_than_the_thumbnail_side(tmp_path):
    for name, path in write_strips(tmp_path).items():
        decoded = open_photo(str(path), 320)
        assert decoded.image.size == STRIPS[name]
        save_thumbnail(decoded.image, tmp_path / f"{name}.jpg")
        with Image.open(tmp_path / f"{name}.jpg") as thumbnail:
            assert max(thumbnail.size) <= 320 and max(thumbnail.size) <= 2 * min(thumbnail.size)


@pytest.mark.parametrize(
    ("size", "thumbnail"),
    [((12000, 500), (320, 160)), ((500, 12000), (160, 320)), ((4000, 3000), (320, 240)), ((6000, 3000), (320, 160))],
)
def test_a_panoramas_thumbnail_is_its_middle_so_the_grids_square_is_not_a_smear(size, thumbnail):
    # was: 320x13 for the 12000x500 panorama, whose middle square the grid blew up from 13 pixels
    picture = photo(size=size)
    made = make_thumbnail(picture)
    assert made.size == thumbnail
    middle = picture.getpixel((size[0] // 2, size[1] // 2))
    assert max(abs(a - b) for a, b in zip(made.getpixel((made.width // 2, made.height // 2)), middle)) < 40
