"""Open photos safely: reduced-size decode, EXIF orientation, RGB conversion (thumbnails: indexer/thumbnails.py)."""

from __future__ import annotations

import errno
import functools
import hashlib
import io
import math
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISDIR, S_ISLNK, S_ISREG
from typing import BinaryIO, cast

from PIL import ExifTags, Image, ImageFile, UnidentifiedImageError

from db.formats import LINK_NOT_FOLLOWED, is_raw
from db.records import PhotoFacts
from indexer.jxl import PLUGIN_MISSING, is_jxl, jxl_readable, jxl_size
from indexer.picture_checks import jpeg_problem, pieces_problem, size_problem, tiff_tags_problem
from indexer.png_text import text_over_limits, within_text_limits
from indexer.raw import RawReadError, raw_preview

try:  # iPhone photos are HEIC; pillow-heif teaches Pillow to read them.
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is a declared dependency
    pass

# Pixels a photo may have. Pillow's default (89.5 MP) refused a Fujifilm GFX100's or Hasselblad X2D's 102 MP and a
# Phase One's 150 MP; 250 MP takes them and most stitched panoramas, while a 20000x20000 bomb (400 MP, 1.2 GB as
# RGB in every reader) is still refused before it is decoded. A JPEG is decoded at a reduced size anyway.
MAX_PIXELS = 250_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# What a photo may be opened as, whatever its name says: a photo saved under the wrong one of these extensions is
# still read. Pillow's other plugins are for icons, games and science, and some decode a picture nested in the file
# whose size nothing checked (a BLP's JPEG, an IPTC record's PNG, an icon's PNG): an 852-byte "photo.jpg" took 6.5 GB.
PHOTO_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "HEIF", "AVIF", "JXL")
# A JPEG with an MPF segment (phones' and cameras' depth maps and stereo pairs) opens as an MPO: the same decoder.
JPEG_DECODERS = ("JPEG", "MPO")
# Pillow's warnings (corrupt EXIF in a TIFF, a photo near the pixel limit) go to stderr with a source line, between
# the run's own lines; a photo it cannot read gets its one-line reason, and one it can needs no warning.
warnings.filterwarnings("ignore", module=r"PIL\.")
# Sides further apart than this (a 1x60000 strip) are evened out before a model sees the picture: processors
# that scale the shorter side up to their input would make such a strip thousands of times the usual size.
MODEL_MAX_ASPECT = 20


@functools.cache
def photo_decoders() -> tuple[str, ...]:
    """PHOTO_FORMATS that are installed (JPEG XL is an optional extra), for Image.open's `formats`."""
    Image.init()
    return tuple(name for name in PHOTO_FORMATS if name in Image.OPEN)


class ImageReadError(Exception):
    """A file that cannot be read as an image; the message is the short reason stored in the DB."""


# Larger files are refused unread: no photo format needs more for a picture the pixel cap allows, and
# a 3 GB "huge.jpg" must not cost 3 GB of memory per decode worker.
MAX_PHOTO_BYTES = 1 << 30
# Up to this size a file is read once into memory and both hashed and decoded from there (on a NAS a
# second read goes over the network); a larger one is hashed in chunks and decoded from the file.
READ_WHOLE_BYTES = 32 << 20
HASH_CHUNK = 1 << 20


@contextmanager
def open_regular(path: str, follow_symlinks: bool = False) -> Iterator[tuple[BinaryIO, os.stat_result]]:
    """The file open for reading, with the stat of what was opened; refused unless a regular file.

    Opened non-blocking, so a FIFO or device swapped in since the scan cannot hang the open, and
    checked with fstat after opening, so what is read is what was checked. Without follow_symlinks a
    file replaced by a link is refused (the crawl never follows one either)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        if error.errno == errno.ELOOP and not follow_symlinks and os.path.islink(path):
            raise ImageReadError(LINK_NOT_FOLLOWED) from None  # the reason the crawl gives a link, not "too many levels"
        raise
    try:
        stat = os.fstat(descriptor)
        if not S_ISREG(stat.st_mode):
            raise ImageReadError("a folder, not a photo" if S_ISDIR(stat.st_mode) else "not a regular file")
        os.set_blocking(descriptor, True)
        handle = os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise
    with handle:
        yield handle, stat


@contextmanager
def read_regular_photo(path: str, follow_symlinks: bool = False) -> Iterator[tuple[os.stat_result, str, bytes | BinaryIO]]:
    """(stat, SHA-256, what to decode from) of a regular file no larger than MAX_PHOTO_BYTES, read once."""
    with open_regular(path, follow_symlinks) as (handle, stat):
        refuse_too_large(stat.st_size)
        content_hash, source = read_and_hash(handle, stat.st_size)
        yield stat, content_hash, source


def read_named_photo(path: str) -> bytes:
    """A photo named on the command line, read whole: a FIFO or device is refused, never waited on, and a link
    is followed (the person named it)."""
    try:
        with open_regular(path, follow_symlinks=True) as (handle, stat):
            refuse_too_large(stat.st_size)
            return handle.read()
    except FileNotFoundError:
        raise ImageReadError("no such file") from None
    except OSError as error:
        raise ImageReadError(f"cannot read: {error.strerror or error}") from None


def refuse_too_large(size: int) -> None:
    if size > MAX_PHOTO_BYTES:
        raise ImageReadError(f"too large ({size} bytes; limit {MAX_PHOTO_BYTES})")


def check_indexed_file(path: str, size: int) -> bool:
    """Before a front end reads an indexed photo: the path must still be a regular file, or a link (an
    index run with --follow-symlinks) whose target has the indexed size; a photo replaced by a link to
    something else since it was indexed is not shown through the link. Returns whether a regular file's size
    is no longer the indexed one: shown, with a word that its caption and details describe what it was."""
    try:
        status = os.lstat(path)
        if S_ISLNK(status.st_mode):
            status = os.stat(path)
            if not S_ISREG(status.st_mode) or status.st_size != size:
                raise ImageReadError("replaced by a link since it was indexed; run captionary index again")
    except OSError as error:
        raise ImageReadError(f"cannot read: {error.strerror or error}") from None
    if not S_ISREG(status.st_mode):
        raise ImageReadError("not a regular file")
    return status.st_size != size


def read_and_hash(handle: BinaryIO, size: int) -> tuple[str, bytes | BinaryIO]:
    """SHA-256 of the file's bytes, and what to decode them from: the bytes themselves for an ordinary
    photo (one read), the rewound file for a large one (memory stays flat whatever the size)."""
    if size <= READ_WHOLE_BYTES:
        data = handle.read()
        return hashlib.sha256(data).hexdigest(), data
    digest = hashlib.sha256()
    for chunk in iter(lambda: handle.read(HASH_CHUNK), b""):
        digest.update(chunk)
    handle.seek(0)
    return digest.hexdigest(), handle


@dataclass
class DecodedPhoto:
    image: Image.Image  # RGB, EXIF-rotated, reduced to about what the model and thumbnail need
    info: PhotoFacts


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB the way a person would expect to see it: transparency on white, 16-bit scaled down."""
    if image.mode == "RGB":
        return image
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    if image.mode == "I":  # 32-bit integers say nothing of their range: scaled by the smallest depth that holds them
        brightest = cast("tuple[int, int]", image.getextrema())[1]  # one band: its lowest and highest value
        depth = next((bits for bits in (8, 16, 24) if brightest < 1 << bits), 31)  # signed: 31 bits of value
        image = image.point(lambda value: value * (1 / (1 << (depth - 8)))).convert("L")
    if image.mode == "F":  # floating point (a JPEG XL or TIFF in HDR): 0.0 to 1.0 is black to white
        image = image.point(lambda value: value * 255).convert("L")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _check(reason: str | None) -> None:
    if reason is not None:
        raise ImageReadError(reason)


def _refuse_empty(source: str | Path | bytes | BinaryIO) -> None:
    if isinstance(source, (str, Path)):
        size = os.path.getsize(source)
        if size == 0:
            raise ImageReadError("empty file")
        refuse_too_large(size)  # a file named on the command line (similar, caption) is capped as indexing caps it
    if isinstance(source, bytes) and not source:
        raise ImageReadError("empty file")
    if hasattr(source, "seek") and not isinstance(source, bytes) and source.seek(0, io.SEEK_END) == 0:
        raise ImageReadError("empty file")


def _check_header(stream: BinaryIO) -> None:
    """What Pillow would believe as it opens the file, checked before it does."""
    _check_jxl(stream)
    _check(tiff_tags_problem(stream))


def _check_jxl(stream: BinaryIO) -> None:
    """A JPEG XL is decoded whole when opened: its size is checked from its header before. Without the optional
    plugin it cannot be decoded at all, and the reason says how to install it."""
    stream.seek(0)
    if not is_jxl(stream.read(16)):
        stream.seek(0)
        return
    if not jxl_readable():
        raise ImageReadError(PLUGIN_MISSING)
    stream.seek(0)
    size = jxl_size(stream.read())
    stream.seek(0)
    if size is None:
        raise ImageReadError("cannot decode: JPEG XL header unreadable")
    _check(size_problem(*size))


def open_photo(source: str | Path | bytes | BinaryIO, min_side: int = 0, name: str | None = None) -> DecodedPhoto:
    """Decode a photo for captioning, reading no more pixels than needed.

    JPEGs are decoded by the decoder itself at 1/2, 1/4 or 1/8 scale (draft mode) to the
    smallest size whose sides are both still at least `min_side`: a 224 px model never needs
    the 12 MP. A camera RAW (known by `name`, else by the path) is its embedded preview (indexer/raw.py).
    Raises ImageReadError with a short reason for anything unreadable.
    """
    name = name if name is not None else str(source) if isinstance(source, (str, Path)) else ""
    try:
        _refuse_empty(source)
        if is_raw(name):
            return _open_raw(source, min_side, name)
        stream = io.BytesIO(source) if isinstance(source, bytes) else source
        if isinstance(stream, (str, Path)):
            with open(stream, "rb") as handle:
                _check_header(handle)
        else:
            _check_header(stream)
        try:
            image, width, height, image_format = _decode(stream, min_side)
        except ValueError as error:
            if text_over_limits(error) is None:
                raise
            # The picture is fine; only its text is too large to unpack (the metadata reader reports that).
            image, width, height, image_format = _decode(within_text_limits(stream), min_side)
    except ImageReadError:
        raise
    except Image.DecompressionBombError:
        raise ImageReadError("too many pixels to decode safely (possible decompression bomb)") from None
    except UnidentifiedImageError:
        raise ImageReadError(_unidentified(source)) from None
    except Exception as error:  # decoders raise all sorts (struct.error, IndexError...) on corrupt files
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ImageReadError(f"cannot decode: {reason}"[:200]) from None
    return DecodedPhoto(image, PhotoFacts(width, height, image_format))


def _unidentified(source: str | Path | bytes | BinaryIO) -> str:
    """A TIFF Pillow does not identify is damaged or of a kind it cannot decode: either way a TIFF, not junk."""
    try:
        if isinstance(source, (str, Path)):
            with open(source, "rb") as handle:
                head = handle.read(4)
        elif isinstance(source, bytes):
            head = source[:4]
        else:
            source.seek(0)
            head = source.read(4)
    except OSError:
        head = b""  # gone, or a stream that cannot go back: the plain reason
    if head in (b"II*\x00", b"MM\x00*"):
        return "a TIFF that cannot be decoded: damaged, or pixels of a kind Pillow has no decoder for (floating-point colour)"
    return "not an image (unrecognised format)"


def _open_raw(source: str | Path | bytes | BinaryIO, min_side: int, name: str) -> DecodedPhoto:
    try:
        preview = raw_preview(str(source) if isinstance(source, Path) else source, name)
    except RawReadError as error:
        raise ImageReadError(str(error)) from None
    if isinstance(preview.picture, Image.Image):
        image = to_rgb(_turned(preview.picture, TURNS.get(preview.orientation)))
    else:
        image = _decode(io.BytesIO(preview.picture), min_side, preview.orientation)[0]
    return DecodedPhoto(image, PhotoFacts(preview.width, preview.height, preview.format))


def _decode(stream: str | Path | BinaryIO, min_side: int, orientation: int | None = None) -> tuple[Image.Image, int, int, str]:
    """(RGB picture upright, width, height, Pillow's format name). `orientation`, when given, overrides the
    picture's own: a RAW's preview is turned as the RAW says (LibRaw reads it), whatever its JPEG says."""
    with Image.open(stream, formats=photo_decoders()) as image:
        width, height = image.size
        _check(size_problem(width, height))
        _check(pieces_problem(image))
        image_format = image.format or "unknown"
        if image_format in JPEG_DECODERS:
            _check(jpeg_problem(image))
        if orientation is not None:
            image.getexif()[0x0112] = orientation
        if min_side and image_format in JPEG_DECODERS:
            image.draft("RGB", (min_side, min_side))
        # Pillow opens an animation on its first frame and a HEIF on its primary picture (not always its first).
        image.load()
        # Read before the picture is shrunk. Pillow turns a TIFF itself as it loads it, and drops its orientation.
        turn = TURNS.get(image.getexif().get(ExifTags.Base.Orientation, 1))
        rgb = to_rgb(_turned(_shrunk(image, min_side), turn))
        if rgb is image:
            rgb = image.copy()
    if turn in SIDEWAYS:
        width, height = height, width
    return rgb, width, height, image_format


# EXIF orientation -> how to turn the picture upright (ImageOps.exif_transpose's table, without its rewrite of
# the EXIF, which a photo with a 30 MB GPS block made 30 s, and without its copy of a picture that needs no turn).
TURNS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
SIDEWAYS = (Image.Transpose.TRANSPOSE, Image.Transpose.ROTATE_270, Image.Transpose.TRANSVERSE, Image.Transpose.ROTATE_90)
# Modes shrunk before they are made RGB; the others are made RGB first (a palette cannot be averaged, and 16- and
# 32-bit grey is scaled by its brightest value, which averaging would lower).
SHRINK_FIRST = ("L", "LA", "La", "RGB", "RGBA", "RGBa", "CMYK", "YCbCr")


def _turned(image: Image.Image, turn: Image.Transpose | None) -> Image.Image:
    return image.transpose(turn) if turn is not None else image


def _shrunk(image: Image.Image, min_side: int) -> Image.Image:
    """Reduced by a whole factor to no less than `min_side` on its shorter side, as a JPEG is by its draft decode:
    turning and converting a picture each copy it, and a 250 MP RGBA PNG took 4 GB in one reader."""
    factor = min(image.size) // min_side if min_side else 0
    if factor < 2:
        return image
    if image.mode not in SHRINK_FIRST:
        image = to_rgb(image)
    return image.reduce(factor)


def bounded_aspect(image: Image.Image, max_aspect: float, longer_side: int) -> Image.Image:
    """The picture itself when its longer side is at most `max_aspect` times its shorter; else shrunk to at most
    `longer_side` along its length and padded with white across it to that ratio, the picture centred."""
    width, height = image.size
    if max(width, height) <= max_aspect * min(width, height):
        return image
    if max(width, height) > longer_side:
        image = image.copy()
        image.thumbnail((longer_side, longer_side))  # keeps at least one pixel across
        width, height = image.size
    padded = (max(width, math.ceil(height / max_aspect)), max(height, math.ceil(width / max_aspect)))
    canvas = Image.new("RGB", padded, (255, 255, 255))
    canvas.paste(image.convert("RGB"), ((padded[0] - width) // 2, (padded[1] - height) // 2))
    return canvas


def for_model(image: Image.Image, input_side: int) -> Image.Image:
    """What a caption model or image embedder is given: a strip evened out to MODEL_MAX_ASPECT, no longer than
    the model's input side times that ratio; any other photo as it is."""
    return bounded_aspect(image, MODEL_MAX_ASPECT, input_side * MODEL_MAX_ASPECT)


ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated photo is an error to record, not gray pixels
