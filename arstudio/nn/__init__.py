"""Shared layers: masked linear layers (and, as models arrive, masked convs and attention)."""

from arstudio.nn.masked import MaskedLinear

__all__ = ["MaskedLinear"]
from arstudio.nn.masked_conv import HorizontalConv2d, MaskedConv2d, VerticalConv2d  # noqa: E402,F401  (issue 3)
