"""Captioner: images -> captions with any Hugging Face image-to-text family (indexer/models/families.py says how
each is prompted and decoded), in batches, on the GPU when there is one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from db.errors import ModelLoadError
from indexer.imaging import for_model
from indexer.models.caption_text import clean_caption
from indexer.models.families import CaptionSettings, Family, check_speed, family_of, speed_for
from indexer.models.loading import _input_side, _quiet_libraries, cpu_turn, model_location, pick_device
from indexer.pixels import ModelInputs, PixelSpec, spec_of, to_tensor
from indexer.settings import DEFAULT_MODEL, Settings

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image


class CaptionModel(Protocol):
    """What the pipeline needs from a captioner; tests swap in a fake."""

    model_id: str
    input_side: int

    def caption(self, images: Sequence[Image.Image]) -> list[str]: ...


class Captioner:
    """Loads a captioning model through `from_pretrained` (VisionEncoderDecoder, or any model
    AutoModelForImageTextToText knows, with its processor) and captions images in batches."""

    model: Any  # the library's classes vary by family; from_pretrained decides
    processor: Any  # None for VisionEncoderDecoder, which has an image processor and a tokenizer instead

    def __init__(
        self,
        model_id: str = DEFAULT_MODEL,
        device: str = "auto",
        threads: int | None = None,
        settings: Settings | None = None,
        prompt: str | None = None,
        max_new_tokens: int | None = None,
        speed: str | None = None,
    ) -> None:
        self.model_id = model_id
        self.settings = settings or Settings.resolve()
        self.max_batch: int | None = None  # set when a batch ran out of GPU memory
        # Where from, before torch is imported: a model that cannot be found fails in milliseconds, not seconds.
        self._location = model_location(self.model_id, self.settings)
        _quiet_libraries()
        import torch

        if threads:
            # Torch's intra-op threads share the cores with decode workers; the caller decides the split.
            torch.set_num_threads(threads)
        self.device = pick_device(device)
        self._load()
        self.speed = speed or speed_for(self.family, self.device)
        check_speed(self.speed, self.device)
        self.caption_settings = CaptionSettings(model_id, prompt, max_new_tokens, self.speed)
        self.prompt, self.max_new_tokens = self.caption_settings.effective(self.family)
        self.num_beams = self.family.num_beams if self.speed == "exact" else 1
        self.dtype = compute_dtype(self.family, self.device)
        self.model = self.model.to(self.device, dtype=self.dtype).eval()
        if self.speed == "int8":
            from indexer.models.int8 import quantize_linears

            quantize_linears(self.model)
        self._check_window()

    def _load(self) -> None:
        from transformers import AutoModelForImageTextToText, VisionEncoderDecoderModel

        parts = _processors(self.model_id, self._location)
        self.processor, self.image_processor, self.tokenizer = parts.processor, parts.image_processor, parts.tokenizer
        self.family: Family = parts.family
        self.input_side = parts.inputs.input_side
        self.pixel_spec: PixelSpec | None = parts.inputs.pixel_spec
        model_id, local_only = self._location
        try:
            if self.processor is None:
                self.model = VisionEncoderDecoderModel.from_pretrained(model_id, local_files_only=local_only)
            else:
                self.model = AutoModelForImageTextToText.from_pretrained(model_id, local_files_only=local_only)
        except (OSError, ValueError, KeyError, TypeError, ImportError, AttributeError) as error:
            raise _load_error(self.model_id, error) from None
        if self.family.echoes_prompt and hasattr(self.tokenizer, "padding_side"):
            self.tokenizer.padding_side = "left"  # every answer starts at the same column, after the prompt

    def set_threads(self, threads: int) -> None:
        """Torch's CPU threads, as the run's core split moves them (indexer/feed.py)."""
        import torch

        if threads != torch.get_num_threads():
            torch.set_num_threads(threads)

    def _check_window(self) -> None:
        """A prompt and caption longer than the language model's window fail at the first photo (an index past
        its position table) or come out garbled: refused here, before any photo, in the flags' own terms."""
        from PIL import Image as PILImage

        config = self.model.config
        window = getattr(config.get_text_config(), "max_position_embeddings", None)
        if not isinstance(window, int):
            return
        inputs = self.model_inputs([PILImage.new("RGB", (self.input_side, self.input_side))])
        used = int(inputs["input_ids"].shape[1]) if "input_ids" in inputs else 1  # else generation starts at one token
        prompt = len(self.tokenizer(self.prompt, add_special_tokens=False)["input_ids"]) if self.prompt else 0
        fixed = used - prompt  # the photo's tokens and the template's
        # An encoder-decoder (Florence-2) reads the prompt in its encoder and writes the caption in its decoder,
        # each with its own window; a decoder-only model holds both in one.
        apart = bool(getattr(config, "is_encoder_decoder", False))
        room = window - fixed - (0 if apart else self.max_new_tokens)
        if self.caption_settings.prompt is not None and prompt > room:
            caption = "" if apart else f" and {self.max_new_tokens} for the caption"
            raise ModelLoadError(
                f"--prompt: the prompt is {prompt} tokens; this model takes at most {max(room, 0)} (a window of {window} "
                f"tokens, less {fixed} for the photo and the template{caption}); shorten the prompt"
            )
        longest = window - (1 if apart else used)
        if self.max_new_tokens > longest:
            raise ModelLoadError(
                f"--max-new-tokens: this model writes at most {max(longest, 0)} tokens after its prompt (a window of "
                f"{window} tokens); pass --max-new-tokens {max(longest, 1)} or fewer"
            )

    def caption(self, images: Sequence[Image.Image]) -> list[str]:
        """Caption a batch: one processor call and one `generate` for all of them."""
        return self._in_batches(list(images), lambda part: self._generate(self.model_inputs(part)))

    def caption_pixels(self, pixels: Sequence[Any]) -> list[str]:
        """Caption photos already fitted to pixel_spec (uint8 arrays): one tensor, normalised on the device."""
        spec = self.pixel_spec
        assert spec is not None
        return self._in_batches(
            list(pixels), lambda part: self._generate({"pixel_values": to_tensor(part, spec, self.device, self.dtype)})
        )

    def _in_batches(self, items: list[Any], run: Callable[[list[Any]], list[str]]) -> list[str]:
        """A batch that does not fit in the GPU's memory is split in halves, and later batches are cut to
        the size that fitted: a large default batch is fast on a big card and still works on a small one."""
        if not items:
            return []
        import torch

        if self.max_batch and len(items) > self.max_batch:
            return [text for start in range(0, len(items), self.max_batch) for text in run(items[start : start + self.max_batch])]
        try:
            return run(items)
        except torch.cuda.OutOfMemoryError:
            if self.device == "cuda":
                torch.cuda.empty_cache()
            if len(items) == 1:
                raise ModelLoadError(
                    f"Not enough GPU memory to caption one photo with '{self.model_id}'; "
                    "close other GPU programs or pass --device cpu"
                ) from None
            self.max_batch = len(items) // 2
            return self._in_batches(items, run)

    def model_inputs(self, images: Sequence[Image.Image]) -> dict[str, Any]:
        """What the processor makes of a batch: pixels, and for a prompted family the prompt's tokens."""
        pictures = [for_model(image, self.input_side) for image in images]
        prompting = self.family.prompting
        if self.processor is None:
            return {"pixel_values": self.image_processor(images=pictures, return_tensors="pt").pixel_values}
        if prompting == "chat":
            messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": self.prompt}]}]
            text = self.processor.apply_chat_template(messages, add_generation_prompt=True)
            options = dict(self.family.image_options)
            texts = [text] * len(pictures)
            return dict(self.processor(images=[[p] for p in pictures], text=texts, padding=True, return_tensors="pt", **options))
        if not self.prompt:
            return dict(self.processor(images=pictures, return_tensors="pt"))
        inputs = dict(self.processor(images=pictures, text=[self.prompt] * len(pictures), padding=True, return_tensors="pt"))
        inputs.pop("labels", None)  # PaliGemma's processor adds training labels; generation has no use for them
        if self.family.echoes_prompt:
            _open_prompt(inputs, {self.tokenizer.eos_token_id, getattr(self.tokenizer, "sep_token_id", None)})
        return inputs

    def _generate(self, inputs: dict[str, Any]) -> list[str]:
        import torch

        family = self.family
        with torch.inference_mode():
            moved = {}
            for key, tensor in inputs.items():
                if not isinstance(tensor, torch.Tensor):
                    continue
                if self.device == "cuda" and tensor.device.type == "cpu":
                    # Pinned host memory lets the copy run asynchronously with the previous batch.
                    tensor = tensor.pin_memory()
                dtype = self.dtype if tensor.is_floating_point() else tensor.dtype
                moved[key] = tensor.to(self.device, dtype=dtype, non_blocking=True)
            with cpu_turn(self.device):
                output = self.model.generate(
                    **moved,
                    max_new_tokens=self.max_new_tokens,
                    num_beams=self.num_beams,
                    no_repeat_ngram_size=family.no_repeat_ngram_size or None,
                    do_sample=False,
                )
        if family.echoes_prompt and "input_ids" in moved:
            output = output[:, moved["input_ids"].shape[1] :]
        texts = self.tokenizer.batch_decode(output, skip_special_tokens=True)
        return [clean_caption(text, self.prompt if family.prompting == "prefix" else None) for text in texts]


def compute_dtype(family: Family, device: str):
    """float32 on a CPU; on CUDA the family's half type (bfloat16 where float16 overflows)."""
    import torch

    if device != "cuda":
        return torch.float32
    return torch.bfloat16 if family.half == "bfloat16" else torch.float16


def _open_prompt(inputs: dict[str, Any], end_ids: set[int | None]) -> None:
    """A decoder-only model continues its prompt: a tokenizer that closed it with an end token ([SEP] for GIT)
    would have it stop at once, so that token is taken off."""
    ids = inputs["input_ids"]
    if ids.shape[1] > 1 and all(int(token) in end_ids for token in ids[:, -1]):
        for key in ("input_ids", "attention_mask", "token_type_ids"):
            if key in inputs:
                inputs[key] = inputs[key][:, :-1]


@dataclass(frozen=True)
class _Processors:
    processor: Any  # None for VisionEncoderDecoder, which has an image processor and a tokenizer instead
    image_processor: Any
    tokenizer: Any
    family: Family
    inputs: ModelInputs


def _processors(model_id: str, location: tuple[str, bool]) -> _Processors:
    """A captioning model's config and processors, without its weights."""
    from transformers import AutoConfig, AutoImageProcessor, AutoProcessor, AutoTokenizer

    path, local_only = location
    try:
        config = AutoConfig.from_pretrained(path, local_files_only=local_only)
        if config.model_type == "vision-encoder-decoder":
            processor = None
            image_processor = AutoImageProcessor.from_pretrained(path, local_files_only=local_only)
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=local_only)
        else:
            processor = AutoProcessor.from_pretrained(path, local_files_only=local_only)
            image_processor = getattr(processor, "image_processor", processor)
            tokenizer = getattr(processor, "tokenizer", processor)
    except (OSError, ValueError, KeyError, TypeError, ImportError, AttributeError) as error:
        raise _load_error(model_id, error) from None
    family = family_of(config.model_type, bool(getattr(processor, "chat_template", None)))
    # A pixels-only family with a plain processor takes photos fitted by the reader processes (indexer/pixels.py).
    spec = spec_of(image_processor) if processor is None else None
    inputs = ModelInputs(model_id, family.input_side or _input_side(image_processor), spec)
    return _Processors(processor, image_processor, tokenizer, family, inputs)


def caption_inputs(model_id: str, settings: Settings) -> tuple[ModelInputs, Family]:
    """What a run's plan needs of a captioner (its inputs, and its family for the default speed), read from its
    config and processor without loading its weights."""
    _quiet_libraries()
    parts = _processors(model_id, model_location(model_id, settings))
    return parts.inputs, parts.family


def _load_error(model_id: str, error: Exception) -> ModelLoadError:
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    # transformers says "requires the Torchvision library" when loading, and fails on its video-processor
    # registry when a processor with one is built; any other AttributeError is some other fault.
    if "torchvision" in reason.lower() or "video_processor" in reason.lower():
        return ModelLoadError(
            f"Cannot load model '{model_id}': its processor needs torchvision, which is not installed; pip install "
            "the torchvision release built for your torch (docs/models.md: Choosing a caption model)"
        )
    if "Unrecognized" in reason or "not an image" in reason or isinstance(error, (ValueError, KeyError)):
        return ModelLoadError(
            f"Cannot load model '{model_id}': not an image-to-text model ({reason}); "
            "pass --model with a captioning model such as nlpconnect/vit-gpt2-image-captioning"
        )
    return ModelLoadError(
        f"Cannot load model '{model_id}' ({reason}); pass --model PATH_TO_LOCAL_MODEL, or run once with "
        f"network access so '{model_id}' is downloaded and cached"
    )
