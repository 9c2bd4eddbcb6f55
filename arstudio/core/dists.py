"""Per-step distributions p(x_t | x_<t): sampling under a policy, log-probability, and a view to plot.

Every distribution holds parameters with a batch shape (usually [B] for one step, or [B, T] for a
whole sequence from the parallel ``dists``), can be indexed over those batch dimensions, and gives
a ``DistView`` of plain numpy arrays that the GUI thread can draw.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from arstudio.core.policy import SamplingPolicy


_BINARY_LABELS = ("0", "1")


@functools.lru_cache(maxsize=64)
def value_support(n: int) -> np.ndarray:
    """The values 0 .. n-1 as a read-only array, one shared object per n (so views compare it by identity)."""
    a = np.arange(n)
    a.setflags(write=False)
    return a


@dataclass
class DistView:
    """What a plot draws for one step of a batch: bars over a support, or a density on a grid.

    ``probs`` has shape [B, K] (probability per support value, or density per grid point);
    ``entropy`` is in nats, [B]. A compact view (what the studio's run record keeps) lists only
    the most likely values of a larger support: ``rest`` [B] is then the probability of the
    ``total - K`` values left out.
    """

    kind: str  # "bars" or "density"
    support: np.ndarray  # [K] values (ints for bars, grid points for density)
    probs: np.ndarray  # [B, K]
    entropy: np.ndarray  # [B]
    labels: tuple[str, ...] | None = None
    rest: np.ndarray | None = None  # [B] mass of the values not listed; None: every value is listed
    total: int | None = None  # size of the whole support when ``support`` lists only some of it

    @property
    def others(self) -> int:
        """How many values of the whole support this view leaves out."""
        return 0 if self.total is None else max(0, self.total - len(self.support))


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

    def settings(self) -> tuple[Any, ...]:
        """What defines the distribution besides its tensors (labels, a grid, a number of levels)."""
        return ()

    def with_params(self, params: dict[str, torch.Tensor]) -> "Dist":
        """The same kind of distribution, with the same settings, over other tensors (``params()``'s names)."""
        raise NotImplementedError

    def stack_key(self) -> tuple[Any, ...]:
        """Distributions with equal keys can be stacked: the same kind, settings, tensor shapes and dtypes."""
        return (type(self), self.settings(),
                tuple((k, tuple(v.shape), v.dtype, v.device) for k, v in self.params().items()))

    @staticmethod
    def stack(dists: "list[Dist]") -> "Dist":
        """Distributions of equal ``stack_key`` as one, batch shape [m, *batch] (e.g. m steps' views in one pass)."""
        first = dists[0]
        names = first.params().keys()
        return first.with_params({k: torch.stack([d.params()[k] for d in dists]) for k in names})


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
        # One copy to numpy, then numpy: a step's view costs few torch calls (each a GIL hand-off
        # while the GUI thread draws).
        logp = self.logits.detach().float().cpu().numpy().reshape(-1, self.n)
        p = np.exp(logp)
        entropy = -(p * np.where(p > 0, logp, 0.0)).sum(-1)
        return DistView("bars", value_support(self.n), p, entropy, self.labels)

    def __getitem__(self, idx: Any) -> "Categorical":
        if not isinstance(idx, tuple):
            idx = (idx,)
        return Categorical(self.logits[idx + (slice(None),)], self.labels)

    def params(self) -> dict[str, torch.Tensor]:
        return {"logits": self.logits}

    def settings(self) -> tuple[Any, ...]:
        return (self.labels,)

    def with_params(self, params: dict[str, torch.Tensor]) -> "Categorical":
        out = Categorical.__new__(Categorical)  # the logits are normalised already
        out.logits, out.batch_shape, out.labels = params["logits"], params["logits"].shape[:-1], self.labels
        return out


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
        logit = self.logits.detach().double().cpu().numpy().reshape(-1)
        p1 = 1.0 / (1.0 + np.exp(-logit))
        p = np.stack([1.0 - p1, p1], axis=-1).astype(np.float32)
        # entropy from the logit, stable at both ends: log(1 + e^l) - p1 * l
        entropy = (np.logaddexp(0.0, logit) - p1 * logit).astype(np.float32)
        return DistView("bars", value_support(2), p, entropy, _BINARY_LABELS)

    def __getitem__(self, idx: Any) -> "Bernoulli":
        return Bernoulli(self.logits[idx])

    def params(self) -> dict[str, torch.Tensor]:
        return {"logits": self.logits}

    def with_params(self, params: dict[str, torch.Tensor]) -> "Bernoulli":
        return Bernoulli(params["logits"])


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

    def settings(self) -> tuple[Any, ...]:
        return (tuple(self.grid),)

    def with_params(self, params: dict[str, torch.Tensor]) -> "GaussianMixture":
        out = GaussianMixture.__new__(GaussianMixture)  # the weights are normalised already
        out.logit_weights, out.means, out.log_scales = params["logit_weights"], params["means"], params["log_scales"]
        out.grid, out.batch_shape = self.grid, out.means.shape[:-1]
        return out


class DiscretizedLogisticMixture(Dist):
    """PixelCNN++'s discretized logistic mixture over L integer levels (Salimans et al. 2017, eq. 2).

    Level v of 0..L-1 stands for y = 2 v / (L - 1) - 1 in [-1, 1]; a bin is y +- 1 / (L - 1). With
    mixture weights pi (``logit_weights``), means mu and scales s = exp(``log_scales``), each
    [..., K] on the [-1, 1] scale:

        P(v) = sum_k pi_k [sigmoid((y + 1/(L-1) - mu_k) / s_k) - sigmoid((y - 1/(L-1) - mu_k) / s_k)]

    with the edge cases of eq. 2: at v = 0 the lower edge is -inf, at v = L - 1 the upper edge +inf,
    so the L probabilities sum to 1 exactly. The difference of sigmoids is taken in log space:
    log(sigmoid(a) - sigmoid(b)) = logsigmoid(a) + logsigmoid(-b) + log(1 - exp(b - a)).

    Sampling: ``temperature`` T divides the mixture logits and multiplies the scales (s_k -> T s_k);
    top-k / top-p then filter the L levels of that tempered mixture, and one uniform per row draws a
    level by inverse CDF. Greedy (T = 0) takes the most likely level of the untempered mixture.
    """

    def __init__(self, logit_weights: torch.Tensor, means: torch.Tensor, log_scales: torch.Tensor,
                 levels: int = 256) -> None:
        self.logit_weights = torch.log_softmax(logit_weights, dim=-1)
        self.means = means
        self.log_scales = log_scales
        self.levels = int(levels)
        self.batch_shape = means.shape[:-1]

    @staticmethod
    def bin_log_probs(v: torch.Tensor, means: torch.Tensor, log_scales: torch.Tensor, levels: int) -> torch.Tensor:
        """log P(v | k) of each logistic component k: levels v [...] against means, log scales [..., K] -> [..., K]."""
        half = 1.0 / (levels - 1)
        y = (v.to(means.dtype) * (2.0 * half) - 1.0).unsqueeze(-1)  # (..., 1) on the [-1, 1] scale
        inv_s = torch.exp(-log_scales)
        a = (y + half - means) * inv_s  # upper edge
        b = (y - half - means) * inv_s  # lower edge
        upper, lower = F.logsigmoid(a), F.logsigmoid(-b)  # log sigmoid(a), log (1 - sigmoid(b))
        mid = upper + lower + torch.log(-torch.expm1(-(2.0 * half) * inv_s))
        vv = v.unsqueeze(-1)
        return torch.where(vv <= 0, upper, torch.where(vv >= levels - 1, lower, mid))

    def _component_log_probs(self, v: torch.Tensor, logit_weights: torch.Tensor, log_scales: torch.Tensor
                             ) -> torch.Tensor:
        """log pi_k + log P(v | k) for levels v [...] (broadcast against the batch), [..., K]."""
        return logit_weights + self.bin_log_probs(v, self.means, log_scales, self.levels)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return torch.logsumexp(self._component_log_probs(x, self.logit_weights, self.log_scales), dim=-1)

    def level_log_probs(self, temperature: float = 1.0) -> torch.Tensor:
        """log P(v) for every level v = 0..L-1, [..., L]; T != 1 tempers weights and scales as ``sample`` does."""
        lw, ls = self.logit_weights, self.log_scales
        if temperature != 1.0:
            lw = torch.log_softmax(lw / temperature, dim=-1)
            ls = ls + math.log(temperature)
        v = torch.arange(self.levels, device=self.means.device).view(-1, *([1] * len(self.batch_shape)))
        lp = torch.logsumexp(self._component_log_probs(v, lw, ls), dim=-1)  # (L, ...)
        return lp.movedim(0, -1)

    def sample(self, generator: torch.Generator | None = None, policy: SamplingPolicy | None = None) -> torch.Tensor:
        policy = policy or SamplingPolicy()
        if policy.greedy:
            return self.level_log_probs().argmax(dim=-1)
        logits = self.level_log_probs(policy.temperature)
        return SamplingPolicy(1.0, policy.top_k, policy.top_p).sample_categorical(logits, generator)

    def entropy(self) -> torch.Tensor:
        lp = self.level_log_probs()
        return -(lp.exp() * lp).sum(-1)

    def view(self) -> DistView:
        lp = self.level_log_probs().reshape(-1, self.levels)
        p = lp.exp()
        ent = -(p * lp).sum(-1)
        return DistView("bars", value_support(self.levels), p.detach().float().cpu().numpy(),
                        ent.detach().float().cpu().numpy())

    def __getitem__(self, idx: Any) -> "DiscretizedLogisticMixture":
        if not isinstance(idx, tuple):
            idx = (idx,)
        idx = idx + (slice(None),)
        return DiscretizedLogisticMixture(self.logit_weights[idx], self.means[idx], self.log_scales[idx], self.levels)

    def params(self) -> dict[str, torch.Tensor]:
        return {"logit_weights": self.logit_weights, "means": self.means, "log_scales": self.log_scales}

    def settings(self) -> tuple[Any, ...]:
        return (self.levels,)

    def with_params(self, params: dict[str, torch.Tensor]) -> "DiscretizedLogisticMixture":
        out = DiscretizedLogisticMixture.__new__(DiscretizedLogisticMixture)  # the weights are normalised already
        out.logit_weights, out.means, out.log_scales = params["logit_weights"], params["means"], params["log_scales"]
        out.levels, out.batch_shape = self.levels, out.means.shape[:-1]
        return out
