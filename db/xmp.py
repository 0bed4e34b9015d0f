"""XMP as captionary writes it: the namespaces it reads and writes, and a sidecar packet merged into what a
sidecar already holds (digiKam, darktable and Lightroom read it). The reader is indexer/xmp.py."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

import defusedxml.ElementTree as SafeTree
from defusedxml import DefusedXmlException

from db.errors import CaptionaryError

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
for _prefix, _uri in NS.items():
    if _prefix != "xml":
        ET.register_namespace(_prefix, _uri)


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


def _keep_prefixes(existing: bytes) -> None:
    """Re-use the sidecar's own namespace prefixes (xmp:, darktable:...) instead of ns0:, ns1:."""
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
    ours |= {_q("rdf", "Alt"), _q("rdf", "Bag"), _q("rdf", "li"), _q("captionary", "caption"), _q("captionary", "autoTags")}
    ours |= {_q("captionary", "place"), _q("captionary", "text")}
    attributes = {_q("rdf", "about"), _q("xml", "lang")}
    elements = list(root.iter())
    return any(element.tag == _q("dc", "description") for element in elements) and all(
        element.tag in ours and set(element.attrib) <= attributes for element in elements
    )


def _existing_rdf(existing: bytes, fields: SidecarFields) -> tuple[ET.Element, ET.Element] | None:
    """(root, rdf:RDF) of the sidecar to merge into; None for one of ours that can be written afresh."""
    try:
        _keep_prefixes(existing)
        root = _safe_parse(existing)
    except ET.ParseError as error:
        if _written_by_us(existing):  # ours, broken by an older captionary: nothing of anyone else's to keep
            return None
        raise SidecarError(f"existing sidecar is not valid XML ({error}); left untouched") from None
    rdf = root if root.tag == _q("rdf", "RDF") else root.find(_q("rdf", "RDF"))
    if rdf is None:
        raise SidecarError("existing sidecar has no rdf:RDF element; left untouched")
    return root, rdf


def _array(parent: ET.Element, prefix: str, name: str, kind: str, values: Sequence[str]) -> None:
    if values:
        container = ET.SubElement(ET.SubElement(parent, _q(prefix, name)), _q("rdf", kind))
        for value in values:
            attributes = {_q("xml", "lang"): "x-default"} if kind == "Alt" else {}
            ET.SubElement(container, _q("rdf", "li"), attributes).text = xml_text(value)


@dataclass(frozen=True)
class _Previous:
    keywords: list[str]
    auto_tags: set[str]
    description: str | None  # a description not written by captionary: a person's


def _texts(element: ET.Element | None) -> list[str]:
    if element is None:
        return []
    items = element.findall(f"*/{_q('rdf', 'li')}")
    return [text.strip() for text in ([item.text for item in items] if items else [element.text]) if text and text.strip()]


def _previous(descriptions: list[ET.Element]) -> _Previous:
    """What the sidecar says now, before captionary's properties are replaced."""
    keywords: list[str] = []
    auto: set[str] = set()
    described: list[str] = []
    ours: list[str] = []
    for description in descriptions:
        keywords += _texts(description.find(_q("dc", "subject")))
        auto |= set(_texts(description.find(_q("captionary", "autoTags"))))
        described += _texts(description.find(_q("dc", "description"))) + [description.get(_q("dc", "description"), "")]
        ours += _texts(description.find(_q("captionary", "caption")))
    older_captionary = not ours and any(d.get(_q("xmp", "CreatorTool")) == CREATOR_TOOL for d in descriptions)
    if older_captionary:  # written before captionary:caption existed: its description is a caption
        return _Previous(keywords, auto, None)
    person = next((text.strip() for text in described if text.strip() and text.strip() not in ours), None)
    return _Previous(keywords, auto, person)


def sidecar_xml(existing: bytes | None, fields: SidecarFields) -> bytes:
    """An XMP packet with captionary's properties; everything else in `existing` is kept."""
    found = _existing_rdf(existing, fields) if existing else None
    if found is None:
        root = ET.Element(_q("x", "xmpmeta"))
        rdf = ET.SubElement(root, _q("rdf", "RDF"))
        ET.SubElement(rdf, _q("rdf", "Description"), {_q("rdf", "about"): "", _q("xmp", "CreatorTool"): CREATOR_TOOL})
    else:
        root, rdf = found
    managed = [("dc", "description"), ("dc", "subject"), ("captionary", "caption"), ("captionary", "autoTags")]
    managed += [("captionary", "place"), ("captionary", "text")]
    managed += [("dc", "title")] if fields.title else []
    managed += [("lr", "hierarchicalSubject")] if fields.paths else []
    descriptions = rdf.findall(_q("rdf", "Description"))
    previous = _previous(descriptions)
    for description in descriptions:  # drop the properties written here wherever they are ...
        for prefix, name in managed:
            for element in description.findall(_q(prefix, name)):
                description.remove(element)
            description.attrib.pop(_q(prefix, name), None)
    # ... and write them into the first description (digiKam and darktable write one)
    target = descriptions[0] if descriptions else ET.SubElement(rdf, _q("rdf", "Description"), {_q("rdf", "about"): ""})
    if fields.title:
        _array(target, "dc", "title", "Alt", [fields.title])
    _array(target, "dc", "description", "Alt", [fields.description or previous.description or fields.caption])
    # Keywords another tool wrote since the last index are kept; those captionary wrote as auto-tags
    # before (listed in captionary:autoTags) and those a person removed here are not.
    dropped = {*previous.auto_tags, *fields.removed} - set(fields.tags)
    kept = [keyword for keyword in previous.keywords if keyword.lower() not in dropped]
    _array(target, "dc", "subject", "Bag", list(dict.fromkeys([*fields.tags, *kept])))
    _array(target, "lr", "hierarchicalSubject", "Bag", fields.paths)
    ET.SubElement(target, _q("captionary", "caption")).text = xml_text(fields.caption)
    _array(target, "captionary", "autoTags", "Bag", fields.auto_tags)
    if fields.place:
        ET.SubElement(target, _q("captionary", "place")).text = xml_text(fields.place)
    if fields.text:
        ET.SubElement(target, _q("captionary", "text")).text = xml_text(fields.text)
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n' + body + '\n<?xpacket end="w"?>\n').encode()
