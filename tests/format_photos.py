"""Photos in the newer and the camera formats, made offline: AVIF (Pillow), JPEG XL (pillow-jxl-plugin), a
minimal DNG (TIFF/EP with a JPEG preview, written with tifffile), and EXIF with each kind of date."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image

from tests.photos import photo

EXIF_IFD, GPS_IFD = 0x8769, 0x8825


def exif_bytes(
    original: str | None = None,
    offset: str | None = None,
    create: str | None = None,
    subsec_create: str | None = None,
    modify: str | None = None,
    gps_date: tuple[str, tuple[float, float, float]] | None = None,
    position: tuple[float, float] | None = None,
    camera: str | None = None,
) -> bytes:
    """EXIF as a camera or a phone writes it; each date only when given."""
    exif = Image.Exif()
    details, gps = exif.get_ifd(EXIF_IFD), exif.get_ifd(GPS_IFD)
    for tag, value in ((36867, original), (0x9011, offset), (36868, create), (0x9292, subsec_create)):
        if value is not None:
            details[tag] = value
    if modify:
        exif[306] = modify
    if camera:
        exif[272] = camera
    if gps_date:
        gps[29], gps[7] = gps_date
    if position:
        latitude, longitude = position
        gps.update({1: "N" if latitude >= 0 else "S", 2: (abs(latitude), 0.0, 0.0)})
        gps.update({3: "E" if longitude >= 0 else "W", 4: (abs(longitude), 0.0, 0.0)})
    return exif.tobytes()


def save_avif(path: Path, colour=(30, 30, 220), exif: bytes | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    photo(size=(96, 64), colour=colour).save(path, "AVIF", exif=exif or b"", quality=90)
    return path


def save_jxl(path: Path, image: Image.Image | None = None, exif: bytes | None = None) -> Path:
    import pillow_jxl  # noqa: F401  (registers JXL)

    path.parent.mkdir(parents=True, exist_ok=True)
    picture = image if image is not None else photo(size=(96, 64), colour=(30, 200, 30))
    picture.save(path, "JXL", exif=exif or b"", lossless=True)
    return path


def save_avif_10_bit(path: Path, grey: int) -> Path | None:
    """A 10-bit AVIF of one grey level (0..1023), by avifenc (libavif-bin); None where it is not installed:
    Pillow writes 8-bit AVIF only."""
    encoder = shutil.which("avifenc")
    if encoder is None:
        return None
    source = path.with_suffix(".png")
    Image.fromarray(np.full((64, 96), grey * 64, dtype=np.uint16)).save(source)  # 16-bit PNG
    subprocess.run([encoder, "--depth", "10", "--lossless", str(source), str(path)], check=True, capture_output=True)
    source.unlink()
    return path


def write_dng(
    path: Path,
    preview: Image.Image | None,
    taken: str | None = "2022:03:04 05:06:07",
    camera: str = "Canon EOS R5",
    orientation: int | None = None,
    cfa_shape: tuple[int, int] = (32, 48),
) -> Path:
    """A minimal DNG as Adobe's converter lays one out: IFD0 holds the JPEG preview (NewSubFileType 1), the
    camera and, as TIFF/EP allows, DateTimeOriginal; a SubIFD holds 16-bit Bayer data. `preview=None`
    writes the raw data alone, in IFD0: a RAW with no preview at all."""
    import tifffile

    path.parent.mkdir(parents=True, exist_ok=True)
    cfa = (np.arange(cfa_shape[0] * cfa_shape[1], dtype=np.uint32).reshape(cfa_shape) * 7 % 4096).astype(np.uint16)
    raw_tags = [(33421, "H", 2, (2, 2), True), (33422, "B", 4, (0, 1, 1, 2), True), (50717, "H", 1, 4095, True)]
    camera_tags = [(50706, "B", 4, (1, 4, 0, 0), True), (271, "s", 0, camera.split()[0], True), (272, "s", 0, camera, True)]
    if taken:
        camera_tags.append((36867, "s", 0, taken, True))
    if orientation:
        camera_tags.append((274, "H", 1, orientation, True))
    with tifffile.TiffWriter(path) as tif:
        if preview is None:
            tif.write(cfa, photometric=32803, subfiletype=0, extratags=camera_tags + raw_tags)
            return path
        buffer = io.BytesIO()
        preview.save(buffer, "JPEG", quality=90)
        with _precompressed_jpeg():
            tif.write(
                iter([buffer.getvalue()]),
                shape=(preview.height, preview.width, 3),
                dtype="uint8",
                photometric="ycbcr",
                compression=7,
                subsampling=(2, 2),
                rowsperstrip=preview.height,
                subfiletype=1,
                subifds=1,
                extratags=camera_tags,
            )
        tif.write(cfa, photometric=32803, subfiletype=0, extratags=raw_tags)
    return path


class _precompressed_jpeg:
    """tifffile looks up a JPEG encoder (from imagecodecs) even for strips handed to it already compressed,
    and never calls it: a stand-in that fails loudly if it ever is."""

    def __enter__(self) -> None:
        import tifffile._imagecodecs as codecs

        def refuse(*_args, **_kwargs):
            raise AssertionError("the preview is compressed by Pillow")

        self.codecs, self.had = codecs, getattr(codecs, "jpeg_encode", None)
        codecs.jpeg_encode = refuse  # type: ignore[attr-defined]

    def __exit__(self, *_exc) -> None:
        if self.had is None:
            del self.codecs.jpeg_encode
        else:
            self.codecs.jpeg_encode = self.had  # type: ignore[attr-defined]
