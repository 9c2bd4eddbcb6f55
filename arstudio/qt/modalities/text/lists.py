"""Lists for the text panel: a token's top-k alternatives, beam-search continuations, the branch tree.

Each draws rows it is given and reports which one was clicked; what a click means is decided by
the panel.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QLinearGradient
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QTreeWidget, QTreeWidgetItem, QWidget

from arstudio.qt.views import theme


def quoted(token: str, limit: int = 24) -> str:
    """A token as a short, visible string: 'foo', '␣bar', '↵'."""
    s = token.replace("\n", "↵").replace("\t", "→").replace(" ", "␣")
    return (s[:limit] + "…") if len(s) > limit else (s or "∅")


def _bar(p: float, colour: str) -> QBrush:
    """A background filled from the left up to ``p`` of the row's width."""
    g = QLinearGradient(0, 0, 1, 0)
    g.setCoordinateMode(QLinearGradient.CoordinateMode.ObjectBoundingMode)
    c = QColor(colour)
    c.setAlpha(110)
    p = min(max(p, 0.0), 1.0)
    g.setColorAt(0.0, c)
    g.setColorAt(max(p - 1e-3, 0.0), c)
    g.setColorAt(min(p + 1e-3, 1.0), QColor(0, 0, 0, 0))
    g.setColorAt(1.0, QColor(0, 0, 0, 0))
    return QBrush(g)


class AlternativesList(QListWidget):
    """The top-k values of one step's distribution, most likely first; a click picks one."""

    alternative_chosen = Signal(int, int)  # step, value

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.step = -1
        self.setToolTip("Click a token to branch: the text is cut there, that token forced, and sampling goes on.")
        self.itemClicked.connect(self._on_clicked)

    def show_alternatives(self, step: int, values: list[int], probs: list[float], labels: list[str],
                          chosen: int | None) -> None:
        """Rows ``labels`` with ``probs``; the ``chosen`` value is marked."""
        self.step = step
        self.clear()
        for v, p, lab in zip(values, probs, labels):
            mark = "●" if v == chosen else " "
            item = QListWidgetItem(f"{mark} {p:6.1%}  {quoted(lab)}")
            item.setData(Qt.ItemDataRole.UserRole, int(v))
            item.setBackground(_bar(p, theme.CHOSEN if v == chosen else theme.BAR))
            item.setToolTip(f"id {v} · p = {p:.4f}")
            self.addItem(item)

    def show_nothing(self) -> None:
        """List nothing, for no step."""
        self.step = -1
        self.clear()

    def values(self) -> list[int]:
        """The values listed, in order."""
        return [int(self.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.count())]

    def choose(self, value: int) -> None:
        """Act as a click on ``value`` (keyboard use and tests)."""
        if self.step >= 0:
            self.alternative_chosen.emit(self.step, int(value))

    def _on_clicked(self, item: QListWidgetItem) -> None:
        self.choose(int(item.data(Qt.ItemDataRole.UserRole)))


class BeamList(QListWidget):
    """Beam-search continuations with their total log-probabilities, best first; a click picks one."""

    beam_chosen = Signal(int)  # row

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip("The K most likely continuations of the prompt. Click one to continue from it.")
        self.itemClicked.connect(lambda item: self.beam_chosen.emit(self.row(item)))

    def show_beams(self, rows: list[tuple[float, str, bool]]) -> None:
        """Rows of (log p in nats, text, finished)."""
        self.clear()
        for lp, text, finished in rows:
            end = " ■" if finished else ""
            self.addItem(QListWidgetItem(f"{lp:8.2f}  {text.replace(chr(10), '↵')}{end}"))


class BranchTree(QTreeWidget):
    """The runs as a tree: a branch is a child of the run it was cut from; selecting one shows it."""

    node_selected = Signal(int)  # node id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderLabels(["run", "tokens", "log p"])
        self.setColumnWidth(0, 260)
        self.setColumnWidth(1, 60)
        self._items: dict[int, QTreeWidgetItem] = {}
        self.itemClicked.connect(lambda item, _col: self.node_selected.emit(int(item.data(0, Qt.ItemDataRole.UserRole))))

    def clear_nodes(self) -> None:
        """Forget every node."""
        self.clear()
        self._items = {}

    def add_node(self, node: int, parent: int | None, label: str) -> None:
        """A new run under ``parent`` (None: a top-level run)."""
        item = QTreeWidgetItem([label, "", ""])
        item.setData(0, Qt.ItemDataRole.UserRole, node)
        up = self._items.get(parent) if parent is not None else None
        if up is None:
            self.addTopLevelItem(item)
        else:
            up.addChild(item)
            up.setExpanded(True)
        self._items[node] = item

    def update_node(self, node: int, tokens: int, log_p: float, label: str | None = None) -> None:
        """Show a run's length and total log p."""
        item = self._items.get(node)
        if item is None:
            return
        item.setText(1, str(tokens))
        item.setText(2, f"{log_p:.2f}")
        if label is not None:
            item.setText(0, label)

    def select(self, node: int) -> None:
        """Mark ``node`` as the one shown (without emitting)."""
        item = self._items.get(node)
        if item is not None:
            self.blockSignals(True)
            self.setCurrentItem(item)
            self.blockSignals(False)

    def nodes(self) -> list[int]:
        """Every node id, in the order added."""
        return list(self._items)
