"""What a photo already carries: EXIF (date, camera, lens, GPS, rating), IPTC (keywords, caption, title,
city/country) and XMP (embedded, and the sidecars `photo.xmp` and `photo.jpg.xmp`), as one PhotoMetadata.

Read in pure Python from the bytes the indexer already holds (Pillow for EXIF/IPTC/XMP, defusedxml for XMP):
no second read of the photo, no subprocess, nothing to install. bench/metadata.py measures it against
exiftool in batch mode; docs/metadata.md says why this reader was chosen."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from dataclasses import replace
from typing import BinaryIO

from PIL import Image, ImageFile, IptcImagePlugin

from db.formats import is_raw
from db.records import PhotoMetadata, normalize_tag
from db.sidecars import sidecar_signature, signature_entries, signature_names
from db.xmp import MAX_XMP_BYTES
from indexer.dates import iptc_date
from indexer.exif import ExifFacts, plausible_position, read_exif_tags
from indexer.imaging import ImageReadError, open_regular, photo_decoders
from indexer.jxl import is_jxl, read_boxes
from indexer.picture_checks import tiff_tags_problem
from indexer.png_text import XMP_KEY, after_the_pixels, text_over_limits, within_text_limits
from indexer.raw import raw_exif, raw_xmp
from indexer.xmp import MAX_TEXT, MAX_VALUES, XmpError, XmpValues, parse_xmp

# IPTC-IIM (record, dataset): the fields photo tools write.
IPTC_CHARSET = (1, 90)
IPTC_TITLE, IPTC_KEYWORDS, IPTC_HEADLINE, IPTC_CAPTION = (2, 5), (2, 25), (2, 105), (2, 120)
IPTC_SUBLOCATION, IPTC_CITY, IPTC_STATE, IPTC_COUNTRY = (2, 92), (2, 90), (2, 95), (2, 101)
IPTC_DATE_CREATED, IPTC_TIME_CREATED = (2, 55), (2, 60)  # "20190714", "100000+0200": a time alone is no date
UTF8_MARK = b"\x1b%G"  # ISO 2022 escape for UTF-8 in 1:90


def read_metadata(source: bytes | BinaryIO, path: str, sidecars: str, follow_symlinks: bool = False) -> PhotoMetadata:
    """The photo's metadata from its bytes (or open file) and the sidecars the scan saw beside it.
    Never raises for bad metadata: what cannot be read is named in `problems`, the rest is kept."""
    problems: list[str] = []
    layers, exif = _embedded(source, problems, path)
    found: list[tuple[str, int, int]] = []
    read: list[tuple[str, XmpValues]] = []
    for name in signature_names(sidecars):
        values = _sidecar(os.path.join(os.path.dirname(path), name), name, follow_symlinks, found, problems)
        if values is not None:
            read.append((name, values))
    layers += [_without_stale_copies(values, name, found) for name, values in read]
    return _combine(layers, exif, sidecar_signature(found), problems)


def _without_stale_copies(values: XmpValues, name: str, found: list[tuple[str, int, int]]) -> XmpValues:
    """A sidecar captionary exported holds copies of the library's record beside what it alone says. Once
    another sidecar they were read with has changed (Lightroom removed a keyword from photo.xmp, or changed
    its title), those copies are stale and left out, so that edit wins; a keyword or title another tool
    wrote into this sidecar itself still counts. Only a sidecar that changed counts: one gone or new says
    nothing about the copies (the library was copied without it, or it never had them)."""
    if values.our_caption is None and not values.by_captionary:
        return values
    others = {other.lower(): (size, mtime) for other, size, mtime in found if other.lower() != name.lower()}
    if values.our_keywords is None:  # written before the copies were listed: stale once another is newer
        own = next((mtime for other, _, mtime in found if other.lower() == name.lower()), None)
        if values.by_captionary and own is not None and any(mtime > own for _, mtime in others.values()):
            return replace(values, keywords=[], paths=[], title=None, description=None, our_place=None)
        return values
    changed = [
        other
        for other, size, mtime in signature_entries(values.our_sources)
        if other.lower() in others and others[other.lower()] != (size, mtime)
    ]
    if not changed:
        return values
    copies = {normalize_tag(keyword) for keyword in values.our_keywords}
    return replace(
        values,
        keywords=[keyword for keyword in values.keywords if normalize_tag(keyword) not in copies],
        paths=[path for path in values.paths if path not in values.our_paths],
        title=None if values.title is not None and _clean(values.title) == _clean(values.our_title) else values.title,
        description=None if _clean(values.description) == _clean(values.our_description) else values.description,
        our_place=None,
    )


def _embedded(source: bytes | BinaryIO, problems: list[str], path: str) -> tuple[list[XmpValues], ExifFacts]:
    """IPTC and XMP inside the photo, and the EXIF facts; an unreadable photo has none (its failure is
    recorded by the decode, not here). A RAW's and a JPEG XL's are read from their structure, not decoded."""
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    layers: list[XmpValues] = []
    exif = ExifFacts()
    try:
        stream.seek(0)
        if is_raw(path) or is_jxl(stream.read(16)):
            return _structured(stream, path, problems)
        stream.seek(0)
        try:
            exif = _from_image(stream, layers, problems)
        except ValueError as error:
            problem = text_over_limits(error)
            if problem is None:
                raise
            problems.append(problem)
            layers = []
            exif = _from_image(within_text_limits(stream), layers, problems)
    except Exception:  # not an image, or broken beyond its header: the decode says why
        return layers, exif
    finally:
        if not isinstance(source, bytes):
            source.seek(0)
    return layers, exif


def _from_image(stream: BinaryIO, layers: list[XmpValues], problems: list[str]) -> ExifFacts:
    if tiff_tags_problem(stream) is not None:  # Pillow would decode it as it opens the file; the decode says why
        return ExifFacts()
    with Image.open(stream, formats=photo_decoders()) as image:
        png = image.format == "PNG"
        if png:
            after_the_pixels(image, stream)
        layers.append(_iptc(image))
        packet = image.info.get("xmp") or image.info.get(XMP_KEY)  # a PNG's is an iTXt chunk
        _add_xmp(layers, packet, problems)
        try:
            tags = Image.Image.getexif(image) if png else image.getexif()  # PngImageFile's decodes the picture
        except Exception:  # EXIF in the wild is often broken; it is optional metadata
            return ExifFacts()
        return read_exif_tags(tags)


def _structured(stream: BinaryIO, path: str, problems: list[str]) -> tuple[list[XmpValues], ExifFacts]:
    """A camera RAW's own TIFF tags (indexer/raw.py), or a JPEG XL's Exif and xml boxes (indexer/jxl.py)."""
    layers: list[XmpValues] = []
    if is_raw(path):
        tags = raw_exif(stream)
        packet = raw_xmp(tags) if tags is not None else None
    else:
        stream.seek(0)
        boxes = read_boxes(stream.read())
        tags, packet = None, boxes.xmp
        if boxes.exif:
            tags = Image.Exif()
            tags.load(boxes.exif)
    _add_xmp(layers, packet, problems)
    return layers, read_exif_tags(tags) if tags is not None else ExifFacts()


def _add_xmp(layers: list[XmpValues], packet: bytes | str | None, problems: list[str]) -> None:
    if packet:
        try:
            layers.append(parse_xmp(packet))
        except XmpError as error:
            problems.append(f"embedded {error}")


def _iptc_text(value: bytes, utf8: bool) -> str:
    """IPTC declares UTF-8 in 1:90, or declares nothing and is usually Latin-1 (cp1252): try UTF-8 first,
    since much undeclared IPTC is UTF-8 too; cp1252 then reads any byte."""
    if utf8:
        return value.decode("utf-8", "replace")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("cp1252", "replace")


def _iptc(image: ImageFile.ImageFile) -> XmpValues:
    try:
        info = IptcImagePlugin.getiptcinfo(image) or {}
    except Exception:  # a malformed IPTC block: the other metadata still counts
        return XmpValues()
    charset = info.get(IPTC_CHARSET)
    utf8 = isinstance(charset, bytes) and charset.startswith(UTF8_MARK)

    def texts(key: tuple[int, int]) -> list[str]:
        value = info.get(key)
        values = value if isinstance(value, list) else [value] if value else []
        return [_iptc_text(item, utf8) for item in values[:MAX_VALUES] if isinstance(item, bytes)]

    def first(key: tuple[int, int]) -> str | None:
        return next(filter(None, map(_clean, texts(key))), None)

    taken = iptc_date(first(IPTC_DATE_CREATED), first(IPTC_TIME_CREATED))
    return XmpValues(
        taken_at=taken.moment if taken else None,
        taken_zone=taken.zone if taken else None,
        keywords=texts(IPTC_KEYWORDS),
        title=first(IPTC_TITLE) or first(IPTC_HEADLINE),
        description=first(IPTC_CAPTION),
        city=first(IPTC_CITY),
        state=first(IPTC_STATE),
        country=first(IPTC_COUNTRY),
        location=first(IPTC_SUBLOCATION),
    )


def _sidecar(
    path: str, name: str, follow_symlinks: bool, found: list[tuple[str, int, int]], problems: list[str]
) -> XmpValues | None:
    try:
        with open_regular(path, follow_symlinks) as (handle, stat):
            found.append((name, stat.st_size, stat.st_mtime_ns))
            if stat.st_size > MAX_XMP_BYTES:
                raise XmpError(f"XMP too large ({stat.st_size} bytes; limit {MAX_XMP_BYTES})")
            return parse_xmp(handle.read(MAX_XMP_BYTES + 1))
    except FileNotFoundError:
        return None  # deleted since the scan: the next scan sees it gone
    except XmpError as error:
        problems.append(f"{name}: {error}")
    except (OSError, ImageReadError) as error:
        problems.append(f"{name}: cannot read ({getattr(error, 'strerror', None) or error})")
    return None


def _clean(text: str | None) -> str | None:
    cleaned = " ".join((text or "").replace("\x00", " ").split())[:MAX_TEXT]
    return cleaned or None


def _last(values: Iterable[str | None]) -> str | None:
    """The last layer that sets a field wins: a sidecar over the file, `photo.jpg.xmp` over `photo.xmp`."""
    result = None
    for value in values:
        result = _clean(value) or result
    return result


def _combine(layers: list[XmpValues], exif: ExifFacts, sidecars: str, problems: list[str]) -> PhotoMetadata:
    keywords: dict[str, None] = {}
    paths: dict[str, None] = {}
    for layer in layers:
        ours = {normalize_tag(tag) for tag in layer.our_tags}  # auto-tags captionary exported, not the person's
        for raw in layer.paths:
            parts = [part.strip() for part in raw.split("|") if part.strip()]
            if parts:
                paths["|".join(parts)] = None
                keywords[normalize_tag(parts[-1])] = None
        for raw in layer.keywords:
            keyword = normalize_tag(raw)
            if keyword not in ours:
                keywords[keyword] = None
    keywords.pop("", None)
    # EXIF's position, else the last XMP layer's that is on the globe (a geotagging tool writes sidecars)
    positions = [(exif.latitude, exif.longitude), *((layer.latitude, layer.longitude) for layer in reversed(layers))]
    position = next(
        ((lat, lon) for lat, lon in positions if lat is not None and lon is not None and plausible_position(lat, lon)), None
    )
    place = _last(_place(layer) for layer in layers)
    rating = next((layer.rating for layer in reversed(layers) if layer.rating is not None), exif.rating)
    # EXIF's date, else the first layer's: IPTC, XMP in the file, then the sidecars
    dated = next((layer for layer in layers if layer.taken_at), None)
    taken_at, taken_zone = (exif.taken_at, exif.taken_zone)
    if taken_at is None and dated is not None:
        taken_at, taken_zone = dated.taken_at, dated.taken_zone
    return PhotoMetadata(
        taken_at=taken_at,
        taken_zone=taken_zone,
        camera=exif.camera,
        lens=exif.lens,
        latitude=position[0] if position else None,
        longitude=position[1] if position else None,
        place=place,
        title=_last(layer.title for layer in layers),
        description=_last(_persons_description(layer) for layer in layers),
        keywords=tuple(keywords)[:MAX_VALUES],
        keyword_paths=tuple(paths)[:MAX_VALUES],
        rating=rating,
        sidecars=sidecars,
        problems=tuple(problems),
    )


def _persons_description(layer: XmpValues) -> str | None:
    """A description captionary exported (the model's caption) is not the person's."""
    description = _clean(layer.description)
    return None if description is not None and description == _clean(layer.our_caption) else description


def _place(layer: XmpValues) -> str | None:
    parts = [_clean(part) for part in (layer.location, layer.city, layer.state, layer.country)]
    # the place captionary exported, when no tool wrote the parts (a round trip keeps it)
    return ", ".join(dict.fromkeys(part for part in parts if part)) or _clean(layer.our_place)
