"""The distribution view over 256 mu-law levels: kept entries at their levels, in amplitude order, labelled so.

Also the log p strip's shading of a primer (thousands of kept steps).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF

from arstudio.modalities.audio.mulaw import level_labels, mu_law_decode
from arstudio.qt.views.dist_plot import DistPlot
from tests.qt.test_audio_panel import audio_info, fill, record_for


def test_levels_are_drawn_at_their_place_in_amplitude_order(qtbot):
    plot = DistPlot()
    qtbot.addWidget(plot)
    plot.resize(420, 300)
    plot.show()
    plot.set_value_order(True)
    rec = record_for(audio_info(), steps=10)
    codes = np.array([60, 61, 200, 201, 128, 127, 10, 250, 128, 129])
    fill(rec, codes, 0, 10)
    view = rec.view(2, 0)  # the compact record: the 16 most likely levels and the rest mass
    assert view.total == 256 and len(view.support) >= 16
    plot.show_dist(view, chosen=float(rec.values[2, 0]), log_p=float(rec.log_prob[2, 0]), title="step 2")
    x = np.asarray(plot.bars.opts["x"])
    np.testing.assert_array_equal(x, np.asarray(view.support, dtype=float))  # each bar stands at its level
    heights = np.asarray(plot.bars.opts["height"])
    assert x[np.argmax(heights)] == 200 and sorted(x) != list(x)  # listed most likely first, drawn in place
    brushes = plot.bars.opts["brushes"]
    chosen = [i for i, v in enumerate(x) if v == 200]
    assert brushes[chosen[0]].color() != brushes[(chosen[0] + 1) % len(x)].color()
    # the axis spans every level; its labels are amplitudes, increasing left to right
    lo, hi = plot.plot.getViewBox().viewRange()[0]
    assert lo < 0 and hi > 255
    ticks = [(v, t) for v, t in plot.plot.getAxis("bottom")._tickLevels[0] if t]
    assert 4 <= len(ticks) <= 12 and ticks[0] == (0, level_labels()[0]) and ticks[-1][0] == 255
    amps = [float(t) for _, t in ticks]
    assert amps == sorted(amps) and np.isclose(amps[0], mu_law_decode(np.array([0]))[0], atol=1e-4)
    assert plot.rest_label.isVisible() and "other 240 values" in plot.rest_label.toPlainText()
    assert "chosen " + level_labels()[200] in plot.caption.text()
    # any level can be clicked (forced), not only the listed ones
    clicked = []
    plot.value_clicked.connect(clicked.append)
    vb = plot.plot.getPlotItem().getViewBox()

    class Click:
        def __init__(self, x: float) -> None:
            self.pos = vb.mapViewToScene(QPointF(x, 0.5))

        def scenePos(self):  # noqa: N802 (pyqtgraph's name)
            return self.pos

    plot._on_click(Click(100.1))
    assert clicked == [100]
    # the next step of the same model keeps the axis as it was
    before = plot.plot.getAxis("bottom")._tickLevels
    plot.show_dist(rec.view(3, 0), chosen=201.0, log_p=-1.0)
    assert plot.plot.getAxis("bottom")._tickLevels is before


def test_value_order_is_off_by_default_and_can_be_turned_off_again(qtbot):
    plot = DistPlot()
    qtbot.addWidget(plot)
    rec = record_for(audio_info(), steps=4)
    fill(rec, np.array([5, 6, 7, 8]), 0, 4)
    plot.show_dist(rec.view(1, 0), chosen=6.0, log_p=-1.0)
    assert list(plot.bars.opts["x"])[:3] == [0, 1, 2]  # most likely first, as for text
    plot.set_value_order(True)
    plot.show_dist(rec.view(1, 0), chosen=6.0, log_p=-1.0)
    assert 6 in list(plot.bars.opts["x"])
    plot.set_value_order(False)
    plot.show_dist(rec.view(1, 0), chosen=6.0, log_p=-1.0)
    assert list(plot.bars.opts["x"])[:3] == [0, 1, 2]


def test_spectrogram_bands_are_labelled_in_hertz():
    from arstudio.qt.modalities.audio.spectrogram import band_ticks

    from arstudio.modalities.audio.mel import MelSettings
    from arstudio.modalities.audio.live_mel import LiveMel

    hz = LiveMel(MelSettings(), 16000).band_hz()
    ticks = band_ticks(hz)
    assert [t for _, t in ticks] == ["250", "500", "1k", "2k", "4k"]  # the top band is centred below 8k
    for pos, text in ticks:
        f = float(text.replace("k", "000"))
        assert abs(hz[int(pos)] - f) / f < 0.1


def test_the_log_p_strip_shades_a_primer_and_dots_only_later_forced_steps(qtbot):
    from arstudio.qt.views.strip import LogProbStrip

    strip = LogProbStrip()
    qtbot.addWidget(strip)
    strip.reset(12000)
    forced = np.zeros(9000, bool)
    forced[:8000] = True  # a primer of 8,000 kept samples ...
    forced[8500] = True  # ... and one level the person forced later
    strip.set_series(np.full(9000, -2.0), forced, sample=0, kept=8000)
    assert strip.kept.isVisible() and np.allclose(strip.kept.getRegion(), (-0.5, 7999.5))
    assert len(strip.forced.data) == 1 and strip.forced.data["x"][0] == 8500
    strip.set_series(np.full(10, -2.0), np.zeros(10, bool), sample=0)
    assert not strip.kept.isVisible()
