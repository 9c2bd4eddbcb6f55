"""Gated PixelCNN: vertical and horizontal stacks, gated units, class conditioning (van den Oord et al. 2016).

"Conditional Image Generation with PixelCNN Decoders", Sec. 2.1-2.3. Each layer keeps two
feature maps: the vertical stack v sees the rows above (a (k//2 + 1) x k conv over rows <= i,
shifted down one row before use), and the horizontal stack h sees the pixels to the left in the
current row (a 1 x (k//2 + 1) conv). Together they cover every earlier pixel in the receptive
field: no blind spot (Fig. 1). Both stacks use the gated activation unit

    y = tanh(W_{k,f} * x + V_{k,f}^T e(c)) (.) sigmoid(W_{k,g} * x + V_{k,g}^T e(c))     (eqs. 2, 4)

where (.) is the element-wise product and e(c) a learned embedding of the class label c (eq. 4:
conditioning on a one-hot class h through V^T h). One layer (Fig. 2), with p feature maps:

    v_pre = VConv(v)                                      (2p maps)
    v'    = gate(v_pre + e)                               (the next layer's v)
    h_pre = HConv(h) + 1x1(shift_down(v_pre)) + e         (2p maps)
    h'    = h + 1x1(gate(h_pre))                          (residual; not in the first layer)

The first layer reads the image with a wider kernel and mask A on the horizontal conv (the pixel
itself hidden); later layers use mask B. The output head is ReLU, 1x1, ReLU, 1x1 to one logit per
grey level, on the horizontal stack.

With ``classes`` > 0 the model is p(x | c): ``cond`` is a LongTensor of labels [B]; ``cond=None``
drops the class term (e(c) = 0), which gives a valid but unconditioned model.
The fast cursor (``GatedPixelCNNCursor``) computes the vertical stack one row at a time when a
row is complete, and the horizontal stack one pixel at a time (Ramachandran et al. 2017).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.core.protocol import Cursor
from arstudio.core.registry import register
from arstudio.models._image import GreyImageModel, check_image_config, image_spec
from arstudio.models.pixelcnn_cache import GatedPixelCNNCursor
from arstudio.nn.masked_conv import HorizontalConv2d, VerticalConv2d, shift_down
from arstudio.nn.masked_conv import gated_activation as gate


class GatedLayer(nn.Module):
    """One layer of both stacks (Fig. 2): vertical conv, horizontal conv, the 1x1 link v -> h, gates."""

    def __init__(self, in_channels: int, channels: int, kernel: int, first: bool, classes: int) -> None:
        super().__init__()
        self.first = first
        self.vconv = VerticalConv2d(in_channels, 2 * channels, kernel)
        self.hconv = HorizontalConv2d(in_channels, 2 * channels, kernel, "A" if first else "B")
        self.v2h = nn.Conv2d(2 * channels, 2 * channels, 1)
        self.hout = nn.Conv2d(channels, channels, 1)
        self.embed = nn.Embedding(classes, 2 * channels) if classes else None
        if self.embed is not None:
            nn.init.normal_(self.embed.weight, std=0.1)

    def class_term(self, cond: Any, batch: int, like: torch.Tensor) -> torch.Tensor:
        """V^T e(c) of eq. 4 as [B, 2p]; zeros when the model or the call is unconditional."""
        if self.embed is None or cond is None:
            return like.new_zeros(batch, self.v2h.out_channels)
        c = torch.as_tensor(cond, device=like.device).long().view(-1).expand(batch)
        n = self.embed.num_embeddings
        if c.numel() and (int(c.min()) < 0 or int(c.max()) >= n):
            raise ValueError(f"class labels must lie in 0..{n - 1} (this model has {n} classes); "
                             f"got {int(c.min())}..{int(c.max())}")
        return self.embed(c)

    def forward(self, v: torch.Tensor, h: torch.Tensor, e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e = e[:, :, None, None]  # (B, 2p, 1, 1)
        v_pre = self.vconv(v)  # (B, 2p, H, W): rows <= i
        h_pre = self.hconv(h) + self.v2h(shift_down(v_pre)) + e  # rows < i, and the left of row i
        g = self.hout(gate(h_pre))  # (B, p, H, W)
        return gate(v_pre + e), (g if self.first else h + g)


@dataclass
class GatedPixelCNNConfig:
    """Gated PixelCNN's settings: the data's shape and levels, the stacks' size, and the class count (0: none)."""

    shape: list[int]
    values: str = "categorical"
    levels: int = 8
    channels: int = 48
    layers: int = 6
    kernel: int = 3
    first_kernel: int = 7
    head: int = 128
    classes: int = 0


@register("gated_pixelcnn", modality="image", title="Gated PixelCNN (two stacks, class-conditional)",
          default_data="glyphs28",
          default_config={"shape": [1, 28, 28], "values": "categorical", "levels": 8, "channels": 48, "layers": 6,
                          "kernel": 3, "first_kernel": 7, "head": 128, "classes": 36},
          tiny_config={"shape": [1, 5, 5], "values": "categorical", "levels": 4, "channels": 8, "layers": 2,
                       "kernel": 3, "first_kernel": 3, "head": 8, "classes": 36},
          train_defaults={"steps": 5000, "batch_size": 64, "lr": 2e-3})
class GatedPixelCNN(GreyImageModel):
    """Gated PixelCNN over one grey channel, p(x | c) when ``classes`` > 0."""

    config_class = GatedPixelCNNConfig

    def __init__(self, config: GatedPixelCNNConfig) -> None:
        super().__init__()
        c = config
        self.n_values = check_image_config("gated_pixelcnn", c.shape, c.values, c.levels)
        if c.layers < 1 or c.classes < 0:
            raise ValueError("gated_pixelcnn needs at least one layer and a class count >= 0")
        self.config = config
        spec = image_spec("gated_pixelcnn", asdict(config), c.shape, c.values, self.n_values)
        self.spec = replace(spec, cond={"classes": c.classes} if c.classes else {})
        self.layers = nn.ModuleList(
            GatedLayer(1 if i == 0 else c.channels, c.channels, c.first_kernel if i == 0 else c.kernel, i == 0,
                       c.classes)
            for i in range(c.layers))
        self.head1 = nn.Conv2d(c.channels, c.head, 1)
        self.head2 = nn.Conv2d(c.head, self.n_values, 1)

    def logits_map(self, u: torch.Tensor, cond: Any = None) -> torch.Tensor:
        """Logits of every grey level at every pixel, [B, L, H, W], from the encoded input u."""
        v = h = u
        for layer in self.layers:
            v, h = layer(v, h, layer.class_term(cond, u.shape[0], u))
        return self.head2(F.relu(self.head1(F.relu(h))))

    def start(self, batch: int, cond: Any = None) -> Cursor:
        return GatedPixelCNNCursor(self, batch, cond)
