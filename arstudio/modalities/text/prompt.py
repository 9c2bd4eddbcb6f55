"""A prompt as token ids: encoded, cut to leave room for the new tokens, and notes on what was done to it."""

from __future__ import annotations

from arstudio.data.tokenizers import CharTokenizer, Tokenizer


def encode_prompt(tok: Tokenizer | None, text: str, n_new: int, context: int) -> tuple[list[int], list[str]]:
    """``text``'s ids (its first tokens dropped when ``n_new`` more would exceed ``context``) and notes for the user."""
    if tok is None:
        return [], ["this model records no tokenizer: generating from its start token"]
    notes = []
    ids = tok.encode(text)
    if not text:
        notes.append("Empty prompt: the model starts from its beginning-of-text token.")
    if isinstance(tok, CharTokenizer):
        unknown = tok.unknown(text)
        if unknown:
            notes.append(f"{len(unknown)} character(s) are not in this model's vocabulary "
                         f"({' '.join(repr(c) for c in unknown[:8])}): they are given as the unknown token �.")
    room = context - n_new
    if len(ids) > room:
        drop = len(ids) - room
        notes.append(f"The prompt is {len(ids)} tokens; with {n_new} new ones that exceeds the context of "
                     f"{context}: its first {drop} tokens are dropped (a sliding window).")
        ids = ids[drop:]
    return ids, notes
