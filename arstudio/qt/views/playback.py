"""Playing a clip through sounddevice (PortAudio), and saying plainly when there is no way to.

One player for every panel that makes sound (audio's samples, music's rendered events).

``sounddevice`` is imported on the first Play, not with the panel: without the PortAudio library
its import raises OSError, and the studio must open anyway. With PortAudio but no output device,
``play`` raises ``PortAudioError``. Both become a ``PlaybackError`` with one line for the person;
everything else in the panel keeps working. ``sd.play`` returns at once (PortAudio plays from its
own thread); a timer moves the playhead and says when the sound has ended.
"""

from __future__ import annotations

import time
from types import ModuleType

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

TICK_MS = 30  # how often the playhead moves


class PlaybackError(RuntimeError):
    """Sound cannot be played here (no PortAudio, no output device); the message says which."""


def load_sounddevice(still_works: str = "exports still work") -> ModuleType:
    """The ``sounddevice`` module; PlaybackError when it cannot be loaded (no PortAudio library)."""
    try:
        import sounddevice
    except OSError as e:  # PortAudio library not found
        raise PlaybackError(f"cannot play sound: the PortAudio library is missing ({e}); "
                            f"install it (e.g. apt-get install libportaudio2) — {still_works}") from None
    except ImportError as e:
        raise PlaybackError(f"cannot play sound: the sounddevice package is not installed ({e}); "
                            f"{still_works}") from None
    return sounddevice


class Player(QObject):
    """Plays one float32 clip at a time; ``position_changed`` follows it, ``stopped`` says it ended.

    ``still_works`` ends the messages for no PortAudio / no device: what the person can do instead.
    """

    started = Signal()
    position_changed = Signal(float)  # seconds into the clip
    stopped = Signal()

    def __init__(self, parent: QObject | None = None, still_works: str = "exports still work",
                 nothing_yet: str = "generate something first") -> None:
        super().__init__(parent)
        self.still_works, self.nothing_yet = still_works, nothing_yet
        self._sd: ModuleType | None = None
        self._t0 = 0.0
        self._duration = 0.0
        self.offset = 0.0  # seconds of the run where the clip starts
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)

    @property
    def playing(self) -> bool:
        """True while a clip plays."""
        return self.timer.isActive()

    def play(self, audio: np.ndarray, rate: int, offset: float = 0.0) -> float:
        """Start playing ``audio`` (mono, [-1, 1]) at ``rate``; returns its duration in seconds.

        Raises PlaybackError (one line) when there is no PortAudio or no output device.
        """
        clip = np.ascontiguousarray(np.clip(np.nan_to_num(np.asarray(audio, dtype=np.float32)), -1.0, 1.0))
        if clip.size == 0:
            raise PlaybackError(f"nothing to play yet: {self.nothing_yet}")
        sd = self._sd or load_sounddevice(self.still_works)
        self._sd = sd
        self.stop()
        try:
            sd.play(clip, int(rate))
        except sd.PortAudioError as e:
            raise PlaybackError(f"cannot play sound: no audio output device ({e}); {self.still_works}") from None
        except Exception as e:  # a device that refuses the rate or format: still one line, never a crash
            raise PlaybackError(f"cannot play sound: {type(e).__name__}: {e}") from None
        self._t0, self._duration, self.offset = time.monotonic(), clip.size / float(rate), float(offset)
        self.timer.start()
        self.started.emit()
        self.position_changed.emit(self.offset)
        return self._duration

    def stop(self) -> None:
        """Stop playing (nothing happens when nothing plays)."""
        if not self.timer.isActive():
            return
        self.timer.stop()
        if self._sd is not None:
            try:
                self._sd.stop()
            except Exception:  # the stream is gone already (device lost): stopping has nothing left to do
                pass
        self.stopped.emit()

    def _tick(self) -> None:
        elapsed = time.monotonic() - self._t0
        if elapsed >= self._duration:
            self.stop()
            return
        self.position_changed.emit(self.offset + elapsed)
