"""What a picture's header claims, checked before anything is decoded: each check returns the reason to record, or
None. A header costs nothing to write, and a decoder believes it: the size it gives, the pieces a TIFF lists, the
picture a JPEG says its few bytes hold."""

from __future__ import annotations

import math
import re
import struct
from typing import IO

from PIL import Image, ImageFile, TiffTags

# Photos larger than this are refused as "absurd" even below the pixel limit in one dimension.
MAX_SIDE = 65_000
# Huffman-coded JPEG frames (baseline, extended, progressive); the others are arithmetic-coded or lossless.
HUFFMAN_FRAMES = (0xC0, 0xC1, 0xC2)
SEQUENTIAL_HUFFMAN_FRAMES = (0xC0, 0xC1)
FRAMES = (*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), *range(0xCD, 0xD0))
# Pillow decodes a run-length-coded BMP in Python: 12 ns a pixel for a photo's runs, 135 ns for rows each ended at
# their first pixel (padded a byte at a time: 5.4 s for 9 kB claiming 40 MP; 43 s for 16 kB near the 250 MP cap).
# Such bitmaps are old screenshots and icons; a cap of 30 MP holds one to about 4 s.
MAX_RLE_BITMAP_PIXELS = 30_000_000
JUNK_CHUNK = 1 << 16  # bytes read at a time while looking for the next marker
# Markers that stand alone, with no length after them.
BARE_MARKERS = (0x01, *range(0xD0, 0xDA))
# libjpeg decodes each scan over the whole picture, and an arithmetic-coded scan may be a few bytes: 100 scans of
# 7 bytes over 15800x15800 took 19 s (Huffman-coded ones, 3.4 s). Encoders write about 10 (libjpeg's progression for
# CMYK, 18): a picture may have as many as make 32 passes over 250 MP, one under 1 MP counting as 1 MP.
SCAN_PIXELS = 32 * 250_000_000
# An arithmetic-coded one has no bound of bytes for its size (jpeg_problem), so its scans are held tighter: 30 of
# them, 560 bytes claiming 15800x15800, took 10 s. 4 passes over 250 MP: a 12 MP photo may still have 83 scans, a
# 100 MP one 10; arithmetic-coded photos are rare (no camera writes them).
ARITHMETIC_SCAN_PIXELS = 4 * 250_000_000
ARITHMETIC_FRAMES = (0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF)
SMALLEST_PASS = 1 << 20
MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")  # not a 0xFF of the data, a restart or a fill byte
# Tags Pillow decodes as it opens a TIFF, making an object of each value: an XResolution of 2 million rationals took
# 13 s to read. Each holds a value, or one a sample; a colour map three a colour, of up to 65,536; the strip and tile
# lists one a piece, of as many as pieces_problem allows.
TIFF_SMALL_TAGS = (256, 257, 258, 259, 262, 266, 274, 277, 278, 282, 283, 284, 296, 322, 323, 338, 339, 530)
TIFF_MOST_SMALL = 1024
TIFF_COLOUR_MAP, TIFF_MOST_COLOURS = 320, 3 << 16
TIFF_PIECE_TAGS = (273, 279, 324, 325)
TIFF_BYTE_TYPES = (1, 2, 6, 7)  # read as one string of bytes, whatever their count


def size_problem(width: int, height: int) -> str | None:
    if width <= 0 or height <= 0 or width > MAX_SIDE or height > MAX_SIDE:
        return f"absurd dimensions {width}x{height}"
    if Image.MAX_IMAGE_PIXELS is not None and width * height > Image.MAX_IMAGE_PIXELS:
        return f"too many pixels ({width}x{height}; limit {Image.MAX_IMAGE_PIXELS}): possible decompression bomb"
    return None


def pieces_problem(image: ImageFile.ImageFile) -> str | None:
    """Pictures Pillow decodes piece by piece in Python. A TIFF lists where each strip or tile of its picture lies: a
    16x16 TIFF listing a million strips took 13 s. No strip is under a row, no tile under 16x16 pixels, in 8 planes at
    most. A run-length-coded BMP is decoded run by run."""
    width, height = image.size  # already upright: the rows may be its width
    if image.format == "TIFF" and len(image.tile) > _most_pieces(width, height):
        return f"a damaged TIFF: {len(image.tile):,} strips or tiles for a picture of {width}x{height}"
    if image.tile and image.tile[0].codec_name == "bmp_rle" and width * height > MAX_RLE_BITMAP_PIXELS:
        limit = MAX_RLE_BITMAP_PIXELS // 10**6
        return f"a run-length-coded BMP of {width}x{height}: over the {limit} MP such a bitmap may have; save it as PNG"
    return None


def _most_pieces(width: int, height: int) -> int:
    return 8 * (max(width, height) + (width // 16 + 1) * (height // 16 + 1))


def tiff_tags_problem(stream: IO[bytes]) -> str | None:
    """A TIFF's first directory, before Pillow opens it: a tag Pillow decodes then that holds more values than it
    can use. The stream is left at its start."""
    try:
        counts, width, height = _first_directory(stream)
    finally:
        stream.seek(0)
    if width and height and size_problem(width, height) is not None:
        return size_problem(width, height)  # the strips a picture of that size could have are no bound
    for tag, count in counts.items():
        if tag in TIFF_PIECE_TAGS and width and height and count > _most_pieces(width, height):
            return f"a damaged TIFF: {count:,} strips or tiles for a picture of {width}x{height}"
        most = TIFF_MOST_SMALL if tag in TIFF_SMALL_TAGS else TIFF_MOST_COLOURS if tag == TIFF_COLOUR_MAP else None
        if most is not None and count > most:
            return f"a damaged TIFF: its {TiffTags.lookup(tag).name} holds {count:,} values"
    return None


def _first_directory(stream: IO[bytes]) -> tuple[dict[int, int], int, int]:
    """(tag -> how many values, width, height) of the numeric tags of a TIFF's first directory; nothing for
    another file."""
    stream.seek(0)
    head = stream.read(16)
    order = {b"II": "<", b"MM": ">"}.get(head[:2])
    version = struct.unpack(order + "H", head[2:4])[0] if order and len(head) == 16 else None
    if order is None or version not in (42, 43):
        return {}, 0, 0
    big = version == 43  # BigTIFF: 8-byte counts and offsets
    stream.seek(struct.unpack(order + ("Q" if big else "I"), head[8:16] if big else head[4:8])[0])
    size = stream.read(8 if big else 2)
    if len(size) < (8 if big else 2):
        return {}, 0, 0
    entry = struct.Struct(order + ("HHQ8s" if big else "HHI4s"))
    entries = stream.read(min(struct.unpack(order + ("Q" if big else "H"), size)[0], 1 << 16) * entry.size)
    counts, sides = {}, {}
    for tag, kind, count, value in entry.iter_unpack(entries[: len(entries) - len(entries) % entry.size]):
        if kind not in TIFF_BYTE_TYPES:
            counts[tag] = count
        if tag in (256, 257) and kind in (3, 4):  # width and height: a SHORT or a LONG, in the entry itself
            sides[tag] = struct.unpack_from(order + ("H" if kind == 3 else "I"), value)[0]
    return counts, sides.get(256, 0), sides.get(257, 0)


def jpeg_problem(image: ImageFile.ImageFile) -> str | None:
    """What libjpeg would spend on a JPEG that cannot be a photo, from its header: too little data for its size
    (_data_problem), or more scans than its size allows (SCAN_PIXELS). A sequential frame whose first scan holds
    every component can have no other scan (libjpeg stops at a second), so the file is walked to its end only for
    progressive, arithmetic-coded or non-interleaved frames: a camera's JPEG costs its header's walk alone."""
    layers = getattr(image, "layer", None)
    if image.fp is None or not layers:
        return None
    stream = image.fp
    where = stream.tell()
    try:
        frame, scan_starts, first_scan = _layout(stream)
        data = stream.seek(0, 2) - scan_starts
        if frame in HUFFMAN_FRAMES and (problem := _data_problem(image.size, layers, data)) is not None:
            return problem
        if frame in SEQUENTIAL_HUFFMAN_FRAMES and first_scan == len(layers):
            return None
        width, height = image.size
        budget = ARITHMETIC_SCAN_PIXELS if frame in ARITHMETIC_FRAMES else SCAN_PIXELS
        most = budget // max(width * height, SMALLEST_PASS)
        if _scans(stream, most) > most:  # a walk over the file: 8 ms for a 14 MB photo of noise
            coded = "an arithmetic-coded picture" if frame in ARITHMETIC_FRAMES else "a picture"
            return f"a damaged JPEG: more than {most:,} scans for {coded} of {width}x{height} (a photo has about 10)"
        return None
    finally:
        stream.seek(where)


def _data_problem(size: tuple[int, int], layers: list[tuple[str, int, int, int]], data: int) -> str | None:
    """A JPEG codes each 8x8 block of a component with one Huffman code at least, of one bit at least, so a picture
    needs a bit a block of its smallest component. libjpeg fills what is missing with grey, and a progressive JPEG
    holds its whole picture's coefficients while it decodes, reduced size or not: a 521-byte header claiming
    15800x15800 took 774 MB and was indexed as a grey photo. Arithmetic coding needs no bound of bytes a block: cjpeg
    -arithmetic codes a one-colour picture in 4 bytes of data whatever its size (1 to 64 MP), so such frames are not
    checked here; the pixel cap bounds their memory, as it bounds a real photo's, and the scan count their time."""
    width, height = size
    widest = max(h for _, h, _, _ in layers)
    tallest = max(v for _, _, v, _ in layers)
    blocks = min(
        math.ceil(math.ceil(width * h / widest) / 8) * math.ceil(math.ceil(height * v / tallest) / 8) for _, h, v, _ in layers
    )
    if data * 8 < blocks:
        return f"a damaged JPEG: {data:,} bytes of picture data cannot hold {width}x{height} pixels (cut short?)"
    return None


def _scans(stream: IO[bytes], most: int) -> int:
    """The scans of the picture up to its end (EOI), or `most` and one, walking from marker to marker: a segment's
    body is passed over by its length, a scan's data and any junk by looking for the next marker."""
    stream.seek(2)
    scans = 0
    while scans <= most and (marker := _next_marker(stream)) not in (None, 0xD9):
        if marker in BARE_MARKERS:
            continue
        size = stream.read(2)
        if len(size) < 2:
            break
        scans += marker == 0xDA
        stream.seek(struct.unpack(">H", size)[0] - 2, 1)
    return scans


def _next_marker(stream: IO[bytes]) -> int | None:
    """The second byte of the next marker, the stream left after it; None at the end of the file."""
    pair = stream.read(2)
    if MARKER.fullmatch(pair):  # right after the segment before it, as in most headers: no chunk to read
        return pair[1]
    stream.seek(-len(pair), 1)
    while chunk := stream.read(JUNK_CHUNK):
        found = MARKER.search(chunk)
        if found is not None:
            stream.seek(found.start() + 2 - len(chunk), 1)
            return chunk[found.start() + 1]
        if len(chunk) > 1:
            stream.seek(-1, 1)  # a 0xFF at the end may be the first byte of a marker
    return None


def _layout(stream: IO[bytes]) -> tuple[int | None, int, int]:
    """(the frame's SOFn marker, where the first scan's data starts, how many components that scan holds), walking
    the header segment by segment. Bytes between segments that are no marker are skipped, as Pillow and libjpeg
    skip them."""
    frame = None
    stream.seek(2)
    while True:
        if not _to_next_marker(stream):
            return None, stream.tell(), 0
        marker = stream.read(1)
        if not marker:
            return None, stream.tell(), 0
        if marker[0] == 0xFF:  # fill bytes before a marker
            stream.seek(-1, 1)
            continue
        if marker[0] == 0x00:  # a 0xFF in the junk
            continue
        if marker[0] in BARE_MARKERS:
            continue
        size = stream.read(2)
        if len(size) < 2:
            return None, stream.tell(), 0
        frame = marker[0] if marker[0] in FRAMES else frame
        components = stream.read(1) if marker[0] == 0xDA else b""
        stream.seek(struct.unpack(">H", size)[0] - 2 - len(components), 1)
        if marker[0] == 0xDA:  # start of scan: its data follows its header
            return frame, stream.tell(), components[0] if components else 0


def _to_next_marker(stream: IO[bytes]) -> bool:
    """Past the next 0xFF; False at the end of the file."""
    first = stream.read(1)
    if first == b"\xff":  # a segment follows the last: no junk to look through
        return True
    if not first:
        return False
    while chunk := stream.read(JUNK_CHUNK):
        found = chunk.find(b"\xff")
        if found >= 0:
            stream.seek(found + 1 - len(chunk), 1)
            return True
    return False
