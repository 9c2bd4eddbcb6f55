"""The Music panel: a Music Transformer composing event by event, on a piano roll, with what it weighed.

Each sampled event is replayed onto the piano roll as it arrives (note-on opens a note at the
playhead, note-off closes it, a time shift moves the playhead, a velocity event shades the notes
after it). Under the roll, two tabs analyse the newest step, or the one hovered or picked: the
whole next-event distribution grouped by type (note-on, note-off, time shift, velocity) and the
attention of every head as arcs over the past events. Both come from the panel's own copy of the
model (``analysis``), since the run record keeps only each step's most likely events; without it
the distribution view falls back to those. A MIDI file opened as the primer is kept as the run's
first events (the modality's ``import_file``) and the model continues it; Play renders the shown
performance and plays it through sounddevice; Export writes MIDI or WAV through the modality's
formats, the replay recipe inside.
"""

from __future__ import annotations

from pathlib import Path

import time

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog, QTabWidget, QWidget

from arstudio.core.modality import get_modality
from arstudio.engine.messages import ModelInfo, RunPlan
from arstudio.engine.record import RunRecord
from arstudio.modalities.music.events import event_labels, events_seconds
from arstudio.qt.jobs import JobRunner
from arstudio.qt.modalities.music.analysis import MusicAnalysis, StepAnalysis
from arstudio.qt.modalities.music.arcs import AttentionArcsView
from arstudio.qt.modalities.music.controls import MusicControls
from arstudio.qt.modalities.music.event_dist import EventDistView
from arstudio.modalities.music.performance import Performance, cut_at_seconds
from arstudio.qt.modalities.music.piano_roll import PianoRollView
from arstudio.qt.modalities.music.playback import PlaybackError, Player, Rendered, render
from arstudio.qt.panel import OneSampleShownPanel
from arstudio.qt.views.panel_layout import controls_over_views

MIDI_FILTER = "MIDI files (*.mid *.midi *.kar *.rmi);;All files (*)"
FOLLOW_INTERVAL_S = 0.2  # while a run grows, the newest step is analysed at most this often (a hover: at once)


def read_primer(path: str, spec: object) -> tuple[str, np.ndarray]:
    """The events of the MIDI file at ``path`` for a model with ``spec`` (job thread); ValueError says why not."""
    events = get_modality("music").import_file(Path(path), spec)  # type: ignore[misc]
    return path, np.asarray(events, dtype=np.int64).reshape(-1)


class MusicPanel(OneSampleShownPanel):
    """Piano roll, grouped next-event distribution, attention arcs, primer, playback of a performance-event model."""

    modality = "music"
    title = "Music"
    export_label = "Export MIDI…"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controls = MusicControls()
        self.roll = PianoRollView()
        self.dist = EventDistView()
        self.arcs = AttentionArcsView()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.dist, "Next event")
        self.tabs.addTab(self.arcs, "Attention")
        self.hint = controls_over_views(self, self.controls, self.roll, self.tabs, (300, 280))
        self.analysis = MusicAnalysis(self)
        self.player = Player(self)
        self.jobs = JobRunner("arstudio-music-files", parent=self)
        self.info: ModelInfo | None = None
        self.record: RunRecord | None = None
        self.labels: tuple[str, ...] = event_labels()
        self.length = 0
        self.perf = Performance(0)
        self.sample = 0  # which sample of the batch is shown
        self.primer_path: str | None = None
        self.primer_events = np.zeros(0, np.int64)
        self.focus = -1  # the step the inspector outlines (hovered or picked), -1: follow the newest
        self._asked: tuple | None = None  # the last analysis request (tag, step)
        self._asked_at = 0.0  # when it was made (time.monotonic)
        self._ask_later = QTimer(self)
        self._ask_later.setSingleShot(True)
        self._ask_later.timeout.connect(self._ask)
        c = self.controls
        c.primer.currentIndexChanged.connect(lambda _i: self._plan())
        c.primer_open.clicked.connect(self.open_dialog)
        for box in (c.primer_seconds, c.events, c.samples):
            box.valueChanged.connect(lambda _v: self._plan())
        c.shown.valueChanged.connect(self._on_shown)
        c.play.clicked.connect(self.toggle_play)
        self.roll.step_hovered.connect(lambda step: self.step_hovered.emit(step, self.sample if step >= 0 else -1))
        self.roll.step_clicked.connect(lambda step: self.step_picked.emit(step, self.sample))
        self.analysis.computed.connect(self._on_analysis)
        self.analysis.loaded.connect(lambda _ok: self._ask())
        self.tabs.currentChanged.connect(lambda _i: self._ask())
        self.player.started.connect(lambda: c.play.setText("■ Stop"))
        self.player.stopped.connect(self._on_stopped)
        self.player.position_changed.connect(self.roll.set_playhead)
        self.jobs.finished.connect(self._on_job)
        self.jobs.failed.connect(self._on_job_failed)

    # ---- the model and the plan ----------------------------------------------------------------
    def set_model(self, info: ModelInfo, batch: int) -> None:
        same = self.info is not None and self.info.path == info.path
        self.info, self.record = info, None
        self.length = int(info.spec.layout.length)
        labels = info.spec.values.labels
        self.labels = tuple(labels) if labels and len(labels) == info.spec.values.n else event_labels()
        self.dist.set_labels(self.labels)
        self.arcs.labels = self.labels
        if self.perf.length != self.length:
            self.perf = Performance(self.length)
        self.perf.reset()
        self.roll.set_performance(self.perf)
        self.player.stop()
        self.controls.play.setEnabled(False)
        self.dist.clear("The next-event distribution appears here.")
        self.arcs.clear("The attention of the newest (or hovered) event appears here.")
        self.controls.events.setMaximum(max(1, self.length))
        if same:
            return  # a settings change or a reset: keep the primer and the length
        self.analysis.load(str(info.path))
        self.controls.events.setValue(min(self.controls.events.value(), self.length))
        self.hint.setText(f"{info.name}: up to {self.length:,} events (note-on, note-off, time shift, velocity). "
                          "Press Play to compose, or open a MIDI file to continue it.")
        self._plan()

    def primer_prefix(self) -> tuple[np.ndarray | None, str]:
        """The events the next runs keep (the primer's first seconds, within the context) and a note on them."""
        c = self.controls
        if self.primer_path is None or c.primer.currentIndex() != 1 or len(self.primer_events) == 0:
            return None, ""
        prefix = cut_at_seconds(self.primer_events, c.primer_seconds.value())
        room = self.length - int(c.events.value())
        note = ""
        if len(prefix) > room:
            note = f" (cut to {max(room, 0)} events to leave room for {c.events.value()} new ones in the context)"
            prefix = prefix[: max(room, 0)]
        name = Path(self.primer_path).name
        text = (f"Primer: {len(prefix)} events ({events_seconds(prefix.tolist()):.1f} s) of {name}{note}; "
                f"the model writes {c.events.value()} more.")
        return (prefix if len(prefix) else None), text

    def _plan(self, start: bool = False) -> None:
        """Tell the session what the next runs keep: the primer's events, how many to write, the batch."""
        if self.info is None:
            return
        prefix, note = self.primer_prefix()
        if note:
            self.hint.setText(note)
        given = 0 if prefix is None else len(prefix)
        steps = min(self.length, given + int(self.controls.events.value()))
        self.run_planned.emit(RunPlan(prefix, steps, None, int(self.controls.samples.value())), start)

    # ---- a MIDI file as the primer -------------------------------------------------------------------
    def open_dialog(self) -> None:
        """Ask for a MIDI file to continue."""
        path, _ = QFileDialog.getOpenFileName(self, "Continue a MIDI file", str(Path.home()), MIDI_FILTER)
        if path:
            self.open_file(path)

    def open_file(self, path: str | Path) -> None:
        """Read ``path`` in the background; the primer (or a one-line problem) comes back later."""
        if self.info is None:
            return
        self.hint.setText(f"Reading {Path(path).name}…")
        self.jobs.submit_to("primer", read_primer, str(path), self.info.spec)

    def use_primer(self, path: str, events: np.ndarray) -> None:
        """Keep ``events`` (read from ``path``) as the primer of the next runs."""
        if len(events) == 0:
            self._on_job_failed(0, f"{path}: gives no events to continue")
            return
        self.primer_path, self.primer_events = path, np.asarray(events, dtype=np.int64)
        self.controls.set_primer_item(Path(path).name, path)
        self._plan()

    def _on_job(self, _job: int, result: object) -> None:
        if isinstance(result, Rendered):
            try:
                self.player.play(result.audio, result.rate)
                self.hint.setText(f"Playing {result.audio.size / result.rate:.1f} s ({result.how}).")
            except PlaybackError as e:
                self.hint.setText(str(e))
                self.problem_found.emit("Cannot play sound", str(e))
        elif isinstance(result, tuple) and len(result) == 2:
            self.use_primer(*result)

    def _on_job_failed(self, job: int, message: str) -> None:
        self.hint.setText(message)
        playing = job != 0 and job == self.jobs.newest("render")
        self.problem_found.emit("Cannot play sound" if playing else "Cannot use this MIDI file", message)

    # ---- the run ----------------------------------------------------------------------------------
    def begin_run(self, record: RunRecord) -> None:
        self.record = record
        self.sync_shown(record)
        self.player.stop()
        self.focus, self._asked = -1, None
        if self.perf.length != record.length:
            self.perf = Performance(record.length)
        self.perf.reset()
        self.roll.set_performance(self.perf, record.info.request.prefix_len)
        self.show_steps(record)

    def events(self, record: RunRecord | None = None) -> np.ndarray:
        """The events of the shown sample so far (up to the first step not filled)."""
        rec = record or self.record
        if rec is None:
            return np.zeros(0, np.int64)
        v = rec.values[: rec.filled, min(self.sample, rec.batch - 1)]
        bad = np.flatnonzero(np.isnan(v))
        return v[: bad[0] if len(bad) else len(v)].astype(np.int64)

    def show_steps(self, record: RunRecord) -> None:
        if record is not self.record:
            return
        n = record.filled
        if n > self.perf.count:
            self.perf.feed(np.nan_to_num(record.values[self.perf.count:n, self.sample], nan=-1).astype(np.int64))
        self.roll.refresh()
        self.controls.play.setEnabled(n > 0)
        self._ask()

    def show_focus(self, step: int, sample: int) -> None:
        mine = step >= 0 and sample in (-1, self.sample)
        self.focus = step if mine else -1
        self.roll.mark_focus(self.focus)
        self._ask()

    def describe_step(self, record: RunRecord, step: int) -> str:
        out = f"step {step}"
        if 0 <= step < record.filled:
            v = record.values[step, min(self.sample, record.batch - 1)]
            if not np.isnan(v) and 0 <= int(v) < len(self.labels):
                out += f" · {self.labels[int(v)]}"
            if record is self.record and step < self.perf.count:
                out += f" · {self.perf.time[step]:.2f} s"
        return out

    # ---- analysis: the whole distribution and the attention of one step -----------------------------
    def analysed_step(self) -> int:
        """The step the tabs show: the focused one, else the newest (-1: none yet)."""
        if self.record is None or self.record.filled == 0:
            return -1
        return self.focus if 0 <= self.focus < self.record.filled else self.record.filled - 1

    def _ask(self) -> None:
        rec, step = self.record, self.analysed_step()
        if rec is None or step < 0:
            return
        tag = (rec.run_id, self.sample)
        if not self.analysis.ready:
            self._show_compact(rec, step)
            return
        if self._asked == (tag, step):
            return
        wait = self._asked_at + FOLLOW_INTERVAL_S - time.monotonic()
        if self.focus < 0 and not rec.finished and wait > 0:  # following a growing run: a few answers a second
            if not self._ask_later.isActive():
                self._ask_later.start(int(wait * 1000) + 1)
            return
        self._asked, self._asked_at = (tag, step), time.monotonic()
        self.analysis.request(tag, self.events(rec), step)

    def _title(self, step: int) -> str:
        return f"step {step}" + (" (primer)" if self.record and step < self.record.info.request.prefix_len else "")

    def _chosen(self, step: int) -> int | None:
        rec = self.record
        if rec is None or step >= rec.filled:
            return None
        v = rec.values[step, self.sample]
        return None if np.isnan(v) else int(v)

    def _show_compact(self, rec: RunRecord, step: int) -> None:
        """The record's kept entries of ``step`` (its most likely events and the rest mass), when analysis is off."""
        view = rec.view(step, self.sample)
        if view is None:
            return
        rest = float(view.rest[0]) if view.rest is not None else 0.0
        self.dist.show_dist(view.support, view.probs[0], rest, self._chosen(step), self._title(step))
        self.arcs.clear("No attention: the model could not be opened for analysis.")

    def _on_analysis(self, res: StepAnalysis) -> None:
        rec = self.record
        if rec is None or res.tag != (rec.run_id, self.sample):
            return  # a result for a run no longer shown
        if res.error:
            self.analysis.ready = False  # show the record's entries from now on
            self.hint.setText(f"Analysis is off: {res.error}")
            self._show_compact(rec, res.step)
            return
        if res.probs is not None:
            self.dist.show_dist(np.arange(len(res.probs)), res.probs, 0.0, self._chosen(res.step),
                                self._title(res.step))
        chosen = self._chosen(res.step)
        what = f"{self.labels[chosen]} " if chosen is not None and chosen < len(self.labels) else ""
        title = f"predicting step {res.step}" + (f" ({what.strip()})" if what else "")
        if res.attention is None:
            self.arcs.clear("The first event is predicted from the start state alone: no past events to attend to."
                            if res.step == 0 else "This model gives no attention weights.")
        else:
            self.arcs.show_attention(res.attention, self.events(rec), res.step, title)

    # ---- playback -------------------------------------------------------------------------------
    def toggle_play(self) -> None:
        """Render the shown performance and play it, or stop playing."""
        if self.player.playing:
            self.player.stop()
            return
        events = self.events()
        if len(events) == 0:
            return
        self.hint.setText(f"Rendering {len(events)} events…")
        self.jobs.submit_to("render", render, events)

    def _on_stopped(self) -> None:
        self.controls.play.setText("▶ Play")
        self.roll.set_playhead(None)

    # ---- export and shutdown ----------------------------------------------------------------------
    def shutdown(self) -> None:
        self._ask_later.stop()
        self.player.stop()
        self.jobs.shutdown()
        self.analysis.shutdown()
