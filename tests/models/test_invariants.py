"""The invariants of DESIGN.md, run for every registered model kind on its tiny config.

The checks themselves live in ``arstudio.testing`` (so that a plug-in can run them on its own
kinds); this file runs them over ``arstudio.core.registry.kinds()`` and shows, on models broken
on purpose, that they catch what they claim to.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from arstudio.core import ARModel, Categorical, Layout, ModelSpec, ValueSpace
from arstudio.core.registry import kinds
from arstudio.testing import (
    build_tiny,
    check_causality_by_gradient,
    check_causality_by_perturbation,
    check_checkpoint_round_trip,
    check_fast_cursor_equals_naive,
    check_incremental_equals_parallel,
    check_modality_agreement,
    check_prefill,
    check_select,
    check_training_lowers_loss,
)

KINDS = [k.name for k in kinds()]
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU"))]


def test_every_built_in_kind_is_checked() -> None:
    assert len(KINDS) >= 12 and {"nade", "made", "pixelcnn", "gpt", "char_rnn", "rnade"} <= set(KINDS)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", KINDS)
def test_incremental_equals_parallel(name: str, device: str) -> None:
    model, _ = build_tiny(name, device=device)
    check_incremental_equals_parallel(model)


@pytest.mark.parametrize("name", KINDS)
def test_causality_by_perturbation(name: str) -> None:
    model, _ = build_tiny(name)
    check_causality_by_perturbation(model)


@pytest.mark.parametrize("name", KINDS)
def test_causality_by_gradient(name: str) -> None:
    """Every kind, token models included (through their input embedding): none is skipped."""
    model, _ = build_tiny(name)
    check_causality_by_gradient(model)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", KINDS)
def test_fast_cursor_equals_naive_cursor(name: str, device: str) -> None:
    model, _ = build_tiny(name, device=device)
    check_fast_cursor_equals_naive(model)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", KINDS)
def test_prefill_equals_step_by_step_pushes(name: str, device: str) -> None:
    model, _ = build_tiny(name, device=device)
    check_prefill(model)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", KINDS)
def test_select_equals_a_cursor_fed_only_those_rows(name: str, device: str) -> None:
    model, _ = build_tiny(name, device=device)
    check_select(model)


@pytest.mark.parametrize("name", KINDS)
def test_checkpoint_round_trip(name: str, tmp_path) -> None:
    model, ds = build_tiny(name)
    check_checkpoint_round_trip(model, data=ds, tmp_dir=tmp_path)


@pytest.mark.parametrize("name", KINDS)
def test_registry_layout_and_checkpoint_agree_on_the_modality(name: str, tmp_path) -> None:
    model, ds = build_tiny(name)
    assert check_modality_agreement(model, data=ds, tmp_dir=tmp_path) == next(k for k in kinds() if k.name == name).modality


# Kinds whose tiny data set has long windows train on fewer of them (WaveNet: 4,096 samples each).
TRAIN_BATCH = {"wavenet": 4}


@pytest.mark.parametrize("name", KINDS)
def test_training_lowers_the_loss(name: str) -> None:
    check_training_lowers_loss(name, batch_size=TRAIN_BATCH.get(name, 32))


# ------------------------------------------------------------------ the checks catch broken models


def test_a_leak_of_x_t_into_step_t_fails_both_causality_checks() -> None:
    model, _ = build_tiny("fvsbn")
    model.mask.fill_diagonal_(1.0)  # pixel t now sees itself
    for check in (check_causality_by_perturbation, check_causality_by_gradient):
        with pytest.raises(AssertionError, match="fvsbn ordering 0: .*not causal"):
            check(model)
    with pytest.raises(AssertionError, match="fvsbn ordering 0: the cursor's step"):
        check_incremental_equals_parallel(model)


def test_a_select_or_prefill_that_forgets_its_cache_fails() -> None:
    model, _ = build_tiny("fvsbn")
    start = model.start

    def bad_select(batch: int, cond=None):  # noqa: ANN001 (test double)
        cur = start(batch, cond)
        cur._select = lambda rows: setattr(cur, "a", cur.a[rows.flip(0)])  # rows in the wrong order
        return cur

    model.start = bad_select
    with pytest.raises(AssertionError, match=r"fvsbn ordering 0: select\(\[2, 0, 0, 1\]\) after \d+ steps: step \d+: logits differs"):
        check_select(model)

    def bad_prefill(batch: int, cond=None):  # noqa: ANN001 (test double)
        cur = start(batch, cond)

        def prefill(prefix: torch.Tensor) -> None:  # writes the values but skips the running logits
            cur.x[:, cur.t:cur.t + prefix.shape[1]] = prefix
            cur.t += prefix.shape[1]
        cur.prefill = prefill
        return cur

    model.start = bad_prefill
    with pytest.raises(AssertionError, match=r"fvsbn ordering 0: prefill of \d+ steps: step \d+: logits differs"):
        check_prefill(model)


class TokenModel(ARModel):
    """Tokens through an embedding; step t sums the embeddings of x_<t (or, leaking, of x_<=t)."""

    float_input = False

    def __init__(self, leak: bool = False, declare: bool = False) -> None:
        super().__init__()
        self.spec = ModelSpec("tokens", {}, Layout("text", (5,)), ValueSpace("categorical", 4))
        self.leak, self.declare = leak, declare
        self.embed = nn.Embedding(4, 3)
        self.head = nn.Linear(3, 4)

    def dists(self, x: torch.Tensor, cond=None) -> Categorical:  # noqa: ANN001
        e = self.embed(x.long())  # [B, T, 3]
        h = e.cumsum(1) if self.leak else e.cumsum(1) - e
        return Categorical(self.head(torch.tanh(h)))

    def input_embedding(self) -> nn.Module | list[nn.Module]:
        return self.embed if self.declare else []


def test_the_gradient_check_reaches_token_models_through_their_embedding() -> None:
    check_causality_by_gradient(TokenModel(declare=True).eval())
    with pytest.raises(AssertionError, match="tokens ordering 0: step 0's distribution has a gradient .* step 0"):
        check_causality_by_gradient(TokenModel(leak=True, declare=True).eval())


def test_the_gradient_check_raises_rather_than_skip_a_model_it_cannot_reach() -> None:
    with pytest.raises(AssertionError, match="tokens: cannot check causality by gradient"):
        check_causality_by_gradient(TokenModel(declare=False).eval())  # declares no embedding
    model, _ = build_tiny("gpt")
    model.float_input = True  # as if it took float input: the ids cut the graph
    with pytest.raises(AssertionError, match="gpt: cannot check causality by gradient"):
        check_causality_by_gradient(model)


def test_a_layout_that_names_another_modality_than_the_registry_fails(tmp_path) -> None:
    model, ds = build_tiny("fvsbn")
    model.spec = replace(model.spec, layout=replace(model.spec.layout, modality="text"))
    with pytest.raises(AssertionError, match="fvsbn: registered as modality 'image', but its layout says 'text'"):
        check_modality_agreement(model, data=ds, tmp_dir=tmp_path)
