"""Music Transformer: a decoder-only transformer over performance events with relative attention
(Huang et al. 2018, "Music Transformer", arXiv:1809.04281).

    h_0 = W_e[u]  (+ W_p, absolute positions only)          event embeddings, a learned start state first
    h_l = h_{l-1} + Attn(LN(h_{l-1}));  h_l += FFN(LN(h_l))  pre-LN blocks, l = 1..n_layers
    Attn = Softmax((Q K^T + S_rel) / sqrt(D_h)) V            relative attention (Huang et al. eq. (2))
    P(x_t | x_<t) = Categorical(softmax(LN(h_n) W_o))        over the 388 events; W_o = W_e^T when tied

The events are Oore et al. 2018's performance vocabulary (128 note-on, 128 note-off, 100 time
shifts, 32 velocities = 388). ``attention="relative"`` is Huang et al.'s relative attention, whose
S_rel[i, j] = q_i . E_r[i - j] (Shaw et al. 2018) comes from the memory-efficient "skewing" of
Sec. 3.4.1 (``arstudio.nn.relative_attention``), one E_r per head and layer for distances
0 .. length-1; ``attention="absolute"`` is the same network with learned absolute position
embeddings added to the input instead (the paper's baseline Transformer), so the two differ only
there.

There is no start token in the data: the network sees [S, x_0 .. x_{T-2}] and predicts x_0 .. x_{T-1},
where S is a learned start embedding (an extra row of W_e, never predicted), as the GPT here does
with its BOS. A primer is a prefix of event ids.

The cursor keeps a KV cache for both attention kinds (the public implementations recompute the
prefix for relative attention): a new event at position t costs one query against the cached keys,
its relative logits q_t . E_r for distances t .. 0 a slice of E_r, so O(t) per event instead of a
pass over the whole prefix. It also keeps the current query's attention weights for the studio's
attention view (``attention()`` and ``last_attention``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from arstudio.core.dists import Categorical
from arstudio.core.registry import register
from arstudio.models._text import ContextTooLongError, KVCacheCursor, TextModel, text_spec
from arstudio.nn.attention import KVCache
from arstudio.nn.relative_attention import RelativeMultiheadAttention

ATTENTION_KINDS = ("relative", "absolute")


@dataclass
class MusicTransformerConfig:
    """The Music Transformer's settings: ``length`` is the context (events per sequence, the largest distance + 1).

    The default size (d_model 128, 4 layers of 4 heads, d_ff 512: 1.37M parameters with relative
    attention at length 1,024, 0.97M with absolute) is what trains usefully in about half an hour
    on two CPU cores: a training step over 4 x 1,024 events takes ~3.5 CPU-seconds (relative) and
    ~2.6 (absolute), where 256 wide with 8 heads takes ~7.
    """

    vocab: int = 388
    length: int = 1024
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    d_ff: int = 512
    dropout: float = 0.1
    attention: str = "relative"
    tie_embeddings: bool = True


class FeedForward(nn.Module):
    """Position-wise feed-forward network of the Transformer: W_2 ReLU(W_1 x), width ``d_ff``."""

    def __init__(self, d_model: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        self.fc1 = nn.Linear(d_model, d_ff)
        self.fc2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.fc2(F.relu(self.fc1(x))))  # (B, T, C)


class MusicBlock(nn.Module):
    """Pre-LayerNorm decoder block: x + Attn(LN(x)), then + FFN(LN(x))."""

    def __init__(self, c: MusicTransformerConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(c.d_model)
        self.attn = RelativeMultiheadAttention(c.d_model, c.n_heads, c.length, c.dropout,
                                               relative=c.attention == "relative")
        self.ln_2 = nn.LayerNorm(c.d_model)
        self.ff = FeedForward(c.d_model, c.d_ff, c.dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0, need_weights: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        a, w = self.attn(self.ln_1(x), cache, layer, need_weights)
        x = x + a  # (B, T, C)
        return x + self.ff(self.ln_2(x)), w


def _check_config(c: MusicTransformerConfig) -> None:
    if c.attention not in ATTENTION_KINDS:
        raise ValueError(f"attention must be one of {', '.join(ATTENTION_KINDS)}; got {c.attention!r}")
    for name in ("vocab", "length", "d_model", "n_layers", "n_heads", "d_ff"):
        if getattr(c, name) < (2 if name == "vocab" else 1):
            raise ValueError(f"{name} must be at least {2 if name == 'vocab' else 1}, got {getattr(c, name)}")
    if c.d_model % c.n_heads:
        raise ValueError(f"d_model ({c.d_model}) must be a multiple of n_heads ({c.n_heads})")
    if not 0.0 <= c.dropout < 1.0:
        raise ValueError(f"dropout must lie in [0, 1), got {c.dropout}")


@register("music_transformer", modality="music", title="Music Transformer (relative attention)",
          default_data="bach-chorales", tiny_data="scales",
          default_config={"vocab": 388, "length": 1024, "d_model": 128, "n_layers": 4, "n_heads": 4, "d_ff": 512,
                          "dropout": 0.1, "attention": "relative"},
          tiny_config={"length": 12, "d_model": 16, "n_layers": 2, "n_heads": 2, "d_ff": 32, "dropout": 0.0},
          train_defaults={"steps": 700, "batch_size": 4, "lr": 1e-3, "weight_decay": 0.0, "eval_every": 100})
class MusicTransformer(TextModel):
    """Decoder-only transformer over ``vocab`` event ids with a context of ``length`` events, relative or absolute."""

    config_class = MusicTransformerConfig

    def __init__(self, config: MusicTransformerConfig) -> None:
        super().__init__()
        _check_config(config)
        c = self.config = config
        self.spec = text_spec("music_transformer", asdict(config), c.length, c.vocab)
        self.vocab_size, self.n_layers, self.n_heads = c.vocab, c.n_layers, c.n_heads
        self.bos = c.vocab  # the learned start state: an extra embedding row, never predicted
        self.embed = nn.Embedding(c.vocab + 1, c.d_model)
        self.pos = nn.Embedding(c.length, c.d_model) if c.attention == "absolute" else None
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(MusicBlock(c) for _ in range(c.n_layers))
        self.ln_f = nn.LayerNorm(c.d_model)
        self.head = None if c.tie_embeddings else nn.Linear(c.d_model, c.vocab, bias=False)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith(("attn.proj.weight", "ff.fc2.weight")):  # GPT-2's scaled residual init
                nn.init.normal_(p, mean=0.0, std=0.02 / (2 * c.n_layers) ** 0.5)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)

    def input_embedding(self) -> nn.Module:
        """The embedding of the event ids (for the causality-by-gradient check)."""
        return self.embed

    def check_length(self, t: int, what: str = "a sequence") -> None:
        """Raise ``ContextTooLongError`` when ``t`` events do not fit the context."""
        if t > self.layout.length:
            raise ContextTooLongError(f"{what} of {t} events is longer than this model's context of "
                                      f"{self.layout.length} events")

    def forward(self, idx: torch.Tensor, cache: KVCache | None = None, need_weights: bool = False,
                last_only: bool = False) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits (B, T, V) for input ids idx (B, T) at positions ``cache.pos ..`` (0 without a cache).

        With ``need_weights`` also each layer's attention weights (B, nh, T, t0+T); with
        ``last_only`` only the last position's logits (B, 1, V).
        """
        B, T = idx.shape
        t0 = cache.pos if cache is not None else 0
        self.check_length(t0 + T, "the context")
        x = self.embed(idx)  # (B, T, C)
        if self.pos is not None:
            x = x + self.pos(torch.arange(t0, t0 + T, device=idx.device))  # (B, T, C)
        x = self.drop(x)
        weights = []
        for layer, block in enumerate(self.blocks):
            x, w = block(x, cache, layer, need_weights)  # (B, T, C)
            if w is not None:
                weights.append(w)
        if cache is not None:
            cache.advance(T)
        if last_only:
            x = x[:, -1:]  # (B, 1, C)
        x = self.ln_f(x)  # (B, T, C)
        head = self.embed.weight[: self.vocab_size] if self.head is None else self.head.weight
        return F.linear(x, head), weights  # (B, T, V)

    def dists(self, x: torch.Tensor, cond: Any = None) -> Categorical:
        logits, _ = self(self.inputs(x))  # (B, T, V)
        return Categorical(logits, self.labels)

    def new_cache(self, batch: int) -> KVCache:
        """An empty KV cache for ``batch`` sequences of up to ``length`` positions."""
        w = self.embed.weight
        hs = self.config.d_model // self.n_heads
        return KVCache(self.n_layers, batch, self.n_heads, self.config.length, hs, w.device, w.dtype)

    def start(self, batch: int, cond: Any = None, record_attention: bool = True) -> "MusicTransformerCursor":
        """A KV-cache cursor; ``record_attention=False`` skips keeping the weights (plain decoding)."""
        return MusicTransformerCursor(self, batch, cond, record_attention)


class MusicTransformerCursor(KVCacheCursor):
    """KV-cache decoding for relative and absolute attention: feeds S, then each pushed event.

    ``last_attention`` holds, per layer, the weights (B, nh, t+1) of the query that produced the
    current distribution, over the keys S, x_0 .. x_{t-1}.
    """

    model: MusicTransformer

    def attention(self, row: int = 0, with_start: bool = False) -> np.ndarray | None:
        """The attention of the current step's query in batch row ``row``: [n_layers, n_heads, t], or None at t = 0.

        Entry [l, h, s] is the weight head h of layer l gives past event x_s (s < t), the event
        pushed at step s; the weight on the start state S is left out, so a row sums to 1 minus it.
        ``with_start=True`` gives [n_layers, n_heads, t+1] with S first: rows that sum to 1.
        None before the first push, and when the cursor keeps no weights (``record_attention=False``).
        """
        if self.t == 0 or not self.weights or self.weights[0].shape[-1] != self.t + 1:
            return None  # the last push of a full context computes no further query
        w = torch.stack([a[row] for a in self.weights]).detach().float().cpu().numpy()  # (L, nh, t+1)
        return w if with_start else w[:, :, 1:]
