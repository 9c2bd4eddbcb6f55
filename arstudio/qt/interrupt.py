"""Ctrl-C in the terminal that started the studio closes it as the window's close button does.

Qt's event loop runs in C++, and Python runs a signal handler only when it next runs Python code;
so a SIGINT handler alone would wait for the next mouse move. A QTimer ticks every ``TICK_MS`` to
give Python that chance. The handler only schedules the close: the window then cancels its run,
joins its workers and saves its layout, exactly as when it is closed by hand (no KeyboardInterrupt
traceback, no half-stopped sampler).

A studio started with SIGINT ignored keeps ignoring it, as Python itself does: a shell script's
``arstudio &`` (and anything it starts in the background) gets SIGINT ignored so that Ctrl-C meant
for the script's foreground job does not end it. Installing a handler anyway would undo that.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtWidgets import QApplication, QWidget

TICK_MS = 200


def close_on_interrupt(window: QWidget, app: QCoreApplication) -> Callable[[], None]:
    """Make SIGINT close ``window`` (and end ``app``'s event loop once it closed); returns ``restore``.

    ``restore()`` stops the tick and puts the previous SIGINT handler back. Outside the main thread
    (where Python cannot install handlers), or where SIGINT is ignored, nothing is installed.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGINT)
    if previous == signal.SIG_IGN:  # started in the background by a script: Ctrl-C is not meant for us
        return lambda: None

    def close() -> None:
        for w in QApplication.topLevelWidgets():  # an open message box (window-modal) refuses the window's close
            if w is not window and w.isVisible() and w.windowModality() != Qt.WindowModality.NonModal:
                w.close()
        if not window.close():
            print("arstudio: the window did not close on Ctrl-C; quitting anyway", file=sys.stderr, flush=True)
        app.quit()  # Ctrl-C ends the studio, whatever refused

    def on_interrupt(_signum: int, _frame: FrameType | None) -> None:
        QTimer.singleShot(0, close)

    tick = QTimer(app)
    tick.setObjectName("arstudio-interrupt-tick")
    tick.timeout.connect(lambda: None)  # runs a little Python, so that pending signal handlers run
    tick.start(TICK_MS)
    signal.signal(signal.SIGINT, on_interrupt)

    def restore() -> None:
        tick.stop()
        tick.deleteLater()
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)

    return restore
