"""PixelRNN's Diagonal BiLSTM (van den Oord, Kalchbrenner & Kavukcuoglu 2016, "Pixel Recurrent Neural Networks", Sec. 3.2).

The image is p(x) = prod_i p(x_i | x_<i) in raster order (eq. 1), each conditional a softmax over
the grey levels. The network: a mask-A k x k conv, Diagonal BiLSTM layers with residual
connections (Fig. 5), then ReLU, 1x1, ReLU, 1x1 to one logit per level, as for the Row LSTM.

A diagonal LSTM runs over the image skewed so that row i moves i columns right (Fig. 3): each
column of the skewed map is one diagonal of the image, and the state of a column comes from the
column before it, so the state at (i, j) sees its two predecessors (i, j-1) and (i-1, j):

    [o, f, i, g] = sigma(K^ss (*) h_{prev column} + K^is (*) x)          (eq. 3, kernel 2 x 1)
    c = f (.) c_{left} + i (.) g,     h = o (.) tanh(c)

K^is is a 1x1 conv of the layer's input (mask B: the input at (i, j) never depends on pixel
(i, j)), K^ss a 2 x 1 conv along the previous column. Its state at (i, j) depends on every input
at (r, c) with r <= i, c <= j. The second direction runs right to left (on the mirrored map); its
map is shifted down one row and added to the first's (Sec. 3.2), so output (i, j) reads it at
(i - 1, j), which depends on rows <= i - 1 at columns >= j.

One change from the paper, to have no blind spot: the right-to-left direction also reads the
pixel value at its own place. Without it no feature at (i, j) could see pixel (i - 1, W - 1) for
j < W - k//2 - 1: a layer's input at (r, c) never depends on pixel (r, c) (mask B), the
left-to-right state at (i, j) reads only columns <= j, and the right-to-left state read at (i, j)
covers row i - 1 from column j on, whose inputs do not see that row's own pixels at or right of
them. Its output is used one row lower, so reading pixel (i - 1, j) there is causal. With it, every
earlier pixel reaches every later one in a single layer (the dependency test checks this).

The cursor (``DiagonalBiLSTMCursor``) keeps, per layer, the left-to-right states of the row
above and of the current row so far, and the right-to-left states of the row above; it computes
the left-to-right direction one pixel at a time and the right-to-left direction one row at a
time, when a row is complete: O(layers) small products per step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.core.registry import register
from arstudio.models._image import GreyImageModel, check_image_config, image_spec
from arstudio.models.pixelcnn_cache import CachedImageCursor, ConvCache, pointwise
from arstudio.models.pixelrnn import lstm_cell
from arstudio.nn.masked_conv import MaskedConv2d, shift_down


def skew(x: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] -> [B, C, H, W + H - 1] with row i moved i columns right (Fig. 3): a column is a diagonal."""
    b, c, height, width = x.shape
    out = x.new_zeros(b, c, height, width + height - 1)
    for i in range(height):
        out[:, :, i, i:i + width] = x[:, :, i]
    return out


def unskew(s: torch.Tensor, width: int) -> torch.Tensor:
    """The inverse of ``skew``: [B, C, H, W + H - 1] -> [B, C, H, W]."""
    return torch.stack([s[:, :, i, i:i + width] for i in range(s.shape[2])], dim=2)


def diagonal_lstm(inputs: torch.Tensor, state_to_state: nn.Conv1d, hidden: int) -> torch.Tensor:
    """Left-to-right diagonal LSTM over K^is of an image, [B, 4h, H, W] -> states [B, h, H, W].

    Places of the skewed map outside the image keep zero state, so the states left of column 0
    and above row 0 are zero, as in the cursor.
    """
    b, _, height, width = inputs.shape
    s = skew(inputs)  # (B, 4h, H, W + H - 1)
    cols = s.shape[-1]
    rows = torch.arange(height, device=inputs.device)
    h = c = inputs.new_zeros(b, hidden, height)
    out = []
    for col in range(cols):
        j = col - rows  # the image column of each row's place in this diagonal
        inside = ((j >= 0) & (j < width)).to(inputs.dtype)  # (H,)
        gates = s[:, :, :, col] + state_to_state(F.pad(h, (1, 0)))  # row i: h(i-1, j) and h(i, j-1)
        h, c = lstm_cell(gates, c)
        h, c = h * inside, c * inside
        out.append(h)
    return unskew(torch.stack(out, dim=-1), width)


class DiagonalBiLSTMLayer(nn.Module):
    """One Diagonal BiLSTM layer with its residual connection: 2h maps in, 2h maps out."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.hidden = max(channels // 2, 1)
        h = self.hidden
        self.fwd_input = nn.Conv2d(channels, 4 * h, 1)  # K^is, left to right
        self.rev_input = nn.Conv2d(channels + 1, 4 * h, 1)  # K^is, right to left: the features and the pixel
        self.fwd_state = nn.Conv1d(h, 4 * h, 2)  # K^ss, 2 x 1: (i-1, j) and (i, j-1)
        self.rev_state = nn.Conv1d(h, 4 * h, 2)  # K^ss of the mirrored map: (i-1, j) and (i, j+1)
        self.out = nn.Conv2d(h, channels, 1)
        with torch.no_grad():  # forget-gate bias 1: carry the state along at first
            for conv in (self.fwd_state, self.rev_state):
                conv.bias[h:2 * h].fill_(1.0)

    def forward(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """x: the layer's input [B, 2h, H, W]; u: the encoded pixels [B, 1, H, W]."""
        fwd = diagonal_lstm(self.fwd_input(x), self.fwd_state, self.hidden)
        rev = diagonal_lstm(self.rev_input(torch.cat([x, u], dim=1)).flip(-1), self.rev_state, self.hidden).flip(-1)
        return x + self.out(fwd + shift_down(rev))


@dataclass
class DiagonalBiLSTMConfig:
    """Diagonal BiLSTM PixelRNN's settings: the data's shape and levels, width and depth, first kernel, head."""

    shape: list[int]
    values: str = "categorical"
    levels: int = 17
    channels: int = 64
    layers: int = 2
    first_kernel: int = 7
    head: int = 128


@register("pixelrnn_bilstm", modality="image", title="PixelRNN (Diagonal BiLSTM)", default_data="digits17",
          default_config={"shape": [1, 8, 8], "values": "categorical", "levels": 17, "channels": 64, "layers": 2,
                          "first_kernel": 7, "head": 128},
          tiny_config={"shape": [1, 4, 5], "values": "categorical", "levels": 4, "channels": 8, "layers": 2,
                       "first_kernel": 3, "head": 8},
          train_defaults={"steps": 1500, "batch_size": 64, "lr": 2e-3, "eval_every": 250})
class DiagonalBiLSTMPixelRNN(GreyImageModel):
    """Diagonal BiLSTM PixelRNN over one grey channel: mask-A conv, ``layers`` BiLSTM layers, a 1x1 head."""

    config_class = DiagonalBiLSTMConfig

    def __init__(self, config: DiagonalBiLSTMConfig) -> None:
        super().__init__()
        c = config
        self.n_values = check_image_config("pixelrnn_bilstm", c.shape, c.values, c.levels)
        if c.layers < 1 or c.channels < 2:
            raise ValueError("pixelrnn_bilstm needs layers >= 1 and channels >= 2")
        self.config = config
        self.spec = image_spec("pixelrnn_bilstm", asdict(config), c.shape, c.values, self.n_values)
        self.first = MaskedConv2d(1, c.channels, c.first_kernel, "A")
        self.layers = nn.ModuleList(DiagonalBiLSTMLayer(c.channels) for _ in range(c.layers))
        self.head1 = nn.Conv2d(c.channels, c.head, 1)
        self.head2 = nn.Conv2d(c.head, self.n_values, 1)

    def logits_map(self, u: torch.Tensor, cond: Any = None) -> torch.Tensor:
        h = self.first(u)  # (B, 2h, H, W)
        for layer in self.layers:
            h = layer(h, u)
        return self.head2(F.relu(self.head1(F.relu(h))))  # (B, L, H, W)

    def start(self, batch: int, cond: Any = None) -> "DiagonalBiLSTMCursor":
        return DiagonalBiLSTMCursor(self, batch, cond)


class DiagonalBiLSTMCursor(CachedImageCursor):
    """Left-to-right states pixel by pixel, right-to-left states row by row when a row is complete."""

    def __init__(self, model: DiagonalBiLSTMPixelRNN, batch: int, cond: Any = None) -> None:
        super().__init__(model, batch, cond)
        dev, w = model.device, self.width
        self.first = ConvCache(model.first, batch, self.height, w, dev)
        zeros = [torch.zeros(batch, layer.hidden, w, device=dev) for layer in model.layers]
        self.fwd_above = [z.clone() for z in zeros]  # h of row i-1, left to right
        self.fwd_h = [z.clone() for z in zeros]  # row i so far
        self.fwd_c = [z.clone() for z in zeros]
        self.rev_above = [z.clone() for z in zeros]  # h of row i-1, right to left (what row i reads)
        self.inputs = [torch.zeros(batch, layer.out.out_channels, w, device=dev) for layer in model.layers]
        self.pixels = torch.zeros(batch, 1, w, device=dev)  # encoded values of row i

    def _caches(self) -> list[ConvCache]:
        return [self.first]

    def _compute(self, i: int, j: int) -> torch.Tensor:
        """Every layer's left-to-right state and output at (i, j); the logits of pixel (i, j), [B, L]."""
        m = self.model
        f = self.first.at(i, j)  # (B, 2h)
        for n, layer in enumerate(m.layers):
            self.inputs[n][:, :, j] = f
            wss = layer.fwd_state.weight.detach()  # (4h, h, 2): tap 0 reads (i-1, j), tap 1 reads (i, j-1)
            gates = pointwise(layer.fwd_input, f) + F.linear(self.fwd_above[n][:, :, j], wss[:, :, 0],
                                                             layer.fwd_state.bias.detach())
            if j > 0:
                gates = gates + F.linear(self.fwd_h[n][:, :, j - 1], wss[:, :, 1])
                c_left = self.fwd_c[n][:, :, j - 1]
            else:
                c_left = torch.zeros_like(self.fwd_c[n][:, :, 0])
            h, c = lstm_cell(gates, c_left)
            self.fwd_h[n][:, :, j], self.fwd_c[n][:, :, j] = h, c
            f = f + pointwise(layer.out, h + self.rev_above[n][:, :, j])
        return pointwise(m.head2, F.relu(pointwise(m.head1, F.relu(f))))

    def _write_pixel(self, i: int, j: int, u: torch.Tensor) -> None:
        self.first.write(i, j, u)
        self.pixels[:, :, j] = u
        if j == self.width - 1:
            self._finish_row()

    def _finish_row(self) -> None:
        """Row i is complete: its right-to-left states (per layer), and it becomes the row above."""
        for n, layer in enumerate(self.model.layers):
            pre = pointwise(layer.rev_input, torch.cat([self.inputs[n], self.pixels], dim=1))  # (B, 4h, W)
            wss, bias = layer.rev_state.weight.detach(), layer.rev_state.bias.detach()
            up = F.conv1d(self.rev_above[n], wss[:, :, :1], bias)  # tap 0: (i-1, j), every column at once
            h = c = torch.zeros_like(self.rev_above[n][:, :, 0])
            row = torch.zeros_like(self.rev_above[n])
            for j in range(self.width - 1, -1, -1):  # tap 1: (i, j+1), the place before in the mirrored map
                h, c = lstm_cell(pre[:, :, j] + up[:, :, j] + F.linear(h, wss[:, :, 1]), c)
                row[:, :, j] = h
            self.rev_above[n] = row
            self.fwd_above[n] = self.fwd_h[n]
            self.fwd_h[n], self.fwd_c[n] = torch.zeros_like(row), torch.zeros_like(row)

    def _select(self, rows: torch.Tensor) -> None:
        super()._select(rows)
        for name in ("fwd_above", "fwd_h", "fwd_c", "rev_above", "inputs"):
            setattr(self, name, [s[rows] for s in getattr(self, name)])
        self.pixels = self.pixels[rows]
