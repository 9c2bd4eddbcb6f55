"""The spectrogram view: the log-mel of what has been generated so far, and of the conditioning when there is one.

Two image plots share the waveform's time axis: the generated audio's log-mel, filled in frame by
frame (``LiveMel`` computes the frames; this view only draws them), and above it, when the run is
conditioned on a file's mel, that mel (what a vocoder should reproduce). Mel bands are labelled
by their centre frequency; colours span the 10 nats below the loudest frame seen.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from arstudio.qt.views import theme
from arstudio.qt.views.plotting import PlotWidget

RANGE_NATS = 10.0  # colours span this far below the loudest value (log magnitude, nats; ~87 dB)
FLOOR = -11.6  # log(1e-5): silence
TICK_HZ = (250, 500, 1000, 2000, 4000, 8000, 16000)


def band_ticks(band_hz: np.ndarray, min_gap: float = 1.0) -> list[tuple[float, str]]:
    """Ticks on a mel axis (band k spans [k, k + 1)): the bands nearest to round frequencies, at least
    ``min_gap`` bands apart (the highest kept first: the low bands crowd on a short plot)."""
    ticks: list[tuple[float, str]] = []
    for f in sorted(TICK_HZ, reverse=True):
        if band_hz[0] <= f <= band_hz[-1] * 1.01:
            k = int(np.argmin(np.abs(band_hz - f)))
            if all(abs(k + 0.5 - at) >= min_gap for at, _ in ticks):
                ticks.append((k + 0.5, f"{f // 1000}k" if f >= 1000 else str(f)))
    return sorted(ticks)


def _image_plot(title: str) -> tuple[PlotWidget, pg.ImageItem]:
    plot = PlotWidget(background=theme.BACKGROUND)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.setMouseEnabled(x=True, y=False)
    plot.setLabel("left", title)
    image = pg.ImageItem(axisOrder="col-major")  # image[x = frame, y = mel band]
    image.setColorMap(pg.colormap.get("inferno"))
    plot.addItem(image)
    return plot, image


class SpectrogramView(QWidget):
    """The generated log-mel (and the conditioning mel) against time, mel bands labelled in Hz."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot, self.image = _image_plot("Hz")
        self.plot.setLabel("bottom", "time (s)")
        self.plot.setMinimumHeight(110)
        self.plot.setToolTip("Log-mel spectrogram of the audio generated so far (the model's own mel settings)")
        self.target_plot, self.target = _image_plot("Hz")
        self.target_plot.setMinimumHeight(70)
        self.target_plot.setToolTip("The mel the run is conditioned on: what the generated audio should follow")
        self.target_plot.setXLink(self.plot)
        self.target_title = QLabel("conditioning mel")
        self.title = QLabel("generated")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.target_title)
        lay.addWidget(self.target_plot, 1)
        lay.addWidget(self.title)
        lay.addWidget(self.plot, 1)
        self.rate, self.hop, self.n_mels = 16000, 256, 80
        self.band_hz = np.linspace(0.0, 8000.0, 80)
        self.levels = (FLOOR, FLOOR + RANGE_NATS)
        self.count = 0
        self.set_target(None)

    def reset(self, rate: int, hop: int, band_hz: np.ndarray) -> None:
        """A model's mel settings: sample rate, hop and each band's centre frequency."""
        self.rate, self.hop, self.n_mels = int(rate), int(hop), len(band_hz)
        self.band_hz = np.asarray(band_hz)
        for plot in (self.plot, self.target_plot):
            plot.setYRange(0, self.n_mels, padding=0)
            plot.getViewBox().setLimits(yMin=0, yMax=self.n_mels)
        self._fit_ticks()
        self.clear()

    def _fit_ticks(self) -> None:
        """Label as many bands as each plot's height leaves room for (a label a line apart)."""
        line = self.fontMetrics().lineSpacing() + 2
        for plot in (self.plot, self.target_plot):
            height = plot.getPlotItem().getViewBox().height() or max(20.0, plot.height() - 40.0)
            ticks = band_ticks(self.band_hz, line * self.n_mels / max(height, 1.0))
            if ticks != getattr(plot, "_band_ticks", None):
                plot._band_ticks = ticks
                plot.getAxis("left").setTicks([ticks])

    def resizeEvent(self, ev: object) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(ev)
        self._fit_ticks()

    def clear(self) -> None:
        """No frames; the colour range back to its start."""
        self.count = 0
        self.levels = (FLOOR, FLOOR + RANGE_NATS)
        self.image.clear()

    def _rect(self, frames: int) -> QRectF:
        step = self.hop / self.rate
        return QRectF(-0.5 * step, 0.0, frames * step, float(self.n_mels))

    def set_frames(self, frames: np.ndarray, count: int, peak: float) -> None:
        """Draw frames[:count] [count, n_mels]; ``peak``: the largest value so far (sets the colour range)."""
        if count == self.count:
            return
        self.count = int(count)
        if np.isfinite(peak) and (peak > self.levels[1] + 0.5 or peak < self.levels[1] - 3.0):
            top = float(np.ceil(peak))  # in whole nats, so the colours do not shift at every frame
            self.levels = (max(FLOOR, top - RANGE_NATS), max(top, FLOOR + 1.0))
        if self.count == 0:
            self.image.clear()
            return
        self.image.setImage(frames[: self.count], autoLevels=False, levels=self.levels)
        self.image.setRect(self._rect(self.count))

    def set_target(self, mel: np.ndarray | None) -> None:
        """Show the conditioning log-mel [n_mels, F] above the generated one (None hides it)."""
        shown = mel is not None and mel.size > 0
        self.target_plot.setVisible(shown)
        self.target_title.setVisible(shown)
        self.title.setVisible(shown)
        self._fit_ticks()
        if not shown:
            self.target.clear()
            return
        m = np.asarray(mel, dtype=np.float32).T  # (F, n_mels)
        top = float(np.ceil(m.max()))
        self.target.setImage(m, autoLevels=False, levels=(max(FLOOR, top - RANGE_NATS), max(top, FLOOR + 1.0)))
        self.target.setRect(self._rect(m.shape[0]))
