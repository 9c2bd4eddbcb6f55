"""Memory of a 10-second WaveNet run in the studio (160,000 steps): the GUI process's RSS as the run goes.

Run as a script to print the figures (``python tests/qt/test_audio_memory.py [SECONDS]``); the
slow test asserts the bound on a 4-second run (64,000 steps). The run record allocates its compact
arrays once at the start (~22 MB for a 10-second run of one sample; pages are touched as steps
fill them) and the panel fills two buffers allocated with the model, so the process must not grow
by more than those.

Measured (2 shared cores, tiny WaveNet, process sampler, 1 thread): 160,000 steps in 51 s; the GUI
process went from 369 to 396 MB (+27 MB, rising evenly as the record's pages fill: 21 MB of it is
the record, 0.8 MB the panel's buffers, the rest pyqtgraph's drawing of the latest frame).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import pytest

# Besides the run record (~9 MB at 4 s, ~22 MB at 10 s) the process may grow by pyqtgraph's drawing caches;
# a list of per-step objects would be ~10x the record (~90 MB at 4 s).
DRAWING_MB = 38.0


def rss_mb() -> float:
    """This process's resident set size, MB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(seconds: float = 10.0, sampler: str = "process", folder: Path | None = None) -> dict:
    """Run a tiny WaveNet for ``seconds`` of 16 kHz audio in the studio at full speed; RSS before, during, after."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["ARSTUDIO_SAMPLER"] = sampler
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from arstudio.core.device import set_threads
    from arstudio.qt.app import make_app
    from arstudio.qt.main_window import MainWindow
    from tests.qt.test_audio_studio import tiny_wavenet_checkpoint

    set_threads()  # as `arstudio studio` starts: one torch thread, which the sampler's child process takes too
    app = QApplication.instance() or make_app([])
    folder = Path(tempfile.mkdtemp()) if folder is None else folder
    os.environ.setdefault("ARSTUDIO_USER_MODELS", str(folder / "user-models"))
    os.environ.setdefault("ARSTUDIO_CONFIG_DIR", str(folder / "config"))
    ckpt = tiny_wavenet_checkpoint(folder, seconds=seconds, n_mels=80, hop_length=256, n_fft=1024)
    w = MainWindow(ckpt)
    w.resize(1260, 780)
    w.show()
    deadline = time.time() + 60
    while w.session.model is None and time.time() < deadline:
        app.processEvents()
        time.sleep(0.01)
    w.controls.set_rate(None)
    w.panel.controls.length.setValue(seconds)
    for _ in range(50):
        app.processEvents()
    steps = int(seconds * 16000)
    before = rss_mb()
    t0, points = time.time(), []
    loop = QEventLoop()

    def look() -> None:  # every 100 ms, in the studio's own event loop (as it runs for a person)
        rec = w.session.record
        if rec is not None and (not points or rec.filled >= points[-1][0] + steps // 10):
            points.append((rec.filled, rss_mb()))
        if w.session.state == "finished" or time.time() - t0 > 1800:
            loop.quit()

    timer = QTimer()
    timer.timeout.connect(look)
    timer.start(100)
    w.session.play()
    loop.exec()
    timer.stop()
    if w.session.state != "finished":
        raise TimeoutError("the run did not finish in 30 minutes")
    w._redraw.flush()
    app.processEvents()
    rec = w.session.record
    after = rss_mb()
    out = {"steps": rec.filled, "seconds": time.time() - t0, "rss_before_mb": before, "rss_after_mb": after,
           "growth_mb": after - before, "record_mb": rec.nbytes() / 2**20, "points": points,
           "panel_arrays_mb": (w.panel.audio.nbytes + w.panel.mel.frames.nbytes) / 2**20}
    w.close()
    app.processEvents()
    assert rec.filled == steps, (rec.filled, steps, rec.info.request, w.last_error)
    return out


@pytest.mark.slow
def test_a_four_second_run_holds_memory_flat(qapp, tmp_path):
    got = measure(4.0, sampler="thread", folder=tmp_path)
    print(f"\n4 s run: RSS {got['rss_before_mb']:.0f} -> {got['rss_after_mb']:.0f} MB "
          f"(+{got['growth_mb']:.1f} MB; record {got['record_mb']:.1f} MB) in {got['seconds']:.0f} s")
    assert got["growth_mb"] < got["record_mb"] + DRAWING_MB


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    r = measure(secs, sampler=os.environ.get("ARSTUDIO_SAMPLER", "process"))
    print(f"{r['steps']:,} steps in {r['seconds']:.1f} s; RSS {r['rss_before_mb']:.1f} -> {r['rss_after_mb']:.1f} MB "
          f"(+{r['growth_mb']:.1f} MB); run record {r['record_mb']:.1f} MB; "
          f"panel buffers {r['panel_arrays_mb']:.2f} MB")
    for filled, mb in r["points"]:
        print(f"  {filled:>8,} steps: {mb:.1f} MB")
