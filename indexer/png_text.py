"""A PNG whose compressed text Pillow will not unpack: its picture is read without that text.

Pillow refuses a zTXt or compressed iTXt chunk that unpacks past `PngImagePlugin.MAX_TEXT_CHUNK` (its guard
against zip bombs) by failing the whole image. Photoshop's XMP, bloated by DocumentAncestors, passes 1 MB in
real files; the photo must still be indexed and only its metadata reported as not read."""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

from PIL import PngImagePlugin

from db.xmp import MAX_XMP_BYTES

# Text up to the XMP limit is unpacked, so an XMP the XMP reader accepts is not lost to Pillow's lower cap.
PngImagePlugin.MAX_TEXT_CHUNK = max(PngImagePlugin.MAX_TEXT_CHUNK, MAX_XMP_BYTES + 1)

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COMPRESSED_TEXT = (b"zTXt", b"iTXt")


def too_much_text(error: BaseException) -> bool:
    return isinstance(error, ValueError) and "MAX_TEXT_CHUNK" in str(error)


def without_compressed_text(source: str | Path | BinaryIO) -> io.BytesIO:
    """The PNG's bytes with every zTXt and iTXt chunk left out; everything else as it was."""
    if isinstance(source, (str, Path)):
        data = Path(source).read_bytes()
    else:
        source.seek(0)
        data = source.read()
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a PNG")
    kept = [_SIGNATURE]
    position = len(_SIGNATURE)
    while position + 8 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        end = position + 12 + length  # length, type, data, CRC
        if kind not in _COMPRESSED_TEXT:
            kept.append(data[position:end])
        position = end
        if kind == b"IEND":
            break
    return io.BytesIO(b"".join(kept))
