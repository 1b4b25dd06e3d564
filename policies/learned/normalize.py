"""Normalization of features with a dataset's stats (meta/stats.json: mean, std, min, max).

Stats travel inside the checkpoint as buffers, so a loaded policy needs no dataset.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from robot_llm.policies.learned.config import PolicyConfigError, PolicyFeature

EPS = 1e-6


def _buffer_name(key: str, stat: str) -> str:
    return f"{key.replace('.', '_')}__{stat}"


class Normalizer(nn.Module):
    """Maps features to and from the normalized space the network works in."""

    def __init__(
        self,
        features: Mapping[str, PolicyFeature],
        mapping: Mapping[str, str],
        stats: Mapping[str, Mapping[str, np.ndarray]] | None = None,
    ) -> None:
        super().__init__()
        self.modes = {key: mapping.get(f.type, "IDENTITY") for key, f in features.items()}
        for key, feature in features.items():
            for stat in ("mean", "std", "min", "max"):
                value = torch.zeros(feature.shape) if stat != "std" else torch.ones(feature.shape)
                if stats is not None and self.modes[key] != "IDENTITY":
                    if key not in stats or stat not in stats[key]:
                        raise PolicyConfigError(f"the dataset's stats have no {stat} of {key!r}")
                    given = np.asarray(stats[key][stat], dtype=np.float32).reshape(-1)
                    if given.size != feature.size:
                        raise PolicyConfigError(
                            f"stats {stat} of {key!r} has {given.size} values, the feature "
                            f"{feature.size}"
                        )
                    value = torch.from_numpy(given.reshape(feature.shape).copy())
                self.register_buffer(_buffer_name(key, stat), value)

    def _stat(self, key: str, stat: str) -> torch.Tensor:
        out: torch.Tensor = getattr(self, _buffer_name(key, stat))
        return out

    def normalize(self, key: str, x: torch.Tensor) -> torch.Tensor:
        mode = self.modes[key]
        if mode == "MEAN_STD":
            return (x - self._stat(key, "mean")) / (self._stat(key, "std") + EPS)
        if mode == "MIN_MAX":
            lo, hi = self._stat(key, "min"), self._stat(key, "max")
            return (x - lo) / (hi - lo + EPS) * 2 - 1
        return x

    def unnormalize(self, key: str, x: torch.Tensor) -> torch.Tensor:
        mode = self.modes[key]
        if mode == "MEAN_STD":
            return x * (self._stat(key, "std") + EPS) + self._stat(key, "mean")
        if mode == "MIN_MAX":
            lo, hi = self._stat(key, "min"), self._stat(key, "max")
            return (x + 1) / 2 * (hi - lo + EPS) + lo
        return x
