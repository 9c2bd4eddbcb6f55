"""Causality by gradient (pytorch-made's check): step t's distribution has no gradient from any x_s, s >= t.

Every kind is checked; none is skipped. How the gradient reaches the input depends on the model:

- ``float_input`` true (the default): the model takes x as floats (pixels, reals), so the check
  backpropagates from the parameters of step t's distribution to x itself.
- ``float_input = False`` (token ids that go through an embedding): the check takes the gradient
  with respect to the *output* of the input embedding, through a forward hook. A model names that
  module with a method ``input_embedding() -> nn.Module`` (or a list of them); without one, every
  ``nn.Embedding`` of the model is a candidate. Which embedded position carries which step is found
  by changing one step at a time and watching the embedding's input, so BOS shifts, position
  embeddings (whose input never changes) and the like need no declaring.

If neither route reaches the input, the check raises instead of passing: a model whose step
distributions have no gradient from any earlier step at all cannot be told causal by gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from arstudio.core.protocol import ARModel
from arstudio.testing.build import changed, orderings, random_cond, random_data
from arstudio.testing.invariants import steps_to_check


def input_embeddings(model: ARModel) -> list[nn.Module]:
    """The modules whose outputs embed a token model's input: ``model.input_embedding()``, else its nn.Embeddings."""
    declared = getattr(model, "input_embedding", None)
    if callable(declared):
        found = declared()
        return list(found) if isinstance(found, (list, tuple)) else [found]
    return [m for m in model.modules() if isinstance(m, nn.Embedding)]


def check_causality_by_gradient(model: ARModel, *, batch: int = 2, seed: int = 4) -> None:
    """Invariant 2 by gradient, for up to two orderings: no step t depends on x_s, s >= t; raise when it cannot tell."""
    for k in orderings(model):
        x = random_data(model, batch, seed)
        cond = random_cond(model, batch)
        if getattr(model, "float_input", True):
            _check_float(model, x, cond, k)
        else:
            _check_embedded(model, x, cond, k)


def _fail_unreachable(model: ARModel, how: str) -> AssertionError:
    return AssertionError(
        f"{model.spec.kind}: cannot check causality by gradient: {how}. A model whose values go through an "
        "embedding sets the class attribute float_input = False and, unless its nn.Embedding is found, "
        "defines input_embedding() returning that module (see arstudio.testing.gradient)")


def _params_of(model: ARModel, x: torch.Tensor, cond: Any) -> list[torch.Tensor]:
    with torch.enable_grad():
        params = model.dists(x, cond).params()
    return [v for v in params.values() if v.requires_grad]


def _check_float(model: ARModel, x: torch.Tensor, cond: Any, k: int) -> None:
    name = model.spec.kind
    xf = x.detach().float().clone().requires_grad_(True)
    try:
        params = _params_of(model, xf, cond)
    except Exception as e:  # the model cannot take float input: say so, do not skip
        raise _fail_unreachable(model, f"dists() fails on float input ({type(e).__name__}: {e})") from e
    order = torch.as_tensor(model.layout.order_array(), device=xf.device)
    reached = False
    for t in steps_to_check(model.layout.length):
        g = _grad(params, t, [xf])[0]
        if g is None:
            continue
        g = g.abs()
        later = g[:, order[t:]]
        if bool((later != 0).any()):
            s = int(t + (later != 0).any(0).nonzero()[0, 0])
            raise AssertionError(f"{name} ordering {k}: step {t}'s distribution has a gradient from x at step {s} "
                                 f"(data index {int(order[s])}), which is not before it (max |grad| "
                                 f"{float(later.max()):.3g}): not causal")
        reached = reached or bool((g[:, order[:t]] != 0).any())
    if not reached:
        raise _fail_unreachable(model, "no step's distribution has a gradient from any earlier x, so the input "
                                       "does not reach the network differentiably (is it rounded or used as an index?)")


def _grad(params: list[torch.Tensor], t: int, inputs: list[torch.Tensor]) -> list[torch.Tensor | None]:
    """d(sum of step t's distribution parameters)/d(inputs)."""
    out = sum(v[:, t].sum() for v in params)
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        return [None] * len(inputs)
    return list(torch.autograd.grad(out, inputs, retain_graph=True, allow_unused=True))


def _hooked(modules: list[nn.Module], fn: Callable[[int, torch.Tensor, Any], Any], run: Callable[[], Any]) -> Any:
    """Run ``run()`` with forward hook ``fn(module index, module input, output)`` on each module."""
    handles = [m.register_forward_hook(lambda mod, args, out, i=i: fn(i, args[0] if args else None, out))
               for i, m in enumerate(modules)]
    try:
        return run()
    finally:
        for h in handles:
            h.remove()


def _embedding_inputs(model: ARModel, modules: list[nn.Module], x: torch.Tensor, cond: Any) -> list[torch.Tensor]:
    """The input of every call of the embedding modules in one ``dists(x)``, in call order."""
    calls: list[torch.Tensor] = []

    def record(i: int, inp: Any, out: Any) -> None:
        calls.append(inp.detach().clone() if isinstance(inp, torch.Tensor) else torch.empty(0))

    with torch.no_grad():
        _hooked(modules, record, lambda: model.dists(x, cond))
    return calls


def _owners(model: ARModel, modules: list[nn.Module], x: torch.Tensor, cond: Any) -> list[torch.Tensor]:
    """Per embedding call, the latest step whose value its input at each position carries (-1: none)."""
    base = _embedding_inputs(model, modules, x, cond)
    owners = [torch.full(b.shape, -1, dtype=torch.long, device=b.device) for b in base]
    order = torch.as_tensor(model.layout.order_array(), device=x.device)
    for s in range(model.layout.length):
        calls = _embedding_inputs(model, modules, changed(model, x, order[s:s + 1], seed=1000 + s), cond)
        if [c.shape for c in calls] != [b.shape for b in base]:
            raise _fail_unreachable(model, "its embeddings are called a different number of times, or on "
                                           "differently shaped inputs, when one value changes")
        for own, a, b in zip(owners, calls, base):
            own[a != b] = s
    return owners


def _check_embedded(model: ARModel, x: torch.Tensor, cond: Any, k: int) -> None:
    name = model.spec.kind
    modules = input_embeddings(model)
    if not modules:
        raise _fail_unreachable(model, "float_input is False and the model has no nn.Embedding or input_embedding()")
    owners = _owners(model, modules, x, cond)
    if not any(bool((o >= 0).any()) for o in owners):
        raise _fail_unreachable(model, "the input of none of its embeddings changes with the values x")
    leaves: list[torch.Tensor] = []

    def as_leaf(i: int, inp: Any, out: Any) -> torch.Tensor:
        leaf = out.detach().requires_grad_(True)
        leaves.append(leaf)
        return leaf

    params = _hooked(modules, as_leaf, lambda: _params_of(model, x, cond))
    reached = False
    for t in steps_to_check(model.layout.length):
        for own, g in zip(owners, _grad(params, t, leaves)):
            if g is None:
                continue
            g = g.abs()
            g = g.reshape(*own.shape, -1).sum(-1) if g.ndim > own.ndim else g  # [B, P]: per embedded position
            bad = (own >= t) & (g != 0)
            if bool(bad.any()):
                s = int(own[bad].min())
                raise AssertionError(f"{name} ordering {k}: step {t}'s distribution has a gradient from the embedded "
                                     f"value of step {s}, which is not before it (max |grad| {float(g[bad].max()):.3g}): "
                                     "not causal")
            reached = reached or bool(((own >= 0) & (own < t) & (g != 0)).any())
    if not reached:
        raise _fail_unreachable(model, "no step's distribution has a gradient from any earlier step's embedding")
