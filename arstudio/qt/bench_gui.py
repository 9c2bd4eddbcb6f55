"""The studio's benchmark: sampling throughput with the window live vs headless, and GUI-thread stalls.

    python -m arstudio.qt.bench_gui [--json] [--checkpoint NAME] [--seconds S] [--batch B]

1. Throughput: full runs of the same checkpoint, batch and threads, (a) through ``generate`` alone,
   each step's distribution view drawn as ``generate`` gives it, and (b) through the studio's sampler (a child process, as the studio uses) with the main window
   live and drawing at unlimited speed, runs back to back. Rounds alternate (a) and (b) so that a busy machine slows both alike.
   Steps/s is steps over the time spent inside runs (the gaps between runs are left out of both).
2. Stall: while the studio samples at full speed, a 5 ms QTimer in the GUI thread records how late
   each tick comes; the p99 lateness is compared with issue 2's 50 ms budget.

Each measurement is printed as one ``BenchResult`` JSON line with ``--json`` (``arstudio bench``
runs this module in a child process and collects them). ``ARSTUDIO_BENCH_QUICK=1`` shortens it,
``ARSTUDIO_BENCH_THREADS`` sets torch's threads (default 1, as the studio uses).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer, Qt  # noqa: E402

from arstudio.bench.result import BenchResult, Figure  # noqa: E402
from arstudio.core.catalog import resolve  # noqa: E402
from arstudio.core.checkpoint import CheckpointError, CheckpointMeta, load_checkpoint, save_checkpoint  # noqa: E402
from arstudio.core.device import choose_device, describe  # noqa: E402
from arstudio.core.generate import generate  # noqa: E402
from arstudio.core.protocol import ARModel  # noqa: E402
from arstudio.qt.gc_guard import freeze_startup_objects  # noqa: E402
from arstudio.engine.messages import RunSummary  # noqa: E402

STALL_BUDGET_MS = 50.0
THROUGHPUT_FLOOR = 0.9
PROBE_MS = 5


@dataclass
class Tally:
    """Steps and seconds spent inside runs."""

    steps: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Steps per second."""
        return self.steps / self.seconds if self.seconds > 0 else 0.0


def find_checkpoint(name: str | None, tmp: Path) -> tuple[Path, str]:
    """The checkpoint to measure: ``name``, else shipped NADE, else an untrained default NADE written to ``tmp``."""
    if name:
        return resolve(name), name
    try:
        return resolve("nade-digits"), "nade-digits"
    except CheckpointError:
        from arstudio.core import registry

        model = registry.get("nade").build({})
        path = tmp / "nade-untrained.safetensors"
        save_checkpoint(path, model, CheckpointMeta(kind="nade", config=model.spec.config))
        return path, "nade (untrained default config; no shipped checkpoint found)"


def headless(model: ARModel, batch: int, seconds: float, seed: int, views: bool = True) -> Tally:
    """Whole runs of ``generate`` alone, in this thread, for about ``seconds`` (``views``: draw each step's view)."""
    tally = Tally()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        tally.steps += sum(1 for _ in generate(model, batch=batch, seed=seed, views=views))
        tally.seconds += time.perf_counter() - t0
        seed += 1
    return tally


class StudioDriver:
    """Keeps the studio's window sampling at full speed, runs back to back, and tallies the runs."""

    def __init__(self, window: Any) -> None:
        self.window = window
        self.active = False
        self.tally = Tally()
        window.session.run_finished.connect(self._on_finished)

    def _on_finished(self, summary: RunSummary) -> None:
        if summary.error:
            raise RuntimeError(f"the studio's run failed: {summary.error}")
        if not summary.cancelled:
            self.tally.steps += summary.steps
            self.tally.seconds += summary.seconds
        if self.active:
            QTimer.singleShot(0, self._next)

    def _next(self) -> None:
        if self.active:
            self.window.session.play()

    def run_for(self, seconds: float) -> Tally:
        """Sample for ``seconds`` with the event loop running; the tally of the runs that finished."""
        self.tally = Tally()
        self.active = True
        self.window.session.play()
        spin(seconds)
        self.active = False
        self.window.session.pause()
        spin(0.05)
        self.window.session.reset()
        return self.tally


def spin(seconds: float) -> None:
    """Run the Qt event loop for ``seconds``."""
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def probe_lateness(seconds: float) -> np.ndarray:
    """Lateness in ms of each tick of a 5 ms timer in the GUI thread over ``seconds``."""
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000.0)
        last[0] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(PROBE_MS)
    timer.timeout.connect(tick)
    last[0] = time.perf_counter()
    timer.start()
    spin(seconds)
    timer.stop()
    return np.maximum(np.asarray(gaps[1:] or [0.0]) - PROBE_MS, 0.0)


def train_stall(window: Any, seconds: float, threads: int) -> BenchResult:
    """GUI-thread p99 timer lateness while the studio trains a NADE in its training worker (``train-gui``)."""
    import tempfile

    from PySide6.QtWidgets import QApplication

    with tempfile.TemporaryDirectory() as tmp:
        old = os.environ.get("ARSTUDIO_USER_MODELS")
        os.environ["ARSTUDIO_USER_MODELS"] = tmp  # the periodic saves go to a folder that is thrown away
        try:
            dialog = window.show_train_dialog()
            dialog.kind.setCurrentIndex(dialog.kind.findData("nade"))
            dialog.steps.setValue(1_000_000)
            dialog.eval_every.setValue(250)
            dialog.name.setText("bench-train")
            if not dialog.start():
                raise RuntimeError(f"the training dialog did not start: {dialog.status.text()}")
            deadline = time.monotonic() + 60
            while dialog.progress.value() < 5 and time.monotonic() < deadline:
                QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            first = dialog.progress.value()
            t0 = time.perf_counter()
            busy = probe_lateness(seconds)
            steps = dialog.progress.value() - first
            rate = steps / (time.perf_counter() - t0)
            dialog.cancel()
            deadline = time.monotonic() + 60
            while dialog.running and time.monotonic() < deadline:
                QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            dialog.hide()
        finally:
            if old is None:
                os.environ.pop("ARSTUDIO_USER_MODELS", None)
            else:
                os.environ["ARSTUDIO_USER_MODELS"] = old
    p99 = float(np.percentile(busy, 99))
    return BenchResult(
        name="studio_train_stall", compares="GUI-thread p99 timer lateness while training in the studio vs the 50 ms budget",
        ours=Figure("p99 lateness, training", p99, "ms"), baseline=Figure("budget (issue 2)", STALL_BUDGET_MS, "ms"),
        settings={"kind": "nade", "data": "digits", "batch_size": int(dialog.batch.value()), "threads": threads,
                  "probe_ms": PROBE_MS, "ticks": int(busy.size), "max_ms": round(float(busy.max()), 2),
                  "train_steps_per_s": round(rate, 1), "seconds": seconds,
                  "platform": os.environ.get("QT_QPA_PLATFORM", "")},
        higher_is_better=False, floor=1.0,
        notes="train-gui: a 5 ms QTimer in the GUI thread while the training worker runs, curves and progress live")


def compare_throughput(driver: StudioDriver, model: ARModel, batch: int, seconds: float, rounds: int
                       ) -> tuple[Tally, Tally, Tally]:
    """Headless (views drawn step by step), window-live and bare (no views) tallies, in alternating rounds."""
    head, live, bare = Tally(), Tally(), Tally()
    headless(model, batch, min(0.3, seconds / 10), seed=10_000)  # warm-up
    for r in range(rounds):
        for tally, got in ((head, lambda: headless(model, batch, seconds / rounds, seed=1000 * r)),
                           (live, lambda: driver.run_for(seconds / rounds)),
                           (bare, lambda: headless(model, batch, seconds / rounds, seed=1000 * r, views=False))):
            t = got()
            tally.steps, tally.seconds = tally.steps + t.steps, tally.seconds + t.seconds
    return head, live, bare


def measure(checkpoint: str | None, seconds: float, batch: int, threads: int) -> list[BenchResult]:
    """Both measurements; the window is created here (offscreen unless QT_QPA_PLATFORM says otherwise)."""
    import tempfile

    from arstudio.qt.app import make_app
    from arstudio.qt.main_window import MainWindow

    torch.set_num_threads(threads)
    app = make_app()
    with tempfile.TemporaryDirectory() as tmp:
        # the studio's remembered settings (layout, recent files, speed) go to a folder thrown away after
        old_config = os.environ.get("ARSTUDIO_CONFIG_DIR")
        os.environ["ARSTUDIO_CONFIG_DIR"] = str(Path(tmp) / "config")
        path, label = find_checkpoint(checkpoint, Path(tmp))
        model, _ = load_checkpoint(path, device=choose_device())
        window = MainWindow(path)
        window.show()
        deadline = time.monotonic() + 30
        while window.session.model is None and time.monotonic() < deadline:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        freeze_startup_objects()  # as the studio's main does once its window is up
        if window.session.model is None:
            raise RuntimeError(f"the studio could not load {path}: {window.last_error or 'timed out'}")
        window.controls.samples.setValue(batch)
        window.controls.set_rate(None)
        driver = StudioDriver(window)
        rounds = 12  # short alternating rounds: a neighbour's load on a shared machine hits both sides alike
        head, live, _ = compare_throughput(driver, model, batch, seconds, rounds)
        # Long runs: a 28x28 NADE (784 steps a run, random weights), so that the figure measures
        # what drawing costs sampling rather than the start-up of a new 64-step run every ~15 ms.
        side = 12 if os.environ.get("ARSTUDIO_BENCH_QUICK") == "1" else 28  # quick: runs that fit a smoke run
        long_len = side * side
        long_path = Path(tmp) / f"nade-{side}x{side}.safetensors"
        from arstudio.core import registry

        torch.manual_seed(0)
        long_model = registry.get("nade").build({"shape": [1, side, side], "hidden": 256}).eval()
        save_checkpoint(long_path, long_model, CheckpointMeta(kind="nade", config=long_model.spec.config))
        window.session.load(long_path)
        deadline = time.monotonic() + 30
        while (window.session.model is None or window.session.model.spec.layout.length != long_len) and time.monotonic() < deadline:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        window.controls.samples.setValue(batch)
        window.controls.set_rate(None)
        long_head, long_live, long_bare = compare_throughput(driver, long_model, batch, seconds, rounds)
        window.session.load(path)
        deadline = time.monotonic() + 30
        while (window.session.model is None or window.session.model.spec.layout.length != model.layout.length) \
                and time.monotonic() < deadline:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        window.controls.samples.setValue(batch)
        window.controls.set_rate(None)
        idle = probe_lateness(min(1.0, seconds / 3))
        driver.active = True
        window.session.play()
        busy = probe_lateness(seconds)
        driver.active = False
        window.session.reset()
        train = train_stall(window, seconds, threads)
        window.close()
        app.processEvents()
        gc.unfreeze()
        if old_config is None:
            os.environ.pop("ARSTUDIO_CONFIG_DIR", None)
        else:
            os.environ["ARSTUDIO_CONFIG_DIR"] = old_config
    settings = {"batch": batch, "length": int(model.layout.length), "threads": threads,
                "device": describe(choose_device()), "checkpoint": label, "seconds": seconds, "rounds": rounds,
                "platform": os.environ.get("QT_QPA_PLATFORM", "")}
    throughput = BenchResult(
        name="studio_throughput", compares=f"sampling {long_len}-step runs with the studio's window live and drawing vs generate() headless",
        ours=Figure("window live", long_live.rate, "steps/s"), baseline=Figure("headless", long_head.rate, "steps/s"),
        settings={**settings, "length": long_len, "checkpoint": f"nade {side}x{side}, random weights",
                  "steps_live": long_live.steps, "steps_headless": long_head.steps}, floor=THROUGHPUT_FLOOR,
        notes="steps over time inside runs, rounds alternating; both draw every step's distribution view (the studio "
              "many steps at a time, Dist.stack); the studio samples in a child process, which sends "
              "at most 20 batches a second at unlimited speed; the window draws near 2.5% of the GUI thread's time "
              "then (>= 4 frames/s)")
    bare = BenchResult(
        name="studio_throughput_vs_bare",
        compares=f"the same {long_len}-step runs, window live vs generate() drawing no distribution views at all",
        ours=Figure("window live", long_live.rate, "steps/s"), baseline=Figure("bare generate()", long_bare.rate, "steps/s"),
        settings={**settings, "length": long_len, "checkpoint": f"nade {side}x{side}, random weights",
                  "steps_live": long_live.steps, "steps_bare": long_bare.steps},
        notes="the strictest baseline: sampling alone, nothing recorded; what recording and showing every step costs")
    short = BenchResult(
        name="studio_throughput_short_runs",
        compares="back-to-back 64-step runs of the shipped checkpoint, window live vs headless",
        ours=Figure("window live", live.rate, "steps/s"), baseline=Figure("headless", head.rate, "steps/s"),
        settings={**settings, "steps_live": live.steps, "steps_headless": head.steps},
        notes="each run lasts ~15 ms, so the GUI's start-of-run work (new record, canvas reset) counts here too")
    p99, worst = float(np.percentile(busy, 99)), float(busy.max())
    stall = BenchResult(
        name="studio_gui_stall", compares="GUI-thread p99 timer lateness while sampling at full speed vs the 50 ms budget",
        ours=Figure("p99 lateness, sampling", p99, "ms"), baseline=Figure("budget (issue 2)", STALL_BUDGET_MS, "ms"),
        settings={**settings, "probe_ms": PROBE_MS, "ticks": int(busy.size), "max_ms": round(worst, 2),
                  "idle_p99_ms": round(float(np.percentile(idle, 99)), 2)},
        higher_is_better=False, floor=1.0,
        notes="a 5 ms QTimer in the GUI thread; lateness = gap between ticks minus 5 ms")
    return [throughput, bare, short, stall, train]


def main(argv: list[str] | None = None) -> int:
    """Command line: print the results as text, or as JSON lines with --json."""
    quick = os.environ.get("ARSTUDIO_BENCH_QUICK") == "1"
    p = argparse.ArgumentParser(prog="python -m arstudio.qt.bench_gui", description=__doc__.split("\n")[0])
    p.add_argument("--json", action="store_true", help="one BenchResult JSON object per line")
    p.add_argument("--checkpoint", help="checkpoint path or shipped name (default: nade-digits)")
    p.add_argument("--seconds", type=float, default=1.5 if quick else 12.0, help="time for each measurement")
    p.add_argument("--batch", type=int, default=16, help="samples per run (the studio's default grid)")
    args = p.parse_args(argv)
    threads = int(os.environ.get("ARSTUDIO_BENCH_THREADS", "0") or 0) or 1
    try:
        results = measure(args.checkpoint, args.seconds, args.batch, threads)
    except (CheckpointError, RuntimeError) as e:
        print(f"bench_gui: {e}", file=sys.stderr)
        return 1
    for r in results:
        if args.json:
            print(r.to_json(), flush=True)
        else:
            print(f"{r.name}: {r.ours.label} {r.ours.value:,.2f} {r.ours.unit} vs {r.baseline.label} "
                  f"{r.baseline.value:,.2f} {r.baseline.unit} -> ratio {r.ratio:.3f}"
                  f"{'' if r.floor is None else f' (floor {r.floor})'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
