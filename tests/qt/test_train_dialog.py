"""Training from the studio: live curves, pause, stop and resume, periodic atomic saves, bad folders."""

from __future__ import annotations


import numpy as np
import pytest
from PIL import Image

from arstudio.core.catalog import user_models_dir
from arstudio.core.checkpoint import load_checkpoint, read_meta


@pytest.fixture
def dialog(qtbot):
    from arstudio.qt.checkpoints.train_dialog import TrainDialog

    d = TrainDialog()
    qtbot.addWidget(d)
    yield d
    d.shutdown()


def _set(d, kind="nade", steps=60, batch=16, every=20, name="mine") -> None:
    d.kind.setCurrentIndex(d.kind.findData(kind))
    d.steps.setValue(steps)
    d.batch.setValue(batch)
    d.eval_every.setValue(every)
    d.name.setText(name)


def _wait(qtbot, d, timeout=60000):
    qtbot.waitUntil(lambda: d.last_done is not None, timeout=timeout)
    return d.last_done


def test_trains_saves_and_shows_curves(dialog, qtbot) -> None:
    _set(dialog)
    saved: list[str] = []
    dialog.checkpoint_saved.connect(saved.append)
    assert dialog.start()
    done = _wait(qtbot, dialog)
    assert done.error is None and not done.cancelled
    out = user_models_dir() / "mine.safetensors"
    assert done.path == out and str(out) in saved
    model, meta = load_checkpoint(out)
    assert meta.kind == "nade" and meta.extra["train_state"] == {"step": 60, "steps": 60, "completed": True}
    assert meta.history["eval_step"] == [20, 40, 60] and "test_nats" in meta.metrics
    steps, train, eval_steps, valid = dialog.curves.curves()
    assert steps[-1] == 60 and len(train) == 60 and list(eval_steps) == [20, 40, 60]
    assert dialog.progress.value() == 60 and "Done" in dialog.progress.format()


def test_pause_holds_and_stop_keeps_a_resumable_checkpoint(dialog, qtbot) -> None:
    _set(dialog, steps=100000, every=50, name="long")
    assert dialog.start()
    qtbot.waitUntil(lambda: dialog.progress.value() >= 60, timeout=30000)
    dialog.toggle_pause()
    qtbot.wait(300)
    held = dialog.progress.value()
    qtbot.wait(400)
    assert dialog.progress.value() == held and "paused" in dialog.progress.format()
    dialog.toggle_pause()
    qtbot.waitUntil(lambda: dialog.progress.value() > held + 20, timeout=30000)
    dialog.cancel()
    done = _wait(qtbot, dialog)
    assert done.cancelled and done.error is None
    meta = read_meta(done.path)
    stopped = meta.extra["train_state"]["step"]
    assert not meta.extra["train_state"]["completed"] and stopped > held
    # resume it: the run continues from where it stopped, with its earlier curve
    dialog.refresh_resumable()
    dialog.resume.setCurrentIndex(dialog.resume.findData(str(done.path)))
    dialog._on_resume()
    dialog.steps.setValue(stopped + 30)
    dialog.last_done = None
    assert dialog.start()
    done2 = _wait(qtbot, dialog)
    assert done2.error is None, done2.error
    meta2 = read_meta(done2.path)
    assert meta2.extra["train_state"] == {"step": stopped + 30, "steps": stopped + 30, "completed": True}
    assert meta2.history["step"][0] == 1 and meta2.history["step"][-1] >= stopped + 20


def test_a_run_that_dies_midway_leaves_the_last_save_loadable(dialog, qtbot, monkeypatch) -> None:
    from arstudio.train import fit

    real = fit.Trainer.batch_indices

    def dies(self, n, g):
        if self.step > 45:
            raise RuntimeError("killed")
        return real(self, n, g)

    monkeypatch.setattr(fit.Trainer, "batch_indices", dies)
    _set(dialog, steps=100, every=20, name="dies")
    assert dialog.start()
    done = _wait(qtbot, dialog)
    assert done.error == "killed"
    out = user_models_dir() / "dies.safetensors"
    model, meta = load_checkpoint(out)  # the save after step 40, whole
    assert meta.extra["train_state"]["step"] == 40 and not meta.extra["train_state"]["completed"]
    assert "intact" in dialog.status.text()
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]


def test_read_only_folder_is_refused_before_training(dialog, tmp_path, make_read_only) -> None:
    folder = user_models_dir()
    folder.mkdir(parents=True)
    make_read_only(folder)
    _set(dialog)
    assert not dialog.start()
    assert dialog.status.text().startswith("Cannot save the checkpoint: ")
    assert "permission denied for the folder" in dialog.status.text() and "\n" not in dialog.status.text()


def test_a_folder_that_cannot_be_made_is_refused(dialog, tmp_path, monkeypatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("ARSTUDIO_USER_MODELS", str(blocker / "models"))
    _set(dialog)
    assert not dialog.start()
    assert dialog.status.text().startswith("Cannot save the checkpoint: ")
    assert f"{blocker} is a file, not a folder" in dialog.status.text() and "\n" not in dialog.status.text()


def test_trains_on_a_folder_of_images(dialog, qtbot, tmp_path) -> None:
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        a = np.full((32, 32), 255, np.uint8)
        a[8:24, 4 + i:10 + i] = 0  # a dark bar on white: inverted, then binarized
        Image.fromarray(a).save(imgs / f"{i}.png")
    (imgs / "notes.txt").write_text("not an image")
    Image.fromarray(rng.integers(0, 255, (5, 5), dtype=np.uint8)).save(imgs / "noise.jpg")
    _set(dialog, steps=10, every=5, name="folder")
    dialog.set_folder(imgs)
    assert dialog.request().data == f"folder:{imgs}"
    assert dialog.start()
    done = _wait(qtbot, dialog)
    assert done.error is None, done.error
    meta = read_meta(done.path)
    assert meta.data["name"] == "folder:imgs" and sum(meta.data["sizes"].values()) == 13


def test_too_few_images_is_one_clear_line(dialog, qtbot, tmp_path) -> None:
    (tmp_path / "few").mkdir()
    Image.new("L", (8, 8)).save(tmp_path / "few" / "a.png")
    _set(dialog, steps=10, name="few")
    dialog.set_folder(tmp_path / "few")
    assert dialog.start()
    done = _wait(qtbot, dialog)
    assert "has 1 readable images" in done.error and "at least 10" in done.error


def test_the_window_lists_a_trained_checkpoint(studio, checkpoints, qtbot) -> None:
    w = studio(checkpoints["nade"])
    d = w.show_train_dialog()
    _set(d, steps=20, every=10, name="from-window")
    assert d.start()
    _wait(qtbot, d)
    names = [e.name for e in w.browser.entries]
    assert "from-window" in names
    assert w.controls.model_combo.findData(str(user_models_dir() / "from-window.safetensors")) >= 0
    w.close()


def test_the_default_name_is_never_a_shipped_checkpoints(dialog) -> None:
    from arstudio.core import catalog

    shipped = {e.name for e in catalog.list_checkpoints() if e.source == "shipped"}
    assert "gpt-pydoc" in shipped
    dialog.kind.setCurrentIndex(dialog.kind.findData("gpt"))
    assert dialog.data.currentData() == "pydoc"
    assert dialog.name.text() == "gpt-pydoc-2"  # "<kind>-<data>" is the shipped model's name
    user_models_dir().mkdir(parents=True)
    (user_models_dir() / "gpt-pydoc-2.safetensors").write_bytes(b"")
    dialog.kind.setCurrentIndex(dialog.kind.findData("nade"))
    dialog.kind.setCurrentIndex(dialog.kind.findData("gpt"))
    assert dialog.name.text() == "gpt-pydoc-3"
    for k in range(dialog.kind.count()):  # every kind's default is free
        dialog.kind.setCurrentIndex(k)
        assert dialog.name.text() not in shipped and not (user_models_dir() / f"{dialog.name.text()}.safetensors").exists()


def test_saving_over_or_as_a_shipped_checkpoint_is_refused(dialog) -> None:
    from arstudio.core import catalog

    target = catalog.SHIPPED_DIR / "nade-digits.safetensors"
    before = target.stat().st_mtime_ns
    _set(dialog, name="nade-digits")  # the shipped one would be found by this name instead
    assert not dialog.start() and not dialog.running
    assert dialog.status.text().startswith("Cannot save the checkpoint: 'nade-digits' is a shipped checkpoint's name")
    assert "nade-digits-2" in dialog.status.text()
    _set(dialog, name=str(catalog.SHIPPED_DIR / "nade-digits"))  # a path into models/
    assert not dialog.start() and not dialog.running
    assert "would overwrite a shipped checkpoint" in dialog.status.text()
    _set(dialog, name=str(catalog.SHIPPED_DIR / "new-one"))
    assert not dialog.start() and "is in the shipped checkpoints' folder" in dialog.status.text()
    assert target.stat().st_mtime_ns == before and not (catalog.SHIPPED_DIR / "new-one.safetensors").exists()


def test_the_live_curve_has_axes_with_units_and_a_legend(dialog, qtbot) -> None:
    assert dialog.curves.axis_titles() == ("NLL (nats per image)", "training step")
    assert [label.text for _, label in dialog.curves.legend.items] == ["train", "held-out (valid split)"]
    dialog.kind.setCurrentIndex(dialog.kind.findData("char_rnn"))
    assert dialog.curves.axis_titles()[0] == "NLL (nats per window)"
    dialog.kind.setCurrentIndex(dialog.kind.findData("nade"))
    _set(dialog, steps=20, every=10, name="curve")
    assert dialog.start()
    done = _wait(qtbot, dialog)
    assert done.error is None and "nats/image" in dialog.status.text() and "bits/dim" in dialog.status.text()


def test_the_folder_picker_opens_beside_the_last_folder(dialog, tmp_path, monkeypatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    starts: list[str] = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda _parent, _title, start: starts.append(start) or "")
    (tmp_path / "pictures" / "cats").mkdir(parents=True)
    dialog.set_folder(tmp_path / "pictures" / "cats")
    dialog.kind.setCurrentIndex(dialog.kind.findData("made"))  # another kind: the folder is forgotten, not where it was
    dialog.data.setCurrentIndex(dialog.data.findData("folder"))
    dialog._on_data()
    assert starts == [str(tmp_path / "pictures")]
