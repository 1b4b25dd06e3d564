"""Spoken test audio: commands synthesized with espeak-ng, and noise at a chosen SNR.

For tests and the speech benchmark (`benchmarks/speech.py`), not for the operator path.
espeak-ng is a system program (`apt-get install espeak-ng`); `espeak_available()` says whether
it is on PATH.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from typing import Final

import numpy as np

from robot_llm.speech.audio import resample
from robot_llm.speech.base import SAMPLE_RATE, SpeechError

VOICES: Final = ("en-us", "en", "en+f3", "en+m3", "en-us+f2", "en+m7")
NOISE_KINDS: Final = ("white", "pink", "babble")


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def speak(text: str, voice: str = "en-us", wpm: int = 160) -> np.ndarray:
    """`text` spoken by espeak-ng as 16 kHz mono float32."""
    import soundfile

    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SpeechError("espeak-ng is not installed (apt-get install espeak-ng)")
    done = subprocess.run(
        [exe, "-v", voice, "-s", str(wpm), "--stdout", text],
        capture_output=True,
        check=True,
        timeout=60,
    )
    data, rate = soundfile.read(io.BytesIO(done.stdout), dtype="float32")
    return resample(data, int(rate))


def pad(samples: np.ndarray, before: float = 0.3, after: float = 0.3) -> np.ndarray:
    z = np.zeros
    return np.concatenate(
        [z(int(before * SAMPLE_RATE), np.float32), samples, z(int(after * SAMPLE_RATE), np.float32)]
    )


def speech_end(samples: np.ndarray, threshold: float = 0.01) -> float:
    """Seconds from the start to the last sample louder than `threshold` (end of speech)."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    return float(loud[-1] + 1) / SAMPLE_RATE if loud.size else 0.0


def noise(kind: str, n: int, rng: np.random.Generator, babble: list[np.ndarray]) -> np.ndarray:
    """Unit-RMS noise: white, pink (1/f power) or babble (other speech mixed, reversed)."""
    if kind == "white":
        out = rng.standard_normal(n)
    elif kind == "pink":
        spectrum = np.fft.rfft(rng.standard_normal(n))
        f = np.arange(spectrum.size, dtype=np.float64)
        f[0] = 1.0
        out = np.fft.irfft(spectrum / np.sqrt(f), n)
    elif kind == "babble":
        if not babble:
            raise ValueError("babble noise needs other utterances")
        out = np.zeros(n)
        for _ in range(6):
            talker = babble[int(rng.integers(len(babble)))][::-1]
            start = int(rng.integers(n))
            tiled = np.resize(talker, n + start)[start:]
            out += tiled / (np.sqrt(np.mean(talker**2)) + 1e-9)
    else:
        raise ValueError(f"unknown noise {kind!r}; known: {', '.join(NOISE_KINDS)}")
    return np.asarray(out / (np.sqrt(np.mean(out**2)) + 1e-12), dtype=np.float32)


def add_noise(
    samples: np.ndarray,
    snr_db: float,
    kind: str = "white",
    seed: int = 0,
    babble: list[np.ndarray] | None = None,
) -> np.ndarray:
    """`samples` plus noise at `snr_db` (signal power measured over the voiced samples)."""
    rng = np.random.default_rng(seed)
    voiced = samples[np.abs(samples) > 0.01]
    power = float(np.mean(voiced**2)) if voiced.size else float(np.mean(samples**2))
    scale = np.sqrt(power / 10 ** (snr_db / 10))
    return np.asarray(samples + scale * noise(kind, samples.size, rng, babble or []), np.float32)
