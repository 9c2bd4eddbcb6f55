"""Playing a run's audio: the studio's one sound player (``arstudio.qt.views.playback``), worded for audio."""

from __future__ import annotations

from PySide6.QtCore import QObject

from arstudio.qt.views.playback import PlaybackError, Player as _Player, load_sounddevice

__all__ = ["PlaybackError", "Player", "load_sounddevice"]


def Player(parent: QObject | None = None) -> _Player:  # noqa: N802 (reads as the class it makes)
    """A player whose messages say what still works without sound (export WAV)."""
    return _Player(parent, still_works="export WAV still works", nothing_yet="generate some audio first")
