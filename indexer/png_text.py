"""A PNG whose compressed text Pillow will not unpack: its picture is read without that text.

Pillow refuses a zTXt or compressed iTXt chunk that unpacks past `PngImagePlugin.MAX_TEXT_CHUNK` (its guard
against zip bombs) by failing the whole image. Photoshop's XMP, bloated by DocumentAncestors, passes 1 MB in
real files; the photo must still be indexed and only its metadata reported as not read."""

from __future__ import annotations

import io
import zlib
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
    """The PNG's bytes without the text chunks that unpack past Pillow's limit; everything else as it was."""
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
        if kind not in _COMPRESSED_TEXT or not _unpacks_too_large(kind, data[position + 8 : end - 4]):
            kept.append(data[position:end])
        position = end
        if kind == b"IEND":
            break
    return io.BytesIO(b"".join(kept))


def _unpacks_too_large(kind: bytes, body: bytes) -> bool:
    """Whether a zTXt or iTXt chunk's text unpacks past Pillow's limit (an uncompressed iTXt never does)."""
    _, _, rest = body.partition(b"\0")  # after the keyword
    if kind == b"iTXt":
        if rest[:1] != b"\x01":  # the compression flag
            return False
        _, _, rest = rest[2:].partition(b"\0")  # after the language tag
        _, _, packed = rest.partition(b"\0")  # after the translated keyword
    else:
        packed = rest[1:]  # after the compression method
    unpacker = zlib.decompressobj()
    try:
        unpacker.decompress(packed, PngImagePlugin.MAX_TEXT_CHUNK)
    except zlib.error:
        return False  # Pillow passes over a broken one itself
    return bool(unpacker.unconsumed_tail)
