"""Every photo people keep: AVIF and JPEG XL like any photo, camera RAW by its embedded preview (and a RAW
beside its JPEG as a pair), formats counted and filtered by name, and no file skipped in silence."""

import io
import json
import os
import struct
import sys
from datetime import datetime

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, PngImagePlugin

from db.formats import extensions_of
from db.records import thumbnail_path
from db.sidecars import sidecar_signature
from db.store import Store
from db.types import Filters
from indexer import pipeline
from indexer.cli import cli
from indexer.imaging import ImageReadError, open_photo
from indexer.metadata import read_metadata
from tests.conftest import FakeCaptioner
from tests.format_photos import exif_bytes, save_avif, save_avif_10_bit, save_jxl, write_dng
from tests.helpers import index_with, read_one
from tests.metadata_photos import xmp_packet
from tests.photos import CAPTIONS, photo, save_jpeg, write_bad_files

BLUE, GREEN, RED = (30, 30, 220), (30, 200, 30), (220, 30, 30)


def test_avif_and_jpeg_xl_are_indexed_with_their_exif_and_thumbnails(tmp_path, data_dir):
    root = tmp_path / "photos"
    avif = save_avif(root / "phone.avif", BLUE, exif_bytes(original="2021:05:06 07:08:09", camera="Pixel 7"))
    jxl = save_jxl(root / "camera.jxl", exif=exif_bytes(original="2020:01:02 03:04:05", camera="Nikon Z 6"))
    with Store.open(data_dir) as store:
        report = index_with(store, [root], FakeCaptioner())
        assert (report.captioned, report.failed) == (2, 0)
        phone, camera = store.image_by_path(avif), store.image_by_path(jxl)
        assert (phone.caption, phone.format, phone.camera, phone.taken_at) == (
            CAPTIONS[BLUE],
            "AVIF",
            "Pixel 7",
            datetime(2021, 5, 6, 7, 8, 9),
        )
        assert (camera.caption, camera.format, camera.camera, camera.taken_at) == (
            CAPTIONS[GREEN],
            "JXL",
            "Nikon Z 6",
            datetime(2020, 1, 2, 3, 4, 5),
        )
        assert all(thumbnail_path(store.thumbnail_dir, record.content_hash).exists() for record in (phone, camera))
        assert store.stats()["formats"] == {"AVIF": 1, "JPEG XL": 1}


def test_a_heic_is_read_by_its_primary_picture_even_when_it_is_not_the_first(tmp_path, data_dir):
    import pillow_heif

    heif = pillow_heif.from_pillow(Image.new("RGB", (64, 48), GREEN))  # a depth map or burst frame first
    heif.add_from_pillow(Image.new("RGB", (64, 48), RED))
    path = tmp_path / "photos" / "portrait.heic"
    path.parent.mkdir()
    heif.save(path, primary_index=1)  # what every viewer shows
    assert np.asarray(open_photo(path).image)[24, 32].tolist() == pytest.approx(list(RED), abs=8)
    with Store.open(data_dir) as store:
        index_with(store, [path.parent], FakeCaptioner())
        record = store.image_by_path(path)
        thumbnail = Image.open(thumbnail_path(store.thumbnail_dir, record.content_hash))
    assert record.caption == CAPTIONS[RED]
    assert thumbnail.convert("RGB").getpixel((thumbnail.width // 2, thumbnail.height // 2)) == pytest.approx(RED, abs=8)


def test_a_10_bit_avif_is_scaled_to_8_bits_not_clipped(tmp_path):
    path = save_avif_10_bit(tmp_path / "hdr.avif", grey=512)
    if path is None:
        pytest.skip("avifenc (libavif-bin) is not installed: Pillow writes 8-bit AVIF only")
    level = np.asarray(open_photo(path).image).mean()
    assert abs(level - 128) < 3  # the middle of 0..1023 is the middle of 0..255


def test_a_floating_point_jpeg_xl_is_not_black(tmp_path):
    # HDR and float pictures open as mode F, 0.0 (black) to 1.0 (white); converting them as 8-bit made 0.5 black
    grey = Image.fromarray(np.full((48, 64), 0.5, dtype=np.float32), mode="F")
    path = save_jxl(tmp_path / "float.jxl", grey)
    level = np.asarray(open_photo(path).image).mean()
    assert 110 < level < 200  # mid grey (sRGB, or linear on the way), not 0


def test_a_floating_point_colour_tiff_is_named_as_a_tiff_not_as_junk(tmp_path):
    import tifffile

    tifffile.imwrite(tmp_path / "hdr.tif", np.random.default_rng(1).random((16, 24, 3), dtype=np.float32), photometric="rgb")
    with pytest.raises(ImageReadError, match="a TIFF that cannot be decoded: damaged, or pixels of a kind"):
        open_photo(tmp_path / "hdr.tif")
    (tmp_path / "junk.tif").write_bytes(b"not a tiff at all")
    with pytest.raises(ImageReadError, match="unrecognised format"):
        open_photo(tmp_path / "junk.tif")


def test_a_jpeg_xl_claiming_gigapixels_is_refused_before_it_is_decoded(tmp_path):
    # SizeHeader: small=0, height selector 3 (30 bits) = 60000 - 1, ratio 1 (square): 3.6 gigapixels
    bits = [0, 1, 1] + [(59999 >> i) & 1 for i in range(30)] + [1, 0, 0]
    header = bytes(sum(bit << i for i, bit in enumerate(bits[start : start + 8])) for start in range(0, len(bits), 8))
    path = tmp_path / "bomb.jxl"
    path.write_bytes(b"\xff\x0a" + header + bytes(64))
    with pytest.raises(ImageReadError, match=r"too many pixels \(60000x60000"):
        open_photo(path)


@pytest.mark.parametrize("kind", ["ICO", "BLP", "TGA", "JPEG2000"])
def test_a_file_of_a_kind_that_is_not_a_photo_format_is_refused_whatever_its_name(tmp_path, kind):
    # Pillow would decode these; some hold a picture whose own size nothing checks (an icon's PNG, a BLP's JPEG)
    path = tmp_path / "photo.jpg"
    photo(size=(64, 64)).convert("P" if kind == "BLP" else "RGB").save(path, kind)
    with pytest.raises(ImageReadError, match="not an image"):
        open_photo(str(path), 32)
    assert read_one(path).error == "not an image (unrecognised format)"


def _tiff_listing_strips(count: int, width: int = 16, height: int = 16, orientation: int = 1) -> bytes:
    """A grey TIFF whose StripOffsets list `count` strips, each one row long (all at the same bytes)."""
    entries = [(256, 3, 1, width), (257, 3, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1)]
    entries += [(274, 3, 1, orientation), (277, 3, 1, 1), (278, 3, 1, 1), (273, 4, count, None), (279, 4, count, None)]
    offsets_at = 8 + 2 + len(entries) * 12 + 4
    pixels_at = offsets_at + 8 * count
    ifd = bytearray(struct.pack("<H", len(entries)))
    for tag, kind, number, value in sorted(entries):
        at = offsets_at if tag == 273 else offsets_at + 4 * count
        ifd += (
            struct.pack("<HHII", tag, kind, number, at) if value is None else struct.pack("<HHIHH", tag, kind, number, value, 0)
        )
    body = struct.pack(f"<{count}I", *[pixels_at] * count) + struct.pack(f"<{count}I", *[width] * count)
    return b"II*\x00" + struct.pack("<I", 8) + bytes(ifd) + struct.pack("<I", 0) + body + bytes(width * height)


def test_a_tiff_listing_more_strips_than_its_picture_can_hold_is_refused_before_it_is_decoded(tmp_path):
    (tmp_path / "sixteen.tif").write_bytes(_tiff_listing_strips(16))  # one strip a row: a real TIFF
    assert open_photo(str(tmp_path / "sixteen.tif"), 8).info.width == 16
    # 8 wide and 1,000 rows, shown on its side: Pillow gives the picture's size upright, 1000x8
    (tmp_path / "turned.tif").write_bytes(_tiff_listing_strips(1000, width=8, height=1000, orientation=6))
    assert open_photo(str(tmp_path / "turned.tif"), 8).info.width == 1000
    (tmp_path / "listed.tif").write_bytes(_tiff_listing_strips(20_000))  # Pillow would decode 20,000 strips in Python
    with pytest.raises(ImageReadError, match="a damaged TIFF: 20,000 strips or tiles for a picture of 16x16"):
        open_photo(str(tmp_path / "listed.tif"), 8)


def _tiff_with_resolution(count: int) -> bytes:
    """A 16x16 grey TIFF whose XResolution holds `count` rationals (a TIFF has one)."""
    entries = [(256, 3, 1, 16), (257, 3, 1, 16), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1), (278, 3, 1, 16)]
    pixels_at = 8 + 2 + (len(entries) + 3) * 12 + 4
    entries += [(273, 4, 1, pixels_at), (279, 4, 1, 256), (282, 5, count, pixels_at + 256)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", tag, kind, number, value) if kind != 3 else struct.pack("<HHIHH", tag, kind, number, value, 0)
        for tag, kind, number, value in sorted(entries)
    )
    return b"II*\x00" + struct.pack("<I", 8) + ifd + bytes(4) + bytes(range(256)) + struct.pack("<II", 300, 1) * count


def test_a_tiff_tag_holding_far_more_values_than_it_can_use_is_refused_before_pillow_decodes_it(monkeypatch):
    from PIL import TiffImagePlugin

    from indexer.metadata import read_metadata

    assert open_photo(_tiff_with_resolution(1), 8).info.width == 16  # a real TIFF's one resolution
    bloated = _tiff_with_resolution(200_000)
    made: list[int] = []
    rational = TiffImagePlugin.IFDRational.__init__
    monkeypatch.setattr(TiffImagePlugin.IFDRational, "__init__", lambda self, *values: made.append(1) or rational(self, *values))
    with pytest.raises(ImageReadError, match="a damaged TIFF: its XResolution holds 200,000 values"):
        open_photo(bloated, 8)
    assert read_metadata(bloated, "bloated.tif", "").problems == ()
    assert made == []  # Pillow made an object of each value as it opened the file: 2 million took 13 s, twice


def _rle8_bitmap(width: int, height: int, row: bytes) -> bytes:
    """An 8-bit grey BMP coded by runs, every row coded as `row` then ended (Pillow writes no RLE itself)."""
    body = (row + b"\x00\x00") * height + b"\x00\x01"
    palette = b"".join(bytes((i, i, i, 0)) for i in range(256))
    header = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(body), 2835, 2835, 256, 0)
    start = 14 + len(header) + len(palette)
    return b"BM" + struct.pack("<IHHI", start + len(body), 0, 0, start) + header + palette + body


def test_a_run_length_bitmap_is_read_up_to_30_megapixels_and_refused_past_it_before_it_is_decoded(tmp_path):
    runs = b"".join(bytes((200, shade)) for shade in (40, 90, 140, 190, 240)) * 4  # 4000 pixels in runs of 200
    (tmp_path / "screenshot.bmp").write_bytes(_rle8_bitmap(4000, 3000, runs))
    read = open_photo(str(tmp_path / "screenshot.bmp"), 32)
    assert (read.info.width, read.info.height) == (4000, 3000) and read.image.getpixel((0, 0)) == (40, 40, 40)
    # each row ended at its first pixel: Pillow pads the rest a byte at a time in Python (135 ns a pixel)
    (tmp_path / "rows.bmp").write_bytes(_rle8_bitmap(6000, 5001, b"\x01\x05"))
    with pytest.raises(ImageReadError, match="a run-length-coded BMP of 6000x5001: over the 30 MP"):
        open_photo(str(tmp_path / "rows.bmp"), 32)


def test_a_photo_or_sidecar_that_is_a_link_when_read_says_link_not_followed(tmp_path):
    root = tmp_path / "photos"
    save_jpeg(photo(), root / "a.jpg")
    save_jpeg(photo(), tmp_path / "elsewhere.jpg")
    (tmp_path / "elsewhere.xmp").write_bytes(xmp_packet(subjects=["linked"]))
    os.symlink(tmp_path / "elsewhere.xmp", root / "a.xmp")
    os.symlink(tmp_path / "elsewhere.jpg", root / "b.jpg")
    # a file at the scan, a link when it is read: as the crawl names a link, not "too many levels of symbolic links"
    assert read_one(root / "b.jpg").error == "link not followed"
    # a sidecar the scan saw as a file, a link when it is read
    metadata = read_metadata((root / "a.jpg").read_bytes(), str(root / "a.jpg"), sidecar_signature([("a.xmp", 1, 1)]))
    assert metadata.problems == ("a.xmp: cannot read (link not followed)",)


def test_a_png_named_jpg_and_a_jpeg_named_png_are_still_read(tmp_path):
    photo(size=(64, 48)).save(tmp_path / "a.jpg", "PNG")
    photo(size=(64, 48)).save(tmp_path / "b.png", "JPEG")
    assert open_photo(str(tmp_path / "a.jpg"), 32).info.format == "PNG"
    assert open_photo(str(tmp_path / "b.png"), 32).info.format == "JPEG"


def test_a_jpeg_with_a_depth_map_is_decoded_at_a_reduced_size_like_any_jpeg(tmp_path):
    picture = photo(size=(1600, 1200), noise=20)
    picture.save(tmp_path / "plain.jpg", "JPEG")
    picture.save(tmp_path / "phone.jpg", "MPO", save_all=True, append_images=[photo(size=(160, 120))])  # MPF: an MPO
    plain, phone = open_photo(str(tmp_path / "plain.jpg"), 100), open_photo(str(tmp_path / "phone.jpg"), 100)
    assert phone.info.format == "MPO" and (phone.info.width, phone.info.height) == (1600, 1200)
    assert phone.image.size == plain.image.size == (200, 150)  # 1/8 scale: a 48 MP phone photo is not decoded whole


def _metadata_after_the_pixels(png: bytes) -> bytes:
    """The PNG with its eXIf and iTXt chunks moved to just before IEND, where older writers put them."""
    chunks, position = [], 8
    while position < len(png):
        end = position + 12 + int.from_bytes(png[position : position + 4], "big")
        chunks.append(png[position:end])
        position = end
    metadata = [chunk for chunk in chunks if chunk[4:8] in (b"eXIf", b"iTXt")]
    rest = [chunk for chunk in chunks if chunk[4:8] not in (b"eXIf", b"iTXt")]
    return png[:8] + b"".join(rest[:-1] + metadata + rest[-1:])


@pytest.fixture
def png_decodes(monkeypatch) -> list[str]:
    """Every PNG decoded while the test runs, by the name Pillow was given."""
    decoded: list[str] = []
    load = PngImagePlugin.PngImageFile.load

    def counted(image):
        decoded.append(str(getattr(image, "filename", "")))
        return load(image)

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", counted)
    return decoded


@pytest.mark.parametrize("after_the_pixels", [False, True])
@pytest.mark.parametrize("packed", [False, True])
def test_a_png_gives_its_exif_and_xmp_wherever_their_chunks_are_without_decoding_its_pixels(
    png_decodes, after_the_pixels, packed
):
    buffer, text = io.BytesIO(), PngImagePlugin.PngInfo()
    text.add_itxt("XML:com.adobe.xmp", xmp_packet(subjects=["harbour"], title="Boats").decode(), zip=packed)
    photo().save(buffer, "PNG", pnginfo=text, exif=exif_bytes(original="2020:01:02 03:04:05", camera="Nikon Z 6"))
    png = _metadata_after_the_pixels(buffer.getvalue()) if after_the_pixels else buffer.getvalue()
    assert (png.index(b"eXIf") > png.index(b"IDAT")) == (png.index(b"iTXt") > png.index(b"IDAT")) == after_the_pixels
    metadata = read_metadata(png, "screenshot.png", "")
    assert (metadata.taken_at, metadata.camera) == (datetime(2020, 1, 2, 3, 4, 5), "Nikon Z 6")
    assert (metadata.keywords, metadata.title) == (("harbour",), "Boats")
    assert png_decodes == []  # Pillow reaches trailing chunks by decoding the picture: 1.9 GB for a 22,000 px PNG


def test_a_png_too_large_to_decode_is_refused_before_any_of_it_is_decoded(tmp_path, png_decodes):
    bomb = write_bad_files(tmp_path)["bomb"]  # 20,000 x 20,000: 48 kB on disk, past the pixel limit
    read = read_one(bomb)
    assert read.error is not None and "too many pixels" in read.error
    assert png_decodes == []  # not even by the metadata reader, before the decode's own check


def test_without_the_gpl_jpeg_xl_plugin_a_jxl_fails_with_a_reason_that_names_the_extra(tmp_path, data_dir, monkeypatch):
    root = tmp_path / "photos"
    jxl = save_jxl(root / "camera.jxl")
    save_jpeg(photo(colour=RED), root / "fine.jpg")
    # as `pip install captionary` leaves it: the plugin (GPL-3.0) cannot be imported, and Pillow knows no JXL
    monkeypatch.setitem(sys.modules, "pillow_jxl", None)
    monkeypatch.delitem(Image.OPEN, "JXL")
    monkeypatch.setattr(Image, "ID", [name for name in Image.ID if name != "JXL"])
    with Store.open(data_dir) as store:
        report = index_with(store, [root], FakeCaptioner())
    assert (report.captioned, report.failed) == (1, 1)
    reason = dict(report.failures)[str(jxl)]
    assert "pip install 'captionary[jxl]'" in reason and "GPL-3.0" in reason and "\n" not in reason


def test_a_dng_is_read_by_its_embedded_preview_with_exif_from_the_raw(tmp_path, data_dir):
    root = tmp_path / "photos"
    raw = write_dng(root / "IMG_0001.dng", photo(size=(96, 64), colour=BLUE))
    with Store.open(data_dir) as store:
        report = index_with(store, [root], FakeCaptioner())
        assert (report.captioned, report.failed) == (1, 0)
        record = store.image_by_path(raw)
        # the preview was captioned; the facts are the RAW's own: its format, its size, its date and camera
        assert (record.caption, record.format, record.width, record.height) == (CAPTIONS[BLUE], "DNG", 48, 32)
        assert (record.taken_at, record.camera) == (datetime(2022, 3, 4, 5, 6, 7), "Canon EOS R5")
        assert thumbnail_path(store.thumbnail_dir, record.content_hash).exists()
        assert store.stats()["formats"] == {"DNG": 1}


def test_a_raw_shot_upright_shows_its_preview_upright(tmp_path):
    # a camera turned on its side stores the preview as the sensor saw it, and says so in the RAW
    preview = photo(size=(96, 64), colour=BLUE)
    preview.paste((220, 30, 30), (0, 0, 96, 8))  # a red band along the top as the sensor saw it
    decoded = open_photo(write_dng(tmp_path / "portrait.dng", preview, orientation=6))
    assert decoded.image.size == (64, 96) and (decoded.info.width, decoded.info.height) == (32, 48)
    assert decoded.image.getpixel((60, 48))[0] > 150  # the top band is now along the right side


def test_a_raw_without_a_preview_is_recorded_with_its_reason(tmp_path, data_dir):
    root = tmp_path / "photos"
    bare = write_dng(root / "bare.dng", preview=None)
    (root / "broken.nef").write_bytes(b"not a raw file at all" * 10)
    save_jpeg(photo(colour=RED), root / "fine.jpg")
    with Store.open(data_dir) as store:
        report = index_with(store, [root], FakeCaptioner())
        reasons = dict(report.failures)
        assert (report.captioned, report.failed) == (1, 2)
        assert "without an embedded preview" in reasons[str(bare)]
        assert "not a RAW file" in reasons[str(root / "broken.nef")]


@pytest.fixture
def pair_tree(tmp_path):
    root = tmp_path / "photos"
    write_dng(root / "IMG_1.dng", photo(size=(96, 64), colour=BLUE))
    save_jpeg(photo(colour=BLUE, noise=8), root / "IMG_1.JPG", taken="2022:03:04 05:06:07")
    save_jpeg(photo(colour=RED), root / "IMG_2.JPG")
    write_dng(root / "other" / "IMG_2.dng", photo(size=(96, 64), colour=RED))  # another folder: no pair
    return root


def _search_json(data_dir, query="*"):
    result = CliRunner().invoke(cli, ["search", query, "--json", "--limit", "50", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    return {row["path"]: row for row in json.loads(result.output)}


def test_a_raw_and_its_jpeg_are_both_indexed_and_name_each_other(pair_tree, data_dir):
    with Store.open(data_dir) as store:
        assert index_with(store, [pair_tree], FakeCaptioner()).captioned == 4
        record = store.image_by_path(pair_tree / "IMG_1.JPG")
        assert (record.pair, record.pair_id) == (str(pair_tree / "IMG_1.dng"), store.image_by_path(pair_tree / "IMG_1.dng").id)
    rows = _search_json(data_dir)
    assert rows[str(pair_tree / "IMG_1.dng")]["pair"] == str(pair_tree / "IMG_1.JPG")
    assert rows[str(pair_tree / "IMG_1.JPG")]["pair"] == str(pair_tree / "IMG_1.dng")
    assert rows[str(pair_tree / "IMG_2.JPG")]["pair"] is None
    assert rows[str(pair_tree / "other" / "IMG_2.dng")]["pair"] is None


def test_excluding_the_raws_keeps_only_the_jpegs(pair_tree, data_dir):
    with Store.open(data_dir) as store:
        index_with(store, [pair_tree], FakeCaptioner(), excludes=["*.dng"])
    rows = _search_json(data_dir)
    assert sorted(rows) == [str(pair_tree / "IMG_1.JPG"), str(pair_tree / "IMG_2.JPG")]
    assert {row["pair"] for row in rows.values()} == {None}


def _skipping_tree(tmp_path):
    root = tmp_path / "photos"
    save_jpeg(photo(colour=RED), root / "photo.jpg")
    (root / "clip.mov").write_bytes(b"\x00\x00\x00\x14ftypqt  ")
    (root / "trip" / "clip2.MP4").parent.mkdir(parents=True)
    (root / "trip" / "clip2.MP4").write_bytes(b"\x00\x00\x00\x14ftypisom")
    (root / "design.psd").write_bytes(b"8BPS")
    (root / "photo.xmp").write_bytes(xmp_packet(subjects=["trip"]))  # a sidecar: part of its photo, not skipped
    (root / ".DS_Store").write_bytes(b"hidden")  # hidden: not the person's
    (root / "notes.txt").write_bytes(b"excluded below")
    return root


def test_the_summary_names_the_files_it_skipped_by_kind(tmp_path, data_dir):
    root = _skipping_tree(tmp_path)
    with Store.open(data_dir) as store:
        report = index_with(store, [root], FakeCaptioner(), excludes=["*.txt"])
    assert "; 3 skipped: 1 .mov (video), 1 .mp4 (video), 1 .psd (not a photo type)" in report.summary()
    assert sorted(kind for _, kind in report.skipped) == ["not a photo type", "video", "video"]


def test_a_root_given_twice_in_any_spelling_is_crawled_once(tmp_path, data_dir, monkeypatch):
    root = _skipping_tree(tmp_path)
    (tmp_path / "link").symlink_to(root)
    monkeypatch.chdir(tmp_path)
    with Store.open(data_dir) as store:
        report = index_with(store, [root, "photos", "./photos/", tmp_path / "link"], FakeCaptioner(), excludes=["*.txt"])
        assert store.stats()["roots"] == [str(root)]
    assert (report.captioned, len(report.skipped)) == (1, 3)  # it was 1 and 12: each spelling crawled again


def test_a_folder_given_with_the_folder_it_is_in_is_crawled_once(tmp_path, data_dir):
    root = tmp_path / "photos"
    for name, colour in (("a.jpg", RED), ("2019/b.jpg", GREEN), ("2019/trip/c.jpg", BLUE)):
        save_jpeg(photo(colour=colour), root / name)
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
        report = index_with(store, [root / "2019" / "trip", root, root / "2019"], FakeCaptioner())
        assert store.stats()["roots"] == [str(root)]
    assert report.unchanged == 3  # it was 6: the nested folders counted again


def test_links_fifos_and_broken_links_are_named_not_passed_over(tmp_path, data_dir):
    root = tmp_path / "photos"
    save_jpeg(photo(colour=RED), root / "photo.jpg")
    outside = save_jpeg(photo(colour=RED), tmp_path / "elsewhere" / "outside.jpg")
    (root / "linked.jpg").symlink_to(outside)
    (root / "linked folder").symlink_to(outside.parent)
    (root / "dangling.jpg").symlink_to(tmp_path / "nowhere.jpg")
    os.mkfifo(root / "pipe.jpg")
    with Store.open(data_dir) as store:
        report = index_with(store, [root], FakeCaptioner())
        assert dict(report.skipped) == {
            str(root / "linked.jpg"): "link not followed",
            str(root / "linked folder"): "link not followed",
            str(root / "dangling.jpg"): "link not followed",
            str(root / "pipe.jpg"): "not a regular file",
        }
        assert "; 4 skipped: 3 link not followed, 1 not a regular file" in report.summary()
        followed = index_with(store, [root], FakeCaptioner(), follow_symlinks=True)
        assert dict(followed.skipped) == {str(root / "dangling.jpg"): "broken link", str(root / "pipe.jpg"): "not a regular file"}
        assert store.stats()["skipped"] == 2


def test_a_folder_that_cannot_be_listed_is_named_with_its_reason(tmp_path, data_dir, monkeypatch):
    root = tmp_path / "photos"
    save_jpeg(photo(colour=RED), root / "photo.jpg")
    locked = root / "locked"
    save_jpeg(photo(colour=RED), locked / "inside.jpg")
    real_scandir = os.scandir

    def scandir(path):  # root reads anything: the refusal is simulated
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with Store.open(data_dir) as store:
        report = index_with(store, [root], FakeCaptioner())
        assert report.unreadable_folders == [(str(locked), "could not read: Permission denied")]
        assert store.stats()["skipped_files"] == [{"path": str(locked), "kind": "could not read: Permission denied"}]


def test_skipped_files_are_listed_by_index_and_stats(tmp_path, data_dir, monkeypatch):
    root = _skipping_tree(tmp_path)
    runner = CliRunner()
    monkeypatch.setattr(pipeline, "load_captioner", lambda options: FakeCaptioner(options.model))
    arguments = ["index", str(root), "--data-dir", str(data_dir), "--model", "fake-model", "--no-embeddings"]
    arguments += ["--exclude", "*.txt"]
    result = runner.invoke(cli, arguments)
    assert result.exit_code == 0 and "1 captioned" in result.output
    assert f"  skipped: {root / 'clip.mov'} (video)" in result.output, result.output
    assert f"  skipped: {root / 'design.psd'} (not a photo type)" in result.output
    numbers = json.loads(runner.invoke(cli, ["stats", "--json", "--data-dir", str(data_dir)]).output)
    assert numbers["skipped"] == 3
    assert numbers["skipped_kinds"] == {".mov (video)": 1, ".mp4 (video)": 1, ".psd (not a photo type)": 1}
    assert numbers["skipped_files"][0] == {"path": str(root / "clip.mov"), "kind": "video"}
    text = runner.invoke(cli, ["stats", "--data-dir", str(data_dir)]).output
    assert f"  skipped: {root / 'trip' / 'clip2.MP4'} (video)" in text
    # the video is deleted: the next scan no longer names it
    (root / "clip.mov").unlink()
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner(), excludes=["*.txt"])
        assert store.stats()["skipped"] == 2


def test_the_type_filter_lists_each_format_once_by_name(tmp_path, data_dir):
    root = tmp_path / "photos"
    save_jpeg(photo(colour=RED), root / "a.jpg")
    save_jpeg(photo(colour=BLUE), root / "b.jpeg")
    photo(colour=GREEN).save(root / "c.png")
    with Store.open(data_dir) as store:
        index_with(store, [root], FakeCaptioner())
        assert store.facets().formats == ["JPEG", "PNG"]
        found = store.search("*", Filters(exts=extensions_of(["JPEG"])), limit=10)
        assert {hit.image.name for hit in found.hits} == {"a.jpg", "b.jpeg"}
        assert store.stats()["formats"] == {"JPEG": 2, "PNG": 1}


@pytest.mark.parametrize("version", [5, 6])
def test_an_older_library_upgrades_and_reads_its_dates_again_once(tmp_path, data_dir, version):
    import sqlite3

    from tests.old_catalogs import as_schema_5, as_schema_6

    root = _skipping_tree(tmp_path)
    phone = root / "phone.jpg"  # its only date is GPSDateTime, which the reader before schema 7 did not read
    photo(colour=BLUE).save(phone, "JPEG", exif=exif_bytes(gps_date=("2023:11:15", (12.0, 30.0, 0.0))))
    captioner = FakeCaptioner()
    with Store.open(data_dir) as store:
        index_with(store, [root], captioner)
    (as_schema_5 if version == 5 else as_schema_6)(data_dir)
    with sqlite3.connect(data_dir / "captionary.db") as connection:  # the date where that version kept it
        connection.execute(f"UPDATE {'contents' if version == 5 else 'files'} SET taken_at = NULL")
    captioned = sum(captioner.batches)
    with Store.open(data_dir) as upgraded:
        assert upgraded.stats()["images"] == 2 and upgraded.stats()["skipped"] == 0
        report = index_with(upgraded, [root], captioner)
        assert (report.metadata_read, sum(captioner.batches) - captioned) == (2, 0)  # headers read, nothing captioned
        record = upgraded.image_by_path(phone)
        assert (record.taken_at, record.taken_zone) == (datetime(2023, 11, 15, 12, 30), "Z")
        assert upgraded.stats()["skipped"] == 4  # the .txt is not excluded in this run
        assert index_with(upgraded, [root], captioner).metadata_read == 0  # once


def test_the_app_shows_a_raw_and_its_jpeg_as_a_pair(pair_tree, data_dir, monkeypatch):
    from tests.test_app import search, start_app, unescape

    with Store.open(data_dir) as store:
        index_with(store, [pair_tree], FakeCaptioner())
        raw_id = store.image_by_path(pair_tree / "IMG_1.dng").id
        jpeg_id = store.image_by_path(pair_tree / "IMG_1.JPG").id
    app = search(start_app(data_dir, monkeypatch), "dog")
    captions = [unescape(element.value) for element in app.caption]
    assert "IMG_1.JPG · RAW+JPEG with IMG_1.dng" in captions and "IMG_1.dng · RAW+JPEG with IMG_1.JPG" in captions
    app.button(key=f"open-{jpeg_id}").click().run()
    assert any("**RAW+JPEG pair:** IMG_1.dng" in unescape(element.value) for element in app.markdown)
    app.button(key=f"pair-{jpeg_id}").click().run()  # "Open IMG_1.dng": the other half of the shot
    assert app.session_state["selected"] == raw_id and not app.exception
