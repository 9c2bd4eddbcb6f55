"""FVSBN: the fully visible sigmoid belief network (Neal 1992; Frey, Hinton & Dayan 1996).

Each pixel is a logistic regression on every earlier pixel in raster order:

    p(x_i = 1 | x_<i) = sigmoid(b_i + sum_{j<i} W_ij x_j)            (Frey 1998, eq. 4.2)

W is strictly lower triangular (a mask keeps it so), which gives D(D-1)/2 weights.

    mask for D = 4 (row i: which x_j the logit of x_i sees)
        x0 x1 x2 x3
    x0   .  .  .  .
    x1   1  .  .  .
    x2   1  1  .  .
    x3   1  1  1  .

The fast cursor keeps the running logits a = b + W x_<t and adds W[:, t] x_t when x_t arrives:
O(D) per step instead of the naive O(D^2).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from arstudio.core.dists import Bernoulli
from arstudio.core.protocol import ARModel, Cursor
from arstudio.core.registry import register
from arstudio.models._image import image_spec, require_binary


@dataclass
class FVSBNConfig:
    """FVSBN's settings: only the data's shape and values."""

    shape: list[int]
    values: str = "binary"
    levels: int = 2


@register("fvsbn", modality="image", title="FVSBN (logistic regression per pixel)", default_data="digits",
          default_config={"shape": [1, 8, 8]}, tiny_config={"shape": [1, 3, 3]},
          train_defaults={"steps": 6000, "batch_size": 64, "lr": 3e-3, "weight_decay": 1e-3})
class FVSBN(ARModel):
    """Fully visible sigmoid belief network over binary pixels in raster order."""

    config_class = FVSBNConfig

    def __init__(self, config: FVSBNConfig) -> None:
        super().__init__()
        require_binary("fvsbn", config.values)
        self.config = config
        self.spec = image_spec("fvsbn", asdict(config), config.shape)
        d = self.spec.layout.length
        self.weight = nn.Parameter(torch.zeros(d, d))
        self.bias = nn.Parameter(torch.zeros(d))
        self.register_buffer("mask", torch.tril(torch.ones(d, d), diagonal=-1), persistent=False)

    def dists(self, x: torch.Tensor, cond: Any = None) -> Bernoulli:
        logits = self.bias + x.float() @ (self.weight * self.mask).T  # (B, D)
        return Bernoulli(logits)

    def start(self, batch: int, cond: Any = None) -> "FVSBNCursor":
        return FVSBNCursor(self, batch, cond)


class FVSBNCursor(Cursor):
    """Keeps the running logits of every later pixel: a += W[:, t] x_t."""

    def __init__(self, model: FVSBN, batch: int, cond: Any = None) -> None:
        super().__init__(model, batch, cond)
        self.a = model.bias.detach().expand(batch, -1).clone()  # (B, D)
        self.w = (model.weight * model.mask).detach()

    def dist(self) -> Bernoulli:
        return Bernoulli(self.a[:, self.t])

    def _update(self, x_t: torch.Tensor) -> None:
        self.a += x_t.float()[:, None] * self.w[:, self.t]

    def _select(self, rows: torch.Tensor) -> None:
        self.a = self.a[rows]
