"""Causal convolutions for images in raster order: PixelCNN's masked convs and Gated PixelCNN's stacks.

``MaskedConv2d`` is the masked convolution of van den Oord, Kalchbrenner & Kavukcuoglu 2016,
"Pixel Recurrent Neural Networks", Sec. 3.4. A k x k kernel is multiplied by a fixed 0/1 mask so
that the output at pixel (i, j) sees only pixels above, and to the left in the same row:

    mask A, 5x5 (first layer)      mask B, 5x5 (later layers)
        1 1 1 1 1                      1 1 1 1 1
        1 1 1 1 1                      1 1 1 1 1
        1 1 0 0 0                      1 1 1 0 0
        0 0 0 0 0                      0 0 0 0 0
        0 0 0 0 0                      0 0 0 0 0

Mask A also hides the centre, the pixel being predicted; mask B lets a feature see its own
position, which after a mask-A layer holds only information about earlier pixels. With
``data_channels`` = C > 1 (RGB) the channels of every layer are split into C contiguous groups and
the centre tap from input group g to output group g' is open when g < g' (A) or g <= g' (B), so
that G sees R, and B sees R and G (Sec. 3.4, Fig. 4).

Stacking masked convs leaves a blind spot above and to the right of the pixel. Gated PixelCNN
(van den Oord et al. 2016, "Conditional Image Generation with PixelCNN Decoders", Sec. 2.2, Fig. 1)
removes it with two stacks: ``VerticalConv2d`` sees every pixel of the rows above within the
kernel (its output at row i covers rows i - k//2 .. i and is shifted down one row before the
horizontal stack reads it), and ``HorizontalConv2d`` sees the pixels to the left in the row:

    vertical, k = 5 (rows <= i)    horizontal, k = 5, mask A / mask B
        1 1 1 1 1
        1 1 1 1 1                      1 1 0          1 1 1
        1 1 1 1 1   (row i)            (j-2 j-1 j)    (j-2 j-1 j)

Every conv here is ``conv2d(pad(x, self.padding), W * M)``: a zero-padded input and a masked
kernel. The cached cursors rely on that form to compute a single output pixel or row from a
padded window (``arstudio.models.pixelcnn_cache``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _groups(n: int, data_channels: int) -> torch.Tensor:
    """Data-channel group of each of n feature channels (contiguous blocks)."""
    return torch.arange(n) * data_channels // n


def centre_mask(in_channels: int, out_channels: int, mask_type: str, data_channels: int = 1) -> torch.Tensor:
    """The [out, in] 0/1 mask of the centre tap: open from group g to g' when g < g' (A) or g <= g' (B)."""
    if mask_type not in ("A", "B"):
        raise ValueError(f"mask_type is 'A' or 'B', got {mask_type!r}")
    g_in, g_out = _groups(in_channels, data_channels), _groups(out_channels, data_channels)
    open_ = g_in[None, :] < g_out[:, None] if mask_type == "A" else g_in[None, :] <= g_out[:, None]
    return open_.float()


def pixelcnn_mask(in_channels: int, out_channels: int, kernel_size: int, mask_type: str,
                  data_channels: int = 1) -> torch.Tensor:
    """The [out, in, k, k] mask of a PixelCNN conv: rows above, the left of the centre row, the centre by type."""
    if kernel_size % 2 != 1:
        raise ValueError(f"a masked conv needs an odd kernel size, got {kernel_size}")
    c = kernel_size // 2
    m = torch.zeros(out_channels, in_channels, kernel_size, kernel_size)
    m[:, :, :c, :] = 1.0
    m[:, :, c, :c] = 1.0
    m[:, :, c, c] = centre_mask(in_channels, out_channels, mask_type, data_channels)
    return m


class CausalConv2d(nn.Conv2d):
    """``conv2d(pad(x, padding), W * M) + b``: a conv over an explicitly zero-padded input with a fixed mask.

    ``padding`` is (left, right, top, bottom) as ``F.pad`` takes it; the output has the input's
    height and width. The mask is a buffer derived from the config, so it is not saved.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: tuple[int, int],
                 padding: tuple[int, int, int, int], mask: torch.Tensor | None = None, bias: bool = True) -> None:
        super().__init__(in_channels, out_channels, kernel, padding=0, bias=bias)
        self.causal_padding = tuple(int(p) for p in padding)
        if mask is None:
            mask = torch.ones_like(self.weight)
        if mask.shape != self.weight.shape:
            raise ValueError(f"mask shape {tuple(mask.shape)} != weight shape {tuple(self.weight.shape)}")
        self.register_buffer("mask", mask.to(self.weight.dtype), persistent=False)
        with torch.no_grad():  # keep the initial scale of the open taps (fan-in of the mask)
            fan_in = self.mask.sum(dim=(1, 2, 3)).clamp(min=1.0)
            self.weight.mul_((in_channels * kernel[0] * kernel[1] / fan_in).sqrt().view(-1, 1, 1, 1))

    def masked_weight(self) -> torch.Tensor:
        """W * M, [out, in, kh, kw]."""
        return self.weight * self.mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, self.causal_padding), self.masked_weight(), self.bias)


class MaskedConv2d(CausalConv2d):
    """PixelCNN's k x k conv with mask A or mask B (van den Oord et al. 2016, Sec. 3.4)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, mask_type: str,
                 data_channels: int = 1, bias: bool = True) -> None:
        c = kernel_size // 2
        mask = pixelcnn_mask(in_channels, out_channels, kernel_size, mask_type, data_channels)
        super().__init__(in_channels, out_channels, (kernel_size, kernel_size), (c, c, c, c), mask, bias)
        self.mask_type = mask_type


class VerticalConv2d(CausalConv2d):
    """Gated PixelCNN's vertical stack conv: a (k//2 + 1) x k kernel over rows i - k//2 .. i (Sec. 2.2).

    Its output at row i depends on the input at rows <= i only, and is shifted down one row
    (``shift_down``) before the horizontal stack reads it, so that no pixel sees its own row there.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True) -> None:
        if kernel_size % 2 != 1:
            raise ValueError(f"a vertical-stack conv needs an odd kernel size, got {kernel_size}")
        c = kernel_size // 2
        super().__init__(in_channels, out_channels, (c + 1, kernel_size), (c, c, c, 0), None, bias)


class HorizontalConv2d(CausalConv2d):
    """Gated PixelCNN's horizontal stack conv: a 1 x (k//2 + 1) kernel over columns j - k//2 .. j.

    The tap at j (the pixel itself) is masked as in ``MaskedConv2d``: closed by mask A in the first
    layer, open by mask B after it.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, mask_type: str,
                 data_channels: int = 1, bias: bool = True) -> None:
        if kernel_size % 2 != 1:
            raise ValueError(f"a horizontal-stack conv needs an odd kernel size, got {kernel_size}")
        c = kernel_size // 2
        mask = torch.ones(out_channels, in_channels, 1, c + 1)
        mask[:, :, 0, c] = centre_mask(in_channels, out_channels, mask_type, data_channels)
        super().__init__(in_channels, out_channels, (1, c + 1), (c, 0, 0, 0), mask, bias)
        self.mask_type = mask_type


def shift_down(x: torch.Tensor) -> torch.Tensor:
    """Move a feature map [B, C, H, W] down one row, zeros in row 0: row i then holds row i - 1."""
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1, :]


def gated_activation(a: torch.Tensor) -> torch.Tensor:
    """tanh(a_f) * sigmoid(a_g) with a = [a_f, a_g] split along dim 1 (Gated PixelCNN, eq. 2)."""
    f, g = a.chunk(2, dim=1)
    return torch.tanh(f) * torch.sigmoid(g)


def encode_pixels(x: torch.Tensor, levels: int) -> torch.Tensor:
    """Grey levels 0..L-1 as the floats a first conv takes: 2 v / (L - 1) - 1 (differentiable for float x)."""
    return x.float() * (2.0 / (levels - 1)) - 1.0
