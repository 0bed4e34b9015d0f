"""Read an XMP packet (embedded in a photo, or a sidecar) into plain values, safely: no DTD, so no entity is
ever expanded and no external file is read; a size cap; one pass over the elements, never recursion."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeTree
from defusedxml import DefusedXmlException

from db.xmp import CREATOR_TOOL, MAX_XMP_BYTES, qualified
from indexer.dates import TakenAt, xmp_date

MAX_VALUES = 500  # keywords and paths kept per property
MAX_TEXT = 2000  # characters kept of a title or description


class XmpError(Exception):
    """Metadata that cannot be read; the message is the short reason recorded for the photo."""


@dataclass
class XmpValues:
    """The properties captionary uses, each as read (not yet normalised); empty when absent."""

    keywords: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)  # "People|Family|Grandma"
    title: str | None = None
    description: str | None = None
    rating: int | None = None
    taken_at: datetime | None = None
    taken_zone: str | None = None  # "+02:00", "Z", or None (indexer/dates.py)
    latitude: float | None = None
    longitude: float | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    location: str | None = None
    # What captionary itself wrote (db/xmp.py): not the person's description or keywords.
    our_caption: str | None = None
    our_tags: list[str] = field(default_factory=list)
    our_place: str | None = None
    # Which values are captionary's copies of its record, and the other sidecars they were read with;
    # our_keywords is None in a sidecar written before captionary listed them.
    our_keywords: list[str] | None = None
    our_paths: list[str] = field(default_factory=list)
    our_title: str | None = None
    our_description: str | None = None
    our_sources: str = ""
    by_captionary: bool = False  # xmp:CreatorTool: the whole sidecar was created by captionary


_CONTAINERS = {qualified("rdf", name) for name in ("Bag", "Seq", "Alt")}
_LI = qualified("rdf", "li")
_LANG = qualified("xml", "lang")


def _collect(root: Element, wanted: set[str]) -> dict[str, list[str]]:
    """Every value of the wanted properties, written either as attributes of rdf:Description or as
    elements (plain text, or an rdf:Bag/Seq/Alt of rdf:li; an Alt's x-default first)."""
    found: dict[str, list[str]] = {}
    for element in root.iter():
        for name, value in element.attrib.items():
            if name in wanted:
                found.setdefault(name, []).append(value)
        if element.tag not in wanted:
            continue
        container = next((child for child in element if child.tag in _CONTAINERS), None)
        if container is None:
            if element.text and element.text.strip():
                found.setdefault(element.tag, []).append(element.text)
            continue
        items = [item for item in container if item.tag == _LI and item.text and item.text.strip()]
        items.sort(key=lambda item: item.get(_LANG) != "x-default")  # stable: x-default, then document order
        found.setdefault(element.tag, []).extend(item.text or "" for item in items[:MAX_VALUES])
    return found


_WANTED = {
    "keywords": ("dc", "subject"),
    "paths": ("lr", "hierarchicalSubject"),
    "digikam": ("digiKam", "TagsList"),
    "title": ("dc", "title"),
    "description": ("dc", "description"),
    "headline": ("photoshop", "Headline"),
    "rating": ("xmp", "Rating"),
    "taken": ("exif", "DateTimeOriginal"),
    "created": ("photoshop", "DateCreated"),
    "latitude": ("exif", "GPSLatitude"),
    "longitude": ("exif", "GPSLongitude"),
    "city": ("photoshop", "City"),
    "state": ("photoshop", "State"),
    "country": ("photoshop", "Country"),
    "location": ("Iptc4xmpCore", "Location"),
    "our_caption": ("captionary", "caption"),
    "our_tags": ("captionary", "autoTags"),
    "our_place": ("captionary", "place"),
    "our_keywords": ("captionary", "keywords"),
    "our_paths": ("captionary", "paths"),
    "our_title": ("captionary", "title"),
    "our_description": ("captionary", "description"),
    "our_sources": ("captionary", "sources"),
    "tool": ("xmp", "CreatorTool"),
}
# The packet's root, whatever prefix its writer bound (x:, x2:...): from here on the declarations it needs.
_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:xmpmeta|RDF)[\s>/]")


def parse_xmp(packet: bytes | str) -> XmpValues:
    """The values of one packet; XmpError for one too large, not XML, or with a DOCTYPE."""
    data = packet.encode("utf-8", "replace") if isinstance(packet, str) else packet
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16, which XMP allows: read as the UTF-8 it holds
        data = data.decode("utf-16", "replace").encode("utf-8")
    elif data.startswith((b"<\x00", b"\x00<")):  # UTF-16 whose byte-order mark is inside <?xpacket begin="...">
        data = data.decode("utf-16-le" if data[0] == ord("<") else "utf-16-be", "replace").encode("utf-8")
    if len(data) > MAX_XMP_BYTES:
        raise XmpError(f"XMP too large ({len(data)} bytes; limit {MAX_XMP_BYTES})")
    found_root = _ROOT.search(data)
    start = found_root.start() if found_root else -1
    end = data.rfind(b">")
    if start < 0 or end < start:
        raise XmpError("XMP holds no x:xmpmeta or rdf:RDF element")
    if b"<!DOCTYPE" in data[:start] or b"<!ENTITY" in data:
        raise XmpError("XMP with a DOCTYPE or entities refused (entities are never expanded)")
    try:
        root = SafeTree.fromstring(data[start : end + 1], forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise XmpError("XMP with a DOCTYPE or entities refused (entities are never expanded)") from None
    except ParseError as error:
        raise XmpError(f"XMP is not valid XML ({error})") from None
    found = _collect(root, {qualified(*name) for name in _WANTED.values()})
    get = {key: found.get(qualified(*name), []) for key, name in _WANTED.items()}
    return XmpValues(
        keywords=get["keywords"][:MAX_VALUES],
        paths=[*get["paths"], *(path.replace("/", "|") for path in get["digikam"])][:MAX_VALUES],
        title=_first(get["title"]) or _first(get["headline"]),
        description=_first(get["description"]),
        rating=_rating(_first(get["rating"])),
        **_taken(xmp_date(_first(get["taken"])) or xmp_date(_first(get["created"]))),
        latitude=_xmp_degrees(_first(get["latitude"]), "S"),
        longitude=_xmp_degrees(_first(get["longitude"]), "W"),
        city=_first(get["city"]),
        state=_first(get["state"]),
        country=_first(get["country"]),
        location=_first(get["location"]),
        our_caption=_first(get["our_caption"]),
        our_tags=get["our_tags"],
        our_place=_first(get["our_place"]),
        our_keywords=get["our_keywords"] if qualified("captionary", "keywords") in found else None,
        our_paths=get["our_paths"],
        our_title=_first(get["our_title"]),
        our_description=_first(get["our_description"]),
        our_sources=next(iter(get["our_sources"]), ""),
        by_captionary=CREATOR_TOOL in get["tool"],
    )


def _first(values: list[str]) -> str | None:
    for value in values:
        text = " ".join(value.split())[:MAX_TEXT]
        if text:
            return text
    return None


def _rating(value: str | None) -> int | None:
    """xmp:Rating: 1 to 5 stars, -1 rejected; 0 and anything else is no rating."""
    try:
        stars = round(float(value)) if value is not None else 0
    except (ValueError, OverflowError):
        return None
    return stars if stars in (-1, 1, 2, 3, 4, 5) else None


def _taken(taken: TakenAt | None) -> dict:
    return {"taken_at": taken.moment, "taken_zone": taken.zone} if taken else {}


_DEGREES = re.compile(r"^\s*(\d{1,3}),(\d{1,2}(?:\.\d+)?)(?:,(\d{1,2}(?:\.\d+)?))?\s*([NSEW])\s*$", re.IGNORECASE)


def _xmp_degrees(value: str | None, negative: str) -> float | None:
    """XMP's "35,0.68N" or "35,0,41N" as signed degrees."""
    match = _DEGREES.match(value or "")
    if match is None:
        return None
    degrees, minutes, seconds, hemisphere = match.groups()
    result = int(degrees) + float(minutes) / 60 + float(seconds or 0) / 3600
    return -result if hemisphere.upper() == negative else result
