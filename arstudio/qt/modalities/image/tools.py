"""The pixel panel's likelihood tool: what drawing, loading, scoring, completing and exporting an image mean.

It keeps the image being scored (flat data [D] in the model's values), sends it to the analysis
thread after every stroke, load or clear, and shows what comes back: the per-pixel NLL heatmap,
the total in nats and bits/dim, and the image's place among held-out images (PixelDefend's
anomaly score, see ``arstudio.train.scoring``). "Complete from here" asks for a run that keeps the
top rows exactly; the heatmap exports as a PNG.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog

import arstudio
from arstudio.core.spec import ValueSpace
from arstudio.io.export import to_unit
from arstudio.io.images import heatmap_figure
from arstudio.engine.messages import ModelInfo
from arstudio.qt.modalities.image.analysis import HeldoutResult, LoadResult, PixelAnalysis, ScoreResult
from arstudio.qt.views import theme
from arstudio.qt.modalities.image.grid import cells_rgb
from arstudio.qt.modalities.image.likelihood_view import CAPTION, LikelihoodView
from arstudio.train.scoring import bits_per_dim, class_names, standing


class LikelihoodTool(QObject):
    """Drives a ``LikelihoodView`` through a ``PixelAnalysis`` thread."""

    completion_requested = Signal(object, object)  # given values [D], kept places [D] bool
    problem_found = Signal(str, str)  # title, message

    def __init__(self, view: LikelihoodView, analysis: PixelAnalysis, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view, self.analysis = view, analysis
        self.info: ModelInfo | None = None
        self.shape = (1, 1, 1)
        self.space = ValueSpace("binary")
        self.values = np.zeros(1)
        self.label: int | None = None  # the panel's label; None or -1: the label that explains the image best
        self.result: ScoreResult | None = None
        self.heldout: HeldoutResult | None = None
        self.source = "drawing"
        self.notes: tuple[str, ...] = ()
        v = view
        v.editor.pixel_painted.connect(self.paint)
        v.editor.stroke_finished.connect(self.rescore)
        v.editor.pixel_hovered.connect(self._on_hover)
        v.heatmap.pixel_hovered.connect(self._on_hover)
        v.load_button.clicked.connect(self.load_dialog)
        v.clear_button.clicked.connect(self.clear)
        v.complete_button.clicked.connect(self.complete)
        v.export_button.clicked.connect(self.export_dialog)
        v.keep_rows.valueChanged.connect(lambda rows: v.editor.set_given_rows(rows))
        analysis.scored.connect(self._on_scored)
        analysis.heldout_computed.connect(self._on_heldout)
        analysis.image_loaded.connect(self._on_loaded)

    # ---- the model ---------------------------------------------------------------------------
    def set_model(self, info: ModelInfo) -> None:
        """A model was loaded: an empty image of its shape, the ink set to its brightest value."""
        self.info = info
        self.shape = tuple(info.spec.layout.shape)  # type: ignore[assignment]
        self.space = info.spec.values
        c, h, _ = self.shape
        top = self.space.n - 1 if self.space.discrete else 255
        self.view.ink.setRange(0, top)
        self.view.ink.setValue(top)
        self.view.keep_rows.setRange(1, max(h - 1, 1))
        self.view.keep_rows.setValue(max(h // 2, 1))
        self.result, self.heldout = None, None
        self.view.image_caption.setText(CAPTION)
        self.view.histogram.set_scores(None)
        self.view.histogram.mark(None, "")
        self.set_values(np.zeros(int(np.prod(self.shape))), "a blank image", (), score=False)
        self.view.editor.set_given_rows(self.view.keep_rows.value())

    def set_values(self, values: np.ndarray, source: str, notes: tuple[str, ...] = (), score: bool = True) -> None:
        """Show ``values`` [D] as the image being scored (and score it)."""
        self.values = np.asarray(values, dtype=np.float64).copy()
        self.source, self.notes = source, tuple(notes)
        self._draw_image()
        self._show_notes()
        if score:
            self.rescore()
        else:
            self.view.heatmap.clear("Draw on the image (left: ink, right: erase) or load a PNG to score it.")

    def _show_notes(self) -> None:
        self.view.notes.setText(f"<b>{self.source}</b>" + (": " + "; ".join(self.notes) if self.notes else ""))

    def _draw_image(self) -> None:
        self.view.editor.set_image(cells_rgb(to_unit(self.space, self.values).reshape(1, *self.shape))[0])

    # ---- gestures ----------------------------------------------------------------------------
    def _ink(self, erase: bool) -> float:
        if erase:
            return 0.0 if self.space.discrete else float(self.space.low)
        v = float(self.view.ink.value())
        return v if self.space.discrete else self.space.low + v / 255 * (self.space.high - self.space.low)

    def paint(self, row: int, col: int, erase: bool = False) -> None:
        """Write the ink (or 0) at (row, col) in every channel."""
        c, h, w = self.shape
        if not (0 <= row < h and 0 <= col < w):
            return
        self.values[np.arange(c) * h * w + row * w + col] = self._ink(erase)
        if self.source == "a blank image":
            self.source = "drawing"
        elif self.source != "drawing" and not self.source.endswith(", drawn on"):
            self.source += ", drawn on"
        self._draw_image()

    def clear(self) -> None:
        """Blank the image and score it."""
        self.set_values(np.zeros_like(self.values), "a blank image")

    def rescore(self) -> None:
        """Send the image to the analysis thread; the heatmap follows when the answer comes."""
        if self.info is None:
            return
        label = self.label if self.label is not None and self.label >= 0 else None
        self._show_notes()
        self.analysis.request_score(self.values, label)
        self.view.heatmap.caption.setText(self.view.heatmap.caption.text() or "Scoring…")

    def load_dialog(self) -> None:
        """Ask for an image file and load it."""
        path, _ = QFileDialog.getOpenFileName(self.view, "Load an image to score", str(Path.cwd()),
                                              "PNG images (*.png);;Images (*.png *.jpg *.jpeg *.bmp *.gif);;"
                                              "All files (*)")
        if path:
            self.load(path)

    def load(self, path: str | Path) -> None:
        """Read and convert ``path`` in the analysis thread (a bad file is reported, never raised)."""
        self.view.notes.setText(f"Loading {Path(path).name}…")
        self.analysis.request_image(path)

    def complete(self) -> None:
        """Ask for a run that keeps the top rows of this image exactly and samples the rest."""
        c, h, w = self.shape
        rows = int(self.view.keep_rows.value())
        mask = np.zeros((c, h, w), dtype=bool)
        mask[:, :rows] = True
        self.completion_requested.emit(self.values.copy(), mask.reshape(-1))

    def export_dialog(self) -> None:
        """Ask where to write the heatmap, then write it."""
        if self.result is None:
            self.problem_found.emit("Nothing to export", "Draw or load an image first: there is no heatmap yet.")
            return
        name = f"{self.info.name if self.info else 'image'}-nll.png"
        path, _ = QFileDialog.getSaveFileName(self.view, "Export heatmap", str(Path.cwd() / name), "PNG image (*.png)")
        if path:
            self.export(path)

    def export(self, path: str | Path) -> Path | None:
        """Write the image beside its NLL heatmap and colour bar as a PNG; a message (and None) on failure."""
        from arstudio.io import png

        r = self.result
        if r is None or self.info is None:
            self.problem_found.emit("Nothing to export", "Draw or load an image first: there is no heatmap yet.")
            return None
        c, h, w = self.shape
        nll = r.nll.reshape(c, h, w).sum(0)
        text = {"Software": f"arstudio {arstudio.__version__}", "checkpoint": self.info.name,
                "kind": self.info.meta.kind, "nll_nats": f"{r.nats:.4f}", "bits_per_dim": f"{r.bits_per_dim:.4f}",
                "colour_scale_nats": f"0 to {self._vmax(nll):.4f}", "image": self.source}
        if r.label is not None:
            text["label"] = str(r.label)
        try:
            fig = heatmap_figure(to_unit(self.space, self.values).reshape(c, h, w), nll, self._vmax(nll),
                                 scale=max(4, 256 // max(h, w)))
            return png.write_png(path, fig, text)
        except Exception as e:  # ExportError or anything else: a message, never a crash
            self.problem_found.emit("Could not export the heatmap", str(e) or type(e).__name__)
            return None

    # ---- answers -----------------------------------------------------------------------------
    @staticmethod
    def _vmax(nll: np.ndarray) -> float:
        finite = nll[np.isfinite(nll)]
        return float(max(finite.max(), math.log(2))) if finite.size else 1.0

    def _on_loaded(self, result: LoadResult) -> None:
        if result.error is not None or result.values is None:
            self.view.notes.setText(f"<span style='color:{theme.FORCED}'>{result.error}</span>")
            self.problem_found.emit("Cannot load the image", result.error or "unreadable")
            return
        self.set_values(result.values, Path(result.path).name, result.notes)

    def _on_scored(self, result: ScoreResult) -> None:
        if result.error is not None:
            self.view.heatmap.clear(f"Could not score: {result.error}")
            return
        self.result = result
        c, h, w = self.shape
        nll = result.nll.reshape(c, h, w).sum(0)
        given = ""
        if result.label is not None and self.info is not None:
            k = int(self.info.spec.cond.get("classes", 0) or 0)
            names = class_names(self.info.meta, k) if k else []
            name = names[result.label] if 0 <= result.label < len(names) else str(result.label)
            best = " (best fit)" if self.label is None or self.label < 0 else ""
            given = f"label {name}{best} · "
        self.view.heatmap.show_map(nll, self._vmax(nll),
                                   f"<b>NLL {result.nats:.2f} nats · {result.bits_per_dim:.3f} bits/dim</b>"
                                   f"<br>{given}bright = unlikely")
        self._mark()

    def _on_heldout(self, result: HeldoutResult) -> None:
        self.heldout = result
        scores = None if result.scores is None else bits_per_dim(result.scores, result.dims)
        self.view.histogram.set_scores(scores)
        self._mark()

    def _mark(self) -> None:
        r, hd = self.result, self.heldout
        if r is None:
            return
        dims = len(r.nll)
        score = float(bits_per_dim(r.score_nats, dims))
        what = "p(x), averaged over labels" if self.info is not None and self.info.spec.cond.get("classes") else "NLL"
        if hd is None:
            self.view.histogram.mark(score, f"anomaly score {score:.3f} bits/dim ({what}) · held-out images: computing…")
        elif hd.scores is None:
            self.view.histogram.mark(score, f"anomaly score {score:.3f} bits/dim ({what}) · {hd.note}")
        else:
            st = standing(hd.scores, r.score_nats)
            self.view.histogram.mark(score, f"<b>anomaly score {score:.3f} bits/dim</b>: above {st.percentile:.1f}% "
                                            f"of {st.n} held-out images (z = {st.z:+.1f}) · <b>{st.verdict}</b>")

    def _on_hover(self, row: int, col: int) -> None:
        r = self.result
        c, h, w = self.shape
        if r is None or row < 0 or not (0 <= row < h and 0 <= col < w):
            return
        nats = float(r.nll.reshape(c, h, w)[:, row, col].sum())
        val = self.values.reshape(c, h, w)[:, row, col]
        shown = ", ".join(f"{v:g}" for v in val)
        self.view.image_caption.setText(f"pixel (row {row}, col {col}) = {shown} · −log p = {nats:.3f} nats")
