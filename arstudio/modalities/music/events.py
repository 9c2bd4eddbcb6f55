"""Performance events (Oore et al. 2018; Huang et al. 2018): 388 ids for notes, time and loudness.

===========  ==========  ==============================================================
ids          type        meaning
===========  ==========  ==============================================================
0 .. 127     ``on``      NOTE_ON of MIDI pitch id (60 = C4)
128 .. 255   ``off``     NOTE_OFF of MIDI pitch id - 128
256 .. 355   ``shift``   TIME_SHIFT of (id - 255) * 10 ms: 10 ms .. 1 s
356 .. 387   ``velocity``  VELOCITY bin b = id - 356: MIDI velocity b * 4 + 2 (clipped to 1..127)
===========  ==========  ==============================================================

A note is ``Note(start_s, end_s, pitch, velocity)``. ``notes_to_events`` quantizes times to 10 ms
steps (a note lasts at least one step), writes a gap longer than 1 s as several shifts, writes a
velocity event only when the velocity bin changes (always before the first note-on), and at one
time writes every note-off (by pitch) before any note-on (by pitch). ``events_to_notes`` is its
inverse up to that quantization: a note-on of a sounding pitch ends the sounding note first, a
note-off of a silent pitch is ignored, a note still sounding at the end ends with the last event
(one step after its start at the least), and a note-on before any velocity event plays at
``DEFAULT_VELOCITY``.

MIDI files are read and written in ``arstudio.modalities.music.midi``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np

N_PITCHES = 128
N_SHIFTS = 100
N_VELOCITY_BINS = 32
VOCAB = 2 * N_PITCHES + N_SHIFTS + N_VELOCITY_BINS  # 388
ON, OFF, SHIFT, VELOCITY = 0, N_PITCHES, 2 * N_PITCHES, 2 * N_PITCHES + N_SHIFTS  # first id of each type
EVENT_RANGES: dict[str, range] = {"on": range(ON, OFF), "off": range(OFF, SHIFT), "shift": range(SHIFT, VELOCITY),
                                  "velocity": range(VELOCITY, VOCAB)}
GAP_EVENT = VELOCITY - 1  # the longest time shift, 1 s: the silence between two pieces of a data stream
STEP_S = 0.01  # one time step: 10 ms
STEPS_PER_SECOND = 100
DEFAULT_VELOCITY = 80  # a note-on before any velocity event; scores without dynamics


_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


class Note(NamedTuple):
    """One note: start and end in seconds, MIDI pitch 0..127, MIDI velocity 1..127."""

    start: float
    end: float
    pitch: int
    velocity: int


# ---- ids and labels --------------------------------------------------------------------------------

def note_name(pitch: int) -> str:
    """Scientific pitch name of a MIDI pitch: 60 -> "C4", 61 -> "C#4", 0 -> "C-1"."""
    return f"{_NAMES[pitch % 12]}{pitch // 12 - 1}"


def velocity_bin(velocity: int) -> int:
    """The bin 0..31 of a MIDI velocity 0..127 (4 velocities a bin)."""
    return min(max(int(velocity), 0), 127) // 4


def bin_velocity(b: int) -> int:
    """The MIDI velocity bin ``b`` stands for: b * 4 + 2, clipped to 1..127."""
    return min(max(int(b) * 4 + 2, 1), 127)


def note_on(pitch: int) -> int:
    """The id of NOTE_ON ``pitch``."""
    return ON + _pitch(pitch)


def note_off(pitch: int) -> int:
    """The id of NOTE_OFF ``pitch``."""
    return OFF + _pitch(pitch)


def time_shift(steps: int) -> int:
    """The id of a TIME_SHIFT of ``steps`` 10 ms steps (1..100)."""
    if not 1 <= steps <= N_SHIFTS:
        raise ValueError(f"a time shift is 1 to {N_SHIFTS} steps of 10 ms, got {steps}")
    return SHIFT + steps - 1


def velocity_event(velocity: int) -> int:
    """The id of the VELOCITY event of a MIDI velocity 0..127."""
    return VELOCITY + velocity_bin(velocity)


def _pitch(pitch: int) -> int:
    if not 0 <= pitch < N_PITCHES:
        raise ValueError(f"MIDI pitches are 0..127, got {pitch}")
    return int(pitch)


def _check_id(i: int) -> int:
    i = int(i)
    if not 0 <= i < VOCAB:
        raise ValueError(f"event ids are 0..{VOCAB - 1}, got {i}")
    return i


def event_type(i: int) -> str:
    """The type of event id ``i``: "on", "off", "shift" or "velocity"."""
    i = _check_id(i)
    if i < OFF:
        return "on"
    if i < SHIFT:
        return "off"
    if i < VELOCITY:
        return "shift"
    return "velocity"


def event_value(i: int) -> int:
    """What event ``i`` carries: its pitch, its shift in 10 ms steps, or its velocity bin."""
    i = _check_id(i)
    return i - EVENT_RANGES[event_type(i)].start + (1 if SHIFT <= i < VELOCITY else 0)


def event_label(i: int) -> str:
    """A readable label: "ON C4", "OFF C4", "SHIFT 120 ms", "VEL 82"."""
    kind, v = event_type(i), event_value(i)
    if kind == "on":
        return f"ON {note_name(v)}"
    if kind == "off":
        return f"OFF {note_name(v)}"
    if kind == "shift":
        return f"SHIFT {v * 10} ms"
    return f"VEL {bin_velocity(v)}"


def event_labels() -> tuple[str, ...]:
    """The labels of all 388 ids, in id order."""
    return tuple(event_label(i) for i in range(VOCAB))


def event_types() -> np.ndarray:
    """The type of every id as an int array [388]: 0 on, 1 off, 2 shift, 3 velocity (grouping for plots)."""
    return np.repeat(np.arange(4), [N_PITCHES, N_PITCHES, N_SHIFTS, N_VELOCITY_BINS])


# ---- notes <-> events ------------------------------------------------------------------------------

def _step(t: float) -> int:
    """Seconds to 10 ms steps, rounding half up (the one quantization of times)."""
    return int(math.floor(float(t) * STEPS_PER_SECOND + 0.5 + 1e-9))


def quantized(notes: Iterable[Note | Sequence[float]]) -> list[tuple[int, int, int, int]]:
    """Notes as (start_step, end_step, pitch, velocity), the way ``notes_to_events`` writes them.

    Times are quantized to 10 ms (a note lasts at least one step); two notes of one pitch at one
    start become one (the longer, the louder); a note struck again while sounding ends there.
    Sorted by start, then pitch.
    """
    by_pitch: dict[int, list[tuple[int, int, int]]] = {}
    for n in notes:
        start, end, pitch, vel = float(n[0]), float(n[1]), int(n[2]), int(n[3])
        if not (math.isfinite(start) and math.isfinite(end)):
            raise ValueError(f"a note's times must be finite, got {start}, {end}")
        s = max(_step(start), 0)
        e = max(_step(end), s + 1)
        by_pitch.setdefault(_pitch(pitch), []).append((s, e, min(max(vel, 1), 127)))
    out: list[tuple[int, int, int, int]] = []
    for pitch, items in by_pitch.items():
        items.sort(key=lambda it: (it[0], -it[1], -it[2]))
        kept: list[list[int]] = []
        for s, e, v in items:
            if kept and kept[-1][0] == s:  # the same pitch struck twice at once: one note
                continue
            if kept and kept[-1][1] > s:  # struck again while sounding: the first ends here
                kept[-1][1] = s
            kept.append([s, e, v])
        out += [(s, e, pitch, v) for s, e, v in kept]
    out.sort(key=lambda q: (q[0], q[2]))
    return out


def notes_to_events(notes: Iterable[Note | Sequence[float]]) -> list[int]:
    """Notes (start_s, end_s, pitch, velocity) as performance event ids (see the module docstring)."""
    q = quantized(notes)
    timeline = sorted([(e, 0, p, 0) for s, e, p, v in q] + [(s, 1, p, v) for s, e, p, v in q])  # offs first
    out: list[int] = []
    now, vbin = 0, -1
    for t, kind, pitch, vel in timeline:
        gap = t - now
        while gap > 0:
            k = min(gap, N_SHIFTS)
            out.append(SHIFT + k - 1)
            gap -= k
        now = t
        if kind == 0:
            out.append(OFF + pitch)
        else:
            b = velocity_bin(vel)
            if b != vbin:
                out.append(VELOCITY + b)
                vbin = b
            out.append(ON + pitch)
    return out


def events_to_notes(events: Iterable[int]) -> list[Note]:
    """Event ids as notes, sorted by start then pitch (see the module docstring for the rules)."""
    now, vel = 0, bin_velocity(velocity_bin(DEFAULT_VELOCITY))
    sounding: dict[int, tuple[int, int]] = {}  # pitch -> (start step, velocity)
    done: list[tuple[int, int, int, int]] = []
    for raw in events:
        i = _check_id(raw)
        if i < OFF:
            if i in sounding:
                s, v = sounding.pop(i)
                if now > s:
                    done.append((s, now, i, v))
            sounding[i] = (now, vel)
        elif i < SHIFT:
            p = i - OFF
            if p in sounding:
                s, v = sounding.pop(p)
                if now > s:  # a note-off at its own note-on's time: a note of no length, not kept
                    done.append((s, now, p, v))
        elif i < VELOCITY:
            now += i - SHIFT + 1
        else:
            vel = bin_velocity(i - VELOCITY)
    for p, (s, v) in sounding.items():
        done.append((s, max(now, s + 1), p, v))
    done.sort(key=lambda d: (d[0], d[2]))
    return [Note(s * STEP_S, e * STEP_S, p, v) for s, e, p, v in done]


def events_seconds(events: Iterable[int]) -> float:
    """How long the events last: the sum of their time shifts, in seconds."""
    a = np.asarray(list(events), dtype=np.int64)
    shifts = a[(a >= SHIFT) & (a < VELOCITY)]
    return float((shifts - SHIFT + 1).sum()) * STEP_S
