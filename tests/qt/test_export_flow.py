"""File > Export: the dialog's filters and default suffix come from the modality plug-in's formats."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog

from arstudio.core.modality import get_modality
from arstudio.qt.export_flow import export_formats, file_filters, with_suffix


def test_filters_and_suffixes_come_from_the_modality() -> None:
    text = get_modality("text").formats
    assert file_filters(text) == ";;".join(f.file_filter() for f in text)
    assert "(*.json)" in file_filters(text) and "(*.txt)" in file_filters(text)
    assert with_suffix("/tmp/run", text[1].file_filter(), text) == "/tmp/run" + text[1].suffixes[0]
    assert with_suffix("/tmp/run", "", text) == "/tmp/run" + text[0].suffixes[0]  # the default format
    assert with_suffix("/tmp/run.TXT", text[1].file_filter(), text) == "/tmp/run.TXT"  # kept as typed
    assert export_formats("smell") == () and file_filters(()) == "All files (*)"


def test_the_dialog_offers_the_plugins_formats_and_writes_there(studio, wait_finished, checkpoints, tmp_path,
                                                                monkeypatch) -> None:
    w = studio(checkpoints["nade"], batch=2)
    asked: list[tuple] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: asked.append(a) or ("", ""))
    w.export_dialog()
    assert not asked and "press Play first" in w.statusBar().currentMessage()  # nothing to export yet
    w.controls.play_button.click()
    wait_finished(w)
    w.export_dialog()
    _parent, _title, start, filters = asked[-1]
    png = get_modality("image").formats[0]
    assert start.endswith("-seed3" + png.suffixes[0]) and filters == png.file_filter()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "grid"), png.file_filter()))
    w.export_dialog()
    assert (tmp_path / "grid.png").is_file() and "Exported" in w.statusBar().currentMessage()


def test_a_suffix_no_format_writes_is_refused_in_one_line(studio, wait_finished, checkpoints, tmp_path) -> None:
    w = studio(checkpoints["nade"], batch=2)
    w.controls.play_button.click()
    wait_finished(w)
    assert w.export_to(tmp_path / "grid.jpg") is None
    assert ".png" in w.last_error and "\n" not in w.last_error and not (tmp_path / "grid.jpg").exists()


def test_a_typed_suffix_no_format_writes_is_kept_to_be_refused() -> None:
    image = export_formats("image")
    assert with_suffix("/tmp/grid.jpg", image[0].file_filter(), image) == "/tmp/grid.jpg"  # not grid.jpg.png
