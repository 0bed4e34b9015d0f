"""EXIF fields captionary keeps: date taken, camera, lens, GPS position, rating. Read once per photo, by
indexer/metadata.py; EXIF in the wild is often broken, so a bad field is None, never an error."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PIL import Image, TiffImagePlugin

from indexer.dates import TakenAt, exif_date, gps_date

EXIF_IFD = 0x8769
GPS_IFD = 0x8825
TAG_DATETIME_ORIGINAL = 36867
TAG_CREATE_DATE = 36868  # DateTimeDigitized: when the camera wrote the picture
TAG_DATETIME = 306  # ModifyDate: the last resort, after every date of the moment it was taken
# (date, sub-seconds, offset) tags of each of those dates
DATE_TAGS = ((TAG_DATETIME_ORIGINAL, 0x9291, 0x9011), (TAG_CREATE_DATE, 0x9292, 0x9012))
TAG_MODEL = 272
TAG_MAKE = 271
TAG_LENS_MODEL = 0xA434
TAG_RATING = 0x4746
RATINGS = (-1, 1, 2, 3, 4, 5)  # xmp:Rating's scale: -1 rejected, 1 to 5 stars; 0 is none
# The most a tag read here holds: a camera's or a lens's name, a date, the three rationals of a GPS position. Pillow
# makes an object of every value a tag holds, and of every tag of an IFD get_ifd reads: a GPS latitude of 2 million
# rationals took 7 s and 400 MB to read. A tag that holds more is broken, and left undecoded.
MAX_TAG_BYTES = 1024


@dataclass(frozen=True)
class ExifFacts:
    taken_at: datetime | None = None
    taken_zone: str | None = None  # "+02:00", "Z" (UTC), or None: local time, zone unknown
    camera: str | None = None
    lens: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    rating: int | None = None


def read_exif_tags(exif: Image.Exif) -> ExifFacts:
    """The facts of EXIF tags already parsed: a photo's, or a camera RAW's own TIFF structure (indexer/raw.py)."""
    try:
        main, details, gps = _directories(exif)
        model, make, lens, rating = main.get(TAG_MODEL), main.get(TAG_MAKE), details.get(TAG_LENS_MODEL), main.get(TAG_RATING)
        position = _gps(gps)
        taken = _taken(main, details, gps, position)
    except Exception:  # EXIF in the wild is often broken; it is optional metadata
        return ExifFacts()
    return ExifFacts(
        taken_at=taken.moment if taken else None,
        taken_zone=taken.zone if taken else None,
        camera=_camera(make, model),
        lens=_text(lens),
        latitude=position[0] if position else None,
        longitude=position[1] if position else None,
        rating=rating if isinstance(rating, int) and rating in RATINGS else None,
    )


class _Tags:
    """One IFD's tags, each decoded when first asked for, and only when it holds no more than MAX_TAG_BYTES."""

    def __init__(self, undecoded: TiffImagePlugin.ImageFileDirectory_v2 | None, decoded: Mapping[int, Any]) -> None:
        self.undecoded, self.decoded = undecoded, decoded

    def get(self, tag: int) -> Any:
        if (value := self.decoded.get(tag)) is not None:
            return value
        raw = self.undecoded._tagdata.get(tag) if self.undecoded is not None else None
        if raw is None or len(raw) > MAX_TAG_BYTES:
            return None
        value = self.undecoded[tag]  # type: ignore[index]
        return value[0] if isinstance(value, tuple) and len(value) == 1 else value  # as Exif gives a single value


def _directories(exif: Image.Exif) -> tuple[_Tags, _Tags, _Tags]:
    """IFD0, the Exif IFD and the GPS IFD. What this reads of Pillow's Exif (_info, _data, _ifds, head, fp) is
    private to it, from 11.3 to 12 at least: a Pillow laid out otherwise gets the public reading, which decodes
    every value, rather than no dates, places or cameras at all."""
    undecoded = getattr(exif, "_info", None)
    if not (hasattr(exif, "_data") and hasattr(exif, "_ifds") and hasattr(exif, "head")) or not (
        undecoded is None or hasattr(undecoded, "_tagdata")
    ):
        return _Tags(None, exif), _Tags(None, exif.get_ifd(EXIF_IFD)), _Tags(None, exif.get_ifd(GPS_IFD))
    main = _Tags(undecoded, exif._data)
    return main, _sub_ifd(exif, main, EXIF_IFD), _sub_ifd(exif, main, GPS_IFD)


def _sub_ifd(exif: Image.Exif, main: _Tags, pointer: int) -> _Tags:
    """The Exif or GPS IFD that IFD0 points to, read as Pillow's get_ifd reads it but decoded a tag at a time."""
    if pointer in exif._ifds:  # read before, or made in memory
        return _Tags(None, exif._ifds[pointer])
    offset = main.get(pointer)
    if not isinstance(offset, int) or not hasattr(exif, "fp"):
        return _Tags(None, {})
    directory = TiffImagePlugin.ImageFileDirectory_v2(exif.head, group=pointer)
    exif.fp.seek(offset)
    directory.load(exif.fp)
    return _Tags(directory, {})


def _text(value: object) -> str | None:
    return " ".join(value.replace("\x00", " ").split()) or None if isinstance(value, str) else None


def _camera(make: object, model: object) -> str | None:
    """ "Google Pixel 4": the make, unless the model already starts with it ("Canon EOS R5"); the make alone
    where a camera writes no model."""
    model_text, make_text = _text(model), _text(make)
    if model_text is None:
        return make_text
    return f"{make_text} {model_text}" if make_text and not model_text.startswith(make_text) else model_text


def _taken(main: _Tags, details: _Tags, gps: _Tags, position: tuple[float, float] | None) -> TakenAt | None:
    """DateTimeOriginal, then CreateDate (each with its sub-seconds and offset), then GPSDateTime (UTC, in
    the position's local time when it has one), then ModifyDate. TIFF/EP (a DNG) may keep DateTimeOriginal
    in IFD0 itself."""
    for date_tag, subsec_tag, offset_tag in DATE_TAGS:
        for ifd in (details, main):
            found = exif_date(ifd.get(date_tag), ifd.get(subsec_tag), ifd.get(offset_tag))
            if found is not None:
                return found
    return gps_date(gps.get(29), gps.get(7), position) or exif_date(main.get(TAG_DATETIME), None, details.get(0x9010))


def _degrees(value: object, reference: object, sides: str) -> float | None:
    """EXIF's (degrees, minutes, seconds) rationals and N/S or E/W (`sides`, the negative one last) as signed
    degrees; None if malformed: a side that is neither, over 60 minutes or seconds. A missing side is read
    as the positive one, as other tools read it."""
    try:
        degrees, minutes, seconds = (float(part) for part in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if isinstance(reference, bytes):  # an UNDEFINED-typed tag
        reference = reference.decode("ascii", "replace")
    side = "" if reference is None else str(reference).strip("\x00 ").upper()
    if side not in ("", *sides) or not (0 <= minutes <= 60 and 0 <= seconds <= 60):  # 60: a rounding writer
        return None
    result = degrees + minutes / 60 + seconds / 3600
    if not math.isfinite(result):
        return None
    return -result if side == sides[1] else result


def _gps(gps: _Tags) -> tuple[float, float] | None:
    latitude = _degrees(gps.get(2), gps.get(1), "NS")
    longitude = _degrees(gps.get(4), gps.get(3), "EW")
    if latitude is None or longitude is None or not plausible_position(latitude, longitude):
        return None
    return latitude, longitude


def plausible_position(latitude: float, longitude: float) -> bool:
    """On the globe, and not 0, 0 (a camera's blank)."""
    return abs(latitude) <= 90 and abs(longitude) <= 180 and not (latitude == 0 and longitude == 0)
