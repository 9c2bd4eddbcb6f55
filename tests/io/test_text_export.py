"""Text export: JSON with per-token log-probabilities round-trips; plain text; atomic writes and clear errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from arstudio.core.spec import Layout, ModelSpec, ValueSpace
from arstudio.data.tokenizers import CharTokenizer
from arstudio.io import ExportError, export_samples
from arstudio.modalities.text.files import TextExport, TokenRecord, read_text_json, write_text


def sample_export() -> TextExport:
    toks = [TokenRecord(3, "de", -0.5, True), TokenRecord(7, "f\n", -2.25), TokenRecord(1, "☃", float("nan"))]
    return TextExport("def\n☃", toks, "de", {"seed": 3, "policy": {"temperature": 0.7}})


def test_json_round_trips(tmp_path):
    exp = sample_export()
    path = write_text(tmp_path / "run.json", exp)
    back = read_text_json(path)
    assert back.text == exp.text and back.prompt == "de" and back.info == exp.info
    assert [t.id for t in back.tokens] == [3, 7, 1] and [t.given for t in back.tokens] == [True, False, False]
    assert back.tokens[1].log_prob == -2.25 and math.isnan(back.tokens[2].log_prob)
    assert back.log_prob == pytest.approx(-2.75)
    assert "☃" in path.read_text(encoding="utf-8")  # UTF-8, not escaped


def test_plain_text_and_suffixes(tmp_path):
    path = write_text(tmp_path / "run.txt", sample_export())
    assert path.read_text(encoding="utf-8") == "def\n☃"
    with pytest.raises(ExportError, match=".json"):
        write_text(tmp_path / "run.png", sample_export())


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "run.json"
    path.write_text("old")
    with pytest.raises(ExportError):
        write_text(tmp_path / "nowhere" / "run.json", sample_export())
    assert path.read_text() == "old"
    with pytest.raises(ValueError, match="not an arstudio text export"):
        read_text_json(path)


def test_export_samples_writes_the_first_sample(tmp_path):
    tok = CharTokenizer.from_text("abc ")
    spec = ModelSpec("gpt", {"tokenizer": tok.to_config()}, Layout("text", (5,)), ValueSpace("categorical", 5))
    x = np.array([tok.encode("ab c") + [np.nan], tok.encode("cccc") + [1]], dtype=np.float64)
    out = export_samples(tmp_path / "s.txt", spec, x)
    assert out.read_text(encoding="utf-8") == "ab c"
