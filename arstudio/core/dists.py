"""Per-step distributions p(x_t | x_<t): sampling under a policy, log-probability, and a view to plot.

Every distribution holds parameters with a batch shape (usually [B] for one step, or [B, T] for a
whole sequence from the parallel ``dists``), can be indexed over those batch dimensions, and gives
a ``DistView`` of plain numpy arrays that the GUI thread can draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from arstudio.core.policy import SamplingPolicy


@dataclass
class DistView:
    """What a plot draws for one step of a batch: bars over a support, or a density on a grid.

    ``probs`` has shape [B, K] (probability per support value, or density per grid point);
    ``entropy`` is in nats, [B].
    """

    kind: str  # "bars" or "density"
    support: np.ndarray  # [K] values (ints for bars, grid points for density)
    probs: np.ndarray  # [B, K]
    entropy: np.ndarray  # [B]
    labels: tuple[str, ...] | None = None


class Dist:
    """Base class of the per-step distributions."""

    batch_shape: torch.Size

    def sample(self, generator: torch.Generator | None = None, policy: SamplingPolicy | None = None) -> torch.Tensor:
        """Draw one value per batch element under ``policy``."""
        raise NotImplementedError

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) per batch element (log-density for continuous distributions)."""
        raise NotImplementedError

    def entropy(self) -> torch.Tensor:
        """Entropy in nats per batch element."""
        raise NotImplementedError

    def view(self) -> DistView:
        """Plain-numpy description of a one-dimensional batch [B] of distributions."""
        raise NotImplementedError

    def __getitem__(self, idx: Any) -> "Dist":
        raise NotImplementedError

    def params(self) -> dict[str, torch.Tensor]:
        """The tensors that define the distribution (for comparisons in tests)."""
        raise NotImplementedError


class Categorical(Dist):
    """A distribution over K values given by logits [..., K]."""

    def __init__(self, logits: torch.Tensor, labels: tuple[str, ...] | None = None) -> None:
        self.logits = logits - torch.logsumexp(logits, dim=-1, keepdim=True)
        self.batch_shape = self.logits.shape[:-1]
        self.labels = labels

    @property
    def n(self) -> int:
        """Number of values K."""
        return self.logits.shape[-1]

    def sample(self, generator: torch.Generator | None = None, policy: SamplingPolicy | None = None) -> torch.Tensor:
        return (policy or SamplingPolicy()).sample_categorical(self.logits, generator)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits.gather(-1, x.long().unsqueeze(-1)).squeeze(-1)

    def probs(self) -> torch.Tensor:
        """Probabilities [..., K]."""
        return self.logits.exp()

    def entropy(self) -> torch.Tensor:
        p = self.logits.exp()
        return -(p * self.logits.nan_to_num(neginf=0.0)).sum(-1)

    def view(self) -> DistView:
        p = self.probs().detach().float().cpu().numpy().reshape(-1, self.n)
        return DistView("bars", np.arange(self.n), p, self.entropy().detach().float().cpu().numpy().reshape(-1), self.labels)

    def __getitem__(self, idx: Any) -> "Categorical":
        if not isinstance(idx, tuple):
            idx = (idx,)
        return Categorical(self.logits[idx + (slice(None),)], self.labels)

    def params(self) -> dict[str, torch.Tensor]:
        return {"logits": self.logits}


class Bernoulli(Dist):
    """A distribution over {0, 1} given by the logit of p(x = 1), shape [...]."""

    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits
        self.batch_shape = logits.shape

    def as_categorical(self) -> Categorical:
        """The same distribution as a Categorical over (0, 1)."""
        return Categorical(torch.stack([torch.zeros_like(self.logits), self.logits], dim=-1), ("0", "1"))

    def sample(self, generator: torch.Generator | None = None, policy: SamplingPolicy | None = None) -> torch.Tensor:
        return self.as_categorical().sample(generator, policy)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.logits.dtype)
        return -F.binary_cross_entropy_with_logits(self.logits, x, reduction="none")

    def entropy(self) -> torch.Tensor:
        p = torch.sigmoid(self.logits)
        return F.binary_cross_entropy_with_logits(self.logits, p, reduction="none")

    def view(self) -> DistView:
        return self.as_categorical().view()

    def __getitem__(self, idx: Any) -> "Bernoulli":
        return Bernoulli(self.logits[idx])

    def params(self) -> dict[str, torch.Tensor]:
        return {"logits": self.logits}


class GaussianMixture(Dist):
    """A mixture of K Gaussians per element: weights logits, means and log scales, each [..., K]."""

    def __init__(self, logit_weights: torch.Tensor, means: torch.Tensor, log_scales: torch.Tensor,
                 grid: tuple[float, float] = (-0.5, 1.5)) -> None:
        self.logit_weights = torch.log_softmax(logit_weights, dim=-1)
        self.means = means
        self.log_scales = log_scales
        self.batch_shape = means.shape[:-1]
        self.grid = grid

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.means.dtype).unsqueeze(-1)
        z = (x - self.means) * torch.exp(-self.log_scales)
        comp = -0.5 * z * z - self.log_scales - 0.5 * math.log(2 * math.pi)
        return torch.logsumexp(self.logit_weights + comp, dim=-1)

    def sample(self, generator: torch.Generator | None = None, policy: SamplingPolicy | None = None) -> torch.Tensor:
        policy = policy or SamplingPolicy()
        comp = policy.sample_categorical(self.logit_weights, generator)
        mean = self.means.gather(-1, comp.unsqueeze(-1)).squeeze(-1)
        if policy.greedy:
            return mean
        scale = self.log_scales.gather(-1, comp.unsqueeze(-1)).squeeze(-1).exp() * policy.temperature
        eps = torch.randn(mean.shape, generator=generator, dtype=torch.float64, device="cpu")
        return mean + scale * eps.to(mean.device, mean.dtype)

    def entropy(self) -> torch.Tensor:
        grid = torch.linspace(*self.grid, 401, dtype=self.means.dtype, device=self.means.device)
        lp = self.log_prob(grid.view(-1, *([1] * len(self.batch_shape))).expand(-1, *self.batch_shape))
        dx = grid[1] - grid[0]
        return -(lp.exp() * lp).sum(0) * dx

    def view(self) -> DistView:
        grid = torch.linspace(*self.grid, 201, dtype=self.means.dtype, device=self.means.device)
        flat = GaussianMixture(self.logit_weights.reshape(-1, self.logit_weights.shape[-1]),
                               self.means.reshape(-1, self.means.shape[-1]),
                               self.log_scales.reshape(-1, self.log_scales.shape[-1]), self.grid)
        dens = flat.log_prob(grid.view(-1, 1).expand(-1, flat.batch_shape[0])).exp().T
        return DistView("density", grid.cpu().numpy(), dens.detach().float().cpu().numpy(),
                        flat.entropy().detach().float().cpu().numpy())

    def __getitem__(self, idx: Any) -> "GaussianMixture":
        if not isinstance(idx, tuple):
            idx = (idx,)
        idx = idx + (slice(None),)
        return GaussianMixture(self.logit_weights[idx], self.means[idx], self.log_scales[idx], self.grid)

    def params(self) -> dict[str, torch.Tensor]:
        return {"logit_weights": self.logit_weights, "means": self.means, "log_scales": self.log_scales}
