"""Helpers shared by the text models: the spec of a token sequence and the BOS convention.

Every text model predicts step t from the tokens before it, so step 0 needs an input too: a
beginning-of-sequence token at position 0. ``bos_id=None`` gives the model its own BOS (an extra
embedding row, id ``vocab_size``, never predicted); GPT-2 uses ``<|endoftext|>`` from its vocabulary.

The tokenizer travels in the config as an opaque JSON-able dict (``arstudio.data.tokenizers``
rebuilds it), so a checkpoint is self-contained while models import only core and nn.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch

from arstudio.core.dists import Categorical
from arstudio.core.protocol import ARModel, Cursor
from arstudio.core.registry import modality_of
from arstudio.core.spec import Layout, ModelSpec, ValueSpace


class ContextTooLongError(ValueError):
    """A sequence longer than the model's context; the message says both lengths."""


def text_spec(kind: str, config: dict[str, Any], length: int, vocab_size: int) -> ModelSpec:
    """ModelSpec of a text model writing up to ``length`` tokens from ``vocab_size`` ids."""
    if vocab_size < 2:
        raise ValueError(f"a text model needs a vocabulary of at least 2 ids, got {vocab_size}")
    if length < 1:
        raise ValueError(f"a text model needs a context of at least 1 token, got {length}")
    return ModelSpec(kind, dict(config), Layout(modality_of(kind), (int(length),)), ValueSpace("categorical", int(vocab_size)))


class TextModel(ARModel):
    """Base of the token models: x is [B, T] token ids, T up to ``layout.length``."""

    float_input = False  # ids go through an embedding: the invariant tests check causality by perturbation
    vocab_size: int
    bos: int  # the id fed at position 0

    @property
    def labels(self) -> tuple[str, ...] | None:
        """Display labels of the ids (set from the tokenizer with ``set_labels``), or None."""
        return self.spec.values.labels

    def set_labels(self, labels: tuple[str, ...] | list[str]) -> None:
        """Attach the tokenizer's display labels, so every ``Dist`` view names its tokens."""
        labels = tuple(labels)
        if len(labels) != self.vocab_size:
            raise ValueError(f"{len(labels)} labels for a vocabulary of {self.vocab_size}")
        self.spec = replace(self.spec, values=replace(self.spec.values, labels=labels))

    def check_length(self, t: int, what: str = "a sequence") -> None:
        """Raise ``ContextTooLongError`` when ``t`` tokens do not fit the context."""
        if t > self.layout.length:
            raise ContextTooLongError(f"{what} of {t} tokens is longer than this model's context of "
                                      f"{self.layout.length} tokens")

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """The tokens fed to the network for targets x [B, T]: [BOS, x_0 .. x_{T-2}], (B, T)."""
        self.check_length(x.shape[1])
        x = x.long()
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.vocab_size):
            raise ValueError(f"token ids must lie in 0..{self.vocab_size - 1}; got {int(x.min())}..{int(x.max())}")
        bos = torch.full((x.shape[0], 1), self.bos, dtype=torch.long, device=x.device)
        return torch.cat([bos, x[:, :-1]], dim=1)


class TokenCursor(Cursor):
    """Base of the text cursors: feeds BOS, then each pushed token, keeping the current logits.

    Subclasses implement ``_feed(idx)``: run ids [B, n] through the model from the cached state
    and set ``self.logits`` (B, V) to the prediction after the last of them.
    """

    model: TextModel

    def __init__(self, model: TextModel, batch: int, cond: Any = None) -> None:
        super().__init__(model, batch, cond)
        self.logits = torch.empty(0)

    def _feed(self, idx: torch.Tensor) -> None:
        raise NotImplementedError

    def _start(self) -> None:
        """Feed BOS, giving step 0's distribution (call at the end of a subclass's __init__)."""
        self._feed(torch.full((self.batch, 1), self.model.bos, dtype=torch.long, device=self.model.device))

    def dist(self) -> Categorical:
        return Categorical(self.logits, self.model.labels)

    def _update(self, x_t: torch.Tensor) -> None:
        if self.t + 1 < self.layout.length:  # the last step needs no further prediction
            self._feed(x_t.long()[:, None])

    def prefill(self, prefix: torch.Tensor) -> None:
        """Push a prompt [B, n] (or [n]) in one call of the network over its tokens."""
        prefix = torch.as_tensor(prefix, device=self.x.device).long()
        if prefix.ndim == 1:
            prefix = prefix.expand(self.batch, -1)
        n = prefix.shape[1]
        if n == 0:
            return
        self.model.check_length(self.t + n, "the prompt plus what was already written")
        if int(prefix.min()) < 0 or int(prefix.max()) >= self.model.vocab_size:
            raise ValueError(f"token ids must lie in 0..{self.model.vocab_size - 1}")
        feed = prefix if self.t + n < self.layout.length else prefix[:, :-1]
        if feed.shape[1]:
            self._feed(feed)
        self.x[:, self.t:self.t + n] = prefix
        self.t += n


class KVCacheCursor(TokenCursor):
    """A transformer's KV-cache decoding: the model called on new ids only, its cache kept (GPT, Music Transformer).

    The model is called as ``model(idx, cache, need_weights=, last_only=True) -> (logits, weights)``
    and gives ``new_cache(batch)``. ``weights`` keeps, per layer, the attention (B, nh, t+1) of the
    query that produced the current distribution over the keys [start, x_0 .. x_{t-1}];
    ``record_attention=False`` skips keeping them (plain decoding).
    """

    def __init__(self, model: TextModel, batch: int, cond: Any = None, record_attention: bool = True) -> None:
        super().__init__(model, batch, cond)
        self.record_attention = record_attention  # the attention views need them; plain decoding does not
        self.cache = model.new_cache(batch)  # type: ignore[attr-defined]
        self.weights: list[torch.Tensor] = []
        self._start()

    @torch.no_grad()
    def _feed(self, idx: torch.Tensor) -> None:
        logits, weights = self.model(idx, self.cache, need_weights=self.record_attention, last_only=True)  # (B, 1, V)
        self.logits = logits[:, -1]  # (B, V)
        self.weights = [w[:, :, -1] for w in weights]  # n_layer x (B, nh, t0+T)

    def _select(self, rows: torch.Tensor) -> None:
        self.cache.select(rows)
        self.logits = self.logits[rows]
        self.weights = [w[rows] for w in self.weights]

    @property
    def last_attention(self) -> list[np.ndarray]:
        """Per layer, the current query's attention (B, nh, t+1) over [start, x_0 .. x_{t-1}], as numpy."""
        return [w.detach().float().cpu().numpy() for w in self.weights]
