"""MIDI files in and out of performance events (``arstudio.modalities.music.events``), with mido.

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
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from arstudio.modalities.music.events import Note, events_seconds, events_to_notes, notes_to_events

if TYPE_CHECKING:
    import mido

DRUM_CHANNEL = 9  # channel 10, counting from 1
MIDI_TICKS_PER_BEAT = 500
MIDI_TEMPO = 500_000  # microseconds per beat: 120 bpm, so a tick is 1 ms
RECIPE_MANUFACTURER = 0x7D  # the MIDI manufacturer id for non-commercial and educational use
RECIPE_TAG = b"arstudio-recipe/1\n"
MAX_MIDI_BYTES = 16 << 20  # larger files are refused before they are read (days of piano music fit)


class MidiError(ValueError):
    """A MIDI file that cannot be read or gives no notes; the message is one line naming the path."""


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
