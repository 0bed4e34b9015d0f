"""What one photo costs to read, for files built to cost a lot: each read by a reader (PhotoReader) in a fresh
process, with its seconds, peak memory and the reason it failed, if it did.

    python bench/hostile_reads.py                 # the code of this checkout
    python bench/hostile_reads.py --code /tmp/old # another checkout (git worktree add /tmp/old COMMIT), same files
    python bench/hostile_reads.py --only profile  # the cases whose label holds this text

The files are written once under bench/.cache/hostile (a few are slow to make: gigapixel PNGs of zeros)."""

from __future__ import annotations

import argparse
import io
import json
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from tests.photos import SMALL_ARITHMETIC_PROGRESSIVE, with_scans_repeated  # noqa: E402

CACHE = REPOSITORY / "bench" / ".cache" / "hostile"

READ_ONE = """
import json, sys, time
from db.records import PendingFile
from indexer.reading import PhotoReader, ReadSettings
path = sys.argv[1]
settings = ReadSettings(follow_symlinks=False, decode_side=448, model_side=224, specs=(None,), thumbnail_dir=None)
import os
stat = os.stat(path)
started = time.perf_counter()
read = PhotoReader(settings)(PendingFile(1, path, os.path.dirname(path), stat.st_size, stat.st_mtime_ns))
seconds = time.perf_counter() - started
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forking parent (this bench, which made the files)
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")) // 1024
taken = read.metadata.taken_at if read.metadata else None
print(json.dumps({"seconds": seconds, "peak_mb": peak, "error": read.error, "taken": str(taken) if taken else None}))
"""


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def zero_png(width: int, height: int, colour_type: int, after_pixels: bytes = b"") -> bytes:
    """A PNG of zeros, compressed as it is written: gigapixels in a few MB."""
    channels = {0: 1, 2: 3, 6: 4}[colour_type]
    row = b"\0" + bytes(width * channels)
    rows_a_block = max(1, (4 << 20) // len(row))
    packer, packed, left = zlib.compressobj(9), [], height
    while left > 0:
        packed.append(packer.compress(row * min(rows_a_block, left)))
        left -= rows_a_block
    packed.append(packer.flush())
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", b"".join(packed)) + after_pixels + chunk(b"IEND", b"")


def exif_with_gps_block(size: int) -> bytes:
    """EXIF turned 90 degrees (orientation 6) whose GPS latitude holds `size` bytes of rationals."""
    count = size // 8
    gps_at = 8 + 2 + 2 * 12 + 4
    values_at = gps_at + 2 + 12 + 4
    ifd0 = struct.pack(">H", 2) + struct.pack(">HHIHH", 274, 3, 1, 6, 0) + struct.pack(">HHII", 34853, 4, 1, gps_at)
    gps = struct.pack(">H", 1) + struct.pack(">HHII", 2, 5, count, values_at) + struct.pack(">I", 0)
    return b"MM\x00*" + struct.pack(">I", 8) + ifd0 + struct.pack(">I", 0) + gps + struct.pack(">II", 1, 1) * count


def tiff_with_resolutions(count: int) -> bytes:
    """A 64x64 grey TIFF whose XResolution holds `count` rationals (Pillow decodes it as it opens the file)."""
    entries = [(256, 3, 1, 64), (257, 3, 1, 64), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1), (278, 3, 1, 64)]
    pixels_at = 8 + 2 + (len(entries) + 3) * 12 + 4
    entries += [(273, 4, 1, pixels_at), (279, 4, 1, 64 * 64), (282, 5, count, pixels_at + 64 * 64)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", tag, kind, number, value) if kind != 3 else struct.pack("<HHIHH", tag, kind, number, value, 0)
        for tag, kind, number, value in sorted(entries)
    )
    return b"II*\x00" + struct.pack("<I", 8) + ifd + bytes(4) + bytes(64 * 64) + struct.pack("<II", 300, 1) * count


def small_png(after_header: bytes = b"") -> bytes:
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 0, 0, 0, 0))
    picture = chunk(b"IDAT", zlib.compress(b"".join(b"\0" + bytes(64) for _ in range(64))))
    return b"\x89PNG\r\n\x1a\n" + header + after_header + picture + chunk(b"IEND", b"")


def icon_holding(png: bytes) -> bytes:
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png), 22) + png


def jpeg(side: int, mpo: bool) -> bytes:
    out = io.BytesIO()
    picture = Image.new("RGB", (side, side), (120, 80, 40))
    if mpo:  # a depth map or second view after the picture: Pillow opens it as an MPO
        picture.save(out, "MPO", save_all=True, append_images=[Image.new("RGB", (64, 64))], quality=80)
    else:
        picture.save(out, "JPEG", quality=80)
    return out.getvalue()


def progressive_claiming(side: int) -> bytes:
    """A 16x16 progressive JPEG whose frame header claims side x side pixels."""
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (120, 80, 40)).save(out, "JPEG", quality=80, progressive=True)
    data = bytearray(out.getvalue())
    frame = data.find(b"\xff\xc2")
    data[frame + 5 : frame + 9] = side.to_bytes(2, "big") * 2
    return bytes(data)


def photo_png() -> bytes:
    rng = np.random.default_rng(0)
    base = np.kron(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8), np.ones((100, 100, 1), dtype=np.uint8))
    out = io.BytesIO()
    Image.fromarray(base + rng.integers(0, 8, base.shape, dtype=np.uint8)).save(out, "PNG")
    return out.getvalue()


CASES: dict[str, tuple[str, Callable[[], bytes]]] = {
    "a 4000x3000 PNG photo": ("photo.png", photo_png),
    "PNG 22000x22000 RGB, its EXIF after the pixels": (
        "exif_after.png",
        lambda: zero_png(22000, 22000, 2, chunk(b"eXIf", exif_with_gps_block(64))),
    ),
    "an icon holding a 22000x22000 PNG, named .jpg": ("icon.jpg", lambda: icon_holding(zero_png(22000, 22000, 0))),
    "PNG 15800x15800 RGBA (under the 250 MP limit)": ("rgba.png", lambda: zero_png(15800, 15800, 6)),
    "PNG of 4,000 text chunks each unpacking past 2 MB": (
        "text_flood.png",
        lambda: small_png(chunk(b"zTXt", b"Comment\0\0" + zlib.compress(bytes((2 << 20) + 100), 9)) * 4000),
    ),
    "PNG repeating its colour profile 4,000 times, 2 MB unpacked each": (
        "profiles.png",
        lambda: small_png(chunk(b"iCCP", b"ICC Profile\0\0" + zlib.compress(bytes(2 << 20), 9)) * 4000),
    ),
    "PNG whose EXIF holds 4 MB of GPS rationals, turned 90 degrees": (
        "gps_block.png",
        lambda: small_png(chunk(b"eXIf", exif_with_gps_block(4_000_000))),
    ),
    "PNG whose EXIF holds 16 MB of GPS rationals, turned 90 degrees": (
        "gps_millions.png",
        lambda: small_png(chunk(b"eXIf", exif_with_gps_block(16_000_000))),
    ),
    "TIFF whose XResolution holds 16 MB of rationals": ("resolutions.tif", lambda: tiff_with_resolutions(2_000_000)),
    "a 521-byte progressive JPEG claiming 15800x15800": ("claims.jpg", lambda: progressive_claiming(15800)),
    "a progressive JPEG claiming 15800x15800 in 110 scans, 600 kB padded": (
        "claims_scans.jpg",
        lambda: with_scans_repeated(progressive_claiming(15800), 100) + bytes(600_000),
    ),
    "a 340-byte arithmetic-coded progressive JPEG claiming 15800x15800": (
        "arithmetic.jpg",
        lambda: with_scans_repeated(SMALL_ARITHMETIC_PROGRESSIVE, 0, claimed=15800),
    ),
    "the arithmetic-coded one in 30 scans (560 bytes)": (
        "arithmetic_30_scans.jpg",
        lambda: with_scans_repeated(SMALL_ARITHMETIC_PROGRESSIVE, 20, claimed=15800),
    ),
    "the arithmetic-coded one in 110 scans (1.4 kB)": (
        "arithmetic_scans.jpg",
        lambda: with_scans_repeated(SMALL_ARITHMETIC_PROGRESSIVE, 100, claimed=15800),
    ),
    "JPEG 12000x12000": ("plain.jpg", lambda: jpeg(12000, mpo=False)),
    "JPEG 12000x12000 with a depth map (MPO)": ("depth.jpg", lambda: jpeg(12000, mpo=True)),
}


def measure(code: Path, path: Path) -> dict:
    finished = subprocess.run(
        [sys.executable, "-c", READ_ONE, str(path)],
        capture_output=True,
        text=True,
        cwd=code,
        env={"PYTHONPATH": str(code), "PATH": "/usr/bin:/bin"},
        timeout=600,
    )
    if finished.returncode != 0:
        return {"seconds": float("nan"), "peak_mb": 0, "error": f"exit {finished.returncode}: {finished.stderr[-200:]}"}
    return json.loads(finished.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--code", type=Path, default=REPOSITORY, help="the checkout whose reader is measured")
    parser.add_argument("--only", default="", help="measure only the cases whose label holds this text")
    arguments = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"reader of {arguments.code}")
    print(f"{'file':66} {'size':>9} {'seconds':>8} {'peak MB':>8}  outcome")
    for label, (name, make) in CASES.items():
        if arguments.only.lower() not in label.lower():
            continue
        path = CACHE / name
        if not path.exists():
            path.write_bytes(make())
        result = measure(arguments.code, path)
        outcome = result["error"] or "read"
        print(f"{label:66} {path.stat().st_size:>9,} {result['seconds']:>8.2f} {result['peak_mb']:>8,}  {outcome}")


if __name__ == "__main__":
    main()
