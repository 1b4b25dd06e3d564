"""Order statistics of 1-D samples by partial sort (numpy's percentile costs ~100 us a call)."""

from __future__ import annotations

import numpy as np


def quantile(values: np.ndarray, q: float) -> float:
    """The value at fraction q in [0, 1] of the sorted samples (nearest rank)."""
    a = np.asarray(values).ravel()
    k = min(max(round(q * (len(a) - 1)), 0), len(a) - 1)
    return float(np.partition(a, k)[k])


def median(values: np.ndarray) -> float:
    return quantile(values, 0.5)


def spread(values: np.ndarray, low: float, high: float) -> tuple[float, float]:
    """The values at fractions `low` and `high` of the sorted samples."""
    a = np.asarray(values).ravel()
    n = len(a) - 1
    i, j = round(low * n), round(high * n)
    part = np.partition(a, (i, j))
    return float(part[i]), float(part[j])
