"""Policy checkpoints: a folder with `config.json` (the PolicyConfig) and `model.safetensors`
(the weights, normalization stats included), as LeRobot saves its policies."""

from __future__ import annotations

import json
import os
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from robot_llm.errors import InputError
from robot_llm.policies.learned.chunking_mlp import ChunkingMLPPolicy
from robot_llm.policies.learned.config import PolicyConfig

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
POLICY_TYPES: dict[str, type[ChunkingMLPPolicy]] = {"chunking_mlp": ChunkingMLPPolicy}


class CheckpointError(InputError):
    """A policy checkpoint that is missing or cannot be read; the message names the file."""


def save_policy(policy: ChunkingMLPPolicy, folder: str | os.PathLike[str]) -> Path:
    """Write the policy to `folder` (created); the folder. Files are replaced atomically, so a
    crash never leaves a config beside weights of another policy."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in policy.state_dict().items()}
    tmp_weights, tmp_config = out / f".{WEIGHTS_FILE}.tmp", out / f".{CONFIG_FILE}.tmp"
    save_file(state, str(tmp_weights), metadata={"format": "pt"})
    tmp_config.write_text(json.dumps(policy.config.to_dict(), indent=2, sort_keys=True) + "\n")
    os.replace(tmp_weights, out / WEIGHTS_FILE)
    os.replace(tmp_config, out / CONFIG_FILE)
    return out


def load_policy(folder: str | os.PathLike[str]) -> ChunkingMLPPolicy:
    """The policy saved in `folder`, in eval mode; CheckpointError (one line) when it is not
    a readable checkpoint."""
    where = Path(folder)
    config_path, weights_path = where / CONFIG_FILE, where / WEIGHTS_FILE
    for path in (where, config_path, weights_path):
        if not path.exists():
            raise CheckpointError(f"policy checkpoint: {path} does not exist")
    try:
        data = json.loads(config_path.read_text())
    except (OSError, ValueError) as err:
        raise CheckpointError(f"policy checkpoint: {config_path} is not JSON ({err})") from None
    config = PolicyConfig.from_dict(data, where=str(config_path))
    kind = POLICY_TYPES.get(config.type)
    if kind is None:
        raise CheckpointError(f"{config_path}: unknown policy type {config.type!r}")
    policy = kind(config)
    try:
        state = load_file(str(weights_path))
    except (OSError, SafetensorError) as err:
        raise CheckpointError(f"policy checkpoint: {weights_path} is unreadable ({err})") from None
    try:
        policy.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(f"{weights_path} does not fit {config_path}: {first}") from None
    return policy.eval()
