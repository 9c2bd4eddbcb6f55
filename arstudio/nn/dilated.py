"""Dilated causal convolutions over time and WaveNet's gated residual block (van den Oord et al. 2016).

A causal conv of kernel k and dilation d reads, for output t, the inputs at t - (k-1-i) d for
i = 0..k-1: the sample itself and k-1 taps into the past, never the future (WaveNet paper, Fig. 2
and 3). It is ``conv1d(pad_left(x, (k-1) d), W)``: zero-padded on the left, so the cached
generation path (``arstudio.models.wavenet_fast``) reads zeros for the positions before 0.

    dilation 4, kernel 2:   out[t] = W_0 x[t-4] + W_1 x[t]
    stacked 1, 2, 4, 8:     receptive field (k-1) * (1+2+4+8) + 1 = 16 inputs

``GatedResidualBlock`` is one layer of WaveNet's Fig. 4: the dilated conv, the gated unit of
eq. (2) with the conditioning terms of eq. (3)/(4) given as an additive bias, and 1x1 convs to the
residual stream and to the skip connections.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DilatedCausalConv1d(nn.Conv1d):
    """Conv1d over [B, C, T] whose output at t reads inputs t - (k-1) d .. t only (left zero padding).

    ``along_time`` computes the same on time-major input [B, T, C] with one matmul over the shifted
    inputs side by side, a little faster on CPUs than a dilated conv for the few channels of a WaveNet.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 2, dilation: int = 1,
                 bias: bool = True) -> None:
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation, bias=bias)
        self.left = (kernel_size - 1) * dilation  # how far into the past the kernel reaches

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (self.left, 0)))

    def along_time(self, h: torch.Tensor) -> torch.Tensor:
        """The conv of time-major h [B, T, C]: [B, T, out], out[t] = b + sum_i W_i h[t - (k-1-i) d].

        The k shifted copies of h side by side, times the taps' weights side by side: one matmul.
        """
        k, T = self.kernel_size[0], h.shape[1]
        taps = [F.pad(h[:, :max(T - s, 0)], (0, 0, min(s, T), 0)) if s else h
                for s in ((k - 1 - i) * self.dilation[0] for i in range(k))]
        return F.linear(torch.cat(taps, dim=-1), self.weight.permute(0, 2, 1).reshape(self.out_channels, -1), self.bias)


def add_term(pre: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
    """pre [B, T, W] plus a conditioning term: broadcastable to it, or [B, F, 1, W], constant over F runs of T / F."""
    if c is None:
        return pre
    if c.ndim == 4:
        B, T, W = pre.shape
        return (pre.view(B, c.shape[1], T // c.shape[1], W) + c).view(B, T, W)
    return pre + c


class GatedResidualBlock(nn.Module):
    """One WaveNet layer on time-major h [B, T, Cr]: z = tanh(W_f * h + c_f) ⊙ σ(W_g * h + c_g); h + W_r z onward.

    The filter and gate convs are one conv with 2 * ``dilation_channels`` outputs (filter first);
    ``c`` is the conditioning term V^T h (eq. 3) or V * y (eq. 4) of the same width (see
    ``add_term``), or None. ``skip`` is the layer's 1x1 to the skip connections, which the network
    applies to the returned z (accumulating every layer's skip in one fused addmm each). The last block of a network
    passes ``residual=False``: its residual output would feed nothing.
    """

    def __init__(self, residual_channels: int, dilation_channels: int, skip_channels: int, kernel_size: int,
                 dilation: int, residual: bool = True) -> None:
        super().__init__()
        self.dilation_channels = dilation_channels
        self.conv = DilatedCausalConv1d(residual_channels, 2 * dilation_channels, kernel_size, dilation)
        # No bias: h is only ever read by the next convs (which have theirs), and a bias-free
        # residual stream lets the cached path keep it as one addmm per layer.
        self.res = nn.Linear(dilation_channels, residual_channels, bias=False) if residual else None
        self.skip = nn.Linear(dilation_channels, skip_channels)

    def forward(self, h: torch.Tensor, c: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(the next layer's input, or h itself when ``residual`` is False; z), [B, T, Cr] and [B, T, Cd]."""
        pre = add_term(self.conv.along_time(h), c)  # (B, T, 2Cd)
        f, g = pre.split(self.dilation_channels, dim=-1)
        z = torch.tanh(f) * torch.sigmoid(g)  # (B, T, Cd)
        return (h + self.res(z) if self.res is not None else h), z
