"""Keep Python's cyclic garbage collector out of the studio's worker threads.

A collection runs in whichever thread happens to trigger it, and finalizes whatever cycles it
finds: Qt objects of the GUI thread (a closed dialog's widgets) could then be destroyed from a
worker thread. It also holds the GIL for as long as it takes (a full collection walks every
object: tens of milliseconds in a studio with its plots), which the sampler then loses. So a
worker computes inside ``no_cyclic_gc()`` and the GUI thread collects instead.

The collector is one switch for the whole process, so the guard counts: it is off while any
thread is inside, and back to how it was when the last one leaves, whatever the order.

The guard alone leaves gaps: a worker thread still runs Python before entering it and after
leaving it (a slot being dispatched, the thread's own exit), and an automatic collection can
start there. One did, in the test suite: a plain thread leaving ``GenerationWorker.run``
collected the widgets of windows closed earlier, and the GUI thread then delivered a posted
event to a half-destroyed widget (``pure virtual method called``). So the studio goes further:
``GuiCollector`` switches automatic collection off for the whole process and collects from a
timer in the GUI thread, the one thread allowed to destroy Qt objects.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QObject, QTimer

_lock = threading.Lock()
_depth = 0
_was_enabled = True
_collector: "GuiCollector | None" = None  # while installed, only its timer collects


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
            if _depth == 0 and _was_enabled and _collector is None:
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


class GuiCollector(QObject):
    """Cyclic garbage collection from the GUI thread only: automatic collection off, a timer collects.

    Every ``interval_ms`` the young generation is collected (cheap: objects made since the last
    tick), every ``middle_every``-th tick the middle one too, and every ``full_every``-th tick all
    of them (objects frozen at start-up are skipped, see ``freeze_startup_objects``). Create it in
    the GUI thread; ``install_gui_collector`` keeps one per process.
    """

    def __init__(self, parent: QObject | None = None, interval_ms: int = 500, middle_every: int = 10,
                 full_every: int = 120) -> None:
        super().__init__(parent)
        self.middle_every, self.full_every = middle_every, full_every
        self.ticks = 0
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def tick(self) -> int:
        """One scheduled collection; returns the number of unreachable objects found."""
        self.ticks += 1
        generation = 2 if self.ticks % self.full_every == 0 else 1 if self.ticks % self.middle_every == 0 else 0
        return gc.collect(generation)


def install_gui_collector(app: QObject) -> GuiCollector:
    """Switch automatic collection off for good and collect from ``app``'s (the GUI) thread instead."""
    global _collector
    with _lock:
        if _collector is None:
            _collector = GuiCollector(app)
            gc.disable()
        return _collector


def gui_collector() -> GuiCollector | None:
    """The installed collector, if any."""
    return _collector
