"""A model's input made in a reader process and finished as one tensor per batch.

A Hugging Face image processor resizes, crops, rescales and normalises one PIL image at a time in Python, in
the model's interpreter. When a processor does only those steps (ViT, CLIP, SigLIP, BLIP: the plain PIL
backend pipeline), the resize and crop run in the reader process (PIL, the same filter, the same sizes), the
photo travels as uint8 at the model's exact size (150 KB at 224 px), and the rescale and normalisation run
once per batch on the model's device. tests/test_pixels_spec.py checks the result against the processor's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image


@dataclass(frozen=True)
class PixelSpec:
    """What a plain processor does to a photo; picklable, so a reader process can apply the geometric part."""

    height: int
    width: int
    shortest_edge: int | None  # resize keeping the aspect so the shorter side is this, then crop height x width
    resample: int  # PIL's filter number
    rescale: float | None
    mean: tuple[float, ...] | None
    std: tuple[float, ...] | None

    @property
    def side(self) -> int:
        """The model's input side, as indexer/models/loading.py _input_side reads it from the processor."""
        return max(self.height, self.width, self.shortest_edge or 0)


@dataclass(frozen=True)
class ModelInputs:
    """What an index run's plan needs of a model: the side a photo is decoded to for it, and its PixelSpec when
    its processor is plain (None: it takes PIL images)."""

    model_id: str
    input_side: int
    pixel_spec: PixelSpec | None


# The processor backends whose pipeline is resize -> centre crop -> rescale -> normalise and nothing else
# (transformers 5.2x), and before those backends the processor classes that did only that themselves.
_PLAIN_BACKENDS = ("PilBackend", "TorchvisionBackend")
_PLAIN_CLASSES = frozenset(
    f"{family}ImageProcessor{kind}" for family in ("ViT", "CLIP", "Siglip", "Blip") for kind in ("", "Fast", "Pil")
)


def spec_of(processor: Any) -> PixelSpec | None:
    """The processor's steps as a PixelSpec, or None when it does anything else (padding, tiling, its own
    preprocessing code): those photos go through the processor itself."""
    if processor is None or not _is_plain(processor):
        return None
    if not getattr(processor, "do_resize", False) or getattr(processor, "do_pad", False):
        return None
    size = _sizes(getattr(processor, "size", None))
    crop = _sizes(getattr(processor, "crop_size", None)) if getattr(processor, "do_center_crop", False) else {}
    if set(size) == {"height", "width"} and not crop:
        height, width, shortest = size["height"], size["width"], None
    elif set(size) == {"shortest_edge"} and set(crop) == {"height", "width"}:
        height, width, shortest = crop["height"], crop["width"], size["shortest_edge"]
        if height > shortest or width > shortest:
            return None  # the processor would pad the crop
    else:
        return None
    resample = _pil_filter(getattr(processor, "resample", None))
    rescale = float(processor.rescale_factor) if getattr(processor, "do_rescale", False) else None
    normalise = getattr(processor, "do_normalize", False)
    return PixelSpec(
        height=int(height),
        width=int(width),
        shortest_edge=int(shortest) if shortest else None,
        resample=resample,
        rescale=rescale,
        mean=_triple(processor.image_mean) if normalise else None,
        std=_triple(processor.image_std) if normalise else None,
    )


def _is_plain(processor: Any) -> bool:
    # A subclass that overrides the pipeline (tiling, padding to a multiple) is not plain, whatever its attributes.
    for base in type(processor).__mro__:
        if base.__name__ in _PLAIN_BACKENDS:
            return all(
                getattr(type(processor), name, None) is getattr(base, name, None) for name in ("_preprocess", "preprocess")
            )
    return type(processor).__name__ in _PLAIN_CLASSES


_FILTERS = {"NEAREST": 0, "LANCZOS": 1, "BILINEAR": 2, "BICUBIC": 3, "BOX": 4, "HAMMING": 5}


def _pil_filter(resample: Any) -> int:
    """PIL's filter number for a PIL enum, an int, or torchvision's InterpolationMode (same names)."""
    if resample is None:
        return 2  # the backends' default: bilinear
    if isinstance(resample, int):
        return int(resample)
    return _FILTERS.get(str(getattr(resample, "name", resample)).upper(), 2)


def _sizes(value: Any) -> dict[str, int]:
    if value is None:
        return {}
    items = value.items() if hasattr(value, "items") else vars(value).items()
    return {key: int(number) for key, number in items if isinstance(number, int) and number}


def _triple(value: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in value) if isinstance(value, (list, tuple)) else (float(value),) * 3


def fit(image: Image.Image, spec: PixelSpec) -> np.ndarray:
    """The processor's resize (and crop) of an RGB photo, as uint8 height x width x 3."""
    if spec.shortest_edge is None:
        resized = image.resize((spec.width, spec.height), spec.resample)
        return np.asarray(resized, dtype=np.uint8)
    width, height = image.size
    short, long = (width, height) if width <= height else (height, width)
    new_long = int(spec.shortest_edge * long / short)
    size = (spec.shortest_edge, new_long) if width <= height else (new_long, spec.shortest_edge)
    array = np.asarray(image.resize(size, spec.resample), dtype=np.uint8)
    top = (array.shape[0] - spec.height) // 2
    left = (array.shape[1] - spec.width) // 2
    return np.ascontiguousarray(array[top : top + spec.height, left : left + spec.width])


def to_tensor(pixels: Sequence[np.ndarray], spec: PixelSpec, device: str, dtype: Any) -> Any:
    """A batch of fitted photos as the model's pixel_values: rescaled and normalised on the device."""
    import torch

    batch = torch.from_numpy(np.stack(pixels))
    if device == "cuda":
        batch = batch.pin_memory()  # the copy then runs without holding the host thread
    values = batch.to(device, non_blocking=True).permute(0, 3, 1, 2).to(torch.float32)
    if spec.rescale is not None:
        values = values * spec.rescale
    if spec.mean is not None and spec.std is not None:
        mean = torch.tensor(spec.mean, device=device, dtype=torch.float32).view(1, -1, 1, 1)
        std = torch.tensor(spec.std, device=device, dtype=torch.float32).view(1, -1, 1, 1)
        values = (values - mean) / std
    return values.to(dtype).contiguous()
