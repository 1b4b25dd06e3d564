"""Feature statistics as LeRobot keeps them: min, max, mean, std and count per feature.

Vectors get per-dimension statistics; camera images per-channel statistics of pixel values in
[0, 1], shaped (3, 1, 1), over a sample of at most IMAGE_SAMPLES frames of the episode. The
dataset's statistics merge the episodes' (counts weight means and variances).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

IMAGE_SAMPLES = 100  # frames of an episode that image statistics are taken from
Stats = dict[str, np.ndarray]


def vector_stats(values: np.ndarray) -> Stats:
    """Statistics over frames (axis 0) of a (frames, dims) array."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    return {
        "min": x.min(axis=0),
        "max": x.max(axis=0),
        "mean": x.mean(axis=0),
        "std": x.std(axis=0),
        "count": np.array([len(x)]),
    }


def image_stats(frames: np.ndarray) -> Stats:
    """Per-channel statistics of (frames, H, W, 3) uint8 images in [0, 1], shaped (3, 1, 1)."""
    n = len(frames)
    picked = np.round(np.linspace(0, n - 1, min(n, IMAGE_SAMPLES))).astype(int)
    sample = frames[picked]
    step = max(1, max(sample.shape[1:3]) // 150)  # large images are thinned, as LeRobot does
    x = sample[:, ::step, ::step, :].astype(np.float64) / 255.0
    per = {
        "min": x.min(axis=(0, 1, 2)),
        "max": x.max(axis=(0, 1, 2)),
        "mean": x.mean(axis=(0, 1, 2)),
        "std": x.std(axis=(0, 1, 2)),
    }
    out: Stats = {k: v.reshape(3, 1, 1) for k, v in per.items()}
    out["count"] = np.array([len(picked)])
    return out


def merge(parts: Sequence[Stats]) -> Stats:
    """The statistics of the union of the parts' samples."""
    counts = np.array([float(p["count"][0]) for p in parts])
    total = counts.sum()
    weights = counts / total
    shape = (-1,) + (1,) * np.ndim(parts[0]["mean"])
    w = weights.reshape(shape)
    means = np.stack([p["mean"] for p in parts])
    mean = (w * means).sum(axis=0)
    var = (w * (np.stack([p["std"] for p in parts]) ** 2 + (means - mean) ** 2)).sum(axis=0)
    return {
        "min": np.min(np.stack([p["min"] for p in parts]), axis=0),
        "max": np.max(np.stack([p["max"] for p in parts]), axis=0),
        "mean": mean,
        "std": np.sqrt(np.maximum(var, 0.0)),
        "count": np.array([int(total)]),
    }


def merge_all(episodes: Sequence[Mapping[str, Stats]]) -> dict[str, Stats]:
    keys = list(episodes[0]) if episodes else []
    return {k: merge([e[k] for e in episodes]) for k in keys}


def to_json(stats: Mapping[str, Stats]) -> dict[str, dict[str, Any]]:
    return {k: {name: v.tolist() for name, v in s.items()} for k, s in stats.items()}


def from_json(data: Mapping[str, Mapping[str, Any]]) -> dict[str, Stats]:
    return {k: {name: np.asarray(v) for name, v in s.items()} for k, s in data.items()}
