"""Fixtures for end-to-end command-line tests: a private user models folder and tiny checkpoints."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from arstudio.cli import main

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def user_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """ARSTUDIO_USER_MODELS pointed at an empty temporary folder."""
    d = tmp_path / "user-models"
    monkeypatch.setenv("ARSTUDIO_USER_MODELS", str(d))
    return d


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], user_models: Path) -> Run:
    """Run ``main(argv)`` and return (exit status, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        rc = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return rc, out, err

    return run


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny NADE and MADE checkpoints trained for 20 steps through the CLI, shared by the session."""
    d = tmp_path_factory.mktemp("trained")
    paths = {"nade": d / "nade.safetensors", "made": d / "made.safetensors"}
    assert main(["train", "nade", "--data", "digits", "--steps", "20", "--config", "hidden=16",
                 "--out", str(paths["nade"])]) == 0
    assert main(["train", "made", "--steps", "20", "--config", "hidden=[16,16]", "--config", "num_masks=2",
                 "--out", str(paths["made"])]) == 0
    return paths


def _one_error_line(rc: int, err: str) -> str:
    assert rc != 0
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("arstudio")
    return lines[0]


@pytest.fixture
def one_error_line() -> Callable[[int, str], str]:
    """Assert a failed command printed exactly one line on stderr and no traceback; return that line."""
    return _one_error_line
