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
