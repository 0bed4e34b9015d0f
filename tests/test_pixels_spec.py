"""A plain processor's work split in two: the resize in the reader process, the normalisation on the device.
What reaches the model is what the processor itself would have made, and so are the captions."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from indexer.pixels import fit, spec_of, to_tensor
from tests.photos import COLOURS, photo


def pictures() -> list[Image.Image]:
    rng = np.random.default_rng(0)
    shapes = [(300, 400), (401, 299), (224, 224), (225, 1000), (33, 2000)]
    return [Image.fromarray(rng.integers(0, 255, (*shape, 3), dtype=np.uint8)) for shape in shapes]


def test_a_plain_processors_steps_in_two_halves_make_what_the_processor_makes(tiny_model, tiny_clip):
    from transformers import AutoImageProcessor, AutoProcessor

    processors = [AutoImageProcessor.from_pretrained(tiny_model), AutoProcessor.from_pretrained(tiny_clip).image_processor]
    for processor in processors:
        spec = spec_of(processor)
        assert spec is not None, type(processor).__name__
        for image in pictures():
            expected = processor(images=[image], return_tensors="pt").pixel_values
            made = to_tensor([fit(image, spec)], spec, "cpu", expected.dtype)
            assert made.shape == expected.shape
            assert float((made - expected).abs().max()) < 1e-5


def test_a_processor_that_does_more_than_resize_and_normalise_has_no_spec():
    from transformers import CLIPImageProcessor, ViTImageProcessor

    assert spec_of(ViTImageProcessor(do_resize=False)) is None  # its sizes are the photo's own
    assert spec_of(CLIPImageProcessor(size={"shortest_edge": 100}, crop_size={"height": 200, "width": 200})) is None  # pads
    assert spec_of(object()) is None


def test_captions_from_fitted_pixels_are_the_captions_of_the_photos(tiny_model):
    from indexer.models.captioner import Captioner

    captioner = Captioner(str(tiny_model), device="cpu", threads=1, speed="exact")
    assert captioner.pixel_spec is not None
    images = [photo(colour=colour, noise=30, seed=number) for number, colour in enumerate(COLOURS)]
    assert captioner.caption_pixels([fit(image, captioner.pixel_spec) for image in images]) == captioner.caption(images)


@pytest.fixture(scope="session")
def trained_captioner(tmp_path_factory):
    from tests.trained_captioner import train_captioner

    return train_captioner(tmp_path_factory.mktemp("trained-captioner"), steps=300)


def test_fast_and_int8_keep_the_captions_of_exact_on_a_captioner_that_has_learnt_something(trained_captioner):
    from indexer.models.captioner import Captioner
    from tests.trained_captioner import held_out

    pictures = held_out(200, seed=3)
    images = [image for image, _ in pictures]
    exact = Captioner(str(trained_captioner), device="cpu", threads=1, speed="exact").caption(images)
    right = sum(caption == truth for caption, (_, truth) in zip(exact, pictures))
    assert right >= 40  # it has learnt: random weights would say nothing about what a setting keeps
    for speed in ("fast", "int8"):
        found = Captioner(str(trained_captioner), device="cpu", threads=1, speed=speed).caption(images)
        # the product's rule for a CPU default: at least 95% of captions the same as float32 beam 4
        assert sum(a == b for a, b in zip(exact, found)) >= 0.95 * len(images), speed
