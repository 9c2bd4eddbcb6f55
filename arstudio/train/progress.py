"""A one-line text progress bar that a CLI training run subscribes to the trainer's callbacks."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """A one-line progress bar on a text stream: redrawn in place on a terminal, a line per 10% otherwise."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None, width: int = 28) -> None:
        self.total, self.label, self.width = max(1, total), label, width
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0: float | None = None  # the clock starts at the first update, after set-up
        self.n0 = 0
        self.last_draw, self.last_decile = 0.0, -1
        self.fields: dict[str, str] = {}

    def update(self, n: int, **fields: str) -> None:
        """Progress is now ``n`` of ``total``; ``fields`` are shown after the bar."""
        self.fields.update(fields)
        now = time.perf_counter()
        if self.t0 is None:
            self.t0, self.n0 = now, n
        decile = 10 * n // self.total
        if self.tty and (now - self.last_draw >= 0.1 or n >= self.total):
            self.last_draw = now
            self.stream.write("\r" + self.render(n) + "\x1b[K")
            self.stream.flush()
        elif not self.tty and decile > self.last_decile:
            self.last_decile = decile
            self.stream.write(self.render(n) + "\n")

    def render(self, n: int) -> str:
        """The bar as text."""
        frac = min(1.0, n / self.total)
        fill = int(frac * self.width)
        dt = time.perf_counter() - self.t0 if self.t0 is not None else 0.0
        rate = (n - self.n0) / dt if dt > 0 else 0.0
        eta = (self.total - n) / rate if rate > 0 else 0.0
        extra = "  ".join(f"{k} {v}" for k, v in self.fields.items())
        return (f"{self.label} [{'#' * fill}{'.' * (self.width - fill)}] {n}/{self.total} {frac:4.0%} "
                f"{rate:6.1f} it/s eta {int(eta) // 60}:{int(eta) % 60:02d}  {extra}").rstrip()

    def close(self) -> None:
        """End the line (on a terminal)."""
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
