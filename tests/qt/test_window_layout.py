"""The window's docks: View shows and hides each, and the samples get the most room at every window size."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from arstudio.qt.dock_layout import STATE_VERSION, dock_sizes
from arstudio.qt.settings import StudioSettings

SIZES = [(1280, 800), (1600, 1000), (1920, 1080)]


def area(dock) -> int:
    return dock.width() * dock.height() if dock.isVisible() else 0


def at_size(qtbot, w, width: int, height: int) -> None:
    w.resize(width, height)
    qtbot.waitUntil(lambda: (w.width(), w.height()) == (width, height), timeout=20000)
    QApplication.processEvents()


@pytest.mark.qt_log_ignore("This plugin does not support raise")  # a floating dock, offscreen
def test_every_dock_has_a_working_view_entry(studio, checkpoints, qtbot) -> None:
    w = studio(checkpoints["nade"])
    w.show()
    qtbot.waitExposed(w)
    docks = [w.controls_dock, w.panel_dock, w.dist_dock, w.strip_dock, w.browser_dock]
    entries = {a.text(): a for a in w.view_menu.actions()}
    for dock in docks:
        toggle = dock.toggleViewAction()
        assert toggle in w.view_menu.actions() and toggle.isEnabled(), dock.windowTitle()
    for dock in (w.controls_dock, w.panel_dock, w.dist_dock, w.strip_dock):
        dock.toggleViewAction().trigger()
        qtbot.waitUntil(lambda dock=dock: not dock.isVisible(), timeout=20000)
        dock.toggleViewAction().trigger()
        qtbot.waitUntil(lambda dock=dock: dock.isVisible(), timeout=20000)
    w.panel_dock.close()  # closed by its button: View, or Reset layout, brings it back
    w.dist_dock.setFloating(True)
    entries["Reset &layout"].trigger()
    qtbot.waitUntil(lambda: w.panel_dock.isVisible() and not w.dist_dock.isFloating(), timeout=20000)


def test_a_closed_samples_dock_is_back_at_the_next_start(studio, checkpoints, qtbot) -> None:
    w = studio(checkpoints["nade"])
    w.show()
    qtbot.waitExposed(w)
    w.panel_dock.close()
    w.close()
    w2 = studio(checkpoints["nade"])
    w2.show()
    qtbot.waitExposed(w2)
    assert w2.panel_dock.isVisible()


@pytest.mark.parametrize("width,height", SIZES)
def test_the_samples_get_the_most_room(studio, checkpoints, qtbot, width, height) -> None:
    controls, panel, dist, strip = dock_sizes(width, height)
    assert panel > max(controls, dist) and strip <= 160
    w = studio(checkpoints["nade"])
    w.resize(width, height)
    w.show()
    qtbot.waitExposed(w)
    at_size(qtbot, w, width, height)
    areas = {d.objectName(): area(d) for d in (w.controls_dock, w.panel_dock, w.dist_dock, w.strip_dock)}
    assert max(areas, key=areas.get) == "dock-modality", areas
    assert w.strip_dock.height() <= 0.2 * height


def test_a_larger_window_gives_its_room_to_the_samples(studio, checkpoints, qtbot) -> None:
    w = studio(checkpoints["nade"])
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    at_size(qtbot, w, 1280, 800)
    strip, controls, panel = w.strip_dock.height(), w.controls_dock.width(), w.panel_dock.height()
    at_size(qtbot, w, 1600, 1000)
    assert w.strip_dock.height() <= strip + 10 and w.controls_dock.width() <= controls + 10
    assert w.panel_dock.height() >= panel + 150


@pytest.mark.qt_log_ignore("This plugin does not support raise")
def test_a_layout_saved_by_an_older_studio_is_not_restored(studio, checkpoints, qtbot) -> None:
    w = studio(checkpoints["nade"])
    w.show()
    qtbot.waitExposed(w)
    w.panel_dock.hide()
    w.strip_dock.setFloating(True)
    StudioSettings().save_window(w.saveGeometry(), w.saveState())  # version 0: as the studio saved it before
    w2 = studio(checkpoints["nade"])
    assert not w2.restoreState(w.saveState(), STATE_VERSION)
    w2.show()
    qtbot.waitExposed(w2)
    assert w2.panel_dock.isVisible() and not w2.strip_dock.isFloating()
