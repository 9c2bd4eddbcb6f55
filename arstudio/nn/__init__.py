"""Shared layers: masked linear layers (and, as models arrive, masked convs and attention)."""

from arstudio.nn.masked import MaskedLinear

__all__ = ["MaskedLinear"]
