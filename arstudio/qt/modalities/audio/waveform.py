"""The waveform view: amplitude against time, scrolling as samples arrive, the newest step marked.

It draws a float buffer it is given (the panel decodes mu-law codes into it) through one
long-lived ``PlotDataItem`` with clip-to-view and peak downsampling, so a 10-second run
(160,000 points) costs what the visible part costs. While it follows, the last ``window``
seconds are shown; dragging or zooming the time axis stops following (Follow turns it back on).
Hover and click report the step under the mouse; what they mean is the panel's business.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from arstudio.qt.views import theme
from arstudio.qt.views.plotting import PlotWidget

WINDOW_S = 3.0  # seconds shown while following the newest sample
PLAYHEAD = "#7ee787"


class WaveformView(QWidget):
    """Samples in [-1, 1] against seconds; markers for the newest step, the focused step and the playhead."""

    step_hovered = Signal(int)  # step under the mouse (-1: none, or the mouse left)
    step_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = PlotWidget(background=theme.BACKGROUND)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setLabel("left", "amplitude")
        self.plot.setLabel("bottom", "time (s)")
        self.plot.setYRange(-1.0, 1.0, padding=0.02)
        self.plot.setMinimumHeight(120)
        self.plot.setToolTip("Drag or scroll to look back; hover a sample to see the distribution it was drawn from, "
                             "click to keep it shown.")
        self.vb = self.plot.getPlotItem().getViewBox()
        self.curve = pg.PlotDataItem([], [], pen=pg.mkPen(theme.BAR, width=1))
        self.primer = pg.LinearRegionItem((0, 0), movable=False, brush=pg.mkBrush(theme.GIVEN + "30"),
                                          pen=pg.mkPen(None))
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(theme.CURSOR, width=1.5))
        self.focus = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(theme.HOVER, width=1))
        self.playhead = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(PLAYHEAD, width=2))
        for item in (self.primer, self.curve, self.cursor, self.focus, self.playhead):
            self.plot.addItem(item)
        for item in (self.primer, self.cursor, self.focus, self.playhead):
            item.hide()
        self.plot.setClipToView(True)  # the plot's settings apply to its curves (set after adding them)
        self.plot.setDownsampling(auto=True, mode="peak")
        self.follow_button = QPushButton("Follow")
        self.follow_button.setCheckable(True)
        self.follow_button.setChecked(True)
        self.follow_button.setToolTip("Keep the newest samples in view (dragging the time axis turns this off)")
        self.position = QLabel("")
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.position, 1)
        bar.addWidget(self.follow_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(bar)
        lay.addWidget(self.plot, 1)
        self.rate = 16000
        self.length = 0  # steps the layout holds
        self.count = 0  # samples drawn
        self.window = WINDOW_S
        self._time: np.ndarray = np.zeros(0, np.float64)  # step -> seconds, made once per model
        self.vb.sigRangeChangedManually.connect(self.stop_following)
        self.follow_button.toggled.connect(self._on_follow)
        self.plot.scene().sigMouseMoved.connect(self._on_moved)
        self.plot.scene().sigMouseClicked.connect(self._on_clicked)
        self.plot.viewport().installEventFilter(self)

    @property
    def following(self) -> bool:
        """True while the view scrolls with the newest sample."""
        return self.follow_button.isChecked()

    def reset(self, rate: int, length: int, window: float = WINDOW_S) -> None:
        """An empty view for a model writing ``length`` samples at ``rate`` per second."""
        self.rate, self.length, self.window = int(rate), int(length), float(window)
        if len(self._time) != self.length or self._time[1:2].tolist() != [1.0 / self.rate]:
            self._time = np.arange(self.length, dtype=np.float64) / self.rate
        self.vb.setLimits(xMin=-0.05 * self.window, xMax=max(self.window, self.length / self.rate) + 0.05 * self.window)
        self.clear()

    def clear(self) -> None:
        """No samples, no markers; back to following from time 0."""
        self.count = 0
        self.curve.setData([], [])
        for item in (self.primer, self.cursor, self.focus, self.playhead):
            item.hide()
        self.plot.setClipToView(True)  # the plot's settings apply to its curves (set after adding them)
        self.plot.setDownsampling(auto=True, mode="peak")
        self.position.setText("")
        self.follow_button.setChecked(True)
        self.plot.setXRange(0.0, self.window, padding=0)

    def set_audio(self, audio: np.ndarray, count: int, given: int = 0, planned: int | None = None) -> None:
        """Draw samples ``audio[:count]``; the first ``given`` (a primer) shaded; ``planned``: the run's length."""
        self.count = int(count)
        self.curve.setData(self._time[: self.count], audio[: self.count])
        if given > 0:
            self.primer.setRegion((0.0, given / self.rate))
            self.primer.show()
        else:
            self.primer.hide()
        if self.count:
            end = self.count / self.rate
            self.cursor.setPos(end)
            self.cursor.show()
            if self.following:
                self.plot.setXRange(max(0.0, end - self.window), max(self.window, end), padding=0)
        total = f" of {planned / self.rate:.2f} s" if planned else ""
        self.position.setText(f"{self.count / self.rate:.2f} s{total} · {self.count:,} samples")

    def mark_focus(self, step: int) -> None:
        """Mark ``step`` (the one the distribution view shows when it is not the newest); -1 hides the mark."""
        if step < 0:
            self.focus.hide()
        else:
            self.focus.setPos(step / self.rate)
            self.focus.show()

    def set_playhead(self, seconds: float | None) -> None:
        """Where playback is now (None: not playing)."""
        if seconds is None:
            self.playhead.hide()
        else:
            self.playhead.setPos(seconds)
            self.playhead.show()

    def visible_range(self) -> tuple[float, float]:
        """The time span shown, in seconds."""
        lo, hi = self.vb.viewRange()[0]
        return float(lo), float(hi)

    def step_at(self, scene_pos: object) -> int:
        """The drawn step under a scene position, or -1."""
        if not self.vb.sceneBoundingRect().contains(scene_pos):
            return -1
        step = int(self.vb.mapSceneToView(scene_pos).x() * self.rate)
        return step if 0 <= step < self.count else -1

    def stop_following(self, *_: object) -> None:
        """Leave the time axis where the person put it (a drag or zoom here or in a linked plot)."""
        self.follow_button.setChecked(False)

    def _on_follow(self, on: bool) -> None:
        if on and self.count:
            end = self.count / self.rate
            self.plot.setXRange(max(0.0, end - self.window), max(self.window, end), padding=0)

    def _on_moved(self, pos: object) -> None:
        self.step_hovered.emit(self.step_at(pos))

    def _on_clicked(self, ev: object) -> None:
        step = self.step_at(ev.scenePos())  # type: ignore[attr-defined]
        if step >= 0:
            self.step_clicked.emit(step)

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if ev.type() == QEvent.Type.Leave:
            self.step_hovered.emit(-1)
        return super().eventFilter(obj, ev)
