"""RNADE: the real-valued neural autoregressive density estimator (Uria, Murray & Larochelle 2013).

NADE's hidden layer, shared across the D conditionals, with a mixture of K Gaussians per
dimension as the output (Sec. 2):

    a_d = c + W[:, <d] x_<d,   h_d = sigmoid(rho_d a_d)                      (NADE's eq. 5, rescaled)
    p(x_d | x_<d) = sum_k alpha_{d,k} N(x_d; mu_{d,k}, sigma_{d,k}^2)
    alpha_d = softmax(V^alpha_d h_d + b^alpha_d),  mu_d = V^mu_d h_d + b^mu_d,
    sigma_d = exp(V^sigma_d h_d + b^sigma_d)

rho_d is the paper's activation rescaling: a_d grows with d, so each step gets its own gain.
As in NADE, a_{d+1} = a_d + W[:, d] x_d, so the cursor keeps a and a step costs O(HK).

Data are real pixels: the 17 grey levels v of the 8x8 digits dequantized to x = (v + u) / 17,
u ~ U[0, 1) (``digits-real``). Training draws fresh noise u for every batch (the stored split has
one fixed draw, used for held-out numbers). For a density p on [0, 1)^D of such data, Jensen's
inequality bounds the discrete NLL of the 17-level image v (Theis, van den Oord & Bethge 2016):

    -log P(v) = -log E_u[p((v + u) / 17) / 17^D] <= -log p((v + u) / 17) + D log 17

``eval_nll`` reports that bound (``levels`` = 17, from the data's value space), so the bits/dim
it gives are comparable with the discrete 17-level models (PixelCNN, PixelRNN on digits17);
``nll`` / ``training_loss`` are the plain negative log-density of x (which may be negative).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from arstudio.core.dists import GaussianMixture
from arstudio.core.protocol import ARModel, Cursor
from arstudio.core.registry import register
from arstudio.models._image import image_spec

MIN_LOG_SCALE = -7.0  # sigma >= 1e-3: far below a 1/17 bin, keeps the density finite


@dataclass
class RNADEConfig:
    """RNADE's settings: the data's shape (reals dequantized from ``levels`` levels), H hidden units, K Gaussians."""

    shape: list[int]
    values: str = "continuous"
    levels: int = 17
    hidden: int = 64
    components: int = 5


@register("rnade", modality="image", title="RNADE (NADE with Gaussian mixtures, real pixels)",
          default_data="digits-real",
          default_config={"shape": [1, 8, 8], "values": "continuous", "levels": 17, "hidden": 64, "components": 5},
          tiny_config={"shape": [1, 3, 3], "hidden": 8, "components": 3},
          train_defaults={"steps": 8000, "batch_size": 64, "lr": 2e-3, "eval_every": 500})
class RNADE(ARModel):
    """RNADE over real pixels in [0, 1] in raster order: H hidden units, K Gaussians per pixel."""

    config_class = RNADEConfig

    def __init__(self, config: RNADEConfig) -> None:
        super().__init__()
        shape, values, levels, hidden, components = (config.shape, config.values, config.levels, config.hidden,
                                                     config.components)
        if values != "continuous":
            raise ValueError(f"rnade models real-valued pixels; data with {values!r} values need another model "
                             f"(use the dequantized 'digits-real')")
        if len(shape) != 3 or min(shape) < 1 or hidden < 1 or components < 1 or levels < 0:
            raise ValueError(f"rnade needs a (C, H, W) shape, hidden >= 1, components >= 1; got {shape}, "
                             f"{hidden}, {components}")
        self.config = config
        self.spec = image_spec("rnade", {**asdict(config), "levels": int(levels)}, shape, values, levels)
        d, k = self.spec.layout.length, components
        self.levels = int(levels)
        self.W = nn.Parameter(torch.randn(hidden, d) * 0.05)  # input -> hidden, shared across steps
        self.c = nn.Parameter(torch.zeros(hidden))
        self.rho = nn.Parameter(torch.ones(d))  # activation rescaling per step
        self.V = nn.Parameter(torch.randn(d, 3 * k, hidden) * 0.05)  # hidden -> [alpha, mu, sigma] per step
        b = torch.zeros(d, 3, k)
        b[:, 1] = torch.linspace(0.1, 0.9, k)  # spread the means over [0, 1]
        b[:, 2] = math.log(0.2)
        self.b = nn.Parameter(b.view(d, 3 * k))
        self.register_buffer("strictly_lower", torch.tril(torch.ones(d, d), diagonal=-1), persistent=False)

    def mixture(self, a: torch.Tensor, steps: int | slice) -> GaussianMixture:
        """The mixture of step ``steps`` from a [B, H], or of every step (``slice(None)``) from a [B, D, H]."""
        h = torch.sigmoid(self.rho[steps, None] * a)  # (B, H) for one step, (B, D, H) for all
        if h.ndim == 2:
            out = h @ self.V[steps].T + self.b[steps]  # (B, 3K)
        else:
            out = torch.einsum("bdh,dkh->bdk", h, self.V) + self.b  # (B, D, 3K)
        logit_w, mu, log_sigma = out.chunk(3, dim=-1)
        return GaussianMixture(logit_w, mu, log_sigma.clamp(min=MIN_LOG_SCALE), grid=(0.0, 1.0))

    def dists(self, x: torch.Tensor, cond: Any = None) -> GaussianMixture:
        prefix = x.float()[:, None, :] * self.strictly_lower  # (B, D, D): row d keeps x_<d
        a = self.c + prefix @ self.W.T  # (B, D, H): a_d for every d at once
        return self.mixture(a, slice(None))

    def dequantize(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Redraw the uniform noise of dequantized data: (floor(x L) + u) / L with fresh u (L = levels)."""
        if self.levels < 2:
            return x
        v = torch.floor(x * self.levels).clamp(0, self.levels - 1)
        u = torch.rand(x.shape, generator=generator, device="cpu").to(x.device)
        return (v + u) / self.levels

    def training_loss(self, x: torch.Tensor, cond: Any = None, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.nll(self.dequantize(x.float(), generator), cond).mean()

    def eval_nll(self, x: torch.Tensor, cond: Any = None) -> torch.Tensor:
        """The discrete NLL bound on ``levels`` grey levels, -log p(x) + D log L, in nats [B] (module docstring)."""
        bound = self.spec.layout.length * math.log(self.levels) if self.levels >= 2 else 0.0
        return self.nll(x, cond) + bound

    def start(self, batch: int, cond: Any = None) -> "RNADECursor":
        return RNADECursor(self, batch, cond)


class RNADECursor(Cursor):
    """Keeps the pre-activation a_t = c + W[:, <t] x_<t, as NADE's cursor does: O(H K) per step."""

    def __init__(self, model: RNADE, batch: int, cond: Any = None) -> None:
        super().__init__(model, batch, cond)
        self.a = model.c.detach().expand(batch, -1).clone()  # (B, H)

    @torch.no_grad()
    def dist(self) -> GaussianMixture:
        return self.model.mixture(self.a, self.t)

    def _update(self, x_t: torch.Tensor) -> None:
        with torch.no_grad():
            self.a += x_t.float()[:, None] * self.model.W[:, self.t]

    def _select(self, rows: torch.Tensor) -> None:
        self.a = self.a[rows]
