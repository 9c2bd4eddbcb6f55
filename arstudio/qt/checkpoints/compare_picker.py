"""The Compare window's two checkpoint pickers, and the rule that B follows A.

B is always a checkpoint that compares with A (``compare_pairing``: same modality, values, shape
and tokenizer; the same data set preferred), never A itself. When none does, B is left empty and
``hint`` says so; a B the person picks that cannot be compared is said at once, also by ``hint``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox, QWidget

from arstudio.core import catalog
from arstudio.train.compare_pairing import compares, describe, partners, what_it_generates, why_not

NO_PARTNER = "no checkpoint compares with A"


class PairPicker(QObject):
    """Checkpoint A and checkpoint B, as two combo boxes the window lays out."""

    a_changed = Signal()  # A is another checkpoint (B may have followed it)
    hint = Signal(str)  # a note on the pair ("" clears it): no B compares, or the B picked does not

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.a, self.b = QComboBox(parent), QComboBox(parent)
        self.a.setToolTip("Checkpoint A (left); B follows it to a checkpoint that compares with it")
        self.b.setToolTip("Checkpoint B (right): of the same modality, values and shape as A (text: with the same "
                          "tokenizer)")
        self.b.setPlaceholderText(NO_PARTNER)
        self.a.currentIndexChanged.connect(self._on_pick_a)
        self.b.currentIndexChanged.connect(self._on_pick_b)

    def refresh(self, extra: list[Path] | None = None) -> None:
        """List the shipped and user checkpoints (and ``extra`` files) in both; B is made to compare with A."""
        entries = [(e.name, str(e.path)) for e in catalog.list_checkpoints() if e.meta is not None]
        entries += [(p.stem, str(p)) for p in extra or [] if str(p) not in {q for _, q in entries}]
        for combo in (self.a, self.b):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            for name, path in entries:
                combo.addItem(name, path)
            combo.setCurrentIndex(max(0 if combo is self.a else -1, combo.findData(current)))
            combo.blockSignals(False)
        self._on_pick_a()

    def set_pair(self, a: str | Path, b: str | Path | None = None) -> None:
        """Pick checkpoints A and B (added to the lists if not there).

        B follows A (``pick_partner``) when no ``b`` is given, when it is A itself, or when it is the B
        already picked and does not compare with the new A (as when the studio opens the window on its
        model, passing the current B along).
        """
        current_b = self.b.currentData()
        self._select(self.a, str(a))
        if b is None or str(b) == str(a) or (str(b) == current_b and not compares(a, b)):
            self.pick_partner()
        else:
            self._select(self.b, str(b))
        self.a_changed.emit()
        self._on_pick_b()

    def pick_partner(self) -> str | None:
        """Make B the checkpoint that compares best with A and return it; when none does, B is empty and
        ``hint`` says so. For a folder A (a format plug-in's, checked once loaded) B is left as it is."""
        a = self.a.currentData()
        if not a or describe(a) is None:
            return self.b.currentData()
        found = partners(a, [self.b.itemData(i) for i in range(self.b.count())])
        self.b.blockSignals(True)
        self.b.setCurrentIndex(self.b.findData(found[0]) if found else -1)
        self.b.blockSignals(False)
        self.hint.emit("" if found else
                       f"No other checkpoint compares with {self.a.currentText()} ({what_it_generates(a)}): "
                       "train one (Train › Train a model…) or open one, then pick it as B.")
        return found[0] if found else None

    def _select(self, combo: QComboBox, path: str) -> None:
        if combo.findData(path) < 0:
            combo.addItem(Path(path).stem, path)
        combo.blockSignals(True)
        combo.setCurrentIndex(combo.findData(path))
        combo.blockSignals(False)

    def _on_pick_a(self, *_: object) -> None:
        """A changed: B follows it when it does not compare with the new A."""
        b = self.b.currentData()
        if not b or not compares(self.a.currentData(), b):
            self.pick_partner()
        self.a_changed.emit()

    def _on_pick_b(self, *_: object) -> None:
        """B changed: say at once when the pair cannot be compared."""
        a, b = self.a.currentData(), self.b.currentData()
        if a and b and describe(a) is not None and describe(b) is not None:  # (a folder is checked once loaded)
            self.hint.emit(why_not(a, b))
