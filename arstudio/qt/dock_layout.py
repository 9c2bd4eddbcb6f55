"""Where the studio's docks go and how large they are: the samples (the modality view) get the most room.

Controls on the left, the samples and the distribution side by side on the right, the log-p strip
under all three (the width of the window, the controls' column no taller than it needs); ``dock_sizes`` says how large each is for a window's size, and a window that grows gives
its room to the samples and the distribution, not to the strip or the controls. The layout a session
saves is tagged ``STATE_VERSION``, so that a layout saved by an older studio is not restored.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

STATE_VERSION = 2  # of saveState: a dock layout saved by an older studio (arranged otherwise) is not restored
Extent = tuple[int, int, int, int]  # controls width, samples width, distribution width, strip height


def dock_sizes(width: int, height: int) -> Extent:
    """The docks' sizes for a window of ``width`` x ``height``: controls width, samples width, distribution
    width, log-p strip height. The samples get the most room at every size; strip and controls stay modest."""
    controls = max(280, min(340, round(0.2 * width)))
    strip = max(110, min(160, round(0.15 * height)))
    rest = max(0, width - controls)
    panel = round(0.6 * rest)
    return controls, panel, rest - panel, strip


def make_dock(window: QMainWindow, title: str, widget: QWidget, name: str) -> QDockWidget:
    """A dock that can be moved, floated and closed (View shows it again)."""
    dock = QDockWidget(title, window)
    dock.setObjectName(f"dock-{name}")
    dock.setWidget(widget)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                     | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                     | QDockWidget.DockWidgetFeature.DockWidgetClosable)
    return dock


class DockLayout(QObject):
    """Places the window's four docks (and a tab beside the controls) and sizes them for the window."""

    def __init__(self, window: QMainWindow, controls: QDockWidget, panel: QDockWidget, dist: QDockWidget,
                 strip: QDockWidget) -> None:
        super().__init__(window)
        self.window = window
        self.controls, self.panel, self.dist, self.strip = controls, panel, dist, strip
        self.tabs: list[QDockWidget] = []  # docks tabbed with the controls (the checkpoint browser)
        self.arranged = False  # sized for the window (at the first show, or by a restored layout)
        self._extents: dict[tuple[int, int], Extent] = {}  # window size -> the docks' sizes there
        window.setDockNestingEnabled(True)
        window.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._place()
        for dock in (controls, panel, dist, strip):
            dock.installEventFilter(self)

    def _place(self) -> None:
        w = self.window
        for dock in (self.controls, self.panel, self.dist, self.strip, *self.tabs):
            dock.setFloating(False)
        w.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.controls)
        w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.panel)
        w.splitDockWidget(self.panel, self.dist, Qt.Orientation.Horizontal)
        w.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.strip)
        for dock in self.tabs:
            w.tabifyDockWidget(self.controls, dock)
        self.controls.raise_()

    def add_tab(self, dock: QDockWidget) -> None:
        """Put ``dock`` in a tab beside the controls."""
        self.tabs.append(dock)
        self.window.tabifyDockWidget(self.controls, dock)
        self.controls.raise_()

    def extent(self) -> Extent:
        """The docks' sizes now (0 for a dock that is hidden or floating)."""
        def size(dock: QDockWidget, horizontal: bool) -> int:
            if dock.isHidden() or dock.isFloating():
                return 0
            return dock.width() if horizontal else dock.height()
        return size(self.controls, True), size(self.panel, True), size(self.dist, True), size(self.strip, False)

    def arrange(self, keep: Extent | None = None) -> None:
        """Size the docks for the window (``dock_sizes``).

        ``keep``: the sizes before a resize; a controls width, strip height and samples-to-distribution
        split a person chose are kept while they stay modest, and the room a larger window adds goes
        to the samples and the distribution.
        """
        w, h = self.window.width(), self.window.height()
        controls, panel, dist, strip = dock_sizes(w, h)
        if keep is not None:
            kc, kp, kd, ks = keep
            controls = kc if 0 < kc <= 0.35 * w else controls
            strip = ks if 0 < ks <= 0.25 * h else strip
            share = kp / (kp + kd) if kp > 0 and kd > 0 else 0.6
            panel = round(max(0.45, min(0.8, share)) * max(0, w - controls))
            dist = max(0, w - controls - panel)
        sizes = {self.controls: controls, self.panel: panel, self.dist: dist}
        docked = [d for d in sizes if not d.isFloating()]
        self.window.resizeDocks(docked, [sizes[d] for d in docked], Qt.Orientation.Horizontal)
        if not self.strip.isFloating() and not self.panel.isFloating():
            self.window.resizeDocks([self.panel, self.strip], [max(1, h - strip), strip], Qt.Orientation.Vertical)

    def reset(self) -> None:
        """Every dock back in its place, shown, and sized for the window."""
        self._place()
        for dock in (self.controls, self.panel, self.dist, self.strip, *self.tabs):
            dock.show()
        self.controls.raise_()
        self.arrange()

    def shown(self) -> None:
        """The window is shown: size the docks, unless a restored layout already did."""
        if not self.arranged:
            self.arranged = True
            self.arrange()

    def resized(self, old: QSize, new: QSize) -> None:
        """The window changed size: keep the docks' proportions as they were at ``old``."""
        if self.arranged and old.isValid() and old != new:
            self.arrange(keep=self._extents.get((old.width(), old.height())))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        """Note the docks' sizes at each window size (a dragged separator included), for ``resized``."""
        if event.type() == QEvent.Type.Resize:
            if len(self._extents) > 8:
                self._extents.clear()
            self._extents[(self.window.width(), self.window.height())] = self.extent()
        return False
