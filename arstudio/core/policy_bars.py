"""What a sampling policy draws from at one step: a bars view's probabilities after temperature, top-k, top-p.

The run record keeps the model's own distribution (temperature 1, every value). The policy's is
computed from it here with ``SamplingPolicy.filter_logits``, the function sampling uses. A compact
view lists only the most likely values and the mass of the others; those others are taken as
sharing their mass equally (each is below every listed value, so top-k's and top-p's cut among the
listed values is the same), which makes the result exact whenever the policy keeps listed values
only and either temperature is 1 or top-k keeps at most the listed ones; ``exact`` says so.
Temperature is shown as it acts on logits (logits / T); PixelCNN++'s mixture tempers its weights
and scales instead, which this does not follow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from arstudio.core.dists import DistView
from arstudio.core.policy import SamplingPolicy

PLAIN = SamplingPolicy()


@dataclass(frozen=True)
class PolicyBars:
    """Row 0 of a bars view as the policy sees it: ``probs`` [K] over the view's listed values, ``rest`` over the others."""

    probs: np.ndarray  # [K] probability of each listed value under the policy
    rest: float  # policy mass of the values a compact view leaves out (0 when the policy cuts them all)
    kept: np.ndarray  # [K] bool: the policy can draw this value
    exact: bool  # False when it rests on a compact view's unlisted values sharing their mass equally


def describe(policy: SamplingPolicy) -> str:
    """The policy in a few words: "greedy", "T 0.7 · top-k 5 · top-p 0.9"."""
    if policy.greedy:
        return "greedy"
    parts = [f"T {policy.temperature:g}"] if policy.temperature != 1.0 else []
    if policy.top_k:
        parts.append(f"top-k {policy.top_k}")
    if policy.top_p < 1.0:
        parts.append(f"top-p {policy.top_p:g}")
    return " · ".join(parts) or "T 1"


def policy_bars(view: DistView, policy: SamplingPolicy | None) -> PolicyBars | None:
    """The policy's probabilities for row 0 of a bars ``view``; None for a density or a policy that changes nothing."""
    if policy is None or policy == PLAIN or view.kind != "bars":
        return None
    p = np.asarray(view.probs[0], dtype=np.float64)
    n, others = len(p), view.others
    rest = float(view.rest[0]) if view.rest is not None and others else 0.0
    logp = np.log(np.clip(p, 1e-300, None))
    logp[p <= 0] = -np.inf
    if others and rest > 0:  # the unlisted values, each with an equal share of their mass
        logp = np.concatenate([logp, np.full(others, np.log(rest / others))])
    if policy.greedy:
        q = np.zeros(len(logp))
        q[int(np.argmax(logp))] = 1.0
    else:
        filtered = policy.filter_logits(torch.from_numpy(logp))
        q = torch.softmax(filtered, dim=-1).numpy()
    q_rest = float(q[n:].sum())
    listed = q[:n]
    exact = (not others or rest <= 0 or policy.greedy
             or (q_rest == 0.0 and (policy.temperature == 1.0 or 0 < policy.top_k <= n or policy.top_p >= 1.0)))
    return PolicyBars(listed, q_rest, listed > 0, bool(exact))
