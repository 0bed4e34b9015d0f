"""Does draft (reduced-size) JPEG decoding change what the model sees? Full vs draft, side by side.

    python bench/draft_quality.py                      # 50 photo-size JPEGs, the tiny offline model
    python bench/draft_quality.py --model /path/to/vit-gpt2-image-captioning

Reports the difference between the pixel tensors the processor hands the model (normalised to
[-1, 1]) and how many captions come out identical, plus the decode time of each path.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.photoset import photo_set, tiny_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()

    import numpy as np
    import torch
    from PIL import Image

    from indexer.imaging import open_photo
    from indexer.models.captioner import Captioner
    from indexer.reading import reduce_for_model
    from indexer.thumbnails import THUMBNAIL_SIDE

    torch.set_num_threads(1)
    captioner = Captioner(args.model or str(tiny_model()), device="cpu", threads=1)
    paths = sorted(photo_set(max(args.count, 100)).rglob("*.jpg"))[: args.count]
    mean_diffs, max_diffs, same = [], [], 0
    full_seconds = draft_seconds = 0.0
    for path in paths:
        started = time.perf_counter()
        full = Image.open(path).convert("RGB")
        full_seconds += time.perf_counter() - started
        started = time.perf_counter()
        # exactly what the pipeline does: draft to the thumbnail/model size, then reduce for the model
        draft = reduce_for_model(open_photo(str(path), max(captioner.input_side, THUMBNAIL_SIDE)).image, captioner.input_side)
        draft_seconds += time.perf_counter() - started
        tensors = [captioner.image_processor(images=[image], return_tensors="np").pixel_values for image in (full, draft)]
        difference = np.abs(tensors[0] - tensors[1])
        mean_diffs.append(float(difference.mean()))
        max_diffs.append(float(difference.max()))
        captions = captioner.caption([full]), captioner.caption([draft])
        same += captions[0] == captions[1]
    count = len(paths)
    print(f"{count} photos 4000x3000, model {captioner.model_id} (input {captioner.input_side}px)")
    print(f"decode: full {full_seconds / count * 1000:.0f} ms/photo, draft {draft_seconds / count * 1000:.0f} ms/photo")
    print(
        f"pixel tensor |full - draft| (range [-1, 1]): mean {np.mean(mean_diffs):.4f}, "
        f"worst photo's mean {max(mean_diffs):.4f}, largest single value {max(max_diffs):.3f}"
    )
    print(f"identical captions: {same}/{count}")


if __name__ == "__main__":
    main()
