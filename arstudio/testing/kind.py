"""A kind's modality is stated once and agrees everywhere; and the checks run together for one model or kind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from arstudio.core.checkpoint import read_meta
from arstudio.core.modality import modalities
from arstudio.core.protocol import ARModel
from arstudio.core.registry import get as get_kind
from arstudio.core.registry import kinds
from arstudio.data.datasets import Dataset, dataset_modality
from arstudio.testing.build import build_tiny
from arstudio.testing.cursors import check_prefill, check_select
from arstudio.testing.gradient import check_causality_by_gradient
from arstudio.testing.invariants import (
    check_causality_by_perturbation,
    check_checkpoint_round_trip,
    check_fast_cursor_equals_naive,
    check_incremental_equals_parallel,
    check_training_lowers_loss,
)


def check_modality_agreement(model: ARModel, *, data: Dataset | None = None,
                             tmp_dir: str | os.PathLike | None = None) -> str:
    """The kind's registered modality == ``model.spec.layout.modality`` == a saved checkpoint's
    ``meta.extra["modality"]``, it names an installed modality, and the kind's default data set
    (and ``data``, if given) is of it. Returns the modality.
    """
    name = str(model.spec.kind)
    if name not in {k.name for k in kinds()}:
        raise AssertionError(f"{name}: spec.kind names no registered model kind (decorate the class with @register({name!r}, ...))")
    kind = get_kind(name)
    if not isinstance(model, kind.cls):
        raise AssertionError(f"{name}: the model is a {type(model).__name__}, the kind registers {kind.cls.__name__}")
    registered, layout = kind.modality, model.spec.layout.modality
    if layout != registered:
        raise AssertionError(f"{name}: registered as modality {registered!r}, but its layout says {layout!r}")
    installed = modalities()
    if registered not in installed:
        raise AssertionError(f"{name}: its modality {registered!r} is not installed (installed: {', '.join(sorted(installed))})")
    for ds_name in {kind.default_data, *([data.name] if data is not None else [])}:
        ds_modality = dataset_modality(ds_name)
        if ds_modality != registered:
            raise AssertionError(f"{name}: a {registered} model, but its data set {ds_name!r} is {ds_modality}")
    if data is not None and data.layout.modality != registered:
        raise AssertionError(f"{name}: a {registered} model, but the layout of data set {data.name!r} says "
                             f"{data.layout.modality!r}")
    with tempfile.TemporaryDirectory(prefix="arstudio-check-") as tmp:
        path = check_checkpoint_round_trip(model, data=data, tmp_dir=tmp_dir or tmp)
        assert path is not None
        recorded = read_meta(path).extra.get("modality")
    if recorded != registered:
        raise AssertionError(f"{name}: a saved checkpoint records the modality {recorded!r}, the kind is {registered!r}")
    return registered


MODEL_CHECKS = (
    check_incremental_equals_parallel,
    check_causality_by_perturbation,
    check_causality_by_gradient,
    check_fast_cursor_equals_naive,
    check_prefill,
    check_select,
)


def check_model(model: ARModel, *, data: Dataset | None = None, tmp_dir: str | os.PathLike | None = None) -> None:
    """Every check of one model (a tiny one: some checks are O(T^2) forward passes): invariants 1 to 4,
    the gradient half of causality, prefill and select, and the modality agreement (which saves and
    loads a checkpoint, invariant 4). Raises AssertionError at the first failure.
    """
    for check in MODEL_CHECKS:
        check(model)
    check_modality_agreement(model, data=data, tmp_dir=tmp_dir)


def check_kind(name: str, *, device: str = "cpu", train: bool = True, tmp_dir: str | os.PathLike | None = None) -> None:
    """What a plug-in author runs: ``check_model`` on a tiny random model of kind ``name`` (its
    ``tiny_config`` on its default data set), then, unless ``train=False``, invariant 5: a few
    training steps lower the held-out loss.
    """
    model, ds = build_tiny(name, device=device)
    if tmp_dir is not None:
        Path(tmp_dir).mkdir(parents=True, exist_ok=True)
    check_model(model, data=ds, tmp_dir=tmp_dir)
    if train:
        check_training_lowers_loss(name, device=device)
