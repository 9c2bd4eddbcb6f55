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

import torch

from arstudio.core.protocol import ARModel
from arstudio.core.spec import Layout, ModelSpec, ValueSpace


class ContextTooLongError(ValueError):
    """A sequence longer than the model's context; the message says both lengths."""


def text_spec(kind: str, config: dict[str, Any], length: int, vocab_size: int) -> ModelSpec:
    """ModelSpec of a text model writing up to ``length`` tokens from ``vocab_size`` ids."""
    if vocab_size < 2:
        raise ValueError(f"a text model needs a vocabulary of at least 2 ids, got {vocab_size}")
    if length < 1:
        raise ValueError(f"a text model needs a context of at least 1 token, got {length}")
    return ModelSpec(kind, dict(config), Layout("text", (int(length),)), ValueSpace("categorical", int(vocab_size)))


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
