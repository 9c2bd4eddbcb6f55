"""Compare two checkpoints of the same modality side by side.

* Sampling: one seed, policy and forced values drive both models; the two grids fill in together.
  Per step: KL(p_A || p_B) between the distributions the two models give (each after its own
  prefix) and log p_A(x_A) - log p_B(x_B) of the values they chose, averaged over the batch.
* Teacher forcing: both models read one input (an image the person gives, or a held-out example);
  the KL between their predictions at each place is drawn as a heatmap on that input.
* Their held-out metrics in one table.

The computations (``kl_views``, ``compare_steps``, ``teacher_forced``) are plain torch and numpy
and run in ``CompareWorker``'s thread; only numpy arrays in small dataclasses reach the GUI.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PySide6.QtCore import QObject, Signal, Slot

from arstudio.core.checkpoint import CheckpointMeta, load_checkpoint, read_meta
from arstudio.core.dists import DistView
from arstudio.core.generate import make_generator
from arstudio.core.policy import SamplingPolicy
from arstudio.core.protocol import ARModel
from arstudio.core.registry import UnknownKindError
from arstudio.core.registry import get as get_kind

EPS = 1e-12


class CompareError(ValueError):
    """Two checkpoints that cannot be compared; the message says why in one line."""


# ---- plain computations -----------------------------------------------------------------------
def kl_views(a: DistView, b: DistView) -> np.ndarray:
    """KL(a || b) in nats per row [B]: sums over bars, or a Riemann sum over a shared density grid."""
    p, q = np.asarray(a.probs, np.float64), np.asarray(b.probs, np.float64)
    if p.shape != q.shape:
        raise CompareError(f"the two models' distributions differ in shape ({list(p.shape)} vs {list(q.shape)})")
    terms = np.where(p > 0, p * (np.log(np.maximum(p, EPS)) - np.log(np.maximum(q, EPS))), 0.0)
    if a.kind == "density":
        dx = np.gradient(np.asarray(a.support, np.float64))
        return np.maximum((terms * dx).sum(-1), 0.0)
    return np.maximum(terms.sum(-1), 0.0)


def modality_of(meta: CheckpointMeta) -> str:
    """A checkpoint's modality: recorded in its metadata, else its kind's."""
    if meta.extra.get("modality"):
        return str(meta.extra["modality"])
    try:
        return get_kind(meta.kind).modality
    except UnknownKindError:
        return "?"


def check_comparable(path_a: str | Path, path_b: str | Path) -> tuple[CheckpointMeta, CheckpointMeta]:
    """Both checkpoints' metadata; CompareError when their modalities differ."""
    ma, mb = read_meta(path_a), read_meta(path_b)
    a, b = modality_of(ma), modality_of(mb)
    if a != b:
        raise CompareError(f"{Path(path_b).stem} is a{'n' if b[:1] in 'aeiou' else ''} {b} model ({mb.kind}) and "
                           f"{Path(path_a).stem} is a{'n' if a[:1] in 'aeiou' else ''} {a} model ({ma.kind}): only "
                           "checkpoints of the same modality can be compared")
    return ma, mb


def check_models(a: ARModel, b: ARModel) -> None:
    """CompareError unless the two models generate the same layout over the same values."""
    la, lb = a.spec.layout, b.spec.layout
    if tuple(la.shape) != tuple(lb.shape):
        raise CompareError(f"the models generate different shapes ({list(la.shape)} vs {list(lb.shape)})")
    if (a.spec.values.kind, a.spec.values.n) != (b.spec.values.kind, b.spec.values.n):
        raise CompareError(f"the models' values differ ({a.spec.values.kind} {a.spec.values.n} vs "
                           f"{b.spec.values.kind} {b.spec.values.n})")


@dataclass
class CompareStep:
    """One step of both runs."""

    t: int
    index_a: int
    index_b: int
    value_a: np.ndarray  # [B]
    value_b: np.ndarray
    kl: np.ndarray  # [B] KL(p_A || p_B)
    log_p_a: np.ndarray  # [B] log p_A of A's value
    log_p_b: np.ndarray


@torch.no_grad()
def compare_steps(a: ARModel, b: ARModel, batch: int, seed: int, policy: SamplingPolicy,
                  forced: dict[int, Any] | None = None) -> Iterator[CompareStep]:
    """Sample both models step by step from the same seed, policy and forced values."""
    check_models(a, b)
    ca, cb = a.start(batch), b.start(batch)
    ga, gb = make_generator(seed), make_generator(seed)
    forced = dict(forced or {})
    for t in range(ca.layout.length):
        da, db = ca.dist(), cb.dist()
        if t in forced:
            xa = torch.as_tensor(forced[t], dtype=a.data_dtype()).expand(batch).to(a.device)
            xb = torch.as_tensor(forced[t], dtype=b.data_dtype()).expand(batch).to(b.device)
        else:
            xa, xb = da.sample(ga, policy), db.sample(gb, policy)
        step = CompareStep(t, ca.layout.index(t), cb.layout.index(t), xa.cpu().numpy(), xb.cpu().numpy(),
                           kl_views(da.view(), db.view()), da.log_prob(xa).float().cpu().numpy(),
                           db.log_prob(xb).float().cpu().numpy())
        ca.push(xa)
        cb.push(xb)
        yield step


@dataclass(frozen=True)
class Disagreement:
    """Teacher forcing both models on one input: per data place, KL and each model's log p."""

    x: np.ndarray  # [D] the input's values, data order
    kl: np.ndarray  # [D] KL(p_A || p_B) at each place
    log_p_a: np.ndarray  # [D]
    log_p_b: np.ndarray  # [D]
    shape: tuple[int, ...]


@torch.no_grad()
def teacher_forced(a: ARModel, b: ARModel, x: np.ndarray) -> Disagreement:
    """Both models read ``x`` [D] (data order); where do their predictions differ, and by how much."""
    check_models(a, b)
    xa = torch.as_tensor(np.asarray(x), dtype=a.data_dtype()).view(1, -1).to(a.device)
    xb = xa.to(b.device, b.data_dtype())
    da, db = a.dists(xa), b.dists(xb)  # batch [1, T], step order of each model
    va, vb = da.view(), db.view()  # rows are the T steps
    oa, ob = a.layout.order_array(), b.layout.order_array()
    d = a.layout.length
    pa, pb = np.empty_like(va.probs), np.empty_like(vb.probs)
    pa[oa], pb[ob] = va.probs, vb.probs  # rows to data order
    kl = kl_views(DistView(va.kind, va.support, pa, va.entropy), DistView(vb.kind, vb.support, pb, vb.entropy))
    lpa, lpb = np.empty(d), np.empty(d)
    lpa[oa] = da.log_prob(a.steps_of(xa)).view(-1).float().cpu().numpy()
    lpb[ob] = db.log_prob(b.steps_of(xb)).view(-1).float().cpu().numpy()
    return Disagreement(np.asarray(x, np.float64).reshape(-1), kl, lpa, lpb, tuple(a.layout.shape))


METRICS = (("test_nats", "test NLL (nats)"), ("test_bits_per_dim", "test bits/dim"), ("valid_nats", "valid NLL (nats)"),
           ("valid_bits_per_dim", "valid bits/dim"))


def metrics_table(ma: CheckpointMeta, mb: CheckpointMeta) -> list[tuple[str, str, str]]:
    """Rows (metric, A, B) of both checkpoints' held-out metrics and sizes."""
    def fmt(m: CheckpointMeta, key: str) -> str:
        v = m.metrics.get(key)
        return f"{v:.4f}" if isinstance(v, (int, float)) and math.isfinite(v) else "-"

    rows = [("kind", ma.kind, mb.kind), ("data", str(ma.data.get("name", "-")), str(mb.data.get("name", "-")))]
    rows += [(label, fmt(ma, key), fmt(mb, key)) for key, label in METRICS]
    pa, pb = ma.extra.get("parameters"), mb.extra.get("parameters")
    rows.append(("parameters", f"{pa:,}" if isinstance(pa, int) else "-", f"{pb:,}" if isinstance(pb, int) else "-"))
    return rows


# ---- the worker --------------------------------------------------------------------------------
@dataclass(frozen=True)
class CompareRequest:
    """A comparison run: both checkpoints, the shared settings, and an input to teacher-force on."""

    run_id: int
    path_a: Path
    path_b: Path
    batch: int = 4
    seed: int = 0
    policy: SamplingPolicy = field(default_factory=SamplingPolicy)
    forced: dict[int, Any] = field(default_factory=dict)
    input_x: np.ndarray | None = None  # [D] data order; None = the first held-out example of A's data


@dataclass(frozen=True)
class CompareStarted:
    """Both models loaded: shapes, values and the metrics table."""

    run_id: int
    shape: tuple[int, ...]
    batch: int
    levels: int  # number of values (for brightness); 0 for continuous
    low: float
    high: float
    rows: list[tuple[str, str, str]]


@dataclass
class CompareBatch:
    """Consecutive steps of both runs: data indices, values and the per-step figures (batch means)."""

    run_id: int
    t: np.ndarray  # [n]
    index_a: np.ndarray
    index_b: np.ndarray
    value_a: np.ndarray  # [n, B]
    value_b: np.ndarray
    kl: np.ndarray  # [n] mean over the batch
    dlogp: np.ndarray  # [n] mean of log p_A(x_A) - log p_B(x_B)


class CompareWorker(QObject):
    """Loads both checkpoints and runs the comparison in its own thread."""

    comparison_started = Signal(object)  # CompareStarted
    steps_compared = Signal(object)  # CompareBatch
    disagreement_found = Signal(object, object)  # run id, Disagreement
    comparison_failed = Signal(object, str)  # run id, one line
    comparison_finished = Signal(object)  # run id

    def __init__(self) -> None:
        super().__init__()
        self.cancelled_run = -1

    @Slot(object)
    def run(self, req: CompareRequest) -> None:
        """Compare as ``req`` says; errors come back as one line."""
        try:
            ma, mb = check_comparable(req.path_a, req.path_b)
            a, _ = load_checkpoint(req.path_a)
            b, _ = load_checkpoint(req.path_b)
            check_models(a, b)
            v = a.spec.values
            self.comparison_started.emit(CompareStarted(req.run_id, tuple(a.layout.shape), req.batch,
                                                        v.n if v.discrete else 0, v.low, v.high,
                                                        metrics_table(ma, mb)))
            x = req.input_x if req.input_x is not None else default_input(ma, a.layout.length)
            if x is not None:
                self.disagreement_found.emit(req.run_id, teacher_forced(a, b, x))
            pending: list[CompareStep] = []
            last = time.monotonic()
            for step in compare_steps(a, b, req.batch, req.seed, req.policy, req.forced):
                if self.cancelled_run >= req.run_id:
                    return
                pending.append(step)
                if time.monotonic() - last >= 1 / 30:
                    self._send(req.run_id, pending)
                    pending, last = [], time.monotonic()
            self._send(req.run_id, pending)
            self.comparison_finished.emit(req.run_id)
        except Exception as e:  # CompareError, CheckpointError, a bug: one line, never a crash
            self.comparison_failed.emit(req.run_id, str(e) or type(e).__name__)

    def _send(self, run_id: int, steps: list[CompareStep]) -> None:
        if not steps:
            return
        self.steps_compared.emit(CompareBatch(
            run_id, np.array([s.t for s in steps]), np.array([s.index_a for s in steps]),
            np.array([s.index_b for s in steps]), np.stack([s.value_a for s in steps]),
            np.stack([s.value_b for s in steps]), np.array([float(s.kl.mean()) for s in steps]),
            np.array([float((s.log_p_a - s.log_p_b).mean()) for s in steps])))


def default_input(meta: CheckpointMeta, length: int) -> np.ndarray | None:
    """The first test example of the checkpoint's data set (None when it cannot be had)."""
    try:
        from arstudio.data.datasets import get_dataset

        ds = get_dataset(str(meta.data.get("name")))
        x = ds.test[0].numpy()
        return x if x.shape[0] == length else None
    except Exception:
        return None


def image_input(path: str | Path, shape: tuple[int, ...], values: Any) -> np.ndarray:
    """An image file as a model input [D]: resized, grey or RGB, quantized to the model's values."""
    from arstudio.modalities.image.folder import load_image, quantize

    return quantize(load_image(Path(path), shape), values).reshape(-1)

