"""EXIF fields captionary keeps: date taken, camera, lens, GPS position, rating. Read once per photo, by
indexer/metadata.py; EXIF in the wild is often broken, so a bad field is None, never an error."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from PIL import Image

from db.models import plausible_date

EXIF_IFD = 0x8769
GPS_IFD = 0x8825
TAG_DATETIME_ORIGINAL = 36867
TAG_DATETIME = 306
TAG_MODEL = 272
TAG_MAKE = 271
TAG_LENS_MODEL = 0xA434
TAG_RATING = 0x4746
RATINGS = (-1, 1, 2, 3, 4, 5)  # xmp:Rating's scale: -1 rejected, 1 to 5 stars; 0 is none


@dataclass(frozen=True)
class ExifFacts:
    taken_at: datetime | None = None
    camera: str | None = None
    lens: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    rating: int | None = None


def read_exif(image: Image.Image) -> ExifFacts:
    try:
        exif = image.getexif()
        details = exif.get_ifd(EXIF_IFD)
        taken = _parse_exif_date(details.get(TAG_DATETIME_ORIGINAL)) or _parse_exif_date(exif.get(TAG_DATETIME))
        model, make, lens, rating = exif.get(TAG_MODEL), exif.get(TAG_MAKE), details.get(TAG_LENS_MODEL), exif.get(TAG_RATING)
        position = _gps(exif)
    except Exception:  # EXIF in the wild is often broken; it is optional metadata
        return ExifFacts()
    return ExifFacts(
        taken_at=taken,
        camera=_camera(make, model),
        lens=_text(lens),
        latitude=position[0] if position else None,
        longitude=position[1] if position else None,
        rating=rating if isinstance(rating, int) and rating in RATINGS else None,
    )


def _text(value: object) -> str | None:
    return " ".join(value.replace("\x00", " ").split()) or None if isinstance(value, str) else None


def _camera(make: object, model: object) -> str | None:
    """ "Google Pixel 4": the make, unless the model already starts with it ("Canon EOS R5")."""
    model_text, make_text = _text(model), _text(make)
    if model_text is None:
        return None
    return f"{make_text} {model_text}" if make_text and not model_text.startswith(make_text) else model_text


def _parse_exif_date(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return plausible_date(datetime.strptime(value.strip().rstrip("\x00")[:19], "%Y:%m:%d %H:%M:%S"))
    except ValueError:
        return None


def _degrees(value: object, reference: object, negative: str) -> float | None:
    """EXIF's (degrees, minutes, seconds) rationals and N/S or E/W as signed degrees; None if malformed."""
    try:
        degrees, minutes, seconds = (float(part) for part in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    result = degrees + minutes / 60 + seconds / 3600
    if not math.isfinite(result):
        return None
    return -result if str(reference).strip("\x00 ").upper() == negative else result


def _gps(exif: Image.Exif) -> tuple[float, float] | None:
    gps = exif.get_ifd(GPS_IFD)
    latitude = _degrees(gps.get(2), gps.get(1), "S")
    longitude = _degrees(gps.get(4), gps.get(3), "W")
    if latitude is None or longitude is None or not plausible_position(latitude, longitude):
        return None
    return latitude, longitude


def plausible_position(latitude: float, longitude: float) -> bool:
    """On the globe, and not 0, 0 (a camera's blank)."""
    return abs(latitude) <= 90 and abs(longitude) <= 180 and not (latitude == 0 and longitude == 0)
