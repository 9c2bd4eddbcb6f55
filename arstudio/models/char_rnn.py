"""Char-RNN: a character-level LSTM language model (Graves 2013; Karpathy's char-rnn, 2015).

    i_t, f_t, o_t = sigmoid(W_{i,f,o} [x_t, h_{t-1}] + b_{i,f,o})
    g_t = tanh(W_g [x_t, h_{t-1}] + b_g)
    c_t = f_t * c_{t-1} + i_t * g_t,   h_t = o_t * tanh(c_t)           (Graves 2013, eqs. 7-11)
    p(x_{t+1} | x_<=t) = softmax(W_y h_t^L + b_y)       (Sec. 2 and 3: top of L stacked layers, softmax)

Graves' peephole terms (W_c c in the gates) are left out, as in char-rnn and ``nn.LSTM``.
Inputs are embedded ids (one-hot times a matrix, as in char-rnn). Step 0 is predicted from a BOS
id (an extra embedding row), so every step, the first included, has a distribution. The cursor
keeps (h, c) of every layer: one LSTM step per token, O(1) in the length of the prefix.

An RNN has no context limit, but a layout has a length: ``max_len`` (at least the training window
``block_size``) is the most tokens one run writes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from arstudio.core.dists import Categorical
from arstudio.core.registry import register
from arstudio.models._text import TextModel, TokenCursor, text_spec


@dataclass
class CharRNNConfig:
    """Char-RNN's settings; ``tokenizer`` is the data's tokenizer as a JSON-able dict (None: ids only)."""

    vocab_size: int
    block_size: int = 256
    max_len: int = 0
    n_embd: int = 64
    hidden: int = 256
    n_layer: int = 2
    dropout: float = 0.0
    tokenizer: dict[str, Any] | None = None


@register("char_rnn", modality="text", title="Char-RNN (LSTM over characters)", default_data="pydoc-chars",
          default_config={"vocab_size": 104, "block_size": 256, "max_len": 1024, "n_embd": 64, "hidden": 256,
                          "n_layer": 2, "dropout": 0.1},
          tiny_config={"block_size": 8, "max_len": 8, "n_embd": 8, "hidden": 16, "n_layer": 2, "dropout": 0.0},
          train_defaults={"steps": 1000, "batch_size": 32, "lr": 3e-3, "weight_decay": 0.0, "eval_every": 100})
class CharRNN(TextModel):
    """Stacked LSTM over ``vocab_size`` ids (characters, usually) with an embedding and a linear decoder."""

    config_class = CharRNNConfig

    def __init__(self, config: CharRNNConfig) -> None:
        super().__init__()
        vocab_size, n_embd, hidden, n_layer, dropout = (config.vocab_size, config.n_embd, config.hidden,
                                                        config.n_layer, config.dropout)
        self.config = config
        self.spec = text_spec("char_rnn", asdict(config), max(config.block_size, config.max_len), vocab_size)
        self.vocab_size, self.bos = vocab_size, vocab_size  # BOS is the extra embedding row
        self.embed = nn.Embedding(vocab_size + 1, n_embd)
        self.lstm = nn.LSTM(n_embd, hidden, num_layers=n_layer, batch_first=True,
                            dropout=dropout if n_layer > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, idx: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Logits (B, T, V) for input ids (B, T) from ``state`` (h, c), each (L, B, H); and the new state."""
        e = self.drop(self.embed(idx))  # (B, T, E)
        h, state = self.lstm(e, state)  # (B, T, H); (L, B, H) twice
        return self.head(self.drop(h)), state  # (B, T, V)

    def dists(self, x: torch.Tensor, cond: Any = None) -> Categorical:
        logits, _ = self(self.inputs(x))  # (B, T, V)
        return Categorical(logits, self.labels)

    def start(self, batch: int, cond: Any = None) -> "CharRNNCursor":
        return CharRNNCursor(self, batch, cond)


class CharRNNCursor(TokenCursor):
    """Keeps the LSTM state (h, c) of every layer and the logits of the current step."""

    model: CharRNN

    def __init__(self, model: CharRNN, batch: int, cond: Any = None) -> None:
        super().__init__(model, batch, cond)
        self.state: tuple[torch.Tensor, torch.Tensor] | None = None  # zeros, as nn.LSTM starts
        self._start()

    @torch.no_grad()
    def _feed(self, idx: torch.Tensor) -> None:
        logits, self.state = self.model(idx, self.state)  # (B, T, V)
        self.logits = logits[:, -1]  # (B, V)

    def _select(self, rows: torch.Tensor) -> None:
        assert self.state is not None
        self.state = (self.state[0][:, rows], self.state[1][:, rows])
        self.logits = self.logits[rows]
