"""Start the studio: ``main()`` makes the QApplication and the main window and runs the event loop."""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from arstudio.core.device import set_threads
from arstudio.qt.gc_guard import freeze_startup_objects, install_gui_collector
from arstudio.qt.interrupt import close_on_interrupt
from arstudio.qt.main_window import ASSETS, MainWindow


def make_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication (the existing one if there is one), with the studio's name, icon and plot style."""
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "arstudio", *(argv or [])])
    app.setApplicationName("arstudio")
    app.setOrganizationName("arstudio")
    app.setDesktopFileName("arstudio")
    icon = ASSETS / "arstudio.png"
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    pg.setConfigOptions(antialias=False, foreground="#c9ccd3", background="#1d1f24")
    install_gui_collector(app)  # only the GUI thread runs the cyclic GC (arstudio.qt.gc_guard)
    return app  # type: ignore[return-value]


def main(argv: list[str] | None = None) -> int:
    """Open the studio (optionally with a checkpoint path or shipped name) and run until it is closed."""
    parser = argparse.ArgumentParser(prog="arstudio", description="Watch autoregressive models generate.")
    parser.add_argument("checkpoint", nargs="?", help="a checkpoint file or the name of a shipped one")
    parser.add_argument("--play", action="store_true", help="start sampling as soon as the model is loaded")
    parser.add_argument("--speed", type=float, metavar="STEPS_PER_S", help="sampling speed (0 = unlimited)")
    parser.add_argument("--ordering", type=int, default=0, metavar="K",
                        help="follow ordering K (order-agnostic models such as MADE have several)")
    args, qt_args = parser.parse_known_args(argv if argv is not None else [])
    set_threads()
    app = make_app(qt_args)
    checkpoint: str | Path | None = None
    unknown = ""
    if args.checkpoint:
        from arstudio.core.catalog import resolve
        from arstudio.core.checkpoint import CheckpointError

        try:
            checkpoint = resolve(args.checkpoint)
        except CheckpointError as e:
            if "no checkpoint called" in str(e):  # a mistyped name: the default model, and "did you mean ...?"
                unknown = str(e)
            else:
                checkpoint = Path(args.checkpoint)  # the window shows why it cannot be opened
    window = MainWindow(checkpoint)
    if unknown:
        window.show_error("No such checkpoint", unknown)
    if args.speed is not None:
        window.controls.set_rate(args.speed or None)
    if args.ordering:
        window.session.checkpoint_loaded.connect(
            lambda _info, w=window: w.controls.ordering.setCurrentIndex(args.ordering))
    if args.play:
        window.session.checkpoint_loaded.connect(lambda _info, w=window: w.session.play())
    window.show()
    restore = close_on_interrupt(window, app)  # Ctrl-C closes the studio as its close button does
    freeze_startup_objects()  # full GC passes then skip what lives as long as the studio
    try:
        code = int(app.exec())
    finally:
        restore()
    window.deleteLater()  # tear Qt objects down while the application still exists
    del window
    app.processEvents()
    gc.unfreeze()
    gc.collect()
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
