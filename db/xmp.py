"""XMP as captionary writes it: the namespaces it reads and writes, and a sidecar packet merged into what a
sidecar already holds (digiKam, darktable and Lightroom read it). The reader is indexer/xmp.py.

A sidecar captionary writes holds copies of the library's record (the file's keywords, title, description,
keyword paths) beside what it alone says; it lists them (captionary:keywords, :paths, :title,
:description) with the signature of the other sidecars they were read with (captionary:sources). So a
later reader can tell, once Lightroom has edited photo.xmp, which of this file's values are stale copies
(indexer/metadata.py leaves them out) and which another tool wrote into it (kept through every rewrite)."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import count

import defusedxml.ElementTree as SafeTree
from defusedxml import DefusedXmlException

from db.errors import CaptionaryError
from db.records import normalize_tag

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "xml": "http://www.w3.org/XML/1998/namespace",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "digiKam": "http://www.digikam.org/ns/1.0/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "Iptc4xmpCore": "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/",
    # What captionary wrote, so reading the sidecar back tells the model's caption and auto-tags from the
    # person's description and keywords.
    "captionary": "https://github.com/captionary/ns/1.0/",
}
# Sidecars are a few KB; Lightroom's largest are tens of KB. A bigger packet is not metadata worth reading.
MAX_XMP_BYTES = 2 << 20
# XMP nests a handful of levels; deeper is not a sidecar, and writing it back would recurse that deep.
MAX_DEPTH = 64


# captionary's own properties: its caption, auto-tags, place and OCR text, and which values are copies
OURS = ("caption", "autoTags", "place", "text", "keywords", "paths", "title", "description", "sources")


def qualified(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


_q = qualified


class SidecarError(CaptionaryError):
    pass


@dataclass(frozen=True)
class SidecarFields:
    """What one photo's sidecar says. The caption goes to dc:description only where the file has no
    description of its own (a person's words are never replaced by a model's); it is always kept in
    captionary:caption, and the auto-tags in captionary:autoTags, so a re-import knows them."""

    caption: str
    tags: Sequence[str]  # every visible tag: dc:subject
    auto_tags: Sequence[str] = ()
    title: str | None = None
    description: str | None = None
    paths: Sequence[str] = ()  # lr:hierarchicalSubject, "People|Family|Grandma"
    place: str | None = None  # captionary:place: "Zermatt, Switzerland" as one name (photoshop:City is kept)
    removed: Sequence[str] = ()  # tags a person removed in captionary: taken out of dc:subject too
    text: str | None = None  # captionary:text, read in the pixels: never mixed into the person's description
    file_tags: Sequence[str] = ()  # the tags that are the photo's files' keywords: copies, listed as such
    sources: str = ""  # the signature of the other sidecars beside the photo when its record was read


def _bound_prefixes(existing: bytes) -> dict[str, str]:
    """uri -> the prefix the sidecar bound it to first (darktable:, a tool's own): kept for URIs captionary
    has no prefix of its own for. Read only, never registered in ElementTree, whose map is global."""
    bound: dict[str, str] = {}
    for _event, (prefix, uri) in SafeTree.iterparse(io.BytesIO(existing), events=("start-ns",), forbid_dtd=True):
        bound.setdefault(uri, prefix)
    return bound


_NCNAME = re.compile(r"[A-Za-z_][\w.-]*")


def _serialize(root: ET.Element, bound: dict[str, str]) -> str:
    """The tree as text with captionary's prefixes (x:, rdf:, dc:...) whatever the existing sidecar bound them
    to, its own prefix for any other namespace (else ns0, ns1...), all declared on the root element."""
    prefixes = {uri: prefix for prefix, uri in NS.items()}
    taken = set(prefixes.values())
    used: dict[str, str] = {}

    def name(qualified_name: str) -> str:
        if not qualified_name.startswith("{"):
            return qualified_name
        uri, local = qualified_name[1:].split("}", 1)
        if uri not in prefixes:
            wanted = bound.get(uri, "")
            fits = _NCNAME.fullmatch(wanted) and not wanted.lower().startswith("xml") and wanted not in taken
            prefixes[uri] = wanted if fits else next(f"ns{n}" for n in count() if f"ns{n}" not in taken)
            taken.add(prefixes[uri])
        used[uri] = prefixes[uri]
        return f"{prefixes[uri]}:{local}"

    for element in root.iter():  # plain "prefix:name" strings: ElementTree writes them as they are
        element.tag = name(element.tag)
        for key in list(element.attrib):
            element.attrib[name(key)] = element.attrib.pop(key)
    used.pop(NS["xml"], None)
    for uri, prefix in sorted(used.items(), key=lambda item: item[1]):
        root.set(f"xmlns:{prefix}", uri)
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="unicode")


# Characters XML 1.0 forbids (C0 controls but tab, newline, carriage return; lone surrogates; U+FFFE/F).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Written into every sidecar captionary writes: one it wrote but can no longer parse may be rewritten.
CREATOR_TOOL = "captionary"


def xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _safe_parse(data: bytes) -> ET.Element:
    """No DTD, so no entity is expanded and no external file read."""
    try:
        return SafeTree.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise ET.ParseError("a DOCTYPE or entity declaration") from None


def _written_by_us(existing: bytes) -> bool:
    """A sidecar only captionary wrote: marked so, or (written before the mark) holding nothing but a
    caption and tags once its forbidden characters are replaced. Rewriting it loses nobody's work."""
    if f'xmp:CreatorTool="{CREATOR_TOOL}"'.encode() in existing:
        return True
    try:
        root = _safe_parse(xml_text(existing.decode("utf-8")).encode())
    except (ET.ParseError, UnicodeDecodeError):
        return False
    ours = {_q("x", "xmpmeta"), _q("rdf", "RDF"), _q("rdf", "Description"), _q("dc", "description"), _q("dc", "subject")}
    ours |= {_q("rdf", "Alt"), _q("rdf", "Bag"), _q("rdf", "li"), *(_q("captionary", name) for name in OURS)}
    attributes = {_q("rdf", "about"), _q("xml", "lang")}
    elements = list(root.iter())
    return any(element.tag == _q("dc", "description") for element in elements) and all(
        element.tag in ours and set(element.attrib) <= attributes for element in elements
    )


def _depth(root: ET.Element) -> int:
    deepest, stack = 0, [(root, 1)]
    while stack:
        element, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in element)
    return deepest


def _existing_rdf(existing: bytes) -> tuple[ET.Element, ET.Element, dict[str, str]] | None:
    """(root, rdf:RDF, its prefixes) of the sidecar to merge into; None for one of ours that can be written
    afresh."""
    try:
        root = _safe_parse(existing)
    except ET.ParseError as error:
        if _written_by_us(existing):  # ours, broken by an older captionary: nothing of anyone else's to keep
            return None
        raise SidecarError(f"existing sidecar is not valid XML ({error}); left untouched") from None
    if _depth(root) > MAX_DEPTH:
        raise SidecarError(f"existing sidecar nests over {MAX_DEPTH} levels deep; left untouched")
    rdf = root if root.tag == _q("rdf", "RDF") else root.find(_q("rdf", "RDF"))
    if rdf is None:
        raise SidecarError("existing sidecar has no rdf:RDF element; left untouched")
    return root, rdf, _bound_prefixes(existing)


def _array(parent: ET.Element, prefix: str, name: str, kind: str, values: Sequence[str]) -> None:
    if values:
        container = ET.SubElement(ET.SubElement(parent, _q(prefix, name)), _q("rdf", kind))
        for value in values:
            attributes = {_q("xml", "lang"): "x-default"} if kind == "Alt" else {}
            ET.SubElement(container, _q("rdf", "li"), attributes).text = xml_text(value)


@dataclass(frozen=True)
class _Previous:
    """What the sidecar holds of its own (not captionary's copies of a record): kept through a rewrite."""

    keywords: list[str] = field(default_factory=list)  # dc:subject less the copies (auto-tags still in)
    auto_tags: set[str] = field(default_factory=set)
    description: str | None = None  # neither a caption nor a copy: a person's
    title: str | None = None
    title_copied: bool = False  # its dc:title is a copy: replaced, or removed, from the record
    paths: list[str] = field(default_factory=list)
    paths_copied: bool = False


def _texts(element: ET.Element | None) -> list[str]:
    if element is None:
        return []
    items = element.findall(f"*/{_q('rdf', 'li')}")
    return [text.strip() for text in ([item.text for item in items] if items else [element.text]) if text and text.strip()]


def _same(one: str | None, other: str | None) -> bool:
    return " ".join((one or "").split()) == " ".join((other or "").split())


def _previous(descriptions: list[ET.Element]) -> _Previous:
    """What the sidecar says now, before captionary's properties are replaced."""

    def values(prefix: str, name: str) -> list[str]:
        found: list[str] = []
        for description in descriptions:  # as an element, or as an attribute of rdf:Description
            found += _texts(description.find(_q(prefix, name))) + [description.get(_q(prefix, name), "").strip()]
        return [value for value in found if value]

    auto = set(values("captionary", "autoTags"))
    listed = any(description.find(_q("captionary", "keywords")) is not None for description in descriptions)
    if not listed and any(d.get(_q("xmp", "CreatorTool")) == CREATOR_TOOL for d in descriptions):
        # Created by a captionary that did not list its copies yet: all of it came from its record
        # (and a description without captionary:caption beside it was a caption).
        return _Previous(auto_tags=auto, title_copied=True, paths_copied=True)
    copies = {normalize_tag(keyword) for keyword in values("captionary", "keywords")}
    copied_paths = set(values("captionary", "paths"))
    paths = values("lr", "hierarchicalSubject")
    title = next(iter(values("dc", "title")), None)
    title_copied = title is not None and any(_same(title, copy) for copy in values("captionary", "title"))
    not_persons = {*values("captionary", "caption"), *values("captionary", "description")}
    return _Previous(
        keywords=[keyword for keyword in values("dc", "subject") if normalize_tag(keyword) not in copies],
        auto_tags=auto,
        description=next((text for text in values("dc", "description") if text not in not_persons), None),
        title=None if title_copied else title,
        title_copied=title_copied,
        paths=[path for path in paths if path not in copied_paths],
        paths_copied=bool(copied_paths & set(paths)),
    )


def _write(target: ET.Element, fields: SidecarFields, previous: _Previous) -> None:
    """captionary's properties into one rdf:Description, and which of them are copies of the record."""
    if fields.title:
        _array(target, "dc", "title", "Alt", [fields.title])
    _array(target, "dc", "description", "Alt", [fields.description or previous.description or fields.caption])
    # The sidecar's own keywords are kept (one another tool wrote since the last index); those captionary
    # wrote as auto-tags before and those a person removed here are not; its copies are rewritten.
    dropped = {*previous.auto_tags, *fields.removed} - set(fields.tags)
    kept = [keyword for keyword in previous.keywords if keyword.lower() not in dropped]
    _array(target, "dc", "subject", "Bag", list(dict.fromkeys([*fields.tags, *kept])))
    _array(target, "lr", "hierarchicalSubject", "Bag", list(dict.fromkeys([*fields.paths, *previous.paths])))
    ET.SubElement(target, _q("captionary", "caption")).text = xml_text(fields.caption)
    _array(target, "captionary", "autoTags", "Bag", fields.auto_tags)
    if fields.place:
        ET.SubElement(target, _q("captionary", "place")).text = xml_text(fields.place)
    if fields.text:
        ET.SubElement(target, _q("captionary", "text")).text = xml_text(fields.text)
    own = {normalize_tag(keyword) for keyword in previous.keywords}
    copies = ET.SubElement(ET.SubElement(target, _q("captionary", "keywords")), _q("rdf", "Bag"))  # even empty
    for keyword in fields.file_tags:
        if normalize_tag(keyword) not in own:
            ET.SubElement(copies, _q("rdf", "li")).text = xml_text(keyword)
    _array(target, "captionary", "paths", "Bag", [path for path in fields.paths if path not in previous.paths])
    for name, value, its_own in (
        ("title", fields.title, previous.title),
        ("description", fields.description, previous.description),
    ):
        if value and not _same(value, its_own):
            ET.SubElement(target, _q("captionary", name)).text = xml_text(value)
    if fields.sources:
        ET.SubElement(target, _q("captionary", "sources")).text = xml_text(fields.sources)


MANAGED = [("dc", "description"), ("dc", "subject"), *((("captionary", name)) for name in OURS)]


def sidecar_xml(existing: bytes | None, fields: SidecarFields) -> bytes:
    """An XMP packet with captionary's properties; everything else in `existing` is kept."""
    found = _existing_rdf(existing) if existing else None
    if found is None:
        root = ET.Element(_q("x", "xmpmeta"))
        rdf = ET.SubElement(root, _q("rdf", "RDF"))
        ET.SubElement(rdf, _q("rdf", "Description"), {_q("rdf", "about"): "", _q("xmp", "CreatorTool"): CREATOR_TOOL})
        bound: dict[str, str] = {}
    else:
        root, rdf, bound = found
    descriptions = rdf.findall(_q("rdf", "Description"))
    previous = _previous(descriptions)
    managed = MANAGED + ([("dc", "title")] if fields.title or previous.title_copied else [])
    managed += [("lr", "hierarchicalSubject")] if fields.paths or previous.paths_copied else []
    for description in descriptions:  # drop the properties written here wherever they are ...
        for prefix, name in managed:
            for element in description.findall(_q(prefix, name)):
                description.remove(element)
            description.attrib.pop(_q(prefix, name), None)
    # ... and write them into the first description (digiKam and darktable write one)
    target = descriptions[0] if descriptions else ET.SubElement(rdf, _q("rdf", "Description"), {_q("rdf", "about"): ""})
    _write(target, fields, previous)
    body = _serialize(root, bound)
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n' + body + '\n<?xpacket end="w"?>\n').encode()
