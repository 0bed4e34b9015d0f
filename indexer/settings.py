"""One home for what flags and environment variables configure. Each front end resolves a Settings once
(a flag beats its variable, which beats the default) and passes it down; no other module reads os.environ."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from db.schema import data_dir_path

DEFAULT_MODEL = "nlpconnect/vit-gpt2-image-captioning"
DEFAULT_EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"
# What Immich ships by default: 151M parameters, 512-d vectors; docs/search.md "Search by pixels" lists stronger ones.
DEFAULT_IMAGE_EMBEDDER = "openai/clip-vit-base-patch32"
NO_IMAGE_EMBEDDER = "none"
DEFAULT_HUB = "https://huggingface.co"
# Images per model call. CPU: 16 amortises the decoder's weights over more photos than 8 (greedy decoding reads
# them all at every token). CUDA: 64 on a card with little free memory, more on a large one, where the H200
# captioned 417 photos/s at 128 and 621 at 256 (docs/performance.md); a batch that does not fit is split anyway
# (Captioner.caption).
DEFAULT_BATCH_SIZE = {"cuda": 64, "mps": 16, "cpu": 16}
CUDA_BATCH_BY_FREE_GB = ((40, 256), (20, 128))
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def batch_size_for(device: str, asked: int | None = None, free_bytes: int | None = None) -> int:
    """The batch asked for, else the device's default; on CUDA, larger when the card has the memory free."""
    if asked:
        return asked
    if device == "cuda" and free_bytes is not None:
        for gigabytes, size in CUDA_BATCH_BY_FREE_GB:
            if free_bytes >= gigabytes << 30:
                return size
    return DEFAULT_BATCH_SIZE.get(device, DEFAULT_BATCH_SIZE["cpu"])


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    model: str
    embedder: str
    model_named: bool = False  # the model came from --model or $CAPTIONARY_MODEL, not the default
    image_embedder: str | None = DEFAULT_IMAGE_EMBEDDER  # None: no image embeddings ("none")
    image_embedder_named: bool = False  # named by flag or variable: failing to load it is an error
    debug: bool = False  # $CAPTIONARY_DEBUG: tracebacks instead of one-line errors
    hub_offline: bool = False  # $HF_HUB_OFFLINE: never try the Hugging Face Hub
    hub_endpoint: str = DEFAULT_HUB  # $HF_ENDPOINT: a Hub mirror

    @classmethod
    def resolve(
        cls,
        data_dir: Path | str | None = None,
        model: str | None = None,
        embedder: str | None = None,
        image_embedder: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        env = os.environ if environ is None else environ
        named_model = _local(model or env.get("CAPTIONARY_MODEL"))
        chosen_dir = data_dir or env.get("CAPTIONARY_DATA_DIR")
        named_image = _local(image_embedder or env.get("CAPTIONARY_IMAGE_EMBEDDER"))
        chosen_image = named_image or DEFAULT_IMAGE_EMBEDDER
        return cls(
            data_dir=data_dir_path(chosen_dir),
            model=named_model or DEFAULT_MODEL,
            embedder=_local(embedder or env.get("CAPTIONARY_EMBEDDER")) or DEFAULT_EMBEDDER,
            model_named=named_model is not None,
            image_embedder=None if chosen_image.lower() == NO_IMAGE_EMBEDDER else chosen_image,
            image_embedder_named=named_image is not None,
            debug=env.get("CAPTIONARY_DEBUG", "").lower() not in ("", *_FALSE),
            hub_offline=env.get("HF_HUB_OFFLINE", "").lower() in _TRUE,
            hub_endpoint=env.get("HF_ENDPOINT") or DEFAULT_HUB,
        )


def _local(name: str | None) -> str | None:
    """A model folder written as a path (`./mine`, `../models/mine`, `~/mine`, `/models/mine`, `a/b/c`) as an
    absolute path; a name that could be a Hub id (`gpt2`, `org/name`, `none`) as given, even where a folder of that
    name is in the working directory. The library records a caption's model by this name, so `./models/mine` typed
    in two working directories must not read as two models."""
    if not name:
        return None
    if _HUB_ID.fullmatch(name):
        return name
    folder = Path(name).expanduser()
    return str(folder.resolve()) if folder.is_dir() else name


_HUB_ID = re.compile(r"[\w-][\w.-]*(?:/[\w-][\w.-]*)?")  # "gpt2", "nlpconnect/vit-gpt2-image-captioning"
