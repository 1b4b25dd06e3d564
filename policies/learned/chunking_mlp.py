"""A policy that predicts a chunk of future actions from flat features, with an MLP.

Trained by behaviour cloning (`forward` returns the L1 loss against the dataset's action
chunk, padded steps masked); at run time `select_action` executes the first `n_action_steps`
actions of each predicted chunk before it predicts again, as LeRobot's chunking policies do.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from robot_llm.policies.learned.config import PolicyConfig, PolicyConfigError
from robot_llm.policies.learned.normalize import Normalizer

Batch = Mapping[str, torch.Tensor]


class ChunkingMLPPolicy(nn.Module):
    """`config.input_features` in, `config.chunk_size` actions out."""

    def __init__(
        self, config: PolicyConfig, stats: Mapping[str, Mapping[str, np.ndarray]] | None = None
    ) -> None:
        super().__init__()
        self.config = config
        self.input_keys = sorted(config.input_features)
        features = dict(config.input_features) | dict(config.output_features)
        self.normalizer = Normalizer(features, config.normalization_mapping, stats)
        width = sum(config.input_features[k].size for k in self.input_keys)
        layers: list[nn.Module] = []
        for hidden in config.hidden:
            layers += [nn.Linear(width, hidden), nn.GELU()]
            if config.dropout:
                layers.append(nn.Dropout(config.dropout))
            width = hidden
        layers.append(nn.Linear(width, config.chunk_size * config.action_size))
        self.net = nn.Sequential(*layers)
        self._queue: deque[torch.Tensor] = deque()

    # -- training -------------------------------------------------------------------------------
    def forward(self, batch: Batch) -> torch.Tensor:
        """The mean L1 loss of the predicted chunk against `batch["action"]` (B, chunk, A),
        ignoring steps where `batch["action_is_pad"]` (B, chunk) is true."""
        predicted = self._predict_normalized(batch)
        target = self.normalizer.normalize("action", batch["action"])
        error = (predicted - target).abs().mean(dim=-1)
        pad = batch.get("action_is_pad")
        if pad is None:
            return error.mean()
        keep = (~pad).float()
        return (error * keep).sum() / keep.sum().clamp(min=1.0)

    def _predict_normalized(self, batch: Batch) -> torch.Tensor:
        parts = []
        for key in self.input_keys:
            if key not in batch:
                raise PolicyConfigError(f"the observation has no {key!r}")
            x = batch[key].float()
            parts.append(self.normalizer.normalize(key, x).flatten(start_dim=1))
        out: torch.Tensor = self.net(torch.cat(parts, dim=-1))
        return out.view(-1, self.config.chunk_size, self.config.action_size)

    # -- acting ---------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget queued actions: call at the start of every episode or skill."""
        self._queue.clear()

    @property
    def queued(self) -> int:
        """Actions left of the last predicted chunk (0: the next `select_action` predicts)."""
        return len(self._queue)

    @torch.no_grad()
    def predict_action_chunk(self, batch: Batch) -> torch.Tensor:
        """(B, chunk_size, A) actions in the dataset's units."""
        return self.normalizer.unnormalize("action", self._predict_normalized(batch))

    @torch.no_grad()
    def select_action(self, observation: Batch) -> torch.Tensor:
        """The next action (B, A) for a batch of observations (each feature (B, ...))."""
        if not self._queue:
            chunk = self.predict_action_chunk(observation)
            self._queue.extend(chunk[:, : self.config.n_action_steps].transpose(0, 1))
        return self._queue.popleft()
