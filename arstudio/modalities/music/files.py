"""Music files: runs exported as MIDI (with the replay recipe) or rendered WAV; a person's MIDI as a primer."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from arstudio.core.modality import RunDetail
from arstudio.core.spec import ModelSpec
from arstudio.modalities.music.events import event_labels
from arstudio.modalities.music.midi import MidiError, events_to_midi, midi_to_events, read_midi_recipe


def taken(x: np.ndarray, sample: int = 0) -> list[int]:
    """Sample ``sample`` of a run [B, D] (NaN where not written) up to its first unwritten step, as event ids."""
    row = np.asarray(x, dtype=np.float64).reshape(len(x), -1)[sample]
    nan = np.flatnonzero(np.isnan(row))
    row = row[: nan[0]] if len(nan) else row
    return [int(v) for v in row]


def _events_or_fail(path: Path, x: np.ndarray, text: dict[str, str]) -> list[int]:
    """The events of the sample the recipe ``text`` names (the one the studio showed), else of the first."""
    from arstudio.core.replay import shown_sample

    events = taken(x, shown_sample(text, len(x)))
    if not events:
        from arstudio.io.errors import ExportError

        raise ExportError(f"{path}: nothing has been generated yet, so there is no music to write")
    return events


def write_midi_samples(path: Path, spec: ModelSpec, x: np.ndarray, text: dict[str, str],
                       detail: RunDetail | None) -> Path:
    """One sample of ``x`` (event ids, up to the steps taken; see ``_events_or_fail``) as a type-1 MIDI file with
    its recipe."""
    return events_to_midi(_events_or_fail(path, x, text), path, text)


def write_wav_samples(path: Path, spec: ModelSpec, x: np.ndarray, text: dict[str, str],
                      detail: RunDetail | None) -> Path:
    """One sample of ``x`` (see ``_events_or_fail``) rendered to sound (fluidsynth or the built-in synthesizer), as
    a 16-bit WAV."""
    from arstudio.io.atomic import check_writable
    from arstudio.modalities.music.render import write_wav

    events = _events_or_fail(path, x, text)
    check_writable(path)  # before rendering
    return write_wav(path, events)


def read_midi_recipe_fields(path: Path) -> dict[str, str]:
    """The replay recipe a MIDI export records ({} when none); ReplayError when the file is not MIDI."""
    from arstudio.core.replay import ReplayError

    try:
        return read_midi_recipe(path)
    except MidiError as e:
        raise ReplayError(str(e)) from None


def import_midi(path: Path, spec: ModelSpec) -> np.ndarray:
    """A person's MIDI file as event ids [T], its first ``spec.layout.length`` at most: a primer.

    ValueError (one line) when it is not MIDI, has only drums, or no notes.
    """
    return np.asarray(midi_to_events(path, max_events=int(spec.layout.length)), dtype=np.int64)


def set_event_labels(path: Path, model: Any) -> None:
    """After loading: the distribution view names the 388 events ("ON C4", "SHIFT 120 ms", "VEL 82")."""
    labels = event_labels()[: model.spec.values.n]
    if hasattr(model, "set_labels"):
        model.set_labels(labels)
    else:
        model.spec = replace(model.spec, values=replace(model.spec.values, labels=labels))
