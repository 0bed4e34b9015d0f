"""A small ViT + GPT-2 captioner trained here, offline, on synthetic pictures (a coloured shape on a coloured
background, "a red circle on a blue background"): random weights write nonsense whatever the settings, so
whether a faster setting keeps the captions can only be asked of a model that has learnt something.

    python -m tests.trained_captioner OUT_FOLDER      # train and save (seconds on 2 cores), then score it
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from PIL import Image, ImageDraw

COLOURS = {
    "red": (210, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 70, 210),
    "yellow": (235, 210, 50),
    "white": (245, 245, 245),
    "black": (20, 20, 20),
    "orange": (240, 140, 30),
    "purple": (140, 60, 170),
}
SHAPES = ("circle", "square", "triangle")
WORDS = ["a", "on", "background", *COLOURS, *SHAPES]
SIDE = 32


def picture(rng: random.Random) -> tuple[Image.Image, str]:
    """One synthetic photo and its true caption; sizes, places and shades vary so the model must generalise."""
    shape_colour, background = rng.sample(list(COLOURS), 2)
    shape = rng.choice(SHAPES)

    def shade(name: str) -> tuple[int, int, int]:
        return tuple(max(0, min(255, value + rng.randint(-25, 25))) for value in COLOURS[name])  # type: ignore[return-value]

    image = Image.new("RGB", (SIDE * 2, SIDE * 2), shade(background))
    draw = ImageDraw.Draw(image)
    size = rng.randint(SIDE * 2 // 3, SIDE * 3 // 2)
    x, y = rng.randint(0, SIDE * 2 - size), rng.randint(0, SIDE * 2 - size)
    box = (x, y, x + size, y + size)
    if shape == "circle":
        draw.ellipse(box, fill=shade(shape_colour))
    elif shape == "square":
        draw.rectangle(box, fill=shade(shape_colour))
    else:
        draw.polygon([(x + size // 2, y), (x, y + size), (x + size, y + size)], fill=shade(shape_colour))
    return image, f"a {shape_colour} {shape} on a {background} background"


def train_captioner(target: Path, steps: int = 500, seed: int = 0, samples: int = 2000) -> Path:
    """Train the captioner from random weights and save it with save_pretrained (tokenizer and processor too)."""
    import torch

    from tests.tiny_model import build_random_model

    build_random_model(
        target,
        seed=seed,
        vocabulary_size=len(WORDS) + 4,
        encoder=dict(
            image_size=SIDE, patch_size=8, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128
        ),
        decoder=dict(n_positions=32, n_embd=64, n_layer=2, n_head=4),
        words=WORDS,
    )
    from transformers import AutoTokenizer, VisionEncoderDecoderModel, ViTImageProcessor

    torch.manual_seed(seed)
    model = VisionEncoderDecoderModel.from_pretrained(target)
    tokenizer = AutoTokenizer.from_pretrained(target)
    processor = ViTImageProcessor.from_pretrained(target)
    # One thread: a model this small trains ten times slower on two threads of a busy machine than on one.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = random.Random(seed)
    # The pictures are drawn and tokenised once; each step trains on a random draw of them.
    pictures, captions = zip(*(picture(rng) for _ in range(samples)))
    pixels = processor(images=list(pictures), return_tensors="pt").pixel_values
    tokens = tokenizer([f"{caption} {tokenizer.eos_token}" for caption in captions], return_tensors="pt", padding=True)
    labels = tokens.input_ids.masked_fill(tokens.attention_mask == 0, -100)
    model.train()
    for step in range(steps):
        chosen = torch.randint(0, samples, (48,))
        loss = model(pixel_values=pixels[chosen], labels=labels[chosen]).loss
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()
        for group in optimiser.param_groups:
            group["lr"] = 3e-3 * (1 - step / steps) + 1e-4
    model.eval()
    torch.set_num_threads(threads)
    model.save_pretrained(target)
    return target


def held_out(count: int, seed: int = 1) -> list[tuple[Image.Image, str]]:
    rng = random.Random(seed)
    return [picture(rng) for _ in range(count)]


if __name__ == "__main__":
    import time

    from indexer.models.captioner import Captioner

    started = time.perf_counter()
    folder = train_captioner(Path(sys.argv[1]))
    print(f"trained in {time.perf_counter() - started:.1f} s")
    pictures = held_out(200)
    captions = Captioner(str(folder), device="cpu").caption([image for image, _ in pictures])
    right = sum(caption == truth for caption, (_, truth) in zip(captions, pictures))
    print(f"{right} of {len(pictures)} held-out pictures captioned exactly right")
