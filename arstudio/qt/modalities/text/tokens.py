"""The token view: a text drawn token by token, each on a background coloured by a number in [0, 1].

It draws what it is given (token strings, a colour value per token, which tokens were given) and
reports which token the mouse is over or clicked; what the colours mean is decided elsewhere.
Newlines break the line and are drawn as ↵, tabs as →, so that every token has a box to hover; a
token that adds no text (the first bytes of a character that a later token completes) is a thin
box of its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QPen, QResizeEvent
from PySide6.QtWidgets import QToolTip, QWidget

from arstudio.qt.views import theme

RAMP = ((0.0, (229, 83, 75)), (0.5, (210, 153, 34)), (1.0, (46, 160, 67)))  # unlikely red .. likely green
PAD = 6
GAP = 2  # pixels between tokens, so that neighbours of one colour stay apart
EMPTY_W = 5  # the width of a token that adds no text


def ramp_colour(u: float, alpha: int = 150) -> QColor:
    """The colour of ``u`` in [0, 1] on the red-amber-green ramp (NaN: no colour)."""
    if u is None or math.isnan(u):
        return QColor(0, 0, 0, 0)
    u = min(max(float(u), 0.0), 1.0)
    for (a, ca), (b, cb) in zip(RAMP, RAMP[1:]):
        if u <= b:
            f = (u - a) / (b - a)
            return QColor(*(round(x + f * (y - x)) for x, y in zip(ca, cb)), alpha)
    return QColor(*RAMP[-1][1], alpha)


def prob_to_unit(p: float, floor: float = 1e-4) -> float:
    """Probability to a ramp position on a log scale: ``floor`` -> 0, 1 -> 1."""
    if p is None or math.isnan(p):
        return float("nan")
    return 1.0 - min(1.0, math.log(max(p, floor)) / math.log(floor))


def shown_text(token: str) -> list[str]:
    """A token split into the pieces drawn on separate lines (a newline ends a piece); "" stays one empty piece."""
    parts = token.replace("\t", "→").split("\n")
    return [p + ("↵" if i < len(parts) - 1 else "") for i, p in enumerate(parts)]


class TokenView(QWidget):
    """Tokens in reading order, wrapped to the width; hover and click report the token's index."""

    token_hovered = Signal(int)  # index; -1 when the mouse is over no token
    token_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        font = QFont("DejaVu Sans Mono")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSize(11)
        self.setFont(font)
        self.tokens: list[str] = []
        self.colours: list[float] = []
        self.given: list[bool] = []
        self.forced: set[int] = set()
        self.current = -1
        self.hovered = -1
        self.placeholder = ""
        self.token_tip: Callable[[int], str] | None = None  # the tooltip of token i (None: the widget's own)
        self._boxes: list[list[QRect]] = []
        self._height = 0

    # ---- what it shows ------------------------------------------------------------------------
    def set_tokens(self, tokens: list[str], colours: list[float], given: list[bool] | None = None,
                   forced: set[int] | None = None, current: int = -1) -> None:
        """Show ``tokens`` with ramp positions ``colours`` (NaN: none); ``given`` ones drawn muted."""
        self.tokens, self.colours = list(tokens), list(colours)
        self.given = list(given) if given is not None else [False] * len(tokens)
        self.forced = set(forced or ())
        self.current = current
        if self.hovered >= len(tokens):
            self.hovered = -1
        self._relayout()
        self.update()

    def set_hovered(self, i: int) -> None:
        """Outline token ``i`` (-1: none)."""
        if i != self.hovered:
            self.hovered = i
            self.update()

    def set_placeholder(self, text: str) -> None:
        """What is drawn when there are no tokens."""
        self.placeholder = text
        self.update()

    def box(self, i: int) -> QRect:
        """The last box of token ``i`` (where it ends)."""
        return self._boxes[i][-1]

    # ---- layout --------------------------------------------------------------------------------
    def _relayout(self) -> None:
        fm = QFontMetrics(self.font())
        line_h = fm.height() + 4
        width = max(self.width() - 2 * PAD, 40)
        x, y = PAD, PAD
        boxes: list[list[QRect]] = []
        for tok in self.tokens:
            rects = []
            pieces = shown_text(tok)
            for j, piece in enumerate(pieces):
                w = max(fm.horizontalAdvance(piece), 4) if piece else EMPTY_W
                if x + w > PAD + width and x > PAD:
                    x, y = PAD, y + line_h
                rects.append(QRect(x, y, w, line_h - 2))
                x += w + GAP
                if j < len(pieces) - 1:
                    x, y = PAD, y + line_h
            boxes.append(rects)
        self._boxes = boxes
        h = y + line_h + PAD
        if h != self._height:
            self._height = h
            self.setMinimumHeight(h)
            self.updateGeometry()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(400, max(self._height, 60))

    def resizeEvent(self, ev: QResizeEvent) -> None:  # noqa: N802
        self._relayout()
        super().resizeEvent(ev)

    # ---- painting ------------------------------------------------------------------------------
    def paintEvent(self, ev: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(theme.BACKGROUND))
        fm = QFontMetrics(self.font())
        if not self.tokens:
            p.setPen(QColor(theme.FOREGROUND).darker(140))
            p.drawText(self.rect().adjusted(PAD, PAD, -PAD, -PAD), Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        fg, muted = QColor(theme.FOREGROUND), QColor(theme.FOREGROUND).darker(135)
        for i, (tok, rects) in enumerate(zip(self.tokens, self._boxes)):
            pieces = shown_text(tok)
            bg = ramp_colour(self.colours[i] if i < len(self.colours) else float("nan"),
                             70 if self.given[i] else 150)
            for piece, r in zip(pieces, rects):
                p.fillRect(r, bg)
                p.setPen(muted if self.given[i] else fg)
                if piece:
                    p.drawText(r.x(), r.y() + fm.ascent() + 1, piece)
                else:  # a token that adds no text: a short mark in its thin box
                    p.drawLine(r.center().x(), r.top() + 4, r.center().x(), r.bottom() - 4)
            outline = (theme.HOVER if i == self.hovered else theme.FORCED if i in self.forced
                       else theme.CURSOR if i == self.current else None)
            if outline is not None:
                p.setPen(QPen(QColor(outline), 2 if i != self.current or i == self.hovered else 1.5))
                p.setBrush(Qt.BrushStyle.NoBrush)
                for r in rects:
                    p.drawRect(r.adjusted(0, 0, -1, -1))
        p.end()

    # ---- the mouse -----------------------------------------------------------------------------
    def index_at(self, pos: QPoint) -> int:
        """The token under ``pos``, or -1."""
        for i, rects in enumerate(self._boxes):
            for r in rects:
                if r.contains(pos):
                    return i
        return -1

    def tooltip_at(self, pos: QPoint) -> str:
        """The tooltip at ``pos``: the token's own (``token_tip``) over a token, else the widget's."""
        i = self.index_at(pos)
        return self.token_tip(i) if i >= 0 and self.token_tip is not None else self.toolTip()

    def event(self, ev: QEvent) -> bool:  # noqa: D102 (Qt's name)
        if ev.type() == QEvent.Type.ToolTip:
            text = self.tooltip_at(ev.pos())
            if text:
                QToolTip.showText(ev.globalPos(), text, self)
            else:
                QToolTip.hideText()
            return True
        return super().event(ev)

    def mouseMoveEvent(self, ev: QMouseEvent) -> None:  # noqa: N802
        i = self.index_at(ev.position().toPoint())
        if i != self.hovered:
            self.set_hovered(i)
            self.token_hovered.emit(i)

    def leaveEvent(self, ev: object) -> None:  # noqa: N802
        if self.hovered != -1:
            self.set_hovered(-1)
            self.token_hovered.emit(-1)

    def mousePressEvent(self, ev: QMouseEvent) -> None:  # noqa: N802
        i = self.index_at(ev.position().toPoint())
        if i >= 0 and ev.button() == Qt.MouseButton.LeftButton:
            self.token_clicked.emit(i)
