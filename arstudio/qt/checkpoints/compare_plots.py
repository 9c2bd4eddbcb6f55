"""Views of a comparison: per-step KL and log p difference, a disagreement heatmap over an input, and
the value-to-display helpers of both runs' samples."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from arstudio.core.spec import ValueSpace
from arstudio.io.export import to_unit
from arstudio.engine.compare_run import CompareStarted
from arstudio.qt.views import theme
from arstudio.train.compare_text import label_of
from arstudio.qt.views.plotting import GraphicsLayoutWidget, PlotWidget

DLOGP = "#e5534b"


def brightness(values: np.ndarray, started: CompareStarted) -> np.ndarray:
    """Values to [0, 1] by the one value-to-brightness map (NaN stays NaN)."""
    space = (ValueSpace("categorical", started.levels) if started.levels
             else ValueSpace("continuous", 0, started.low, started.high))
    return to_unit(space, values)


def sequence_text(row: np.ndarray, labels: tuple[str, ...] | None) -> str:
    """One sampled sequence (NaN = not written yet) as text."""
    return "".join(label_of(float(v), labels) for v in row if not np.isnan(v))


class StepDivergencePlot(QWidget):
    """Two lines against the step: KL(p_A || p_B) and log p_A(x_A) - log p_B(x_B), batch means."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = PlotWidget(background=theme.BACKGROUND)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "nats")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.addLegend(offset=(-10, 8))
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.kl = pg.PlotDataItem([], [], pen=pg.mkPen(theme.BAR, width=1.5), name="KL(A ‖ B)")
        self.dlogp = pg.PlotDataItem([], [], pen=pg.mkPen(DLOGP, width=1), name="log p_A − log p_B")
        self.plot.addItem(self.kl)
        self.plot.addItem(self.dlogp)
        self.plot.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen(theme.GRID)))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot)
        self.t, self.kl_v, self.dlogp_v = np.zeros(0), np.zeros(0), np.zeros(0)

    def reset(self, length: int, unit: str = "") -> None:
        """Empty, for a run of ``length`` steps; ``unit`` says what a step is (the modality's "dim", "token" ...)."""
        self.t, self.kl_v, self.dlogp_v = np.zeros(0), np.zeros(0), np.zeros(0)
        self.plot.setLabel("bottom", f"step ({unit})" if unit else "step")
        self.plot.setLabel("left", f"nats per {unit}" if unit else "nats")
        self.kl.setData([], [])
        self.dlogp.setData([], [])
        self.plot.setXRange(0, max(1, length - 1), padding=0.01)

    def append(self, t: np.ndarray, kl: np.ndarray, dlogp: np.ndarray) -> None:
        """Add steps."""
        self.t = np.concatenate([self.t, t])
        self.kl_v = np.concatenate([self.kl_v, kl])
        self.dlogp_v = np.concatenate([self.dlogp_v, dlogp])
        self.kl.setData(self.t, self.kl_v)
        self.dlogp.setData(self.t, self.dlogp_v)


class DisagreementHeatmap(QWidget):
    """The input image (above) and KL(p_A || p_B) at each of its places as a heatmap (below), with its scale."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = GraphicsLayoutWidget()
        self.canvas.setBackground(theme.BACKGROUND)
        # the input above, its heatmap below with the scale beside it: each as wide as the column allows
        self.input_vb = self.canvas.addViewBox(row=0, col=0, lockAspect=True, invertY=True, enableMouse=False,
                                               enableMenu=False)
        self.heat_vb = self.canvas.addViewBox(row=1, col=0, lockAspect=True, invertY=True, enableMouse=False,
                                              enableMenu=False)
        self.input_image = pg.ImageItem(axisOrder="row-major")
        self.heat_image = pg.ImageItem(axisOrder="row-major")
        self.heat_image.setColorMap(pg.colormap.get("inferno"))
        self.input_vb.addItem(self.input_image)
        self.heat_vb.addItem(self.heat_image)
        self.scale = pg.ColorBarItem(values=(0.0, 1.0), width=12, colorMap=pg.colormap.get("inferno"),
                                     label="KL (nats)", interactive=False, rounding=1e-3, colorMapMenu=False)
        self.scale.setImageItem(self.heat_image)
        self.canvas.addItem(self.scale, row=1, col=1)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.canvas, 1)
        lay.addWidget(self.caption)
        self.heat = np.zeros((1, 1))

    def show_map(self, image: np.ndarray, heat: np.ndarray, caption: str) -> None:
        """Draw ``image`` [H, W] or [H, W, 3] in [0, 1] and ``heat`` [H, W] (nats) with a caption."""
        self.heat = np.asarray(heat, np.float64)
        self.input_image.setImage(np.clip(np.asarray(image, np.float64), 0, 1), levels=(0, 1))
        top = float(self.heat.max()) if self.heat.size else 1.0
        self.heat_image.setImage(self.heat, levels=(0.0, top if top > 0 else 1.0))
        self.scale.setLevels((0.0, top if top > 0 else 1.0))
        for vb, img in ((self.input_vb, image), (self.heat_vb, heat)):
            vb.setRange(xRange=(0, img.shape[1]), yRange=(0, img.shape[0]), padding=0.02)
        self.caption.setText(caption)
