"""Long command-line jobs show progress on stderr, and stdout keeps only the results.

``ARSTUDIO_PROGRESS=1`` forces the bar (as on a terminal), ``0`` silences it; off a terminal the
default is a plain line now and then and one at the end.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest

from arstudio.cli import main
from arstudio.train import progress
from arstudio.train.progress import ProgressBar
from tests.train.test_compare_logic import image_checkpoint, text_checkpoint


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("progress")
    gated = d / "gated.safetensors"
    assert main(["train", "gated_pixelcnn", "--data", "digits17", "--steps", "2", "--batch-size", "8",
                 "--config", "channels=4", "--config", "layers=1", "--config", "head=4", "--config", "classes=10",
                 "--out", str(gated)]) == 0
    return {"gated": gated, "nade": image_checkpoint(d, "nade"), "made": image_checkpoint(d, "made"),
            "gpt": text_checkpoint(d, "gpt")}


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_forced_progress_on_eval_leaves_stdout_parsable(cli, ckpts, monkeypatch) -> None:
    monkeypatch.setenv("ARSTUDIO_PROGRESS", "1")
    rc, out, err = cli("eval", ckpts["gated"], "--marginal", "--json", "--limit", 40)
    assert rc == 0, err
    row = json.loads(out)  # stdout is the one JSON object, nothing else
    assert out.count("\n") == 1 and row["n"] == 40 and math.isfinite(row["marginal_nats"])
    assert "\reval test [" in err and "40/40" in err and "images/s" in err
    assert "\rmarginal over 10 classes [" in err


def test_forced_progress_on_sample_and_compare(cli, ckpts, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ARSTUDIO_PROGRESS", "1")
    rc, out, err = cli("sample", ckpts["nade"], "--n", 2, "--out", tmp_path / "s.png")
    assert rc == 0, err
    assert "\rsample 2 images [" in err and "64/64" in err and out.startswith("wrote ")
    rc, out, err = cli("sample", ckpts["gpt"], "--prompt", "ab", "--tokens", 5, "--out", tmp_path / "t.json")
    assert rc == 0, err
    assert "\rsample 5 tokens [" in err and "7/7" in err
    rc, out, err = cli("compare", ckpts["nade"], ckpts["made"], "--json")
    assert rc == 0, err
    assert json.loads(out)["steps"] == 64 and "\rcompare [" in err and "64/64" in err


def test_progress_off_writes_nothing(cli, ckpts, monkeypatch) -> None:
    monkeypatch.setenv("ARSTUDIO_PROGRESS", "0")
    rc, out, err = cli("eval", ckpts["gated"], "--marginal", "--json", "--limit", 8)
    assert rc == 0 and err == "" and json.loads(out)["n"] == 8


def test_off_a_terminal_a_quick_job_writes_no_progress(cli, ckpts, monkeypatch) -> None:
    monkeypatch.delenv("ARSTUDIO_PROGRESS", raising=False)
    rc, out, err = cli("eval", ckpts["gated"], "--limit", 8)
    assert rc == 0 and err == ""
    assert "first 8 of" in out


def test_bar_modes(monkeypatch) -> None:
    monkeypatch.delenv("ARSTUDIO_PROGRESS", raising=False)
    tty = Terminal()
    with ProgressBar(4, "job", stream=tty) as bar:
        for i in range(1, 5):
            bar.update(i)
    assert tty.getvalue().startswith("\rjob [") and "4/4 100%" in tty.getvalue() and tty.getvalue().endswith("\n")

    log = io.StringIO()  # off a terminal: a line every LINE_EVERY_S seconds (here: every update), no \r
    monkeypatch.setattr(progress, "LINE_EVERY_S", 0.0)
    with ProgressBar(3, "job", stream=log, unit="images") as bar:
        for i in range(1, 4):
            bar.update(i)
    lines = log.getvalue().splitlines()
    assert [ln.split("]")[1].split()[0] for ln in lines] == ["2/3", "3/3"] and "\r" not in log.getvalue()
    assert lines[-1].startswith("job [####")
    assert "images/s" in lines[-1]

    for value, mode in (("1", "bar"), ("lines", "lines"), ("off", "off")):
        monkeypatch.setenv("ARSTUDIO_PROGRESS", value)
        assert progress.progress_mode(io.StringIO()) == mode
    silent = Terminal()
    with ProgressBar(2, "job", stream=silent) as bar:
        bar.update(2)
    assert silent.getvalue() == ""


def test_limit_is_checked(cli, ckpts, one_error_line) -> None:
    line = one_error_line(*cli("eval", ckpts["gated"], "--limit", 0)[::2])
    assert "--limit must be at least 1" in line
