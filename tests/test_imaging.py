"""Decoding photos: orientation, colour modes, reduced-size (draft) decode, metadata, bad files."""

import io
from datetime import datetime

import numpy
import pytest
from PIL import Image

from indexer.imaging import ImageReadError, open_photo, to_rgb
from tests.photos import photo, save_jpeg, write_all_formats, write_bad_files


def test_exif_rotation_is_applied(tmp_path):
    path = save_jpeg(photo(size=(80, 40)), tmp_path / "r.jpg", orientation=6)
    decoded = open_photo(path)
    # stored 80x40 landscape, orientation 6 -> viewed as 40x80 portrait
    assert decoded.image.size == (40, 80)
    assert (decoded.info.width, decoded.info.height) == (40, 80)


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "WEBP", "TIFF"])
@pytest.mark.parametrize("orientation", [3, 5, 6, 8])
def test_a_turned_photo_is_stored_with_its_upright_size_in_every_format(tmp_path, kind, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"turned.{kind.lower()}"
    photo(size=(80, 40)).save(path, kind, exif=exif.tobytes())
    decoded = open_photo(path)
    upright = (40, 80) if orientation in (5, 6, 8) else (80, 40)
    assert decoded.image.size == upright and (decoded.info.width, decoded.info.height) == upright  # TIFF said 80x40


def test_every_format_decodes_to_rgb(tmp_path):
    for path in write_all_formats(tmp_path, colour=(30, 30, 220)):
        decoded = open_photo(path)
        assert decoded.image.mode == "RGB", path.name
        assert decoded.image.size == (64, 48), path.name


def test_transparency_is_composited_on_white():
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert to_rgb(rgba).getpixel((0, 0)) == (255, 255, 255)


def test_sixteen_bit_greyscale_is_scaled_not_clipped():
    grey16 = Image.new("I;16", (2, 2), 65535)
    assert to_rgb(grey16).getpixel((0, 0)) == (255, 255, 255)
    assert to_rgb(Image.new("I;16", (2, 2), 32768)).getpixel((0, 0))[0] in (127, 128)


def test_thirty_two_bit_greyscale_is_scaled_by_the_depth_its_values_need(tmp_path):
    ramp = numpy.tile(numpy.arange(0, 256, 16, dtype=numpy.int32), (4, 1))
    for bits in (8, 16, 24, 31):
        Image.fromarray(ramp * (1 << (bits - 8))).save(tmp_path / f"{bits}.tif")
        grey = [to_rgb(Image.open(tmp_path / f"{bits}.tif")).getpixel((column, 0))[0] for column in (0, 8, 15)]
        assert grey == [0, 128, 240], bits


def test_animated_gif_uses_first_frame(tmp_path):
    frames = [photo(colour=(220, 30, 30)).convert("P"), photo(colour=(0, 0, 0)).convert("P")]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    red, green, blue = open_photo(tmp_path / "a.gif").image.getpixel((5, 5))
    assert red > 150 and green < 100


def test_draft_decode_reduces_large_jpegs_but_keeps_min_side(tmp_path):
    path = tmp_path / "big.jpg"
    photo(size=(4000, 3000), noise=30).save(path, quality=85)
    full = open_photo(path)
    reduced = open_photo(path, min_side=224)
    assert full.image.size == (4000, 3000)
    # decoded at 1/8 scale in the JPEG decoder: 500x375, still >= 224 on both sides
    assert reduced.image.size == (500, 375)
    # metadata describes the photo, not the reduced decode
    assert (reduced.info.width, reduced.info.height) == (4000, 3000)


def test_draft_decode_respects_rotation(tmp_path):
    path = save_jpeg(photo(size=(4000, 3000)), tmp_path / "rot.jpg", orientation=8)
    reduced = open_photo(path, min_side=320)
    assert reduced.image.size == (375, 500)
    assert (reduced.info.width, reduced.info.height) == (3000, 4000)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "I;16", "L"])
def test_other_formats_are_shrunk_by_a_whole_factor_before_they_are_turned_and_converted(tmp_path, mode):
    path = tmp_path / "big.png"
    picture = photo(size=(1000, 800)).convert("L" if mode in ("I;16", "L") else "RGB")
    picture = picture.convert("I").point(lambda value: value * 256).convert("I;16") if mode == "I;16" else picture
    picture.convert(mode).save(path) if mode != "I;16" else picture.save(path)
    decoded = open_photo(path, min_side=224)
    assert decoded.image.size == (334, 267) and decoded.image.mode == "RGB"  # 800 // 224 = 3: never below 224
    assert (decoded.info.width, decoded.info.height) == (1000, 800)
    whole = open_photo(path, min_side=0).image  # the same picture, only smaller: 16-bit still scaled to 8
    expected = numpy.asarray(whole.reduce(3), dtype=float)
    assert numpy.abs(numpy.asarray(decoded.image, dtype=float) - expected).mean() < 2


def test_exif_date_and_camera_are_read(tmp_path):
    from indexer.metadata import read_metadata

    path = save_jpeg(photo(), tmp_path / "e.jpg", taken="2019:06:01 12:34:56", camera="Pixel 4")
    read = read_metadata(path.read_bytes(), str(path), "")
    assert read.taken_at == datetime(2019, 6, 1, 12, 34, 56)
    assert read.camera == "Pixel 4"
    assert open_photo(path).info.format == "JPEG"


def test_bad_files_raise_a_short_reason(tmp_path):
    bad = write_bad_files(tmp_path)
    reasons = {}
    for kind, path in bad.items():
        with pytest.raises(ImageReadError) as raised:
            open_photo(path)
        reasons[kind] = str(raised.value)
    assert reasons["empty"] == "empty file"
    assert "truncated" in reasons["truncated"]
    assert "not an image" in reasons["text"]
    assert "decompression bomb" in reasons["bomb"]
    # reasons are one short line, fit for the DB and a summary
    assert all("\n" not in reason and len(reason) < 120 for reason in reasons.values())


def test_bytes_and_paths_decode_the_same(tmp_path):
    path = save_jpeg(photo(noise=20), tmp_path / "x.jpg")
    from_path = open_photo(path).image
    from_bytes = open_photo(path.read_bytes()).image
    assert from_path.tobytes() == from_bytes.tobytes()
    assert open_photo(io.BytesIO(path.read_bytes()).getvalue()).image.size == (64, 48)


def test_draft_decode_feeds_the_model_nearly_the_same_pixels(tmp_path):
    # What the model sees after the processor's resize: draft decode must not change it materially.
    import numpy as np
    from transformers import ViTImageProcessor

    from bench.photoset import realistic_photo
    from indexer.reading import reduce_for_model

    processor = ViTImageProcessor(size={"height": 224, "width": 224})
    for seed in range(2):
        path = tmp_path / f"{seed}.jpg"
        realistic_photo((2400, 1800), seed).save(path, quality=90)
        full = Image.open(path).convert("RGB")
        draft = reduce_for_model(open_photo(path, 320).image, 224)
        tensors = [processor(images=[image], return_tensors="np").pixel_values for image in (full, draft)]
        # mean difference under 1% of the [-1, 1] range (measured: about 0.004, half a grey level)
        assert float(np.abs(tensors[0] - tensors[1]).mean()) < 0.02
