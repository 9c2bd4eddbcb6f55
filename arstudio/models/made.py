"""MADE: masked autoencoder for distribution estimation (Germain, Gregor, Murray & Larochelle 2015).

An MLP whose weights are masked so that output d only sees inputs earlier in an ordering. Each
unit k of hidden layer l gets a degree m^l(k) in [min m^{l-1}, D-1]; inputs have degrees
m^0(d) = rank of d in the ordering (1..D), and

    M^l[k, k'] = 1 if m^l(k) >= m^{l-1}(k')        (hidden layers, eq. 12)
    M^V[d, k]  = 1 if m^0(d) >  m^L(k)             (output layer, eq. 13)

so p(x_d | x_<d) = sigmoid(b_d + (V * M^V) h(x))_d is autoregressive in that ordering.

    ordering (3, 1, 2): inputs x1 x2 x3 have degrees 3 1 2
    a hidden unit of degree 1 sees x2 only; output x3 (degree 2) sees units of degree 1 only;
    output x2 (degree 1) sees nothing but its bias.

Order- and connectivity-agnostic training (Sec. 4.2): the model keeps K mask sets (an ordering and
a draw of hidden degrees each) and each minibatch picks one at random. The held-out NLL is the
ensemble over the K sets, -log (1/K) sum_k p_k(x), as EoNADE does (Uria et al. 2014, eq. 20).
In the studio, each mask set is an ordering the canvas can follow.

The fast cursor keeps the first layer's pre-activation and adds one input column per step (as
NADE does); only the upper layers and one output unit are computed per step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from arstudio.core.dists import Bernoulli
from arstudio.core.protocol import ARModel, Cursor
from arstudio.core.registry import register
from arstudio.models._image import image_spec, require_binary
from arstudio.models._orderings import ensemble_nll, spec_following
from arstudio.nn.masked import MaskedLinear


def made_masks(d: int, hidden: list[int], order: np.ndarray, rng: np.random.Generator, direct: bool
               ) -> tuple[list[torch.Tensor], torch.Tensor | None]:
    """Masks of every layer (eqs. 12-13) for one ordering and one draw of hidden degrees."""
    degrees = [np.empty(d, dtype=np.int64)]
    degrees[0][order] = np.arange(1, d + 1)  # input d gets its rank in the ordering
    for h in hidden:
        low = min(int(degrees[-1].min()), d - 1)
        degrees.append(rng.integers(low, d, size=h))  # degrees in [low, D-1]
    masks = [torch.as_tensor(degrees[i + 1][:, None] >= degrees[i][None, :], dtype=torch.float32)
             for i in range(len(hidden))]
    masks.append(torch.as_tensor(degrees[0][:, None] > degrees[-1][None, :], dtype=torch.float32))
    direct_mask = torch.as_tensor(degrees[0][:, None] > degrees[0][None, :], dtype=torch.float32) if direct else None
    return masks, direct_mask


@dataclass
class MADEConfig:
    """MADE's settings: the data's shape and values, hidden sizes, K mask sets drawn from ``seed``, direct weights."""

    shape: list[int]
    hidden: list[int] = field(default_factory=lambda: [256, 256])
    num_masks: int = 8
    seed: int = 0
    direct: bool = True
    values: str = "binary"
    levels: int = 2


@register("made", modality="image", title="MADE (masked autoencoder, order-agnostic)", default_data="digits",
          default_config={"shape": [1, 8, 8], "hidden": [512, 512], "num_masks": 16, "seed": 0, "direct": True},
          tiny_config={"shape": [1, 3, 3], "hidden": [16, 16], "num_masks": 3, "seed": 0, "direct": True},
          train_defaults={"steps": 12000, "batch_size": 64, "lr": 2e-3, "weight_decay": 1e-4})
class MADE(ARModel):
    """MADE over binary pixels with ``num_masks`` orderings (the first is raster order)."""

    config_class = MADEConfig

    def __init__(self, config: MADEConfig) -> None:
        super().__init__()
        require_binary("made", config.values)
        hidden, num_masks, direct = [int(h) for h in config.hidden or []], config.num_masks, config.direct
        if num_masks < 1 or not hidden:
            raise ValueError("MADE needs at least one mask set and one hidden layer")
        self.config = config
        self.spec = image_spec("made", {**asdict(config), "hidden": hidden}, config.shape)
        self._base_layout = self.spec.layout
        d = self._base_layout.length
        sizes = [d, *hidden, d]
        self.layers = nn.ModuleList(MaskedLinear(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1))
        self.direct = MaskedLinear(d, d, bias=False) if direct else None
        if self.direct is not None:
            nn.init.zeros_(self.direct.weight)
        rng = np.random.default_rng(config.seed)
        self.orderings = [np.arange(d)] + [rng.permutation(d) for _ in range(num_masks - 1)]
        self._mask_sets = [made_masks(d, hidden, o, rng, direct) for o in self.orderings]
        self.num_orderings = num_masks
        self.ordering = 0
        self.select_ordering(0)

    def select_ordering(self, k: int) -> None:
        if not 0 <= k < self.num_orderings:
            raise ValueError(f"ordering {k} is out of range: this MADE has {self.num_orderings}")
        masks, direct_mask = self._mask_sets[k]
        for layer, m in zip(self.layers, masks):
            layer.set_mask(m)
        if self.direct is not None:
            self.direct.set_mask(direct_mask)
        self.ordering = k
        self.spec = spec_following(self.spec, self._base_layout, self.orderings[k])

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """Last hidden layer h(x), (B, H_L)."""
        h = x.float()
        for layer in self.layers[:-1]:
            h = torch.relu(layer(h))
        return h

    def data_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logit of p(x_d = 1 | x_<d) for every d, in data order, (B, D)."""
        out = self.layers[-1](self.hidden(x))
        if self.direct is not None:
            out = out + self.direct(x.float())
        return out

    def dists(self, x: torch.Tensor, cond: Any = None) -> Bernoulli:
        return Bernoulli(self.steps_of(self.data_logits(x)))  # (B, T) in step order

    def training_loss(self, x: torch.Tensor, cond: Any = None, generator: torch.Generator | None = None) -> torch.Tensor:
        k = int(torch.randint(self.num_orderings, (1,), generator=generator))
        keep = self.ordering
        self.select_ordering(k)
        loss = self.nll(x, cond).mean()
        self.select_ordering(keep)  # masks are buffers; autograd saw the masked weights already
        return loss

    def eval_nll(self, x: torch.Tensor, cond: Any = None) -> torch.Tensor:
        return ensemble_nll(self, x, cond)

    def start(self, batch: int, cond: Any = None) -> "MADECursor":
        return MADECursor(self, batch, cond)


class MADECursor(Cursor):
    """Keeps the first layer's pre-activation (and the direct connection's), adding one column a step."""

    def __init__(self, model: MADE, batch: int, cond: Any = None) -> None:
        super().__init__(model, batch, cond)
        first = model.layers[0]
        self.w1 = first.masked_weight().detach()
        self.a1 = first.bias.detach().expand(batch, -1).clone()  # (B, H1)
        self.wd = model.direct.masked_weight().detach() if model.direct is not None else None
        self.ad = torch.zeros(batch, self.layout.length, device=self.a1.device)  # (B, D) direct logits

    def dist(self) -> Bernoulli:
        m = self.model
        d = self.layout.index(self.t)
        h = torch.relu(self.a1)
        for layer in m.layers[1:-1]:
            h = torch.relu(layer(h))
        out = m.layers[-1]
        logit = h @ out.masked_weight()[d] + out.bias[d] + self.ad[:, d]
        return Bernoulli(logit)

    def _update(self, x_t: torch.Tensor) -> None:
        d = self.layout.index(self.t)
        self.a1 += x_t.float()[:, None] * self.w1[:, d]
        if self.wd is not None:
            self.ad += x_t.float()[:, None] * self.wd[:, d]

    def _select(self, rows: torch.Tensor) -> None:
        self.a1, self.ad = self.a1[rows], self.ad[rows]
