"""Photos that carry metadata as photo tools write it: IPTC-IIM in a JPEG's APP13, XMP packets (embedded or
as sidecars) with dc:subject, Lightroom hierarchies, digiKam tag lists, titles, descriptions and places."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def iptc_segment(fields: dict[tuple[int, int], bytes | list[bytes]]) -> bytes:
    """A JPEG APP13 segment: Photoshop image resource 0x0404 holding IPTC-IIM datasets."""
    data = b""
    for (record, dataset), values in fields.items():
        for value in values if isinstance(values, list) else [values]:
            data += bytes([0x1C, record, dataset]) + len(value).to_bytes(2, "big") + value
    resource = b"8BIM" + (0x0404).to_bytes(2, "big") + b"\x00\x00" + len(data).to_bytes(4, "big") + data
    resource += b"\x00" if len(data) % 2 else b""
    payload = b"Photoshop 3.0\x00" + resource
    return b"\xff\xed" + (len(payload) + 2).to_bytes(2, "big") + payload


def add_iptc(path: Path, fields: dict[tuple[int, int], bytes | list[bytes]]) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[:2] + iptc_segment(fields) + data[2:])
    return path


def _bag(prefix: str, name: str, kind: str, values: list[str]) -> str:
    if not values:
        return ""
    language = ' xml:lang="x-default"' if kind == "Alt" else ""
    items = "".join(f"<rdf:li{language}>{escape(value)}</rdf:li>" for value in values)
    return f"<{prefix}:{name}><rdf:{kind}>{items}</rdf:{kind}></{prefix}:{name}>"


def xmp_packet(
    subjects: list[str] = (),  # type: ignore[assignment]
    hierarchy: list[str] = (),  # type: ignore[assignment]
    digikam: list[str] = (),  # type: ignore[assignment]
    title: str | None = None,
    description: str | None = None,
    rating: int | None = None,
    city: str | None = None,
    country: str | None = None,
    latitude: str | None = None,  # as XMP writes it: "35,0.68N"
    longitude: str | None = None,
    created: str | None = None,
) -> bytes:
    attributes = {
        "xmp:Rating": rating,
        "photoshop:City": city,
        "photoshop:Country": country,
        "exif:GPSLatitude": latitude,
        "exif:GPSLongitude": longitude,
        "photoshop:DateCreated": created,
    }
    attribute_text = " ".join(f'{name}="{escape(str(value))}"' for name, value in attributes.items() if value is not None)
    body = (
        _bag("dc", "subject", "Bag", list(subjects))
        + _bag("lr", "hierarchicalSubject", "Bag", list(hierarchy))
        + _bag("digiKam", "TagsList", "Seq", list(digikam))
        + _bag("dc", "title", "Alt", [title] if title else [])
        + _bag("dc", "description", "Alt", [description] if description else [])
    )
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:lr="http://ns.adobe.com/lightroom/1.0/" '
        'xmlns:digiKam="http://www.digikam.org/ns/1.0/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
        f'xmlns:exif="http://ns.adobe.com/exif/1.0/" {attribute_text}>{body}</rdf:Description>'
        '</rdf:RDF></x:xmpmeta>\n<?xpacket end="w"?>'
    ).encode()
