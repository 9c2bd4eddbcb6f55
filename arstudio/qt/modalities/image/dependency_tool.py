"""The dependency overlay's logic: which pixel's map to ask for, and what to draw when it comes back.

The panel says which (sample, pixel) the distribution view shows; this asks the analysis thread for
that pixel's dependency map once per pixel and run, and draws only the answer to the newest question
(an answer about an earlier run or model is dropped), with a one-line note of what it shows.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QCheckBox, QLabel, QSizePolicy

from arstudio.engine.record import RunRecord
from arstudio.qt.modalities.image.analysis import DependencyResult, PixelAnalysis
from arstudio.qt.modalities.image.dependency_overlay import DependencyOverlay
from arstudio.qt.modalities.image.grid import ImageGridCanvas
from arstudio.qt.views import theme

WAITING = "hover or click a sampled pixel"


def blind_spot(seen: np.ndarray, unseen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split unseen earlier pixels [h, w] into a blind spot (inside the box the seen ones span) and the rest."""
    if not seen.any():
        return np.zeros_like(unseen), unseen
    rows, cols = np.nonzero(seen)
    box = np.zeros_like(seen)
    box[rows.min():rows.max() + 1, cols.min():cols.max() + 1] = True
    return unseen & box, unseen & ~box


class DependencyTool(QObject):
    """The "Dependency overlay" check box, its note and its overlay on a canvas."""

    def __init__(self, canvas: ImageGridCanvas, analysis: PixelAnalysis, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.canvas, self.analysis = canvas, analysis
        self.overlay = DependencyOverlay(canvas)
        self.box = QCheckBox("Dependency overlay")
        self.box.setToolTip("Shade the earlier pixels by how much they influence the pixel the distribution view "
                            "shows (|gradient of its log p|); striped: earlier pixels it cannot see at all. "
                            "It follows the hovered pixel, else the picked one, else the newest.")
        self.note = QLabel("")
        self.note.setTextFormat(Qt.TextFormat.RichText)
        self.note.setWordWrap(True)
        self.note.setFixedHeight(2 * self.note.fontMetrics().lineSpacing() + 4)
        self.note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # never widens
        self.note.hide()
        self.box.toggled.connect(self.note.setVisible)
        self.shape = (1, 1, 1)
        self.key: tuple[int, int, int] | None = None  # (run id, sample, flat index) of the newest question
        self.result: DependencyResult | None = None
        analysis.dependency_computed.connect(self._on_result)

    def reset(self) -> None:
        """Hide the overlay and forget the pixel (a new run or model)."""
        self.overlay.clear()
        self.note.setText("")
        self.key, self.result = None, None

    def update(self, record: RunRecord | None, target: tuple[int, int] | None, force: bool = False) -> None:
        """Show the map of pixel ``target`` = (sample, flat index) of ``record`` (asked for once per pixel and run)."""
        if not self.box.isChecked():
            if self.overlay.shown or self.note.text():
                self.overlay.clear()
                self.note.setText("")
            self.key = None
            return
        if target is None or record is None:
            if self.overlay.shown or self.note.text() != WAITING:
                self.overlay.clear()
                self.note.setText(WAITING)
            self.key = None
            return
        self.shape = tuple(record.info.shape)  # type: ignore[assignment]
        sample, index = target
        key = (record.run_id, sample, index)
        if key == self.key and not force:
            return
        self.key = key
        cond = record.info.request.cond
        label = int(cond[sample]) if cond is not None else None
        self.analysis.request_dependency(sample, index, record.data()[sample], label, record.info.request.ordering,
                                         record.run_id)

    def _on_result(self, result: DependencyResult) -> None:
        if not self.box.isChecked() or (result.run_id, result.sample, result.index) != self.key:
            return  # an answer to an earlier question (another pixel, run or model)
        if result.error is not None:
            self.overlay.clear()
            self.note.setText(f"no map: {result.error}")
            return
        self.result = result
        c, h, w = self.shape
        influence = result.influence.reshape(c, h, w).max(0)
        earlier = result.earlier.reshape(c, h, w).any(0)
        unseen = earlier & result.blind.reshape(c, h, w).all(0, where=result.earlier.reshape(c, h, w))
        spot, far = blind_spot(earlier & ~unseen, unseen)
        rc = result.index % (h * w)
        r, col = rc // w, rc % w
        self.overlay.show_map(result.sample, influence, earlier, spot, (r, col), unreached=far)
        n_spot, n_seen = int(spot.sum()), int((earlier & ~unseen).sum())
        text = (f"<b style='color:{theme.BLIND}'>{n_spot} in its blind spot</b>" if n_spot else "no blind spot")
        beyond = f" · {int(far.sum())} beyond its field" if far.any() else ""
        self.note.setText(f"<span style='color:{theme.INFLUENCE}'>■</span> ({r}, {col}), sample "
                          f"{result.sample + 1}: {n_seen} earlier pixels reach it · {text}{beyond}")
