"""End to end through ``main([...])``: train -> list -> eval -> sample, and the studio launcher."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import arstudio.cli as cli_mod
from arstudio.core.catalog import SHIPPED_DIR
from arstudio.core.checkpoint import file_hash, read_meta
from arstudio.io import read_png

Run = Callable[..., tuple[int, str, str]]
ErrLine = Callable[[int, str], str]


def test_train_list_eval_sample(cli: Run, user_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as m:
        m.setenv("ARSTUDIO_PROGRESS", "1")  # the bar as on a terminal (off one, a 20-step run writes none)
        rc, out, err = cli("train", "nade", "--data", "digits", "--steps", "20", "--config", "hidden=16")
    assert rc == 0, err
    # a user checkpoint never takes (and so never hides behind) a shipped checkpoint's name
    name = "nade-digits-2" if (SHIPPED_DIR / "nade-digits.safetensors").exists() else "nade-digits"
    ckpt = user_models / f"{name}.safetensors"
    assert ckpt.exists()
    assert "test NLL" in out and "bits/dim" in out and str(ckpt) in out
    assert "20/20" in err  # the progress bar reached the end
    meta = read_meta(ckpt)
    assert meta.recipe == "arstudio train nade --data digits --steps 20 --config hidden=16"
    assert meta.extra["train"]["steps"] == 20

    rc, out, _ = cli("list")
    assert rc == 0
    row = next(ln for ln in out.splitlines() if ln.startswith(name + " "))
    assert "user" in row and "nade" in row and "image" in row and "digits" in row
    assert f"{meta.metrics['test_nats']:.2f}" in row

    rc, out, _ = cli("list", "--json")
    rows = [json.loads(ln) for ln in out.splitlines()]
    mine = next(r for r in rows if r["name"] == name)
    assert mine["kind"] == "nade" and mine["modality"] == "image"

    rc, out, _ = cli("eval", name, "--json")
    assert rc == 0
    res = json.loads(out)
    assert res["split"] == "test" and res["n"] == meta.data["sizes"]["test"]
    assert res["nats"] == pytest.approx(meta.metrics["test_nats"], rel=1e-5)
    assert res["bits_per_dim"] == pytest.approx(meta.metrics["test_bits_per_dim"], rel=1e-5)

    rc, out, _ = cli("eval", str(ckpt), "--split", "valid")
    assert rc == 0 and "nats/image" in out and "bits/dim" in out and "valid" in out

    png = tmp_path / "s.png"
    rc, out, err = cli("sample", name, "--out", png, "--n", "9", "--seed", "3")
    assert rc == 0, err
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size == (3 * 65 + 1, 3 * 65 + 1)
        assert im.text["arstudio:checkpoint_sha256"] == file_hash(ckpt)
        assert im.text["arstudio:seed"] == "3"
        assert json.loads(im.text["arstudio:policy"])["temperature"] == 1.0


def test_default_out_never_clobbers_nor_shadows(cli: Run, user_models: Path, monkeypatch, tmp_path: Path) -> None:
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "fvsbn-digits.safetensors").write_bytes(b"")  # a shipped checkpoint of that name
    monkeypatch.setattr("arstudio.core.catalog.SHIPPED_DIR", shipped)
    for _ in range(2):
        rc, _, err = cli("train", "fvsbn", "--steps", "2", "--batch-size", "8")
        assert rc == 0, err
    assert sorted(p.name for p in user_models.iterdir()) == ["fvsbn-digits-2.safetensors", "fvsbn-digits-3.safetensors"]


def test_same_seed_same_file(cli: Run, trained: dict[str, Path], tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    assert cli("sample", trained["nade"], "--out", a, "--seed", "7")[0] == 0
    assert cli("sample", trained["nade"], "--out", b, "--seed", "7")[0] == 0
    assert cli("sample", trained["nade"], "--out", c, "--seed", "8")[0] == 0
    assert a.read_bytes() == b.read_bytes()
    assert not np.array_equal(read_png(a)[0], read_png(c)[0])


def test_temperature_zero_is_greedy(cli: Run, trained: dict[str, Path], tmp_path: Path) -> None:
    paths = [tmp_path / f"g{i}.png" for i in range(3)]
    for seed, p in zip((1, 1, 2), paths):
        rc, _, err = cli("sample", trained["nade"], "--out", p, "--temperature", "0", "--seed", str(seed), "--n", "4")
        assert rc == 0, err
    assert paths[0].read_bytes() == paths[1].read_bytes()
    pix = [read_png(p)[0] for p in paths]
    assert np.array_equal(pix[0], pix[2])  # greedy: the seed does not matter
    grid = pix[0]
    cells = [grid[1 + r * 65:r * 65 + 65, 1 + k * 65:k * 65 + 65] for r in range(2) for k in range(2)]
    assert all(np.array_equal(cells[0], cell) for cell in cells)  # every greedy sample is the same image


def test_sampling_options_and_orderings(cli: Run, trained: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "m.png"
    rc, _, err = cli("sample", trained["made"], "--out", out, "--ordering", "1", "--top-p", "0.9", "--top-k", "1",
                     "--n", "2")
    assert rc == 0, err
    text = read_png(out)[1]
    assert text["arstudio:ordering"] == "1"
    assert json.loads(text["arstudio:policy"]) == {"temperature": 1.0, "top_k": 1, "top_p": 0.9}


def test_eval_made_ensemble(cli: Run, trained: dict[str, Path]) -> None:
    rc, out, _ = cli("eval", trained["made"], "--json")
    assert rc == 0
    res = json.loads(out)
    assert res["kind"] == "made" and res["nats"] == pytest.approx(res["recorded_nats"], rel=1e-5)


def test_studio_is_opened_through_a_dynamic_import(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    fake = types.SimpleNamespace(main=lambda argv: calls.append(argv) or 0)
    monkeypatch.setattr(cli_mod, "_load_studio", lambda: fake)
    assert cli()[0] == 0
    assert cli("studio", "--fullscreen")[0] == 0
    assert calls == [[], ["--fullscreen"]]


def test_studio_missing_is_one_line(cli: Run, monkeypatch: pytest.MonkeyPatch, one_error_line: ErrLine) -> None:
    def missing() -> None:
        raise ModuleNotFoundError("No module named 'arstudio.qt.app'", name="arstudio.qt.app")

    monkeypatch.setattr(cli_mod, "_load_studio", missing)
    rc, _, err = cli()
    assert "studio" in one_error_line(rc, err)


def test_help_and_version(cli: Run) -> None:
    rc, out, _ = cli("--help")
    assert rc == 0 and "train" in out and "bench" in out
    rc, out, _ = cli("--version")
    assert rc == 0 and "arstudio" in out


def test_python_dash_m() -> None:
    out = subprocess.run([sys.executable, "-m", "arstudio", "--version"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and out.stdout.startswith("arstudio")


def test_a_bug_is_still_one_line(cli: Run, monkeypatch: pytest.MonkeyPatch, one_error_line: ErrLine) -> None:
    def boom(args: object) -> int:
        raise RuntimeError("something broke")

    monkeypatch.setattr(cli_mod, "cmd_list", boom)
    rc, _, err = cli("list")
    line = one_error_line(rc, err)
    assert "internal error" in line and "ARSTUDIO_DEBUG" in line



def test_eval_uses_the_split_the_checkpoint_recorded(cli: Run, trained: dict[str, Path], tmp_path: Path) -> None:
    from arstudio.core.checkpoint import load_checkpoint, save_checkpoint

    model, meta = load_checkpoint(trained["nade"])
    meta.data = {**meta.data, "split": {**meta.data["split"], "test": meta.data["split"]["train"][:50]}}
    other = save_checkpoint(tmp_path / "other-split.safetensors", model, meta)
    rc, out, _ = cli("eval", other, "--json")
    assert rc == 0 and json.loads(out)["n"] == 50


def test_studio_needs_qt(cli: Run, monkeypatch: pytest.MonkeyPatch, one_error_line: ErrLine) -> None:
    def no_qt() -> None:
        raise ModuleNotFoundError("No module named 'PySide6'", name="PySide6")

    monkeypatch.setattr(cli_mod, "_load_studio", no_qt)
    rc, _, err = cli("studio")
    assert "PySide6" in one_error_line(rc, err)


def test_list_labels_each_figure_with_its_unit(cli: Run) -> None:
    """Text in bits per character (tokens differ in length), the rest per step of their modality."""
    rc, out, _ = cli("list")
    assert rc == 0
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    expect = {"gpt-pydoc": ("nats/window", "bits/char"), "char_rnn-pydoc": ("nats/window", "bits/char"),
              "nade-digits": ("nats/image", "bits/dim"), "wavenet-speech16k": ("nats/clip", "bits/sample")}
    shipped = {k: v for k, v in expect.items() if (SHIPPED_DIR / f"{k}.safetensors").exists()}
    assert shipped, "the shipped checkpoints are part of the repository"
    for name, units in shipped.items():
        assert all(u in rows[name] for u in units), rows[name]
    assert "bits/token" not in out
