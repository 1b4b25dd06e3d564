"""A small learned detector of spoken stop words ("stop", "halt", "freeze"), for noisy rooms.

The stop path must act within 300 ms of the end of the word, which no full recognizer on two
cores does in noise. This detector looks at the last second of audio every 50 ms: a log-mel
spectrogram (40 bands, 10 ms hop) through a small convolutional network that says whether a
stop word has just ended. It is trained on synthesized speech with noise (`stopword_train.py`)
and its weights ship with the package (`models/stopword.pt`, about 100 kB).

`StopWordStream` is the live interface of `mic.utterances` (`feed`, `heard_stop`, `finish`); it
runs beside pocketsphinx's live decoder, and either one hearing a stop stops the arm: a missed
stop costs more than a false one.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import numpy as np

from robot_llm.speech.base import SAMPLE_RATE, SpeechInputError

WINDOW_S: Final = 1.0  # the audio the detector sees
HOP: Final = 160  # 10 ms
FFT: Final = 400  # 25 ms
BANDS: Final = 40
FRAMES: Final = int(WINDOW_S * SAMPLE_RATE) // HOP  # 100
WEIGHTS: Final = Path(__file__).with_name("models") / "stopword.pt"


@lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """(BANDS, FFT // 2 + 1) triangular filters on the mel scale, 60 Hz to 7.6 kHz."""

    def mel(f: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    edges = hz(np.linspace(mel(np.array(60.0)), mel(np.array(7600.0)), BANDS + 2))
    freqs = np.fft.rfftfreq(FFT, 1.0 / SAMPLE_RATE)
    out = np.zeros((BANDS, freqs.size), dtype=np.float32)
    for b in range(BANDS):
        lo, mid, hi = edges[b], edges[b + 1], edges[b + 2]
        rise = (freqs - lo) / (mid - lo)
        fall = (hi - freqs) / (hi - mid)
        out[b] = np.clip(np.minimum(rise, fall), 0.0, None)
    return out


def features(audio: np.ndarray) -> np.ndarray:
    """(BANDS, FRAMES) log-mel features of the last WINDOW_S of `audio` (zeros before it),
    each band's mean removed, so the level of the voice and of steady noise matter less."""
    n = FRAMES * HOP + FFT - HOP
    x = np.zeros(n, dtype=np.float32)
    tail = np.asarray(audio[-n:], dtype=np.float32)
    x[n - tail.size :] = tail
    frames = np.lib.stride_tricks.sliding_window_view(x, FFT)[::HOP][:FRAMES]
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(FFT).astype(np.float32), axis=1)) ** 2
    logmel = np.log(spectrum @ mel_filters().T + 1e-6).T
    return np.asarray(logmel - logmel.mean(axis=1, keepdims=True), dtype=np.float32)


def build_network() -> Any:
    """The detector's network: three convolutions, global pooling, one logit."""
    import torch
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 48, 3, padding=1),
        nn.BatchNorm2d(48),
        nn.ReLU(),
        nn.AdaptiveMaxPool2d(1),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(48, 1),
    ).to(torch.float32)


class StopWordDetector:
    """The trained detector: `probability(audio)` of a stop word ending in its last second."""

    def __init__(self, weights: str | Path | None = None, threshold: float | None = None) -> None:
        import torch

        path = Path(weights) if weights else WEIGHTS
        if not path.is_file():
            raise SpeechInputError(f"{path}: no stop-word weights (train: stopword_train.py)")
        import pickle

        try:  # weights_only: tensors and plain containers, never arbitrary objects
            state = torch.load(path, map_location="cpu", weights_only=True)
            self.net = build_network()
            self.net.load_state_dict(state["network"])
        except (RuntimeError, OSError, ValueError, KeyError, pickle.UnpicklingError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise SpeechInputError(f"{path}: cannot read the stop-word weights ({first})") from None
        self.net.eval()
        self.threshold = float(threshold if threshold is not None else state["threshold"])

    def probability(self, audio: np.ndarray) -> float:
        import torch

        x = torch.from_numpy(features(audio))[None, None]
        with torch.no_grad():
            return float(torch.sigmoid(self.net(x))[0, 0])

    def stream(self) -> StopWordStream:
        return StopWordStream(self)


class StopWordStream:
    """One utterance as it arrives: every chunk, the detector looks at the last second."""

    def __init__(self, detector: StopWordDetector) -> None:
        self.detector = detector
        self.audio = np.zeros(0, dtype=np.float32)
        self.stopped = False

    def feed(self, chunk: np.ndarray) -> str:
        keep = int(WINDOW_S * SAMPLE_RATE) + FFT
        self.audio = np.concatenate([self.audio, np.asarray(chunk, np.float32)])[-keep:]
        if not self.stopped:
            self.stopped = self.detector.probability(self.audio) >= self.detector.threshold
        return "stop" if self.stopped else ""

    def heard_stop(self) -> bool:
        return self.stopped

    def finish(self) -> None:
        self.audio = np.zeros(0, dtype=np.float32)


class EitherStream:
    """Several live decoders side by side: a stop heard by any of them is a stop. `finish`
    returns the first one's transcript."""

    def __init__(self, streams: list[Any]) -> None:
        self.streams = streams

    def feed(self, chunk: np.ndarray) -> str:
        partials = [s.feed(chunk) for s in self.streams]
        return "stop" if self.heard_stop() else partials[0]

    def heard_stop(self) -> bool:
        return any(s.heard_stop() for s in self.streams)

    def finish(self) -> Any:
        results = [s.finish() for s in self.streams]
        return results[0]
