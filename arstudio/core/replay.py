"""Replayable exports: what a written file records about how it was made, and how to make it again.

Every export (a PNG, a JSON text; WAV and MIDI as those modalities arrive) carries a ``Recipe`` in its
own metadata as a flat dict of strings (PNG text chunks, the JSON's ``info``): the checkpoint's sha256 and name, the seed,
the sampling policy, the ordering, the batch, how many steps were taken, and any kept prefix,
forced values or condition. ``regenerate`` runs the one generation loop again from a recipe, and
``find_checkpoint`` finds the checkpoint by its hash among the shipped and user checkpoints.

Each modality's file formats carry the reader of their recipe (``arstudio.core.modality``);
``read_recipe`` picks one by the file's suffix.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from arstudio.core.checkpoint import CheckpointError, file_hash
from arstudio.core.files import check_regular
from arstudio.core.generate import Step, generate, make_generator
from arstudio.core.modality import modality_for_suffix
from arstudio.core import validate
from arstudio.core.policy import SamplingPolicy
from arstudio.core.protocol import ARModel
from arstudio.core.spec import ValueSpace

PREFIX = "arstudio:"
RECIPE_VERSION = 1
REQUIRED = ("checkpoint_sha256", "seed", "n", "policy")
MAX_SAMPLES = 4096  # the most samples one `sample` or `replay` makes


class ReplayError(ValueError):
    """A file that cannot be replayed (no or broken replay metadata); the message is one line."""


@dataclass(frozen=True)
class Recipe:
    """How one export was made: enough to regenerate it exactly from the same checkpoint."""

    checkpoint_sha256: str
    checkpoint: str = ""  # the checkpoint's name (file stem), a hint for people and for the search
    kind: str = ""
    modality: str = ""
    seed: int = 0
    batch: int = 1
    steps: int | None = None  # steps taken; None = the whole layout
    policy: SamplingPolicy = field(default_factory=SamplingPolicy)
    ordering: int = 0
    prefix: list[list[float]] | None = None  # [B, t0] kept values in step order (a branch)
    forced: dict[int, list[float]] = field(default_factory=dict)  # step -> [B] values
    cond: Any = None  # JSON-able condition (class labels ...), None when unconditional
    software: str = ""
    shown: int = 0  # the sample a one-sample format (WAV, MIDI) writes: the one the studio showed

    # ---- to and from the file's text metadata ---------------------------------------------
    def to_text(self) -> dict[str, str]:
        """The flat dict of strings written into the file, in a fixed order (same recipe, same bytes)."""
        out = {"Software": self.software, "Source": self.checkpoint}
        fields: dict[str, str] = {
            "recipe_version": str(RECIPE_VERSION), "checkpoint_sha256": self.checkpoint_sha256,
            "checkpoint": self.checkpoint, "kind": self.kind, "modality": self.modality,
            "seed": str(self.seed), "n": str(self.batch), "policy": json.dumps(self.policy.to_dict(), sort_keys=True),
            "ordering": str(self.ordering)}
        if self.steps is not None:
            fields["steps"] = str(self.steps)
        if self.prefix is not None:
            fields["prefix"] = _dump(self.prefix)
        if self.forced:
            fields["forced"] = _dump({str(k): v for k, v in sorted(self.forced.items())})
        if self.cond is not None:
            fields["cond"] = _dump(self.cond)
        if self.shown:
            fields["shown"] = str(self.shown)
        out.update({PREFIX + k: v for k, v in fields.items()})
        return out

    @classmethod
    def from_text(cls, text: dict[str, str], source: str = "the file", modality: str = "") -> "Recipe":
        """Parse a file's text metadata; ReplayError says plainly what is missing or broken.

        ``modality``: the modality of the file's format, for recipes that do not record theirs.
        """
        ours = {k[len(PREFIX):]: v for k, v in text.items() if isinstance(k, str) and k.startswith(PREFIX)}
        if not ours:
            raise ReplayError(f"{source}: has no replay metadata (no '{PREFIX}...' entries): it was not written by "
                              "arstudio, or its metadata was stripped")
        missing = [k for k in REQUIRED if k not in ours]
        if missing:
            raise ReplayError(f"{source}: its replay metadata is broken: {', '.join(PREFIX + k for k in missing)} "
                              "missing")
        bad = lambda key, why: ReplayError(f"{source}: its replay metadata is broken: {PREFIX}{key} {why}")  # noqa: E731
        odd = next((k for k, v in ours.items() if not isinstance(v, str)), None)
        if odd is not None:
            raise bad(odd, f"is a {type(ours[odd]).__name__}, not a string")
        version = _int(ours.get("recipe_version", "1"), bad, "recipe_version")
        if version > RECIPE_VERSION:
            raise ReplayError(f"{source}: was written by a newer arstudio (recipe version {version}, this one reads "
                              f"{RECIPE_VERSION})")
        sha = ours["checkpoint_sha256"].strip().lower()
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise bad("checkpoint_sha256", f"is {ours['checkpoint_sha256'][:80]!r}, not a sha256 hex digest")
        try:
            pol = validate.loads(ours["policy"], "policy")
            policy = SamplingPolicy(pol["temperature"], pol["top_k"], pol["top_p"])  # the checks of `sample`
        except (KeyError, TypeError, ValueError) as e:
            raise bad("policy", f"is {ours['policy'][:80]!r} ({e})") from None
        batch = _int(ours["n"], bad, "n")
        if not 1 <= batch <= MAX_SAMPLES:
            raise bad("n", f"is {batch}; a replay makes 1 to {MAX_SAMPLES} samples, as `sample --n` does")
        seed = _int(ours["seed"], bad, "seed")
        if not 0 <= seed <= validate.MAX_SEED:
            raise bad("seed", f"is {seed}; seeds are whole numbers from 0 to 2**63 - 1")
        steps = _int(ours["steps"], bad, "steps") if "steps" in ours else None
        if steps is not None and steps < 0:
            raise bad("steps", f"is {steps}")
        prefix = _load(ours["prefix"], bad, "prefix") if "prefix" in ours else None
        if prefix is not None and (not isinstance(prefix, list) or len(prefix) != batch
                                   or any(not isinstance(r, list) or len(r) != len(prefix[0]) for r in prefix)):
            raise bad("prefix", f"is not a list of {batch} equally long rows")
        forced_raw = _load(ours["forced"], bad, "forced") if "forced" in ours else {}
        try:
            forced = {int(k): [float(x) for x in v] for k, v in dict(forced_raw).items()}
        except (TypeError, ValueError):
            raise bad("forced", "is not a map from step to a list of values") from None
        if any(t < 0 for t in forced):
            raise bad("forced", f"names step {min(forced)}; steps count from 0")
        if any(len(v) != batch for v in forced.values()):
            raise bad("forced", f"has a step whose values are not {batch} long")
        shown = _int(ours.get("shown", "0"), bad, "shown")
        if not 0 <= shown < batch:
            raise bad("shown", f"is {shown}; the run has {batch} samples, counted from 0")
        return cls(sha, ours.get("checkpoint", ""), ours.get("kind", ""), ours.get("modality", modality),
                   seed, batch, steps, policy, _int(ours.get("ordering", "0"), bad, "ordering"),
                   prefix, forced, _load(ours["cond"], bad, "cond") if "cond" in ours else None,
                   text.get("Software", ""), shown)

    @property
    def short_hash(self) -> str:
        """The first 12 hex digits of the checkpoint hash, for messages."""
        return self.checkpoint_sha256[:12]


def _dump(v: Any) -> str:
    return json.dumps(v, separators=(",", ":"), sort_keys=True)


def _int(raw: str, bad: Callable[[str, str], ReplayError], key: str) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise bad(key, f"is {str(raw)[:80]!r}, not a whole number") from None


def _load(raw: str, bad: Callable[[str, str], ReplayError], key: str) -> Any:
    try:
        return validate.loads(raw, "it", sep=" ")
    except ValueError as e:
        raise bad(key, str(e).removeprefix("it ")) from None


def as_values(v: Any) -> list[float]:
    """Numbers as a plain list of floats (ints stay exact: values are small integers or float32s)."""
    arr = np.asarray(v, dtype=np.float64).reshape(-1)
    return [float(x) for x in arr]


def recipe_for_run(checkpoint: str | os.PathLike, *, kind: str, modality: str, seed: int, batch: int,
                   policy: SamplingPolicy, ordering: int = 0, steps: int | None = None,
                   prefix: np.ndarray | None = None, forced: dict[int, Any] | None = None, cond: Any = None,
                   software: str = "", sha256: str | None = None, shown: int = 0) -> Recipe:
    """The recipe of a run of the checkpoint file ``checkpoint`` (its hash is computed unless given).

    ``shown``: the sample a one-sample format writes (``shown_sample``), 0 .. batch - 1.
    """
    if not 0 <= shown < batch:
        raise ValueError(f"sample {shown + 1} was chosen, but the run has {batch}")
    p = Path(checkpoint)
    pre = None if prefix is None else [as_values(r) for r in np.asarray(prefix)]
    forced_b = {int(t): (as_values(v) * batch if np.ndim(v) == 0 else as_values(v)) for t, v in (forced or {}).items()}
    return Recipe(sha256 or file_hash(p), p.stem, kind, modality, int(seed), int(batch), steps, policy, int(ordering),
                  pre, forced_b, cond, software, int(shown))


def shown_sample(text: dict[str, str], batch: int) -> int:
    """Which row of a run of ``batch`` samples a one-sample format (WAV, MIDI) writes, from its recipe ``text``.

    The sample the studio showed when it exported (``Recipe.shown``), 0 when the recipe names none;
    a replay passes the same text, so it writes the same sample again.
    """
    raw = text.get(PREFIX + "shown", "0")
    try:
        row = int(raw)
    except ValueError:
        raise ValueError(f"the recipe names sample {raw[:40]!r}, not a number") from None
    if not 0 <= row < batch:
        raise ValueError(f"the recipe names sample {row + 1}, but the run has {batch}")
    return row


# ---- regenerating ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Regenerated:
    """A replayed run: its samples, and per step the log p of each sample's value and whether it was given."""

    x: np.ndarray  # [B, D] flat data order, float, NaN where unsampled
    log_prob: np.ndarray  # [B, T] step order, nats, NaN after the last step taken
    given: np.ndarray  # [T] bool: kept (prefix) or forced
    prefix_len: int


@torch.no_grad()
def regenerate(model: ARModel, recipe: Recipe) -> np.ndarray:
    """Run the generation loop as ``recipe`` says; samples as flat data [B, D], float, NaN where unsampled."""
    return regenerate_run(model, recipe).x


@torch.no_grad()
def regenerate_run(model: ARModel, recipe: Recipe, on_step: Callable[[Step], None] | None = None) -> Regenerated:
    """Run the generation loop as ``recipe`` says, keeping each step's log p and given flag too.

    ``on_step`` sees every step as it is made (a progress bar)."""
    if recipe.ordering:
        if not 0 <= recipe.ordering < model.num_orderings:
            raise ReplayError(f"the recipe follows ordering {recipe.ordering}, but the model has "
                              f"{model.num_orderings}")
        model.select_ordering(recipe.ordering)
    layout = model.layout
    check_recipe(recipe, model)
    steps = layout.length if recipe.steps is None else recipe.steps
    dtype, dev = model.data_dtype(), model.device
    prefix = None if recipe.prefix is None else torch.as_tensor(np.asarray(recipe.prefix), dtype=dtype, device=dev)
    if prefix is not None and prefix.shape[1] > steps:
        raise ReplayError(f"the recipe keeps a prefix of {prefix.shape[1]} steps but took only {steps}")
    forced = {t: torch.as_tensor(np.asarray(v), dtype=dtype, device=dev) for t, v in recipe.forced.items()}
    cond = None if recipe.cond is None else torch.as_tensor(recipe.cond, device=dev)
    cur = model.start(recipe.batch, cond)
    log_prob = np.full((recipe.batch, layout.length), math.nan)
    given = np.zeros(layout.length, dtype=bool)
    for step in generate(model, batch=recipe.batch, steps=steps, policy=recipe.policy, cond=cond, forced=forced,
                         prefix=prefix, generator=make_generator(recipe.seed), cursor=cur, views=False,
                         on_step=on_step):
        log_prob[:, step.t] = step.log_prob
        given[step.t] = step.forced
    out = cur.x.detach().cpu().numpy().astype(np.float64)
    if steps < layout.length:
        out[:, layout.order_array()[steps:]] = math.nan
    return Regenerated(out, log_prob, given, 0 if prefix is None else int(prefix.shape[1]))


def check_recipe(recipe: Recipe, model: ARModel) -> None:
    """ReplayError unless the recipe fits the model: steps inside the run, forced and kept values in the
    model's value space, class labels among its classes."""
    length, space = model.layout.length, model.spec.values
    if recipe.steps is not None and recipe.steps > length:
        raise ReplayError(f"the recipe takes {recipe.steps} steps, but the model's run has {length}")
    steps = length if recipe.steps is None else recipe.steps
    outside = sorted(t for t in recipe.forced if not 0 <= t < steps)
    if outside:
        raise ReplayError(f"the recipe forces a value at step {outside[0]}, outside the run's steps 0..{steps - 1}")
    try:
        if recipe.prefix is not None:
            validate.check_values(space, recipe.prefix, "its kept prefix's values")
        for t, v in sorted(recipe.forced.items()):
            validate.check_values(space, v, f"its value forced at step {t}")
        if recipe.cond is not None:
            if not model.spec.cond:
                raise ValueError("it records a condition, but the model is unconditional")
            classes = model.spec.cond.get("classes")
            if classes:  # other conditions (arrays) are the modality's to check
                if not isinstance(recipe.cond, list) or len(recipe.cond) not in (1, recipe.batch):
                    raise ValueError(f"its condition must be a list of {recipe.batch} class labels")
                validate.check_values(ValueSpace("categorical", max(2, int(classes))), recipe.cond,
                                      "its class labels")
    except ValueError as e:
        raise ReplayError(f"the recipe does not fit the model: {e}") from None


# ---- finding the checkpoint ------------------------------------------------------------------
def find_checkpoint(recipe: Recipe, explicit: str | os.PathLike | None = None,
                    extra: list[Path] | None = None) -> Path:
    """The checkpoint file whose sha256 the recipe names: ``explicit`` (checked), else searched.

    The search looks at files named like the recipe's checkpoint first, then every checkpoint in
    the shipped and user folders (and ``extra`` paths). CheckpointError says what was searched.
    """
    from arstudio.core import catalog

    if explicit is not None:
        p = catalog.resolve(explicit)
        got = file_hash(p)
        if got != recipe.checkpoint_sha256:
            raise CheckpointError(f"{p}: is not the checkpoint the export was made with (its sha256 is {got[:12]}…, "
                                  f"the export's is {recipe.short_hash}…)")
        return p
    candidates: list[Path] = list(extra or [])
    dirs = catalog.search_dirs()
    for d in dirs:
        if d.is_dir():
            named = d / f"{recipe.checkpoint}.safetensors"
            rest = sorted(d.glob("*.safetensors"))
            candidates += ([named] if named.exists() else []) + [q for q in rest if q != named]
    seen: set[Path] = set()
    for p in candidates:
        if p in seen or not p.is_file():
            continue
        seen.add(p)
        if file_hash(p) == recipe.checkpoint_sha256:
            return p
    name = f" ({recipe.checkpoint})" if recipe.checkpoint else ""
    raise CheckpointError(f"the checkpoint the export was made with{name}, sha256 {recipe.short_hash}…, is not among "
                          f"the {len(seen)} checkpoints in {' and '.join(str(d) for d in dirs)}; pass it with "
                          "--checkpoint PATH")


# ---- reading a file's recipe -----------------------------------------------------------------
def read_recipe(path: str | os.PathLike) -> Recipe:
    """The recipe recorded in an exported file; ReplayError (one line) when there is none or it is broken."""
    p = Path(path)
    try:
        check_regular(p, "file")
        modality, fmt = modality_for_suffix(p)
    except ValueError as e:
        raise ReplayError(str(e)) from None
    assert fmt.read_recipe is not None
    return Recipe.from_text(fmt.read_recipe(p), source=str(p), modality=modality.name)
