"""Causal multi-head self-attention (Vaswani et al. 2017, eq. 1) and the key/value cache that makes
incremental decoding O(t) per token instead of O(t^2).

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k) + M) V,   M[i, j] = -inf for j > i   (eq. 1)

    mask M for T = 4 (row i: which positions query i sees)
         k0 k1 k2 k3
    q0    1  .  .  .
    q1    1  1  .  .
    q2    1  1  1  .
    q3    1  1  1  1

With a cache, the keys and values of positions < t0 are kept; a block of new queries at positions
t0 .. t0+T-1 sees every cached key and the new keys up to its own position (the mask's rows
t0 .. t0+T-1). Decoding one token is the single last row.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class KVCache:
    """Keys and values of every layer for the positions seen so far, preallocated to ``max_len``.

    ``k[l]`` and ``v[l]`` are (B, nh, max_len, hs); positions ``0 .. pos-1`` are filled. A forward
    pass over new tokens calls ``append`` once per layer, then ``advance`` once.
    """

    def __init__(self, n_layer: int, batch: int, n_head: int, max_len: int, head_size: int,
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> None:
        shape = (batch, n_head, max_len, head_size)
        self.k = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(n_layer)]
        self.v = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(n_layer)]
        self.max_len = max_len
        self.pos = 0  # number of positions filled

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store new keys / values (B, nh, T, hs) at ``pos``; return all of them, (B, nh, pos+T, hs)."""
        end = self.pos + k.shape[2]
        if end > self.max_len:
            raise ValueError(f"the KV cache holds {self.max_len} positions; {end} were asked for")
        self.k[layer][:, :, self.pos:end] = k
        self.v[layer][:, :, self.pos:end] = v
        return self.k[layer][:, :, :end], self.v[layer][:, :, :end]

    def advance(self, n: int) -> None:
        """Mark ``n`` more positions as filled (after every layer has appended them)."""
        self.pos += n

    def select(self, rows: torch.Tensor) -> None:
        """Keep / reorder batch rows (beam search, picking a branch)."""
        self.k = [k[rows] for k in self.k]
        self.v = [v[rows] for v in self.v]


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with GPT-2's fused ``c_attn`` (q, k, v) and output ``c_proj``."""

    def __init__(self, n_embd: int, n_head: int, bias: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"n_embd ({n_embd}) must be a multiple of n_head ({n_head})")
        self.n_head, self.n_embd = n_head, n_embd
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.attn_dropout = nn.Dropout(dropout)
        self.resid_dropout = nn.Dropout(dropout)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0, need_weights: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, C) -> (y (B, T, C), attention weights (B, nh, T, t0+T) or None).

        With ``cache``, x holds the tokens at positions ``cache.pos ..``; their keys and values are
        appended to layer ``layer`` of the cache. ``need_weights`` computes attention explicitly
        and returns the weights (for the attention view); otherwise the fused kernel is used.
        """
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)  # (B, T, C) each
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        t0 = 0
        if cache is not None:
            t0 = cache.pos
            k, v = cache.append(layer, k, v)  # (B, nh, t0+T, hs)
        weights = None
        if need_weights or (t0 > 0 and T > 1):
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))  # (B, nh, T, t0+T)
            if T > 1:
                keep = torch.ones(T, t0 + T, dtype=torch.bool, device=x.device).tril(diagonal=t0)  # rows of M
                att = att.masked_fill(~keep, float("-inf"))
            weights = F.softmax(att, dim=-1)
            y = self.attn_dropout(weights) @ v  # (B, nh, T, hs)
        else:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0,
                                               is_causal=T > 1)  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C): heads side by side
        return self.resid_dropout(self.c_proj(y)), weights
