"""The piano roll: the notes of a run as bars, pitch up, seconds along, growing as events are sampled.

All notes are one graphics item (``NotesItem``): finished notes are kept as rectangles bucketed by
colour (velocity shade, primer or sampled) and appended as they close, so a frame costs the events
that are new, and painting is one ``drawRects`` per bucket; the notes still sounding are drawn to
the playhead. Black-key lanes and C labels stand in for a keyboard. While it follows, the last
``WINDOW_S`` seconds are shown and the pitch axis fits the notes; dragging or zooming stops
following (Follow turns it back on). Hover and click report the step that opened the note under
the mouse; what that means is the panel's business.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QRectF, Signal
from PySide6.QtGui import QBrush, QColor, QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from arstudio.modalities.music.performance import Performance
from arstudio.qt.views import theme
from arstudio.qt.views.plotting import PlotWidget

WINDOW_S = 12.0  # seconds shown while following the newest event
SHADES = 8  # velocity shades per colour
NOTE_H = 0.8  # a note's height in semitones
MIN_NOTE_S = 0.02  # a note shorter than this (on and off at one time) is drawn this long
PLAYHEAD = "#7ee787"
SAMPLED, PRIMER = theme.rgb(theme.BAR), theme.rgb("#56d4b0")
NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
BLACK_KEYS = (1, 3, 6, 8, 10)


def pitch_name(pitch: int) -> str:
    """'C4' for MIDI pitch 60 (scientific pitch notation, as the event labels)."""
    return f"{NAMES[pitch % 12]}{pitch // 12 - 1}"


def shade_of(velocity: np.ndarray | int) -> np.ndarray:
    """The shade bucket 0 .. SHADES - 1 of MIDI velocities (louder: brighter)."""
    return np.clip((np.asarray(velocity, dtype=np.int64) * SHADES) // 128, 0, SHADES - 1)


def shade_colour(base: tuple[int, int, int], shade: int) -> QColor:
    """``base`` dimmed for soft notes: from 35% (shade 0) to full brightness, a touch lighter at the top."""
    k = 0.35 + 0.65 * shade / (SHADES - 1)
    lift = 40 * max(0, shade - SHADES + 3) / 2
    r, g, b = (min(255, int(c * k + lift)) for c in base)
    return QColor(r, g, b)


class NotesItem(pg.GraphicsObject):
    """Every note of a run: finished ones bucketed by colour, sounding ones drawn to the playhead."""

    def __init__(self) -> None:
        super().__init__()
        self.brushes = [QBrush(shade_colour(base, s)) for base in (SAMPLED, PRIMER) for s in range(SHADES)]
        self.sounding_brush = QBrush(QColor(*theme.rgb(theme.CURSOR)))
        self.clear()

    def clear(self) -> None:
        """No notes."""
        self.prepareGeometryChange()
        self.buckets: list[list[QRectF]] = [[] for _ in self.brushes]
        self.sounding: list[tuple[float, int, int]] = []  # (start, pitch, bucket)
        self.now = 0.0
        self.count = 0
        self._bounds = QRectF(0.0, 0.0, 1.0, 128.0)
        self.update()

    def add(self, starts: np.ndarray, ends: np.ndarray, pitches: np.ndarray, buckets: np.ndarray) -> None:
        """Add finished notes."""
        for s, e, p, b in zip(starts.tolist(), ends.tolist(), pitches.tolist(), buckets.tolist()):
            self.buckets[b].append(QRectF(s, p - NOTE_H / 2, max(e - s, MIN_NOTE_S), NOTE_H))
        self.count += len(starts)

    def set_sounding(self, notes: list[tuple[float, int, int]], now: float) -> None:
        """The notes still sounding (start, pitch, bucket) and the playhead they reach."""
        self.sounding, self.now = notes, float(now)
        width = max(1.0, self.now)
        if width != self._bounds.width():
            self.prepareGeometryChange()
            self._bounds = QRectF(0.0, -1.0, width, 130.0)
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt's name)
        return self._bounds

    def paint(self, p: QPainter, *_: object) -> None:
        p.setPen(pg.mkPen(None))
        for brush, rects in zip(self.brushes, self.buckets):
            if rects:
                p.setBrush(brush)
                p.drawRects(rects)
        for start, pitch, bucket in self.sounding:
            p.setBrush(self.brushes[bucket])
            p.drawRect(QRectF(start, pitch - NOTE_H / 2, max(self.now - start, MIN_NOTE_S), NOTE_H))
        if self.sounding:  # the sounding notes' heads at the playhead
            p.setBrush(self.sounding_brush)
            for _start, pitch, _bucket in self.sounding:
                p.drawRect(QRectF(self.now - MIN_NOTE_S, pitch - NOTE_H / 2, MIN_NOTE_S, NOTE_H))


class LanesItem(pg.GraphicsObject):
    """The pitch lanes behind the notes: black keys darker, the C lanes lighter, as wide as ``width`` seconds."""

    def __init__(self) -> None:
        super().__init__()
        bg = np.array(theme.rgb(theme.BACKGROUND))
        self.brushes = {kind: QBrush(QColor(*np.clip(bg + d, 0, 255).tolist()))
                        for kind, d in (("white", 10), ("black", -4), ("c", 18))}
        self.keys = {kind: [k for k in range(128) if (k % 12 in BLACK_KEYS) == (kind == "black")
                            and (k % 12 == 0) == (kind == "c")] for kind in self.brushes}
        self.rects: dict[str, list[QRectF]] = {}
        self.set_width(1.0)

    def set_width(self, seconds: float) -> None:
        """Reach ``seconds`` to the right."""
        self.prepareGeometryChange()
        self.width = float(seconds)
        self.rects = {kind: [QRectF(-1.0, k - 0.5, self.width + 1.0, 1.0) for k in keys]
                      for kind, keys in self.keys.items()}
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt's name)
        return QRectF(-1.0, -0.5, self.width + 1.0, 128.0)

    def paint(self, p: QPainter, *_: object) -> None:
        p.setPen(pg.mkPen(None))
        for kind, rects in self.rects.items():
            p.setBrush(self.brushes[kind])
            p.drawRects(rects)


class PianoRollView(QWidget):
    """Notes (pitch against seconds) of a ``Performance``; markers for the newest event, the focus and playback."""

    step_hovered = Signal(int)  # the step that opened the note under the mouse (-1: none)
    step_clicked = Signal(int)
    TIP = ("Scroll to zoom, drag to move; hover a note to see the distribution its note-on was drawn from, "
           "click to keep it shown.")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = PlotWidget(background=theme.BACKGROUND)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setLabel("bottom", "time (s)")
        self.plot.setMinimumHeight(160)
        self.plot.setToolTip(self.TIP)
        self.vb = self.plot.getPlotItem().getViewBox()
        self.vb.setLimits(yMin=-1.0, yMax=129.0, xMin=-1.0, minYRange=6.0, minXRange=0.2)
        self.lanes = LanesItem()
        self.primer = pg.LinearRegionItem((0, 0), movable=False, brush=pg.mkBrush(theme.GIVEN + "18"),
                                          pen=pg.mkPen(None))
        self.notes = NotesItem()
        self.focus_box = pg.PlotCurveItem(pen=pg.mkPen(theme.HOVER, width=2))
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(theme.CURSOR, width=1.5))
        self.focus = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(theme.HOVER, width=1))
        self.playhead = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(PLAYHEAD, width=2))
        for item in (self.lanes, self.primer, self.notes, self.focus_box, self.cursor, self.focus, self.playhead):
            self.plot.addItem(item)
        self.lanes.setZValue(-10)
        left = self.plot.getAxis("left")
        left.setTicks([[(p, pitch_name(p)) for p in range(0, 128, 12)],  # C's; the other white keys when there is room
                       [(p, pitch_name(p)) for p in range(128) if p % 12 not in (0, *BLACK_KEYS)]])
        left.setWidth(34)
        self.follow_button = QPushButton("Follow")
        self.follow_button.setCheckable(True)
        self.follow_button.setChecked(True)
        self.follow_button.setToolTip("Keep the newest events in view (dragging or zooming turns this off)")
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Show the whole run")
        self.position = QLabel("")
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.position, 1)
        bar.addWidget(self.fit_button)
        bar.addWidget(self.follow_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(bar)
        lay.addWidget(self.plot, 1)
        self.perf = Performance(0)
        self.given = 0  # steps kept as given (a primer): their notes in the primer's colour
        self.window = WINDOW_S
        self._pitch_range = (128, -1)  # lowest and highest pitch drawn
        self._hovered = -1
        self.vb.sigRangeChangedManually.connect(self._on_user_range)
        self.follow_button.toggled.connect(self._on_follow)
        self.fit_button.clicked.connect(self.fit)
        self.plot.scene().sigMouseMoved.connect(self._on_moved)
        self.plot.scene().sigMouseClicked.connect(self._on_clicked)
        self.plot.viewport().installEventFilter(self)
        self.clear()

    @property
    def following(self) -> bool:
        """True while the view scrolls with the newest event."""
        return self.follow_button.isChecked()

    def set_performance(self, perf: Performance, given: int = 0) -> None:
        """Draw ``perf`` from now on (``given``: its first steps are a primer); clears the view."""
        self.perf, self.given = perf, int(given)
        self.clear()

    def clear(self) -> None:
        """No notes, no markers; back to following from time 0."""
        self.notes.clear()
        self._pitch_range = (128, -1)
        for item in (self.primer, self.cursor, self.focus, self.playhead):
            item.hide()
        self.focus_box.setData([], [])
        self.position.setText("")
        self._set_lanes(self.window)
        self.follow_button.setChecked(True)
        self.plot.setXRange(0.0, self.window, padding=0)
        self.plot.setYRange(48.0, 84.0, padding=0)

    def _set_lanes(self, seconds: float) -> None:
        self.lanes.set_width(seconds * 2)
        self._lanes_to = seconds * 2

    def refresh(self) -> None:
        """Draw what ``perf`` replayed since the last call: notes that closed, sounding ones, the newest event."""
        perf = self.perf
        closed = np.asarray(perf.take_closed(), dtype=np.int64)
        if len(closed):
            self.notes.add(perf.start[closed], perf.end[closed], perf.pitch[closed], self._buckets(closed))
            self._widen_pitches(perf.pitch[closed])
        sounding = perf.open_notes()
        if sounding:
            idx = np.asarray(sounding)
            self._widen_pitches(perf.pitch[idx])
            self.notes.set_sounding(list(zip(perf.start[idx].tolist(), perf.pitch[idx].tolist(),
                                             self._buckets(idx).tolist())), perf.now)
        else:
            self.notes.set_sounding([], perf.now)
        if perf.now + self.window > self._lanes_to:
            self._set_lanes(perf.now + self.window)
        if self.given > 0:
            self.primer.setRegion((0.0, float(perf.time[min(self.given, perf.count)])))
            self.primer.show()
        else:
            self.primer.hide()
        if perf.count:
            self.cursor.setPos(perf.now)
            self.cursor.show()
            if self.following:
                self._follow()
        self.position.setText(f"{perf.now:.2f} s · {perf.count:,} events · {perf.n_notes:,} notes")

    def _buckets(self, notes: np.ndarray) -> np.ndarray:
        given = self.perf.on_step[notes] < self.given
        return shade_of(self.perf.velocity[notes]) + np.where(given, SHADES, 0)

    def _widen_pitches(self, pitches: np.ndarray) -> None:
        lo, hi = self._pitch_range
        self._pitch_range = (min(lo, int(pitches.min())), max(hi, int(pitches.max())))

    def _follow(self) -> None:
        end = self.perf.now
        self.plot.setXRange(max(0.0, end - self.window * 0.85), max(self.window, end + self.window * 0.15), padding=0)
        lo, hi = self._pitch_range
        if hi >= lo:
            mid, half = (lo + hi) / 2, max(12.0, (hi - lo) / 2 + 3)
            self.plot.setYRange(max(-0.5, mid - half), min(127.5, mid + half), padding=0)

    def fit(self) -> None:
        """Show the whole run and every pitch in it (stops following)."""
        self.follow_button.setChecked(False)
        lo, hi = self._pitch_range
        self.plot.setXRange(0.0, max(1.0, self.perf.now), padding=0.02)
        if hi >= lo:
            self.plot.setYRange(max(-0.5, lo - 3), min(127.5, hi + 3), padding=0)

    def mark_focus(self, step: int) -> None:
        """Mark the event of ``step`` (a line at its time, its note outlined); -1 hides the marks."""
        perf = self.perf
        if not 0 <= step < perf.count:
            self.focus.hide()
            self.focus_box.setData([], [])
            return
        self.focus.setPos(float(perf.time[step]))
        self.focus.show()
        i = int(perf.note_of[step])
        if i < 0:
            self.focus_box.setData([], [])
            return
        s = float(perf.start[i])
        e = float(perf.end[i]) if not np.isnan(perf.end[i]) else perf.now
        e = max(e, s + MIN_NOTE_S)
        y0, y1 = perf.pitch[i] - NOTE_H / 2 - 0.15, perf.pitch[i] + NOTE_H / 2 + 0.15
        self.focus_box.setData([s, e, e, s, s], [y0, y0, y1, y1, y0])

    def set_playhead(self, seconds: float | None) -> None:
        """Where playback is now (None: not playing)."""
        if seconds is None:
            self.playhead.hide()
        else:
            self.playhead.setPos(seconds)
            self.playhead.show()

    def visible_range(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """((t0, t1), (pitch0, pitch1)) shown."""
        (x0, x1), (y0, y1) = self.vb.viewRange()
        return (float(x0), float(x1)), (float(y0), float(y1))

    def step_at(self, scene_pos: object) -> int:
        """The step that opened the note under a scene position, or -1."""
        if not self.vb.sceneBoundingRect().contains(scene_pos):
            return -1
        pt = self.vb.mapSceneToView(scene_pos)
        pitch = int(round(pt.y()))
        if abs(pt.y() - pitch) > NOTE_H / 2 + 0.05 or not 0 <= pitch < 128:
            return -1
        i = self.perf.note_at(pt.x(), pitch)
        return int(self.perf.on_step[i]) if i >= 0 else -1

    def _on_user_range(self, *_: object) -> None:
        self.follow_button.setChecked(False)

    def _on_follow(self, on: bool) -> None:
        if on and self.perf.count:
            self._follow()

    def describe_note(self, step: int) -> str:
        """A note's name, velocity and time span, and the steps that opened and closed it ("" for none)."""
        perf = self.perf
        i = int(perf.note_of[step]) if 0 <= step < perf.count else -1
        if i < 0:
            return ""
        end = "sounding" if np.isnan(perf.end[i]) else f"{perf.end[i]:.2f} s"
        off = f", off at step {perf.off_step[i]}" if perf.off_step[i] >= 0 else ""
        return (f"{pitch_name(int(perf.pitch[i]))} · velocity {perf.velocity[i]} · {perf.start[i]:.2f} s – {end}\n"
                f"on at step {perf.on_step[i]}{off}")

    def _on_moved(self, pos: object) -> None:
        step = self.step_at(pos)
        if step != self._hovered:
            self._hovered = step
            self.plot.setToolTip(self.describe_note(step) or self.TIP)
            self.step_hovered.emit(step)

    def _on_clicked(self, ev: object) -> None:
        step = self.step_at(ev.scenePos())  # type: ignore[attr-defined]
        if step >= 0:
            self.step_clicked.emit(step)

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if ev.type() == QEvent.Type.Leave and self._hovered != -1:
            self._hovered = -1
            self.step_hovered.emit(-1)
        return super().eventFilter(obj, ev)
