"""The invariants of DESIGN.md as plain functions: each checks one model and raises AssertionError.

1. ``check_incremental_equals_parallel``: the cursor's Dist at step t, after pushing x_<t, gives x_t
   the log-probability ``log_prob`` gives it in parallel.
2. ``check_causality_by_perturbation``: changing x_s for every s >= t leaves the distributions of
   steps 0..t unchanged (the gradient half is ``arstudio.testing.gradient``).
3. ``check_fast_cursor_equals_naive``: the model's own cursor and ``NaiveCursor`` draw the same
   samples, step for step, from the same seed, under two sampling policies.
4. ``check_checkpoint_round_trip``: save, load, the same ``log_prob``.
5. ``check_training_lowers_loss``: a few optimizer steps lower the held-out NLL.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from arstudio.core.checkpoint import CheckpointMeta, load_checkpoint, save_checkpoint
from arstudio.core.generate import generate
from arstudio.core.policy import SamplingPolicy
from arstudio.core.protocol import ARModel, NaiveCursor
from arstudio.core.registry import get as get_kind
from arstudio.data.datasets import Dataset, get_dataset
from arstudio.testing.build import changed, orderings, random_cond, random_data
from arstudio.train.fit import TrainConfig, Trainer

POLICIES = (SamplingPolicy(), SamplingPolicy(temperature=0.7, top_k=3, top_p=0.9))


def _name(model: ARModel) -> str:
    return str(model.spec.kind)


@torch.no_grad()
def check_incremental_equals_parallel(model: ARModel, *, batch: int = 3, seed: int = 1, atol: float = 1e-4) -> None:
    """Invariant 1, for up to two orderings: cursor.dist() at step t scores x_t as ``log_prob`` does."""
    for k in orderings(model):
        x = random_data(model, batch, seed)
        cond = random_cond(model, batch)
        parallel = model.log_prob(x, cond)  # [B, T]
        if parallel.shape != (batch, model.layout.length):
            raise AssertionError(f"{_name(model)}: log_prob gave shape {list(parallel.shape)}, "
                                 f"expected [{batch}, {model.layout.length}]")
        steps_x = model.steps_of(x)
        cur = model.start(batch, cond)
        for t in range(model.layout.length):
            torch.testing.assert_close(
                cur.dist().log_prob(steps_x[:, t]), parallel[:, t], atol=atol, rtol=atol,
                msg=lambda m, t=t, k=k: f"{_name(model)} ordering {k}: the cursor's step {t} differs from log_prob's\n{m}")
            cur.push(steps_x[:, t])
        if not cur.done:
            raise AssertionError(f"{_name(model)}: the cursor is not done after {model.layout.length} pushes")


def steps_to_check(length: int, most: int = 64) -> list[int]:
    """Every step of a short layout; about ``most`` evenly spread ones (the first and last included) of a long one."""
    if length <= most:
        return list(range(length))
    return sorted({int(round(i)) for i in np.linspace(0, length - 1, most)})


@torch.no_grad()
def check_causality_by_perturbation(model: ARModel, *, batch: int = 2, seed: int = 2, atol: float = 1e-5) -> None:
    """Invariant 2 by perturbation: changing x_s for every s >= t never changes the distribution of steps <= t."""
    for k in orderings(model):
        x = random_data(model, batch, seed)
        cond = random_cond(model, batch)
        order = torch.as_tensor(model.layout.order_array(), device=x.device)
        base = model.dists(x, cond).params()
        for t in steps_to_check(model.layout.length):
            x2 = changed(model, x, order[t:], seed=100 + t)  # every x_s with s >= t takes another value
            other = model.dists(x2, cond).params()
            for key, v in base.items():
                torch.testing.assert_close(
                    other[key][:, : t + 1], v[:, : t + 1], atol=atol, rtol=atol,
                    msg=lambda m, t=t, k=k, key=key: (f"{_name(model)} ordering {k}: {key} of a step <= {t} changed "
                                                      f"when every x_s with s >= {t} changed (not causal)\n{m}"))


def check_fast_cursor_equals_naive(model: ARModel, *, batch: int = 4, seed: int = 5, atol: float = 1e-4) -> None:
    """Invariant 3: ``model.start`` and ``NaiveCursor`` sample the same values, step for step, under two policies."""
    name = _name(model)
    for k in orderings(model):
        cond = random_cond(model, batch)
        for policy in POLICIES:
            fast = list(generate(model, batch=batch, seed=seed, policy=policy, cond=cond, views=False))
            naive = list(generate(model, batch=batch, seed=seed, policy=policy, cond=cond, views=False,
                                  cursor=NaiveCursor(model, batch, cond)))
            if not len(fast) == len(naive) == model.layout.length:
                raise AssertionError(f"{name}: {len(fast)} fast and {len(naive)} naive steps, "
                                     f"expected {model.layout.length}")
            for a, b in zip(fast, naive):
                where = f"{name} ordering {k}, policy {policy}: step {a.t}"
                if a.index != b.index:
                    raise AssertionError(f"{where} writes index {a.index}, the naive cursor {b.index}")
                if model.spec.values.discrete:
                    if not np.array_equal(a.value, b.value):
                        raise AssertionError(f"{where} sampled {a.value.tolist()}, the naive cursor {b.value.tolist()}")
                elif np.abs(a.value - b.value).max() > atol:
                    raise AssertionError(f"{where} sampled {a.value.tolist()}, the naive cursor {b.value.tolist()}")
                if np.abs(a.log_prob - b.log_prob).max() > atol:
                    raise AssertionError(f"{where} log p {a.log_prob.tolist()}, the naive cursor {b.log_prob.tolist()}")


def _tmp_dir(tmp_dir: str | os.PathLike | None) -> tuple[Path, Any]:
    if tmp_dir is not None:
        return Path(tmp_dir), None
    holder = tempfile.TemporaryDirectory(prefix="arstudio-check-")
    return Path(holder.name), holder


def save_tiny_checkpoint(model: ARModel, folder: str | os.PathLike, data: Dataset | None = None) -> Path:
    """Save ``model`` as ``<folder>/<kind>.safetensors`` with the metadata a trained checkpoint has."""
    meta = CheckpointMeta(kind=_name(model), config=dict(model.spec.config),
                          data=data.meta() if data is not None else {}, recipe="arstudio.testing")
    return save_checkpoint(Path(folder) / f"{_name(model)}.safetensors", model, meta)


def check_checkpoint_round_trip(model: ARModel, *, data: Dataset | None = None,
                                tmp_dir: str | os.PathLike | None = None, atol: float = 1e-5) -> Path | None:
    """Invariant 4: save, load, the same kind, config and ``log_prob``; returns the file when ``tmp_dir`` is given."""
    folder, holder = _tmp_dir(tmp_dir)
    try:
        path = save_tiny_checkpoint(model, folder, data)
        loaded, meta = load_checkpoint(path, device=model.device)
        if meta.kind != _name(model) or meta.recipe != "arstudio.testing":
            raise AssertionError(f"{_name(model)}: the checkpoint came back as kind {meta.kind!r}, recipe {meta.recipe!r}")
        if type(loaded) is not type(model):
            raise AssertionError(f"{_name(model)}: saved a {type(model).__name__}, loaded a {type(loaded).__name__}")
        x = random_data(model, 3, seed=3)
        cond = random_cond(model, 3)
        with torch.no_grad():
            torch.testing.assert_close(loaded.log_prob(x, cond), model.log_prob(x, cond), atol=atol, rtol=atol,
                                       msg=lambda m: f"{_name(model)}: log_prob changed by a checkpoint round trip\n{m}")
        return path if holder is None else None
    finally:
        if holder is not None:
            holder.cleanup()


def check_training_lowers_loss(name: str, *, steps: int = 30, batch_size: int = 32, lr: float = 1e-2, seed: int = 0,
                               device: str = "cpu", data: str | Dataset | None = None) -> tuple[float, float]:
    """Invariant 5: ``steps`` Adam steps on the kind's tiny config lower the valid NLL; returns (before, after).

    The model is built from ``tiny_config`` with the data set's own entries (its shape, vocabulary)
    on top, since it trains on that data.
    """
    kind = get_kind(name)
    ds = data if isinstance(data, Dataset) else get_dataset(data or kind.tiny_data or kind.default_data)
    torch.manual_seed(seed)
    model = kind.build({**kind.tiny_config, **ds.model_config()})
    trainer = Trainer(model, ds, TrainConfig(steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                                             eval_every=steps, device=device))
    before = trainer.evaluate("valid")["nats"]
    trainer.run()
    after = trainer.evaluate("valid")["nats"]
    if not after < before:
        raise AssertionError(f"{name}: {steps} training steps did not lower the valid NLL ({before:.4f} -> {after:.4f} nats)")
    return before, after
