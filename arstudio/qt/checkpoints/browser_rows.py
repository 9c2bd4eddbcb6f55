"""How the checkpoint browser draws one entry: its cells, their sort keys and tooltip, two lines a row.

The browser lives in a dock about 300 px wide, so a row has three columns, each of two lines (the
second smaller and dimmer): the checkpoint's name over "kind · data", its held-out figure over the
unit, its parameter count over the file's size. What does not fit is elided, and every cell's
tooltip has the whole entry.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QTreeWidgetItem

from arstudio.core.modality import example_unit, nll_figures, step_unit

if TYPE_CHECKING:
    from arstudio.qt.checkpoints.browser import BrowserEntry

HEADERS = ("Checkpoint", "Held-out", "Params")
NAME, HELD_OUT, PARAMS = range(3)
SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # a column's sort key (numbers sort as numbers)
SUBLINE_ROLE = Qt.ItemDataRole.UserRole + 2  # a cell's second line: "kind · data", the unit, the file size
SOURCES = ("shipped", "yours", "opened")  # the list's order: shipped first, then the user's, then files opened
HEADER_TIPS = ("The checkpoint's name; below it its kind, data set and (unless shipped) where it is from",
               "Held-out negative log-likelihood on the test split (the valid split, in italics, for a run "
               "still training), in bits per step of its modality (text: bits per character). Lower is better",
               "Number of trained parameters (k = thousand, M = million); below it the file's size")


def held_out(e: BrowserEntry) -> tuple[str, str, float]:
    """The held-out cell: the figure, its unit ("1.833", "bits/char"; "30.50", "nats/image") and its sort key."""
    split, value = e.metric
    if e.meta is None or value is None:
        return "–", "", math.inf
    m = e.meta.metrics
    for key, unit in (("bits_per_char", "char"), ("bits_per_dim", step_unit(e.modality))):
        v = m.get(f"{split}_{key}")
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            return f"{v:.3f}", f"bits/{unit}", float(v)
    return f"{value:.2f}", f"nats/{example_unit(e.modality)}", math.inf


def compact_count(n: int | None) -> str:
    """960, 38.4k, 1.23M."""
    if n is None:
        return "–"
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1e3:.3g}k"
    return f"{n / 1e6:.3g}M"


def file_size(e: BrowserEntry) -> str:
    """The file's size, "3.7 MB" ("" when it cannot be read)."""
    try:
        size = e.path.stat().st_size
    except OSError:
        return ""
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.0f} kB"


def subline(e: BrowserEntry) -> str:
    """The name cell's second line: "gpt · pydoc", with the source unless shipped."""
    if e.meta is None:
        return "unreadable: see the tooltip"
    parts = [e.meta.kind, str(e.meta.data.get("name", "–"))]
    if e.source != "shipped":
        parts.append(e.source)
    return " · ".join(parts)


def tooltip(e: BrowserEntry) -> str:
    """Everything the row knows, one fact a line (the cells may be elided)."""
    if e.meta is None:
        return f"{e.name}: cannot be read\n{e.error or ''}\n{e.path}"
    split, value = e.metric
    nats, bits = nll_figures(e.meta.metrics, e.modality, split) if value is not None else ("", "")
    figure = f"held-out ({split}): {', '.join(f for f in (nats, bits) if f)}" if nats or bits else "no held-out figure"
    params = f"{e.parameters:,} parameters" if e.parameters is not None else "parameters unknown"
    size = file_size(e)
    return "\n".join((e.name, f"{e.meta.kind} · {e.modality} · data {e.meta.data.get('name', '–')} · {e.source}",
                      figure, params + (f" · {size} file" if size else ""), str(e.path)))


class EntryItem(QTreeWidgetItem):
    """One checkpoint's row; sorts by ``SORT_ROLE`` (the name column: shipped, yours, opened, then by name)."""

    def __init__(self, e: BrowserEntry) -> None:
        text, unit, bits = held_out(e)
        readable = e.meta is not None
        super().__init__([e.name, text if readable else "", compact_count(e.parameters) if readable else ""])
        rank = SOURCES.index(e.source) if e.source in SOURCES else len(SOURCES)
        keys: tuple[Any, ...] = ((rank, e.name.lower()), bits, e.parameters if e.parameters is not None else -1)
        tip = tooltip(e)
        for col, key in enumerate(keys):
            self.setData(col, SORT_ROLE, key)
            self.setToolTip(col, tip)
        self.setData(NAME, Qt.ItemDataRole.UserRole, str(e.path))
        for col, line in ((NAME, subline(e)), (HELD_OUT, unit), (PARAMS, file_size(e) if readable else "")):
            self.setData(col, SUBLINE_ROLE, line)
        for col in (HELD_OUT, PARAMS):
            self.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if e.metric[0] == "valid":  # a run still training: its figure is on the valid split
            font = QFont()
            font.setItalic(True)
            self.setFont(HELD_OUT, font)
        if e.meta is None:
            self.setDisabled(True)

    def __lt__(self, other: QTreeWidgetItem) -> bool:  # Qt's sort order
        tree = self.treeWidget()
        col = tree.sortColumn() if tree is not None else NAME
        a, b = self.data(col, SORT_ROLE), other.data(col, SORT_ROLE)
        try:
            return bool(a < b)
        except TypeError:
            return self.text(col) < other.text(col)


class TwoLineDelegate(QStyledItemDelegate):
    """A cell's text, and its ``SUBLINE_ROLE`` below it, smaller and dimmer; both aligned as the cell says
    and elided (in the middle for names, at the right for figures)."""

    def _small(self, font: QFont) -> QFont:
        small = QFont(font)
        small.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        return small

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text, sub = opt.text, str(index.data(SUBLINE_ROLE) or "")
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        r = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, widget).adjusted(3, 0, -3, 0)
        group = (QPalette.ColorGroup.Normal if opt.state & QStyle.StateFlag.State_Enabled
                 else QPalette.ColorGroup.Disabled)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        align = (Qt.AlignmentFlag.AlignRight if opt.displayAlignment & Qt.AlignmentFlag.AlignRight
                 else Qt.AlignmentFlag.AlignLeft)
        elide = Qt.TextElideMode.ElideMiddle if index.column() == NAME else Qt.TextElideMode.ElideRight
        fm, small = QFontMetrics(opt.font), self._small(opt.font)
        sfm = QFontMetrics(small)
        top = r.top() + max(0, (r.height() - fm.height() - sfm.height()) // 2)
        painter.save()
        painter.setFont(opt.font)
        painter.setPen(opt.palette.color(group, role))
        painter.drawText(QRect(r.left(), top, r.width(), fm.height()), align | Qt.AlignmentFlag.AlignVCenter,
                         fm.elidedText(text, elide, r.width()))
        painter.setFont(small)
        painter.setPen(opt.palette.color(group, role if selected else QPalette.ColorRole.PlaceholderText))
        painter.drawText(QRect(r.left(), top + fm.height(), r.width(), sfm.height() + 2),
                         align | Qt.AlignmentFlag.AlignTop, sfm.elidedText(sub, elide, r.width()))
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:  # noqa: N802
        """Two lines high; as wide as the longer line."""
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        return QSize(self.width(opt.font, opt.text, str(index.data(SUBLINE_ROLE) or "")),
                     QFontMetrics(opt.font).height() + QFontMetrics(self._small(opt.font)).height() + 8)

    def width(self, font: QFont, text: str, sub: str) -> int:
        """The width a cell needs to show both its lines whole."""
        return max(QFontMetrics(font).horizontalAdvance(text), QFontMetrics(self._small(font)).horizontalAdvance(sub)) + 12
