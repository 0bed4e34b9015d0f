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

# (name, int8 weights, beams, bfloat16): what each setting changes against float32 beam 4.
# int8 is dynamic quantisation: its activation scale is taken per batch, so a photo's caption depends on the
# photos batched with it; measured here, not offered (docs/models.md: Choosing a caption model).
SETTINGS = [
    ("exact: float32, beam 4", False, 4, False),
    ("fast: float32, greedy", False, 1, False),
    ("int8, beam 4", True, 4, False),
    ("int8, greedy", True, 1, False),
    ("bfloat16, greedy", False, 1, True),
]


def int8_weights(model):
    """The model with its linear layers' weights in int8 and activations quantised per batch (dynamic
    quantisation): about half a CPU's time per caption (bench/cpu_speed.py). torch.ao marks the API deprecated
    in favour of torchao; it is what torch ships today, so it is used until torchao's CPU kernels match it."""
    import warnings

    import torch

    _conv1d_to_linear(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def _conv1d_to_linear(model) -> None:
    """GPT-2's projections are transformers' Conv1D (a linear layer with its weight transposed), which dynamic
    quantisation does not know: as nn.Linear they are quantised like the rest."""
    import torch
    from transformers.pytorch_utils import Conv1D

    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, Conv1D):
                linear = torch.nn.Linear(child.weight.shape[0], child.weight.shape[1], bias=child.bias is not None)
                linear.weight = torch.nn.Parameter(child.weight.detach().t().contiguous(), requires_grad=False)
                if child.bias is not None:
                    linear.bias = torch.nn.Parameter(child.bias.detach(), requires_grad=False)
                setattr(parent, name, linear)


def variant(model, int8: bool, bfloat16: bool):
    import copy

    import torch

    copied = copy.deepcopy(model)
    if int8:
        return int8_weights(copied)
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


def agreement() -> dict[str, tuple[float, float]]:
    """name -> (share of captions equal to exact's, share exactly right), on 300 held-out pictures."""
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
    for name, int8, beams, bfloat16 in SETTINGS:
        results[name] = captions(captioner, variant(captioner.model, int8, bfloat16), beams, pixels)
    exact = results[SETTINGS[0][0]]
    return {
        name: (
            sum(a == b for a, b in zip(found, exact)) / len(exact),
            sum(a == b for a, b in zip(found, truth)) / len(truth),
        )
        for name, found in results.items()
    }


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
    print(f"\n{'setting':26} {'s/photo':>8} {'speed-up':>9} {'same caption':>13} {'right':>6}")
    for name, *_ in SETTINGS:
        same, right = agreed[name]
        print(f"{name:26} {seconds[name]:8.3f} {base / seconds[name]:8.2f}x {same:13.1%} {right:6.1%}")


if __name__ == "__main__":
    main()
