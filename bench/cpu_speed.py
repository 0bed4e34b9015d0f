"""The caption model's cost on a CPU, per setting, and whether each setting keeps the captions.

    python bench/cpu_speed.py                  # 2 torch threads, the default model's shapes, batch 8
    python bench/cpu_speed.py --threads 1 --photos 16

Speed: seconds a photo for the default model's architecture (ViT-base/16 + GPT-2 small, random weights: a
random decoder always writes all 16 tokens, so these are the slow end). Agreement: the share of 300 held-out
synthetic pictures whose caption is the same as float32 beam 4's, with a captioner trained here
(tests/trained_captioner.py; random weights would say nothing about agreement). Each setting runs in this one
process, one after another, so they share the machine's state.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.photoset import CACHE, full_size_model  # noqa: E402

# (name, int8 kind, beams, bfloat16): what each setting changes against float32 beam 4. "batch" is torch's
# dynamic quantisation, whose activation scale is taken over the whole batch, so a photo's caption depends on
# the photos batched with it: measured here, not offered. "row" is captionary's `--speed int8`
# (indexer/models/int8.py): each token's activations rounded on their own scale, so batches do not matter.
SETTINGS = [
    ("exact: float32, beam 4", None, 4, False),
    ("fast: float32, greedy", None, 1, False),
    ("int8 per batch, beam 4", "batch", 4, False),
    ("int8 per batch, greedy", "batch", 1, False),
    ("int8: per row, beam 4", "row", 4, False),
    ("int8: per row, greedy", "row", 1, False),
    ("bfloat16, greedy", None, 1, True),
]


def batch_int8(model):
    """torch.ao's dynamic quantisation (marked deprecated; what torch ships today)."""
    import torch

    from indexer.models.int8 import conv1d_to_linear

    conv1d_to_linear(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def variant(model, int8: str | None, bfloat16: bool):
    import copy

    import torch

    from indexer.models.int8 import quantize_linears

    copied = copy.deepcopy(model)
    if int8 == "batch":
        return batch_int8(copied)
    if int8 == "row":
        return quantize_linears(copied)
    return copied.to(torch.bfloat16) if bfloat16 else copied


def captions(captioner, model, beams: int, pixels) -> list[str]:
    import torch

    with torch.inference_mode():
        output = model.generate(
            pixel_values=pixels.to(next(model.parameters()).dtype) if pixels.is_floating_point() else pixels,
            max_new_tokens=16,
            num_beams=beams,
            no_repeat_ngram_size=3,
            do_sample=False,
        )
    return [text.strip() for text in captioner.tokenizer.batch_decode(output, skip_special_tokens=True)]


def agreement() -> dict[str, tuple[float, float, float]]:
    """name -> (share of captions equal to exact's, share exactly right, share equal to the same setting's
    captions with every photo captioned alone), on 300 held-out pictures."""
    from indexer.models.captioner import Captioner
    from tests.trained_captioner import held_out, train_captioner

    folder = CACHE / "trained-captioner"
    if not (folder / "model.safetensors").exists():
        train_captioner(folder)
    captioner = Captioner(str(folder), device="cpu", speed="exact")
    pictures = held_out(300, seed=7)
    pixels = captioner.image_processor(images=[image for image, _ in pictures], return_tensors="pt").pixel_values
    truth = [caption for _, caption in pictures]
    results: dict[str, list[str]] = {}
    alone: dict[str, list[str]] = {}
    for name, int8, beams, bfloat16 in SETTINGS:
        model = variant(captioner.model, int8, bfloat16)
        results[name] = captions(captioner, model, beams, pixels)
        alone[name] = [captions(captioner, model, beams, pixels[index : index + 1])[0] for index in range(len(pictures))]
    exact = results[SETTINGS[0][0]]

    def share(found: list[str], wanted: list[str]) -> float:
        return sum(a == b for a, b in zip(found, wanted)) / len(wanted)

    return {name: (share(found, exact), share(found, truth), share(found, alone[name])) for name, found in results.items()}


def speed(photos: int, batch: int) -> dict[str, float]:
    """name -> seconds a photo with the default model's shapes."""
    import torch
    from transformers import VisionEncoderDecoderModel

    model = VisionEncoderDecoderModel.from_pretrained(full_size_model()).eval()
    pixels = torch.randn(batch, 3, 224, 224)

    seconds = {}
    for name, int8, beams, bfloat16 in SETTINGS:
        candidate = variant(model, int8, bfloat16)
        with torch.inference_mode():
            candidate.generate(pixel_values=pixels[:1].to(next(candidate.parameters()).dtype), max_new_tokens=2)  # warm up
            started = time.perf_counter()
            for _ in range(max(1, photos // batch)):
                candidate.generate(
                    pixel_values=pixels.to(next(candidate.parameters()).dtype),
                    max_new_tokens=16,
                    num_beams=beams,
                    no_repeat_ngram_size=3,
                    do_sample=False,
                )
        seconds[name] = (time.perf_counter() - started) / (max(1, photos // batch) * batch)
        print(f"  {name:26} {seconds[name]:6.3f} s a photo", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--photos", type=int, default=16, help="photos timed per setting")
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import torch

    torch.set_num_threads(args.threads)
    print(f"torch threads: {args.threads}; speed with the default model's shapes, batch {args.batch}:", flush=True)
    seconds = speed(args.photos, args.batch)
    print("agreement with float32 beam 4 on 300 held-out pictures (trained captioner):", flush=True)
    agreed = agreement()
    base = seconds[SETTINGS[0][0]]
    print(f"\n{'setting':26} {'s/photo':>8} {'speed-up':>9} {'same caption':>13} {'right':>6} {'same alone':>11}")
    for name, *_ in SETTINGS:
        same, right, batch_free = agreed[name]
        print(f"{name:26} {seconds[name]:8.3f} {base / seconds[name]:8.2f}x {same:13.1%} {right:6.1%} {batch_free:11.1%}")


if __name__ == "__main__":
    main()
