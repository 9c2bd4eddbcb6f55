"""Comparing two checkpoints of one modality, step by step (GUI-free: the CLI and the studio share it).

* Sampling: ``compare_steps`` advances the core's one loop, ``arstudio.core.generate.generate``, for
  both models in lockstep, each from the same seed, policy, forced values and prefix, so each side
  samples exactly what it would alone. Per step: KL(p_A || p_B) in nats between the two models'
  full distributions (each after its own prefix: the same prefix until their samples first
  differ) and log p_A(x_A), log p_B(x_B) of the values each drew.
* Teacher forcing (``teacher_forced``): both models read one input; KL at each place of it.
* ``summarize`` turns a run into the figures ``arstudio compare`` prints and the studio shows.

Two models compare when they are of one modality, generate over the same values and, where their
configs record a tokenizer, use the same one. Layouts must agree; sequences (one-dimensional
layouts) compare up to the shorter one. Anything else is a ``CompareError`` of one line.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from arstudio.core.checkpoint import CheckpointMeta, read_meta
from arstudio.core.dists import DistView
from arstudio.core.formats import open_checkpoint
from arstudio.core.generate import generate
from arstudio.core.policy import SamplingPolicy
from arstudio.core.protocol import ARModel
from arstudio.core.registry import UnknownKindError
from arstudio.core.registry import get as get_kind

# The smallest positive float32 (a subnormal): a probability that a float32 view shows as 0 is below it.
# Flooring q there keeps KL(p || q) finite where q underflowed while p did not, and close to the true value.
FLOOR = 1e-45


class CompareError(ValueError):
    """Two checkpoints that cannot be compared; the message says why in one line."""


# ---- plain computations -----------------------------------------------------------------------
def kl_views(a: DistView, b: DistView) -> np.ndarray:
    """KL(a || b) in nats per row [B], finite: sums over bars, or a Riemann sum over a shared density grid.

    Terms where p is 0 add nothing; where q is 0 (underflow) but p is not, q counts as ``FLOOR``.
    """
    p, q = np.asarray(a.probs, np.float64), np.asarray(b.probs, np.float64)
    if p.shape != q.shape or a.kind != b.kind:
        raise CompareError(f"the two models' distributions differ in shape ({a.kind} {list(p.shape)} vs "
                           f"{b.kind} {list(q.shape)})")
    if a.kind == "density" and not np.allclose(np.asarray(a.support), np.asarray(b.support)):
        raise CompareError("the two models' densities are drawn on different grids")
    pos = p > 0
    terms = np.where(pos, p * (np.log(np.where(pos, p, 1.0)) - np.log(np.maximum(q, FLOOR))), 0.0)
    if a.kind == "density":
        terms = terms * np.gradient(np.asarray(a.support, np.float64))
    return np.maximum(np.nan_to_num(terms.sum(-1), nan=0.0, posinf=np.finfo(np.float64).max), 0.0)


def _name(path: str | os.PathLike) -> str:
    p = Path(path)
    return p.stem or str(p)


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def modality_of(meta: CheckpointMeta) -> str:
    """A checkpoint's modality: recorded in its metadata, else its kind's."""
    if meta.extra.get("modality"):
        return str(meta.extra["modality"])
    try:
        return get_kind(meta.kind).modality
    except UnknownKindError:
        return "?"


def _modality_error(name_a: str, kind_a: str, mod_a: str, name_b: str, kind_b: str, mod_b: str) -> CompareError:
    return CompareError(f"{name_b} is {_article(mod_b)} {mod_b} model ({kind_b}) and {name_a} is {_article(mod_a)} "
                        f"{mod_a} model ({kind_a}): only checkpoints of the same modality can be compared")


def describe_tokenizer(tok: Any, ids: Any = None) -> str:
    """``a character tokenizer of 9 ids``: what a config's ``tokenizer`` entry is, in a few words."""
    if not isinstance(tok, Mapping):
        return "no tokenizer"
    kind = {"char": "character", "bpe": "byte-level BPE"}.get(str(tok.get("type")), str(tok.get("type", "unknown")))
    return f"a {kind} tokenizer" + (f" of {ids} ids" if isinstance(ids, int) else "")


def _tokenizer_difference(ta: Mapping[str, Any], tb: Mapping[str, Any], name_a: str, name_b: str) -> str:
    """What differs between two tokenizers of one type and size."""
    if ta.get("type") == "char" and isinstance(ta.get("chars"), str) and isinstance(tb.get("chars"), str):
        ca, cb = ta["chars"], tb["chars"]
        only_a, only_b = "".join(sorted(set(ca) - set(cb))), "".join(sorted(set(cb) - set(ca)))
        if only_a or only_b:
            return f"characters {only_a!r} only in {name_a}'s, {only_b!r} only in {name_b}'s"
        return "the same characters under different ids"
    return "different vocabularies or merges"


def check_tokenizers(config_a: Mapping[str, Any], config_b: Mapping[str, Any], name_a: str = "A",
                     name_b: str = "B") -> None:
    """CompareError unless two model configs record the same tokenizer (or neither records one)."""
    ta, tb = config_a.get("tokenizer"), config_b.get("tokenizer")
    if ta == tb:
        return
    da, db = describe_tokenizer(ta, config_a.get("vocab_size")), describe_tokenizer(tb, config_b.get("vocab_size"))
    if da != db:
        what = f"{name_a} has {da}, {name_b} has {db}"
    else:
        what = f"both have {da}, with {_tokenizer_difference(ta, tb, name_a, name_b)}"
    raise CompareError(f"{name_a} and {name_b} use different tokenizers ({what}): models compare token by token "
                       "only with the same tokenizer")


def check_comparable(path_a: str | os.PathLike, path_b: str | os.PathLike
                     ) -> tuple[CheckpointMeta, CheckpointMeta] | None:
    """A quick check of two checkpoint files' metadata (modality, tokenizer) before loading anything.

    Returns both metadata, or None when a path is a folder (a format plug-in's: checked once loaded).
    """
    if Path(path_a).is_dir() or Path(path_b).is_dir():
        return None
    ma, mb = read_meta(path_a), read_meta(path_b)
    a, b = modality_of(ma), modality_of(mb)
    na, nb = _name(path_a), _name(path_b)
    if a != b:
        raise _modality_error(na, ma.kind, a, nb, mb.kind, b)
    check_tokenizers(ma.config, mb.config, na, nb)
    return ma, mb


def comparable_steps(a: ARModel, b: ARModel, steps: int | None = None, names: tuple[str, str] = ("A", "B")) -> int:
    """How many steps of the two models compare (at most ``steps``); CompareError says why they do not."""
    sa, sb = a.spec, b.spec
    if sa.layout.modality != sb.layout.modality:
        raise _modality_error(names[0], sa.kind, sa.layout.modality, names[1], sb.kind, sb.layout.modality)
    check_tokenizers(sa.config, sb.config, *names)
    va, vb = sa.values, sb.values
    if (va.kind, va.n) != (vb.kind, vb.n) or (not va.discrete and (va.low, va.high) != (vb.low, vb.high)):
        def what(v: Any) -> str:
            return f"{v.kind} over {v.n} values" if v.discrete else f"{v.kind} in [{v.low:g}, {v.high:g}]"
        raise CompareError(f"the models' values differ ({names[0]}: {what(va)}; {names[1]}: {what(vb)})")
    la, lb = a.layout, b.layout
    if tuple(la.shape) == tuple(lb.shape):
        n = la.length
    elif len(la.shape) == 1 and len(lb.shape) == 1:  # sequences: compare the steps both can write
        n = min(la.length, lb.length)
    else:
        raise CompareError(f"the models generate different shapes ({names[0]}: {list(la.shape)}, "
                           f"{names[1]}: {list(lb.shape)})")
    if steps is not None:
        if int(steps) < 1:
            raise CompareError(f"compare at least 1 step, not {steps}")
        n = min(n, int(steps))
    return n


def check_models(a: ARModel, b: ARModel) -> None:
    """CompareError unless the two models compare (see ``comparable_steps``)."""
    comparable_steps(a, b)


@dataclass
class CompareStep:
    """One step of both runs."""

    t: int
    index_a: int
    index_b: int
    value_a: np.ndarray  # [B]
    value_b: np.ndarray
    kl: np.ndarray  # [B] KL(p_A || p_B), nats
    log_p_a: np.ndarray  # [B] log p_A of A's value
    log_p_b: np.ndarray  # [B] log p_B of B's value
    forced: bool = False  # a forced or prefix value (both took it)


def compare_steps(a: ARModel, b: ARModel, batch: int, seed: int, policy: SamplingPolicy | None = None,
                  forced: Mapping[int, Any] | None = None, steps: int | None = None,
                  prefix: torch.Tensor | None = None) -> Iterator[CompareStep]:
    """Run ``generate`` for both models in lockstep, from one seed, policy, forced values and prefix.

    Each model has its own generator seeded with ``seed``, so each samples exactly what it would
    alone. Yields one ``CompareStep`` per step, up to the steps both can write (``comparable_steps``).
    """
    n = comparable_steps(a, b, steps)
    kwargs: dict[str, Any] = dict(batch=batch, steps=n, policy=policy or SamplingPolicy(), forced=forced,
                                  prefix=prefix, seed=seed, views=True)
    pb = None if prefix is None else prefix.to(b.device)
    run_a = generate(a, **kwargs)
    run_b = generate(b, **{**kwargs, "prefix": pb})
    for sa, sb in zip(run_a, run_b):
        assert sa.view is not None and sb.view is not None
        yield CompareStep(sa.t, sa.index, sb.index, sa.value, sb.value, kl_views(sa.view, sb.view),
                          sa.log_prob.astype(np.float64), sb.log_prob.astype(np.float64), sa.forced)


@dataclass(frozen=True)
class CompareSummary:
    """The figures of one comparison run, batch means per step then over the steps (nats)."""

    steps: int
    batch: int
    kl_mean: float  # mean over steps of KL(p_A || p_B)
    kl_max: float  # the largest per-step KL
    kl_max_step: int  # ... and its step
    dlogp_mean: float  # mean over steps and samples of log p_A(x_A) - log p_B(x_B)
    dlogp_abs_mean: float  # mean of |log p_A(x_A) - log p_B(x_B)|
    logp_a: float  # mean log p_A(x_A) per step, of the samples A drew
    logp_b: float  # mean log p_B(x_B) per step, of the samples B drew
    agree: float  # fraction of (step, sample) where A and B hold the same value
    first_difference: int | None  # first step where some sample of A differs from B's, None if never

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)


def summarize(steps: Sequence[CompareStep]) -> CompareSummary:
    """The summary figures of a comparison run; CompareError when it has no steps."""
    if not steps:
        raise CompareError("no steps were compared")
    kl = np.array([float(np.mean(s.kl)) for s in steps])
    d = np.stack([s.log_p_a - s.log_p_b for s in steps])  # [T, B]
    same = np.stack([np.asarray(s.value_a) == np.asarray(s.value_b) for s in steps])  # [T, B]
    differs = np.flatnonzero(~same.all(axis=1))
    i = int(np.argmax(kl))

    def mean(x: np.ndarray) -> float:  # over finite entries (a forced value may have log p = -inf)
        ok = np.isfinite(x)
        return float(np.mean(x[ok])) if ok.any() else math.nan

    return CompareSummary(
        steps=len(steps), batch=int(np.asarray(steps[0].value_a).shape[0]), kl_mean=float(kl.mean()),
        kl_max=float(kl[i]), kl_max_step=int(steps[i].t), dlogp_mean=mean(d), dlogp_abs_mean=mean(np.abs(d)),
        logp_a=mean(np.stack([s.log_p_a for s in steps])), logp_b=mean(np.stack([s.log_p_b for s in steps])),
        agree=float(same.mean()), first_difference=int(steps[int(differs[0])].t) if len(differs) else None)


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
    """Both models read ``x`` [D] (data order); where do their predictions differ, and by how much.

    Sequences in time order (one-dimensional layouts without a permutation) may be shorter than
    the models' contexts: both read the first tokens that fit the shorter one.
    """
    n = comparable_steps(a, b)
    x = np.asarray(x).reshape(-1)
    la, lb = a.layout, b.layout
    if len(la.shape) == 1 and len(lb.shape) == 1 and la.order is None and lb.order is None:
        x = x[:n]
    elif tuple(la.shape) != tuple(lb.shape) or x.shape[0] != la.length:
        raise CompareError(f"teacher forcing needs an input of the models' shape {list(la.shape)}; got "
                           f"{x.shape[0]} values")
    if x.shape[0] < 1:
        raise CompareError("the input is empty")
    xa = torch.as_tensor(x, dtype=a.data_dtype()).view(1, -1).to(a.device)
    xb = xa.to(b.device, b.data_dtype())
    da, db = a.dists(xa), b.dists(xb)  # batch [1, T], step order of each model
    va, vb = da.view(), db.view()  # rows are the T steps
    d = x.shape[0]
    oa = la.order_array() if la.order is not None else np.arange(d)
    ob = lb.order_array() if lb.order is not None else np.arange(d)
    pa, pb = np.empty_like(va.probs), np.empty_like(vb.probs)
    pa[oa], pb[ob] = va.probs, vb.probs  # rows to data order
    kl = kl_views(DistView(va.kind, va.support, pa, va.entropy), DistView(vb.kind, vb.support, pb, vb.entropy))
    lpa, lpb = np.empty(d), np.empty(d)
    lpa[oa] = da.log_prob(a.steps_of(xa)).view(-1).float().cpu().numpy()
    lpb[ob] = db.log_prob(b.steps_of(xb)).view(-1).float().cpu().numpy()
    shape = tuple(la.shape) if d == la.length else (d,)
    return Disagreement(x.astype(np.float64), kl, lpa, lpb, shape)


METRICS = (("test_nats", "test NLL (nats)"), ("test_bits_per_dim", "test bits/dim"), ("valid_nats", "valid NLL (nats)"),
           ("valid_bits_per_dim", "valid bits/dim"))


def metrics_table(ma: CheckpointMeta, mb: CheckpointMeta, step_unit: str = "dim") -> list[tuple[str, str, str]]:
    """Rows (metric, A, B) of both checkpoints' held-out metrics and sizes; bits per ``step_unit``."""
    def fmt(m: CheckpointMeta, key: str) -> str:
        v = m.metrics.get(key)
        return f"{v:.4f}" if isinstance(v, (int, float)) and math.isfinite(v) else "-"

    rows = [("kind", ma.kind, mb.kind), ("data", str(ma.data.get("name", "-")), str(mb.data.get("name", "-")))]
    rows += [(label.replace("/dim", f"/{step_unit}"), fmt(ma, key), fmt(mb, key)) for key, label in METRICS]
    pa, pb = ma.extra.get("parameters"), mb.extra.get("parameters")
    rows.append(("parameters", f"{pa:,}" if isinstance(pa, int) else "-", f"{pb:,}" if isinstance(pb, int) else "-"))
    return rows


@dataclass
class Pair:
    """Two loaded checkpoints that compare, and how many steps of theirs do."""

    path_a: Path
    path_b: Path
    a: ARModel
    b: ARModel
    meta_a: CheckpointMeta
    meta_b: CheckpointMeta
    steps: int

    @property
    def modality(self) -> str:
        """Their one modality's name."""
        return self.a.spec.layout.modality


def open_pair(path_a: str | os.PathLike, path_b: str | os.PathLike, device: str | torch.device = "cpu",
              steps: int | None = None) -> Pair:
    """Open two checkpoints (any installed format) and check that they compare (CompareError if not)."""
    check_comparable(path_a, path_b)
    a, ma = open_checkpoint(path_a, device)
    b, mb = open_checkpoint(path_b, device)
    n = comparable_steps(a, b, steps, (_name(path_a), _name(path_b)))
    return Pair(Path(path_a), Path(path_b), a, b, ma, mb, n)


def default_input(meta: CheckpointMeta, model: ARModel) -> np.ndarray | None:
    """The first test example of the checkpoint's data set, when it fits the model (None otherwise)."""
    try:
        from arstudio.data.datasets import get_dataset

        ds = get_dataset(str(meta.data.get("name")))
        tok = getattr(ds, "tokenizer", None)
        if tok is not None and tok.to_config() != model.spec.config.get("tokenizer"):
            return None
        if (ds.values.kind, ds.values.n) != (model.spec.values.kind, model.spec.values.n):
            return None
        x = ds.test[0].numpy()
        return x if x.shape[0] == model.layout.length else None
    except Exception:
        return None
