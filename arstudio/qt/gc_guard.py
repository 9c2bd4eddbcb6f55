"""Keep Python's cyclic garbage collector out of the studio's worker threads.

A collection runs in whichever thread happens to trigger it, and finalizes whatever cycles it
finds: Qt objects of the GUI thread (a closed dialog's widgets) could then be destroyed from a
worker thread. It also holds the GIL for as long as it takes (a full collection walks every
object: tens of milliseconds in a studio with its plots), which the sampler then loses. So a
worker computes inside ``no_cyclic_gc()`` and the GUI thread collects instead (``collect_young``
after each run, and a full ``gc.collect`` where the studio already does one).

The collector is one switch for the whole process, so the guard counts: it is off while any
thread is inside, and back to how it was when the last one leaves, whatever the order.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = True


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Hold off automatic cyclic collections while this block runs (nesting and overlapping threads allowed)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()


def freeze_startup_objects() -> None:
    """Move every object alive now (modules, the window, its plots) out of the collector's sight.

    They live as long as the studio, so a full collection would walk them again and again for
    nothing (tens of milliseconds with the GIL held each time). Called once, by the studio's
    ``main`` after the window is built; objects made later are collected as usual.
    """
    gc.collect()
    gc.freeze()


def collect_young() -> int:
    """Collect the two young generations (cheap: only objects made since the last collections); GUI thread only."""
    return gc.collect(1)
