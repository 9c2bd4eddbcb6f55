"""EoNADE: an ensemble of orderings of an order-agnostic deep NADE (Uria, Murray & Larochelle 2014).

"A Deep and Tractable Density Estimator" (ICML 2014), Sec. 3-4. One network gives the conditional
of every unobserved dimension given any subset of observed ones: its input is the masked data
and the mask itself, [x (.) m, m], so that it knows which zeros are observed (Sec. 3.1):

    p(x_j = 1 | x_{m}) = sigmoid(f([x (.) m, m]))_j        for every j with m_j = 0

with f an MLP (ReLU hidden layers). For an ordering o, the mask of step d is m = 1 on o_<d, and

    log p(x | o) = sum_{d=1..D} log p(x_{o_d} | x_{o_<d}).

Order-agnostic training (Sec. 3): pick an ordering and a step d at random, observe o_<d and
train every unobserved dimension at once, weighted so that the estimate is unbiased for the
ordering-averaged NLL:

    L = D / (D - d) * sum_{j not in o_<d} -log p(x_j | x_{o_<d}),    d uniform in 0..D-1.

(The first d dimensions of a random ordering are a uniform random subset of size d.) The
held-out NLL is that of the ensemble over K fixed orderings, -log (1/K) sum_k p(x | o_k) (Sec. 4,
"EoNADE"); in the studio each of the K orderings is one the canvas can follow.

The cursor keeps the first layer's pre-activation and adds the two input columns of the new
dimension (its value and its mask bit) per step, as NADE does; the layers above are computed
once per step (the price of a deep network, Sec. 3.2).
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


@dataclass
class EoNADEConfig:
    """EoNADE's settings: the data's shape and values, the hidden layer sizes, K orderings drawn from ``seed``."""

    shape: list[int]
    hidden: list[int] = field(default_factory=lambda: [500, 500])
    num_orderings: int = 16
    seed: int = 0
    values: str = "binary"
    levels: int = 2


@register("eonade", modality="image", title="EoNADE (order-agnostic deep NADE, ensemble of orderings)",
          default_data="digits",
          default_config={"shape": [1, 8, 8], "hidden": [500, 500], "num_orderings": 16, "seed": 0},
          tiny_config={"shape": [1, 3, 3], "hidden": [16, 16], "num_orderings": 3, "seed": 0},
          train_defaults={"steps": 12000, "batch_size": 64, "lr": 1e-3, "weight_decay": 1e-5})
class EoNADE(ARModel):
    """Order-agnostic deep NADE over binary pixels; ``num_orderings`` fixed orderings (the first: raster)."""

    config_class = EoNADEConfig

    def __init__(self, config: EoNADEConfig) -> None:
        super().__init__()
        require_binary("eonade", config.values)
        hidden, num_orderings = [int(h) for h in config.hidden or []], config.num_orderings
        if num_orderings < 1 or not hidden:
            raise ValueError("EoNADE needs at least one ordering and one hidden layer")
        self.config = config
        self.spec = image_spec("eonade", {**asdict(config), "hidden": hidden}, config.shape)
        self._base_layout = self.spec.layout
        d = self._base_layout.length
        sizes = [2 * d, *hidden, d]
        self.layers = nn.ModuleList(nn.Linear(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1))
        rng = np.random.default_rng(config.seed)
        self.orderings = [np.arange(d)] + [rng.permutation(d) for _ in range(num_orderings - 1)]
        self.num_orderings = num_orderings
        self.ordering = 0
        self.select_ordering(0)

    def select_ordering(self, k: int) -> None:
        if not 0 <= k < self.num_orderings:
            raise ValueError(f"ordering {k} is out of range: this EoNADE has {self.num_orderings}")
        self.ordering = k
        self.spec = spec_following(self.spec, self._base_layout, self.orderings[k])

    def conditional_logits(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits of p(x_j = 1 | the dimensions where mask = 1), for every j, (..., D)."""
        xm = x.float() * mask
        h = torch.cat([xm, mask.expand_as(xm)], dim=-1)
        for layer in self.layers[:-1]:
            h = torch.relu(layer(h))
        return self.layers[-1](h)

    def prefix_masks(self) -> torch.Tensor:
        """Masks of every step of the current ordering, (T, D): row t is 1 on the first t dimensions."""
        order = torch.as_tensor(self.orderings[self.ordering], device=self.device)
        d = len(order)
        rank = torch.empty(d, dtype=torch.long, device=self.device)
        rank[order] = torch.arange(d, device=self.device)  # step at which each dimension is written
        return (rank[None, :] < torch.arange(d, device=self.device)[:, None]).float()

    def dists(self, x: torch.Tensor, cond: Any = None) -> Bernoulli:
        masks = self.prefix_masks()  # (T, D)
        logits = self.conditional_logits(x[:, None, :], masks[None])  # (B, T, D): one pass per step, batched
        order = torch.as_tensor(self.orderings[self.ordering], device=self.device)
        steps = torch.arange(len(order), device=self.device)
        return Bernoulli(logits[:, steps, order])  # (B, T): step t's logit of dimension o_t

    def training_loss(self, x: torch.Tensor, cond: Any = None, generator: torch.Generator | None = None) -> torch.Tensor:
        b, d = x.shape
        dev = x.device
        keys = torch.rand(b, d, generator=generator).to(dev)  # a random ordering per example: argsort of keys
        observed = torch.randint(d, (b, 1), generator=generator).to(dev)  # d in 0..D-1 observed dimensions
        rank = keys.argsort(dim=1).argsort(dim=1)  # rank of each dimension in its example's ordering
        mask = (rank < observed).float()
        logits = self.conditional_logits(x, mask)
        bce = nn.functional.binary_cross_entropy_with_logits(logits, x.float(), reduction="none")
        per_example = ((1.0 - mask) * bce).sum(dim=1) * d / (d - observed.squeeze(1)).float()
        return per_example.mean()

    def eval_nll(self, x: torch.Tensor, cond: Any = None) -> torch.Tensor:
        return ensemble_nll(self, x, cond)

    def start(self, batch: int, cond: Any = None) -> "EoNADECursor":
        return EoNADECursor(self, batch, cond)


class EoNADECursor(Cursor):
    """Keeps the first layer's pre-activation; a step adds the new dimension's value and mask columns."""

    def __init__(self, model: EoNADE, batch: int, cond: Any = None) -> None:
        super().__init__(model, batch, cond)
        first = model.layers[0]
        self.d = self.layout.length
        self.w1 = first.weight.detach()  # (H1, 2D): value columns, then mask columns
        self.a1 = first.bias.detach().expand(batch, -1).clone()  # nothing observed yet: x (.) m = m = 0

    def dist(self) -> Bernoulli:
        m = self.model
        j = self.layout.index(self.t)
        h = torch.relu(self.a1)
        for layer in m.layers[1:-1]:
            h = torch.relu(layer(h))
        out = m.layers[-1]
        return Bernoulli(h @ out.weight[j].detach() + out.bias[j].detach())

    def _update(self, x_t: torch.Tensor) -> None:
        j = self.layout.index(self.t)
        self.a1 = self.a1 + x_t.float()[:, None] * self.w1[:, j] + self.w1[:, self.d + j]

    def _select(self, rows: torch.Tensor) -> None:
        self.a1 = self.a1[rows]
