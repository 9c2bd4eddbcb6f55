"""Masked layers: a linear layer whose weight is multiplied by a fixed 0/1 mask (MADE, FVSBN)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MaskedLinear(nn.Linear):
    """``y = x @ (W * M).T + b`` with a fixed binary mask M [out, in] kept as a buffer."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__(in_features, out_features, bias)
        # Masks are a deterministic function of the config, so they are not saved in checkpoints.
        self.register_buffer("mask", torch.ones(out_features, in_features), persistent=False)

    def set_mask(self, mask: torch.Tensor) -> None:
        """Replace the mask (shape [out, in])."""
        if mask.shape != self.mask.shape:
            raise ValueError(f"mask shape {tuple(mask.shape)} != {tuple(self.mask.shape)}")
        # A new tensor, not an in-place copy: autograd may still hold the old mask for a backward pass.
        self.mask = mask.to(device=self.mask.device, dtype=self.mask.dtype)

    def masked_weight(self) -> torch.Tensor:
        """W * M."""
        return self.weight * self.mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.masked_weight(), self.bias)
