"""`--speed int8`: linear layers in int8 on a CPU, each row rounded on its own scale (indexer/models/int8.py)."""

from __future__ import annotations

import pytest
import torch

from db.errors import ModelLoadError
from indexer.models.captioner import Captioner
from indexer.models.families import check_speed
from indexer.models.int8 import RowInt8Linear
from tests.photos import photo


def test_a_row_is_rounded_on_its_own_scale_so_its_batch_neighbours_change_nothing():
    torch.manual_seed(0)
    linear = torch.nn.Linear(96, 40)
    quantized = RowInt8Linear(linear)
    rows = torch.randn(3, 5, 96)
    loud = torch.cat([rows[:1], 100 * torch.randn(2, 5, 96)])  # neighbours with a hundred times the range
    with torch.inference_mode():
        together, alone, beside_loud = quantized(rows), quantized(rows[:1]), quantized(loud)
        exact = linear(rows)
    assert torch.equal(together[:1], alone) and torch.equal(beside_loud[:1], alone)
    assert together.shape == exact.shape
    assert ((together - exact).norm() / exact.norm()).item() < 0.03  # int8's rounding, not another function


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torchs_own_dynamic_int8_is_what_this_avoids():
    # The reason for RowInt8Linear: with one scale for the whole tensor, a loud neighbour changes a photo's numbers.
    torch.manual_seed(0)
    linear = torch.nn.Linear(96, 40)
    quantized = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(linear), {torch.nn.Linear}, dtype=torch.qint8)
    rows = torch.randn(1, 5, 96)
    with torch.inference_mode():
        alone = quantized(rows)
        beside_loud = quantized(torch.cat([rows, 100 * torch.randn(2, 5, 96)]))[:1]
    assert not torch.equal(alone, beside_loud)


def test_an_int8_caption_is_the_same_in_any_batch(tiny_model):
    captioner = Captioner(str(tiny_model), device="cpu", threads=1, speed="int8")
    assert captioner.num_beams == 1
    assert any(isinstance(module, RowInt8Linear) for module in captioner.model.modules())
    assert not any(type(module) is torch.nn.Linear for module in captioner.model.modules())
    images = [photo(colour=(40 * n, 200 - 30 * n, 90), noise=40, seed=n) for n in range(5)]
    together = captioner.caption(images)
    assert together == [captioner.caption([image])[0] for image in images]
    assert together[1:] == captioner.caption(images[1:])


def test_int8_on_a_gpu_is_refused_in_one_line_before_any_photo():
    check_speed("int8", "cpu")
    check_speed("fast", "cuda")
    with pytest.raises(ModelLoadError) as raised:
        check_speed("int8", "cuda")
    assert "--speed int8 runs on a CPU only" in str(raised.value) and "\n" not in str(raised.value)
