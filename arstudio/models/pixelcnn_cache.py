"""Cached cursors for PixelCNN and Gated PixelCNN (Ramachandran et al. 2017, "Fast Generation for
Convolutional Autoregressive Models").

Naive sampling runs the whole network over the whole image for every pixel: O(D) positions per
step. But in raster order a feature at position q of any layer depends on x_<q only, so once step
q has begun it never changes. The cursors therefore keep, for every spatial (masked) conv, its
zero-padded input map (``ConvCache``), and at each step compute only what the new pixel needs:

- PixelCNN: one output position per layer, the current pixel t. Its k x k window in the layer's
  input holds positions <= t, all computed at earlier steps or just now by the layer below.
- Gated PixelCNN: the horizontal stack one position per layer, as above; the vertical stack one
  whole row per layer when that row of the image is complete (row i feeds rows > i only, through
  the shift down), so a row costs W positions once instead of W positions at every step.

Either way a step costs O(1) positions per layer instead of O(D): the cache of Ramachandran et al.
kept per layer (their queues hold exactly the rows and pixels a new output reads).

Every conv here is ``conv2d(pad(x), W * M) + b``, so an output pixel is a dot product of the
masked kernel with a window of the padded input, and an output row a conv over a strip of kh rows:
the same arithmetic as the parallel pass, up to float summation order. Sampling draws by inverse
CDF with one uniform per row, so the cursors draw the same values as ``NaiveCursor`` on the same
seed (the invariant tests check it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.core.dists import Categorical
from arstudio.core.protocol import Cursor
from arstudio.nn.masked_conv import CausalConv2d
from arstudio.nn.masked_conv import encode_pixels
from arstudio.nn.masked_conv import gated_activation as gate

if TYPE_CHECKING:
    from arstudio.models.gated_pixelcnn import GatedPixelCNN
    from arstudio.models.pixelcnn import PixelCNN


class ConvCache:
    """The zero-padded input of one ``CausalConv2d``, filled in as sampling goes; its output at a pixel or a row."""

    def __init__(self, conv: CausalConv2d, batch: int, height: int, width: int, device: torch.device) -> None:
        left, right, top, bottom = conv.causal_padding
        self.kh, self.kw = conv.kernel_size
        self.top, self.left, self.width = top, left, width
        w = conv.masked_weight().detach()  # (O, C, kh, kw)
        self.weight = w
        # Only the taps that some output reads: a mask-A 7x7 kernel has 24 of 49 open.
        open_taps = (conv.mask.flatten(2) != 0).any(dim=0).any(dim=0)  # (kh * kw,)
        self.taps = open_taps.nonzero().squeeze(1).to(device)
        self.weight_taps = w.flatten(2)[:, :, self.taps].reshape(w.shape[0], -1).contiguous()  # (O, C * taps)
        self.bias = conv.bias.detach() if conv.bias is not None else None
        self.buf = torch.zeros(batch, conv.in_channels, height + top + bottom, width + left + right, device=device)

    def write(self, i: int, j: int, v: torch.Tensor) -> None:
        """Set the input at pixel (i, j) to v [B, C]."""
        self.buf[:, :, i + self.top, j + self.left] = v

    def write_row(self, i: int, v: torch.Tensor) -> None:
        """Set the input's row i to v [B, C, W]."""
        self.buf[:, :, i + self.top, self.left:self.left + self.width] = v

    def read(self, i: int, j: int) -> torch.Tensor:
        """The input at pixel (i, j), [B, C]."""
        return self.buf[:, :, i + self.top, j + self.left]

    def at(self, i: int, j: int) -> torch.Tensor:
        """The conv's output at pixel (i, j), [B, O]: the masked kernel dotted with its window."""
        window = self.buf[:, :, i:i + self.kh, j:j + self.kw].flatten(2)[:, :, self.taps]  # (B, C, taps)
        return F.linear(window.flatten(1), self.weight_taps, self.bias)

    def row(self, i: int) -> torch.Tensor:
        """The conv's output along row i, [B, O, W]."""
        return F.conv2d(self.buf[:, :, i:i + self.kh, :], self.weight, self.bias)[:, :, 0, :]

    def select(self, rows: torch.Tensor) -> None:
        """Keep / reorder batch rows."""
        self.buf = self.buf[rows]


def pointwise(conv: nn.Conv2d, v: torch.Tensor) -> torch.Tensor:
    """A 1x1 conv applied to feature vectors [B, C] or rows [B, C, W]."""
    w = conv.weight.detach().flatten(1)  # (O, C)
    b = conv.bias.detach() if conv.bias is not None else None
    if v.ndim == 2:
        return F.linear(v, w, b)
    return F.conv1d(v, w.unsqueeze(-1), b)


class CachedImageCursor(Cursor):
    """Shared bookkeeping: the place of step t, the per-step logits computed once, batch selection."""

    def __init__(self, model: Any, batch: int, cond: Any = None) -> None:
        super().__init__(model, batch, cond)
        _, self.height, self.width = model.image_shape
        self._logits: torch.Tensor | None = None  # logits of step self.t, once computed

    def _caches(self) -> list[ConvCache]:
        raise NotImplementedError

    def _compute(self, i: int, j: int) -> torch.Tensor:
        """Fill every layer's output at pixel (i, j) into the caches; return its logits [B, L]."""
        raise NotImplementedError

    def _ensure(self) -> torch.Tensor:
        if self._logits is None:
            with torch.no_grad():
                self._logits = self._compute(*divmod(self.t, self.width))
        return self._logits

    def dist(self) -> Categorical:
        return Categorical(self._ensure())

    def _update(self, x_t: torch.Tensor) -> None:
        self._ensure()  # a push without dist() (prefill) still needs this step's features
        with torch.no_grad():
            self._write_pixel(*divmod(self.t, self.width), encode_pixels(x_t, self.model.n_values).view(self.batch, 1))
        self._logits = None

    def _write_pixel(self, i: int, j: int, u: torch.Tensor) -> None:
        raise NotImplementedError

    def _select(self, rows: torch.Tensor) -> None:
        for c in self._caches():
            c.select(rows)
        if self._logits is not None:
            self._logits = self._logits[rows]
        if isinstance(self.cond, torch.Tensor) and self.cond.ndim > 0:
            self.cond = self.cond[rows]


class PixelCNNCursor(CachedImageCursor):
    """Keeps the input of every masked conv; computes one pixel per layer per step."""

    def __init__(self, model: "PixelCNN", batch: int, cond: Any = None) -> None:
        super().__init__(model, batch, cond)
        dev, h, w = model.device, self.height, self.width
        self.first = ConvCache(model.first, batch, h, w, dev)
        self.blocks = [ConvCache(b.conv, batch, h, w, dev) for b in model.blocks]

    def _caches(self) -> list[ConvCache]:
        return [self.first, *self.blocks]

    def _compute(self, i: int, j: int) -> torch.Tensor:
        m = self.model
        h = self.first.at(i, j)  # (B, 2h)
        for block, cache in zip(m.blocks, self.blocks):
            cache.write(i, j, F.relu(pointwise(block.reduce, F.relu(h))))
            h = h + pointwise(block.expand, F.relu(cache.at(i, j)))
        return pointwise(m.head2, F.relu(pointwise(m.head1, F.relu(h))))

    def _write_pixel(self, i: int, j: int, u: torch.Tensor) -> None:
        self.first.write(i, j, u)


class GatedPixelCNNCursor(CachedImageCursor):
    """Vertical stack one row per layer when a row is complete; horizontal stack one pixel per layer per step."""

    def __init__(self, model: "GatedPixelCNN", batch: int, cond: Any = None) -> None:
        super().__init__(model, batch, cond)
        dev, h, w = model.device, self.height, self.width
        self.v = [ConvCache(layer.vconv, batch, h, w, dev) for layer in model.layers]
        self.h = [ConvCache(layer.hconv, batch, h, w, dev) for layer in model.layers]
        with torch.no_grad():
            like = torch.zeros(1, device=dev)
            self.e = [layer.class_term(cond, batch, like) for layer in model.layers]  # (B, 2p) each
            # Row 0 reads the shifted vertical stack's zero row: the 1x1 link gives its bias.
            self.v2h = [pointwise(layer.v2h, torch.zeros(batch, layer.v2h.in_channels, w, device=dev))
                        for layer in model.layers]  # (B, 2p, W) each: the vertical term of the current row

    def _caches(self) -> list[ConvCache]:
        return [*self.v, *self.h]

    def _compute(self, i: int, j: int) -> torch.Tensor:
        m = self.model
        out = None
        for n, layer in enumerate(m.layers):
            h_pre = self.h[n].at(i, j) + self.v2h[n][:, :, j] + self.e[n]  # (B, 2p)
            g = pointwise(layer.hout, gate(h_pre))  # (B, p)
            out = g if layer.first else self.h[n].read(i, j) + g
            if n + 1 < len(m.layers):
                self.h[n + 1].write(i, j, out)
        return pointwise(m.head2, F.relu(pointwise(m.head1, F.relu(out))))

    def _write_pixel(self, i: int, j: int, u: torch.Tensor) -> None:
        self.v[0].write(i, j, u)
        self.h[0].write(i, j, u)
        if j < self.width - 1:
            return
        # Row i is complete: run the vertical stack along it, for the rows below.
        layers = self.model.layers
        for n, layer in enumerate(layers):
            v_pre = self.v[n].row(i)  # (B, 2p, W)
            self.v2h[n] = pointwise(layer.v2h, v_pre)
            if n + 1 < len(layers):
                self.v[n + 1].write_row(i, gate(v_pre + self.e[n][:, :, None]))

    def _select(self, rows: torch.Tensor) -> None:
        super()._select(rows)
        self.e = [e[rows] for e in self.e]
        self.v2h = [v[rows] for v in self.v2h]
