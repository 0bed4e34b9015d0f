"""PNG chunks Pillow cannot be left to read: text past its limits, and EXIF kept after the pixels.

Pillow refuses a zTXt or compressed iTXt chunk that unpacks past `PngImagePlugin.MAX_TEXT_CHUNK`, and text
chunks that unpack past `MAX_TEXT_MEMORY` together (its guards against zip bombs), by failing the whole image.
Photoshop's XMP, bloated by DocumentAncestors, passes 1 MB in real files; the photo must still be indexed and
only its metadata reported as not read.

Pillow reaches an eXIf or XMP chunk that follows the pixels (older writers put them there) only by decoding the
whole picture, before any check of its size: a 1.4 MB PNG of 22,000 x 22,000 pixels took 1.9 GB to read its
date. Such chunks are found here from the chunks' headers.

Pillow unpacks every colour profile (iCCP) it meets and keeps the last, where a PNG has one: 4,000 of them, each
unpacking to 2 MB, took 54 s to read. Only the first is unpacked here, as libpng keeps only the first."""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageFile, PngImagePlugin

from db.xmp import MAX_XMP_BYTES

# Text up to the XMP limit is unpacked, so an XMP the XMP reader accepts is not lost to Pillow's lower cap.
PngImagePlugin.MAX_TEXT_CHUNK = max(PngImagePlugin.MAX_TEXT_CHUNK, MAX_XMP_BYTES + 1)

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TEXT = (b"tEXt", b"zTXt", b"iTXt")
XMP_KEY = "XML:com.adobe.xmp"  # the iTXt keyword Adobe's XMP specification gives a PNG's packet


def _first_colour_profile(stream: PngImagePlugin.PngStream, pos: int, length: int) -> bytes:
    """Pillow's iCCP handler, but for the first profile only. One that unpacks past MAX_TEXT_CHUNK, or is broken,
    is no profile: Pillow failed the whole picture for a large one, and nothing here converts colours by it."""
    assert stream.fp is not None
    data = ImageFile._safe_read(stream.fp, length)  # the caller checks the chunk's CRC over what this returns
    if "icc_profile" not in stream.im_info:
        _, _, rest = data.partition(b"\0")  # after the profile's name
        profile = _inflate(rest[1:], PngImagePlugin.MAX_TEXT_CHUNK) if rest[:1] == b"\0" else None  # method 0: zlib
        stream.im_info["icc_profile"] = profile or None
    return data


PngImagePlugin.PngStream.chunk_iCCP = _first_colour_profile  # type: ignore[method-assign,assignment]


def text_over_limits(error: BaseException) -> str | None:
    """The metadata problem to record when Pillow failed a PNG for its text alone; None for any other error."""
    if not isinstance(error, ValueError):
        return None
    if "MAX_TEXT_CHUNK" in str(error):
        return f"embedded text over {MAX_XMP_BYTES >> 20} MB unpacked: not read"
    if "MAX_TEXT_MEMORY" in str(error):
        return f"embedded text over {PngImagePlugin.MAX_TEXT_MEMORY >> 20} MB unpacked in all: the rest not read"
    return None


def within_text_limits(source: str | Path | BinaryIO) -> io.BytesIO:
    """The PNG's bytes without the text chunks past Pillow's limits: one that unpacks too large alone, and every
    one after the text unpacked so far fills `MAX_TEXT_MEMORY`; everything else as it was."""
    if isinstance(source, (str, Path)):
        data = Path(source).read_bytes()
    else:
        source.seek(0)
        data = source.read()
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a PNG")
    kept = [_SIGNATURE]
    text_memory, unpacked, xmp_seen = 0, 0, False
    for kind, at, length in _chunks(io.BytesIO(data)):
        size: int | None = 0
        if kind in _TEXT:
            # Unpacking is the cost (4,000 chunks of 2 kB, each unpacking past the limit, took 47 s): once the text
            # unpacked so far, kept or not, fills MAX_TEXT_MEMORY, every later text chunk is dropped unread, but
            # for the photo's first XMP packet, which the text before it cannot take away.
            body = data[at : at + length]
            xmp = kind == b"iTXt" and not xmp_seen and body.startswith(XMP_KEY.encode() + b"\0")
            xmp_seen = xmp_seen or xmp
            size = _unpacked_size(kind, body) if xmp or unpacked < PngImagePlugin.MAX_TEXT_MEMORY else None
            unpacked += PngImagePlugin.MAX_TEXT_CHUNK if size is None else size
        if size is not None and text_memory + size <= PngImagePlugin.MAX_TEXT_MEMORY:
            kept.append(data[at - 8 : at + length + 4])  # length, type, data, CRC
            text_memory += size
    return io.BytesIO(b"".join(kept))


def _chunks(stream: BinaryIO) -> Iterator[tuple[bytes, int, int]]:
    """(kind, where its data starts, its length) of each chunk up to IEND, from the headers alone: the data, the
    pixels among them, is passed over unread."""
    stream.seek(len(_SIGNATURE))
    while len(header := stream.read(8)) == 8:
        at, kind = stream.tell(), header[4:]
        length = int.from_bytes(header[:4], "big")
        yield kind, at, length
        if kind == b"IEND":
            return
        stream.seek(at + length + 4)  # past its CRC, wherever the caller left the stream


def _unpacked_size(kind: bytes, body: bytes) -> int | None:
    """About how much memory a text chunk's text takes unpacked, as Pillow counts it; None past its per-chunk
    limit. A broken one counts nothing: Pillow passes over it itself."""
    _, _, rest = body.partition(b"\0")  # after the keyword
    if kind == b"tEXt":
        return len(rest)
    if kind == b"iTXt":
        compressed, packed = _itxt(rest)
        if not compressed:  # an uncompressed iTXt is its own size
            return len(rest)
    else:
        packed = rest[1:]  # after the compression method
    text = _inflate(packed, PngImagePlugin.MAX_TEXT_CHUNK)
    return None if text is None else len(text)


def _itxt(rest: bytes) -> tuple[bool, bytes]:
    """(compressed, text) of an iTXt chunk after its keyword: compression flag and method, language tag,
    translated keyword, text."""
    compressed = rest[:1] == b"\x01"
    _, _, rest = rest[2:].partition(b"\0")  # after the language tag
    _, _, text = rest.partition(b"\0")  # after the translated keyword
    return compressed, text


def _inflate(packed: bytes, limit: int) -> bytes | None:
    """Unpacked, up to `limit` bytes; None past it. Broken data unpacks to nothing."""
    unpacker = zlib.decompressobj()
    try:
        text = unpacker.decompress(packed, limit)
    except zlib.error:
        return b""
    return None if unpacker.unconsumed_tail else text


def after_the_pixels(image: Image.Image, stream: BinaryIO) -> None:
    """Give an open PNG the eXIf and XMP chunks it keeps after its pixels (older writers put them there), found
    from the chunks' headers: Pillow reads those only as it decodes the picture. Read EXIF with
    `Image.Image.getexif(image)` then: PngImageFile's own decodes the picture when no eXIf came before it."""
    wanted = {b"eXIf": "exif", b"iTXt": XMP_KEY}
    for kind, _, length in _chunks(stream):
        if all(name in image.info for name in wanted.values()):
            return
        key = wanted.get(kind)
        if key is None or key in image.info or length > MAX_XMP_BYTES:
            continue
        body = stream.read(length)  # the stream is at its data
        found = body if kind == b"eXIf" else _xmp_text(body)
        if found is not None and len(body) == length:
            image.info[key] = found


def _xmp_text(body: bytes) -> str | None:
    """The XMP packet of an iTXt chunk, or None for another iTXt or one that unpacks past what the XMP reader takes."""
    keyword, _, rest = body.partition(b"\0")
    if keyword != XMP_KEY.encode():
        return None
    compressed, text = _itxt(rest)
    unpacked = _inflate(text, MAX_XMP_BYTES + 1) if compressed else text
    return None if unpacked is None else unpacked.decode("utf-8", "replace")
