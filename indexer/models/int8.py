"""`--speed int8`: a caption model's linear layers in int8 on a CPU, each photo's caption independent of its batch.

torch's dynamic quantisation takes one activation scale for the whole input tensor, so in a batch a photo's
activations are rounded on a scale its neighbours set, and its caption can change with them. Here every row
(a token of one photo) is first mapped onto [0, 1] by its own minimum and range, and two constant columns (0 and
1) are appended, so the tensor's range, and with it the kernel's scale, is the same in every batch: each row
is rounded as if it were alone, and the same fbgemm kernel does the arithmetic in one call. Undoing the map is
exact algebra: W x = span * (W x01) + low * (W's row sums).
"""

from __future__ import annotations

import warnings

import torch
from torch import nn


class RowInt8Linear(nn.Module):
    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        weight = linear.weight.detach().float()
        self.in_features = weight.shape[1]
        self.out_features = weight.shape[0]
        # Two zero columns for the two constant columns of the input: they set the range, not the result.
        padded = torch.cat([weight, weight.new_zeros(self.out_features, 2)], dim=1)
        scales = padded.abs().amax(dim=1).clamp_min(1e-12) / 127.0
        with warnings.catch_warnings():  # quantized tensors are marked deprecated; fbgemm's kernels still take them
            warnings.simplefilter("ignore")
            zero = torch.zeros_like(scales, dtype=torch.long)
            quantized = torch.quantize_per_channel(padded, scales, zero, 0, torch.qint8)
        self._packed = torch.ops.quantized.linear_prepack(quantized, None)
        # The row sums of the weight as rounded, so that `low * row_sums` cancels what the kernel computed.
        self.register_buffer("row_sums", quantized.dequantize()[:, : self.in_features].sum(dim=1), persistent=False)
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().float(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, self.in_features).float()
        low = rows.amin(dim=1, keepdim=True)
        span = (rows.amax(dim=1, keepdim=True) - low).clamp_min(1e-12)
        # Written into one buffer in two passes: measured cheaper than torch.aminmax, a division and a cat.
        unit = rows.new_empty(rows.shape[0], self.in_features + 2)
        unit[:, self.in_features :] = rows.new_tensor([0.0, 1.0])
        scaled = unit[:, : self.in_features]
        torch.sub(rows, low, out=scaled)
        scaled.mul_(span.reciprocal())
        out = torch.ops.quantized.linear_dynamic(unit, self._packed, True)
        out.mul_(span).addcmul_(low, self.row_sums)
        if self.bias is not None:
            out += self.bias
        return out.reshape(*x.shape[:-1], self.out_features).to(x.dtype)


def kernels_here() -> bool:
    """Whether this torch has the x86 int8 kernels this module calls (not on ARM builds, maybe not in a later torch)."""
    return torch.backends.quantized.engine in ("x86", "fbgemm") and hasattr(torch.ops.quantized, "linear_dynamic")


def quantize_linears(model: nn.Module) -> nn.Module:
    """Every linear layer of `model` (GPT-2's Conv1D projections too) as a RowInt8Linear, in place."""
    conv1d_to_linear(model)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.Linear:
                setattr(parent, name, RowInt8Linear(child))
    return model


def conv1d_to_linear(model: nn.Module) -> None:
    """GPT-2's projections are transformers' Conv1D, a linear layer with its weight transposed."""
    from transformers.pytorch_utils import Conv1D

    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, Conv1D):
                linear = nn.Linear(child.weight.shape[0], child.weight.shape[1], bias=child.bias is not None)
                linear.weight = nn.Parameter(child.weight.detach().t().contiguous(), requires_grad=False)
                if child.bias is not None:
                    linear.bias = nn.Parameter(child.bias.detach(), requires_grad=False)
                setattr(parent, name, linear)
