"""The sidecar signature stored with each photo (File.sidecars): one line `name<TAB>size<TAB>mtime_ns` per XMP
sidecar beside it. The crawl compares it run to run; an exported sidecar records the one its record was read
with (captionary:sources), so a later edit to another sidecar shows its copies are stale."""

from __future__ import annotations


def sidecar_signature(found: list[tuple[str, int, int]]) -> str:
    """(name, size, mtime_ns) of each sidecar as one string the catalog compares run to run."""
    return "\n".join(f"{name}\t{size}\t{mtime_ns}" for name, size, mtime_ns in found)


def signature_names(signature: str) -> list[str]:
    return [line.split("\t", 1)[0] for line in signature.splitlines() if line]


def signature_entries(signature: str) -> list[tuple[str, int, int]]:
    """(name, size, mtime_ns) of each line; a line that is not one (a sidecar can say anything) is skipped."""
    entries = []
    for line in signature.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[1].isdigit() and parts[2].lstrip("-").isdigit():
            entries.append((parts[0], int(parts[1]), int(parts[2])))
    return entries


def without_sidecar(signature: str, name: str) -> str:
    """The signature less the sidecar `name` (matched as the crawl matches names: case-insensitively)."""
    kept = [entry for entry in signature_entries(signature) if entry[0].lower() != name.lower()]
    return sidecar_signature(kept)
