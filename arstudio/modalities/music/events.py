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

MIDI files are read and written with mido. Reading (``midi_to_notes`` / ``midi_to_events``) merges
every track and channel onto one piano, drops channel 10 (General MIDI drums), follows tempo
changes, and by default holds notes while the sustain pedal (controller 64) is down, as Oore et
al. do: a note-off under the pedal ends the note when the pedal is lifted, or when the same pitch
is struck again. Writing (``events_to_midi``) makes a type-1 (or type-0) file at 120 bpm and 500
ticks per beat, so that one tick is exactly 1 ms, and stores the replay recipe in a
sequencer-specific meta event (manufacturer id 0x7D, "for non-commercial use") that players
ignore and ``read_midi_recipe`` reads back. The bytes depend on the events and the recipe alone.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    import mido

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
DRUM_CHANNEL = 9  # channel 10, counting from 1

MIDI_TICKS_PER_BEAT = 500
MIDI_TEMPO = 500_000  # microseconds per beat: 120 bpm, so a tick is 1 ms
RECIPE_MANUFACTURER = 0x7D  # the MIDI manufacturer id for non-commercial and educational use
RECIPE_TAG = b"arstudio-recipe/1\n"
MAX_MIDI_BYTES = 16 << 20  # larger files are refused before they are read (days of piano music fit)

_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


class Note(NamedTuple):
    """One note: start and end in seconds, MIDI pitch 0..127, MIDI velocity 1..127."""

    start: float
    end: float
    pitch: int
    velocity: int


class MidiError(ValueError):
    """A MIDI file that cannot be read or gives no notes; the message is one line naming the path."""


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


# ---- MIDI in ----------------------------------------------------------------------------------------

class MidiNotes(NamedTuple):
    """What a MIDI file holds for the models: its notes, and counts for messages."""

    notes: list[Note]
    drum_notes: int  # notes on channel 10, dropped
    tracks: int
    seconds: float  # the time of the file's last message


def read_midi(path: str | os.PathLike) -> "mido.MidiFile":
    """Parse a MIDI file with mido; MidiError (one line) when it is not a MIDI file or cannot be read."""
    import mido

    from arstudio.core.files import read_bytes

    p = Path(path)
    data = read_bytes(p, "MIDI file", MAX_MIDI_BYTES)  # a regular file of bounded size: never a FIFO or /dev/zero
    if not data:
        raise MidiError(f"{p}: is empty (0 bytes), not a MIDI file")
    if data[:4] != b"MThd" and not (data[:4] == b"RIFF" and data[8:12] == b"RMID"):
        raise MidiError(f"{p}: is not a MIDI file (it does not start with a MIDI header)")
    if data[:4] == b"RIFF":  # RIFF-wrapped MIDI (.rmi): the standard file is the 'data' chunk
        at = data.find(b"MThd")
        data = data[at:] if at >= 0 else data
    try:
        mid = mido.MidiFile(file=io.BytesIO(data), clip=True)
    except Exception as e:  # noqa: BLE001 (a damaged file raises anything from EOFError to KeyError)
        why = " ".join(str(e).split())[:120] or type(e).__name__
        raise MidiError(f"{p}: is not a readable MIDI file ({why})") from None
    if mid.ticks_per_beat <= 0:
        raise MidiError(f"{p}: times its events in SMPTE frames, which is not supported (only ticks per beat)")
    return mid


def midi_to_notes(path: str | os.PathLike, *, sustain: bool = True, max_seconds: float | None = None) -> MidiNotes:
    """The notes of every track and channel of a MIDI file but the drums (channel 10), in seconds.

    Tempo changes are followed; ``sustain`` holds note-offs while the sustain pedal is down.
    ``max_seconds``: notes starting after it are left out (a long file as a primer).
    """
    return notes_of_midi(read_midi(path), sustain=sustain, max_seconds=max_seconds)


def notes_of_midi(mid: "mido.MidiFile", *, sustain: bool = True, max_seconds: float | None = None) -> MidiNotes:
    """``midi_to_notes`` of a parsed file."""
    timeline = []
    for ti, track in enumerate(mid.tracks):
        tick = 0
        for mi, msg in enumerate(track):
            tick += msg.time
            if msg.type in ("note_on", "note_off", "control_change", "set_tempo"):
                timeline.append((tick, ti, mi, msg))
    timeline.sort(key=lambda item: item[:3])
    tpb = mid.ticks_per_beat
    tempo, last_tick, last_s = MIDI_TEMPO, 0, 0.0
    sounding: dict[tuple[int, int], list[tuple[float, int]]] = {}  # (channel, pitch) -> [(start, velocity)]
    held: dict[int, dict[int, list[tuple[float, int]]]] = {}  # channel -> pitch -> notes released under the pedal
    pedal: dict[int, bool] = {}
    notes: list[Note] = []
    drums = 0
    now = 0.0

    def end(start: float, vel: int, pitch: int, at: float) -> None:
        notes.append(Note(start, max(at, start), pitch, vel))

    for tick, _, _, msg in timeline:
        now = last_s + (tick - last_tick) * tempo / (tpb * 1e6)
        last_tick, last_s = tick, now
        if max_seconds is not None and now > max_seconds:
            break
        if msg.type == "set_tempo":
            tempo = msg.tempo if msg.tempo > 0 else tempo
            continue
        ch = msg.channel
        if ch == DRUM_CHANNEL:
            drums += int(msg.type == "note_on" and msg.velocity > 0)
            continue
        if msg.type == "control_change":
            if msg.control == 64 and sustain:
                down = msg.value >= 64
                if pedal.get(ch, False) and not down:
                    for pitch, items in held.pop(ch, {}).items():
                        for s, v in items:
                            end(s, v, pitch, now)
                pedal[ch] = down
            continue
        key = (ch, msg.note)
        if msg.type == "note_on" and msg.velocity > 0:
            for s, v in held.get(ch, {}).pop(msg.note, []):  # struck again: the held note ends
                end(s, v, msg.note, now)
            sounding.setdefault(key, []).append((now, msg.velocity))
        else:  # note_off, or note_on of velocity 0
            starts = sounding.get(key)
            if not starts:
                continue
            s, v = starts.pop(0)
            if pedal.get(ch, False):
                held.setdefault(ch, {}).setdefault(msg.note, []).append((s, v))
            else:
                end(s, v, msg.note, now)
    for (_, pitch), starts in sounding.items():  # never released: they end with the file
        for s, v in starts:
            end(s, v, pitch, now)
    for by_pitch in held.values():
        for pitch, items in by_pitch.items():
            for s, v in items:
                end(s, v, pitch, now)
    notes.sort(key=lambda n: (n.start, n.pitch))
    return MidiNotes(notes, drums, len(mid.tracks), now)


def midi_to_events(path: str | os.PathLike, *, sustain: bool = True, max_events: int | None = None) -> list[int]:
    """The performance events of a MIDI file (``midi_to_notes``, then ``notes_to_events``).

    ``max_events``: at most this many, from the start (hours of music give a primer quickly).
    MidiError (one line) when the file is not MIDI, or has no notes but drums, or no notes at all.
    """
    p = Path(path)
    got = midi_to_notes(p, sustain=sustain)
    if not got.notes:
        if got.drum_notes:
            raise MidiError(f"{p}: has only drum notes (channel 10, {got.drum_notes} of them), which a piano model "
                            "does not play; there is nothing to continue")
        raise MidiError(f"{p}: has no notes ({got.tracks} track{'s' if got.tracks != 1 else ''}, "
                        f"{got.seconds:.1f} s of other MIDI messages)")
    return first_events(got.notes, max_events)


def first_events(notes: list[Note], max_events: int | None) -> list[int]:
    """``notes_to_events(notes)[:max_events]``, encoding only as many notes as that needs.

    The first n events come from notes among the first n by start; notes starting up to a second
    after the n-th are encoded too, so that a later note ending an earlier one is seen.
    """
    if max_events is None or len(notes) <= max_events:
        return notes_to_events(notes)[:max_events]
    notes = sorted(notes, key=lambda n: (n.start, n.pitch))
    cut = notes[max_events - 1].start + 1.0 if max_events > 0 else -1.0
    return notes_to_events([n for n in notes if n.start <= cut])[:max_events]


# ---- MIDI out --------------------------------------------------------------------------------------

def midi_bytes(events: Iterable[int], recipe: dict[str, str] | None = None, midi_type: int = 1,
               program: int = 0) -> bytes:
    """A whole MIDI file of the events (one piano, ``program`` 0: acoustic grand), the recipe stored in it."""
    import mido

    if midi_type not in (0, 1):
        raise ValueError(f"MIDI files are written as type 0 or 1, not {midi_type}")
    events = list(events)
    notes = events_to_notes(events)
    end_ms = max([round(n.end * 1000) for n in notes] + [round(events_seconds(events) * 1000)])
    head = [mido.MetaMessage("set_tempo", tempo=MIDI_TEMPO, time=0),
            mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0)]
    if recipe:
        blob = json.dumps(dict(recipe), ensure_ascii=True, separators=(",", ":")).encode("ascii")
        head.append(mido.MetaMessage("sequencer_specific", data=(RECIPE_MANUFACTURER, *RECIPE_TAG, *blob), time=0))
    timed = []  # (ms, 0 off / 1 on, pitch, velocity)
    for n in notes:
        timed.append((round(n.start * 1000), 1, n.pitch, n.velocity))
        timed.append((round(n.end * 1000), 0, n.pitch, 0))
    timed.sort()
    body = [mido.Message("program_change", channel=0, program=program, time=0)]
    now = 0
    for ms, on, pitch, vel in timed:
        kind = "note_on" if on else "note_off"
        body.append(mido.Message(kind, channel=0, note=pitch, velocity=vel if on else 0, time=ms - now))
        now = ms
    mid = mido.MidiFile(type=midi_type, ticks_per_beat=MIDI_TICKS_PER_BEAT)
    if midi_type == 1:
        mid.tracks.append(mido.MidiTrack([mido.MetaMessage("track_name", name="arstudio", time=0), *head,
                                          mido.MetaMessage("end_of_track", time=end_ms)]))
        mid.tracks.append(mido.MidiTrack([mido.MetaMessage("track_name", name="Piano", time=0), *body,
                                          mido.MetaMessage("end_of_track", time=max(end_ms - now, 0))]))
    else:
        mid.tracks.append(mido.MidiTrack([mido.MetaMessage("track_name", name="arstudio", time=0), *head, *body,
                                          mido.MetaMessage("end_of_track", time=max(end_ms - now, 0))]))
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def events_to_midi(events: Iterable[int], path: str | os.PathLike, recipe: dict[str, str] | None = None,
                   midi_type: int = 1) -> Path:
    """Write the events as a MIDI file, atomically (ExportError on failure), with the replay recipe in it."""
    from arstudio.io.atomic import atomic_write

    blob = midi_bytes(events, recipe, midi_type)
    return atomic_write(path, lambda f: f.write(blob))


def read_midi_recipe(path: str | os.PathLike) -> dict[str, str]:
    """The recipe ``events_to_midi`` stored in a MIDI file ({} when it has none); MidiError when it is not MIDI."""
    mid = read_midi(path)
    for track in mid.tracks:
        for msg in track:
            if msg.type != "sequencer_specific":
                continue
            data = bytes(msg.data)
            head = bytes([RECIPE_MANUFACTURER]) + RECIPE_TAG
            if not data.startswith(head):
                continue
            try:
                doc = json.loads(data[len(head):].decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                raise MidiError(f"{Path(path)}: its replay metadata is broken ({e})") from None
            if not isinstance(doc, dict):
                raise MidiError(f"{Path(path)}: its replay metadata is broken (not a map of fields)")
            return {str(k): v for k, v in doc.items() if isinstance(v, str)}
    return {}
