"""Export from the studio: ask where, check the place, write the run through its panel, say how it went.

The save dialog's filters and default suffix are the modality plug-in's export formats
(``arstudio.core.modality``, the default first), and a path whose suffix none of them writes is
refused with a message before anything is drawn. The panel writes the file (it knows which run is
shown); the replay recipe goes in with it, so that ``arstudio replay`` remakes the samples.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from arstudio.core.modality import FileFormat, UnknownModalityError, get_modality
from arstudio.io import check_writable
from arstudio.qt.panel import ModalityPanel
from arstudio.qt.replay import export_recipe
from arstudio.qt.sampler.session import RunSession
from arstudio.qt.settings import StudioSettings

ALL_FILES = "All files (*)"


def export_formats(modality: str) -> tuple[FileFormat, ...]:
    """The formats samples of ``modality`` are exported as, the default first (none for an unknown modality)."""
    try:
        return get_modality(modality).formats
    except UnknownModalityError:
        return ()


def file_filters(formats: tuple[FileFormat, ...]) -> str:
    """A save dialog's filter string: one entry per format, e.g. ``PNG image (*.png)``."""
    return ";;".join(f.file_filter() for f in formats) or ALL_FILES


def with_suffix(path: str, chosen_filter: str, formats: tuple[FileFormat, ...]) -> str:
    """``path`` as typed, or with the chosen format's suffix added when it has none."""
    if not formats or Path(path).suffix:  # a suffix typed is kept (one no format writes is refused, not doubled)
        return path
    fmt = next((f for f in formats if f.file_filter() == chosen_filter), formats[0])
    return path + fmt.suffixes[0]


class ExportFlow(QObject):
    """File > Export: the dialog, the checks, the write through the panel, and the messages."""

    message_posted = Signal(str, int)  # status-bar text, for how many milliseconds
    problem_found = Signal(str, str)  # title, one-line message

    def __init__(self, session: RunSession, dialog_parent: QWidget, settings: StudioSettings | None = None) -> None:
        super().__init__(dialog_parent)
        self.session = session
        self.dialog_parent = dialog_parent
        self.settings = settings  # where the last export went: the next dialog opens there

    def ask(self, panel: ModalityPanel | None) -> Path | None:
        """Ask where to export the current samples, then write them; the path written, or None."""
        if panel is None or self.session.record is None:
            self.message_posted.emit("Nothing to export yet: press Play first.", 5000)
            return None
        formats = export_formats(panel.modality)
        model = self.session.model
        name = f"{model.name if model else 'samples'}-seed{self.session.settings.seed}"
        default = formats[0].suffixes[0] if formats else ""
        folder = self.settings.export_dir() if self.settings is not None else None
        path, chosen = QFileDialog.getSaveFileName(self.dialog_parent, panel.export_label.rstrip("…"),
                                                   str((folder or Path.cwd()) / (name + default)),
                                                   file_filters(formats))
        if not path:
            return None
        return self.write(panel, with_suffix(path, chosen, formats))

    def write(self, panel: ModalityPanel | None, path: str | Path) -> Path | None:
        """Export the current run's samples to ``path``; a problem is reported (one line) and gives None."""
        record, model = self.session.record, self.session.model
        if panel is None or record is None or model is None:
            self.problem_found.emit("Nothing to export", "Press Play first: there are no samples yet.")
            return None
        try:
            if export_formats(panel.modality):
                get_modality(panel.modality).format_for(path)  # ValueError naming the suffixes there are
            check_writable(path)  # ExportError: a missing or read-only folder, said before anything is drawn
            record = panel.exported_record(record)
            text = export_recipe(model, record, panel.exported_sample()).to_text()  # `arstudio replay` remakes it
            out = panel.export(Path(path), record, text)
        except Exception as e:  # ExportError, ValueError, or anything else: a message, never a crash
            self.problem_found.emit("Could not export", str(e) or type(e).__name__)
            return None
        if self.settings is not None:
            self.settings.set_export_dir(Path(out).resolve().parent)
        self.message_posted.emit(f"Exported {out}", 8000)
        return out
