"""Colours shared by the plots and canvases, so that every view speaks the same visual language."""

from __future__ import annotations

BACKGROUND = "#1d1f24"
FOREGROUND = "#c9ccd3"
GRID = "#3a3d45"
BAR = "#5b8def"  # the distribution's mass
CHOSEN = "#f5a623"  # the value that was drawn (or forced) at this step
FORCED = "#e5534b"  # a value the user forced
UNFILLED = (58, 63, 75)  # a place not sampled yet
CURSOR = "#f5a623"  # the place being written now
HOVER = "#7ee787"  # the place under the mouse


def rgb(hex_colour: str) -> tuple[int, int, int]:
    """'#rrggbb' -> (r, g, b)."""
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)

# The pixel panel's tools (dependency overlay, likelihood view)
INFLUENCE = "#3fd0dc"  # an earlier pixel that the outlined pixel depends on (alpha: how much)
BLIND = "#ff4fd8"  # an earlier pixel the outlined pixel cannot see (a blind spot)
GIVEN = "#7ee787"  # the line below the rows kept by "complete from here"
