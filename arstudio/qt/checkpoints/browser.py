"""The checkpoint browser (a dock): shipped checkpoints, the user's own, and any file opened.

Each entry shows kind, modality, data set, parameter count and held-out metric; the selected one's
training curves (from its metadata ``history``) are drawn below the list. Selecting an entry asks
the studio to load it (``checkpoint_chosen``). Only headers are read: no tensors are loaded here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QToolButton, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from arstudio.core import catalog
from arstudio.core.checkpoint import CheckpointError, CheckpointMeta, read_header, read_meta
from arstudio.core.modality import nll_figures
from arstudio.qt.checkpoints.train_curves import TrainingCurves

COLUMNS = ("name", "kind", "modality", "data", "parameters", "held-out", "source")


@dataclass(frozen=True)
class BrowserEntry:
    """One checkpoint as the browser lists it (plain data, read from the file's header)."""

    name: str
    path: Path
    source: str  # shipped, yours, opened
    meta: CheckpointMeta | None
    parameters: int | None = None
    error: str | None = None

    @property
    def modality(self) -> str:
        """The model's modality, from the metadata or the registry."""
        return "?" if self.meta is None else self.meta.modality

    @property
    def metric(self) -> tuple[str, float | None]:
        """The held-out figure shown: test NLL if recorded, else valid NLL."""
        m = self.meta.metrics if self.meta else {}
        for key, label in (("test_nats", "test"), ("valid_nats", "valid")):
            v = m.get(key)
            if isinstance(v, (int, float)) and math.isfinite(v):
                return label, float(v)
        return "", None


def read_entry(path: Path, source: str) -> BrowserEntry:
    """A browser entry for ``path``; unreadable files carry their one-line error."""
    try:
        header, _ = read_header(path)
        meta = read_meta(path)
    except CheckpointError as e:
        return BrowserEntry(path.stem, path, source, None, None, str(e))
    params = meta.extra.get("parameters")
    if not isinstance(params, int):
        params = sum(math.prod(v.get("shape", [])) for v in header.values() if isinstance(v, dict))
    return BrowserEntry(path.stem, path, source, meta, int(params))


def scan(opened: list[Path]) -> list[BrowserEntry]:
    """Every checkpoint in the shipped and user folders, then the files opened from elsewhere."""
    out = [read_entry(e.path, "shipped" if e.source == "shipped" else "yours") for e in catalog.list_checkpoints()]
    known = {e.path.resolve() for e in out}
    for p in opened:
        if p.resolve() not in known and p.exists():
            out.append(read_entry(p, "opened"))
            known.add(p.resolve())
    return out


class CheckpointBrowser(QWidget):
    """A list of checkpoints with their figures, and the selected one's training curves."""

    checkpoint_chosen = Signal(str)  # a path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.opened: list[Path] = []
        self.entries: list[BrowserEntry] = []
        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels([c.capitalize() for c in COLUMNS])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(6, Qt.SortOrder.AscendingOrder)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setToolTip("Checkpoints: shipped, yours (trained in the studio or with `arstudio train`) and "
                             "files you opened. Select one to load it into the studio.")
        self.curves = TrainingCurves(small=True)
        self.curves.setToolTip("The selected checkpoint's training curves: train NLL (blue), held-out NLL (green)")
        self.details = QLabel("")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.refresh_button = QToolButton(text="Refresh")
        self.refresh_button.setToolTip("Read the checkpoint folders again")
        top = QHBoxLayout()
        top.addWidget(QLabel(f"Yours: {catalog.user_models_dir()}"), 1)
        top.addWidget(self.refresh_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.tree, 1)
        lay.addWidget(self.curves)
        lay.addWidget(self.details)
        self.refresh_button.clicked.connect(self.refresh)
        self.tree.currentItemChanged.connect(self._on_current)
        self.refresh()

    def refresh(self) -> None:
        """Read the folders again (keeps the selection)."""
        current = self.current_path()
        self.entries = scan(self.opened)
        self.tree.blockSignals(True)
        self.tree.setSortingEnabled(False)
        self.tree.clear()
        for e in self.entries:
            self.tree.addTopLevelItem(self._item(e))
        self.tree.setSortingEnabled(True)
        self.tree.blockSignals(False)
        if current is not None:
            self.select_path(current)

    def _item(self, e: BrowserEntry) -> QTreeWidgetItem:
        label, value = e.metric
        if e.meta is None:
            cells = [e.name, "unreadable", "", "", "", "", e.source]
        else:
            cells = [e.name, e.meta.kind, e.modality, str(e.meta.data.get("name", "-")),
                     f"{e.parameters:,}" if e.parameters is not None else "-",
                     _nll_cell(e, label, value), e.source]
        item = QTreeWidgetItem(cells)
        item.setData(0, Qt.ItemDataRole.UserRole, str(e.path))
        item.setToolTip(0, e.error or str(e.path))
        if e.meta is None:
            item.setDisabled(True)
        return item

    def add_file(self, path: str | Path) -> None:
        """List a file opened from elsewhere (no-op for one already listed)."""
        p = Path(path)
        if p.exists() and all(p.resolve() != q.resolve() for q in self.opened):
            self.opened.append(p)
            self.refresh()

    def current_path(self) -> str | None:
        """Path of the selected entry."""
        item = self.tree.currentItem()
        return None if item is None else str(item.data(0, Qt.ItemDataRole.UserRole))

    def select_path(self, path: str | Path) -> None:
        """Show ``path`` as selected without asking to load it (the studio already has)."""
        want = str(path)
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, Qt.ItemDataRole.UserRole) == want:
                self.tree.blockSignals(True)
                self.tree.setCurrentItem(item)
                self.tree.blockSignals(False)
                self._show(self.entry(want))
                return

    def entry(self, path: str) -> BrowserEntry | None:
        """The entry listed for ``path``."""
        return next((e for e in self.entries if str(e.path) == path), None)

    def _on_current(self, item: QTreeWidgetItem | None, _prev: object) -> None:
        if item is None:
            return
        path = str(item.data(0, Qt.ItemDataRole.UserRole))
        e = self.entry(path)
        self._show(e)
        if e is not None and e.meta is not None:
            self.checkpoint_chosen.emit(path)

    def _show(self, e: BrowserEntry | None) -> None:
        if e is None or e.meta is None:
            self.curves.clear_curves()
            self.details.setText(e.error if e is not None and e.error else "")
            return
        h = e.meta.history
        self.curves.set_history(h.get("step", []), h.get("train_nats", []), h.get("eval_step", []),
                                h.get("valid_nats", []))
        state = e.meta.extra.get("train_state", {})
        run = (f" · stopped at step {state['step']} of {state['steps']} (resumable)"
               if state and not state.get("completed", True) else "")
        self.details.setText(f"{e.path}{run}<br><i>{e.meta.recipe or 'no recipe recorded'}</i>")


def _nll_cell(e: BrowserEntry, label: str, value: float | None) -> str:
    """The held-out figure with its units: "931.00 nats/window (test), 1.8325 bits/char"."""
    if value is None or e.meta is None:
        return "-"
    nats, bits = nll_figures(e.meta.metrics, e.modality, label)
    return f"{nats or f'{value:.2f} nats'} ({label})" + (f", {bits}" if bits else "")
