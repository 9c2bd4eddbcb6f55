"""The text panel's analysis thread: attention maps, beam search and scoring, never in the GUI thread.

``TextAnalysis`` (GUI side) owns a QThread running a ``TextAnalysisWorker`` that keeps its own copy
of the loaded model, so that analysis runs while the generation worker samples. Requests are plain
dataclasses tagged with an id; the worker skips a request when a newer one of its kind is waiting,
and the GUI side re-emits only the newest answer of each kind.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PySide6.QtCore import QObject, QThread, Signal, Slot

from arstudio.core.beam import beam_search
from arstudio.core.device import choose_device
from arstudio.core.formats import open_checkpoint
from arstudio.qt.gc_guard import no_cyclic_gc


@dataclass(frozen=True)
class AttentionRequest:
    """The attention of the query that predicted step ``step`` of ``tokens`` (ids before it are used)."""

    req_id: int
    tokens: np.ndarray  # [>= step] ids in step order
    step: int


@dataclass(frozen=True)
class BeamRequest:
    """The K most likely continuations of ``prefix``, of up to ``steps`` tokens."""

    req_id: int
    prefix: np.ndarray
    k: int
    steps: int
    stop_value: int | None = None


@dataclass(frozen=True)
class ScoreRequest:
    """Per-token log-probabilities of ``text`` under teacher forcing."""

    req_id: int
    text: str


@dataclass
class AnalysisResult:
    """An answer: ``kind`` is "attention", "beam" or "score"; ``data`` holds plain arrays and numbers."""

    kind: str
    req_id: int
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0


class TextAnalysisWorker(QObject):
    """Lives in the analysis thread; owns a copy of the model."""

    model_loaded = Signal(str)
    computed = Signal(object)  # AnalysisResult

    def __init__(self) -> None:
        super().__init__()
        self.model: Any = None
        self.tokenizer: Any = None
        self._lock = threading.Lock()
        self._latest: dict[str, int] = {}

    def note(self, kind: str, req_id: int) -> None:
        """The GUI posted request ``req_id`` of ``kind`` (called from the GUI thread)."""
        with self._lock:
            self._latest[kind] = req_id

    def _stale(self, kind: str, req_id: int) -> bool:
        with self._lock:
            return self._latest.get(kind, req_id) != req_id

    @Slot(str)
    def load(self, path: str) -> None:
        """Open the model at ``path`` (errors leave the worker without a model: analysis says so).

        Like every worker, with the cyclic GC held off (``arstudio.qt.gc_guard``): no collection
        triggered here can finalize the GUI thread's Qt objects, nor overlap one in the GUI thread.
        """
        with no_cyclic_gc():
            self._load(path)

    def _load(self, path: str) -> None:
        from arstudio.data.tokenizers import tokenizer_from_config

        self.model, self.tokenizer = None, None
        try:
            self.model, _ = open_checkpoint(path, choose_device())
            self.tokenizer = tokenizer_from_config(self.model.spec.config.get("tokenizer"))
        except Exception:  # the generation worker reports load errors; analysis only stays off
            pass
        self.model_loaded.emit(path)

    @Slot(object)
    def compute(self, req: object) -> None:
        """Answer one request, unless a newer one of its kind is waiting (the cyclic GC held off, as in ``load``)."""
        with no_cyclic_gc():
            self._compute(req)

    def _compute(self, req: object) -> None:
        kind = {AttentionRequest: "attention", BeamRequest: "beam", ScoreRequest: "score"}[type(req)]
        req_id = int(getattr(req, "req_id"))
        if self._stale(kind, req_id):
            return
        t0 = time.perf_counter()
        try:
            if self.model is None:
                raise ValueError("the model is not loaded")
            data = getattr(self, f"_{kind}")(req)
            out = AnalysisResult(kind, req_id, data)
        except Exception as e:  # a message, never a crash
            out = AnalysisResult(kind, req_id, error=str(e) or type(e).__name__)
        out.seconds = time.perf_counter() - t0
        self.computed.emit(out)

    @torch.no_grad()
    def _attention(self, req: AttentionRequest) -> dict[str, Any]:
        cur = self.model.start(1)
        if not hasattr(cur, "last_attention"):
            raise ValueError(f"{type(self.model).__name__} has no attention to show")
        step = int(req.step)
        if step:
            cur.prefill(torch.as_tensor(np.asarray(req.tokens[:step]), dtype=torch.long,
                                        device=self.model.device)[None])
        maps = [a[0] for a in cur.last_attention]  # n_layer x (nh, step+1) over [BOS, x_0 .. x_{step-1}]
        return {"step": step, "maps": maps, "keys": [int(v) for v in np.asarray(req.tokens[:step])]}

    def _beam(self, req: BeamRequest) -> dict[str, Any]:
        beams = beam_search(self.model, [int(v) for v in req.prefix], req.k, req.steps, req.stop_value)
        return {"prefix": np.asarray(req.prefix).copy(), "beams": beams}

    def _score(self, req: ScoreRequest) -> dict[str, Any]:
        from arstudio.data.text import score_text
        from arstudio.data.tokenizers import CharTokenizer

        if self.tokenizer is None:
            raise ValueError("this model records no tokenizer, so text cannot be scored")
        out = score_text(self.model, self.tokenizer, req.text)
        out["unknown"] = self.tokenizer.unknown(req.text) if isinstance(self.tokenizer, CharTokenizer) else []
        _, offsets = self.tokenizer.encode_with_offsets(req.text)
        out["offsets"] = offsets
        return out


class TextAnalysis(QObject):
    """GUI side: posts requests to the analysis thread and re-emits the newest answer of each kind."""

    computed = Signal(object)  # AnalysisResult
    _load_requested = Signal(str)
    _compute_requested = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("arstudio-text-analysis")
        self.worker = TextAnalysisWorker()
        self.worker.moveToThread(self._thread)
        self._load_requested.connect(self.worker.load)
        self._compute_requested.connect(self.worker.compute)
        self.worker.computed.connect(self._on_computed)
        self._next = 0
        self._latest: dict[str, int] = {}
        self._thread.start()

    def load(self, path: str) -> None:
        """Give the thread its own copy of the model at ``path``."""
        self._load_requested.emit(str(path))

    def request(self, kind: str, **kw: Any) -> int:
        """Post a request of ``kind`` ("attention", "beam", "score"); returns its id."""
        self._next += 1
        cls = {"attention": AttentionRequest, "beam": BeamRequest, "score": ScoreRequest}[kind]
        self._latest[kind] = self._next
        self.worker.note(kind, self._next)
        self._compute_requested.emit(cls(self._next, **kw))
        return self._next

    @Slot(object)
    def _on_computed(self, res: AnalysisResult) -> None:
        if self._latest.get(res.kind) == res.req_id:
            self.computed.emit(res)

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop the thread (after the request it is working on)."""
        for k in list(self._latest):
            self.worker.note(k, -1)  # everything waiting is stale now
        self._thread.quit()
        return bool(self._thread.wait(timeout_ms))
