"""Masked convolutions: the masks of the PixelRNN paper (Sec. 3.4) and the Gated PixelCNN stacks."""

from __future__ import annotations

import pytest
import torch

from arstudio.nn.masked_conv import (HorizontalConv2d, MaskedConv2d, VerticalConv2d, centre_mask, pixelcnn_mask,
                                     shift_down)


def test_masks_match_the_docstring_drawings() -> None:
    a = pixelcnn_mask(1, 1, 5, "A")[0, 0]
    b = pixelcnn_mask(1, 1, 5, "B")[0, 0]
    expect_a = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
    assert torch.equal(a, expect_a.float())
    expect_b = expect_a.clone()
    expect_b[2, 2] = 1
    assert torch.equal(b, expect_b.float())


def test_rgb_centre_masks_order_the_channels() -> None:
    # 3 data channels, one feature per channel: A lets G see R, B see R and G; B adds the diagonal
    assert torch.equal(centre_mask(3, 3, "A", 3), torch.tensor([[0, 0, 0], [1, 0, 0], [1, 1, 0]]).float())
    assert torch.equal(centre_mask(3, 3, "B", 3), torch.tensor([[1, 0, 0], [1, 1, 0], [1, 1, 1]]).float())
    with pytest.raises(ValueError):
        centre_mask(3, 3, "C")
    with pytest.raises(ValueError):
        MaskedConv2d(1, 4, 4, "A")


@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_masked_conv_sees_only_earlier_pixels(mask_type: str) -> None:
    torch.manual_seed(0)
    conv = MaskedConv2d(1, 3, 5, mask_type)
    x = torch.randn(1, 1, 6, 6, requires_grad=True)
    out = conv(x)
    assert out.shape == (1, 3, 6, 6)
    (g,) = torch.autograd.grad(out[0, :, 3, 2].sum(), x)
    seen = (g[0, 0] != 0).flatten().nonzero().squeeze(1).tolist()
    limit = 3 * 6 + 2 if mask_type == "A" else 3 * 6 + 3
    assert max(seen) == limit - 1 and all(s < limit for s in seen)


def test_stack_convs_keep_shape_and_reach() -> None:
    torch.manual_seed(0)
    v, h = VerticalConv2d(1, 2, 3), HorizontalConv2d(1, 2, 3, "A")
    x = torch.randn(1, 1, 5, 5, requires_grad=True)
    (gv,) = torch.autograd.grad(v(x)[0, :, 2, 2].sum(), x)
    rows, cols = (gv[0, 0] != 0).nonzero().T
    assert set(rows.tolist()) == {1, 2} and set(cols.tolist()) == {1, 2, 3}  # rows <= i, k wide
    (gh,) = torch.autograd.grad(h(x)[0, :, 2, 2].sum(), x)
    assert (gh[0, 0] != 0).nonzero().tolist() == [[2, 1]]  # mask A: the pixel to the left only
    s = shift_down(torch.arange(6.0).view(1, 1, 2, 3))
    assert s.tolist() == [[[[0, 0, 0], [0, 1, 2]]]]
