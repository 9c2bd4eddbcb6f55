"""PixelRNN's Row LSTM (van den Oord, Kalchbrenner & Kavukcuoglu 2016, "Pixel Recurrent Neural Networks", Sec. 3.1).

The image is p(x) = prod_i p(x_i | x_<i) in raster order (eq. 1), each conditional a softmax over
the grey levels (Sec. 2.2). The network (Sec. 3.1, 3.4, Fig. 5, Table 2):

- a k x k conv with mask A (``MaskedConv2d``): the first layer, which hides the current pixel;
- Row LSTM layers with residual connections. Each processes the image row by row:

      [o_i, f_i, i_i, g_i] = sigma(K^ss (*) h_{i-1} + K^is (*) x_i)                   (eq. 3)
      c_i = f_i (.) c_{i-1} + i_i (.) g_i,     h_i = o_i (.) tanh(c_i)

  with sigma the logistic sigmoid for o, f, i and tanh for g. K^is is the input-to-state conv
  along row i, width k, masked with mask B (columns j - k//2 .. j: the 1 x (k//2 + 1) kernel of
  ``HorizontalConv2d``); it is computed for the whole map at once. K^ss is the state-to-state
  1D conv of width k over the previous row's states (columns j - k//2 .. j + k//2). A layer maps
  2h feature maps to h states, a 1x1 conv back to 2h, plus its input (the residual of Fig. 5);
- ReLU, 1x1 conv, ReLU, 1x1 conv to one logit per grey level.

The state at (i, j) depends on the inputs (i, j-k//2 .. j) and on the states (i-1, j-k//2 ..
j+k//2), hence on the states of row i-r at columns j-r k//2 .. j+r k//2: a triangular receptive
field above the pixel, which (unlike the Diagonal BiLSTM) misses part of the available context,
as the paper notes. Within row i a state needs only inputs up to column j, so the cursor
(``RowLSTMCursor``) fills row i's states column by column as pixels arrive, keeping row i-1's
states and their state-to-state term: one column per layer per step.
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
from arstudio.nn.masked_conv import HorizontalConv2d, MaskedConv2d


def lstm_cell(gates: torch.Tensor, c_prev: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 3's update from the gate pre-activations [B, 4h, ...] = [o, f, i, g] and c_{i-1}: (h_i, c_i)."""
    o, f, i, g = gates.chunk(4, dim=1)
    c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


class RowLSTMLayer(nn.Module):
    """One Row LSTM layer with its residual connection: 2h maps in, 2h maps out."""

    def __init__(self, channels: int, kernel: int) -> None:
        super().__init__()
        self.hidden = max(channels // 2, 1)
        self.input_to_state = HorizontalConv2d(channels, 4 * self.hidden, kernel, "B")  # K^is, mask B
        self.state_to_state = nn.Conv1d(self.hidden, 4 * self.hidden, kernel, padding=kernel // 2)  # K^ss
        self.out = nn.Conv2d(self.hidden, channels, 1)
        with torch.no_grad():  # forget-gate bias 1: remember the row above at first
            self.state_to_state.bias[self.hidden:2 * self.hidden].fill_(1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, height, width = x.shape
        s = self.input_to_state(x)  # (B, 4h, H, W): every row's K^is at once
        h = c = x.new_zeros(b, self.hidden, width)
        rows = []
        for i in range(height):
            h, c = lstm_cell(s[:, :, i, :] + self.state_to_state(h), c)  # (B, h, W)
            rows.append(h)
        return x + self.out(torch.stack(rows, dim=2))  # (B, 2h, H, W)


@dataclass
class PixelRNNConfig:
    """Row LSTM PixelRNN's settings: the data's shape and levels, the width and depth, the kernels, the head."""

    shape: list[int]
    values: str = "categorical"
    levels: int = 17
    channels: int = 64
    layers: int = 3
    kernel: int = 3
    first_kernel: int = 7
    head: int = 128


@register("pixelrnn", modality="image", title="PixelRNN (Row LSTM)", default_data="digits17",
          default_config={"shape": [1, 8, 8], "values": "categorical", "levels": 17, "channels": 64, "layers": 3,
                          "kernel": 3, "first_kernel": 7, "head": 128},
          tiny_config={"shape": [1, 4, 5], "values": "categorical", "levels": 4, "channels": 8, "layers": 2,
                       "kernel": 3, "first_kernel": 3, "head": 8},
          train_defaults={"steps": 1500, "batch_size": 64, "lr": 2e-3, "eval_every": 250})
class PixelRNN(GreyImageModel):
    """Row LSTM PixelRNN over one grey channel: mask-A conv, ``layers`` Row LSTM layers, a 1x1 head."""

    config_class = PixelRNNConfig

    def __init__(self, config: PixelRNNConfig) -> None:
        super().__init__()
        c = config
        self.n_values = check_image_config("pixelrnn", c.shape, c.values, c.levels)
        if c.layers < 1 or c.channels < 2 or c.kernel < 1 or c.kernel % 2 != 1:
            raise ValueError("pixelrnn needs layers >= 1, channels >= 2 and an odd kernel")
        self.config = config
        self.spec = image_spec("pixelrnn", asdict(config), c.shape, c.values, self.n_values)
        self.first = MaskedConv2d(1, c.channels, c.first_kernel, "A")
        self.layers = nn.ModuleList(RowLSTMLayer(c.channels, c.kernel) for _ in range(c.layers))
        self.head1 = nn.Conv2d(c.channels, c.head, 1)
        self.head2 = nn.Conv2d(c.head, self.n_values, 1)

    def logits_map(self, u: torch.Tensor, cond: Any = None) -> torch.Tensor:
        h = self.first(u)  # (B, 2h, H, W)
        for layer in self.layers:
            h = layer(h)
        return self.head2(F.relu(self.head1(F.relu(h))))  # (B, L, H, W)

    def start(self, batch: int, cond: Any = None) -> "RowLSTMCursor":
        return RowLSTMCursor(self, batch, cond)


class RowLSTMCursor(CachedImageCursor):
    """Keeps, per layer, row i-1's states (h, c) and K^ss of them, and fills row i column by column.

    The mask-A first conv and every K^is keep their padded inputs (``ConvCache``), so pixel (i, j)
    costs one column of each: O(layers) small products per step instead of the whole image.
    """

    def __init__(self, model: PixelRNN, batch: int, cond: Any = None) -> None:
        super().__init__(model, batch, cond)
        dev, hh, w = model.device, self.height, self.width
        self.first = ConvCache(model.first, batch, hh, w, dev)
        self.inputs = [ConvCache(layer.input_to_state, batch, hh, w, dev) for layer in model.layers]
        zeros = [torch.zeros(batch, layer.hidden, w, device=dev) for layer in model.layers]
        self.h_prev, self.c_prev = list(zeros), list(zeros)  # row i-1 (zeros above row 0)
        self.h_cur = [z.clone() for z in zeros]  # row i, filled column by column
        self.c_cur = [z.clone() for z in zeros]
        self.ss = self._state_to_state()  # K^ss (*) h_{i-1}, (B, 4h, W) per layer

    def _caches(self) -> list[ConvCache]:
        return [self.first, *self.inputs]

    @torch.no_grad()
    def _state_to_state(self) -> list[torch.Tensor]:
        return [layer.state_to_state(h) for layer, h in zip(self.model.layers, self.h_prev)]

    def _compute(self, i: int, j: int) -> torch.Tensor:
        """Every layer's state and output at (i, j), into the caches; the logits of pixel (i, j), [B, L]."""
        m = self.model
        f = self.first.at(i, j)  # (B, 2h)
        for n, layer in enumerate(m.layers):
            self.inputs[n].write(i, j, f)
            gates = self.inputs[n].at(i, j) + self.ss[n][:, :, j]  # (B, 4h)
            h, c = lstm_cell(gates, self.c_prev[n][:, :, j])
            self.h_cur[n][:, :, j], self.c_cur[n][:, :, j] = h, c
            f = f + pointwise(layer.out, h)
        return pointwise(m.head2, F.relu(pointwise(m.head1, F.relu(f))))

    def _write_pixel(self, i: int, j: int, u: torch.Tensor) -> None:
        self.first.write(i, j, u)
        if j == self.width - 1:  # row i is complete: it becomes the row above
            self.h_prev, self.c_prev = self.h_cur, self.c_cur
            self.h_cur = [torch.zeros_like(h) for h in self.h_prev]
            self.c_cur = [torch.zeros_like(c) for c in self.c_prev]
            self.ss = self._state_to_state()

    def _select(self, rows: torch.Tensor) -> None:
        super()._select(rows)
        self.h_prev, self.c_prev = [h[rows] for h in self.h_prev], [c[rows] for c in self.c_prev]
        self.h_cur, self.c_cur = [h[rows] for h in self.h_cur], [c[rows] for c in self.c_cur]
        self.ss = [s[rows] for s in self.ss]
