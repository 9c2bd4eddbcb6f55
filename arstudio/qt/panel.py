"""The base of every modality panel: what the main window and the run session expect of one.

A panel shows a run in its modality (pixels, waveform, piano roll, text) and decides what the
user's gestures on it mean: which step the mouse is over (``step_hovered``) and which one was
picked (``step_picked``). Each package ``arstudio/qt/modalities/<name>/`` defines one subclass,
which its modality plug-in names (``Modality.panel``); the export formats are the plug-in's too
(``Modality.formats``, used by ``arstudio.qt.export_flow``). Panels never import each other.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from arstudio.engine.messages import ModelInfo
from arstudio.engine.record import RunRecord


class ModalityPanel(QWidget):
    """One modality's view of a run; subclasses fill in the drawing and the export."""

    modality: ClassVar[str] = ""
    title: ClassVar[str] = "Output"
    export_label: ClassVar[str] = "Export…"  # the File menu's entry (the formats are the modality plug-in's)
    values_in_order: ClassVar[bool] = False  # the distribution view draws values at their place (ordinal: audio levels)

    step_hovered = Signal(int, int)  # step, sample; (-1, -1) when the mouse leaves
    step_picked = Signal(int, int)  # step, sample
    condition_chosen = Signal(object)  # the Condition the next runs are given (class labels, ...), or None
    completion_requested = Signal(object, object)  # given values [D] in data order, kept places [D] bool
    problem_found = Signal(str, str)  # title, one-line message for the window to show
    run_planned = Signal(object, bool)  # RunPlan the next runs follow (a prompt, a length, an end value); True: start now

    def set_model(self, info: ModelInfo, batch: int) -> None:
        """A model was loaded; show an empty canvas for ``batch`` samples."""
        raise NotImplementedError

    def begin_run(self, record: RunRecord) -> None:
        """A run started (its record is still empty)."""
        raise NotImplementedError

    def show_steps(self, record: RunRecord) -> None:
        """New steps are in ``record``: redraw (called at most once a frame)."""
        raise NotImplementedError

    def show_focus(self, step: int, sample: int) -> None:
        """Outline the place of ``step`` in ``sample`` (what the distribution view shows); -1 for none."""

    def describe_step(self, record: RunRecord, step: int) -> str:
        """A short label of where ``step`` writes, e.g. "step 12 · pixel (1, 4)"."""
        return f"step {step}"

    def shutdown(self) -> None:
        """Stop any thread the panel started (the window closes, or another panel replaces it)."""

    def exported_record(self, record: RunRecord) -> RunRecord:
        """The run Export writes, given the current one (a panel that shows an earlier run says which)."""
        return record

    def exported_sample(self) -> int:
        """The sample (0-based) a one-sample format (a WAV, a MIDI file) writes: the one the panel shows."""
        return 0

    def show_sample(self, sample: int) -> None:
        """Show sample ``sample`` (0-based) of the run, as a replayed WAV or MIDI file names it; panels that
        show every sample at once ignore this."""

    def export(self, path: Path, record: RunRecord, text: dict[str, str]) -> Path:
        """Write the run's output to ``path`` through the modality's format for its suffix, the recipe inside.

        Raises ``arstudio.io.ExportError`` when it cannot. The steps written so far go out (a
        sequence modality writes what has been generated); panels with more to say override this.
        """
        from arstudio.io.errors import ExportError
        from arstudio.io.export import export_samples

        info = getattr(self, "info", None)
        if info is None:
            raise ExportError("no model is loaded")
        if record.filled == 0:
            raise ExportError("nothing to export yet: press Play first")
        return export_samples(path, info.spec, record.data()[:, : record.filled], text)


class OneSampleShownPanel(ModalityPanel):
    """A panel that shows one sample of the batch at a time (a waveform, a piano roll).

    Its controls have a ``shown`` spin box that counts from 1; ``sample`` is the shown sample,
    counted from 0. Export writes that sample (the recipe names it), and a replayed file shows it.
    A subclass connects ``controls.shown.valueChanged`` to ``_on_shown`` and calls ``sync_shown``
    from its ``begin_run``.
    """

    sample: int = 0
    record: RunRecord | None = None
    controls: QWidget  # with a ``shown`` QSpinBox

    def exported_sample(self) -> int:
        return self.sample

    def show_sample(self, sample: int) -> None:
        self.sample = max(int(sample), 0)  # a run that begins later shows it (sync_shown keeps it in range)
        if self.record is not None and self.sample < self.record.batch:
            self.controls.shown.setValue(self.sample + 1)  # redraws through _on_shown

    def sync_shown(self, record: RunRecord) -> None:
        """Keep the shown sample inside ``record``'s batch, and the box in step with it (without its signal)."""
        self.sample = min(self.sample, record.batch - 1)
        box = self.controls.shown
        box.blockSignals(True)
        box.setMaximum(record.batch)
        box.setValue(self.sample + 1)  # the box counts from 1
        box.blockSignals(False)
        box.setEnabled(record.batch > 1)

    def _on_shown(self, number: int) -> None:
        self.sample = int(number) - 1  # the box counts from 1
        if self.record is not None:
            self.begin_run(self.record)
