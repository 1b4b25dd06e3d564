"""Noise reduction before recognition: a Wiener filter with a decision-directed SNR estimate.

The noise spectrum is estimated from the quietest frames of the utterance (a low percentile of
each frequency bin's power, so pauses and the edges of the recording provide it); each frame's
gain follows the a-priori SNR of Ephraim and Malah's decision-directed rule, floored so the
residual noise stays smooth. Applied only when the estimated SNR is low: on clean audio the
recognizer sees the input unchanged.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from robot_llm.speech.base import SAMPLE_RATE

NPERSEG: Final = 512
NOVERLAP: Final = 384
NOISE_QUANTILE: Final = 0.1
OVERESTIMATE: Final = 1.5
GAIN_FLOOR: Final = 0.1
SMOOTHING: Final = 0.98
DENOISE_BELOW_DB: Final = 30.0
MIN_SNR_DB: Final = 3.0  # below this the "speech" is steady noise: nothing is decoded


def estimate_snr(samples: np.ndarray, frame: int = 480) -> float:
    """Speech-to-noise ratio in dB: loud frames (95th percentile of energy) over quiet (10th)."""
    n = len(samples) // frame
    if n < 4:
        return float("inf")
    energy = np.mean(samples[: n * frame].reshape(n, frame).astype(np.float64) ** 2, axis=1)
    quiet, loud = np.percentile(energy, 10), np.percentile(energy, 95)
    return float(10 * np.log10((loud + 1e-12) / (quiet + 1e-12)))


def wiener(samples: np.ndarray) -> np.ndarray:
    """The samples with stationary noise attenuated (same length, float32)."""
    from scipy.signal import istft, stft

    if len(samples) < NPERSEG:
        return samples.astype(np.float32)
    _, _, spec = stft(samples, SAMPLE_RATE, nperseg=NPERSEG, noverlap=NOVERLAP)
    power = np.abs(spec) ** 2
    noise = np.quantile(power, NOISE_QUANTILE, axis=1) * OVERESTIMATE + 1e-12
    out = np.empty_like(spec)
    previous = np.zeros(power.shape[0])
    for i in range(power.shape[1]):
        posterior = power[:, i] / noise
        prior = SMOOTHING * previous / noise + (1 - SMOOTHING) * np.maximum(posterior - 1, 0)
        gain = np.maximum(prior / (1 + prior), GAIN_FLOOR)
        out[:, i] = gain * spec[:, i]
        previous = np.abs(out[:, i]) ** 2
    _, clean = istft(out, SAMPLE_RATE, nperseg=NPERSEG, noverlap=NOVERLAP)
    return np.asarray(clean[: len(samples)], dtype=np.float32)


def maybe_denoise(samples: np.ndarray) -> tuple[np.ndarray, float]:
    """Denoised samples when the estimated SNR is under DENOISE_BELOW_DB; and that estimate."""
    snr = estimate_snr(samples)
    return (wiener(samples) if snr < DENOISE_BELOW_DB else samples), snr
