"""Build a tiny random ViT + GPT-2 captioning model offline, saved like a real Hugging Face model."""

from __future__ import annotations

from pathlib import Path

VOCABULARY = (
    "a an the dog dogs cat man woman person people child children beach sea wave surfboard car red blue "
    "green white black riding sitting standing on top of with in near table plate food street city tree "
    "grass field sky mountain snow boat water bird flying two group playing ball park bench building"
).split()


def build_tiny_model(target: Path, image_side: int = 32, seed: int = 0) -> Path:
    """ViT encoder + GPT-2 decoder with small configs, a WordLevel tokenizer trained with `tokenizers`,
    and a ViTImageProcessor, all written with save_pretrained so they load through from_pretrained."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import (
        GPT2Config,
        PreTrainedTokenizerFast,
        ViTConfig,
        ViTImageProcessor,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
    )
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    tokenizer_core = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tokenizer_core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer_core.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    trainer = trainers.WordLevelTrainer(special_tokens=["<unk>", "<pad>", "<s>", "</s>"])
    tokenizer_core.train_from_iterator([" ".join(VOCABULARY)], trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tokenizer_core, unk_token="<unk>", pad_token="<pad>",
                                        bos_token="<s>", eos_token="</s>")
    encoder = ViTConfig(image_size=image_side, patch_size=8, hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=37)
    decoder = GPT2Config(vocab_size=len(tokenizer), n_positions=32, n_embd=32, n_layer=1, n_head=2,
                         add_cross_attention=True, is_decoder=True, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         initializer_range=0.5)
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.decoder_start_token_id = tokenizer.bos_token_id
    config.pad_token_id = tokenizer.pad_token_id
    config.eos_token_id = tokenizer.eos_token_id
    torch.manual_seed(seed)
    model = VisionEncoderDecoderModel(config=config)
    processor = ViTImageProcessor(size={"height": image_side, "width": image_side})
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    processor.save_pretrained(target)
    return target
