"""The text modality: token ids in time order, exported as plain text or JSON with each token's log p."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from arstudio.core.modality import FileFormat, Modality
from arstudio.core.spec import ModelSpec
from arstudio.modalities.text.cli import add_cli_args, eval_text, sample_text
from arstudio.modalities.text.files import read_text_recipe_fields, set_token_labels, write_samples


def import_text(path: Path, spec: ModelSpec) -> np.ndarray:
    """A person's UTF-8 text file as the ids [T] of the model's tokenizer (at most its context)."""
    from arstudio.core.files import read_text
    from arstudio.data.tokenizers import tokenizer_from_config

    text = read_text(path, "text file")
    ids = tokenizer_from_config(spec.config.get("tokenizer")).encode(text)
    return np.asarray(ids[: spec.layout.length], dtype=np.int64)


MODALITY = Modality(
    name="text",
    title="Text",
    step_unit="token",
    example_unit="window",
    # JSON first: the studio's default export keeps each token's log p and the replay recipe
    formats=(FileFormat((".json",), "Text with per-token log-probabilities", write_samples, read_text_recipe_fields),
             FileFormat((".txt",), "Plain text", write_samples, read_text_recipe_fields)),
    conditioning=("prompt",),
    add_cli_args=add_cli_args,
    sample_cli=sample_text,
    eval_cli=eval_text,
    import_file=import_text,
    on_load=set_token_labels,
    panel="arstudio.qt.modalities.text.panel:TextPanel",
)
