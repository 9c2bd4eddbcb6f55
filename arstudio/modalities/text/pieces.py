"""The text each token adds when a run's tokens are decoded in order, and a readable label of each token.

Byte-level BPE (GPT-2's scheme) may split one character of several UTF-8 bytes ("…", "é") over
two or three tokens; such a token alone is no text, and decoding it alone gives "�". Decoded in
order, a token that leaves a character unfinished adds "" and the token that completes it adds
the character, so the pieces join to the decoded text. A label names a byte token by its escapes
("\\xe2\\x80"), never by "�".
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence

from arstudio.data.tokenizers import BPETokenizer, Tokenizer


class TokenText:
    """Labels of a vocabulary of ``n`` ids and the pieces of text a sequence of them decodes to."""

    def __init__(self, tok: Tokenizer | None, n: int, labels: Sequence[str] | None = None) -> None:
        base = list(labels) if labels is not None else (list(tok.labels()) if tok is not None else [])
        base += [str(i) for i in range(len(base), n)]
        self._bytes = tok.token_bytes() if isinstance(tok, BPETokenizer) else None
        self.labels: tuple[str, ...] = tuple(base[: max(n, len(base))])

    @property
    def byte_level(self) -> bool:
        """True when tokens are byte sequences that may split a character."""
        return self._bytes is not None

    def pieces(self, ids: Sequence[int]) -> list[str]:
        """What each of ``ids`` adds to the text decoded in order ("" for a token that leaves a character open)."""
        if self._bytes is None:
            return [self.labels[int(i)] if 0 <= int(i) < len(self.labels) else "�" for i in ids]
        dec = codecs.getincrementaldecoder("utf-8")(errors="replace")
        out = []
        for i in ids:
            i = int(i)
            b = self._bytes[i] if 0 <= i < len(self._bytes) else None
            if b is None:  # an added token: close what is open, then the token as it is written
                out.append(dec.decode(b"", final=True) + (self.labels[i] if 0 <= i < len(self.labels) else "�"))
                dec.reset()
            else:
                out.append(dec.decode(b))
        return out
