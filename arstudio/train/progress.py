"""A one-line text progress bar on stderr for the command line's long jobs (train, eval, sample, compare).

On a terminal the bar is redrawn in place. Off a terminal (a log, a pipe) it writes a plain line
every ``LINE_EVERY_S`` seconds and then one when the job ends, so a log shows that a long job is
alive without filling up; a job shorter than that writes nothing there. ``ARSTUDIO_PROGRESS`` overrides the choice: ``1`` (or ``bar``) draws
the bar wherever stderr goes, ``lines`` writes the lines even on a terminal, ``0`` (or ``off``)
writes nothing. Results go to stdout only, so they stay parsable whatever this shows.
"""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType
from typing import TextIO

PROGRESS_ENV = "ARSTUDIO_PROGRESS"
LINE_EVERY_S = 5.0  # off a terminal: at most one line this often
REDRAW_S = 0.1  # on a terminal: at most ten redraws a second


def progress_mode(stream: TextIO) -> str:
    """``"bar"``, ``"lines"`` or ``"off"`` for ``stream``: ``ARSTUDIO_PROGRESS`` if set, else bar on a terminal."""
    env = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if env in ("1", "on", "bar", "yes", "true"):
        return "bar"
    if env in ("0", "off", "no", "false", "none"):
        return "off"
    if env == "lines":
        return "lines"
    try:
        return "bar" if stream.isatty() else "lines"
    except (AttributeError, ValueError, OSError):  # a closed or odd stream
        return "lines"


class ProgressBar:
    """A one-line progress bar: ``update(n)`` as work is done, ``close()`` at the end (or use it in ``with``)."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None, width: int = 28,
                 unit: str = "it") -> None:
        self.total, self.label, self.width, self.unit = max(1, int(total)), label, width, unit
        self.stream = stream or sys.stderr
        self.mode = progress_mode(self.stream)
        self.tty = self.mode == "bar"
        self.created = time.perf_counter()
        self.t0: float | None = None  # the rate counts from the first update, after set-up
        self.n0 = 0
        self.last_draw = 0.0
        self.drawn = self.ended = False  # ended: the last line (n = total) is written
        self.fields: dict[str, str] = {}

    def update(self, n: int, **fields: str) -> None:
        """Progress is now ``n`` of ``total``; ``fields`` are shown after the bar."""
        self.fields.update(fields)
        if self.mode == "off":
            return
        now = time.perf_counter()
        done = n >= self.total
        if self.t0 is None:
            self.t0, self.n0, self.last_draw = now, n, now
            if self.mode == "lines":
                return  # the first line comes after LINE_EVERY_S: a quick job writes none
        if self.mode == "bar" and (not self.drawn or now - self.last_draw >= REDRAW_S or done):
            self._write("\r" + self.render(n) + "\x1b[K")
        elif self.mode == "lines" and not self.ended and (now - self.last_draw >= LINE_EVERY_S
                                                           or (done and self.drawn)):
            self._write(self.render(n) + "\n")
        else:
            return
        self.last_draw, self.drawn, self.ended = now, True, done

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # stderr closed or gone: progress is never worth an error
            self.mode = "off"

    def render(self, n: int) -> str:
        """The bar as text."""
        frac = min(1.0, n / self.total)
        fill = int(frac * self.width)
        now = time.perf_counter()
        dt = now - self.t0 if self.t0 is not None else 0.0
        if n > self.n0 and dt > 0:
            rate = (n - self.n0) / dt
        else:  # one update so far: count from the bar's creation
            rate = n / (now - self.created) if now > self.created else 0.0
        eta = (self.total - n) / rate if rate > 0 else 0.0
        extra = "  ".join(f"{k} {v}" for k, v in self.fields.items())
        return (f"{self.label} [{'#' * fill}{'.' * (self.width - fill)}] {n}/{self.total} {frac:4.0%} "
                f"{rate:6.1f} {self.unit}/s eta {int(eta) // 60}:{int(eta) % 60:02d}  {extra}").rstrip()

    def close(self) -> None:
        """End the bar's line (only where one was drawn in place)."""
        if self.mode == "bar" and self.drawn:
            self._write("\n")
        self.drawn = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def training_bar(steps: int, label: str) -> tuple[ProgressBar, dict[str, list]]:
    """A bar for a training run and the trainer callbacks that drive it (loss per step, valid NLL per eval)."""
    bar = ProgressBar(steps, label, unit="steps")
    on_step = lambda tr, step, loss: bar.update(step, loss=f"{loss:7.3f}")  # noqa: E731
    on_eval = lambda tr, step, m: bar.update(step, valid=f"{m['nats']:7.3f}")  # noqa: E731
    return bar, {"on_step": [on_step], "on_eval": [on_eval]}
