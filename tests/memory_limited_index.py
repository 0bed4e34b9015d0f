"""Index a folder with real models under an address-space limit, and report what its photos cost in memory.

    python -m tests.memory_limited_index DATA_DIR WARM_ROOT ROOT MODEL IMAGE_EMBEDDER HEADROOM_MB

The caption model, the image embedder and the OCR engine load and index WARM_ROOT first (their own memory is
not the photos'); then RLIMIT_AS is set to the address space the process holds plus HEADROOM_MB and ROOT is
indexed. Prints one JSON line: the run's failures, how many photos it captioned, embedded and read, and
`growth_mb`, the peak resident memory during ROOT's run (VmHWM, reset after the warm-up) above the resident memory before it.
"""

from __future__ import annotations

import json
import os
import resource
import sys

from db.store import Store
from indexer.models.captioner import Captioner
from indexer.models.image_embedder import ImageEmbedder
from indexer.models.ocr import TextReader
from indexer.options import IndexOptions
from indexer.pipeline import index_roots


def reset_peak_resident() -> None:
    # ru_maxrss never goes down, so the warm-up's own peak would count as the photos'; "5" resets VmHWM (Linux)
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def peak_resident_bytes() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def resident_and_virtual_bytes() -> tuple[int, int]:
    with open("/proc/self/statm") as handle:
        virtual, resident = (int(field) for field in handle.read().split()[:2])
    page = os.sysconf("SC_PAGE_SIZE")
    return resident * page, virtual * page


def main(data_dir: str, warm_root: str, root: str, model: str, image_embedder: str, headroom_mb: str) -> None:
    captioner = Captioner(model, device="cpu", threads=1)
    embedder = ImageEmbedder(image_embedder, device="cpu", threads=1)
    reader = TextReader(threads=1)
    options = IndexOptions(model=model, embeddings=False, image_embedder=image_embedder, ocr=True, workers=1, threads=1)

    def index(folder: str):
        return index_roots(
            store,
            [folder],
            options,
            lambda _: captioner,
            image_embedder_factory=lambda _: embedder,
            text_reader_factory=lambda _: reader,
        )

    with Store.open(data_dir) as store:
        index(warm_root)
        resident, virtual = resident_and_virtual_bytes()
        reset_peak_resident()
        resource.setrlimit(resource.RLIMIT_AS, (virtual + int(headroom_mb) * 2**20, resource.RLIM_INFINITY))
        report = index(root)
        peak = peak_resident_bytes()
    result = {
        "failures": report.failures,
        "captioned": report.captioned,
        "image_embedded": report.image_embedded,
        "ocr_read": report.ocr_read,
        "growth_mb": round(max(0, peak - resident) / 2**20),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:])
