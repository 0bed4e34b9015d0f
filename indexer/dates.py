"""Dates as cameras, phones and photo tools write them: EXIF's "2019:07:14 10:00:00" with its sub-seconds and
offset, GPS's UTC date and time (turned into local time where the position has a time zone), XMP's ISO 8601,
IPTC's date and time. Each reader returns the local wall time and what is known of its zone, or None."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from db.records import plausible_date

UTC = "Z"
_XMP_DATE = re.compile(r"^(\d{4})[-:](\d{2})[-:](\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$")
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")
MAX_OFFSET = timedelta(hours=14)  # the widest offset on Earth (Kiribati)


@dataclass(frozen=True)
class TakenAt:
    moment: datetime  # local wall time, naive: what `date:` and the app's date filter compare
    zone: str | None = None  # "+02:00", "Z" (UTC), or None: local time, zone unknown


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return value.strip().rstrip("\x00").strip() if isinstance(value, str) else None


def offset_text(value: object) -> str | None:
    """ "+02:00" from "+02:00" or "+0200"; None for anything else or beyond +-14 hours."""
    match = _OFFSET.match(_text(value) or "")
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    if int(minutes) >= 60 or timedelta(hours=int(hours), minutes=int(minutes)) > MAX_OFFSET:
        return None
    return f"{sign}{hours}:{minutes}"


# EXIF's "2019:07:14 10:00:00" (some cameras leave out leading zeros), and the ISO spelling some programs write
# there ("2019-07-14T10:00:00").
_EXIF_MOMENT = re.compile(r"(\d{4})[:-](\d{1,2})[:-](\d{1,2})[ T](\d{1,2}):(\d{1,2}):(\d{1,2})")


def exif_date(value: object, subsec: object = None, offset: object = None) -> TakenAt | None:
    """EXIF's "YYYY:MM:DD HH:MM:SS", with SubSecTime digits and OffsetTime "+02:00" when they are there."""
    found = _EXIF_MOMENT.match(_text(value) or "")
    if found is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in found.groups())
        moment = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    digits = _text(subsec) or ""
    if digits.isdigit():
        moment = moment.replace(microsecond=int(digits[:6].ljust(6, "0")))
    moment_ok = plausible_date(moment)
    return TakenAt(moment_ok, offset_text(offset)) if moment_ok else None


def _rational_seconds(value: object) -> float | None:
    try:
        hours, minutes, seconds = (float(part) for part in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not (0 <= hours < 24 and 0 <= minutes < 60 and 0 <= seconds < 61):
        return None
    return hours * 3600 + minutes * 60 + seconds


def gps_date(datestamp: object, timestamp: object, position: tuple[float, float] | None) -> TakenAt | None:
    """GPSDateStamp "2023:11:15" and GPSTimeStamp (12, 30, 0) are UTC: local time where the position has a
    time zone (offline, tzfpy), else UTC, said by the zone."""
    text, seconds = _text(datestamp), _rational_seconds(timestamp)
    if not text or seconds is None:
        return None
    try:
        utc = datetime.strptime(text[:10], "%Y:%m:%d") + timedelta(seconds=round(seconds))
    except ValueError:
        return None
    zone = zone_at(*position) if position else None
    if zone is None:
        return TakenAt(utc, UTC) if plausible_date(utc) else None
    local = utc.replace(tzinfo=timezone.utc).astimezone(zone)
    moment = plausible_date(local.replace(tzinfo=None))
    return TakenAt(moment, _format_offset(local.utcoffset())) if moment else None


def zone_at(latitude: float, longitude: float):  # -> ZoneInfo | None
    """The time zone of a position, from the zone boundaries tzfpy ships (no network); None when unknown."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        from tzfpy import get_tz

        name = get_tz(longitude, latitude)
        return ZoneInfo(name) if name else None
    except (ImportError, ZoneInfoNotFoundError, ValueError):
        return None


def _format_offset(delta: timedelta | None) -> str:
    if not delta:
        return "+00:00"
    minutes = round(delta.total_seconds() / 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def xmp_date(value: str | None) -> TakenAt | None:
    """ "2019-07-14T10:00:00+02:00", "2019-07-14T10:00:00.25Z", "2019-07-14" or "2019:07:14 10:00:00"."""
    if not value:
        return None
    text = value.strip()
    match = _XMP_DATE.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        return None
    moment_ok = plausible_date(moment)
    if moment_ok is None:
        return None
    return TakenAt(moment_ok, UTC if zone == "Z" else offset_text(zone) if zone and hour else None)


def iptc_date(date: object, time: object) -> TakenAt | None:
    """IPTC DateCreated "20190714" with TimeCreated "100000+0200"; a time alone is no date."""
    day = _text(date)
    if not day or not day.isdigit() or len(day) != 8:
        return None
    clock = _text(time) or ""
    hhmmss = clock[:6] if clock[:6].isdigit() and len(clock) >= 6 else "000000"
    try:
        moment = datetime.strptime(day + hhmmss, "%Y%m%d%H%M%S")
    except ValueError:
        return None
    moment_ok = plausible_date(moment)
    return TakenAt(moment_ok, offset_text(clock[6:])) if moment_ok else None
