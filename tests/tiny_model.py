"""Build random ViT + GPT-2 captioning models offline, saved like a real Hugging Face model."""

from __future__ import annotations

from pathlib import Path

VOCABULARY = (
    "a an the dog dogs cat man woman person people child children beach sea wave surfboard car red blue "
    "green white black riding sitting standing on top of with in near table plate food street city tree "
    "grass field sky mountain snow boat water bird flying two group playing ball park bench building"
).split()

# nlpconnect/vit-gpt2-image-captioning's shapes: ViT-base/16 at 224 px and GPT-2 small (124M) with
# cross-attention and GPT-2's 50,257-token vocabulary. Random weights, so the captions are nonsense,
# but every matrix product is the real model's size: what a GPU throughput figure needs.
FULL_SIZE_ENCODER = dict(
    image_size=224, patch_size=16, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072
)
FULL_SIZE_DECODER = dict(n_positions=1024, n_embd=768, n_layer=12, n_head=12)
FULL_SIZE_VOCABULARY = 50257


def build_tiny_model(target: Path, image_side: int = 32, seed: int = 0) -> Path:
    """ViT encoder + GPT-2 decoder with small configs (a few hundred kB): what the tests load."""
    return build_random_model(
        target,
        seed=seed,
        vocabulary_size=len(VOCABULARY) + 4,
        encoder=dict(
            image_size=image_side, patch_size=8, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37
        ),
        decoder=dict(n_positions=32, n_embd=32, n_layer=1, n_head=2, initializer_range=0.5),
    )


def build_full_size_model(target: Path, seed: int = 0) -> Path:
    """The default model's architecture with random weights (~240M parameters), for GPU benchmarks."""
    return build_random_model(
        target, seed=seed, vocabulary_size=FULL_SIZE_VOCABULARY, encoder=FULL_SIZE_ENCODER, decoder=FULL_SIZE_DECODER
    )


def build_random_model(
    target: Path, seed: int, vocabulary_size: int, encoder: dict, decoder: dict, words: list[str] | None = None
) -> Path:
    """A WordLevel tokenizer trained with `tokenizers` (the caption words, padded with filler words up to
    vocabulary_size), a ViTImageProcessor and a random VisionEncoderDecoder model, all written with
    save_pretrained so they load through from_pretrained like a downloaded model."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import (
        GPT2Config,
        PreTrainedTokenizerFast,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
        ViTConfig,
        ViTImageProcessor,
    )
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    special = ["<unk>", "<pad>", "<s>", "</s>"]
    known = VOCABULARY if words is None else words
    words = known + [f"w{number}" for number in range(vocabulary_size - len(known) - len(special))]
    tokenizer_core = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tokenizer_core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer_core.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    trainer = trainers.WordLevelTrainer(special_tokens=special, vocab_size=vocabulary_size)
    tokenizer_core.train_from_iterator([" ".join(words)], trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer_core, unk_token="<unk>", pad_token="<pad>", bos_token="<s>", eos_token="</s>"
    )
    encoder_config = ViTConfig(**encoder)
    decoder_config = GPT2Config(
        vocab_size=len(tokenizer),
        add_cross_attention=True,
        is_decoder=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **decoder,
    )
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder_config, decoder_config)
    config.decoder_start_token_id = tokenizer.bos_token_id
    config.pad_token_id = tokenizer.pad_token_id
    config.eos_token_id = tokenizer.eos_token_id
    torch.manual_seed(seed)
    model = VisionEncoderDecoderModel(config=config)
    side = encoder["image_size"]
    processor = ViTImageProcessor(size={"height": side, "width": side})
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    processor.save_pretrained(target)
    return target
