"""Where an image run's steps write, in words: pixels, channels, the sampling order, forced values, run labels."""

from __future__ import annotations

import numpy as np

from arstudio.engine.record import RunRecord

CHANNELS = {3: ("red", "green", "blue")}


def order_name(order: np.ndarray, shape: tuple[int, int, int], ordering: int) -> str:
    """The sampling order in words: raster order (with how channels take turns), else the ordering's number."""
    c, h, w = shape
    if np.array_equal(order, np.arange(c * h * w)):
        return "raster order" + (", one channel after another" if c > 1 else "")
    if c > 1 and np.array_equal(order, (np.arange(c)[None, :] * h * w + np.arange(h * w)[:, None]).reshape(-1)):
        return "raster order, " + ("R, G, B" if c == 3 else "each channel") + " at each pixel"
    return f"ordering {ordering}" if ordering > 0 else "the model's order"


def place_of(shape: tuple[int, int, int], index: int) -> tuple[int, int]:
    """(row, column) of flat data ``index`` in a (C, H, W) image."""
    _, h, w = shape
    rc = index % (h * w)
    return rc // w, rc % w


def channel_name(shape: tuple[int, int, int], index: int) -> str:
    """The channel of flat data ``index`` ("red", "channel 1"); "" for a single channel."""
    c, h, w = shape
    if c == 1:
        return ""
    return CHANNELS.get(c, tuple(f"channel {k}" for k in range(c)))[index // (h * w)]


def value_text(record: RunRecord, step: int, sample: int) -> str:
    """E.g. "(4, 3) = 7 in sample 2": the place of ``step``, its value in ``sample`` (as forced, else as drawn)."""
    shape = tuple(record.info.shape)
    value = record.info.request.forced.get(step)
    if value is None:
        v = float(record.values[step, sample])
    else:
        arr = np.asarray(value, dtype=np.float64).reshape(-1)
        v = float(arr[sample % arr.size])
    index = int(record.order[step])
    r, c = place_of(shape, index)  # type: ignore[arg-type]
    ch = channel_name(shape, index)  # type: ignore[arg-type]
    return f"({r}, {c}){' ' + ch if ch else ''} = {v:g} in sample {sample + 1}"


def run_label(record: RunRecord, forced: np.ndarray | None, given: str | None) -> str:
    """How a run is listed: what was forced in it, the image it completes, or its seed (and temperature)."""
    if given is not None:
        return given
    if forced is not None and forced.any():
        t, b = (int(i) for i in np.argwhere(forced)[0])
        return f"forced {value_text(record, t, b)}"
    req = record.info.request
    temp = req.policy.temperature
    return f"seed {req.seed}" + (f" · T {temp:g}" if temp != 1 else "")
