"""Helpers shared by the image models: the spec of a flat image of binary or grey values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from arstudio.core.dists import Categorical
from arstudio.core.protocol import ARModel
from arstudio.core.registry import modality_of
from arstudio.core.spec import Layout, ModelSpec, ValueSpace
from arstudio.nn.masked_conv import encode_pixels


def image_spec(kind: str, config: dict[str, Any], shape: Sequence[int], values: str = "binary", levels: int = 2
               ) -> ModelSpec:
    """ModelSpec of an image model over ``shape`` (C, H, W) in raster order; ``config`` is its config as a dict.

    ``values``: "binary", "categorical" (``levels`` grey levels) or "continuous" (reals in [0, 1],
    dequantized from ``levels`` levels). The stored config's shape becomes a list of ints.
    """
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"an image shape is (C, H, W) with positive sizes, got {list(shape)}")
    if values == "binary":
        space = ValueSpace("binary")
    elif values == "continuous":
        space = ValueSpace("continuous", int(levels), 0.0, 1.0)
    else:
        space = ValueSpace("categorical", int(levels))
    shape = [int(s) for s in shape]
    return ModelSpec(kind, {**config, "shape": shape}, Layout(modality_of(kind), tuple(shape)), space)


def require_binary(kind: str, values: str) -> None:
    """Raise ValueError unless the data are binary."""
    if values != "binary":
        raise ValueError(f"{kind} models binary pixels; data with {values!r} values need another model")


def check_image_config(kind: str, shape: Sequence[int], values: str, levels: int) -> int:
    """Validate a grey conv image model's data config; return the number of values per pixel."""
    if len(shape) != 3 or shape[0] != 1:
        raise ValueError(f"{kind} models one grey channel in raster order for now; got shape {list(shape)}")
    if values not in ("binary", "categorical"):
        raise ValueError(f"{kind} models discrete pixels; data with {values!r} values need another model")
    n = 2 if values == "binary" else int(levels)
    if n < 2:
        raise ValueError(f"{kind} needs at least two grey levels, got {n}")
    return n


class GreyImageModel(ARModel):
    """Base of the grey-level conv / recurrent image models: a network maps the encoded image to
    logits of every level at every pixel (``logits_map``), read in raster order."""

    n_values: int

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W)."""
        c, h, w = self.spec.layout.shape
        return c, h, w

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Flat data [B, D] -> the network's float input [B, 1, H, W] in [-1, 1]."""
        return encode_pixels(x, self.n_values).view(-1, *self.image_shape)

    def logits_map(self, u: torch.Tensor, cond: Any = None) -> torch.Tensor:
        """Logits of every grey level at every pixel, [B, L, H, W], from the encoded input u."""
        raise NotImplementedError

    def dists(self, x: torch.Tensor, cond: Any = None) -> Categorical:
        logits = self.logits_map(self.encode(x), cond)
        b, n = logits.shape[:2]
        return Categorical(logits.permute(0, 2, 3, 1).reshape(b, -1, n))  # (B, D, L) in raster order
