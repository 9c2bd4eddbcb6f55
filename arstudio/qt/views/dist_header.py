"""The distribution view's header: two fixed lines that never wrap and never push the dock wider.

Line 1 is the step's title (bold, elided at the right when narrow); line 2 its numbers. When line 2
does not fit, its parts give way from the least important, and a long value label (a token) is
shortened, so that log p stays in sight at any width. ``text()`` is everything that was set; the
tooltip shows it when something had to give way.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

SEPARATOR = " · "
PAD = 3


@dataclass(frozen=True)
class HeaderPart:
    """One number of line 2: ``rank`` 0 gives way last; an ``elide``-able part's value may be shortened."""

    text: str
    rank: int
    elide: str = ""  # the part's fixed lead ("chosen "): the rest of ``text`` may be elided


class DistHeader(QWidget):
    """A step's title and numbers on two fixed lines, or one message."""

    def __init__(self, message: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title, self._parts, self._message = "", (), message
        self._bold = QFont(self.font())
        self._bold.setBold(True)
        self.setFixedHeight(2 * self.fontMetrics().lineSpacing() + 2 * PAD)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(0)
        self._fitted: tuple[int, tuple[str, str]] | None = None  # (width, lines) of the last fit

    def set_message(self, message: str) -> None:
        """Show ``message`` alone (no step)."""
        self._title, self._parts, self._message = "", (), message
        self._changed()

    def set_step(self, title: str, parts: list[HeaderPart] | tuple[HeaderPart, ...]) -> None:
        """Show a step: ``title`` on line 1, ``parts`` (in display order) on line 2."""
        self._title, self._parts, self._message = title, tuple(parts), ""
        self._changed()

    def setText(self, text: str) -> None:  # noqa: N802 (QLabel's name, for callers that treat it as one)
        """Same as ``set_message``."""
        self.set_message(text)

    def text(self) -> str:
        """Everything set, whether it fits or not: the message, or the title and line 2's parts."""
        if self._message or not self._title and not self._parts:
            return self._message
        return self._title + "\n" + SEPARATOR.join(p.text for p in self._parts)

    def lines(self, width: int | None = None) -> tuple[str, str]:
        """The two lines as drawn at ``width`` px (the widget's own by default)."""
        w = max(0, (self.width() if width is None else width) - 2 * PAD)
        if width is None and self._fitted is not None and self._fitted[0] == w:
            return self._fitted[1]
        if self._message:
            lines = (self._message, "")
        else:
            lines = (QFontMetrics(self._bold).elidedText(self._title, Qt.TextElideMode.ElideRight, w),
                     self._fit_parts(w))
        if width is None:
            self._fitted = (w, lines)
        return lines

    def _fit_parts(self, w: int) -> str:
        fm = self.fontMetrics()
        parts = list(self._parts)
        while parts:
            line = SEPARATOR.join(p.text for p in parts)
            if fm.horizontalAdvance(line) <= w:
                return line
            part = max(parts, key=lambda p: p.rank)  # the least important part left
            if part.elide and len(part.text) > len(part.elide) + 1:  # a long value's label: shorten it first
                rest = [p.text for p in parts if p is not part]
                used = fm.horizontalAdvance(SEPARATOR.join([*rest, part.elide]))
                short = fm.elidedText(part.text[len(part.elide):], Qt.TextElideMode.ElideMiddle, max(0, w - used))
                if short not in ("", "…"):
                    return SEPARATOR.join(part.elide + short if p is part else p.text for p in parts)
            if len(parts) == 1:  # the most important alone: as much of it as fits
                return fm.elidedText(part.text, Qt.TextElideMode.ElideRight, w)
            parts.remove(part)  # then it gives way
        return ""

    def _changed(self) -> None:
        self._fitted = None
        full = self.text()
        shown = "\n".join(x for x in self.lines() if x)
        tip = full if shown.replace("\n", " ") != full.replace("\n", " ") else ""
        if tip != self.toolTip():
            self.setToolTip(tip)
        self.update()

    def resizeEvent(self, ev: object) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(ev)  # type: ignore[arg-type]
        self._changed()

    def paintEvent(self, ev: object) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setPen(self.palette().windowText().color())
        line_h = self.fontMetrics().lineSpacing()
        rect = self.rect().adjusted(PAD, PAD, -PAD, -PAD)
        first, second = self.lines()
        if self._message:
            painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
                             | int(Qt.TextFlag.TextWordWrap), first)
        else:
            painter.setFont(self._bold)
            painter.drawText(QRect(rect.left(), rect.top(), rect.width(), line_h), 0, first)
            painter.setFont(self.font())
            painter.drawText(QRect(rect.left(), rect.top() + line_h, rect.width(), line_h), 0, second)
        painter.end()

