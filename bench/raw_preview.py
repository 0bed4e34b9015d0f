"""What reading a camera RAW by its embedded preview costs, against the JPEG the camera writes beside it.

    python bench/raw_preview.py                 # 20 DNGs of 6000x4000 (48 MB of Bayer data, a 6000x4000 preview)

Each DNG is laid out as a camera's: a full-size JPEG preview in IFD0, 16-bit Bayer data in a SubIFD.
Times open_photo at the decode size the indexer uses (320 px: the thumbnail), for the DNG and for the same
preview saved as a plain JPEG, and the metadata read of each, best of 3 rounds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--side", type=int, default=320)
    args = parser.parse_args()

    import numpy as np
    from PIL import Image

    from indexer.imaging import open_photo
    from tests.format_photos import write_dng

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        raws, jpegs = [], []
        for number in range(args.count):
            noise = rng.integers(0, 255, (400, 600, 3), dtype=np.uint8)
            preview = Image.fromarray(noise).resize((6000, 4000), Image.Resampling.BILINEAR)
            raw = write_dng(Path(folder) / f"IMG_{number}.dng", preview, cfa_shape=(4000, 6000))
            jpeg = Path(folder) / f"IMG_{number}.jpg"
            preview.save(jpeg, "JPEG", quality=90)
            raws.append(raw)
            jpegs.append(jpeg)
        for label, paths in (("DNG (preview)", raws), ("JPEG", jpegs)):
            decode = min(_timed(open_photo, paths, args.side) for _ in range(3)) / len(paths)
            meta = min(_timed(_metadata, paths) for _ in range(3)) / len(paths)
            size = sum(path.stat().st_size for path in paths) / len(paths) / 1e6
            print(f"{label:14} {size:5.1f} MB a file: decode {decode * 1000:6.1f} ms, metadata {meta * 1000:5.1f} ms")


def _metadata(path: Path) -> object:
    from indexer.metadata import read_metadata

    return read_metadata(path.read_bytes(), str(path), "")


def _timed(work, paths: list[Path], *arguments) -> float:
    started = time.perf_counter()
    for path in paths:
        work(path, *arguments)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
