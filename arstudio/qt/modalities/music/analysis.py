"""The Music panel's analysis thread: the whole next-event distribution and the attention of one step.

The run record keeps only each step's most likely events, and attention weights do not cross from
the sampler at all, so the panel asks its own copy of the model (as the text panel does for GPT's
attention): for step ``t`` of a run, the events before it are pushed through a cursor, whose
``dist()`` gives all 388 probabilities and whose ``attention(with_start=True)`` the weights
[layers, heads, t + 1] over the start state and the t past events (a cursor without that method
but with GPT's ``last_attention`` works too). The cursor is kept between requests: following the
newest step of a run pushes only the events that are new, so each answer costs O(new events).
Requests share one lane of a ``JobRunner``: a newer one skips a waiting older one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PySide6.QtCore import QObject, Signal, Slot

from arstudio.core.device import choose_device
from arstudio.core.formats import open_checkpoint
from arstudio.qt.jobs import JobRunner


@dataclass
class StepAnalysis:
    """What the analysis says of step ``step`` of the run ``tag`` names: probabilities [V], attention or None."""

    tag: Any
    step: int
    probs: np.ndarray | None = None
    attention: np.ndarray | None = None  # [layers, heads, step + 1] over S, x_0 .. x_{step-1}
    error: str | None = None
    seconds: float = 0.0


def cursor_attention(cursor: Any) -> np.ndarray | None:
    """The current query's weights [layers, heads, t + 1] (start state first) of batch row 0, or None."""
    fn = getattr(cursor, "attention", None)
    if callable(fn):
        return fn(0, with_start=True)
    maps = getattr(cursor, "last_attention", None)
    if maps:
        return np.stack([np.asarray(a[0]) for a in maps])
    return None


class MusicAnalysisWorker:
    """Owns a copy of the model and one cursor; its methods run as jobs in the analysis thread."""

    def __init__(self) -> None:
        self.model: Any = None
        self.cursor: Any = None
        self.fed = np.zeros(0, np.int64)  # the events the cursor has been given

    def load(self, path: str) -> bool:
        """Open the model at ``path``; False (analysis stays off) when it cannot be opened."""
        self.model, self.cursor, self.fed = None, None, np.zeros(0, np.int64)
        try:
            self.model, _ = open_checkpoint(path, choose_device())
            self.model.eval()
        except Exception:  # the sampler reports load errors; analysis only stays off
            return False
        return True

    @torch.no_grad()
    def compute(self, tag: Any, events: np.ndarray, step: int) -> StepAnalysis:
        """The distribution and attention of ``step`` given ``events[:step]``; an error is one line."""
        t0 = time.perf_counter()
        out = StepAnalysis(tag, int(step))
        try:
            if self.model is None:
                raise ValueError("the model is not loaded")
            self._advance(np.asarray(events[:step], dtype=np.int64))
            out.probs = np.asarray(self.cursor.dist().view().probs[0], dtype=np.float32)
            out.attention = cursor_attention(self.cursor) if step > 0 else None
        except Exception as e:  # a message, never a crash
            self.cursor = None
            out.error = str(e) or type(e).__name__
        out.seconds = time.perf_counter() - t0
        return out

    def _advance(self, need: np.ndarray) -> None:
        """Bring the cursor to having pushed exactly ``need``, reusing what it was given when it is a prefix."""
        n = len(self.fed)
        if self.cursor is None or n > len(need) or not np.array_equal(self.fed, need[:n]):
            self.cursor, self.fed, n = self.model.start(1), np.zeros(0, np.int64), 0
        rest = need[n:]
        if len(rest):
            self.cursor.prefill(torch.as_tensor(rest, dtype=torch.long, device=self.model.device)[None])
        self.fed = need.copy()


class MusicAnalysis(QObject):
    """GUI side: posts step requests to the analysis thread and re-emits the newest answer."""

    computed = Signal(object)  # StepAnalysis
    loaded = Signal(bool)  # whether the model could be opened for analysis

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = MusicAnalysisWorker()
        self.ready = False
        self.jobs = JobRunner("arstudio-music-analysis", self)
        self.jobs.finished.connect(self._on_finished)

    def load(self, path: str) -> None:
        """Give the thread its own copy of the model at ``path``."""
        self.ready = False
        self.jobs.cancel("step")
        self.jobs.submit_to("model", self.worker.load, str(path))

    def request(self, tag: Any, events: np.ndarray, step: int) -> int:
        """Ask for step ``step`` of the events ``events`` (a copy is taken); returns the job id."""
        return self.jobs.submit_to("step", self.worker.compute, tag, np.array(events[:step], dtype=np.int64), step)

    @Slot(int, object)
    def _on_finished(self, _job_id: int, res: object) -> None:
        if isinstance(res, bool):
            self.ready = res
            self.loaded.emit(res)
        elif isinstance(res, StepAnalysis):
            self.computed.emit(res)

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Drop what waits and stop the thread (after the request it is working on)."""
        return self.jobs.shutdown(timeout_ms)
