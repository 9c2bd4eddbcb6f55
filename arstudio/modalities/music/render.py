"""Events to sound: fluidsynth with a General MIDI soundfont when installed, else a small additive synthesizer.

``render_audio(events_or_midi, rate)`` gives float32 mono in [-1, 1], peak-normalised to ``PEAK``
(fluidsynth's output is quiet, peaks near 0.06), with a second of silence after the last note
for the release. fluidsynth renders a temporary MIDI file of the events
(``fluidsynth -ni -q -F out.wav -r RATE SOUNDFONT in.mid``); the soundfont is ``ARSTUDIO_SOUNDFONT``,
else the first of ``SOUNDFONTS`` that exists. Without fluidsynth or a soundfont (or when it
fails) the built-in synthesizer plays each note as four harmonics under a piano-like envelope
(5 ms attack, exponential decay, 80 ms release). ``renderer()`` says which one is used.

``wav_bytes`` makes a 16-bit PCM WAV with the standard library's ``wave`` module (no dependency,
and the same bytes on every machine for the same samples).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from arstudio.modalities.music.events import GAP_EVENT, Note, events_to_notes
from arstudio.modalities.music.midi import midi_bytes, midi_to_events

SOUNDFONTS = ("/usr/share/sounds/sf2/TimGM6mb.sf2", "/usr/share/sounds/sf2/FluidR3_GM.sf2",
              "/usr/share/sounds/sf2/default-GM.sf2")
RATE = 44100
PEAK = 0.9
MAX_SECONDS = 1800.0  # notes starting later are not rendered (30 minutes)
HARMONICS = (1.0, 0.5, 0.25, 0.125)


def soundfont() -> Path | None:
    """The General MIDI soundfont fluidsynth renders with, or None when there is none."""
    env = os.environ.get("ARSTUDIO_SOUNDFONT")
    for p in ([env] if env else []) + list(SOUNDFONTS):
        if p and Path(p).is_file():
            return Path(p)
    return None


def renderer() -> str:
    """Which renderer ``render_audio`` uses here, in words."""
    sf = soundfont()
    if shutil.which("fluidsynth") and sf is not None:
        return f"fluidsynth ({sf.name})"
    return "the built-in additive synthesizer (install fluidsynth and a GM soundfont for piano sound)"


def render_audio(events_or_midi: Iterable[int] | str | os.PathLike, rate: int = RATE,
                 synth: str | None = None) -> np.ndarray:
    """Events (ids) or a MIDI file rendered as float32 mono [T] at ``rate``, peak ``PEAK`` (see the module docstring).

    ``synth``: "fluidsynth" or "builtin" to choose (default: fluidsynth when installed).
    """
    if isinstance(events_or_midi, (str, os.PathLike)):
        events = midi_to_events(events_or_midi)
    else:
        events = [int(e) for e in events_or_midi]
    notes = [n for n in events_to_notes(events) if n.start < MAX_SECONDS]
    if not notes:
        return np.zeros(int(rate), dtype=np.float32)
    use = synth or ("fluidsynth" if shutil.which("fluidsynth") and soundfont() is not None else "builtin")
    audio = None
    if use == "fluidsynth":
        audio = fluidsynth(events, rate)
    if audio is None:
        audio = synthesize(notes, rate)
    return normalise(audio)


def normalise(audio: np.ndarray, peak: float = PEAK) -> np.ndarray:
    """Scale to the given peak (silence stays silence), float32."""
    a = np.nan_to_num(np.asarray(audio, dtype=np.float64))
    top = float(np.abs(a).max()) if a.size else 0.0
    return (a * (peak / top) if top > 0 else a).astype(np.float32)


def fluidsynth(events: list[int], rate: int) -> np.ndarray | None:
    """fluidsynth's rendering of the events (mono float), or None when it is not installed or fails."""
    exe, sf = shutil.which("fluidsynth"), soundfont()
    if exe is None or sf is None:
        return None
    with tempfile.TemporaryDirectory(prefix="arstudio-render-") as tmp:
        mid, out = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        mid.write_bytes(midi_bytes([*events, GAP_EVENT]))  # a second more for the release
        cmd = [exe, "-ni", "-q", "-F", str(out), "-r", str(int(rate)), "-O", "s16", "-T", "wav", str(sf), str(mid)]
        try:
            subprocess.run(cmd, capture_output=True, timeout=600, check=True)
            return read_wav(out, rate)
        except (OSError, subprocess.SubprocessError, ValueError, EOFError, wave.Error):
            return None


def read_wav(path: Path, rate: int) -> np.ndarray:
    """A 16-bit PCM WAV as mono float; ValueError when its rate is not ``rate``."""
    with wave.open(str(path), "rb") as w:
        if w.getframerate() != rate or w.getsampwidth() != 2:
            raise ValueError(f"fluidsynth wrote {w.getframerate()} Hz, {8 * w.getsampwidth()}-bit audio")
        channels = w.getnchannels()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    return pcm.reshape(-1, channels).mean(axis=1) if channels > 1 else pcm


def synthesize(notes: list[Note], rate: int, tail: float = 1.0) -> np.ndarray:
    """The built-in synthesizer: each note four harmonics under a decaying envelope (float, not normalised)."""
    end = max(n.end for n in notes) + tail
    out = np.zeros(int(np.ceil(end * rate)) + 1, dtype=np.float64)
    release = 0.08
    for n in notes:
        f = 440.0 * 2.0 ** ((n.pitch - 69) / 12.0)
        dur = max(n.end - n.start, 0.01)
        k = int((dur + release) * rate)
        t = np.arange(k) / rate
        tone = sum(a * np.sin(2 * np.pi * f * h * t) for h, a in enumerate(HARMONICS, 1) if f * h < rate / 2)
        env = np.minimum(t / 0.005, 1.0) * np.exp(-t * (1.5 + f / 600.0))
        env *= np.clip((dur + release - t) / release, 0.0, 1.0)  # the release after the note ends
        s = int(n.start * rate)
        seg = out[s:s + k]
        seg += (n.velocity / 127.0) * (tone * env)[:len(seg)]
    return out


def wav_bytes(audio: np.ndarray, rate: int) -> bytes:
    """Float audio in [-1, 1] as a whole mono 16-bit PCM WAV file."""
    pcm = np.clip(np.round(np.nan_to_num(np.asarray(audio, dtype=np.float64)) * 32767.0), -32768, 32767)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(pcm.astype("<i2").tobytes())
    return buf.getvalue()


def write_wav(path: str | os.PathLike, events: Iterable[int], rate: int = RATE) -> Path:
    """Render the events and write them as a WAV, atomically (ExportError when the path cannot be written)."""
    from arstudio.io.atomic import atomic_write

    blob = wav_bytes(render_audio(events, rate), rate)
    return atomic_write(path, lambda f: f.write(blob))
