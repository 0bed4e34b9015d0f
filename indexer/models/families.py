"""Caption model families: how each is prompted and decoded, and what the model guide (docs/models.md) says of it.

One row per family, picked by the checkpoint's `config.model_type`; the captioner has no per-model branches
beyond the `prompting` and `echoes_prompt` columns read here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from db.errors import ModelLoadError

# What a vision-language model is asked when no --prompt is given: search wants the subjects, the action and
# the place, in a sentence or two that a keyword index and a sentence embedder can both use.
CHAT_PROMPT = "Describe this photo in one or two sentences: the main subjects, what they are doing, the place."

Prompting = Literal["none", "prefix", "task", "chat"]


@dataclass(frozen=True)
class Family:
    name: str
    model_types: tuple[str, ...]
    # none: pixels only; prefix: the prompt starts the caption (BLIP, GIT, PaliGemma) and is cut from it;
    # task: Florence-2's task token; chat: the processor's chat template with an image and the prompt.
    prompting: Prompting
    default_prompt: str | None
    max_new_tokens: int
    num_beams: int = 1
    # vit-gpt2 repeats phrases ("a woman in a hospital bed with a woman in a hospital bed"); a repeated
    # 3-gram is blocked at generation. Left off for paragraph writers, where "in the" recurs by right.
    no_repeat_ngram_size: int = 0
    # Decoder-only models return the prompt's tokens before the answer: they are cut off by length, and the
    # batch is padded on the left so every answer starts at the same column.
    echoes_prompt: bool = False
    half: Literal["float16", "bfloat16"] = "float16"  # on CUDA; CPU runs float32
    # Given to the processor with each batch. SmolVLM tiles a photo into up to 4x4 crops of 512 px plus the
    # whole (13 x 64 image tokens for a 4:3 photo); a caption for search needs the whole only.
    image_options: tuple[tuple[str, object], ...] = ()
    # The shorter side photos are decoded to for this family, where its processor's own settings would ask for
    # too much: Qwen-VL's are pixel counts (up to 12.8 MP, thousands of image tokens a photo), SmolVLM's a
    # longest edge for its tiles. None: read from the image processor.
    input_side: int | None = None
    # The speed a CPU run takes when none is asked for: the fastest measured to keep >= 95% of the captions of
    # float32 beam search (bench/cpu_speed.py, docs/models.md "Speed on a CPU"); exact until measured.
    cpu_speed: str = "exact"
    # The model guide (docs/models.md and `captionary models`).
    checkpoint: str = ""
    size: str = ""
    license: str = ""
    good_for: str = ""
    tested: str = ""  # how the offline suite covers it, or why it does not

    @property
    def takes_prompt(self) -> bool:
        return self.prompting != "none"


FAMILIES: tuple[Family, ...] = (
    Family(
        "vit-gpt2",
        ("vision-encoder-decoder",),
        "none",
        None,
        max_new_tokens=16,
        num_beams=4,
        no_repeat_ngram_size=3,
        cpu_speed="int8",
        checkpoint="nlpconnect/vit-gpt2-image-captioning",
        size="239M",
        license="Apache-2.0",
        good_for="the default: short COCO-style captions, fast on a CPU",
        tested="yes, tiny ViT+GPT-2",
    ),
    Family(
        "blip",
        ("blip",),
        "prefix",
        None,
        max_new_tokens=30,
        num_beams=3,
        checkpoint="Salesforce/blip-image-captioning-large",
        size="470M",
        license="BSD-3-Clause",
        good_for="one-line captions with higher published COCO scores than the default, at 5x its time on a CPU",
        tested="yes, tiny BLIP",
    ),
    Family(
        "git",
        ("git",),
        "prefix",
        None,
        max_new_tokens=30,
        num_beams=1,
        echoes_prompt=True,
        checkpoint="microsoft/git-large-coco",
        size="394M",
        license="MIT",
        good_for="one-line captions at under twice the default's time",
        tested="yes, tiny GIT",
    ),
    Family(
        "florence-2",
        ("florence2",),
        "task",
        "<MORE_DETAILED_CAPTION>",
        max_new_tokens=128,
        num_beams=3,
        checkpoint="florence-community/Florence-2-base",
        size="232M",
        license="MIT",
        good_for="a detailed paragraph from a small model; Florence-2-large (771M) for more accuracy",
        tested="yes, tiny Florence-2",
    ),
    Family(
        "smolvlm",
        ("idefics3", "smolvlm"),
        "chat",
        CHAT_PROMPT,
        max_new_tokens=80,
        echoes_prompt=True,
        half="bfloat16",
        image_options=(("do_image_splitting", False),),
        input_side=512,
        checkpoint="HuggingFaceTB/SmolVLM-256M-Instruct",
        size="256M",
        license="Apache-2.0",
        good_for="the smallest chat model: follows --prompt, two sentences per photo",
        tested="yes, tiny Idefics3 with a chat template",
    ),
    Family(
        "gemma-3",
        ("gemma3",),
        "chat",
        CHAT_PROMPT,
        max_new_tokens=80,
        echoes_prompt=True,
        half="bfloat16",
        checkpoint="google/gemma-3-4b-it",
        size="4.3B",
        license="Gemma terms (gated)",
        good_for="rich descriptions on a GPU with 12 GB or more",
        tested="yes, tiny Gemma 3 with a chat template",
    ),
    Family(
        "llava",
        ("llava",),
        "chat",
        CHAT_PROMPT,
        max_new_tokens=80,
        echoes_prompt=True,
        checkpoint="llava-hf/llava-1.5-7b-hf",
        size="7.1B",
        license="Llama 2 community",
        good_for="a well-known baseline; GPU only",
        tested="yes, tiny LLaVA with a chat template",
    ),
    Family(
        "paligemma",
        ("paligemma",),
        "prefix",
        "caption en",
        max_new_tokens=40,
        echoes_prompt=True,
        half="bfloat16",
        checkpoint="google/paligemma2-3b-pt-224",
        size="3.0B",
        license="Gemma terms (gated)",
        good_for="captions in many languages ('caption de', 'caption fr')",
        tested="yes, tiny PaliGemma",
    ),
    Family(
        "blip-2",
        ("blip-2",),
        "prefix",
        None,
        max_new_tokens=30,
        echoes_prompt=True,
        checkpoint="Salesforce/blip2-opt-2.7b",
        size="3.9B",
        license="MIT",
        good_for="zero-shot captions with an OPT language model; GPU only",
        tested="yes, tiny BLIP-2",
    ),
    Family(
        "qwen-vl",
        ("qwen2_vl", "qwen2_5_vl", "qwen3_vl"),
        "chat",
        CHAT_PROMPT,
        max_new_tokens=80,
        echoes_prompt=True,
        half="bfloat16",
        input_side=768,
        checkpoint="Qwen/Qwen3-VL-2B-Instruct",
        size="2.1B",
        license="Apache-2.0",
        good_for="the strongest small chat models (Qwen2.5-VL-3B/7B too); needs torchvision",
        tested="no: its processor needs torchvision, which has no CPU build here",
    ),
)


BY_MODEL_TYPE = {model_type: family for family in FAMILIES for model_type in family.model_types}


def family_of(model_type: str, has_chat_template: bool = False) -> Family:
    """The family of a checkpoint's config; an unlisted image-text-to-text model with a chat template is
    prompted like the chat families, one without as a prefix model."""
    if model_type in BY_MODEL_TYPE:
        return BY_MODEL_TYPE[model_type]
    if has_chat_template:
        return Family(model_type, (model_type,), "chat", CHAT_PROMPT, max_new_tokens=80, echoes_prompt=True)
    return Family(model_type, (model_type,), "prefix", None, max_new_tokens=30, echoes_prompt=True)


def cached_caption_models() -> dict[str, str]:
    """Hub models in the local Hugging Face cache that a family can caption with: id -> family name."""
    try:
        from huggingface_hub import scan_cache_dir

        repos = scan_cache_dir().repos
    except Exception:  # no cache folder yet, or one the hub library cannot read: nothing cached
        return {}
    found: dict[str, str] = {}
    for repo in repos:
        if repo.repo_type != "model":
            continue
        for revision in repo.revisions:
            config = next((file.file_path for file in revision.files if file.file_name == "config.json"), None)
            family = BY_MODEL_TYPE.get(_model_type(config) or "") if config else None
            if family is not None:
                found[repo.repo_id] = family.name
    return found


# exact: the family's own decoding in float32 (float16 on CUDA); fast: greedy decoding; int8: greedy decoding with
# the linear layers in int8, each photo rounded on its own scale (indexer/models/int8.py), on a CPU only.
SPEEDS = ("exact", "fast", "int8")


def family_on_disk(model_id: str) -> Family | None:
    """The family of a model before it loads: from its config.json in its folder or the Hub cache (never the
    network), or from the model guide's checkpoint ids (the default model's family is known before its first
    download); None when neither says."""
    family = BY_MODEL_TYPE.get(_model_type(_config_on_disk(model_id)) or "")
    return family or next((family for family in FAMILIES if family.checkpoint == model_id), None)


def speed_for(family: Family | None, device: str) -> str:
    """The default speed: on a CPU the family's measured cpu_speed (fast where int8 has no kernels), else exact."""
    speed = family.cpu_speed if device == "cpu" and family is not None else "exact"
    if speed == "int8":
        from indexer.models.int8 import kernels_here

        return speed if kernels_here() else "fast"
    return speed


def check_speed(speed: str, device: str) -> None:
    """A speed this device cannot run fails before any photo, in one line."""
    if speed != "int8":
        return
    if device != "cpu":
        raise ModelLoadError(f"--speed int8 runs on a CPU only; on {device} pass --speed fast (or --device cpu)")
    from indexer.models.int8 import kernels_here

    if not kernels_here():
        raise ModelLoadError("--speed int8: this torch has no x86 int8 kernels for this CPU; pass --speed fast")


def default_speed(model_id: str, device: str) -> str:
    """speed_for a model that has not loaded yet (a run's caption source is known before its model loads)."""
    return speed_for(family_on_disk(model_id), device)


def refuse_unwanted_prompt(model_id: str, prompt: str | None) -> None:
    """--prompt for a model that takes none, refused before a run: the run loads its model only once a photo
    needs a caption, and a flag that means nothing must not pass unnoticed until then. The family comes from the
    checkpoint's config.json, in its folder or the Hub cache (never the network); a model not on this machine
    is checked when it loads."""
    if prompt is None:
        return
    family = BY_MODEL_TYPE.get(_model_type(_config_on_disk(model_id)) or "")
    if family is not None:
        CaptionSettings(model_id, prompt).effective(family)


def _config_on_disk(model_id: str) -> Path | None:
    folder = Path(model_id).expanduser()
    if folder.is_dir():
        return folder / "config.json"
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(model_id, "config.json")
    except Exception:  # not a valid repo id: not in the cache either
        return None
    return Path(found) if isinstance(found, str) else None


def _model_type(config_path) -> str | None:
    try:
        value = json.loads(config_path.read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class CaptionSettings:
    """What a caption depends on besides the pixels: the model, its prompt and its length budget."""

    model_id: str
    prompt: str | None = None  # None: the family's default
    max_new_tokens: int | None = None  # None: the family's default
    speed: str = "exact"  # SPEEDS

    def effective(self, family: Family) -> tuple[str | None, int]:
        if self.prompt is not None and not family.takes_prompt:
            raise ModelLoadError(
                f"--prompt: '{self.model_id}' ({family.name}) captions from the pixels alone and takes no prompt; "
                "drop --prompt, or pick a model that takes one (captionary models)"
            )
        prompt = self.prompt if self.prompt is not None else family.default_prompt
        return prompt, self.max_new_tokens or family.max_new_tokens

    @property
    def key(self) -> str:
        """What the library records as a caption's source. The model id alone when neither --prompt nor
        --max-new-tokens was given and the speed is exact (what libraries from before them hold); with the
        settings appended otherwise, so `index --recaption` redoes captions written with other settings and `stats` tells
        them apart."""
        settings = (
            ("prompt", self.prompt),
            ("max_new_tokens", self.max_new_tokens),
            ("speed", self.speed != "exact" and self.speed),
        )
        extra = {name: value for name, value in settings if value}
        if not extra:
            return self.model_id
        return f"{self.model_id}{KEY_SEPARATOR}{json.dumps(extra, ensure_ascii=False, sort_keys=True)}"

    @classmethod
    def from_key(cls, key: str) -> CaptionSettings:
        model_id, _, extra = key.partition(KEY_SEPARATOR)
        try:
            values = json.loads(extra) if extra else {}
        except ValueError:  # a key written by hand or by a later version: the model alone
            values = {}
        if not isinstance(values, dict):
            values = {}
        speed = values.get("speed")
        return cls(model_id, values.get("prompt"), values.get("max_new_tokens"), speed if speed in SPEEDS else "exact")


KEY_SEPARATOR = " | "
