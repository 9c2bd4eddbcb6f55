"""The studio remembers recent checkpoints and its window layout between sessions."""

from __future__ import annotations

from arstudio.qt.settings import StudioSettings, settings_path


def test_recent_files_and_layout_survive_a_restart(studio, checkpoints, qtbot) -> None:
    w = studio(checkpoints["nade"])
    assert settings_path().parent.name == "config"  # the tests' folder, never the person's
    recent = [a.toolTip() for a in w.recent_menu.actions()]
    assert recent and recent[0].endswith(checkpoints["nade"].name)
    w.show()
    w.controls_dock.hide()
    w.resize(900, 640)
    w.close()
    geometry, state = StudioSettings().window()
    assert geometry is not None and state is not None

    w2 = studio(checkpoints["fvsbn"])
    w2.show()
    assert not w2.controls_dock.isVisible() and w2.panel_dock.isVisible()
    names = [a.text() for a in w2.recent_menu.actions()]
    assert names[:2] == [checkpoints["fvsbn"].name, checkpoints["nade"].name]
    w2.recent_menu.actions()[1].trigger()  # open the NADE again from the menu
    qtbot.waitUntil(lambda: w2.session.model is not None and w2.session.model.spec.kind == "nade", timeout=10000)


def test_recent_files_forget_missing_files(tmp_path) -> None:
    s = StudioSettings()
    gone = tmp_path / "gone.safetensors"
    gone.write_bytes(b"x")
    s.add_recent(gone)
    gone.unlink()
    assert StudioSettings().recent_files() == []


def test_sampling_settings_and_speed_survive_a_restart(studio, checkpoints) -> None:
    w = studio(checkpoints["nade"], batch=9, seed=41, rate=200)
    w.controls.temperature.setValue(0.7)
    w.controls.top_k.setValue(3)
    w.controls.top_p.setValue(0.85)
    w.close()
    from arstudio.qt.main_window import MainWindow

    w2 = MainWindow(checkpoints["nade"])
    try:
        c = w2.controls
        assert (c.samples.value(), c.seed.value(), c.top_k.value()) == (9, 41, 3)
        assert abs(c.temperature.value() - 0.7) < 1e-9 and abs(c.top_p.value() - 0.85) < 1e-9
        assert c.rate() == 200 and w2.session.rate == 200
        s = w2.session.settings
        assert (s.batch, s.seed, s.policy.top_k) == (9, 41, 3)
    finally:
        w2.close()
    StudioSettings().save_sampling({"rate": None, "seed": 5})
    assert StudioSettings().sampling()["rate"] is None


def test_unreadable_sampling_settings_keep_the_defaults(studio, checkpoints) -> None:
    from PySide6.QtCore import QSettings

    qs = QSettings(str(settings_path()), QSettings.Format.IniFormat)
    qs.setValue("sampling/seed", "not a number")
    qs.setValue("sampling/samples", "100000")  # clamped to the spin box's maximum
    qs.sync()
    assert "seed" not in StudioSettings().sampling()
    w = studio(checkpoints["nade"], batch=4)
    assert w.controls.seed.value() == 3  # the fixture's; the broken value was ignored, not raised


def test_export_and_replay_dialogs_open_in_the_last_export_folder(studio, wait_finished, checkpoints, tmp_path,
                                                                  monkeypatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    asked: list[str] = []
    folder = tmp_path / "exports"
    folder.mkdir()

    def save_as(_parent, _title, start, _filters):
        asked.append(start)
        return str(folder / "grid.png"), ""

    def open_file(_parent, _title, start, _filters):
        asked.append(start)
        return "", ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_as)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", open_file)
    w = studio(checkpoints["nade"], batch=2)
    w.controls.play_button.click()
    wait_finished(w)
    assert w.export_dialog() == folder / "grid.png" and (folder / "grid.png").exists()
    w.close()
    w2 = studio(checkpoints["nade"], batch=2)  # the next session remembers the folder
    w2.controls.play_button.click()
    wait_finished(w2)
    w2.export_dialog()
    w2.replay_dialog()
    assert not asked[0].startswith(str(folder))  # the first time: the working folder
    assert asked[1].startswith(str(folder) + "/") and asked[2] == str(folder)


def test_the_studio_reopens_the_last_model_else_the_default(studio, checkpoints, qtbot) -> None:
    from arstudio.qt.main_window import MainWindow

    def started() -> str:
        w = MainWindow()  # no checkpoint given, as `arstudio` with no argument
        qtbot.addWidget(w)
        qtbot.waitUntil(lambda: w.session.model is not None or bool(w.last_error), timeout=20000)
        name = w.session.model.name if w.session.model is not None else w.last_error
        w.close()
        return name

    assert StudioSettings().recent_files() == []
    assert started() == "nade-digits"  # nothing opened before: the shipped default
    w = studio(checkpoints["fvsbn"])
    w.close()
    assert started() == "fvsbn-tiny"
