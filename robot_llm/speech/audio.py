"""Audio in: files to 16 kHz mono float32, level conditioning, voice activity.

`load_audio(path)` reads WAV or FLAC (any sample rate, any channel count, integer or float
samples) through soundfile/libsndfile, mixes to mono and resamples to 16 kHz with a polyphase
filter (`scipy.signal.resample_poly`, a Kaiser-windowed sinc). `condition` sets the level and
adds a faint seeded noise floor: recordings made by software (speech synthesis, edited files)
contain stretches of exact digital zeros, which no microphone produces and which wreck the
recognizer's cepstral features. `speech_frames` is the WebRTC voice-activity detector that
pocketsphinx ships, one decision per 30 ms frame.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Final

import numpy as np

from robot_llm.speech.base import SAMPLE_RATE, SpeechInputError

TARGET_PEAK: Final = 0.5  # conditioned audio peaks here (-6 dBFS)
NOISE_FLOOR: Final = 1e-3  # RMS of the added floor (-60 dBFS)
MIN_SPEECH_S: Final = 0.15  # less voiced audio than this is no speech


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Resample `samples` from `rate` to `target` Hz (polyphase, anti-aliased)."""
    if rate == target:
        return samples.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    g = math.gcd(int(rate), int(target))
    out = resample_poly(samples.astype(np.float64), target // g, int(rate) // g)
    return np.asarray(out, dtype=np.float32)


def load_audio(path: str | os.PathLike[str]) -> np.ndarray:
    """A WAV or FLAC file as 16 kHz mono float32; SpeechInputError (one line) when unusable."""
    import soundfile

    p = Path(path)
    if not p.is_file():
        raise SpeechInputError(f"{path}: no such audio file")
    try:
        data, rate = soundfile.read(str(p), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as err:
        reason = str(err).split(":")[-1].strip() or "unreadable"
        raise SpeechInputError(f"{path}: not a WAV or FLAC audio file ({reason})") from None
    if data.size == 0:
        raise SpeechInputError(f"{path}: the audio file is empty")
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    return resample(mono, int(rate))


def condition(samples: np.ndarray, seed: int = 0) -> np.ndarray:
    """Remove DC, scale the peak to TARGET_PEAK and add a seeded noise floor."""
    x = samples.astype(np.float32) - float(np.mean(samples)) if samples.size else samples
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak > 1e-6:
        x = x * (TARGET_PEAK / peak)
    noise = np.random.default_rng(seed).standard_normal(x.size).astype(np.float32)
    return np.asarray(x + NOISE_FLOOR * noise, dtype=np.float32)


def to_pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def from_pcm16(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def speech_frames(samples: np.ndarray, mode: int = 2) -> np.ndarray:
    """One voice-activity decision per 30 ms frame of 16 kHz audio (WebRTC detector)."""
    from pocketsphinx import Vad

    vad = Vad(mode, SAMPLE_RATE)
    n = vad.frame_bytes // 2
    pcm = to_pcm16(samples)
    frames = len(samples) // n
    return np.array(
        [vad.is_speech(pcm[i * 2 * n : (i + 1) * 2 * n]) for i in range(frames)], dtype=bool
    )


def has_speech(samples: np.ndarray) -> bool:
    """Whether at least MIN_SPEECH_S of the audio is voiced (the VAD's longest run)."""
    voiced = speech_frames(samples)
    longest = run = 0
    for v in voiced:
        run = run + 1 if v else 0
        longest = max(longest, run)
    return longest * 0.03 >= MIN_SPEECH_S
