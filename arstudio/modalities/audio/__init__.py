"""The audio modality: 8-bit mu-law samples at 16 kHz in time order, exported as WAV with the recipe inside.

What is here, all GUI-free: mu-law coding (``mulaw``), log-mel spectrograms and Griffin-Lim in
torch (``mel``), the conditioning format a WaveNet reads (``condition``), audio files in and out
(``files``), the data sets speech16k and tones16k (``data``, ``speech``, ``tones``) and the
halves of ``arstudio sample`` / ``eval`` (``cli``). The panel is ``arstudio.qt.modalities.audio``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from arstudio.core.modality import FileFormat, Modality
from arstudio.core.spec import ModelSpec
from arstudio.modalities.audio.cli import PRIMER_SECONDS, add_cli_args, eval_audio, sample_audio
from arstudio.modalities.audio.files import read_wav_recipe, write_samples


def import_audio(path: Path, spec: ModelSpec) -> np.ndarray:
    """A person's audio file as mu-law codes [T] at the model's rate: its first ``PRIMER_SECONDS`` (a primer)."""
    from arstudio.modalities.audio.files import read_codes

    rate = int(spec.config.get("sample_rate", 16000))
    seconds = min(PRIMER_SECONDS, spec.layout.length / rate)
    return read_codes(path, rate, max_seconds=seconds, truncate=True)


def set_level_labels(path: Path, model: Any) -> None:
    """After loading: the distribution view names each mu-law code by its amplitude ("+0.0312")."""
    from arstudio.modalities.audio.mulaw import level_labels

    labels = level_labels(model.spec.values.n)
    if hasattr(model, "set_labels"):
        model.set_labels(labels)
    else:
        model.spec = replace(model.spec, values=replace(model.spec.values, labels=labels))


MODALITY = Modality(
    name="audio",
    title="Audio",
    step_unit="sample",
    example_unit="clip",
    formats=(FileFormat((".wav",), "WAV audio", write_samples, read_wav_recipe),),
    conditioning=("voice", "mel", "primer"),
    add_cli_args=add_cli_args,
    sample_cli=sample_audio,
    eval_cli=eval_audio,
    import_file=import_audio,
    on_load=set_level_labels,
    panel="arstudio.qt.modalities.audio.panel:AudioPanel",
)
