"""The pixel panel's analysis thread: dependency maps and likelihood scores, never in the GUI thread.

``PixelAnalysis`` (GUI side) runs an ``AnalysisWorker`` (its own copy of the loaded model, so that
analysis runs while the generation worker samples, or waits paused) through a ``JobRunner``.
Requests are plain dataclasses; each kind is a lane of the runner, so a burst of requests (the
cursor moving at 60 Hz) costs one computation at a time and never draws a stale answer.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QObject, Signal, Slot

from arstudio.core.checkpoint import CheckpointMeta, load_checkpoint
from arstudio.core.device import choose_device
from arstudio.core.protocol import ARModel
from arstudio.io.images import ImageError, load_for_model
from arstudio.models.dependency import dependency_map
from arstudio.qt.jobs import JobRunner
from arstudio.train import scoring

HELDOUT_ROWS = 64  # model rows (images x labels) scored between checks for shutdown
RANDOM_TRIALS = 2  # random images whose maps join the sample's to tell "cannot see" from "happens to be 0"


@dataclass(frozen=True)
class DependencyRequest:
    """Which pixel's dependency map to compute, on which image (one sample, flat data [D])."""

    sample: int
    index: int  # flat data index of the pixel
    x: np.ndarray  # [D] values (places not sampled yet hold anything: they cannot matter)
    label: int | None = None
    ordering: int = 0
    run_id: int = 0  # the run the image comes from, handed back in the result


@dataclass(frozen=True)
class DependencyResult:
    """|d log p(x_index | ...) / d x_j| for every place j, and which earlier places can never reach it."""

    sample: int
    index: int
    influence: np.ndarray  # [D] >= 0, data order
    earlier: np.ndarray  # [D] bool: places drawn before ``index``
    blind: np.ndarray  # [D] bool: earlier places with exactly zero influence on every image tried
    seconds: float = 0.0
    error: str | None = None
    run_id: int = 0


@dataclass(frozen=True)
class ScoreRequest:
    """Score one image: per-pixel NLL under ``label`` (None: the best label of a conditional model)."""

    x: np.ndarray  # [D] values in data order
    label: int | None = None
    ordering: int = 0


@dataclass(frozen=True)
class ScoreResult:
    """Per-pixel NLL [D] (nats, data order), its total, and the anomaly score (class marginal)."""

    nll: np.ndarray
    nats: float
    bits_per_dim: float
    score_nats: float  # PixelDefend's score: NLL of the image (p(x) = mean over labels of p(x | c))
    label: int | None
    error: str | None = None


@dataclass(frozen=True)
class LoadRequest:
    """Read an image file and convert it to the loaded model's layout and values."""

    path: str


@dataclass(frozen=True)
class LoadResult:
    """The converted image [D] and what was done to it, or the one-line reason it was refused."""

    path: str
    values: np.ndarray | None
    notes: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class HeldoutResult:
    """The anomaly scores (nats) of held-out images of the checkpoint's data set, or why there are none."""

    path: str
    scores: np.ndarray | None
    dims: int
    note: str = ""


class AnalysisWorker:
    """Owns a copy of the model; its methods run as jobs in the analysis thread, one at a time."""

    def __init__(self) -> None:
        self.model: ARModel | None = None
        self.meta: CheckpointMeta | None = None
        self.path = ""
        self._heldout: dict[str, HeldoutResult] = {}
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Give up the held-out scoring in progress at the next chunk (called from the GUI thread on shutdown)."""
        self._stopping.set()

    def load(self, path: str) -> str:
        """Load the checkpoint the studio opened (a second copy, for this thread); returns ``path``."""
        try:
            self.model, self.meta = load_checkpoint(path, device=choose_device())
            self.path = path
        except Exception:  # the runner reports it in one line; the generation worker tells the user too
            self.model, self.meta, self.path = None, None, ""
            raise
        return path

    def _select(self, ordering: int) -> ARModel:
        if self.model is None:
            raise RuntimeError("no model is loaded")
        self.model.select_ordering(ordering if 0 <= ordering < self.model.num_orderings else 0)
        return self.model

    def dependency(self, req: DependencyRequest) -> DependencyResult:
        """Compute one dependency map; an error comes back in the result."""
        t0 = time.perf_counter()
        d = len(req.x)
        try:
            model = self._select(req.ordering)
            dtype = torch.float32
            x = torch.as_tensor(np.nan_to_num(np.asarray(req.x, dtype=np.float64)), dtype=dtype).view(1, -1)
            g = torch.Generator().manual_seed(req.index)
            space = model.spec.values
            rand = (torch.randint(space.n, (RANDOM_TRIALS, d), generator=g).to(dtype) if space.discrete
                    else space.low + (space.high - space.low) * torch.rand(RANDOM_TRIALS, d, generator=g))
            xs = torch.cat([x, rand])
            cond = None
            if req.label is not None and model.spec.cond.get("classes"):
                cond = torch.full((len(xs),), int(req.label), dtype=torch.long, device=model.device)
            maps = dependency_map(model, xs, req.index, cond).double().cpu().numpy()  # (1 + trials, D)
            order = model.layout.order_array()
            step_of = np.empty_like(order)
            step_of[order] = np.arange(len(order))
            earlier = step_of < step_of[req.index]
            blind = earlier & ~(maps > 0).any(axis=0)
            result = DependencyResult(req.sample, req.index, maps[0], earlier, blind, time.perf_counter() - t0,
                                      run_id=req.run_id)
        except Exception as e:  # report, never raise into Qt's event loop
            empty = np.zeros(d, dtype=bool)
            result = DependencyResult(req.sample, req.index, np.zeros(d), empty, empty,
                                      error=f"{type(e).__name__}: {e}", run_id=req.run_id)
        return result

    def score(self, req: ScoreRequest) -> Generator[ScoreResult, None, HeldoutResult | None]:
        """Per-pixel NLL and the anomaly score of one image (yielded); then the held-out scores (returned).

        The held-out scores are computed once per model, the first time they are asked for.
        """
        try:
            model = self._select(req.ordering)
            x = np.asarray(req.x)
            label = req.label if req.label is not None else scoring.best_label(model, x)
            nll = scoring.nll_map(model, x, label)
            nats = float(nll.sum())
            score = float(scoring.image_score(model, x)[0])
            result = ScoreResult(nll, nats, float(scoring.bits_per_dim(nats, len(nll))), score, label)
        except Exception as e:
            result = ScoreResult(np.full(len(req.x), np.nan), float("nan"), float("nan"),
                                 float("nan"), req.label, error=f"{type(e).__name__}: {e}")
        yield result
        return self.heldout() if result.error is None else None

    def load_image(self, req: LoadRequest) -> LoadResult:
        """Read and convert an image file; a bad file comes back as a message, never an exception."""
        try:
            if self.model is None:
                raise ImageError("no model is loaded to convert the image for")
            img = load_for_model(req.path, tuple(self.model.layout.shape), self.model.spec.values)
            result = LoadResult(req.path, img.values, img.notes)
        except ImageError as e:
            result = LoadResult(req.path, None, error=str(e))
        except Exception as e:  # anything Pillow or numpy raises: a message, not a crash
            result = LoadResult(req.path, None, error=f"{req.path}: cannot be read ({type(e).__name__}: {e})")
        return result

    def heldout(self) -> HeldoutResult | None:
        """The held-out scores of the loaded model (computed the first time they are asked for)."""
        if self.model is None or self.meta is None:
            return None
        if self.path not in self._heldout:
            dims = self.model.layout.length
            try:
                self.model.select_ordering(0)
                x = scoring.heldout_images(self.model, self.meta)
                parts = []
                chunk = max(1, HELDOUT_ROWS // max(scoring.num_classes(self.model), 1))
                for i in range(0, len(x), chunk):  # in chunks, so that shutdown need not wait long
                    if self._stopping.is_set():
                        return None
                    parts.append(scoring.image_score(self.model, x[i:i + chunk]))
                scores = np.concatenate(parts)
                note = f"{len(scores)} held-out images of {self.meta.data.get('name')}"
                self._heldout[self.path] = HeldoutResult(self.path, scores, dims, note)
            except Exception as e:
                self._heldout[self.path] = HeldoutResult(self.path, None, dims, f"no held-out distribution: {e}")
        return self._heldout[self.path]


class PixelAnalysis(QObject):
    """The GUI side: sends requests to the analysis thread, passes on only the newest results."""

    dependency_computed = Signal(object)  # DependencyResult of the newest request
    scored = Signal(object)  # ScoreResult of the newest request
    heldout_computed = Signal(object)  # HeldoutResult of the loaded model
    image_loaded = Signal(object)  # LoadResult of the newest request
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = ""
        self._loaded_path = ""
        self.ready = False
        self.jobs = JobRunner("arstudio-pixel-analysis", self)
        self.worker = AnalysisWorker()
        self.jobs.progressed.connect(self._on_result)
        self.jobs.finished.connect(self._on_result)
        self.jobs.failed.connect(lambda _job, message: self.failed.emit(message))

    def load(self, path: str | Path) -> None:
        """Use the studio's checkpoint from now on (earlier requests become stale).

        The analysis thread loads its copy only when the first tool asks for something, so that a
        studio whose tools are not used spends nothing on them.
        """
        self.path, self.ready = str(path), False
        self.jobs.cancel()  # what is queued for the previous model is stale now

    def _submit(self, lane: str, fn: Callable[[object], object], req: object) -> int:
        if self._loaded_path != self.path and self.path:
            gc.collect()  # here, in the GUI thread: see ``arstudio.qt.gc_guard``
            self._loaded_path = self.path
            self.jobs.submit_to("model", self.worker.load, self.path)  # queued before the request that follows
        return self.jobs.submit_to(lane, fn, req)

    def request_dependency(self, sample: int, index: int, x: np.ndarray, label: int | None = None,
                           ordering: int = 0, run_id: int = 0) -> int:
        """Ask for the dependency map of pixel ``index`` of one image (of run ``run_id``); returns the job id."""
        req = DependencyRequest(sample, index, np.array(x, dtype=np.float64), label, ordering, run_id)
        return self._submit("dependency", self.worker.dependency, req)

    def request_score(self, x: np.ndarray, label: int | None = None, ordering: int = 0) -> int:
        """Ask for the per-pixel NLL and anomaly score of one image [D]; returns the job id."""
        return self._submit("score", self.worker.score, ScoreRequest(np.array(x), label, ordering))

    def request_image(self, path: str | Path) -> int:
        """Ask for an image file read and converted for the model; returns the job id."""
        return self._submit("load", self.worker.load_image, LoadRequest(str(path)))

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop the analysis thread (after the computation in progress); True when it stopped in time."""
        self.worker.stop()
        return self.jobs.shutdown(timeout_ms)

    @Slot(int, object)
    def _on_result(self, _job_id: int, result: object) -> None:
        """Only the newest job of each lane gets here (the runner drops the rest)."""
        if isinstance(result, DependencyResult):
            self.dependency_computed.emit(result)
        elif isinstance(result, ScoreResult):
            self.scored.emit(result)
        elif isinstance(result, HeldoutResult):
            if result.path == self.path:
                self.heldout_computed.emit(result)
        elif isinstance(result, LoadResult):
            self.image_loaded.emit(result)
        elif isinstance(result, str):  # the model lane: the path now loaded
            self.ready = result == self.path
