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
            assert item.text(1) == "nade" and item.text(3) == "digits" and "30.50" in item.text(5)
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
