"""JPEG XL: decoded by pillow-jxl-plugin (libjxl), which decodes every pixel as soon as the file is opened.
So the picture's size is read here from the codestream's header first (a small file can claim gigapixels),
and the EXIF and XMP from the container's boxes, without decoding anything."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from PIL import Image

try:  # registers the "JXL" format with Pillow
    import pillow_jxl  # noqa: F401
except ImportError:  # an optional extra (GPL-3.0): without it a .jxl is recorded as failed, with this reason
    pass

PLUGIN_MISSING = (
    "JPEG XL needs pillow-jxl-plugin, which is GPL-3.0 and so not installed with captionary: pip install 'captionary[jxl]'"
)
CODESTREAM = b"\xff\x0a"
CONTAINER = b"\x00\x00\x00\x0cJXL \r\n\x87\n"
MAX_BOXES = 1000
# SizeHeader's aspect ratios (JPEG XL, ISO/IEC 18181-1): width = height * numerator / denominator
RATIOS = {1: (1, 1), 2: (12, 10), 3: (4, 3), 4: (3, 2), 5: (16, 9), 6: (5, 4), 7: (2, 1)}


def is_jxl(head: bytes) -> bool:
    return head.startswith(CODESTREAM) or head.startswith(CONTAINER)


def jxl_readable() -> bool:
    """Whether Pillow decodes JPEG XL here: the plugin imports and has registered the format."""
    try:
        import pillow_jxl  # noqa: F401
    except ImportError:
        return False
    return "JXL" in Image.OPEN


@dataclass
class JxlBoxes:
    codestream: bytes = b""  # the start of the codestream (enough for its header)
    exif: bytes | None = None  # TIFF bytes, from "II*\0" or "MM\0*"
    xmp: bytes | None = None
    kinds: list[bytes] = field(default_factory=list)


def read_boxes(data: bytes) -> JxlBoxes:
    """The boxes of a JPEG XL container (ISO base media): jxlc/jxlp (codestream), Exif, xml (XMP)."""
    found = JxlBoxes()
    if data.startswith(CODESTREAM):
        found.codestream = data[:64]
        return found
    position = 0
    while position + 8 <= len(data) and len(found.kinds) < MAX_BOXES:
        size, kind = struct.unpack(">I4s", data[position : position + 8])
        header = 8
        if size == 1 and position + 16 <= len(data):
            size, header = struct.unpack(">Q", data[position + 8 : position + 16])[0], 16
        elif size == 0:
            size = len(data) - position
        if size < header:
            break
        payload = data[position + header : position + size]
        found.kinds.append(kind)
        if kind == b"jxlc" and not found.codestream:
            found.codestream = payload[:64]
        elif kind == b"jxlp" and len(found.codestream) < 64:
            found.codestream += payload[4 : 4 + 64 - len(found.codestream)]  # after each part's index
        elif kind == b"Exif" and found.exif is None and len(payload) > 4:
            found.exif = _tiff(payload)
        elif kind == b"xml " and found.xmp is None:
            found.xmp = payload
        position += size
    return found


def _tiff(payload: bytes) -> bytes:
    """The standard Exif box starts with the TIFF header's offset; some writers (pillow-jxl-plugin among
    them) put the TIFF header first."""
    if payload[:4] in (b"II*\x00", b"MM\x00*"):
        return payload
    return payload[4 + struct.unpack(">I", payload[:4])[0] :]


class _Bits:
    """JPEG XL's bit reader: least significant bit first within each byte."""

    def __init__(self, data: bytes) -> None:
        self.data, self.position = data, 0

    def read(self, count: int) -> int:
        value = 0
        for shift in range(count):
            byte = self.data[self.position >> 3]  # IndexError on a header cut short
            value |= ((byte >> (self.position & 7)) & 1) << shift
            self.position += 1
        return value

    def size(self, small: bool) -> int:
        if small:
            return (self.read(5) + 1) * 8
        return self.read((9, 13, 18, 30)[self.read(2)]) + 1


def jxl_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the codestream's SizeHeader, or None when it cannot be read."""
    codestream = read_boxes(data).codestream
    if not codestream.startswith(CODESTREAM):
        return None
    bits = _Bits(codestream[2:])
    try:
        small = bool(bits.read(1))
        height = bits.size(small)
        ratio = bits.read(3)
        if ratio == 0:
            return bits.size(small), height
    except IndexError:
        return None
    numerator, denominator = RATIOS[ratio]
    return height * numerator // denominator, height
