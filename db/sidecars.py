"""The sidecar signature stored with each photo (File.sidecars): one line `name<TAB>size<TAB>mtime_ns` per XMP
sidecar beside it. The crawl compares it run to run; an exported sidecar records the one its record was read
with (captionary:sources), so a later edit to another sidecar shows its copies are stale."""

from __future__ import annotations

import re

# A file name may hold any character but "/" and NUL: the ones that would split a line or a field, "\r" (an XML
# parser turns it into "\n" when the signature comes back from a sidecar) and a byte that is not UTF-8 (a lone
# surrogate, which XML cannot hold) are written as \uXXXX, and the backslash as \\, so every other name (all
# of them, in practice) reads as itself.
_SPECIAL = re.compile("[\\\\\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\udc80-\udcff]")
_ESCAPED = re.compile(r"\\(\\|u[0-9a-f]{4})")


def _escape(name: str) -> str:
    return _SPECIAL.sub(lambda found: "\\\\" if found[0] == "\\" else f"\\u{ord(found[0]):04x}", name)


def _unescape(name: str) -> str:
    return _ESCAPED.sub(lambda found: "\\" if found[1] == "\\" else chr(int(found[1][1:], 16)), name)


def sidecar_signature(found: list[tuple[str, int, int]]) -> str:
    """(name, size, mtime_ns) of each sidecar as one string the catalog compares run to run."""
    return "\n".join(f"{_escape(name)}\t{size}\t{mtime_ns}" for name, size, mtime_ns in found)


def signature_names(signature: str) -> list[str]:
    return [name for name, _, _ in signature_entries(signature)]


def signature_entries(signature: str) -> list[tuple[str, int, int]]:
    """(name, size, mtime_ns) of each line; a line that is not one (a sidecar can say anything) is skipped."""
    entries = []
    for line in signature.split("\n"):
        parts = line.split("\t")
        if len(parts) == 3 and parts[1].isdigit() and parts[2].lstrip("-").isdigit():
            entries.append((_unescape(parts[0]), int(parts[1]), int(parts[2])))
    return entries


def without_sidecar(signature: str, name: str) -> str:
    """The signature less the sidecar `name` (matched as the crawl matches names: case-insensitively)."""
    kept = [entry for entry in signature_entries(signature) if entry[0].lower() != name.lower()]
    return sidecar_signature(kept)
