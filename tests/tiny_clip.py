"""Build tiny random CLIP and SigLIP dual encoders offline, saved like real Hugging Face models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

WORDS = "a an the photo of dog cat beach sea red blue car cake birthday people table sitting".split()


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable character table."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    characters = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            characters.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, characters)))


def write_clip_tokenizer_files(folder: Path) -> None:
    """vocab.json + merges.txt in CLIP's format: every byte alone and word-final, plus merges that make the
    test words single tokens."""
    symbols = list(_bytes_to_unicode().values())
    vocab = symbols + [symbol + "</w>" for symbol in symbols]
    merges: list[str] = []
    for word in WORDS:
        current = word[0]
        for index, char in enumerate(word[1:], start=1):
            right = char + ("</w>" if index == len(word) - 1 else "")
            merges.append(f"{current} {right}")
            current += right
            vocab.append(current)
    vocab = list(dict.fromkeys(vocab + ["<|startoftext|>", "<|endoftext|>"]))
    merges = list(dict.fromkeys(merges))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({token: index for index, token in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")


# openai/clip-vit-base-patch32's shapes (151M parameters): ViT-B/32 at 224 px and a 12-layer, 512-wide text
# tower with a 49,408-token vocabulary. Random weights: every matrix product is the real model's size, which is
# what a throughput or cold-start figure needs.
FULL_SIZE_VISION = dict(
    hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12, image_size=224, patch_size=32
)
FULL_SIZE_TEXT = dict(
    hidden_size=512,
    intermediate_size=2048,
    num_hidden_layers=12,
    num_attention_heads=8,
    max_position_embeddings=77,
    vocab_size=49408,
)


def build_tiny_clip(
    target: Path, family: str = "clip", image_side: int = 32, seed: int = 0, legacy_eos: bool = False, full_size: bool = False
) -> Path:
    """A random dual encoder with small configs, a CLIPTokenizer from the files above and a CLIPImageProcessor,
    saved with save_pretrained: loads through AutoModel + AutoProcessor like openai/clip-vit-base-patch32.
    family="siglip" saves a SiglipModel with the same processor, to prove the Auto path is not CLIP-only."""
    import torch
    from transformers import CLIPImageProcessor, CLIPProcessor, CLIPTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    write_clip_tokenizer_files(target / "tokenizer-files")
    tokenizer = CLIPTokenizer(str(target / "tokenizer-files" / "vocab.json"), str(target / "tokenizer-files" / "merges.txt"))
    processor = CLIPProcessor(
        image_processor=CLIPImageProcessor(
            size={"shortest_edge": image_side}, crop_size={"height": image_side, "width": image_side}
        ),
        tokenizer=tokenizer,
    )
    text = (
        dict(FULL_SIZE_TEXT)
        if full_size
        else dict(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=48,
            num_hidden_layers=2,
            num_attention_heads=2,
            max_position_embeddings=32,
        )
    )
    vision = (
        dict(FULL_SIZE_VISION)
        if full_size
        else dict(
            hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=2, image_size=image_side, patch_size=8
        )
    )
    torch.manual_seed(seed)
    if family == "siglip":
        from transformers import SiglipConfig, SiglipModel

        model = SiglipModel(SiglipConfig(text_config=text, vision_config=vision))
    else:
        from transformers import CLIPConfig, CLIPModel

        # legacy_eos: the configs of openai/clip-* say eos 2 and mean "the highest id", which end-of-text is
        eos = 2 if legacy_eos else tokenizer.eos_token_id
        text.update(bos_token_id=tokenizer.bos_token_id, eos_token_id=eos, pad_token_id=tokenizer.pad_token_id)
        model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=512 if full_size else 16))
    model.eval().save_pretrained(target)
    processor.save_pretrained(target)
    shutil.rmtree(target / "tokenizer-files")  # the saved tokenizer carries its vocabulary
    return target
