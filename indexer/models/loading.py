"""Where models come from (a folder, the Hub cache, the Hub) and which device runs them."""

from __future__ import annotations

import logging
import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from db.errors import ModelLoadError
from indexer.settings import DEFAULT_IMAGE_EMBEDDER, DEFAULT_MODEL, Settings

KNOWN_SIZES = {DEFAULT_MODEL: "about 1 GB", DEFAULT_IMAGE_EMBEDDER: "about 600 MB"}
HUB_PROBE_SECONDS = 3


# A checkpoint's weights, as transformers looks for them (one file, or the index of its shards).
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")


def hub_cached(model_id: str) -> bool:
    """Whether a Hub model's files are already in the local Hugging Face cache (no network needed): its config
    and its weights, for a config and processor alone are cached by a run that only read them (a Ray driver)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        def cached(name: str) -> bool:
            return isinstance(try_to_load_from_cache(model_id, name), str)

        return cached("config.json") and any(cached(name) for name in WEIGHT_FILES)
    except Exception:  # an id that is not a valid repo name is simply not cached
        return False


def loading_note(model_id: str) -> str:
    """What loading this model will involve, for the line printed before it loads."""
    if _looks_like_path(model_id) or hub_cached(model_id):
        return ""
    size = KNOWN_SIZES.get(model_id, "its size depends on the model")
    return f" (first use downloads it from the Hugging Face Hub: {size})"


def _hub_unreachable(settings: Settings) -> str | None:
    """Why the Hub cannot be reached, found in seconds, not after the Hub client's retries (27 s)."""
    import socket
    from urllib.parse import urlsplit

    if settings.hub_offline:
        return "HF_HUB_OFFLINE is set"
    endpoint = urlsplit(settings.hub_endpoint)
    host = endpoint.hostname or "huggingface.co"
    # a mirror (HF_ENDPOINT) may name its own port, or serve plain http
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=HUB_PROBE_SECONDS).close()
    except OSError as error:
        return f"{host} is not reachable: {error.strerror or error}"
    return None


def model_location(
    model_id: str,
    settings: Settings,
    flag: str = "--model",
    variable: str = "CAPTIONARY_MODEL",
) -> tuple[str, bool]:
    """Where to load a model from and whether only local files may be used (a folder, or a Hub model in the
    cache); a Hub model that cannot be downloaded fails here, in seconds, with the way out."""
    if _looks_like_path(model_id) and not os.path.isdir(os.path.expanduser(model_id)):
        raise ModelLoadError(
            f"Cannot load model '{model_id}': no such folder; pass {flag} with the folder "
            "of a saved model, or a Hugging Face model id"
        )
    if os.path.isdir(os.path.expanduser(model_id)):
        return os.path.expanduser(model_id), False
    if hub_cached(model_id):
        return model_id, True  # cached: no network round trip, and it works offline
    reason = _hub_unreachable(settings)
    if reason:
        raise ModelLoadError(
            f"Cannot download model '{model_id}': {reason}. Fix it with one of: {flag} PATH (a folder "
            f"saved with save_pretrained, see docs/models.md), {variable}=PATH, or a run with network access "
            "so the model is downloaded and cached",
            reason=f"cannot download {model_id} ({reason})",
        )
    return model_id, False


def local_folder(model_id: str) -> str | None:
    """The folder holding a model's files on this machine (a path, or the Hub cache's snapshot), else None."""
    if os.path.isdir(os.path.expanduser(model_id)):
        return os.path.expanduser(model_id)
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(model_id, local_files_only=True)
    except Exception:  # not cached, or not a valid repo id: callers fall back to loading it the usual way
        return None


def _looks_like_path(model_id: str) -> bool:
    # Hub ids look like "org/name"; anything starting like a file-system path is one.
    return model_id.startswith((".", "/", "~")) or os.path.exists(model_id)


def _quiet_libraries() -> None:
    """Keep Hugging Face's progress bars, retries and fallbacks out of captionary's one-line output."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="transformers")
    try:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    except ImportError:  # pragma: no cover
        pass


def pick_device(requested: str = "auto") -> str:
    import torch

    if requested != "auto":
        if requested == "cuda" and not torch.cuda.is_available():
            raise ModelLoadError("--device cuda was asked for but no CUDA GPU is available; use --device auto")
        if requested == "mps" and not torch.backends.mps.is_available():
            raise ModelLoadError("--device mps was asked for but MPS is not available; use --device auto")
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def _input_side(image_processor) -> int:
    """The smallest side a photo must keep for the processor (224 for ViT-GPT2)."""
    sides: list[int] = []
    for attribute in ("size", "crop_size"):
        value = getattr(image_processor, attribute, None)
        if value is None:
            continue
        items = value.items() if hasattr(value, "items") else [("side", value)]
        if not hasattr(value, "items") and hasattr(value, "__dict__"):
            items = vars(value).items()
        for key, number in items:
            if isinstance(number, int) and key in ("height", "width", "shortest_edge", "side"):
                sides.append(number)
    return max(sides) if sides else 384


# One torch computation at a time on a CPU: the model thread's `generate` and the writer thread's caption
# embedding each start a team of torch threads, and two teams on the same cores spin against each other
# (docs/performance.md: the pipeline with and without caption embeddings, measured by bench/throughput.py).
_CPU_TURN = threading.RLock()


@contextmanager
def cpu_turn(device: str) -> Iterator[None]:
    """Hold the CPU's compute turn for a model call on `device` ("auto" may be the CPU; a no-op on a GPU)."""
    if device.startswith(("cuda", "mps")):
        yield
        return
    with _CPU_TURN:
        yield
