"""speech16k: English speech the project synthesizes with espeak-ng, at 16 kHz in 8-bit mu-law.

Sentences come from the project's text corpus (CPython's documentation topics, ``pydoc_data``;
``arstudio.data.text.pydoc_text``): the plain-prose ones of 40-140 characters (letters, spaces
and simple punctuation only), drawn with a fixed seed. Utterance i is spoken by voice i mod 8 of
``VOICES`` (espeak-ng voices and voice+variant pairs: four accents, male and female), at a
speed and pitch jittered per utterance, written by ``espeak-ng -w`` at 22,050 Hz, resampled to
16,000 Hz with soxr, peak-normalised to 0.8 and mu-law coded. The log-mel of each utterance is
taken from its audio before mu-law coding (as a person's file would give it).

16 kHz rather than 8 kHz: espeak-ng's voices have energy up to ~5 kHz (fricatives, the "s" of
"class"), which 8 kHz would cut at 4 kHz; 16 kHz is the rate of the WaveNet paper's speech
experiments, and its price (twice the steps per second of sound) is paid by the fast cursor.

Built once (espeak-ng runs 2 at a time) and cached as .npz under the user cache folder
(``arstudio.modalities.audio.data.cache_dir``), named by a hash of the settings here; a cache
built elsewhere serves without espeak-ng. Without espeak-ng and no cache, building fails with one
line saying so.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from arstudio.data.datasets import fixed_split, register_dataset
from arstudio.modalities.audio.data import SAMPLE_RATE, AudioDataset, Utterances, audio_dataset, cache_dir
from arstudio.modalities.audio.mel import MelSettings, log_mel
from arstudio.modalities.audio.mulaw import mu_law_encode

VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-us+f3", "en-gb+f4", "en-gb-x-rp+f2", "en-us+m3")
N_UTTERANCES = 300  # ~24 minutes of speech
N_HELD = 12  # utterances in valid, and again in test
WINDOW = 8192  # samples per training window: 0.51 s, 32 mel frames, 4x the receptive field of 2 x 10 layers
PEAK = 0.8
VERSION = 1  # bump when anything below changes what is built
MISSING = "espeak-ng is not installed: apt-get install espeak-ng; or use tones16k"

_SENTENCE = re.compile(r"[A-Z][A-Za-z ,;:'\-]+[.!?]")


class EspeakMissingError(ValueError):
    """espeak-ng is needed to build speech16k and is not installed."""


def sentences(n: int = N_UTTERANCES, seed: int = 0) -> list[str]:
    """``n`` plain-prose sentences of the text corpus, drawn with ``seed`` (in corpus order of the draw)."""
    from arstudio.data.text import pydoc_text

    text = " ".join(pydoc_text().split())
    found = sorted({s for s in re.split(r"(?<=[.!?])\s+", text) if 40 <= len(s) <= 140 and _SENTENCE.fullmatch(s)})
    if len(found) < n:
        raise ValueError(f"the text corpus has {len(found)} plain sentences; {n} were asked for")
    pick = np.random.default_rng(seed).permutation(len(found))[:n]
    return [found[i] for i in pick]


def espeak_version() -> str:
    """``espeak-ng --version``'s line; EspeakMissingError when it is not installed."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise EspeakMissingError(MISSING)
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise EspeakMissingError(f"espeak-ng does not run ({e}): reinstall it (apt-get install espeak-ng); "
                                 "or use tones16k") from None
    return out.split("Data at")[0].strip()


def speak(text: str, voice: str, speed: int, pitch: int, folder: Path, name: str) -> np.ndarray:
    """espeak-ng's audio of ``text`` at 16 kHz, float32 mono, peak-normalised to ``PEAK``."""
    import soundfile as sf
    import soxr

    path = folder / f"{name}.wav"
    cmd = ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(path), text]
    try:
        subprocess.run(cmd, capture_output=True, timeout=120, check=True)
    except FileNotFoundError:
        raise EspeakMissingError(MISSING) from None
    except subprocess.CalledProcessError as e:
        raise ValueError(f"espeak-ng failed on voice {voice}: {e.stderr.decode(errors='replace').strip()[:200]}") \
            from None
    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    audio = soxr.resample(audio.mean(axis=1), rate, SAMPLE_RATE).astype(np.float32)
    peak = float(np.abs(audio).max()) if len(audio) else 0.0
    return audio * (PEAK / peak) if peak > 0 else audio


def synthesize(texts: list[str], voices: tuple[str, ...], mel: MelSettings, seed: int = 0, workers: int = 2
               ) -> Utterances:
    """Speak every text (utterance i in voice i mod len(voices)) and code it; see the module docstring."""
    espeak_version()
    rng = np.random.default_rng(seed)
    speeds = rng.integers(145, 190, len(texts))
    pitches = rng.integers(35, 66, len(texts))
    with tempfile.TemporaryDirectory(prefix="arstudio-speech-") as tmp:
        jobs = [(t, voices[i % len(voices)], int(speeds[i]), int(pitches[i]), Path(tmp), f"u{i}")
                for i, t in enumerate(texts)]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            audios = list(pool.map(lambda j: speak(*j), jobs))
    codes = [mu_law_encode(a).astype(np.uint8) for a in audios]
    mels = [log_mel(a, mel).numpy().astype(np.float16) for a in audios]
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in codes])]).astype(np.int64)
    return Utterances(np.concatenate(codes), offsets, np.arange(len(texts), dtype=np.int64) % len(voices), mels,
                      list(texts))


def build_speech(name: str = "speech16k", n: int = N_UTTERANCES, held: int = N_HELD,
                 voices: tuple[str, ...] = VOICES, window: int = WINDOW, mel: MelSettings | None = None,
                 cache: Path | None = None) -> AudioDataset:
    """The speech data set of ``n`` utterances (cached; built with espeak-ng the first time)."""
    mel = mel or MelSettings()
    key = {"version": VERSION, "n": n, "voices": list(voices), "mel": mel.__dict__, "peak": PEAK}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    path = (cache if cache is not None else cache_dir()) / f"{name}-{digest}.npz"
    utts = None
    if path.exists():
        try:
            utts = Utterances.load(path)
        except ValueError:
            utts = None  # a broken cache is built again
    if utts is None:
        utts = synthesize(sentences(n), voices, mel)  # EspeakMissingError without espeak-ng
        try:
            utts.save(path)
        except OSError as e:  # no cache: built again next time, which is slower but not wrong
            print(f"arstudio: note: {name} could not be cached in {path.parent} ({e.strerror or e})", file=sys.stderr)
    split = fixed_split(len(utts), held, held, seed=0)
    minutes = utts.seconds() / 60
    desc = (f"English speech by espeak-ng in {len(voices)} voices, {len(utts)} sentences of the Python docs "
            f"({minutes:.1f} minutes), 16 kHz 8-bit mu-law, windows of {window} samples with voice and log-mel")
    return audio_dataset(name, desc, utts, split, list(voices), mel, window)


@register_dataset("speech16k", modality="audio")
def speech16k() -> AudioDataset:
    """English speech synthesized by espeak-ng: 8 voices, 300 sentences, 16 kHz mu-law (needs espeak-ng once)."""
    return build_speech()
