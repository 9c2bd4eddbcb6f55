"""Hearing a run: its events rendered to audio (the modality's synthesizer) and played through sounddevice.

Rendering runs in the panel's job thread (fluidsynth with a General MIDI soundfont takes a moment;
``arstudio.modalities.music`` falls back to a simple synthesizer without one). ``sounddevice`` is
imported on the first Play, not with the panel: without the PortAudio library its import raises
OSError, and the studio must open anyway; with PortAudio but no output device, ``play`` raises
``PortAudioError``. Either becomes a ``PlaybackError`` with one line for the person, and everything
else (the roll, export of MIDI and WAV) keeps working. A timer moves the roll's playhead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject

from arstudio.qt.views.playback import PlaybackError, Player as _Player, load_sounddevice

__all__ = ["PlaybackError", "Player", "Rendered", "load_sounddevice", "render"]

RATE = 22050  # the rate the events are rendered at


@dataclass(frozen=True)
class Rendered:
    """A run's events as audio: mono float32 samples at ``rate``, and how they were made."""

    audio: np.ndarray
    rate: int
    how: str  # "fluidsynth (TimGM6mb.sf2)", or the built-in synthesizer
    events: int  # how many events went in


def render(events: np.ndarray, rate: int | None = None) -> Rendered:
    """Render ``events`` with the music modality's synthesizer (job thread); ValueError when there is nothing to hear."""
    from arstudio.modalities.music.events import events_to_notes
    from arstudio.modalities.music.render import render_audio, renderer

    rate = int(rate or RATE)
    ev = np.asarray(events, dtype=np.int64).tolist()
    if len(ev) == 0:
        raise ValueError("nothing to play yet: generate some events first")
    if not events_to_notes(ev):
        raise ValueError(f"the {len(ev)} events so far hold no note to play (no note-on followed by time)")
    audio = np.asarray(render_audio(ev, rate), dtype=np.float32).reshape(-1)
    return Rendered(audio, int(rate), renderer(), len(ev))


def Player(parent: QObject | None = None) -> _Player:  # noqa: N802 (reads as the class it makes)
    """The studio's one sound player, its messages saying what still works without sound."""
    return _Player(parent, still_works="export MIDI or WAV still works", nothing_yet="generate some events first")
