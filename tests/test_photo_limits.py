"""Real photos at the edges: a 102-megapixel camera's frames, a PNG whose metadata text Photoshop bloated past
what Pillow unpacks, and Pillow's own warnings, which must not reach the terminal between the run's lines."""

import io
import os
import struct
import subprocess
import sys
import zlib

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from db.store import Store
from indexer.imaging import ImageReadError, open_photo
from indexer.sources import caption_sources
from tests.conftest import FakeCaptioner
from tests.helpers import index_with
from tests.metadata_photos import xmp_packet
from tests.photos import FLAT_ARITHMETIC, SMALL_ARITHMETIC_PROGRESSIVE, with_scans_repeated


def test_a_102_megapixel_photo_is_read_and_a_400_megapixel_bomb_is_not(tmp_path):
    frame = io.BytesIO()
    Image.new("L", (11648, 8736), 128).save(frame, "JPEG")  # a Fujifilm GFX100's frame, over Pillow's 89.5 MP
    decoded = open_photo(frame.getvalue(), min_side=224)
    assert (decoded.info.width, decoded.info.height) == (11648, 8736)
    assert max(decoded.image.size) <= 11648 // 4  # decoded at a reduced size all the same
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")  # 400 MP, a few kB on disk
    with pytest.raises(ImageReadError, match=r"too many pixels \(20000x20000; limit 250000000\)"):
        open_photo(bomb.getvalue())


def _jpeg(size: tuple[int, int], progressive: bool, claimed: int | None = None, junk: bytes = b"") -> bytes:
    """A one-colour JPEG (the least data a real picture of that size holds), its frame header claiming
    `claimed` x `claimed` pixels when given, `junk` before its first scan (Pillow and libjpeg skip it)."""
    out = io.BytesIO()
    Image.new("RGB", size, (120, 80, 40)).save(out, "JPEG", quality=80, progressive=progressive)
    data = bytearray(out.getvalue())
    if claimed is not None:
        frame = data.find(b"\xff\xc2" if progressive else b"\xff\xc0")
        data[frame + 5 : frame + 9] = claimed.to_bytes(2, "big") * 2
    scan = data.find(b"\xff\xda")
    return bytes(data[:scan] + junk + data[scan:])


@pytest.mark.parametrize("junk", [b"", b"\x00", b"junk\xff\x00" * 20_000])
@pytest.mark.parametrize("progressive", [True, False])
def test_a_jpeg_header_claiming_more_pixels_than_its_data_can_hold_is_refused_before_it_is_decoded(progressive, junk):
    # a 15800x15800 progressive JPEG of a few hundred bytes: libjpeg held 774 MB of coefficients and filled them grey
    with pytest.raises(ImageReadError, match=r"a damaged JPEG: \d+ bytes of picture data cannot hold 15800x15800"):
        open_photo(_jpeg((16, 16), progressive, claimed=15800, junk=junk), min_side=224)


@pytest.mark.parametrize("progressive", [True, False])
def test_a_one_colour_jpeg_holds_enough_data_for_its_size_to_be_read(progressive):
    # a real picture with the fewest bits a block its encoder writes: the bound above must never refuse it
    whole = open_photo(_jpeg((8000, 8000), progressive), min_side=224)
    assert (whole.info.width, whole.info.height) == (8000, 8000)


def test_an_arithmetic_coded_jpeg_of_one_colour_is_read_however_few_bytes_its_picture_takes():
    # arithmetic coding needs no bit a block: no bound of bytes for its size may refuse this photo
    decoded = open_photo(FLAT_ARITHMETIC, min_side=224)
    assert (decoded.info.width, decoded.info.height, decoded.image.getpixel((0, 0))) == (4000, 3000, (119, 80, 39))
    assert open_photo(SMALL_ARITHMETIC_PROGRESSIVE).image.getpixel((0, 0)) == (119, 80, 39)


@pytest.mark.parametrize(
    ("coding", "data", "copies", "claimed", "refusal"),
    [
        # each scan is decoded over the whole picture: 100 of 7 bytes over 15800x15800 took 19 s
        # 30 arithmetic-coded scans of 560 bytes in all over 15800x15800 took 10 s: they are held to 4 passes
        ("arithmetic", SMALL_ARITHMETIC_PROGRESSIVE, 30, 15800, "4 scans for an arithmetic-coded picture of 15800x15800"),
        ("huffman", _jpeg((16, 16), progressive=True), 8000, None, "7,629 scans for a picture of 16x16"),
    ],
)
def test_a_jpeg_with_more_scans_than_a_picture_of_its_size_has_is_refused_before_it_is_decoded(
    coding, data, copies, claimed, refusal
):
    assert open_photo(with_scans_repeated(data, copies // 10)).info.width == 16  # a few scans more than it needs: read
    with pytest.raises(ImageReadError, match=f"a damaged JPEG: more than {refusal} \\(a photo has about 10\\)"):
        open_photo(with_scans_repeated(data, copies, claimed), min_side=224)


def _png_with_text(path, keyword: str, padding: int, compressed: bool = True, ztxt: bytes | None = None, copies=1):
    packet = xmp_packet(subjects=[keyword]).replace(b"</x:xmpmeta>", b" " * padding + b"</x:xmpmeta>")
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet.decode(), zip=compressed)
    info.add_itxt("Caption", "kept beside the bloat", zip=True)  # a small compressed text: read either way
    for _ in range(copies if ztxt is not None else 0):
        info.add_text("Comment", ztxt.decode(), zip=True)
    Image.new("RGB", (64, 48), (200, 40, 40)).save(path, "PNG", pnginfo=info)
    return path


def test_a_png_with_bloated_compressed_metadata_is_still_indexed(tmp_path, data_dir):
    root = tmp_path / "photos"
    root.mkdir()
    large = _png_with_text(root / "large_xmp.png", "sunsetkw", 1_500_000)  # over Pillow's 1 MB, under our 2 MB
    too_large = _png_with_text(root / "too_large_xmp.png", "lostkw", 3_000_000)
    bomb = _png_with_text(root / "comment_bomb.png", "bombkw", 0, ztxt=b"0" * (50 << 20))
    assert len(zlib.compress(b"0" * (50 << 20))) < 100_000  # small on disk
    # 40 texts of 1.9 MB: each under the limit of one, 76 MB together past Pillow's 64 MB for all of them
    many = _png_with_text(root / "many_comments.png", "manykw", 0, ztxt=b"1" * 1_900_000, copies=40)
    with Store.open(data_dir) as store:
        report = index_with(store, [root], FakeCaptioner())
        problems = dict(store.metadata_problems())
        records = {path: store.image_by_path(path) for path in (large, too_large, bomb, many)}
    assert (report.captioned, report.failed) == (4, 0)  # every photo captioned
    assert records[bomb].file_tags == ["bombkw"]  # its XMP is not the bloated chunk: it is read
    assert records[many].file_tags == ["manykw"]  # the XMP comes before the comments: within the 64 MB
    assert records[large].file_tags == ["sunsetkw"] and str(large) not in problems
    for path in (too_large, bomb):
        assert "embedded text over 2 MB unpacked: not read" in problems[str(path)]
    assert "embedded text over 64 MB unpacked in all: the rest not read" in problems[str(many)]


def test_text_past_what_may_be_unpacked_in_all_is_dropped_without_being_unpacked(tmp_path, monkeypatch):
    from indexer import png_text

    # 100 comments of 3 MB, each past the limit of one: 3 kB each on disk, 300 MB to unpack
    flood = _png_with_text(tmp_path / "flood.png", "floodkw", 0, ztxt=b"2" * (3 << 20), copies=100)
    unpacked: list[bytes] = []
    unpack = png_text._unpacked_size
    monkeypatch.setattr(png_text, "_unpacked_size", lambda kind, body: unpacked.append(kind) or unpack(kind, body))
    decoded = open_photo(str(flood), 32)
    assert decoded.info.width == 64
    # the XMP and the caption, then comments until what they unpacked fills the 64 MB: not the 100
    assert len(unpacked) <= 2 + PngImagePlugin.MAX_TEXT_MEMORY // PngImagePlugin.MAX_TEXT_CHUNK + 1


def test_the_xmp_after_text_past_what_may_be_unpacked_in_all_is_still_read(tmp_path):
    from indexer.metadata import read_metadata

    info, comment = PngImagePlugin.PngInfo(), (b"3" * (3 << 20)).decode()
    for _ in range(40):  # past the limit of one each: 120 MB to unpack, past the 64 MB for all text
        info.add_text("Comment", comment, zip=True)
    info.add_itxt("XML:com.adobe.xmp", xmp_packet(subjects=["afterkw"]).decode(), zip=True)
    Image.new("RGB", (64, 48), (200, 40, 40)).save(tmp_path / "late_xmp.png", "PNG", pnginfo=info)
    metadata = read_metadata((tmp_path / "late_xmp.png").read_bytes(), str(tmp_path / "late_xmp.png"), "")
    assert metadata.keywords == ("afterkw",)


def _png_with_profiles(*profiles: bytes) -> bytes:
    """A 64x48 red PNG with these colour profiles (iCCP chunks) before its pixels."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(out, "PNG")
    data = out.getvalue()
    chunks, packed = b"", {profile: zlib.compress(profile, 9) for profile in set(profiles)}
    for profile in profiles:
        body = b"ICC Profile\0\0" + packed[profile]
        chunks += struct.pack(">I", len(body)) + b"iCCP" + body + struct.pack(">I", zlib.crc32(b"iCCP" + body))
    at = data.index(b"IDAT") - 4  # before the pixels' chunk: its length
    return data[:at] + chunks + data[at:]


def test_a_png_repeating_its_colour_profile_unpacks_only_the_first(monkeypatch):
    from indexer.metadata import read_metadata

    # Pillow unpacked every profile and kept the last: 4,000 of 2 MB each took 54 s to read
    data = _png_with_profiles(*[bytes(2 << 20)] * 200)
    unpacked: list[int] = []
    unpacker = zlib.decompressobj
    monkeypatch.setattr(zlib, "decompressobj", lambda *arguments: unpacked.append(1) or unpacker(*arguments))
    decoded = open_photo(data, min_side=32)
    metadata = read_metadata(data, "profiles.png", "")
    assert decoded.image.getpixel((0, 0)) == (200, 40, 40) and metadata.problems == ()
    assert len(unpacked) == 2  # the first profile, once in each read (was 200 in each)


def test_a_png_colour_profile_is_kept_as_it_was_and_one_too_large_costs_only_itself():
    from indexer.metadata import read_metadata

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    with Image.open(io.BytesIO(_png_with_profiles(profile, b"a second profile, passed over"))) as image:
        assert image.info["icc_profile"] == profile
    large = _png_with_profiles(bytes(3 << 20))  # over the 2 MB a chunk may unpack to
    decoded = open_photo(large, min_side=32)  # was: cannot decode: Decompressed data too large for ...
    assert decoded.image.getpixel((0, 0)) == (200, 40, 40)
    assert read_metadata(large, "large.png", "").problems == ()  # was: embedded text over 2 MB unpacked


def _exif_with_bloat(count: int) -> bytes:
    """EXIF (a big-endian TIFF block) naming the camera, with a date and a GPS longitude, whose GPS latitude and
    Exif FNumber each hold `count` rationals (a position has three, an F-number one)."""
    entry = struct.Struct(">HHI4s")

    def ifd(*entries: tuple[int, int, int, bytes]) -> bytes:
        return struct.pack(">H", len(entries)) + b"".join(entry.pack(*fields) for fields in entries) + bytes(4)

    def at(offset: int) -> bytes:
        return struct.pack(">I", offset)

    # IFD0 at 8 (42 bytes), the model at 50, the Exif IFD at 58 (30), the date at 88, the GPS IFD at 108 (54), the
    # longitude at 162, the rationals at 186
    return (
        b"MM\x00*" + at(8)
        + ifd((272, 2, 8, at(50)), (34665, 4, 1, at(58)), (34853, 4, 1, at(108))) + b"Pixel 4\0"
        + ifd((33437, 5, count, at(186)), (36867, 2, 20, at(88))) + b"2019:07:14 10:00:00\0"
        + ifd((1, 2, 2, b"N\0\0\0"), (2, 5, count, at(186)), (3, 2, 2, b"E\0\0\0"), (4, 5, 3, at(162)))
        + struct.pack(">6I", 135, 1, 46, 1, 5, 1) + struct.pack(">II", 35, 1) * count
    )  # fmt: skip


def test_exif_tags_holding_far_more_values_than_they_can_use_are_left_undecoded(monkeypatch):
    from PIL import TiffImagePlugin

    from indexer.metadata import read_metadata

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(out, "PNG", exif=_exif_with_bloat(200_000))
    made: list[int] = []
    rational = TiffImagePlugin.IFDRational.__init__
    monkeypatch.setattr(TiffImagePlugin.IFDRational, "__init__", lambda self, *values: made.append(1) or rational(self, *values))
    metadata = read_metadata(out.getvalue(), "bloated.png", "")
    assert (metadata.camera, str(metadata.taken_at), metadata.latitude) == ("Pixel 4", "2019-07-14 10:00:00", None)
    # Pillow made an object of each value: 2 million GPS rationals took 7 s and 400 MB to read
    assert len(made) < 100  # was 400,000: the latitude's and the F-number's


def test_pillow_warnings_stay_off_the_terminal(tmp_path):
    corrupt = tmp_path / "corrupt.tif"
    corrupt.write_bytes(b"II*\x00\x08\x00\x00\x00\x05\x00")  # Pillow warns "Corrupt EXIF data" on stderr
    script = (
        "import sys\nfrom indexer.imaging import ImageReadError, open_photo\n"
        "try:\n    open_photo(sys.argv[1])\nexcept ImageReadError as error:\n    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(corrupt)], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().startswith("a TIFF that cannot be decoded: damaged")
    assert result.stderr == ""


def test_a_file_named_on_the_command_line_that_is_no_photo_file_says_what_it_is(tmp_path):
    fifo, folder, missing = tmp_path / "pipe.jpg", tmp_path / "folder.jpg", tmp_path / "missing.jpg"
    os.mkfifo(fifo)  # opened without waiting for a writer, so this cannot hang
    folder.mkdir()
    results = caption_sources([str(fifo), str(folder), str(missing)], FakeCaptioner())
    assert [result.error for result in results] == ["not a regular file", "a folder, not a photo", "no such file"]


def test_libraw_s_reason_reads_as_text_not_as_bytes(monkeypatch):
    import rawpy

    from indexer.raw import RawReadError, raw_preview

    def unreadable(source):
        raise rawpy.LibRawDataError(b"Corrupted data or bad file")

    monkeypatch.setattr(rawpy, "imread", unreadable)
    with pytest.raises(RawReadError) as raised:
        raw_preview(b"II*\x00" + bytes(64), "cut.dng")
    assert str(raised.value) == "cannot read RAW: Corrupted data or bad file"


@pytest.mark.parametrize("data", [b"some notes, saved as .dng by mistake\n", b"II*\x00" + bytes(20)])
def test_a_raw_cut_short_or_no_raw_at_all_is_not_called_a_disk_error(data):
    from indexer.raw import RawReadError, raw_preview

    with pytest.raises(RawReadError) as raised:
        raw_preview(data, "photo.dng")  # LibRaw says "Input/output error", which reads like a failing disk
    assert str(raised.value) == "RAW cut short: the file ends before its data (a partial copy, or not a RAW)"
