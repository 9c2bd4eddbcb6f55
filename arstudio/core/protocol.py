"""The one protocol every autoregressive model implements (see DESIGN.md).

A model gives, in parallel, the distribution of every step under teacher forcing (``dists``) and
hence ``log_prob``; and it starts a ``Cursor``, the incremental sampling state that hands out
p(x_t | x_<t) one step at a time. ``NaiveCursor`` recomputes the parallel model on the whole
prefix at every step: it is the baseline every fast cursor is checked and benchmarked against.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, Self

import torch
from torch import nn

from arstudio.core.dists import Dist
from arstudio.core.spec import Layout, ModelSpec


def config_keys(config_class: type) -> list[str]:
    """The keys a model's config takes: the fields of its config dataclass, in order."""
    return [f.name for f in dataclasses.fields(config_class)]


def config_from_dict(config_class: type, config: Mapping[str, Any], owner: str = "") -> Any:
    """``config_class(**config)``; ValueError naming any unknown key, or a required one that is missing."""
    known = config_keys(config_class)
    who = f" for {owner}" if owner else ""
    unknown = [k for k in config if k not in known]
    if unknown:
        keys = ", ".join(repr(k) for k in unknown)
        raise ValueError(f"unknown config key{'s' if len(unknown) > 1 else ''} {keys}{who} (known: {', '.join(known)})")
    missing = [f.name for f in dataclasses.fields(config_class) if f.name not in config
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ValueError(f"the config{who} lacks {', '.join(repr(k) for k in missing)}")
    return config_class(**config)


class ARModel(nn.Module):
    """Base class of every model: x is [B, D] flat in data order; steps follow ``spec.layout``.

    Each model has a config dataclass beside it (``config_class``); its constructor takes one, and
    its ``spec.config`` is that dataclass as a dict, so every setting reaches the checkpoint.
    """

    spec: ModelSpec
    config_class: ClassVar[type]  # the model's config dataclass, e.g. NADEConfig

    def dists(self, x: torch.Tensor, cond: Any = None) -> Dist:
        """p(x_t | x_<t, cond) for every step t at once (teacher forcing); batch shape [B, T].

        Entry t of the result belongs to step t, i.e. to data index ``layout.index(t)``.
        """
        raise NotImplementedError

    @property
    def layout(self) -> Layout:
        """The layout sampling currently follows."""
        return self.spec.layout

    def steps_of(self, x: torch.Tensor) -> torch.Tensor:
        """Reorder flat data x [B, D] into step order [B, T]."""
        order = self.layout.order
        if order is None:
            return x
        return x[:, torch.as_tensor(order, device=x.device)]

    def log_prob(self, x: torch.Tensor, cond: Any = None) -> torch.Tensor:
        """log p(x_t | x_<t, cond) for every step t, in parallel: [B, T]."""
        return self.dists(x, cond).log_prob(self.steps_of(x))

    def nll(self, x: torch.Tensor, cond: Any = None) -> torch.Tensor:
        """Negative log-likelihood per example in nats, [B] (what training minimises)."""
        return -self.log_prob(x, cond).sum(-1)

    def training_loss(self, x: torch.Tensor, cond: Any = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """The scalar a training step minimises: mean NLL in nats (order-agnostic models vary the order)."""
        return self.nll(x, cond).mean()

    def eval_nll(self, x: torch.Tensor, cond: Any = None) -> torch.Tensor:
        """Held-out NLL per example in nats, [B] (an ensemble over orderings where a model has several)."""
        return self.nll(x, cond)

    num_orderings: int = 1

    def select_ordering(self, k: int) -> None:
        """Follow ordering k of ``num_orderings`` (changes ``layout``); single-order models have only 0."""
        if k != 0:
            raise ValueError(f"{self.spec.kind} has a single ordering; got ordering {k}")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        """Build a model from its config dict (as stored in a checkpoint); ValueError for an unknown key."""
        config_class = getattr(cls, "config_class", None)
        if config_class is None or not dataclasses.is_dataclass(config_class):
            raise TypeError(f"{cls.__qualname__} declares no config dataclass (set config_class)")
        return cls(config_from_dict(config_class, config, getattr(cls, "kind_name", cls.__name__)))

    def example_cond(self, batch: int, generator: torch.Generator | None = None) -> Any:
        """A random conditioning of ``batch`` samples for the invariant checks, or None for an unconditional model.

        The default draws class labels [B] when ``spec.cond["classes"]`` is set; a model conditioned
        on something else (a voice and a mel, a caption) overrides it.
        """
        n = self.spec.cond.get("classes")
        if not n:
            return None
        return torch.randint(int(n), (batch,), generator=generator).to(self.device)

    def start(self, batch: int, cond: Any = None) -> "Cursor":
        """Incremental sampling state at step 0. Models override this with a fast cursor."""
        return NaiveCursor(self, batch, cond)

    def data_dtype(self) -> torch.dtype:
        """dtype of data tensors x: long for discrete values, float for continuous ones."""
        return torch.long if self.spec.values.discrete else torch.float32

    @property
    def device(self) -> torch.device:
        """Device of the model's parameters."""
        p = next(self.parameters(), None)
        return p.device if p is not None else torch.device("cpu")

    def num_parameters(self) -> int:
        """Number of trainable scalars."""
        return sum(p.numel() for p in self.parameters())


class Cursor:
    """The model's memory while sampling: running activations, RNN state, KV cache, conv queues."""

    def __init__(self, model: ARModel, batch: int, cond: Any = None) -> None:
        self.model = model
        self.batch = batch
        self.cond = cond
        self.layout = model.layout
        self.t = 0
        self.x = torch.zeros(batch, self.layout.length, dtype=model.data_dtype(), device=model.device)

    @property
    def done(self) -> bool:
        """True once every step has been pushed."""
        return self.t >= self.layout.length

    def dist(self) -> Dist:
        """p(x_t | x_<t, cond) from the cached state; batch shape [B]."""
        raise NotImplementedError

    def push(self, x_t: torch.Tensor) -> None:
        """Append the chosen values [B] of step t and update the caches."""
        if self.done:
            raise IndexError(f"all {self.layout.length} steps have been pushed")
        x_t = torch.as_tensor(x_t, device=self.x.device)
        if x_t.ndim == 0:
            x_t = x_t.expand(self.batch)
        x_t = x_t.to(self.x.dtype)
        self._update(x_t)
        self.x[:, self.layout.index(self.t)] = x_t
        self.t += 1

    def _update(self, x_t: torch.Tensor) -> None:
        """Update the caches with x_t before it is written; called by ``push``."""

    def select(self, rows: torch.Tensor) -> None:
        """Keep / reorder batch rows (beam search, picking a branch)."""
        rows = torch.as_tensor(rows, device=self.x.device, dtype=torch.long)
        self.x = self.x[rows]
        self.batch = int(rows.numel())
        self._select(rows)

    def _select(self, rows: torch.Tensor) -> None:
        """Reorder the caches' batch rows; called by ``select``."""

    def begin_prompt(self) -> None:
        """The values pushed next, from step 0, are a prompt (``generate`` and beam search say so).

        Most models read a prompt as any other values and ignore this; an imported GPT-2 drops BOS
        from its context, since transformers feeds a prompt without it.
        """

    def prefill(self, prefix: torch.Tensor) -> None:
        """Push a prefix [B, t0] of values in step order."""
        for i in range(prefix.shape[1]):
            self.push(prefix[:, i])


class NaiveCursor(Cursor):
    """Recomputes the parallel model on the whole prefix at every step: O(T) work per step."""

    @torch.no_grad()
    def dist(self) -> Dist:
        return self.model.dists(self.x, self.cond)[:, self.t]

    def _select(self, rows: torch.Tensor) -> None:
        if isinstance(self.cond, torch.Tensor):
            self.cond = self.cond[rows]
