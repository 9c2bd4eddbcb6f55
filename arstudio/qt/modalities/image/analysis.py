"""The pixel panel's analysis thread: dependency maps and likelihood scores, never in the GUI thread.

``PixelAnalysis`` (GUI side) owns a QThread running an ``AnalysisWorker`` that keeps its own copy
of the loaded model, so that analysis runs while the generation worker samples (or waits,
paused). Requests are plain dataclasses; every result carries its request id and the GUI side
re-emits only the newest of each kind, so a burst of requests (the cursor moving at 60 Hz) costs
one computation at a time and never draws a stale answer.
"""

from __future__ import annotations

import gc
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QObject, QThread, Signal, Slot

from arstudio.core.checkpoint import CheckpointMeta, load_checkpoint
from arstudio.core.device import choose_device
from arstudio.core.protocol import ARModel
from arstudio.io.images import ImageError, load_for_model
from arstudio.models.dependency import dependency_map
from arstudio.qt.gc_guard import no_cyclic_gc
from arstudio.train import scoring

HELDOUT_ROWS = 64  # model rows (images x labels) scored between checks for shutdown
_ORPHANS: list[tuple[QThread, QObject]] = []  # threads that did not stop in time: kept, never destroyed running
RANDOM_TRIALS = 2  # random images whose maps join the sample's to tell "cannot see" from "happens to be 0"


@dataclass(frozen=True)
class DependencyRequest:
    """Which pixel's dependency map to compute, on which image (one sample, flat data [D])."""

    req_id: int
    sample: int
    index: int  # flat data index of the pixel
    x: np.ndarray  # [D] values (places not sampled yet hold anything: they cannot matter)
    label: int | None = None
    ordering: int = 0


@dataclass(frozen=True)
class DependencyResult:
    """|d log p(x_index | ...) / d x_j| for every place j, and which earlier places can never reach it."""

    req_id: int
    sample: int
    index: int
    influence: np.ndarray  # [D] >= 0, data order
    earlier: np.ndarray  # [D] bool: places drawn before ``index``
    blind: np.ndarray  # [D] bool: earlier places with exactly zero influence on every image tried
    seconds: float = 0.0
    error: str | None = None


@dataclass(frozen=True)
class ScoreRequest:
    """Score one image: per-pixel NLL under ``label`` (None: the best label of a conditional model)."""

    req_id: int
    x: np.ndarray  # [D] values in data order
    label: int | None = None
    ordering: int = 0


@dataclass(frozen=True)
class ScoreResult:
    """Per-pixel NLL [D] (nats, data order), its total, and the anomaly score (class marginal)."""

    req_id: int
    nll: np.ndarray
    nats: float
    bits_per_dim: float
    score_nats: float  # PixelDefend's score: NLL of the image (p(x) = mean over labels of p(x | c))
    label: int | None
    error: str | None = None


@dataclass(frozen=True)
class LoadRequest:
    """Read an image file and convert it to the loaded model's layout and values."""

    req_id: int
    path: str


@dataclass(frozen=True)
class LoadResult:
    """The converted image [D] and what was done to it, or the one-line reason it was refused."""

    req_id: int
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


class AnalysisWorker(QObject):
    """Lives in the analysis thread; owns a copy of the model and answers requests in order, newest first."""

    model_loaded = Signal(str)  # path
    load_failed = Signal(str)
    dependency_computed = Signal(object)  # DependencyResult
    scored = Signal(object)  # ScoreResult
    heldout_computed = Signal(object)  # HeldoutResult
    image_loaded = Signal(object)  # LoadResult

    def __init__(self) -> None:
        super().__init__()
        self.model: ARModel | None = None
        self.meta: CheckpointMeta | None = None
        self.path = ""
        self._heldout: dict[str, HeldoutResult] = {}
        self._lock = threading.Lock()
        self._newest = {"dependency": 0, "score": 0, "load": 0}
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Give up the work in progress at the next chance (called from the GUI thread on shutdown)."""
        self._stopping.set()

    def want(self, kind: str, req_id: int) -> None:
        """Mark ``req_id`` as the newest request of ``kind`` (called from the GUI thread)."""
        with self._lock:
            self._newest[kind] = max(self._newest[kind], req_id)

    def _stale(self, kind: str, req_id: int) -> bool:
        if self._stopping.is_set():
            return True
        with self._lock:
            return req_id < self._newest[kind]

    @Slot(str)
    def load(self, path: str) -> None:
        """Load the checkpoint the studio opened (a second copy, for this thread)."""
        with no_cyclic_gc():
            self._load(path)

    def _load(self, path: str) -> None:
        try:
            self.model, self.meta = load_checkpoint(path, device=choose_device())
            self.path = path
        except Exception as e:  # the generation worker reports the same failure to the user
            self.model, self.meta, self.path = None, None, ""
            self.load_failed.emit(f"{type(e).__name__}: {e}")
            return
        self.model_loaded.emit(path)

    def _select(self, ordering: int) -> ARModel:
        if self.model is None:
            raise RuntimeError("no model is loaded")
        self.model.select_ordering(ordering if 0 <= ordering < self.model.num_orderings else 0)
        return self.model

    @Slot(object)
    def dependency(self, req: DependencyRequest) -> None:
        """Compute one dependency map (skipped when a newer request is already waiting)."""
        with no_cyclic_gc():
            self._dependency(req)

    def _dependency(self, req: DependencyRequest) -> None:
        if self._stale("dependency", req.req_id):
            return
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
            result = DependencyResult(req.req_id, req.sample, req.index, maps[0], earlier, blind,
                                      time.perf_counter() - t0)
        except Exception as e:  # report, never raise into Qt's event loop
            empty = np.zeros(d, dtype=bool)
            result = DependencyResult(req.req_id, req.sample, req.index, np.zeros(d), empty, empty,
                                      error=f"{type(e).__name__}: {e}")
        self.dependency_computed.emit(result)

    @Slot(object)
    def score(self, req: ScoreRequest) -> None:
        """Per-pixel NLL and the anomaly score of one image; then the held-out scores, once per model."""
        with no_cyclic_gc():
            self._score(req)

    def _score(self, req: ScoreRequest) -> None:
        if self._stale("score", req.req_id):
            return
        try:
            model = self._select(req.ordering)
            x = np.asarray(req.x)
            label = req.label if req.label is not None else scoring.best_label(model, x)
            nll = scoring.nll_map(model, x, label)
            nats = float(nll.sum())
            score = float(scoring.image_score(model, x)[0])
            result = ScoreResult(req.req_id, nll, nats, float(scoring.bits_per_dim(nats, len(nll))), score, label)
        except Exception as e:
            result = ScoreResult(req.req_id, np.full(len(req.x), np.nan), float("nan"), float("nan"),
                                 float("nan"), req.label, error=f"{type(e).__name__}: {e}")
        self.scored.emit(result)
        if result.error is None:
            self.emit_heldout()

    @Slot(object)
    def load_image(self, req: LoadRequest) -> None:
        """Read and convert an image file; a bad file comes back as a message, never an exception."""
        with no_cyclic_gc():
            self._load_image(req)

    def _load_image(self, req: LoadRequest) -> None:
        if self._stale("load", req.req_id):
            return
        try:
            if self.model is None:
                raise ImageError("no model is loaded to convert the image for")
            img = load_for_model(req.path, tuple(self.model.layout.shape), self.model.spec.values)
            result = LoadResult(req.req_id, req.path, img.values, img.notes)
        except ImageError as e:
            result = LoadResult(req.req_id, req.path, None, error=str(e))
        except Exception as e:  # anything Pillow or numpy raises: a message, not a crash
            result = LoadResult(req.req_id, req.path, None, error=f"{req.path}: cannot be read ({type(e).__name__}: {e})")
        self.image_loaded.emit(result)

    def emit_heldout(self) -> None:
        """Emit the held-out scores of the loaded model (computed the first time they are asked for)."""
        if self.model is None or self.meta is None:
            return
        if self.path not in self._heldout:
            dims = self.model.layout.length
            try:
                self.model.select_ordering(0)
                x = scoring.heldout_images(self.model, self.meta)
                parts = []
                chunk = max(1, HELDOUT_ROWS // max(scoring.num_classes(self.model), 1))
                for i in range(0, len(x), chunk):  # in chunks, so that shutdown need not wait long
                    if self._stopping.is_set():
                        return
                    parts.append(scoring.image_score(self.model, x[i:i + chunk]))
                scores = np.concatenate(parts)
                note = f"{len(scores)} held-out images of {self.meta.data.get('name')}"
                self._heldout[self.path] = HeldoutResult(self.path, scores, dims, note)
            except Exception as e:
                self._heldout[self.path] = HeldoutResult(self.path, None, dims, f"no held-out distribution: {e}")
        self.heldout_computed.emit(self._heldout[self.path])


class PixelAnalysis(QObject):
    """The GUI side: starts the analysis thread, sends requests, passes on only the newest results."""

    dependency_computed = Signal(object)  # DependencyResult of the newest request
    scored = Signal(object)  # ScoreResult of the newest request
    heldout_computed = Signal(object)  # HeldoutResult of the loaded model
    image_loaded = Signal(object)  # LoadResult of the newest request
    failed = Signal(str)

    _load_requested = Signal(str)
    _dependency_requested = Signal(object)
    _score_requested = Signal(object)
    _image_requested = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = {"dependency": 0, "score": 0, "load": 0}
        self.path = ""
        self._loaded_path = ""
        self.ready = False
        self._thread = QThread()
        self._thread.setObjectName("arstudio-pixel-analysis")
        self.worker = AnalysisWorker()
        self.worker.moveToThread(self._thread)
        self._load_requested.connect(self.worker.load)
        self._dependency_requested.connect(self.worker.dependency)
        self._score_requested.connect(self.worker.score)
        self._image_requested.connect(self.worker.load_image)
        self.worker.image_loaded.connect(self._on_image)
        self.worker.model_loaded.connect(self._on_loaded)
        self.worker.load_failed.connect(self.failed)
        self.worker.dependency_computed.connect(self._on_dependency)
        self.worker.scored.connect(self._on_scored)
        self.worker.heldout_computed.connect(self._on_heldout)
        self._thread.start()

    def load(self, path: str | Path) -> None:
        """Use the studio's checkpoint from now on (earlier requests become stale).

        The analysis thread loads its copy only when the first tool asks for something, so that a
        studio whose tools are not used spends nothing on them.
        """
        self.path, self.ready = str(path), False
        for kind in self._ids:  # what is queued for the previous model is stale now
            self._ids[kind] += 1
            self.worker.want(kind, self._ids[kind])

    def _next(self, kind: str) -> int:
        if self._loaded_path != self.path and self.path:
            gc.collect()  # here, in the GUI thread: see ``no_cyclic_gc``
            self._loaded_path = self.path
            self._load_requested.emit(self.path)  # queued before the request that follows
        self._ids[kind] += 1
        self.worker.want(kind, self._ids[kind])
        return self._ids[kind]

    def request_dependency(self, sample: int, index: int, x: np.ndarray, label: int | None = None,
                           ordering: int = 0) -> int:
        """Ask for the dependency map of pixel ``index`` of one image; returns the request id."""
        rid = self._next("dependency")
        self._dependency_requested.emit(DependencyRequest(rid, sample, index, np.array(x, dtype=np.float64),
                                                          label, ordering))
        return rid

    def request_score(self, x: np.ndarray, label: int | None = None, ordering: int = 0) -> int:
        """Ask for the per-pixel NLL and anomaly score of one image [D]; returns the request id."""
        rid = self._next("score")
        self._score_requested.emit(ScoreRequest(rid, np.array(x), label, ordering))
        return rid

    def request_image(self, path: str | Path) -> int:
        """Ask for an image file read and converted for the model; returns the request id."""
        rid = self._next("load")
        self._image_requested.emit(LoadRequest(rid, str(path)))
        return rid

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop the analysis thread (after the computation in progress); True when it stopped in time."""
        self.worker.stop()
        self._thread.quit()
        stopped = bool(self._thread.wait(timeout_ms))
        if not stopped:  # destroying a running QThread aborts; keep it until it ends with the process
            _ORPHANS.append((self._thread, self.worker))
        return stopped

    @Slot(str)
    def _on_loaded(self, path: str) -> None:
        self.ready = path == self.path

    @Slot(object)
    def _on_dependency(self, result: DependencyResult) -> None:
        if result.req_id == self._ids["dependency"]:
            self.dependency_computed.emit(result)

    @Slot(object)
    def _on_scored(self, result: ScoreResult) -> None:
        if result.req_id == self._ids["score"]:
            self.scored.emit(result)

    @Slot(object)
    def _on_heldout(self, result: HeldoutResult) -> None:
        if result.path == self.path:
            self.heldout_computed.emit(result)

    @Slot(object)
    def _on_image(self, result: LoadResult) -> None:
        if result.req_id == self._ids["load"]:
            self.image_loaded.emit(result)
