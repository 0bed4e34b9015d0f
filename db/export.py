"""Export captions and tags: streamed CSV/JSON, and XMP sidecars that digiKam, darktable and Lightroom read."""

from __future__ import annotations

import csv
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from sqlalchemy import select

from db.errors import CaptionaryError
from db.models import Content, File, plausible_date, visible_tags_sql
from db.store import Store

EXPORT_CHUNK = 1000
FIELDS = ("path", "caption", "tags", "model", "taken_at", "edited")


@dataclass(frozen=True)
class ExportRow:
    path: str
    caption: str
    tags: list[str]
    model: str
    taken_at: str | None
    edited: bool

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "caption": self.caption,
            "tags": self.tags,
            "model": self.model,
            "taken_at": self.taken_at,
            "edited": self.edited,
        }


def export_rows(store: Store) -> Iterator[ExportRow]:
    """Every indexed image, in path order, a chunk at a time: memory stays flat for a million rows."""
    last_path = ""
    while True:
        with store.sessions() as session:
            chunk = session.execute(
                select(
                    File.path,
                    Content.effective_caption,
                    Content.user_caption.is_not(None),
                    Content.model,
                    Content.taken_at,
                    visible_tags_sql(),
                )
                .join(Content, File.content_id == Content.id)
                .where(File.path > last_path)
                .order_by(File.path)
                .limit(EXPORT_CHUNK)
            ).all()
        if not chunk:
            return
        for path, caption, edited, model, taken_at, tag_list in chunk:
            taken = plausible_date(taken_at)
            yield ExportRow(
                path,
                caption,
                sorted(tag_list.split(",")) if tag_list else [],
                model,
                taken.isoformat() if taken else None,
                bool(edited),
            )
        last_path = chunk[-1][0]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """A cell a spreadsheet will show, not run: OWASP's advice for CSV injection is a leading quote on
    anything starting like a formula (a caption "=cmd|' /C calc'!A0", a tag "+SUM(...)")."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def write_csv(rows: Iterator[ExportRow], out: TextIO) -> int:
    writer = csv.writer(out)
    writer.writerow(FIELDS)
    count = 0
    for row in rows:
        writer.writerow(
            [
                spreadsheet_safe(cell)
                for cell in (
                    row.path,
                    row.caption,
                    ";".join(row.tags),
                    row.model,
                    row.taken_at or "",
                    "yes" if row.edited else "",
                )
            ]
        )
        count += 1
    return count


def write_json(rows: Iterator[ExportRow], out: TextIO) -> int:
    """A JSON array written element by element, never built in memory."""
    out.write("[")
    count = 0
    for row in rows:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(row.as_dict(), ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


# -- XMP sidecars ----------------------------------------------------------------------------------

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "xml": "http://www.w3.org/XML/1998/namespace",
}
for _prefix, _uri in NS.items():
    if _prefix != "xml":
        ET.register_namespace(_prefix, _uri)


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


class SidecarError(CaptionaryError):
    pass


def _keep_prefixes(existing: bytes) -> None:
    """Re-use the sidecar's own namespace prefixes (xmp:, darktable:...) instead of ns0:, ns1:."""
    import io

    for _event, (prefix, uri) in ET.iterparse(io.BytesIO(existing), events=("start-ns",)):
        try:
            if prefix and prefix != "xml":
                ET.register_namespace(prefix, uri)
        except ValueError:
            pass  # a prefix ElementTree reserves (ns0...): it will pick its own


# Characters XML 1.0 forbids (C0 controls but tab, newline, carriage return; lone surrogates; U+FFFE/F).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Written into every sidecar captionary writes: one it wrote but can no longer parse may be rewritten.
CREATOR_TOOL = "captionary"


def xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _written_by_us(existing: bytes) -> bool:
    """A sidecar only captionary wrote: marked so, or (written before the mark) holding nothing but a
    caption and tags once its forbidden characters are replaced. Rewriting it loses nobody's work."""
    if f'xmp:CreatorTool="{CREATOR_TOOL}"'.encode() in existing:
        return True
    try:
        root = ET.fromstring(xml_text(existing.decode("utf-8")))
    except (ET.ParseError, UnicodeDecodeError):
        return False
    ours = {
        _q("x", "xmpmeta"),
        _q("rdf", "RDF"),
        _q("rdf", "Description"),
        _q("dc", "description"),
        _q("dc", "subject"),
        _q("rdf", "Alt"),
        _q("rdf", "Bag"),
        _q("rdf", "li"),
    }
    attributes = {_q("rdf", "about"), _q("xml", "lang")}
    elements = list(root.iter())
    return any(element.tag == _q("dc", "description") for element in elements) and all(
        element.tag in ours and set(element.attrib) <= attributes for element in elements
    )


def sidecar_xml(existing: bytes | None, caption: str, tags: list[str]) -> bytes:
    """An XMP packet with dc:description and dc:subject; everything else in `existing` is kept."""
    caption, tags = xml_text(caption), [xml_text(tag) for tag in tags]
    if existing:
        try:
            _keep_prefixes(existing)
            root = ET.fromstring(existing)
        except ET.ParseError as error:
            if _written_by_us(existing):  # ours, broken by an older captionary: nothing of anyone else's to keep
                return sidecar_xml(None, caption, tags)
            raise SidecarError(f"existing sidecar is not valid XML ({error}); left untouched") from None
        rdf = root if root.tag == _q("rdf", "RDF") else root.find(_q("rdf", "RDF"))
        if rdf is None:
            raise SidecarError("existing sidecar has no rdf:RDF element; left untouched")
    else:
        root = ET.Element(_q("x", "xmpmeta"))
        rdf = ET.SubElement(root, _q("rdf", "RDF"))
        ET.SubElement(rdf, _q("rdf", "Description"), {_q("rdf", "about"): "", _q("xmp", "CreatorTool"): CREATOR_TOOL})
    descriptions = rdf.findall(_q("rdf", "Description"))
    for description in descriptions:  # drop our two properties wherever they are ...
        for name in ("description", "subject"):
            for element in description.findall(_q("dc", name)):
                description.remove(element)
            description.attrib.pop(_q("dc", name), None)
    # ... and write them into the first description (digiKam and darktable write one)
    if descriptions:
        target = descriptions[0]
    else:
        target = ET.SubElement(rdf, _q("rdf", "Description"), {_q("rdf", "about"): ""})
    alt = ET.SubElement(ET.SubElement(target, _q("dc", "description")), _q("rdf", "Alt"))
    ET.SubElement(alt, _q("rdf", "li"), {_q("xml", "lang"): "x-default"}).text = caption
    if tags:
        bag = ET.SubElement(ET.SubElement(target, _q("dc", "subject")), _q("rdf", "Bag"))
        for tag in tags:
            ET.SubElement(bag, _q("rdf", "li")).text = tag
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n' + body + '\n<?xpacket end="w"?>\n').encode()


@dataclass
class XmpReport:
    written: int = 0
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


def sidecar_path(photo: str, sidecar_dir: Path | None) -> Path:
    """`photo.jpg.xmp` (digiKam/darktable naming) beside the photo, or mirrored under sidecar_dir."""
    if sidecar_dir is None:
        return Path(photo + ".xmp")
    return sidecar_dir / (photo.lstrip(os.sep) + ".xmp")


def export_xmp(store: Store, sidecar_dir: Path | None = None, next_to_photos: bool = False) -> XmpReport:
    """Write one sidecar per image; next to the photos only when asked for explicitly."""
    if (sidecar_dir is None) == (not next_to_photos):
        raise CaptionaryError(
            "Choose where sidecars go: --sidecar-dir DIR, or --next-to-photos to write photo.jpg.xmp beside each photo"
        )
    report = XmpReport()
    for row in export_rows(store):
        target = sidecar_path(row.path, sidecar_dir)
        try:
            existing = target.read_bytes() if target.exists() else None
            content = sidecar_xml(existing, row.caption, row.tags)
            if content == existing:
                report.unchanged += 1  # nothing changed: no write, the file's mtime stays
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            temporary.write_bytes(content)
            os.replace(temporary, target)
            report.written += 1
        except (OSError, SidecarError) as error:
            report.failed.append((str(target), str(error)))
    return report
