"""The studio's side of replayable exports: the recipe of the current run, and replaying a file step by step.

What a recipe is and how it regenerates a file lives in ``arstudio.core.replay`` (shared with the
command line's ``sample`` and ``replay``); this module only maps a run of the studio to a recipe
and a recipe back to a (paused) run of the studio.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

import arstudio
from arstudio.core.modality import plural
from arstudio.core.replay import Recipe, find_checkpoint, read_recipe, recipe_for_run
from arstudio.engine.messages import Condition, ModelInfo
from arstudio.engine.record import RunRecord
from arstudio.qt.sampler.session import RunSession, RunSettings


def recipe_cond(cond: np.ndarray) -> list:
    """A run's condition [B, ...] as JSON-able lists: class labels as ints, a float condition (a mel) as floats.

    float32 values are written in their shortest form that reads back as the same float32, so a
    replay conditions on exactly what the run did.
    """
    a = np.asarray(cond)
    if not np.issubdtype(a.dtype, np.floating):
        return a.astype(int).tolist()
    if a.dtype == np.float32:
        short = [float(str(v)) for v in a.reshape(-1)]  # str of a numpy float32: its shortest exact form
        return np.asarray(short, dtype=np.float64).reshape(a.shape).tolist()
    return a.astype(np.float64).tolist()


def export_recipe(model: ModelInfo, record: RunRecord, shown: int = 0) -> Recipe:
    """The recipe of ``record``'s run: what made it (not what the controls show now); ``shown``: the sample
    a one-sample format (WAV, MIDI) writes."""
    req = record.info.request
    if hasattr(req, "resolved"):  # kept places of a completion become a prefix and forced steps
        req = req.resolved(record.order)
    cond = getattr(req, "cond", None)
    steps = None if record.filled >= record.length else record.filled
    return recipe_for_run(model.path, kind=model.meta.kind, modality=model.spec.layout.modality, seed=req.seed,
                          batch=req.batch, policy=req.policy, ordering=req.ordering, steps=steps,
                          prefix=req.prefix, forced=req.forced,
                          cond=None if cond is None else recipe_cond(cond),
                          software=f"arstudio {arstudio.__version__}", shown=min(max(shown, 0), req.batch - 1))


@dataclass(frozen=True)
class PendingReplay:
    """A replay waiting for its checkpoint to load."""

    file: Path
    checkpoint: Path
    recipe: Recipe


class ReplayOpener(QObject):
    """Opens an exported file in the studio: loads its checkpoint, sets its settings, starts a paused run.

    The run then steps (Right) or plays (Space) through exactly what made the file: the same seed,
    policy, ordering, kept prefix and forced values.
    """

    replay_ready = Signal(str)  # a one-line description of what is ready to step through
    replay_failed = Signal(str)  # a one-line reason
    sample_chosen = Signal(int)  # the sample the file holds (a WAV, a MIDI file): the panel shows it

    def __init__(self, session: RunSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.pending: PendingReplay | None = None
        session.checkpoint_loaded.connect(self._on_loaded)
        session.checkpoint_failed.connect(lambda _msg: setattr(self, "pending", None))

    def open(self, file: str | Path, extra: list[Path] | None = None) -> bool:
        """Read ``file``'s recipe and load its checkpoint; False (and ``replay_failed``) when it cannot."""
        try:
            recipe = read_recipe(file)
            path = find_checkpoint(recipe, extra=extra)
        except Exception as e:  # ReplayError, CheckpointError, ExportError: one line, never a crash
            self.replay_failed.emit(str(e) or type(e).__name__)
            return False
        self.pending = PendingReplay(Path(file), path, recipe)
        self.session.load(path)
        return True

    def _on_loaded(self, info: ModelInfo) -> None:
        pending, self.pending = self.pending, None
        if pending is None:
            return
        r = pending.recipe
        if r.ordering >= info.num_orderings:
            self.replay_failed.emit(f"{pending.file}: follows ordering {r.ordering}, but {info.name} has "
                                    f"{info.num_orderings}")
            return
        if info.spec.cond:  # the recorded condition of each sample, exactly (none: unconditioned runs)
            self.session.set_condition(None if r.cond is None else Condition(np.asarray(r.cond)))
        elif r.cond is not None:
            self.replay_failed.emit(f"{pending.file}: was made with a condition, but {info.name} takes none")
            return
        self.session.set_settings(RunSettings(r.batch, r.seed, r.policy, r.ordering))
        prefix = None if r.prefix is None else np.asarray(r.prefix, dtype=np.float64)
        forced = {t: np.asarray(v, dtype=np.float64) for t, v in r.forced.items()}
        self.session.start(paused=True, prefix=prefix, forced=forced, steps=r.steps)
        # once every slot of checkpoint_loaded has run (the window sets up the model's panel after this one)
        QTimer.singleShot(0, lambda shown=r.shown: self.sample_chosen.emit(shown))
        took = "all steps" if r.steps is None else f"{r.steps} steps"
        samples = plural(r.batch, "sample")
        self.replay_ready.emit(f"Replaying {pending.file.name}: {info.name}, seed {r.seed}, {samples}, "
                               f"{took}. Press Right to step, Space to play.")
