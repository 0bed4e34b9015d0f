"""ImageEmbedder: photos and texts -> vectors in one space, with a CLIP-family dual encoder (CLIP, SigLIP,
SigLIP 2) loaded through transformers' Auto classes. Search by pixels, "more like this" and near-duplicates
all use these vectors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from db.errors import ModelLoadError
from indexer.imaging import for_model
from indexer.models.loading import _input_side, _quiet_libraries, cpu_turn, model_location, pick_device
from indexer.pixels import ModelInputs, spec_of, to_tensor
from indexer.settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

# SigLIP was trained on texts padded to a fixed length and its text tower expects them so; CLIP pads to the
# longest text of the batch and pools at the end-of-text token.
PAD_TO_MAX_LENGTH = ("siglip", "siglip2")


def _features(output) -> object:
    """transformers 5 returns an output object whose pooler_output is the projected vector; 4.x a tensor."""
    return getattr(output, "pooler_output", output)


def _unit(vectors) -> np.ndarray:
    array = vectors.float().cpu().numpy()
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return (array / np.maximum(norms, 1e-12)).astype(np.float32)


class ImageEmbedder:
    """One dual encoder: `embed_images` for photos, `embed_texts` for queries; unit-length float32 rows."""

    def __init__(self, model_id: str, device: str = "auto", threads: int | None = None, settings: Settings | None = None) -> None:
        self.model_id = model_id
        # Where from, before torch is imported: a search whose library embedder is not on this machine falls
        # back to words and captions in milliseconds instead of paying for torch first.
        location, local_only = _location(model_id, settings or Settings.resolve())
        _quiet_libraries()
        import torch

        if threads:
            torch.set_num_threads(threads)
        self.device = pick_device(device)
        self.dtype = torch.float16 if self.device == "cuda" else torch.float32
        self.processor = _processor(model_id, (location, local_only))
        try:
            from transformers import AutoModel

            model = AutoModel.from_pretrained(location, local_files_only=local_only, use_safetensors=True)
        except (OSError, ValueError, KeyError, TypeError, ImportError) as error:
            raise _load_error(model_id, error) from None
        if not hasattr(model, "get_image_features") or not hasattr(model, "get_text_features"):
            raise ModelLoadError(
                f"Cannot use '{model_id}' as an image embedder: it is not a dual encoder such as CLIP or SigLIP "
                "(pass --image-embedder openai/clip-vit-base-patch32, a folder, or none)"
            )
        self.model = model.to(self.device, dtype=self.dtype).eval()
        self.model_type = str(getattr(model.config, "model_type", ""))
        # The text tower's window: CLIP 77 tokens, SigLIP 64; longer queries are cut there.
        self.text_length = int(getattr(getattr(model.config, "text_config", None), "max_position_embeddings", 64))
        inputs = _inputs(model_id, self.processor)
        self.input_side, self.pixel_spec = inputs.input_side, inputs.pixel_spec

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:

        if not images:
            return np.zeros((0, 0), dtype=np.float32)
        pictures = [for_model(image, self.input_side) for image in images]
        inputs = self.processor(images=pictures, return_tensors="pt")
        return self._image_vectors(inputs["pixel_values"].to(self.device, dtype=self.dtype))

    def embed_pixels(self, pixels: Sequence[np.ndarray]) -> np.ndarray:
        """Photos already fitted to pixel_spec (uint8 arrays), as one tensor normalised on the device."""

        if not pixels:
            return np.zeros((0, 0), dtype=np.float32)
        assert self.pixel_spec is not None
        return self._image_vectors(to_tensor(pixels, self.pixel_spec, self.device, self.dtype))

    def _image_vectors(self, values) -> np.ndarray:
        import torch

        with torch.inference_mode(), cpu_turn(self.device):
            return _unit(_features(self.model.get_image_features(pixel_values=values)))

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        if self.model_type in PAD_TO_MAX_LENGTH:
            padding: dict = {"padding": "max_length", "max_length": self.text_length}
        else:
            padding = {"padding": True, "max_length": self.text_length}
        inputs = self.processor(text=list(texts), truncation=True, return_tensors="pt", **padding)
        inputs = {key: value.to(self.device) for key, value in inputs.items() if key in ("input_ids", "attention_mask")}
        with torch.inference_mode():
            return _unit(_features(self.model.get_text_features(**inputs)))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Queries, as the store's EmbedderLike asks."""
        return self.embed_texts(texts)


def image_inputs(model_id: str, settings: Settings) -> ModelInputs:
    """What a run's plan needs of an image embedder, read from its processor without loading its weights."""
    _quiet_libraries()
    return _inputs(model_id, _processor(model_id, _location(model_id, settings)))


def _location(model_id: str, settings: Settings) -> tuple[str, bool]:
    return model_location(model_id, settings, "--image-embedder", "CAPTIONARY_IMAGE_EMBEDDER")


def _processor(model_id: str, location: tuple[str, bool]) -> Any:
    try:
        from transformers import AutoProcessor

        return AutoProcessor.from_pretrained(location[0], local_files_only=location[1])
    except (OSError, ValueError, KeyError, TypeError, ImportError) as error:
        raise _load_error(model_id, error) from None


def _inputs(model_id: str, processor: Any) -> ModelInputs:
    image_processor = getattr(processor, "image_processor", processor)
    # CLIP's and SigLIP's processors are plain: the reader processes fit the photos (indexer/pixels.py).
    return ModelInputs(model_id, _input_side(image_processor), spec_of(image_processor))


def _load_error(model_id: str, error: Exception) -> ModelLoadError:
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return ModelLoadError(f"Cannot load image embedder '{model_id}' ({reason})")
