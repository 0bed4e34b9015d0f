"""What reading metadata costs an index run, side by side in one run, on one tree (default 10,000 photos):

    python bench/metadata.py                  # 10,000 photos of 1024x768, no-op model
    python bench/metadata.py --count 2000 --threads 1

Modes, each indexing the same tree into a fresh library, in its own child process:
- `none`: no metadata read at all (not even EXIF);
- `exif`: EXIF only (date, camera, GPS: what an index run read before #16, then inside the decode);
- `python`: captionary's reader: Pillow (EXIF, IPTC, embedded XMP) + defusedxml (XMP), on the bytes already read;
- `exiftool`: the same fields read by `exiftool -stay_open` in batch mode, one request per photo (its sidecars
  included), through a small wrapper here, as a reader built on exiftool would;
- `reread`: after a `python` run, every photo's metadata read again without hashing or captioning (an older
  library's first run, or every sidecar edited).
The model is a no-op, so the ratios are the largest metadata can cost: a real captioning model adds
hundreds of milliseconds per photo on a CPU to every mode alike. The tree: a third of the photos carry IPTC
keywords, a third embedded XMP with a Lightroom hierarchy, a third a sidecar (both conventions); half a GPS
position.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.photoset import CACHE, realistic_photo  # noqa: E402
from bench.throughput import NoOpCaptioner  # noqa: E402


def make_tree(count: int, size: tuple[int, int]) -> Path:
    from PIL import Image

    from tests.metadata_photos import iptc_segment, xmp_packet

    folder = CACHE / f"metadata-{size[0]}x{size[1]}-{count}"
    if (folder / ".complete").exists():
        return folder
    bases = []
    for seed in range(50):
        buffer = io.BytesIO()
        exif = Image.Exif()
        exif.get_ifd(0x8769)[36867] = f"2019:{seed % 12 + 1:02}:14 10:00:00"
        if seed % 2:
            exif.get_ifd(0x8825).update({1: "N", 2: (35.0, 0.0, 41.8), 3: "E", 4: (135.0, 46.0, float(seed))})
        realistic_photo(size, seed).save(buffer, "JPEG", quality=88, exif=exif.tobytes())
        bases.append(buffer.getvalue())
    for index in range(count):
        target = folder / f"{index // 100:04}" / f"IMG_{index:06}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        data = bases[index % len(bases)]
        kind = index % 3
        if kind == 0:
            segment = iptc_segment({(1, 90): b"\x1b%G", (2, 25): [b"family", b"summer", f"k{index % 97}".encode()]})
            data = data[:2] + segment + data[2:]
        elif kind == 1:
            packet = b"http://ns.adobe.com/xap/1.0/\x00" + xmp_packet(subjects=["beach"], hierarchy=["People|Family|Grandma"])
            data = data[:2] + b"\xff\xe1" + (len(packet) + 2).to_bytes(2, "big") + packet + data[2:]
        else:
            sidecar = target.with_suffix(".xmp") if index % 2 else Path(f"{target}.xmp")
            sidecar.write_bytes(xmp_packet(subjects=["hike"], description=f"walk {index}", city="Zermatt", country="Switzerland"))
        target.write_bytes(data + index.to_bytes(4, "big"))  # unique bytes: every file is new to the catalog
    (folder / ".complete").touch()
    return folder


class ExiftoolReader:
    """exiftool -stay_open: one long-lived process, one request per photo, answers as JSON."""

    FIELDS = ["-IPTC:Keywords", "-XMP:Subject", "-XMP:HierarchicalSubject", "-XMP:Title", "-XMP:Description",
              "-IPTC:Caption-Abstract", "-XMP:City", "-XMP:Country", "-EXIF:DateTimeOriginal", "-GPSLatitude",
              "-GPSLongitude", "-XMP:Rating", "-EXIF:Model"]  # fmt: skip

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            ["exiftool", "-stay_open", "True", "-@", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # not the bench's pipe: an exiftool alive past its child would hold it open
            text=True,
        )
        self.lock = threading.Lock()
        self.sequence = 0

    def read(self, paths: list[str]) -> list[dict]:
        with self.lock:  # one exiftool process answers one request at a time
            self.sequence += 1
            arguments = ["-json", "-n", "-charset", "iptc=utf8", *self.FIELDS, *paths, f"-execute{self.sequence}"]
            assert self.process.stdin is not None and self.process.stdout is not None
            self.process.stdin.write("\n".join(arguments) + "\n")
            self.process.stdin.flush()
            lines = []
            for line in self.process.stdout:
                if line.strip() == f"{{ready{self.sequence}}}":
                    break
                lines.append(line)
        return json.loads("".join(lines) or "[]")

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("-stay_open\nFalse\n")
        self.process.stdin.flush()
        self.process.wait(timeout=30)


def exiftool_metadata(reader: ExiftoolReader):
    from db.records import PhotoMetadata, normalize_tag
    from db.sidecars import signature_names

    def read(source, path, sidecars, follow_symlinks=False):
        names = [os.path.join(os.path.dirname(path), name) for name in signature_names(sidecars)]
        rows = reader.read([path, *names])
        keywords: list[str] = []
        for row in rows:
            for key in ("Keywords", "Subject"):
                value = row.get(key, [])
                keywords += value if isinstance(value, list) else [value]
        return PhotoMetadata(keywords=tuple(dict.fromkeys(normalize_tag(str(k)) for k in keywords)), sidecars=sidecars)

    return read


def exif_only(source, path, sidecars, follow_symlinks=False):
    from PIL import Image

    from db.records import PhotoMetadata
    from indexer.exif import read_exif_tags

    with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
        exif = read_exif_tags(image.getexif())
    if not isinstance(source, bytes):
        source.seek(0)
    return PhotoMetadata(
        taken_at=exif.taken_at, camera=exif.camera, latitude=exif.latitude, longitude=exif.longitude, sidecars=sidecars
    )


def run_mode(mode: str, tree: Path, data_dir: Path, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    from db.models import File
    from db.records import PhotoMetadata
    from db.store import Store
    from indexer import feed, reading
    from indexer.options import IndexOptions
    from indexer.pipeline import index_roots

    # The metadata reader is swapped in this process: reader processes would import the real one.
    feed.PROCESSES_FROM = 1 << 62
    if mode == "none":
        reading.read_metadata = lambda source, path, sidecars, follow_symlinks=False: PhotoMetadata(sidecars=sidecars)
    elif mode == "exif":
        reading.read_metadata = exif_only
    elif mode == "exiftool":
        reader = ExiftoolReader()
        reading.read_metadata = exiftool_metadata(reader)
    options = IndexOptions(model="no-op", embeddings=False, image_embedder=None, thumbnails=False)
    with Store.open(data_dir) as store:
        if mode == "reread":
            index_roots(store, [tree], options, lambda _: NoOpCaptioner(224))
            with store.sessions.begin() as session:
                session.query(File).update({File.sidecars: None})
        started = time.perf_counter()
        report = index_roots(store, [tree], options, lambda _: NoOpCaptioner(224))
        seconds = time.perf_counter() - started
        numbers = store.stats()
    if mode == "exiftool":
        reader.close()
    return {"mode": mode, "seconds": seconds, "photos": report.processed, "per_second": report.processed / seconds,
            "file_keywords": numbers["file_keywords"], "placed": numbers["placed"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--modes", default="none,exif,python,exiftool,reread")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    tree = make_tree(args.count, (1024, 768))
    if args.child:
        with tempfile.TemporaryDirectory() as data_dir:
            print(json.dumps(run_mode(args.child, tree, Path(data_dir), args.threads)))
        return
    for path in tree.rglob("*"):  # warm the page cache so the first mode does not pay for the disk
        if path.is_file():
            path.read_bytes()
    results = []
    for mode in args.modes.split(","):
        if mode == "exiftool" and not shutil.which("exiftool"):
            print("exiftool: not installed (apt-get install libimage-exiftool-perl), skipped")
            continue
        command = [sys.executable, __file__, "--count", str(args.count), "--threads", str(args.threads), "--child", mode]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
    base = next((row["per_second"] for row in results if row["mode"] == "exif"), None)
    print(f"{args.count} photos, no-op model, {args.threads} torch thread(s), {os.cpu_count()} cores")
    for row in results:
        ratio = f"  {base / row['per_second']:.2f}x the time of `exif`" if base and row["mode"] != "reread" else ""
        print(
            f"{row['mode']:>9}: {row['seconds']:7.1f} s  {row['per_second']:7.1f} photos/s  "
            f"file keywords on {row['file_keywords']}, places on {row['placed']}{ratio}"
        )


if __name__ == "__main__":
    main()
