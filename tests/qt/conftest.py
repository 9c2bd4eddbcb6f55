"""Fixtures for the studio's tests: tiny untrained checkpoints and a window that has loaded one."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from arstudio.core import registry
from arstudio.core.checkpoint import CheckpointMeta, save_checkpoint


@pytest.fixture(scope="session", autouse=True)
def gui_collector(qapp):
    """As in the studio (``make_app``): the cyclic GC runs only from a timer in the GUI thread."""
    from arstudio.qt.gc_guard import install_gui_collector

    return install_gui_collector(qapp)


@pytest.fixture(autouse=True)
def no_user_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the user's own checkpoint folder and studio settings out of the tests."""
    monkeypatch.setenv("ARSTUDIO_USER_MODELS", str(tmp_path / "user-models"))
    monkeypatch.setenv("ARSTUDIO_CONFIG_DIR", str(tmp_path / "config"))


def make_checkpoint(folder: Path, kind: str, config: dict) -> Path:
    """An untrained model of ``kind`` with random weights (enough to sample from), saved to ``folder``."""
    torch.manual_seed(0)
    model = registry.get(kind).build(config)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))  # spread the probabilities so samples differ
    meta = CheckpointMeta(kind=kind, config=model.spec.config, data={"name": "digits"},
                          metrics={"test_nats": 40.0, "test_bits_per_dim": 0.9})
    return save_checkpoint(folder / f"{kind}-tiny.safetensors", model, meta)


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny NADE, MADE (three orderings) and FVSBN checkpoints over 8x8 images."""
    d = tmp_path_factory.mktemp("ckpt")
    return {
        "nade": make_checkpoint(d, "nade", {"shape": [1, 8, 8], "hidden": 8}),
        "made": make_checkpoint(d, "made", {"shape": [1, 8, 8], "hidden": [16], "num_masks": 3}),
        "fvsbn": make_checkpoint(d, "fvsbn", {"shape": [1, 8, 8]}),
    }


@pytest.fixture
def studio(qtbot):
    """Factory: a studio window that has loaded a checkpoint, set to ``batch`` samples, ``seed``, ``rate``."""

    def open_window(path: Path, batch: int = 4, seed: int = 3, rate: float | None = None):
        from arstudio.qt.main_window import MainWindow

        w = MainWindow(path)
        qtbot.addWidget(w)
        qtbot.waitUntil(lambda: w.session.model is not None or bool(w.last_error), timeout=10000)
        w.controls.samples.setValue(batch)
        w.controls.seed.setValue(seed)
        w.controls.set_rate(rate)
        return w

    return open_window


@pytest.fixture
def wait_finished(qtbot):
    """Wait until a window's current run has finished and its last frame is drawn."""

    def wait(w, timeout: int = 10000) -> None:
        qtbot.waitUntil(lambda: w.session.state == "finished", timeout=timeout)
        w._redraw.flush()

    return wait
