"""Fixtures of the audio tests: the command line, a tiny WaveNet checkpoint trained on tones16k."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from arstudio.cli import main

Run = Callable[..., tuple[int, str, str]]

TINY = ["--config", "stacks=1", "--config", "layers=3", "--config", "residual_channels=4",
        "--config", "dilation_channels=4", "--config", "skip_channels=4", "--config", "cond_channels=4",
        "--config", "length=4096"]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run ``main(argv)`` with a private user models folder; return (exit status, stdout, stderr)."""
    monkeypatch.setenv("ARSTUDIO_USER_MODELS", str(tmp_path / "user-models"))

    def run(*argv: object) -> tuple[int, str, str]:
        capsys.readouterr()
        rc = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return rc, out, err

    return run


@pytest.fixture(scope="session")
def tiny_wavenet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny WaveNet (voices and an 80-bin mel, 4,096 samples at most) trained 2 steps on tones16k via the CLI."""
    pytest.importorskip("arstudio.models.wavenet")
    path = tmp_path_factory.mktemp("wavenet") / "tiny-wavenet.safetensors"
    assert main(["train", "wavenet", "--data", "tones16k", "--steps", "2", "--batch-size", "2", *TINY,
                 "--out", str(path)]) == 0
    return path


def _one_line(rc: int, err: str) -> str:
    assert rc != 0
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("sample ")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def one_line() -> Callable[[int, str], str]:
    """Assert a failed command printed exactly one line on stderr (progress lines aside), no traceback; return it."""
    return _one_line
