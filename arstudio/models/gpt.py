"""GPT: a decoder-only transformer language model (Radford et al. 2018; GPT-2, Radford et al. 2019).

    h_0 = W_e[u] + W_p                                    token + learned position embeddings
    h_l = block(h_{l-1}),  l = 1..n                        (Radford et al. 2018, eq. 2)
    P(u_t | u_<t) = softmax(LN(h_n) W_e^T)                 weight-tied head

GPT-2's block is pre-LayerNorm (2019, Sec. 2.3): x = x + attn(LN_1(x)); x = x + mlp(LN_2(x)), with
a final LN after the last block, GELU (tanh form) in the MLP, and residual projections initialised
with std 0.02 / sqrt(2 n_layer). Module names follow GPT-2's checkpoints (``transformer.h.0.attn
.c_attn``), so ``gpt2_import`` maps a Hugging Face GPT-2 folder onto this class by name.

Step t is predicted from the tokens before it: the input at position 0 is a BOS token, so the
network sees [BOS, x_0 .. x_{T-2}] and predicts x_0 .. x_{T-1}. The context is ``block_size``
positions, so the model writes at most ``block_size`` tokens; a longer sequence (prompt plus new
tokens) is refused with ``ContextTooLongError`` rather than silently cropped.

The cursor keeps a ``KVCache``: each new token costs one position's worth of attention against the
cache (O(t)) instead of a pass over the whole prefix (O(t^2)); ``prefill`` writes a whole prompt in
one pass. It also keeps the current query's attention weights per layer and head for the attention
view (``last_attention``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.core.dists import Categorical
from arstudio.core.registry import register
from arstudio.models._text import KVCacheCursor, TextModel, text_spec
from arstudio.nn.attention import CausalSelfAttention, KVCache


class MLP(nn.Module):
    """Position-wise feed-forward network: c_proj(GELU(c_fc(x))), width 4 C."""

    def __init__(self, n_embd: int, bias: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
        self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x), approximate="tanh")))  # (B, T, C)


class Block(nn.Module):
    """Pre-LayerNorm transformer block (GPT-2)."""

    def __init__(self, n_embd: int, n_head: int, bias: bool, dropout: float, eps: float) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd, eps=eps, bias=bias)
        self.attn = CausalSelfAttention(n_embd, n_head, bias, dropout)
        self.ln_2 = nn.LayerNorm(n_embd, eps=eps, bias=bias)
        self.mlp = MLP(n_embd, bias, dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0, need_weights: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        a, w = self.attn(self.ln_1(x), cache, layer, need_weights)
        x = x + a  # (B, T, C)
        return x + self.mlp(self.ln_2(x)), w


@dataclass
class GPTConfig:
    """GPT's settings, in GPT-2's names; ``bos_id`` None: its own BOS row; ``tokenizer``: a JSON-able dict, or None.

    ``bos_before_prompt`` False reads a prompt without BOS before it (``GPTCursor.begin_prompt``), as
    transformers feeds GPT-2 a prompt. It is a setting, saved with the checkpoint, so that an imported
    GPT-2 resumed in training and saved as our checkpoint still continues prompts as transformers does.
    """

    vocab_size: int
    block_size: int = 256
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True
    bos_id: int | None = None
    layer_norm_epsilon: float = 1e-5
    tokenizer: dict[str, Any] | None = None
    bos_before_prompt: bool = True


@register("gpt", modality="text", title="GPT (decoder-only transformer, KV cache)", default_data="pydoc",
          default_config={"vocab_size": 1024, "block_size": 256, "n_layer": 4, "n_head": 4, "n_embd": 128,
                          "dropout": 0.1},
          tiny_config={"block_size": 8, "n_layer": 2, "n_head": 2, "n_embd": 16, "dropout": 0.0},
          train_defaults={"steps": 700, "batch_size": 16, "lr": 1.5e-3, "weight_decay": 0.0, "eval_every": 100})
class GPT(TextModel):
    """GPT-2-style language model over ``vocab_size`` token ids with a context of ``block_size``."""

    config_class = GPTConfig

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        c = config
        vocab_size, block_size, n_layer, n_head, n_embd = c.vocab_size, c.block_size, c.n_layer, c.n_head, c.n_embd
        dropout, bias, bos_id, layer_norm_epsilon = c.dropout, c.bias, c.bos_id, c.layer_norm_epsilon
        self.config = config
        self.spec = text_spec("gpt", asdict(config), block_size, vocab_size)
        if bos_id is not None and not 0 <= bos_id < vocab_size:
            raise ValueError(f"bos_id {bos_id} is outside the vocabulary 0..{vocab_size - 1}")
        if n_embd % n_head:
            raise ValueError(f"n_embd ({n_embd}) must be a multiple of n_head ({n_head})")
        self.vocab_size, self.block_size, self.n_layer, self.n_head = vocab_size, block_size, n_layer, n_head
        self.bos = vocab_size if bos_id is None else bos_id  # our own BOS is an extra embedding row
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab_size + (bos_id is None), n_embd),
            wpe=nn.Embedding(block_size, n_embd),
            drop=nn.Dropout(dropout),
            h=nn.ModuleList(Block(n_embd, n_head, bias, dropout, layer_norm_epsilon) for _ in range(n_layer)),
            ln_f=nn.LayerNorm(n_embd, eps=layer_norm_epsilon, bias=bias),
        ))
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):  # GPT-2's scaled init of the residual projections
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx: torch.Tensor, cache: KVCache | None = None, need_weights: bool = False,
                last_only: bool = False) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits (B, T, V) for input ids idx (B, T) at positions ``cache.pos ..`` (0 without a cache).

        With ``need_weights`` also each layer's attention weights, (B, nh, T, t0+T); with
        ``last_only`` only the last position's logits, (B, 1, V) (a prefill needs no more).
        """
        B, T = idx.shape
        t0 = cache.pos if cache is not None else 0
        self.check_length(t0 + T, "the context")
        tr = self.transformer
        pos = torch.arange(t0, t0 + T, dtype=torch.long, device=idx.device)  # (T,)
        x = tr.drop(tr.wte(idx) + tr.wpe(pos))  # (B, T, C)
        weights = []
        for layer, block in enumerate(tr.h):
            x, w = block(x, cache, layer, need_weights)  # (B, T, C)
            if w is not None:
                weights.append(w)
        if cache is not None:
            cache.advance(T)
        if last_only:
            x = x[:, -1:]  # (B, 1, C)
        x = tr.ln_f(x)  # (B, T, C)
        logits = F.linear(x, tr.wte.weight[: self.vocab_size])  # (B, T, V): the head is W_e^T
        return logits, weights

    def dists(self, x: torch.Tensor, cond: Any = None) -> Categorical:
        logits, _ = self(self.inputs(x))  # (B, T, V)
        return Categorical(logits, self.labels)

    def new_cache(self, batch: int) -> KVCache:
        """An empty KV cache for ``batch`` sequences of up to ``block_size`` positions."""
        hs = self.transformer.wte.weight.shape[1] // self.n_head
        w = self.transformer.wte.weight
        return KVCache(self.n_layer, batch, self.n_head, self.block_size, hs, w.device, w.dtype)

    def start(self, batch: int, cond: Any = None, record_attention: bool = True) -> "GPTCursor":
        """A KV-cache cursor; ``record_attention=False`` uses the fused attention kernel (faster, no weights)."""
        return GPTCursor(self, batch, cond, record_attention)


class GPTCursor(KVCacheCursor):
    """KV-cache decoding: feeds BOS, then each pushed token, one position at a time.

    ``last_attention`` holds, per layer, the weights (B, nh, t+1) of the query that produced the
    current distribution over the keys BOS, x_0, .., x_{t-1}.
    """

    model: GPT

    def begin_prompt(self) -> None:
        """With ``bos_before_prompt`` False, drop BOS from the context: the prompt takes positions 0, 1, ...

        Our own GPT keeps BOS (it was trained on windows that each start with BOS). An imported GPT-2
        does not: it was trained on windows cut from a stream of documents, and transformers feeds a
        prompt's ids alone. Step 0's distribution stays p(x_0 | BOS), the log p of the prompt's first
        token; every later step is predicted from the prompt alone, as ``GPT2LMHeadModel`` does.
        """
        if self.model.config.bos_before_prompt:
            return
        if self.t != 0:
            raise ValueError(f"a prompt begins at step 0; this cursor is at step {self.t}")
        self.cache.pos = 0  # the cache holds no position: BOS is forgotten, its prediction kept
