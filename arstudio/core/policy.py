"""Sampling policies: a pure function of logits, settings and a ``torch.Generator``."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from arstudio.core.validate import MAX_INT, number

MIN_TEMPERATURE = 1e-3  # below this, logits / T overflows float32 for ordinary logits: use 0 (greedy)
MAX_TEMPERATURE = 100.0
MIN_TOP_P = 1e-3  # a smaller nucleus is the argmax, except that the mass underflows: use temperature 0

@dataclass(frozen=True)
class SamplingPolicy:
    """How a value is drawn from a distribution.

    ``temperature == 0`` means greedy (argmax); ``top_k == 0`` and ``top_p == 1`` switch those
    filters off. Every setting is checked: a finite number in its range (temperature 0 or from
    MIN_TEMPERATURE to MAX_TEMPERATURE, top-p from MIN_TOP_P to 1, top-k a whole number >= 0); ValueError
    names the setting otherwise.
    """

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0

    def __post_init__(self) -> None:
        t = number(self.temperature, "temperature", 0, MAX_TEMPERATURE)
        if 0 < t < MIN_TEMPERATURE:
            raise ValueError(f"temperature must be 0 (greedy) or at least {MIN_TEMPERATURE:g}, got {t:g}")
        number(self.top_k, "top_k", 0, MAX_INT, integer=True)
        number(self.top_p, "top_p", MIN_TOP_P, 1.0)
        object.__setattr__(self, "temperature", float(self.temperature))
        object.__setattr__(self, "top_k", int(self.top_k))
        object.__setattr__(self, "top_p", float(self.top_p))

    @property
    def greedy(self) -> bool:
        """True when the policy always takes the most likely value."""
        return self.temperature == 0

    def to_dict(self) -> dict[str, float]:
        """Plain dict, for metadata and JSON."""
        return asdict(self)

    def filter_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """Apply temperature, top-k and top-p to categorical logits [..., K]."""
        if self.greedy:
            return logits
        out = logits / self.temperature
        k = logits.shape[-1]
        if 0 < self.top_k < k:
            kth = torch.topk(out, self.top_k, dim=-1).values[..., -1:]
            out = out.masked_fill(out < kth, float("-inf"))
        if self.top_p < 1.0:
            sorted_logits, idx = torch.sort(out, dim=-1, descending=True)
            probs = torch.softmax(sorted_logits, dim=-1)
            cum = torch.cumsum(probs, dim=-1)
            drop_sorted = (cum - probs) >= self.top_p  # keep the smallest set reaching top_p
            drop = torch.zeros_like(drop_sorted).scatter(-1, idx, drop_sorted)
            out = out.masked_fill(drop, float("-inf"))
        return out

    def sample_categorical(self, logits: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Draw one index per row of logits [..., K] by inverse CDF (one uniform per row).

        One uniform per row (rather than ``torch.multinomial``) makes two cursors whose logits
        agree to float tolerance draw the same value from the same generator.
        """
        if self.greedy:
            return logits.argmax(dim=-1)
        probs = torch.softmax(self.filter_logits(logits).double(), dim=-1)
        u = torch.rand(probs.shape[:-1], generator=generator, dtype=torch.float64, device="cpu")
        cdf = torch.cumsum(probs, dim=-1)
        u = (u.to(probs.device) * cdf[..., -1]).unsqueeze(-1)
        idx = torch.searchsorted(cdf, u).squeeze(-1)
        return idx.clamp_(max=logits.shape[-1] - 1)


GREEDY = SamplingPolicy(temperature=0.0)
