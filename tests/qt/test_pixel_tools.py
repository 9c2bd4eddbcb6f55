"""The pixel panel's tools: dependency overlay, likelihood heatmap, bad files, complete from here, labels, export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QPointF, Qt, QThread

from arstudio.core import load_checkpoint, registry, sample
from arstudio.core.checkpoint import CheckpointMeta, save_checkpoint
from arstudio.core.modality import get_modality
from arstudio.data import get_dataset
from arstudio.io.export import export_samples
from arstudio.io.png import read_png
from arstudio.modalities.image.folder import folder_dataset

CFG = {"shape": [1, 8, 8], "values": "categorical", "levels": 17, "channels": 16, "layers": 4, "kernel": 3,
       "first_kernel": 7, "head": 16}
BLIND_TARGET, BLIND_PIXEL = (5, 3), (4, 7)  # PixelCNN's pixel (5, 3) cannot see (4, 7): up and to the right


def save(folder: Path, kind: str, config: dict) -> Path:
    torch.manual_seed(0)
    model = registry.get(kind).build(config)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    meta = CheckpointMeta(kind=kind, config=model.spec.config, data={"name": "digits17"},
                          metrics={"test_nats": 120.0, "test_bits_per_dim": 2.7})
    return save_checkpoint(folder / f"{kind}-tools.safetensors", model, meta)


@pytest.fixture(scope="module")
def pixel_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A random PixelCNN (with a blind spot) and a random 10-class Gated PixelCNN over 8x8, 17 grey levels."""
    d = tmp_path_factory.mktemp("pixel-tools")
    return {"pixelcnn": save(d, "pixelcnn", CFG),
            "gated": save(d, "gated_pixelcnn", {**CFG, "channels": 8, "classes": 10})}


def finished_run(studio, wait_finished, path: Path, batch: int = 2, seed: int = 1):
    w = studio(path, batch=batch, seed=seed)
    w.controls.play_button.click()
    wait_finished(w)
    return w


def write_grey(path: Path, levels: np.ndarray) -> Path:
    Image.fromarray(np.rint(levels / 16 * 255).astype(np.uint8)).save(path)
    return path


def test_overlay_shows_pixelcnns_blind_spot(studio, wait_finished, pixel_models, qtbot):
    w = finished_run(studio, wait_finished, pixel_models["pixelcnn"])
    p = w.panel
    p.dependency_box.setChecked(True)  # follows the newest step first: the last pixel of sample 0
    qtbot.waitUntil(lambda: p.dependency is not None, timeout=30000)
    assert p.analysis.jobs.worker_thread is not QThread.currentThread()  # computed off the GUI thread
    p.canvas.pixel_clicked.emit(1, *BLIND_TARGET)  # a click picks any pixel of any sample
    index = BLIND_TARGET[0] * 8 + BLIND_TARGET[1]
    qtbot.waitUntil(lambda: p.dependency.index == index and p.dependency.sample == 1, timeout=30000)
    dep = p.dependency
    blind = dep.blind.reshape(8, 8)
    assert blind[BLIND_PIXEL] and blind.sum() >= 1
    assert (dep.influence[index:] == 0).all() and dep.earlier[:index].all() and not dep.earlier[index:].any()
    assert (dep.influence[:index][~dep.blind[:index]] > 0).all()
    assert "in its blind spot" in p.dependency_note.text()
    # drawn: on sample 1's cell, the blind pixel striped in the blind colour, later pixels veiled
    assert p.overlay.shown and p.overlay.sample == 1
    sub = p.overlay.rgba.shape[0] // 8
    block = p.overlay.rgba[BLIND_PIXEL[0] * sub:(BLIND_PIXEL[0] + 1) * sub, BLIND_PIXEL[1] * sub:(BLIND_PIXEL[1] + 1) * sub]
    assert (block[..., :3] == (255, 79, 216)).all(axis=-1).all() and block[..., 3].max() > 200
    assert p.overlay.rgba[7 * sub + sub // 2, 7 * sub + sub // 2, 3] > 0  # a later pixel is veiled
    p.dependency_box.setChecked(False)
    assert not p.overlay.shown


def test_gated_pixelcnn_has_no_blind_spot(studio, wait_finished, pixel_models, qtbot):
    w = finished_run(studio, wait_finished, pixel_models["gated"])
    p = w.panel
    p.dependency_box.setChecked(True)
    p.canvas.pixel_clicked.emit(0, *BLIND_TARGET)
    index = BLIND_TARGET[0] * 8 + BLIND_TARGET[1]
    qtbot.waitUntil(lambda: p.dependency is not None and p.dependency.index == index, timeout=10000)
    assert not p.dependency.blind.any() and (p.dependency.influence[:index] > 0).all()
    assert "no blind spot" in p.dependency_note.text()


def test_likelihood_heatmap_of_a_loaded_png_sums_to_the_models_nll(studio, pixel_models, qtbot, tmp_path):
    w = studio(pixel_models["pixelcnn"])
    tool = w.panel.likelihood
    levels = np.random.default_rng(0).integers(0, 17, size=(8, 8))
    levels[0, :] = 0  # a dark border, so the image is taken as light ink on black
    tool.load(write_grey(tmp_path / "digit.png", levels))
    qtbot.waitUntil(lambda: tool.result is not None and tool.source == "digit.png", timeout=10000)
    np.testing.assert_array_equal(tool.values, levels.reshape(-1))
    model, _ = load_checkpoint(pixel_models["pixelcnn"])
    want = float(model.nll(torch.as_tensor(levels.reshape(1, -1))).detach())
    heat = w.panel.likelihood_view.heatmap.values
    assert heat.shape == (8, 8)
    assert np.isclose(heat.sum(), want, rtol=1e-5) and np.isclose(tool.result.nats, want, rtol=1e-5)
    bits = want / (64 * np.log(2))
    assert f"{bits:.3f} bits/dim" in w.panel.likelihood_view.heatmap.caption.text()
    # the anomaly score against the held-out digits17 images
    qtbot.waitUntil(lambda: tool.heldout is not None, timeout=30000)
    assert tool.heldout.scores is not None and len(tool.heldout.scores) == 300
    hist = w.panel.likelihood_view.histogram
    assert hist.marker.isVisible() and "held-out images" in hist.caption.text() and "%" in hist.caption.text()


def test_a_wrong_size_rgb_png_is_converted_and_bad_files_give_a_message(studio, pixel_models, qtbot, tmp_path):
    w = studio(pixel_models["pixelcnn"])
    tool = w.panel.likelihood
    rgb = np.zeros((30, 20, 3), dtype=np.uint8)
    rgb[5:25, 8:12] = (40, 220, 90)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    tool.load(tmp_path / "rgb.png")
    qtbot.waitUntil(lambda: tool.result is not None and tool.source == "rgb.png", timeout=10000)
    assert "resized 20x30 to 8x8" in w.panel.likelihood_view.notes.text()
    assert tool.values.shape == (64,) and tool.values.max() > 0
    for name, content, words in (("empty.png", b"", "empty"), ("notes.png", b"just some text\n", "not an image")):
        (tmp_path / name).write_bytes(content)
        tool.load(tmp_path / name)
        qtbot.waitUntil(lambda: words in w.last_error, timeout=10000)
        assert "\n" not in w.last_error and w.error_box is not None
        assert tool.source == "rgb.png"  # the image shown is kept
    write_grey(tmp_path / "ok.png", np.zeros((8, 8), dtype=np.int64))
    tool.load(tmp_path / "ok.png")  # the studio goes on working
    qtbot.waitUntil(lambda: tool.source == "ok.png", timeout=10000)


def test_a_png_gives_the_same_values_to_the_likelihood_tab_import_and_folder_training(studio, pixel_models, qtbot,
                                                                                       tmp_path):
    """One file-to-values rule: resized with its aspect kept, dark ink on light paper inverted, quantized."""
    rng = np.random.default_rng(3)
    folder = tmp_path / "mine"
    folder.mkdir()
    for i in range(10):  # wider than tall, RGB, light paper: every conversion step has work to do
        rgb = np.full((20, 26, 3), 235, dtype=np.uint8)
        top, left = rng.integers(1, 8), rng.integers(1, 10)
        rgb[top:top + rng.integers(6, 12), left:left + rng.integers(5, 14)] = rng.integers(0, 140, size=3)
        Image.fromarray(rgb).save(folder / f"{i:02d}.png")
    files = sorted(folder.glob("*.png"))
    w = studio(pixel_models["pixelcnn"])
    spec = w.panel.info.spec
    imported = np.stack([get_modality("image").import_file(p, spec) for p in files])
    assert imported.shape == (10, 64) and imported.std() > 0
    ds = folder_dataset(folder, get_dataset("digits17"))
    trained = np.empty_like(imported)
    for part in ("train", "valid", "test"):
        trained[ds.split[part]] = getattr(ds, part).numpy()
    np.testing.assert_array_equal(trained, imported)
    tool = w.panel.likelihood
    for i in (0, 7):
        tool.load(files[i])
        qtbot.waitUntil(lambda: tool.source == files[i].name, timeout=10000)  # noqa: B023 (waited on here)
        np.testing.assert_array_equal(tool.values, imported[i])
    assert "inverted" in w.panel.likelihood_view.notes.text()


def test_the_sample_export_is_the_one_exporters_png_with_its_recipe(studio, wait_finished, pixel_models, tmp_path):
    w = finished_run(studio, wait_finished, pixel_models["pixelcnn"], batch=3, seed=4)
    out = w.export_to(tmp_path / "grid.png")
    assert out is not None
    pixels, text = read_png(out)
    assert text["arstudio:seed"] == "4" and text["arstudio:kind"] == "pixelcnn"  # the replay recipe
    # the bytes `arstudio sample` and `arstudio replay` write for the same samples and recipe
    same = export_samples(tmp_path / "cli.png", w.panel.info.spec, w.session.record.data(), text)
    assert same.read_bytes() == out.read_bytes()
    assert pixels.shape == (1 + 2 * (8 * 8 + 1), 1 + 2 * (8 * 8 + 1))  # 3 samples of 8x8, 8x larger, in a 2x2 grid


def test_drawing_with_the_mouse_changes_the_image_and_rescores(studio, pixel_models, qtbot):
    w = studio(pixel_models["pixelcnn"])
    w.show()
    qtbot.waitExposed(w)
    w.panel.tabs.setCurrentIndex(1)
    view, tool = w.panel.likelihood_view, w.panel.likelihood
    qtbot.wait(50)
    view.ink.setValue(12)
    ed = view.editor
    pos = ed.mapFromScene(ed.vb.mapViewToScene(QPointF(3.5, 2.5)))  # column 3, row 2
    qtbot.mousePress(ed.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseRelease(ed.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert tool.values[2 * 8 + 3] == 12 and tool.values.sum() == 12
    qtbot.waitUntil(lambda: tool.result is not None, timeout=10000)
    assert tool.source == "drawing"


def test_complete_from_here_keeps_the_given_pixels_exactly(studio, wait_finished, pixel_models, qtbot):
    w = studio(pixel_models["pixelcnn"], batch=3, seed=5)
    tool, view = w.panel.likelihood, w.panel.likelihood_view
    given = np.random.default_rng(2).integers(0, 17, size=64)
    tool.set_values(given, "a test image", score=False)
    view.keep_rows.setValue(3)
    view.complete_button.click()
    wait_finished(w)
    rec = w.session.record
    assert w.panel.tabs.currentIndex() == 0 and rec.filled == 64
    data = rec.data()
    np.testing.assert_array_equal(data[:, :24], np.broadcast_to(given[:24], (3, 24)))
    assert not np.isnan(data).any() and rec.forced[:24].all() and not rec.forced[24:].any()
    # the rest is what generate samples after that prefix, with the same seed
    model, _ = load_checkpoint(pixel_models["pixelcnn"])
    want = sample(model, batch=3, seed=5, prefix=torch.as_tensor(np.broadcast_to(given[:24], (3, 24)).copy()))
    np.testing.assert_array_equal(data, want.numpy())


def test_a_conditional_model_gets_the_picked_label(studio, wait_finished, pixel_models, qtbot):
    w = studio(pixel_models["gated"], batch=3, seed=2)
    p = w.panel
    assert not p.label_combo.isHidden() and p.label_combo.count() == 11
    p.pick_label(7)
    np.testing.assert_array_equal(w.session.condition.values, [7])
    w.controls.play_button.click()
    wait_finished(w)
    rec = w.session.record
    np.testing.assert_array_equal(rec.info.request.cond, [7, 7, 7])
    model, _ = load_checkpoint(pixel_models["gated"])
    want = sample(model, batch=3, seed=2, cond=torch.full((3,), 7, dtype=torch.long))
    np.testing.assert_array_equal(rec.data(), want.numpy())
    p.pick_label(-1)  # each label in turn
    w.controls.play_button.click()
    wait_finished(w)
    np.testing.assert_array_equal(w.session.record.info.request.cond, [0, 1, 2])


def test_an_unconditional_model_hides_the_label_picker(studio, pixel_models):
    w = studio(pixel_models["pixelcnn"])
    assert w.panel.label_combo.isHidden() and w.session.condition is None and w.session.cond(4) is None


def test_heatmap_export_opens_with_pillow(studio, pixel_models, qtbot, tmp_path):
    w = studio(pixel_models["gated"])
    tool = w.panel.likelihood
    tool.set_values(np.random.default_rng(1).integers(0, 17, size=64), "random")
    qtbot.waitUntil(lambda: tool.result is not None, timeout=10000)
    out = tool.export(tmp_path / "heat.png")
    assert out is not None
    with Image.open(out) as im:
        assert im.format == "PNG" and im.mode == "RGB" and im.size[0] > 2 * im.size[1]
        assert float(im.text["nll_nats"]) == pytest.approx(tool.result.nats, abs=1e-3)
        assert im.text["checkpoint"] == "gated_pixelcnn-tools" and "label" in im.text
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert tool.export(blocker / "heat.png") is None and w.last_error


def test_closing_stops_the_analysis_thread(studio, pixel_models):
    w = studio(pixel_models["pixelcnn"])
    thread = w.panel.analysis.jobs.worker_thread
    assert thread.isRunning()
    w.close()
    assert thread.isFinished()


def test_a_recipe_with_any_labels_replays_in_the_studio(studio, wait_finished, pixel_models, qtbot, tmp_path):
    """Each sample's recorded label comes back exactly, not only "one label" or "each in turn"."""
    from arstudio.core.replay import recipe_for_run
    from arstudio.core.policy import SamplingPolicy

    path = pixel_models["gated"]
    model, meta = load_checkpoint(path)
    labels = [4, 1, 1]
    x = sample(model, batch=3, seed=6, cond=torch.tensor(labels))
    recipe = recipe_for_run(path, kind=meta.kind, modality="image", seed=6, batch=3, policy=SamplingPolicy(),
                            cond=labels, software="test")
    src = export_samples(tmp_path / "labelled.png", model.spec, x.numpy(), recipe.to_text())
    w = studio(path, batch=1, seed=0)
    failed: list[str] = []
    w.replayer.replay_failed.connect(failed.append)
    assert w.replayer.open(src, extra=[path])
    qtbot.waitUntil(lambda: w.session.record is not None and w.session.record.info.request.batch == 3)
    assert not failed
    np.testing.assert_array_equal(w.session.record.info.request.cond, labels)
    w.session.play()
    wait_finished(w)
    np.testing.assert_array_equal(w.session.record.data(), x.numpy())
