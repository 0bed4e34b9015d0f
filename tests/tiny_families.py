"""Tiny random checkpoints of each caption family, built offline with the family's real model, processor and
image-processor classes and a word-level tokenizer trained with `tokenizers`, saved with save_pretrained so
the product loads them through the same from_pretrained path as a downloaded model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

# Every word of the default prompts and of Florence-2's task prompts, so a prompt reaches the model as known
# ids (the tests assert on them), plus words for the random captions.
WORDS = (
    "a an the of in on with and or is are what they doing describe this photo one two sentences main subjects "
    "place caption en detail shown image paragraph does dog cat beach sea car red blue tree sky boat bird user "
    "assistant model sure here description : . , ! ? < > _"
).split()
SIDE = 32  # pixels the tiny vision towers take
TINY_TEXT = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=1, num_attention_heads=2)
TINY_VISION = dict(
    hidden_size=32, intermediate_size=37, num_hidden_layers=1, num_attention_heads=2, image_size=SIDE, patch_size=8
)


# Published shapes of the guide's CPU-sized checkpoints (their config.json files), for bench/caption_models.py:
# random weights, but every matrix product the real model's size. vocabulary: the real tokenizer's size.
REAL_SHAPES: dict[str, dict[str, Any]] = {
    "blip": dict(  # Salesforce/blip-image-captioning-large: ViT-L/16 at 384 px, BERT-base decoder
        side=384,
        vocabulary=30524,
        vision=dict(
            hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16, image_size=384, patch_size=16
        ),
        text=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12),
    ),
    "git": dict(  # microsoft/git-large-coco: CLIP ViT-L/14 at 224 px, 6-layer decoder
        side=224,
        vocabulary=30522,
        vision=dict(
            hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16, image_size=224, patch_size=14
        ),
        text=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=6, num_attention_heads=12),
    ),
    "florence-2": dict(  # florence-community/Florence-2-base: DaViT at 768 px (577 image tokens), BART-base
        side=768,
        vocabulary=51289,
        image_tokens=577,
        vision=dict(projection_dim=768),
        text=dict(
            d_model=768,
            encoder_layers=6,
            decoder_layers=6,
            encoder_attention_heads=12,
            decoder_attention_heads=12,
            encoder_ffn_dim=3072,
            decoder_ffn_dim=3072,
        ),
    ),
    "smolvlm": dict(  # HuggingFaceTB/SmolVLM-256M-Instruct: SigLIP-B/16 at 512 px, SmolLM2-135M, 64 image tokens
        side=512,
        vocabulary=49280,
        image_tokens=64,
        scale_factor=4,
        vision=dict(
            hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12, image_size=512, patch_size=16
        ),
        text=dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3),
    ),
}
TINY_SHAPES: dict[str, dict[str, Any]] = {
    "blip": dict(side=SIDE, vocabulary=0, vision=TINY_VISION, text=TINY_TEXT),
    "git": dict(side=SIDE, vocabulary=0, vision=TINY_VISION, text=TINY_TEXT),
    # 32 px / stride 4 / stride 2 = a 4x4 grid, plus one pooled token: 17 image tokens per photo
    "florence-2": dict(
        side=SIDE,
        vocabulary=0,
        image_tokens=17,
        vision=dict(
            depths=[1, 1],
            patch_size=[7, 3],
            patch_stride=[4, 2],
            patch_padding=[3, 1],
            patch_prenorm=[False, True],
            embed_dim=[16, 32],
            num_heads=[2, 2],
            num_groups=[2, 2],
            window_size=2,
            projection_dim=32,
            max_position_embeddings=8,
        ),
        text=dict(
            d_model=32,
            encoder_layers=1,
            decoder_layers=1,
            encoder_attention_heads=2,
            decoder_attention_heads=2,
            encoder_ffn_dim=37,
            decoder_ffn_dim=37,
        ),
    ),
    # (32 / 8)^2 patches, merged 2x2 by the scale factor: 4 image tokens
    "smolvlm": dict(
        side=SIDE, vocabulary=0, image_tokens=4, scale_factor=2, vision=TINY_VISION, text=dict(TINY_TEXT, num_key_value_heads=1)
    ),
}


def word_tokenizer(
    specials: tuple[str, ...] = (), named: dict[str, str] | None = None, wrap: bool = False, filler: int = 60, vocabulary: int = 0
):
    """A lower-casing WordLevel tokenizer: <unk> <pad> <s> </s>, the family's special tokens, WORDS and filler
    words (up to `vocabulary` in all). wrap: "<s> text </s>" like BERT's [CLS] text [SEP] (what BLIP and GIT expect)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    base = ["<unk>", "<pad>", "<s>", "</s>"]
    filler = max(filler, vocabulary - len(base) - len(specials) - len(WORDS))
    words = WORDS + [f"w{number}" for number in range(filler)]
    core = Tokenizer(models.WordLevel(unk_token="<unk>"))
    core.normalizer = normalizers.Lowercase()
    core.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    core.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    special = base + list(specials)
    core.train_from_iterator(
        [" ".join(words)], trainers.WordLevelTrainer(special_tokens=special, vocab_size=len(special) + len(words))
    )
    if wrap:
        core.post_processor = processors.TemplateProcessing(
            single="<s> $A </s>", special_tokens=[("<s>", core.token_to_id("<s>")), ("</s>", core.token_to_id("</s>"))]
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        extra_special_tokens=named or {},
    )


def _ids(tokenizer) -> dict[str, int]:
    return dict(pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)


def _save(target: Path, model, processor, widen: float = 0.2) -> Path:
    if sum(parameter.numel() for parameter in model.parameters()) < 1_000_000:  # never the bench's real shapes
        _widen(model, widen)
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target)
    processor.save_pretrained(target)
    return target


def _widen(model, std: float) -> None:
    """At the library's small initial weights a tiny model writes the same caption for every photo; at wider
    ones the caption depends on the pixels, so a test can tell whose caption is whose in a batch."""
    import torch

    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() >= 2:
                parameter.normal_(0.0, std)


def _llama(tokenizer) -> dict[str, Any]:
    return dict(
        model_type="llama",
        vocab_size=len(tokenizer),
        num_key_value_heads=1,
        max_position_embeddings=512,
        **TINY_TEXT,
        **_ids(tokenizer),
    )


def build_blip(target: Path, real: bool = False) -> Path:
    import transformers as t

    shape = (REAL_SHAPES if real else TINY_SHAPES)["blip"]
    tokenizer = word_tokenizer(wrap=True, vocabulary=shape["vocabulary"])
    text = dict(
        vocab_size=len(tokenizer),
        sep_token_id=tokenizer.eos_token_id,
        max_position_embeddings=512,
        **shape["text"],
        **_ids(tokenizer),
    )
    model = t.BlipForConditionalGeneration(t.BlipConfig(text_config=text, vision_config=shape["vision"]))
    side = {"height": shape["side"], "width": shape["side"]}
    processor = t.BlipProcessor(image_processor=t.BlipImageProcessor(size=side), tokenizer=tokenizer)
    return _save(target, model, processor)


def build_git(target: Path, real: bool = False) -> Path:
    import transformers as t

    shape = (REAL_SHAPES if real else TINY_SHAPES)["git"]
    tokenizer = word_tokenizer(wrap=True, vocabulary=shape["vocabulary"])
    config = t.GitConfig(
        vision_config=shape["vision"], vocab_size=len(tokenizer), max_position_embeddings=1024, **shape["text"], **_ids(tokenizer)
    )
    side = shape["side"]
    image_processor = t.CLIPImageProcessor(size={"shortest_edge": side}, crop_size={"height": side, "width": side})
    return _save(target, t.GitForCausalLM(config), t.GitProcessor(image_processor=image_processor, tokenizer=tokenizer))


def build_florence2(target: Path, real: bool = False) -> Path:
    import transformers as t

    shape = (REAL_SHAPES if real else TINY_SHAPES)["florence-2"]
    tokenizer = word_tokenizer(("<image>",), {"image_token": "<image>"}, vocabulary=shape["vocabulary"])
    text = t.BartConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=1024,
        decoder_start_token_id=tokenizer.eos_token_id,
        **shape["text"],
        **_ids(tokenizer),
    )
    config = t.Florence2Config(vision_config=shape["vision"], text_config=text.to_dict(), image_token_id=tokenizer.image_token_id)
    side = {"height": shape["side"], "width": shape["side"]}
    image_processor = t.CLIPImageProcessor(
        size=side, crop_size=side, do_center_crop=False, image_seq_length=shape["image_tokens"]
    )
    return _save(
        target,
        t.Florence2ForConditionalGeneration(config),
        t.Florence2Processor(image_processor=image_processor, tokenizer=tokenizer),
    )


SMOLVLM_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}:"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<image>{% else %}{{ part['text'] }}{% endif %}"
    "{% endfor %}<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}"
)


def build_idefics3(target: Path, real: bool = False) -> Path:
    """SmolVLM-256M-Instruct's classes (its config says idefics3), with its chat template's shape."""
    import transformers as t

    names = {
        "image_token": "<image>",
        "fake_image_token": "<fake_token_around_image>",
        "global_image_token": "<global-img>",
        "end_of_utterance_token": "<end_of_utterance>",
    }
    shape = (REAL_SHAPES if real else TINY_SHAPES)["smolvlm"]
    tokenizer = word_tokenizer((*names.values(), "<|im_start|>"), names, vocabulary=shape["vocabulary"])
    text = dict(model_type="llama", vocab_size=len(tokenizer), max_position_embeddings=8192, **shape["text"], **_ids(tokenizer))
    config = t.Idefics3Config(
        vision_config=shape["vision"],
        text_config=text,
        scale_factor=shape["scale_factor"],
        image_token_id=tokenizer.image_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    # SmolVLM's processor splits a photo into up to 4x4 tiles of 512 px plus the whole; the product asks for
    # the whole only (indexer/models/families.py), so the tiny one has no tiles to offer.
    edge = {"longest_edge": shape["side"]}
    image_processor = t.Idefics3ImageProcessor(
        do_image_splitting=real, size={"longest_edge": 4 * shape["side"] if real else shape["side"]}, max_image_size=edge
    )
    processor = t.Idefics3Processor(
        image_processor=image_processor, tokenizer=tokenizer, image_seq_len=shape["image_tokens"], chat_template=SMOLVLM_TEMPLATE
    )
    return _save(target, t.Idefics3ForConditionalGeneration(config), processor)


GEMMA3_TEMPLATE = (
    "<s>{% for message in messages %}<start_of_turn>{{ 'model' if message['role'] == 'assistant' else message['role'] }}\n"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<start_of_image>{% else %}{{ part['text'] }}{% endif %}"
    "{% endfor %}<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


def build_gemma3(target: Path) -> Path:
    import transformers as t

    names = {"image_token": "<image_soft_token>", "boi_token": "<start_of_image>", "eoi_token": "<end_of_image>"}
    tokenizer = word_tokenizer((*names.values(), "<start_of_turn>", "<end_of_turn>"), names)
    text = dict(
        vocab_size=len(tokenizer),
        num_key_value_heads=1,
        head_dim=16,
        max_position_embeddings=512,
        sliding_window=64,
        **TINY_TEXT,
        **_ids(tokenizer),
    )
    config = t.Gemma3Config(
        text_config=text,
        vision_config=TINY_VISION,
        mm_tokens_per_image=4,
        image_token_index=tokenizer.image_token_id,
        boi_token_index=tokenizer.convert_tokens_to_ids("<start_of_image>"),
        eoi_token_index=tokenizer.convert_tokens_to_ids("<end_of_image>"),
    )
    image_processor = t.Gemma3ImageProcessor(size={"height": SIDE, "width": SIDE})
    processor = t.Gemma3Processor(
        image_processor=image_processor, tokenizer=tokenizer, chat_template=GEMMA3_TEMPLATE, image_seq_length=4
    )
    # Gemma scales its embeddings by sqrt(hidden): at 0.2 every photo's caption saturates to the same words.
    return _save(target, t.Gemma3ForConditionalGeneration(config), processor, widen=0.1)


LLAVA_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] | upper }}: {% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>\n{% else %}{{ part['text'] }}{% endif %}{% endfor %} {% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)


def build_llava(target: Path) -> Path:
    import transformers as t

    tokenizer = word_tokenizer(("<image>",), {"image_token": "<image>"})
    vision = dict(TINY_VISION, num_hidden_layers=2)  # LLaVA reads the second-to-last layer
    config = t.LlavaConfig(
        vision_config=t.CLIPVisionConfig(**vision), text_config=_llama(tokenizer), image_token_index=tokenizer.image_token_id
    )
    image_processor = t.CLIPImageProcessor(size={"shortest_edge": SIDE}, crop_size={"height": SIDE, "width": SIDE})
    processor = t.LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=8,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=LLAVA_TEMPLATE,
    )
    return _save(target, t.LlavaForConditionalGeneration(config), processor)


def build_paligemma(target: Path) -> Path:
    import transformers as t

    tokenizer = word_tokenizer(("<image>",), {"image_token": "<image>"})
    text = dict(
        model_type="gemma",
        vocab_size=len(tokenizer),
        num_key_value_heads=1,
        head_dim=16,
        max_position_embeddings=512,
        **TINY_TEXT,
        **_ids(tokenizer),
    )
    config = t.PaliGemmaConfig(
        vision_config=dict(TINY_VISION, projection_dim=32),
        text_config=text,
        image_token_index=tokenizer.image_token_id,
        projection_dim=32,
        hidden_size=32,
    )
    image_processor = t.SiglipImageProcessor(size={"height": SIDE, "width": SIDE}, image_seq_length=16)
    return _save(
        target,
        t.PaliGemmaForConditionalGeneration(config),
        t.PaliGemmaProcessor(image_processor=image_processor, tokenizer=tokenizer),
    )


def build_blip2(target: Path) -> Path:
    import transformers as t

    # Blip2Processor adds its own <image> token object; a tokenizer naming one already would clash.
    tokenizer = word_tokenizer(("<image>",))
    text = dict(
        model_type="opt",
        vocab_size=len(tokenizer),
        hidden_size=32,
        ffn_dim=37,
        num_hidden_layers=1,
        num_attention_heads=2,
        word_embed_proj_dim=32,
        max_position_embeddings=128,
        **_ids(tokenizer),
    )
    qformer = dict(
        hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37, encoder_hidden_size=32, vocab_size=64
    )
    config = t.Blip2Config(
        vision_config=TINY_VISION,
        qformer_config=qformer,
        text_config=text,
        num_query_tokens=4,
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
    )
    image_processor = t.BlipImageProcessor(size={"height": SIDE, "width": SIDE})
    processor = t.Blip2Processor(image_processor=image_processor, tokenizer=tokenizer, num_query_tokens=4)
    return _save(target, t.Blip2ForConditionalGeneration(config), processor)


def build_qwen25_vl_parts(target: Path) -> Path:
    """A tiny Qwen2.5-VL model, tokenizer and image processor, and the processor_config naming its processor,
    which cannot be built here: it holds a video processor, and that needs torchvision."""
    import json

    import transformers as t

    names = ("<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>")
    tokenizer = word_tokenizer(names)
    ids = dict(
        zip(
            ("image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id"),
            map(tokenizer.convert_tokens_to_ids, names),
        )
    )
    vision = dict(
        depth=1,
        hidden_size=16,
        intermediate_size=32,
        num_heads=2,
        out_hidden_size=32,
        patch_size=4,
        window_size=16,
        fullatt_block_indexes=[0],
    )
    text = dict(
        vocab_size=len(tokenizer),
        num_key_value_heads=1,
        max_position_embeddings=512,
        rope_scaling={"type": "mrope", "mrope_section": [2, 1, 1]},
        **TINY_TEXT,
    )
    t.Qwen2_5_VLForConditionalGeneration(t.Qwen2_5_VLConfig(vision_config=vision, text_config=text, **ids)).save_pretrained(
        target
    )
    tokenizer.save_pretrained(target)
    t.Qwen2VLImageProcessor(patch_size=4, merge_size=2, min_pixels=256, max_pixels=1024).save_pretrained(target)
    (target / "processor_config.json").write_text(json.dumps({"processor_class": "Qwen2_5_VLProcessor"}))
    return target


BUILDERS: dict[str, Callable[[Path], Path]] = {
    "blip": build_blip,
    "git": build_git,
    "florence-2": build_florence2,
    "smolvlm": build_idefics3,
    "gemma-3": build_gemma3,
    "llava": build_llava,
    "paligemma": build_paligemma,
    "blip-2": build_blip2,
}
