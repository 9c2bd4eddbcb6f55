"""The checkpoint browser (a dock): shipped checkpoints, the user's own, and any file opened.

Each row shows the name, kind and data set, the held-out figure with its unit and the parameter
count (``browser_rows``); the selected one's training curves (from its metadata ``history``) are
drawn below the list. Selecting an entry asks the studio to load it (``checkpoint_chosen``). Only
headers are read: no tensors are loaded here.
"""

from __future__ import annotations

import math
from html import escape
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QSizePolicy, QToolButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from arstudio.core import catalog
from arstudio.core.checkpoint import CheckpointError, CheckpointMeta, read_header, read_meta
from arstudio.core.modality import example_unit, nll_figures
from arstudio.qt.checkpoints.browser_rows import (HEADER_TIPS, HEADERS, HELD_OUT, NAME, PARAMS, EntryItem,
                                                  SUBLINE_ROLE, TwoLineDelegate, compact_count)
from arstudio.qt.checkpoints.train_curves import TrainingCurves


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
        self.tree.setColumnCount(len(HEADERS))
        self.tree.setHeaderLabels(list(HEADERS))
        for col, tip in enumerate(HEADER_TIPS):
            self.tree.headerItem().setToolTip(col, tip)
        self.tree.headerItem().setTextAlignment(HELD_OUT, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.tree.headerItem().setTextAlignment(PARAMS, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.delegate = TwoLineDelegate(self.tree)
        self.tree.setItemDelegate(self.delegate)
        self.tree.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(36)
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        for col in (HELD_OUT, PARAMS):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(NAME, Qt.SortOrder.AscendingOrder)
        self.tree.setToolTip("Checkpoints: shipped, yours (trained in the studio or with `arstudio train`) and "
                             "files you opened. Select one to load it into the studio.")
        self.curves = TrainingCurves(small=True)
        self.curves.setToolTip("The selected checkpoint's training curves: train NLL per step (blue line) and "
                               "held-out NLL at each evaluation (green points), in nats per example")
        self.details = QLabel("")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setToolTip("The selected checkpoint: its figures, its file and the command that made it")
        self.details.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.refresh_button = QToolButton(text="Refresh")
        self.refresh_button.setToolTip("Read the checkpoint folders again")
        self.folder_label = QLabel()
        self.folder_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.folder_label.setToolTip(f"Your checkpoints are saved in {catalog.user_models_dir()}")
        top = QHBoxLayout()
        top.addWidget(self.folder_label, 1)
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
            self.tree.addTopLevelItem(EntryItem(e))
        self.tree.setSortingEnabled(True)
        self.tree.blockSignals(False)
        self._fit_columns()
        self._elide_folder()
        if current is not None:
            self.select_path(current)

    def _fit_columns(self) -> None:
        """The figures' columns as wide as their widest cell (capped); the name takes the rest."""
        room = max(120, self.tree.viewport().width())
        font, header = self.tree.font(), self.tree.headerItem()
        for col, cap in ((HELD_OUT, 0.3), (PARAMS, 0.2)):
            items = [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]
            want = max([self.tree.header().fontMetrics().horizontalAdvance(header.text(col)) + 24]
                       + [self.delegate.width(font, it.text(col), str(it.data(col, SUBLINE_ROLE) or "")) for it in items])
            self.tree.header().resizeSection(col, min(want, int(room * cap)))

    def _elide_folder(self) -> None:
        text = f"Yours: {catalog.user_models_dir()}"
        width = max(40, self.folder_label.width())
        self.folder_label.setText(self.folder_label.fontMetrics().elidedText(text, Qt.TextElideMode.ElideMiddle,
                                                                            width))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        """Refit the columns and the folder line to the new width."""
        super().resizeEvent(event)
        self._fit_columns()
        self._elide_folder()

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
            if item.data(NAME, Qt.ItemDataRole.UserRole) == want:
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
        self.curves.set_unit(example_unit(e.modality))
        self.curves.set_history(h.get("step", []), h.get("train_nats", []), h.get("eval_step", []),
                                h.get("valid_nats", []))
        self.details.setText(details(e))


def details(e: BrowserEntry) -> str:
    """The lines below the curves (rich text): what the row elides, the file, the run's state, the recipe."""
    assert e.meta is not None
    split, value = e.metric
    nats, bits = nll_figures(e.meta.metrics, e.modality, split) if value is not None else ("", "")
    figure = f"held-out ({split}): {', '.join(f for f in (nats, bits) if f)}" if nats or bits else "no held-out figure"
    state = e.meta.extra.get("train_state", {})
    run = (f" · stopped at step {state['step']} of {state['steps']} (resumable)"
           if state and not state.get("completed", True) else "")
    return (f"<b>{escape(e.name)}</b>: {escape(e.meta.kind)} · {escape(e.modality)} · "
            f"{escape(str(e.meta.data.get('name', '–')))} · {compact_count(e.parameters)} parameters<br>"
            f"{escape(figure)}<br>{escape(str(e.path))}{run}<br><i>{escape(e.meta.recipe or 'no recipe recorded')}</i>")

