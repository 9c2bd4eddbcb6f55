"""NADE: the neural autoregressive distribution estimator (Larochelle & Murray 2011).

One hidden layer whose weights are shared across the D conditionals:

    h_i = sigmoid(c + W[:, <i] x_<i)                                  (eq. 5)
    p(x_i = 1 | x_<i) = sigmoid(b_i + V[i] . h_i)                     (eq. 6)

Because a_i = c + W[:, <i] x_<i, the pre-activation of step i+1 is the one of step i plus a
single column: a_{i+1} = a_i + W[:, i] x_i (eq. 7). The cursor keeps a, so a step costs O(H)
and a whole sample O(DH), against O(D^2 H) for recomputing the prefix.
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
class NADEConfig:
    """NADE's settings: the data's shape and values, H hidden units."""

    shape: list[int]
    hidden: int = 128
    values: str = "binary"
    levels: int = 2


@register("nade", modality="image", title="NADE (shared-weight autoregressive network)", default_data="digits",
          default_config={"shape": [1, 8, 8], "hidden": 256}, tiny_config={"shape": [1, 3, 3], "hidden": 8},
          train_defaults={"steps": 8000, "batch_size": 64, "lr": 3e-3, "weight_decay": 1e-4})
class NADE(ARModel):
    """NADE over binary pixels in raster order, with H hidden units."""

    config_class = NADEConfig

    def __init__(self, config: NADEConfig) -> None:
        super().__init__()
        require_binary("nade", config.values)
        self.config = config
        self.spec = image_spec("nade", asdict(config), config.shape)
        d, hidden = self.spec.layout.length, config.hidden
        self.W = nn.Parameter(torch.randn(hidden, d) * 0.05)  # input -> hidden, shared across steps
        self.c = nn.Parameter(torch.zeros(hidden))
        self.V = nn.Parameter(torch.randn(d, hidden) * 0.05)  # hidden -> output, one row per step
        self.b = nn.Parameter(torch.zeros(d))
        self.register_buffer("strictly_lower", torch.tril(torch.ones(d, d), diagonal=-1), persistent=False)

    def dists(self, x: torch.Tensor, cond: Any = None) -> Bernoulli:
        prefix = x.float()[:, None, :] * self.strictly_lower  # (B, D, D): row i keeps x_j for j < i
        a = self.c + prefix @ self.W.T  # (B, D, H): a_i = c + W[:, <i] x_<i for every i at once
        logits = self.b + (torch.sigmoid(a) * self.V).sum(-1)  # (B, D)
        return Bernoulli(logits)

    def start(self, batch: int, cond: Any = None) -> "NADECursor":
        return NADECursor(self, batch, cond)


class NADECursor(Cursor):
    """Keeps the hidden pre-activation a_t = c + W[:, <t] x_<t (eq. 7)."""

    def __init__(self, model: NADE, batch: int, cond: Any = None) -> None:
        super().__init__(model, batch, cond)
        self.a = model.c.detach().expand(batch, -1).clone()  # (B, H)

    def dist(self) -> Bernoulli:
        m = self.model
        return Bernoulli(m.b[self.t] + torch.sigmoid(self.a) @ m.V[self.t])

    def _update(self, x_t: torch.Tensor) -> None:
        self.a += x_t.float()[:, None] * self.model.W[:, self.t]

    def _select(self, rows: torch.Tensor) -> None:
        self.a = self.a[rows]
