"""Camera RAW (CR2, NEF, ARW, RAF, RW2, DNG, ORF...) read by the JPEG preview the camera embedded: what is
captioned, embedded and OCR'd is that preview, found and cut out by LibRaw (rawpy), never demosaiced. Its
EXIF comes from the RAW's own TIFF structure (or, for Fujifilm's RAF, from the JPEG it embeds)."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from PIL import Image

from db.formats import extension

# LibRaw's `flip` as the EXIF orientation that puts the preview upright (3: 180 degrees, 5 and 6: a quarter turn).
FLIP_TO_ORIENTATION = {3: 3, 5: 8, 6: 6}
TIFF_MAGIC = (b"II*\x00", b"MM\x00*")
# Olympus ORF and Panasonic RW2 are TIFF with a magic of their own.
VENDOR_MAGIC = {b"IIRO": b"II*\x00", b"IIRS": b"II*\x00", b"MMOR": b"MM\x00*", b"IIU\x00": b"II*\x00"}
RAF_MAGIC = b"FUJIFILMCCD-RAW "
TAG_XMP = 700  # XMLPacket in IFD0: a DNG's XMP


class RawReadError(Exception):
    """A RAW whose preview cannot be had; the message is the reason recorded for the file."""


@dataclass
class RawPreview:
    picture: bytes | Image.Image  # the preview's JPEG bytes, or its pixels when LibRaw gives a bitmap
    orientation: int  # EXIF orientation the RAW records for it (1: as stored)
    width: int  # the RAW picture's own size, upright
    height: int
    format: str  # "CR2", "DNG": the file's kind, not its preview's


def _data(source: bytes | BinaryIO) -> bytes:
    if isinstance(source, bytes):
        return source
    source.seek(0)
    data = source.read()
    source.seek(0)
    return data


def raw_preview(source: str | bytes | BinaryIO, name: str) -> RawPreview:
    """The largest preview the RAW holds; RawReadError with the reason when it has none usable."""
    import rawpy

    try:
        with rawpy.imread(source if isinstance(source, str) else io.BytesIO(_data(source))) as raw:
            sizes = raw.sizes
            thumb = raw.extract_thumb()
    except rawpy.LibRawNoThumbnailError:
        raise RawReadError("RAW without an embedded preview (captionary reads RAW by its preview)") from None
    except rawpy.LibRawUnsupportedThumbnailError:
        raise RawReadError("RAW preview in a format that cannot be read (captionary reads RAW by its preview)") from None
    except rawpy.LibRawFileUnsupportedError:
        raise RawReadError("not a RAW file LibRaw can read (unsupported camera, or not a RAW)") from None
    except rawpy.LibRawIOError:  # LibRaw's "Input/output error": it read past the end, not a failing disk
        raise RawReadError("RAW cut short: the file ends before its data (a partial copy, or not a RAW)") from None
    except (rawpy.LibRawError, OSError, ValueError) as error:
        reason = error.args[0] if error.args else ""
        reason = reason.decode(errors="replace") if isinstance(reason, bytes) else str(error)  # LibRaw's are bytes
        raise RawReadError(f"cannot read RAW: {reason or type(error).__name__}"[:200]) from None
    orientation = FLIP_TO_ORIENTATION.get(sizes.flip, 1)
    width, height = (sizes.height, sizes.width) if orientation in (6, 8) else (sizes.width, sizes.height)
    if thumb.format == rawpy.ThumbFormat.JPEG:
        picture: bytes | Image.Image = bytes(thumb.data)
    else:
        picture = Image.fromarray(np.asarray(thumb.data))
    return RawPreview(picture, orientation, width, height, extension(name).upper() or "RAW")


def raw_exif(source: bytes | BinaryIO) -> Image.Exif | None:
    """The RAW's EXIF, parsed by Pillow from its TIFF header (RAF: from the JPEG inside); None if it has none.
    Read in place: only the IFDs are read, however large the RAW."""
    stream = io.BytesIO(source) if isinstance(source, bytes) else source  # BytesIO shares the bytes: no copy
    stream.seek(0)
    head = stream.read(len(RAF_MAGIC))
    if head.startswith(RAF_MAGIC):
        return _raf_exif(_data(source))
    fixed = VENDOR_MAGIC.get(head[:4], head[:4])
    if fixed not in TIFF_MAGIC:
        return None  # CR3 and other ISO-media RAWs: their dates come from a sidecar, else the file
    if fixed != head[:4]:
        stream = io.BytesIO(_data(source))
        stream.write(fixed)  # a TIFF magic where the vendor put its own
    stream.seek(0)
    exif = Image.Exif()
    exif.load_from_fp(stream)
    return exif


def _raf_exif(data: bytes) -> Image.Exif | None:
    """RAF: a big-endian offset and length at byte 84 point to a JPEG that carries the camera's EXIF."""
    try:
        offset, length = struct.unpack(">II", data[84:92])
        with Image.open(io.BytesIO(data[offset : offset + length]), formats=("JPEG",)) as embedded:
            return embedded.getexif()
    except (struct.error, OSError, ValueError, Image.DecompressionBombError):
        return None


def raw_xmp(exif: Image.Exif) -> bytes | None:
    packet = exif.get(TAG_XMP)
    return bytes(packet) if isinstance(packet, (bytes, tuple)) and packet else None
