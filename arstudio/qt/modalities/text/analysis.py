"""The text panel's analysis thread: attention maps, beam search and scoring, never in the GUI thread.

``TextAnalysis`` (GUI side) runs a ``TextAnalysisWorker`` (its own copy of the loaded model, so that
analysis runs while the generation worker samples) through a ``JobRunner``: each kind of request
is a lane of it, so a newer request skips a waiting older one of its kind, and only the newest
answer of each kind is emitted. Loading another model drops every answer still on its way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PySide6.QtCore import QObject, Signal, Slot

from arstudio.core.beam import beam_search
from arstudio.core.device import choose_device
from arstudio.core.formats import open_checkpoint
from arstudio.qt.jobs import JobRunner


@dataclass(frozen=True)
class AttentionRequest:
    """The attention of the query that predicted step ``step`` of ``tokens`` (ids before it are used)."""

    tokens: np.ndarray  # [>= step] ids in step order
    step: int
    prompt: int = 0  # how many of the tokens the run was given (a GPT-2 reads them without BOS before)


@dataclass(frozen=True)
class BeamRequest:
    """The K most likely continuations of ``prefix``, of up to ``steps`` tokens."""

    prefix: np.ndarray
    k: int
    steps: int
    stop_value: int | None = None


@dataclass(frozen=True)
class ScoreRequest:
    """Per-token log-probabilities of ``text`` under teacher forcing."""

    text: str


@dataclass
class AnalysisResult:
    """An answer: ``kind`` is "attention", "beam" or "score"; ``data`` holds plain arrays and numbers."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0


class TextAnalysisWorker:
    """Owns a copy of the model; its methods run as jobs in the analysis thread."""

    def __init__(self) -> None:
        self.model: Any = None
        self.tokenizer: Any = None

    def load(self, path: str) -> str:
        """Open the model at ``path`` (errors leave the worker without a model: analysis says so)."""
        from arstudio.data.tokenizers import tokenizer_from_config

        self.model, self.tokenizer = None, None
        try:
            self.model, _ = open_checkpoint(path, choose_device())
            self.tokenizer = tokenizer_from_config(self.model.spec.config.get("tokenizer"))
        except Exception:  # the generation worker reports load errors; analysis only stays off
            pass
        return path

    def compute(self, kind: str, req: object) -> AnalysisResult:
        """Answer one request of ``kind``; an error comes back as the result's one-line message."""
        t0 = time.perf_counter()
        try:
            if self.model is None:
                raise ValueError("the model is not loaded")
            out = AnalysisResult(kind, getattr(self, f"_{kind}")(req))
        except Exception as e:  # a message, never a crash
            out = AnalysisResult(kind, error=str(e) or type(e).__name__)
        out.seconds = time.perf_counter() - t0
        return out

    @torch.no_grad()
    def _attention(self, req: AttentionRequest) -> dict[str, Any]:
        cur = self.model.start(1)
        if not hasattr(cur, "last_attention"):
            raise ValueError(f"{type(self.model).__name__} has no attention to show")
        step = int(req.step)
        if step:
            if req.prompt:
                cur.begin_prompt()  # as the run read it (an imported GPT-2 then has no BOS key)
            cur.prefill(torch.as_tensor(np.asarray(req.tokens[:step]), dtype=torch.long,
                                        device=self.model.device)[None])
        maps = [a[0] for a in cur.last_attention]  # n_layer x (nh, keys) over [BOS,] x_0 .. x_{step-1}
        return {"step": step, "maps": maps, "keys": [int(v) for v in np.asarray(req.tokens[:step])],
                "bos": int(maps[0].shape[-1]) == step + 1}

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
        out["offsets"], out["text"] = offsets, req.text
        return out


def score_summary(d: dict[str, Any]) -> str:
    """A score answer in one line: tokens, total log p, bits per token, per character and per byte."""
    lps = np.asarray(d["log_probs"], dtype=np.float64)
    unk = f" · unknown characters shown as �: {' '.join(map(repr, d['unknown']))}" if d["unknown"] else ""
    win = f" · scored in {d['windows']} windows of the context" if d["windows"] > 1 else ""
    return (f"{len(lps)} tokens · log p = {lps.sum():.2f} nats · {d['bits_per_char']:.3f} bits/char · "
            f"{d['bits_per_token']:.3f} bits/token · {d['bits_per_byte']:.3f} bits/byte{win}{unk}")


class TextAnalysis(QObject):
    """GUI side: posts requests to the analysis thread and re-emits the newest answer of each kind."""

    computed = Signal(object)  # AnalysisResult

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = TextAnalysisWorker()
        self.jobs = JobRunner("arstudio-text-analysis", self)
        self.jobs.finished.connect(self._on_finished)

    def load(self, path: str) -> None:
        """Give the thread its own copy of the model at ``path``; answers to earlier requests are dropped."""
        self.jobs.cancel()  # they were asked of the previous model
        self.jobs.submit_to("model", self.worker.load, str(path))

    def request(self, kind: str, **kw: Any) -> int:
        """Post a request of ``kind`` ("attention", "beam", "score"); returns its job id."""
        cls = {"attention": AttentionRequest, "beam": BeamRequest, "score": ScoreRequest}[kind]
        return self.jobs.submit_to(kind, self.worker.compute, kind, cls(**kw))

    @Slot(int, object)
    def _on_finished(self, _job_id: int, res: object) -> None:
        if isinstance(res, AnalysisResult):  # not the model lane's path
            self.computed.emit(res)

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Drop what waits and stop the thread (after the request it is working on)."""
        return self.jobs.shutdown(timeout_ms)
