"""The checkpoint browser: what each entry shows, its training curve, selecting loads, unreadable files listed."""

from __future__ import annotations

import shutil

import torch

from arstudio.core import registry
from arstudio.core.catalog import user_models_dir
from arstudio.core.checkpoint import CheckpointMeta, save_checkpoint


def _user_checkpoint(name: str = "mine") -> None:
    model = registry.get("nade").build({"shape": [1, 8, 8], "hidden": 4})
    meta = CheckpointMeta(kind="nade", config=model.spec.config, data={"name": "digits"},
                          metrics={"test_nats": 30.5}, history={"step": [1, 2, 3], "train_nats": [40.0, 35.0, 31.0],
                                                                 "eval_step": [3], "valid_nats": [32.0]},
                          recipe="arstudio train nade", extra={"modality": "image"})
    save_checkpoint(user_models_dir() / f"{name}.safetensors", model, meta)


def test_entries_show_figures_and_curves(qtbot, checkpoints) -> None:
    from arstudio.qt.checkpoints.browser import CheckpointBrowser
    from arstudio.qt.checkpoints.browser_rows import SUBLINE_ROLE

    _user_checkpoint()
    (user_models_dir() / "broken.safetensors").write_bytes(b"not a checkpoint")
    b = CheckpointBrowser()
    qtbot.addWidget(b)
    mine = b.entry(str(user_models_dir() / "mine.safetensors"))
    assert mine is not None and mine.source == "yours" and mine.modality == "image"
    assert mine.parameters == sum(p.numel() for p in registry.get("nade").build({"shape": [1, 8, 8], "hidden": 4}).parameters())
    assert mine.metric == ("test", 30.5)
    broken = b.entry(str(user_models_dir() / "broken.safetensors"))
    assert broken.meta is None and ("truncated" in broken.error or "not a safetensors" in broken.error)
    chosen: list[str] = []
    b.checkpoint_chosen.connect(chosen.append)
    for i in range(b.tree.topLevelItemCount()):
        item = b.tree.topLevelItem(i)
        if item.text(0) == "mine":
            assert item.data(0, SUBLINE_ROLE) == "nade · digits · yours"
            assert item.text(1) == "30.50" and item.data(1, SUBLINE_ROLE) == "nats/image"  # no bits recorded
            assert "held-out (test): 30.50 nats/image" in item.toolTip(2)
            b.tree.setCurrentItem(item)
    assert chosen == [str(user_models_dir() / "mine.safetensors")]
    steps, train, eval_steps, valid = b.curves.curves()
    assert list(train) == [40.0, 35.0, 31.0] and list(valid) == [32.0]
    # a file opened from elsewhere is listed as "opened"
    b.add_file(checkpoints["fvsbn"])
    assert b.entry(str(checkpoints["fvsbn"])).source == "opened"


def test_selecting_in_the_window_loads_it(studio, checkpoints, qtbot, tmp_path) -> None:
    user_models_dir().mkdir(parents=True, exist_ok=True)
    shutil.copy(checkpoints["fvsbn"], user_models_dir() / "fv.safetensors")
    w = studio(checkpoints["nade"])
    w.browser.refresh()
    assert w.browser.current_path() == str(checkpoints["nade"])  # the loaded file, listed and selected
    for i in range(w.browser.tree.topLevelItemCount()):
        item = w.browser.tree.topLevelItem(i)
        if item.text(0) == "fv":
            w.browser.tree.setCurrentItem(item)
    qtbot.waitUntil(lambda: w.session.model is not None and w.session.model.meta.kind == "fvsbn", timeout=10000)
    assert torch.get_num_threads() == 1


def _row(b, name: str):
    return next(b.tree.topLevelItem(i) for i in range(b.tree.topLevelItemCount())
                if b.tree.topLevelItem(i).text(0) == name)


def test_columns_are_readable_at_the_docks_width(qtbot) -> None:
    """At ~300 px every column shows whole (none squeezed, no sideways scrolling), figures with units."""
    from PySide6.QtCore import Qt

    from arstudio.qt.checkpoints.browser import CheckpointBrowser
    from arstudio.qt.checkpoints.browser_rows import SUBLINE_ROLE

    _user_checkpoint()
    b = CheckpointBrowser()
    qtbot.addWidget(b)
    b.resize(300, 700)
    b.show()
    qtbot.waitExposed(b)
    qtbot.waitUntil(lambda: b.tree.viewport().width() > 200, timeout=20000)
    header, room = b.tree.header(), b.tree.viewport().width()
    assert [b.tree.headerItem().text(c) for c in range(b.tree.columnCount())] == ["Checkpoint", "Held-out", "Params"]
    widths = [header.sectionSize(c) for c in range(header.count()) if not header.isSectionHidden(c)]
    assert len(widths) == 3 and sum(widths) <= room  # all three in view
    assert widths[0] >= 0.45 * room and min(widths) >= 40  # the name gets the room, no column squeezed away
    font, fm = b.tree.font(), b.tree.fontMetrics()
    for col in (1, 2):  # the figures and their second lines show whole
        for i in range(b.tree.topLevelItemCount()):
            item = b.tree.topLevelItem(i)
            assert b.delegate.width(font, item.text(col), str(item.data(col, SUBLINE_ROLE) or "")) <= widths[col]
    assert header.isVisible() and fm.horizontalAdvance("Held-out") < widths[1]
    # a text model in bits per character, an image model in bits per dim, the tooltip with every figure
    gpt, glyphs = _row(b, "gpt-pydoc"), _row(b, "pixelcnn-glyphs28")
    assert (gpt.text(1), gpt.data(1, SUBLINE_ROLE)) == ("1.832", "bits/char")
    assert (glyphs.text(1), glyphs.data(1, SUBLINE_ROLE)) == ("0.328", "bits/dim")
    assert "931.00 nats/window, 1.8325 bits/char" in gpt.toolTip(0) and "parameters" in gpt.toolTip(1)
    assert gpt.data(0, SUBLINE_ROLE) == "gpt · pydoc" and gpt.text(2).endswith("k")
    # sorting by the figure sorts by number, shipped and yours alike
    b.tree.sortByColumn(1, Qt.SortOrder.AscendingOrder)
    bits = [b.tree.topLevelItem(i).data(1, Qt.ItemDataRole.UserRole + 1) for i in range(b.tree.topLevelItemCount())]
    assert bits == sorted(bits)


def test_the_docks_curve_has_axes_and_a_legend(qtbot) -> None:
    from arstudio.qt.checkpoints.browser import CheckpointBrowser

    _user_checkpoint()
    b = CheckpointBrowser()
    qtbot.addWidget(b)
    b.tree.setCurrentItem(_row(b, "mine"))
    assert b.curves.axis_titles() == ("nats/image", "training step")
    assert [label.text for _, label in b.curves.legend.items] == ["train", "held-out"]
    b.tree.setCurrentItem(_row(b, "gpt-pydoc"))
    assert b.curves.axis_titles() == ("nats/window", "training step")
    assert "gpt-pydoc" in b.details.text() and "1.8325 bits/char" in b.details.text()
