"""Causal multi-head self-attention with relative position representations (Shaw et al. 2018), in the
memory-efficient form of Music Transformer (Huang et al. 2018, arXiv:1809.04281, Sec. 3.1 and 3.4.1).

    RelativeAttention = Softmax((Q K^T + S_rel) / sqrt(D_h)) V          (Huang et al. eq. (2))
    S_rel[i, j] = q_i . E_r[i - j]                                       (Shaw et al. eq. (5), without keys' bias)

E_r holds one learned vector per head for every distance r = 0 .. max_len-1 (a query never looks
ahead, so only the lower triangle is needed). Shaw et al. gather an (L, L, D_h) tensor R with
R[i, j] = E_r[i - j] and compute S_rel = Q R^T: O(L^2 D_h) memory. Huang et al.'s "skewing"
computes Q E_r^T (L x L: column c is distance L-1-c) and moves each entry to its place:

    Q E_r^T  (L = 3; entry (i, d) = q_i . E_r[distance d])     pad a dummy column on the left
      i\\d:   2     1     0                                      0 | q0e2 q0e1 q0e0
      q0   q0e2  q0e1  q0e0                                      0 | q1e2 q1e1 q1e0
      q1   q1e2  q1e1  q1e0                                      0 | q2e2 q2e1 q2e0
      q2   q2e2  q2e1  q2e0
    reshape (L, L+1) -> (L+1, L), drop the first row:        S_rel (keys j = 0 1 2; '.' is masked)
      0    q0e2  q0e1                                          q0e0   .     .
      q0e0 0     q1e2          (dropped)                       q1e1  q1e0   .
      q1e1 q1e0  0                                             q2e2  q2e1  q2e0
      q2e2 q2e1  q2e0

so S_rel[i, j] = q_i . E_r[i - j] for j <= i, in O(L D_h) extra memory (no L x L x D_h tensor).
``skew`` does the same for a block of T new queries at positions t0 .. t0+T-1 against N = t0+T keys
(a prefill after a KV cache): the last T rows of the square case, found by an offset into the
flattened padded matrix. A single new query at position t needs no skewing at all: its relative
logits over keys 0 .. t are q_t . E_r for distances t .. 0, a slice of E_r (``step`` below); the
prefix is never recomputed.

E_r is stored in the paper's order: row m stands for distance max_len-1-m, so the distances
N-1 .. 0 are the rows max_len-N .. max_len-1, a view. ``relative=False`` gives the same layer
without S_rel (plain causal attention, for the absolute-position variant of the model).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.nn.attention import KVCache


def skew(rel: torch.Tensor, t0: int = 0) -> torch.Tensor:
    """Huang et al.'s skewing (Sec. 3.4.1), for T queries at positions t0 .. t0+T-1 over N = t0+T keys.

    ``rel`` [..., T, N] has in column c the logit of distance N-1-c (Q E_r^T with E_r's rows for
    distances N-1 .. 0). Returns S [..., T, N] with S[a, b] = rel[a, N-1-(t0+a)+b], i.e. the logit of
    distance (t0+a) - b, for every key b <= t0+a; entries with b > t0+a are garbage (to be masked).

    Pad one zero column on the left ([T, N+1]); flattened, row a of the result starts T entries
    after the start of padded row a (a(N+1) + T = aN + (N - t0) + a), so the result is the slice
    [T : T + T N] of the flattened padding, viewed as [T, N]. With t0 = 0 this is the paper's
    "reshape to (L+1, L) and drop the first row".
    """
    *lead, T, N = rel.shape
    if N != t0 + T:
        raise ValueError(f"skew: {T} queries after {t0} cached positions need {t0 + T} key columns, got {N}")
    return skew_padded(F.pad(rel, (1, 0)), t0)  # (..., T, N)


def skew_padded(padded: torch.Tensor, t0: int = 0) -> torch.Tensor:
    """``skew`` of Q E_r^T already padded with its zero column, [..., T, N+1] -> [..., T, N].

    The layer gets the padding for free (a zero row on top of E_r's rows), and the result is a view
    of ``padded`` (a slice of its flattened last two dimensions): the skewing copies nothing.
    """
    *lead, T, N1 = padded.shape
    N = N1 - 1
    if N != t0 + T:
        raise ValueError(f"skew: {T} queries after {t0} cached positions need {t0 + T} key columns, got {N}")
    flat = padded.reshape(*lead, T * (N + 1))  # (..., T(N+1)): a view of a contiguous tensor
    return flat[..., T:T + T * N].unflatten(-1, (T, N))  # (..., T, N)


def relative_logits_reference(q: torch.Tensor, rel_emb: torch.Tensor, t0: int = 0) -> torch.Tensor:
    """S_rel the direct way (Shaw et al. 2018): gather R[a, b] = E_r[(t0+a) - b] and take q . R: O(T N D) memory.

    ``q`` [..., T, D]; ``rel_emb`` [..., M, D] in the paper's order (row m: distance M-1-m). Returns
    [..., T, N] with N = t0+T; entries for keys after the query (negative distance) are 0. For tests.
    """
    T, M = q.shape[-2], rel_emb.shape[-2]
    N = t0 + T
    dist = (torch.arange(t0, N)[:, None] - torch.arange(N)[None, :]).to(q.device)  # (T, N)
    row = (M - 1 - dist).clamp(0, M - 1)  # (T, N): row of E_r for each distance
    R = rel_emb[..., row, :]  # (..., T, N, D)
    out = (q.unsqueeze(-2) * R).sum(-1)  # (..., T, N)
    return out.masked_fill(dist < 0, 0.0)


class RelativeMultiheadAttention(nn.Module):
    """Causal multi-head self-attention with Huang et al.'s relative logits and a KV-cache step.

    ``max_len`` is the longest context (the largest distance is max_len-1); ``relative=False`` drops
    S_rel (plain causal attention); ``shared_heads`` shares one E_r among the heads (Shaw et al.)
    instead of one per head (Huang et al.).
    """

    def __init__(self, d_model: int, n_heads: int, max_len: int, dropout: float = 0.0, relative: bool = True,
                 shared_heads: bool = False) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be a multiple of n_heads ({n_heads})")
        if max_len < 1:
            raise ValueError(f"max_len must be at least 1, got {max_len}")
        self.d_model, self.n_heads, self.head_size, self.max_len = d_model, n_heads, d_model // n_heads, max_len
        self.relative = relative
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.attn_dropout = nn.Dropout(dropout)
        self.resid_dropout = nn.Dropout(dropout)
        if relative:  # E_r: (heads or 1, max_len, D_h); row m is distance max_len-1-m
            self.rel_emb = nn.Parameter(torch.randn(1 if shared_heads else n_heads, max_len, self.head_size) * 0.02)
        else:
            self.register_parameter("rel_emb", None)

    def rel_rows(self, n: int) -> torch.Tensor:
        """E_r's rows for the distances n-1 .. 0, (heads or 1, n, D_h): a view, no copy."""
        if n > self.max_len:
            raise ValueError(f"relative attention reaches {self.max_len} positions back; {n} were asked for")
        return self.rel_emb[:, self.max_len - n:]

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0, need_weights: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, C) at positions t0 .. t0+T-1 (t0 = ``cache.pos``, else 0) -> (y (B, T, C), weights or None).

        With ``cache`` the new keys / values go to layer ``layer`` of it and the queries see every
        cached position; the weights are (B, nh, T, t0+T) when ``need_weights``.
        """
        B, T, C = x.shape
        nh, hs = self.n_heads, self.head_size
        q, k, v = self.qkv(x).split(C, dim=2)  # (B, T, C) each
        q = q.view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        t0 = 0
        if cache is not None:
            t0 = cache.pos
            k, v = cache.append(layer, k, v)  # (B, nh, N, hs), N = t0+T
        N = t0 + T
        if not self.relative and not need_weights and (t0 == 0 or T == 1):  # plain attention: the fused kernel
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.attn_dropout.p if self.training else 0.0,
                                               is_causal=T > 1)  # (B, nh, T, hs)
            return self.resid_dropout(self.proj(y.transpose(1, 2).reshape(B, T, C))), None
        q = q * (1.0 / math.sqrt(hs))  # the 1/sqrt(D_h) of eq. (2), on Q: T x hs numbers instead of T x N
        att = q @ k.transpose(-2, -1)  # (B, nh, T, N): Q K^T / sqrt(D_h)
        if self.relative and T == 1:  # one query at t = N-1: E_r's rows for distances t .. 0 face keys 0 .. t
            att = att + q @ self.rel_rows(N).transpose(-2, -1)  # (B, nh, 1, N)
        elif self.relative:  # Q [0; E_r]^T: the zero row is skewing's dummy column, (B, nh, T, N+1)
            rows = self.rel_rows(N)  # (nh or 1, N, hs)
            padded = q @ F.pad(rows, (0, 0, 1, 0)).transpose(-2, -1)  # (B, nh, T, N+1)
            att = att + skew_padded(padded, t0)  # (B, nh, T, N): S_rel / sqrt(D_h)
        if T > 1:
            keep = torch.ones(T, N, dtype=torch.bool, device=x.device).tril(diagonal=t0)  # (T, N): key b <= t0+a
            att = att.masked_fill_(~keep, float("-inf"))
        weights = F.softmax(att, dim=-1)  # (B, nh, T, N)
        y = self.attn_dropout(weights) @ v  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C): heads side by side
        return self.resid_dropout(self.proj(y)), (weights if need_weights else None)
