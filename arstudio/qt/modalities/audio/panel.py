"""The Audio panel: a WaveNet writing sound one sample at a time, heard and seen as it goes.

A waveform scrolls as samples arrive (the newest step marked; drag or zoom to look back) and a
log-mel spectrogram of what has been written fills in beside the mel the run is conditioned on,
if any. The controls pick a voice (global conditioning), a conditioning source (none, or the
log-mel of an audio file: local conditioning, so the model resynthesizes it), a primer (the
first seconds of a file, kept as given) and a length; Play listens to the shown sample through
sounddevice. Hovering the waveform shows the 256-way distribution a sample was drawn from; the
distribution view lays the mu-law levels out in amplitude order (``values_in_order``). Export
writes a WAV through the modality's file format, the replay recipe inside.

Memory: the panel keeps one float32 buffer of decoded samples and one of mel frames per model,
filled in place; the run record (``arstudio.engine.record``) holds the rest, compactly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QFileDialog, QWidget

from arstudio.engine.messages import Condition, ModelInfo, RunPlan
from arstudio.engine.record import RunRecord
from arstudio.modalities.audio.condition import recipe_condition, unpack_condition
from arstudio.modalities.audio.mel import MelSettings
from arstudio.modalities.audio.mulaw import mu_law_decode, mu_law_encode
from arstudio.qt.jobs import JobRunner
from arstudio.qt.modalities.audio.controls import AudioControls
from arstudio.modalities.audio.live_mel import LiveMel
from arstudio.qt.modalities.audio.playback import PlaybackError, Player
from arstudio.qt.modalities.audio.spectrogram import SpectrogramView
from arstudio.qt.modalities.audio.waveform import WaveformView
from arstudio.qt.panel import OneSampleShownPanel
from arstudio.qt.views.panel_layout import controls_over_views

AUDIO_FILTER = "Audio files (*.wav *.flac *.ogg *.oga *.aiff *.aif *.au *.mp3);;All files (*)"


@dataclass(frozen=True)
class Clip:
    """An audio file read for the model: its samples at the model's rate, and its log-mel when asked for."""

    path: str
    audio: np.ndarray  # [T] float32 in [-1, 1]
    mel: np.ndarray | None  # [n_mels, F]
    seconds: float
    cut: bool = False  # the file was longer than the model's layout: only its beginning was read


def read_clip(path: str, settings: MelSettings, max_seconds: float, with_mel: bool) -> Clip:
    """Read ``path`` at the model's rate (its first ``max_seconds``) and, ``with_mel``, its log-mel (job thread).

    Any encoding, channel count and rate is converted (``read_audio``); ValueError says in one
    line why a file cannot be used (not audio, empty, unreadable).
    """
    from arstudio.modalities.audio.files import read_audio
    from arstudio.modalities.audio.mel import log_mel

    audio = np.asarray(read_audio(path, settings.sample_rate, max_seconds=max_seconds, truncate=True), np.float32)
    mel = log_mel(audio, settings).numpy() if with_mel else None
    cut = len(audio) >= int(max_seconds * settings.sample_rate)
    return Clip(path, audio, mel, len(audio) / settings.sample_rate, cut)


def display_settings(model: MelSettings) -> MelSettings:
    """The mel settings the spectrogram is drawn with: the model's own (the default bands for a model without a mel)."""
    top = min(model.f_max, model.sample_rate / 2.0)
    top = top if top > model.f_min else model.sample_rate / 2.0
    return replace(model, n_mels=model.n_mels or MelSettings().n_mels, f_max=top)


class AudioPanel(OneSampleShownPanel):
    """Waveform, spectrogram, voice / condition / primer / length, and playback of a mu-law audio model."""

    modality = "audio"
    title = "Audio"
    export_label = "Export WAV…"
    values_in_order = True

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controls = AudioControls()
        self.waveform = WaveformView()
        self.spectrogram = SpectrogramView()
        self.spectrogram.plot.setXLink(self.waveform.plot)
        for plot in (self.spectrogram.plot, self.spectrogram.target_plot):  # dragging them stops following too
            plot.getViewBox().sigRangeChangedManually.connect(self.waveform.stop_following)
        self.hint = controls_over_views(self, self.controls, self.waveform, self.spectrogram, (200, 300))
        self.player = Player(self)
        self.jobs = JobRunner("arstudio-audio-files", parent=self)
        self.info: ModelInfo | None = None
        self.record: RunRecord | None = None
        self.settings = MelSettings()
        self.length, self.levels = 0, 256
        self.audio = np.zeros(0, np.float32)  # decoded samples of the shown sample of the run, filled in place
        self.mel: LiveMel | None = None
        self.decoded = 0  # samples of ``audio`` decoded from the record
        self.sample = 0  # which sample of the batch is shown
        self.cond_clip: Clip | None = None
        self.primer_clip: Clip | None = None
        self._hovered = -1
        c = self.controls
        c.voice.currentIndexChanged.connect(lambda _i: self._emit_condition())
        c.condition.currentIndexChanged.connect(self._on_condition_choice)
        c.condition_open.clicked.connect(lambda: self.open_dialog("condition"))
        c.primer.currentIndexChanged.connect(lambda _i: self._plan())
        c.primer_open.clicked.connect(lambda: self.open_dialog("primer"))
        for box in (c.length, c.primer_seconds):
            box.valueChanged.connect(lambda _v: self._plan())
        c.samples.valueChanged.connect(lambda _v: self._plan())
        c.shown.valueChanged.connect(self._on_shown)
        c.play.clicked.connect(self.toggle_play)
        self.waveform.step_hovered.connect(self._on_hovered)
        self.waveform.step_clicked.connect(lambda step: self.step_picked.emit(step, self.sample))
        self.player.started.connect(lambda: c.play.setText("■ Stop"))
        self.player.stopped.connect(self._on_stopped)
        self.player.position_changed.connect(self.waveform.set_playhead)
        self.jobs.finished.connect(self._on_clip)
        self.jobs.failed.connect(self._on_clip_failed)

    # ---- the model ---------------------------------------------------------------------------
    def set_model(self, info: ModelInfo, batch: int) -> None:
        same = self.info is not None and self.info.path == info.path
        before, self.info = self.settings, info
        self.settings = MelSettings.of(info.spec.config)
        self.length, self.levels = int(info.spec.layout.length), int(info.spec.values.n or 256)
        if len(self.audio) != self.length:
            self.audio = np.zeros(self.length, np.float32)
        shown = display_settings(self.settings)
        if self.mel is None or self.mel.s != shown or len(self.mel.frames) < shown.frames(self.length):
            self.mel = LiveMel(shown, self.length)
        self.record, self.decoded = None, 0
        self.waveform.reset(self.settings.sample_rate, self.length)
        self.spectrogram.reset(shown.sample_rate, shown.hop_length, self.mel.band_hz())
        self.controls.play.setEnabled(False)
        self.player.stop()
        if same:  # a settings change or a reset: keep the voice, condition, primer and length
            self.spectrogram.set_target(self._target_mel())
            return
        c = self.controls
        voices = list(info.spec.config.get("voices") or [])
        c.voice.blockSignals(True)
        c.voice.clear()
        c.voice.addItem("none", None)
        for i, name in enumerate(voices):
            c.voice.addItem(str(name), i)
        c.voice.blockSignals(False)
        c.voice.setEnabled(bool(voices))
        c.voice.setToolTip("Global conditioning: the voice the model speaks in" if voices else
                           "This model was trained without voices")
        takes_mel = int(info.spec.config.get("n_mels", 0) or 0) > 0 and bool(info.spec.cond)
        if self.cond_clip is not None and (not takes_mel or self.settings != before):
            self.cond_clip = None  # a mel of other settings (or none wanted): open the file again for this model
            c.clear_file_item(c.condition)
        if self.primer_clip is not None and self.settings.sample_rate != before.sample_rate:
            self.primer_clip = None  # samples at another rate
            c.clear_file_item(c.primer)
        for w in (c.condition, c.condition_open):
            w.setEnabled(takes_mel)
        self.spectrogram.set_target(self._target_mel())
        seconds = self.length / self.settings.sample_rate
        c.length.setMaximum(seconds)
        c.primer_seconds.setMaximum(seconds)
        self.hint.setText(f"{info.name}: {self.settings.sample_rate:,} Hz, {self.levels} mu-law levels, "
                          f"at most {seconds:g} s. Press Play to generate.")
        self._emit_condition()
        self._plan()

    def _plan(self, start: bool = False) -> None:
        """Tell the session what the next runs keep: the primer's codes, the length, the batch."""
        if self.info is None:
            return
        c, rate = self.controls, self.settings.sample_rate
        prefix = None
        if self.primer_clip is not None and c.primer.currentIndex() == 1:
            keep = min(len(self.primer_clip.audio), int(round(c.primer_seconds.value() * rate)), self.length - 1)
            prefix = mu_law_encode(self.primer_clip.audio[:keep], self.levels).astype(np.int64)
        given = 0 if prefix is None else len(prefix)
        steps = min(self.length, max(given + 1, int(round(c.length.value() * rate))))  # the primer included
        self.run_planned.emit(RunPlan(prefix, steps, None, int(c.samples.value())), start)

    def _emit_condition(self) -> None:
        """Tell the session what the next runs are conditioned on: the voice and the file's mel, packed in one row."""
        if self.info is None:
            return
        c = self.controls
        voice, mel = c.voice.currentData(), self._target_mel()
        rows = recipe_condition(voice, mel)  # as `arstudio sample` packs it: rounded as the replay recipe keeps it
        self.condition_chosen.emit(None if rows is None else Condition(np.asarray(rows, dtype=np.float64)))

    # ---- audio files: conditioning and primer --------------------------------------------------
    def open_dialog(self, role: str) -> None:
        """Ask for an audio file to condition on (``role`` "condition") or to continue from ("primer")."""
        title = "Condition on the mel of…" if role == "condition" else "Continue from…"
        path, _ = QFileDialog.getOpenFileName(self, title, str(Path.home()), AUDIO_FILTER)
        if path:
            self.open_file(path, role)

    def open_file(self, path: str | Path, role: str) -> None:
        """Read ``path`` in the background for ``role``; the result (or a one-line problem) comes back later."""
        if self.info is None:
            return
        limit = self.length / self.settings.sample_rate
        self.hint.setText(f"Reading {Path(path).name}…")
        self.jobs.submit_to(role, read_clip, str(path), self.settings, limit, role == "condition")

    def _on_clip(self, _job: int, clip: object) -> None:
        if not isinstance(clip, Clip) or self.info is None:
            return
        c, name = self.controls, Path(clip.path).name
        cut = f" (its first {clip.seconds:g} s: the model writes no more)" if clip.cut else ""
        if clip.mel is not None:  # conditioning: the mel of the whole file; the length follows it
            self.cond_clip = clip
            c.set_file_item(c.condition, f"mel of {name}", clip.path)
            self.spectrogram.set_target(clip.mel)
            c.length.setValue(min(c.length.maximum(), clip.seconds))
            self.hint.setText(f"Conditioning on the mel of {name}{cut} ({clip.seconds:.2f} s, {clip.mel.shape[1]} "
                              f"frames); length set to {c.length.value():.2f} s.")
            self._emit_condition()
        else:
            self.primer_clip = clip
            c.set_file_item(c.primer, name, clip.path)
            c.primer_seconds.setMaximum(max(0.01, min(clip.seconds, self.length / self.settings.sample_rate)))
            self.hint.setText(f"Primer: the first {c.primer_seconds.value():.2f} s of {name}{cut} are kept; "
                              "the model continues from there.")
        self._plan()

    def _on_clip_failed(self, _job: int, message: str) -> None:
        self.hint.setText(message)
        self.problem_found.emit("Cannot use this audio file", message)

    def _target_mel(self) -> np.ndarray | None:
        """The mel the next runs follow (the conditioning file's, when chosen), or None."""
        if self.cond_clip is None or self.controls.condition.currentIndex() != 1:
            return None
        return self.cond_clip.mel

    def _on_condition_choice(self, _index: int) -> None:
        self.spectrogram.set_target(self._target_mel())
        self._emit_condition()

    # ---- the run ------------------------------------------------------------------------------
    def begin_run(self, record: RunRecord) -> None:
        self.record, self.decoded = record, 0
        self.sync_shown(record)
        self._hovered = -1
        self.hint.setText(self.describe_run(record))
        self.waveform.clear()
        if self.mel is not None:
            self.mel.reset()
        self.spectrogram.clear()
        self.show_steps(record)

    def describe_run(self, record: RunRecord) -> str:
        """One line on what the run writes: its length, primer, voice and mel (from the run's request)."""
        req, rate = record.info.request, self.settings.sample_rate
        parts = [f"Writing {self._planned(record) / rate:.2f} s"]
        if req.prefix_len:
            parts.append(f"the first {req.prefix_len / rate:.2f} s kept from the primer (shaded)")
        voices = list(self.info.spec.config.get("voices") or []) if self.info is not None else []
        voice, mel = (None, None) if req.cond is None else unpack_condition(req.cond[0], self.settings.n_mels)
        parts.append(f"voice {voices[voice] if voice is not None and voice < len(voices) else 'none'}")
        parts.append("no mel (babbling)" if mel is None else f"following a mel of {mel.shape[1]} frames")
        return " · ".join(parts) + "."

    def _planned(self, record: RunRecord) -> int:
        steps = record.info.request.steps
        return record.length if steps is None else min(int(steps), record.length)

    def show_steps(self, record: RunRecord) -> None:
        if record is not self.record:
            return
        n = record.filled
        if n > self.decoded:
            codes = np.nan_to_num(record.values[self.decoded:n, self.sample], nan=self.levels // 2)
            self.audio[self.decoded:n] = mu_law_decode(codes.astype(np.int64), self.levels)
            self.decoded = n
        planned = self._planned(record)
        self.waveform.set_audio(self.audio, n, record.info.request.prefix_len, planned)
        if self.mel is not None:
            self.mel.update(self.audio, n, final=n >= planned)
            self.spectrogram.set_frames(self.mel.frames, self.mel.count, self.mel.peak)
        self.controls.play.setEnabled(n > 0)

    def show_focus(self, step: int, sample: int) -> None:
        self.waveform.mark_focus(step if step >= 0 and sample in (-1, self.sample) else -1)

    def _on_hovered(self, step: int) -> None:
        if step == self._hovered:
            return
        self._hovered = step
        self.step_hovered.emit(step, self.sample if step >= 0 else -1)

    def describe_step(self, record: RunRecord, step: int) -> str:
        return f"step {step:,} · {step / self.settings.sample_rate:.4f} s"  # the level is the view's "chosen"

    # ---- playback ---------------------------------------------------------------------------
    def toggle_play(self) -> None:
        """Play the shown sample from its start, or stop playing."""
        if self.player.playing:
            self.player.stop()
            return
        try:
            self.player.play(self.audio[: self.decoded], self.settings.sample_rate)
        except PlaybackError as e:
            self.hint.setText(str(e))
            self.problem_found.emit("Cannot play sound", str(e))

    def _on_stopped(self) -> None:
        self.controls.play.setText("▶ Play")
        self.waveform.set_playhead(None)

    # ---- export and shutdown ------------------------------------------------------------------
    def shutdown(self) -> None:
        self.player.stop()
        self.jobs.shutdown()

