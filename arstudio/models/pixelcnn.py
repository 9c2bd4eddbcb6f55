"""PixelCNN: masked convolutions over pixels in raster order (van den Oord, Kalchbrenner & Kavukcuoglu 2016).

"Pixel Recurrent Neural Networks", Sec. 3.4 and 3.5. The image is modelled as

    p(x) = prod_i p(x_i | x_1, ..., x_{i-1})                                     (eq. 1)

with each conditional a softmax over the data's grey levels (Sec. 2.2, "pixels as discrete variables"). The
network is a 7x7 conv with mask A, then residual blocks (Fig. 5: ReLU, 1x1 conv to h channels,
ReLU, 3x3 conv with mask B, ReLU, 1x1 conv back to 2h channels, plus the input), then ReLU, 1x1,
ReLU, 1x1 to the logits of every grey level at every pixel. The masks (drawn in
``arstudio.nn.masked_conv``) make the logits at pixel i depend on x_<i only, so one forward pass
gives every conditional at once for training; sampling still goes pixel by pixel.

Stacked masked convs leave a *blind spot*: pixels above and to the right of pixel i that lie
inside its receptive field's bounding box yet never reach it (Gated PixelCNN paper, Fig. 1).
``arstudio.models.dependency`` makes it visible.

The pixels enter the first conv as floats, level v of L mapped to 2 v / (L - 1) - 1 in [-1, 1].
The fast cursor (``PixelCNNCursor`` in ``pixelcnn_cache``) keeps every masked conv's input and
computes one pixel per layer per step (Ramachandran et al. 2017).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.core.protocol import Cursor
from arstudio.core.registry import register
from arstudio.models._image import GreyImageModel, check_image_config, image_spec
from arstudio.models.pixelcnn_cache import PixelCNNCursor
from arstudio.nn.masked_conv import MaskedConv2d


class ResidualBlock(nn.Module):
    """PixelRNN paper Fig. 5: 2h -> ReLU, 1x1 -> h -> ReLU, k x k mask B -> h -> ReLU, 1x1 -> 2h, plus the input."""

    def __init__(self, channels: int, kernel: int) -> None:
        super().__init__()
        half = max(channels // 2, 1)
        self.reduce = nn.Conv2d(channels, half, 1)
        self.conv = MaskedConv2d(half, half, kernel, "B")
        self.expand = nn.Conv2d(half, channels, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        z = self.conv(F.relu(self.reduce(F.relu(h))))
        return h + self.expand(F.relu(z))


@dataclass
class PixelCNNConfig:
    """PixelCNN's settings: the data's shape and levels, the conv stack's width, depth and kernels, the head."""

    shape: list[int]
    values: str = "categorical"
    levels: int = 8
    channels: int = 64
    layers: int = 7
    kernel: int = 3
    first_kernel: int = 7
    head: int = 128


@register("pixelcnn", modality="image", title="PixelCNN (masked convolutions)", default_data="glyphs28",
          default_config={"shape": [1, 28, 28], "values": "categorical", "levels": 8, "channels": 64, "layers": 7,
                          "kernel": 3, "first_kernel": 7, "head": 128},
          tiny_config={"shape": [1, 5, 5], "values": "categorical", "levels": 4, "channels": 8, "layers": 2,
                       "kernel": 3, "first_kernel": 3, "head": 8},
          train_defaults={"steps": 5000, "batch_size": 64, "lr": 2e-3})
class PixelCNN(GreyImageModel):
    """PixelCNN over one grey channel: mask-A conv, ``layers`` mask-B residual blocks, a 1x1 head."""

    config_class = PixelCNNConfig

    def __init__(self, config: PixelCNNConfig) -> None:
        super().__init__()
        c = config
        self.n_values = check_image_config("pixelcnn", c.shape, c.values, c.levels)
        self.config = config
        self.spec = image_spec("pixelcnn", asdict(config), c.shape, c.values, self.n_values)
        self.first = MaskedConv2d(1, c.channels, c.first_kernel, "A")
        self.blocks = nn.ModuleList(ResidualBlock(c.channels, c.kernel) for _ in range(c.layers))
        self.head1 = nn.Conv2d(c.channels, c.head, 1)
        self.head2 = nn.Conv2d(c.head, self.n_values, 1)

    def logits_map(self, u: torch.Tensor, cond: Any = None) -> torch.Tensor:
        """Logits of every grey level at every pixel, [B, L, H, W], from the encoded input u."""
        h = self.first(u)  # (B, 2h, H, W)
        for block in self.blocks:
            h = block(h)
        return self.head2(F.relu(self.head1(F.relu(h))))  # (B, L, H, W)

    def start(self, batch: int, cond: Any = None) -> Cursor:
        return PixelCNNCursor(self, batch, cond)
