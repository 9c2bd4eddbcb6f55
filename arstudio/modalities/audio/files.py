"""Audio files: any file a person opens, read as mono float at the model's rate; WAV exports with their recipe.

``read_audio`` reads what libsndfile reads (WAV of any encoding: 8/16/24/32-bit PCM, float,
mu-law; FLAC, OGG, AIFF ...) through soundfile, mixes channels down to mono and resamples with
soxr. Every failure is a ``ValueError`` of one line: not audio, empty, no sound, unreadable, or
longer than the limit (a primer or a conditioning file may instead be cut to its first part).

``write_wav`` writes 16-bit PCM mono at the model's rate, atomically, with the replay recipe in a
chunk of its own after the audio: ``arst``, holding the recipe's fields as UTF-8 JSON. Readers
skip chunks they do not know (soundfile, sox/soxi, browsers), so the file plays and reports its
rate, length and encoding as usual; ``read_wav_recipe`` reads the chunk back. The bytes depend on
the samples and the recipe alone, so ``arstudio replay`` writes the same file again.
"""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

from arstudio.core.modality import RunDetail
from arstudio.core.spec import ModelSpec
from arstudio.io.atomic import atomic_write
from arstudio.modalities.audio.mulaw import mu_law_decode

RECIPE_CHUNK = b"arst"
MAX_SECONDS = 600.0  # the longest file read whole (10 minutes); longer ones only as primers, cut
MAX_BYTES = 2 ** 31  # larger files are refused before anything is read


def _short(e: BaseException) -> str:
    return " ".join(str(e).split())[:160]


def read_audio(path: str | os.PathLike, sample_rate: int, max_seconds: float | None = MAX_SECONDS,
               truncate: bool = False) -> np.ndarray:
    """The audio of a file as float32 mono [T] at ``sample_rate``; ValueError (one line) when it cannot be.

    ``max_seconds``: longer files raise, or with ``truncate`` give their first ``max_seconds``.
    """
    import soundfile as sf

    p = Path(path)
    if not p.exists():
        raise ValueError(f"{p}: no such file")
    if p.is_dir():
        raise ValueError(f"{p}: is a folder, not an audio file")
    try:
        size = p.stat().st_size
    except OSError as e:
        raise ValueError(f"{p}: cannot be read ({e.strerror or e})") from None
    if size == 0:
        raise ValueError(f"{p}: is empty (0 bytes)")
    if size > MAX_BYTES:
        raise ValueError(f"{p}: is {size / 2 ** 30:.1f} GB; audio files of up to {MAX_BYTES // 2 ** 30} GB are read")
    if not os.access(p, os.R_OK):
        raise ValueError(f"{p}: cannot be read (permission denied)")
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        raise ValueError(f"{p}: is not an audio file that can be read (WAV, FLAC, OGG, AIFF ...): {_short(e)}") from None
    except OSError as e:
        raise ValueError(f"{p}: cannot be read ({e.strerror or e})") from None
    rate = int(info.samplerate)
    if rate <= 0 or info.channels < 1:
        raise ValueError(f"{p}: its header is broken (rate {rate} Hz, {info.channels} channels)")
    frames = int(info.frames)
    if frames <= 0:
        raise ValueError(f"{p}: has no sound (0 samples)")
    limit = None if max_seconds is None else math.ceil(max_seconds * rate)
    if limit is not None and frames > limit:
        if not truncate:
            raise ValueError(f"{p}: is {frames / rate:.1f} s long; at most {max_seconds:g} s can be read")
        frames = min(frames, limit + 64)  # a little more: the resampled audio is cut to the exact length below
    try:
        data, _ = sf.read(str(p), frames=frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError) as e:
        raise ValueError(f"{p}: cannot be decoded: {_short(e)}") from None
    except (OSError, MemoryError) as e:
        raise ValueError(f"{p}: cannot be read ({_short(e)})") from None
    if data.size == 0:
        raise ValueError(f"{p}: has no sound (0 samples)")
    mono = np.nan_to_num(data.mean(axis=1), nan=0.0, posinf=1.0, neginf=-1.0)
    mono = np.clip(mono, -1.0, 1.0).astype(np.float32)
    if rate != sample_rate:
        import soxr

        mono = soxr.resample(mono, rate, sample_rate).astype(np.float32)
    if max_seconds is not None:
        mono = mono[:round(max_seconds * sample_rate)]
    if len(mono) == 0:
        raise ValueError(f"{p}: is too short to resample to {sample_rate} Hz")
    return mono


def read_codes(path: str | os.PathLike, sample_rate: int, max_seconds: float | None = MAX_SECONDS,
               truncate: bool = False) -> np.ndarray:
    """``read_audio`` as mu-law codes [T] int64."""
    from arstudio.modalities.audio.mulaw import mu_law_encode

    return mu_law_encode(read_audio(path, sample_rate, max_seconds, truncate))


def to_pcm16(audio_or_codes: np.ndarray) -> np.ndarray:
    """Codes (integers) or amplitudes (floats in [-1, 1]) as 16-bit samples."""
    a = np.asarray(audio_or_codes).reshape(-1)
    x = mu_law_decode(a) if np.issubdtype(a.dtype, np.integer) else np.nan_to_num(a.astype(np.float64))
    return np.clip(np.round(np.asarray(x, dtype=np.float64) * 32767.0), -32768, 32767).astype("<i2")


def wav_bytes(audio_or_codes: np.ndarray, rate: int, recipe: dict[str, str] | None = None) -> bytes:
    """A whole mono 16-bit PCM WAV file, with the recipe chunk when ``recipe`` is given."""
    pcm = to_pcm16(audio_or_codes).tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, int(rate), int(rate) * 2, 2, 16)  # PCM, mono, rate, bytes/s, align, bits
    chunks = [b"fmt " + struct.pack("<I", len(fmt)) + fmt, b"data" + struct.pack("<I", len(pcm)) + pcm]
    if recipe:
        blob = json.dumps(dict(recipe), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        chunks.append(RECIPE_CHUNK + struct.pack("<I", len(blob)) + blob + (b"\0" if len(blob) % 2 else b""))
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def write_wav(path: str | os.PathLike, audio_or_codes: np.ndarray, rate: int,
              recipe: dict[str, str] | None = None) -> Path:
    """Write mono 16-bit PCM at ``rate`` atomically (ExportError on failure), the recipe stored in the file."""
    blob = wav_bytes(audio_or_codes, rate, recipe)
    return atomic_write(path, lambda f: f.write(blob))


def riff_chunks(path: str | os.PathLike) -> dict[bytes, bytes]:
    """The top-level chunks of a RIFF/WAVE file by id (the first of each); ValueError when it is not one."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise ValueError(f"{p}: cannot be read ({e.strerror or e})") from None
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise ValueError(f"{p}: is not a WAV file")
    out: dict[bytes, bytes] = {}
    pos, end = 12, min(len(raw), 8 + struct.unpack("<I", raw[4:8])[0])
    while pos + 8 <= end:
        cid, size = raw[pos:pos + 4], struct.unpack("<I", raw[pos + 4:pos + 8])[0]
        out.setdefault(cid, raw[pos + 8:pos + 8 + size])
        pos += 8 + size + (size & 1)
    return out


def read_wav_recipe(path: Path) -> dict[str, str]:
    """The replay recipe a WAV export records (empty when it has none); ReplayError when the file is not a WAV."""
    from arstudio.core.replay import ReplayError

    try:
        chunk = riff_chunks(path).get(RECIPE_CHUNK)
    except ValueError as e:
        raise ReplayError(str(e)) from None
    if chunk is None:
        return {}
    try:
        doc: Any = json.loads(chunk.rstrip(b"\0").decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ReplayError(f"{path}: its replay metadata is broken ({e})") from None
    if not isinstance(doc, dict):
        raise ReplayError(f"{path}: its replay metadata is broken (not a map of fields)")
    return {str(k): v for k, v in doc.items() if isinstance(v, str)}


def taken(x: np.ndarray, sample: int = 0) -> np.ndarray:
    """Sample ``sample`` of a run [B, D] (NaN where not written) up to its first unwritten step, as codes int64."""
    row = np.asarray(x, dtype=np.float64).reshape(len(x), -1)[sample]
    nan = np.flatnonzero(np.isnan(row))
    row = row[: nan[0]] if len(nan) else row
    return row.astype(np.int64)


def write_samples(path: Path, spec: ModelSpec, x: np.ndarray, text: dict[str, str], detail: RunDetail | None) -> Path:
    """The modality's WAV format: one sample of ``x`` (codes, trimmed to the steps taken) at the model's rate.

    The sample is the one the recipe ``text`` names (the one shown when the studio exported), else the first.
    """
    from arstudio.core.replay import shown_sample

    codes = taken(x, shown_sample(text, len(x)))
    if len(codes) == 0:
        from arstudio.io.errors import ExportError

        raise ExportError(f"{path}: nothing has been generated yet, so there is no sound to write")
    rate = int(spec.config.get("sample_rate", 16000))
    return write_wav(path, codes, rate, text)
