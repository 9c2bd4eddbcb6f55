"""Replaying performance events into notes, step by step, as the piano roll draws them (no Qt here).

The vocabulary is Oore et al. 2018's (``arstudio.modalities.music.events``): note-on opens a note
at the playhead, note-off closes the open note of its pitch, a time shift moves the playhead on,
and a velocity event sets the velocity of the notes opened after it. ``Performance`` keeps, in
arrays allocated once per run, the playhead's time at every step and every note with the steps
that opened and closed it, so that a frame of a 1,024-event run only replays the events that are
new since the last one, and a hover on a note finds the step that wrote it.
"""

from __future__ import annotations

import numpy as np

from arstudio.modalities.music import events as ev

TYPES = ("on", "off", "shift", "velocity")  # the four event types, in id order
ON, OFF, SHIFT, VELOCITY = (ev.EVENT_RANGES[k] for k in TYPES)
SHIFT_S = ev.STEP_S  # a time-shift event k moves the playhead on by (k + 1) * SHIFT_S
START_VELOCITY = ev.bin_velocity(ev.velocity_bin(ev.DEFAULT_VELOCITY))  # before any velocity event


def type_index(events: np.ndarray) -> np.ndarray:
    """Each event's type as 0 (on), 1 (off), 2 (shift), 3 (velocity); -1 outside the vocabulary."""
    e = np.asarray(events, dtype=np.int64)
    out = np.full(e.shape, -1, dtype=np.int8)
    for i, r in enumerate((ON, OFF, SHIFT, VELOCITY)):
        out[(e >= r.start) & (e < r.stop)] = i
    return out


class Performance:
    """The notes of a growing event sequence, replayed incrementally.

    Arrays (sized for ``length`` steps): ``time[t]`` the playhead in seconds when event t came,
    ``note_of[t]`` the note event t opened or closed (-1: none); per note ``start``, ``end`` (NaN
    while it sounds), ``pitch``, ``velocity``, ``on_step``, ``off_step`` (-1 while open).
    The rules are ``events_to_notes``'s: a note-on of a pitch that already sounds ends that note and
    starts a new one; a note-off of a pitch that does not sound changes nothing. Times are counted
    in whole 10 ms steps, as the encoding does. A note of no length (its note-off at its note-on's
    time, which ``events_to_notes`` leaves out) is still kept here, so the roll can show it.
    """

    def __init__(self, length: int) -> None:
        self.length = int(length)
        self.time = np.zeros(self.length + 1, np.float64)
        self.note_of = np.full(self.length, -1, np.int64)
        self.start = np.zeros(self.length, np.float64)
        self.end = np.full(self.length, np.nan)
        self.pitch = np.zeros(self.length, np.int16)
        self.velocity = np.zeros(self.length, np.int16)
        self.on_step = np.zeros(self.length, np.int64)
        self.off_step = np.full(self.length, -1, np.int64)
        self.reset()

    def reset(self) -> None:
        """Back to no events: the playhead at 0, the default velocity, no notes."""
        self.count = 0  # events replayed
        self.n_notes = 0
        self.ticks = 0  # the playhead in 10 ms steps
        self.current_velocity = START_VELOCITY
        self.sounding: dict[int, int] = {}  # pitch -> note index
        self.closed: list[int] = []  # notes closed since ``take_closed`` was last called
        self.end[:] = np.nan
        self.off_step[:] = -1
        self.note_of[:] = -1

    def feed(self, events: np.ndarray) -> int:
        """Replay ``events`` (the next ones in step order); returns how many notes opened."""
        opened = self.n_notes
        for e in np.asarray(events, dtype=np.int64).tolist():
            if self.count >= self.length:
                break
            t = self.count
            self.time[t] = self.ticks * SHIFT_S
            if ON.start <= e < ON.stop:
                self._close(e - ON.start, t)
                i = self.n_notes
                self.n_notes += 1
                self.start[i], self.pitch[i], self.velocity[i] = self.now, e - ON.start, self.current_velocity
                self.on_step[i], self.end[i], self.off_step[i] = t, np.nan, -1
                self.sounding[e - ON.start] = i
                self.note_of[t] = i
            elif OFF.start <= e < OFF.stop:
                self.note_of[t] = self._close(e - OFF.start, t)
            elif SHIFT.start <= e < SHIFT.stop:
                self.ticks += e - SHIFT.start + 1
            elif VELOCITY.start <= e < VELOCITY.stop:
                self.current_velocity = ev.bin_velocity(e - VELOCITY.start)
            self.count += 1
        self.time[self.count] = self.now
        return self.n_notes - opened

    def _close(self, pitch: int, step: int) -> int:
        i = self.sounding.pop(pitch, -1)
        if i >= 0:
            self.end[i], self.off_step[i] = self.now, step
            self.closed.append(i)
        return i

    def take_closed(self) -> list[int]:
        """The notes closed since the last call (the roll adds them to its finished notes)."""
        out, self.closed = self.closed, []
        return out

    @property
    def now(self) -> float:
        """The playhead in seconds."""
        return self.ticks * SHIFT_S

    def open_notes(self) -> list[int]:
        """Indices of the notes still sounding."""
        return sorted(self.sounding.values())

    def note_at(self, seconds: float, pitch: int) -> int:
        """The note of ``pitch`` sounding at ``seconds`` (the latest one), or -1."""
        n = self.n_notes
        ends = np.where(np.isnan(self.end[:n]), self.now, self.end[:n])
        hit = np.flatnonzero((self.pitch[:n] == pitch) & (self.start[:n] <= seconds)
                             & (np.maximum(ends, self.start[:n] + 0.03) >= seconds))
        return int(hit[-1]) if len(hit) else -1

    def step_at_time(self, seconds: float) -> int:
        """The last step whose event came at or before ``seconds`` (-1 before the first)."""
        return int(np.searchsorted(self.time[: self.count], seconds, side="right")) - 1

    def notes(self) -> np.ndarray:
        """Every note so far as rows (start_s, end_s, pitch, velocity), open ones ending at the playhead."""
        n = self.n_notes
        ends = np.where(np.isnan(self.end[:n]), self.now, self.end[:n])
        return np.stack([self.start[:n], ends, self.pitch[:n], self.velocity[:n]], 1)


def cut_at_seconds(events: np.ndarray, seconds: float) -> np.ndarray:
    """The events that come before the playhead passes ``seconds`` (a primer's first seconds)."""
    e = np.asarray(events, dtype=np.int64)
    is_shift = (e >= SHIFT.start) & (e < SHIFT.stop)
    after = np.cumsum(np.where(is_shift, e - SHIFT.start + 1, 0))  # the playhead after each event, in steps
    keep = int(np.searchsorted(after, round(seconds / SHIFT_S), side="right"))
    return e[:keep]
