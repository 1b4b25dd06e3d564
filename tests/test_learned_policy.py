"""The learned-policy contract (policies/learned): config, normalization from a dataset's stats,
action chunks through reset/select_action, and checkpoints as safetensors plus JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from robot_llm.policies.learned.checkpoint import CheckpointError, load_policy, save_policy
from robot_llm.policies.learned.chunking_mlp import ChunkingMLPPolicy
from robot_llm.policies.learned.config import PolicyConfig, PolicyConfigError, PolicyFeature

STATE, ENV, ACTION = "observation.state", "observation.environment_state", "action"


def config(chunk: int = 6, steps: int = 3) -> PolicyConfig:
    return PolicyConfig(
        input_features={STATE: PolicyFeature("STATE", (4,)), ENV: PolicyFeature("ENV", (3,))},
        output_features={ACTION: PolicyFeature("ACTION", (2,))},
        chunk_size=chunk,
        n_action_steps=steps,
        hidden=(32,),
    )


def stats() -> dict[str, dict[str, np.ndarray]]:
    return {
        STATE: {"mean": np.arange(4.0), "std": np.full(4, 2.0),
                "min": -np.ones(4), "max": np.ones(4)},
        ENV: {"mean": np.zeros(3), "std": np.ones(3), "min": -np.ones(3), "max": np.ones(3)},
        ACTION: {"mean": np.array([10.0, -5.0]), "std": np.array([0.5, 4.0]),
                 "min": np.zeros(2), "max": np.ones(2)},
    }  # fmt: skip


def observation(batch: int = 1, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {STATE: torch.randn(batch, 4, generator=g), ENV: torch.randn(batch, 3, generator=g)}


def test_the_config_round_trips_through_json_and_rejects_bad_fields() -> None:
    c = config()
    again = PolicyConfig.from_dict(json.loads(json.dumps(c.to_dict())))
    assert again == c
    bad = c.to_dict() | {"chunk_sizes": 3}
    with pytest.raises(PolicyConfigError, match="unknown field 'chunk_sizes'"):
        PolicyConfig.from_dict(bad, where="x.json")
    with pytest.raises(PolicyConfigError, match="n_action_steps 7"):
        config(chunk=6, steps=7)
    with pytest.raises(PolicyConfigError, match="feature type 'PIXELS'"):
        PolicyFeature("PIXELS", (3,))


def test_normalization_uses_the_dataset_stats_both_ways() -> None:
    policy = ChunkingMLPPolicy(config(), stats())
    x = torch.tensor([[10.0, -5.0], [11.0, 3.0]])
    z = policy.normalizer.normalize(ACTION, x)
    assert torch.allclose(z, torch.tensor([[0.0, 0.0], [2.0, 2.0]]), atol=1e-4)
    assert torch.allclose(policy.normalizer.unnormalize(ACTION, z), x, atol=1e-4)
    with pytest.raises(PolicyConfigError, match=r"no mean of 'observation\.state'"):
        ChunkingMLPPolicy(config(), stats() | {STATE: {}})


def test_select_action_executes_n_action_steps_of_each_chunk_then_predicts_again() -> None:
    torch.manual_seed(0)
    policy = ChunkingMLPPolicy(config(chunk=6, steps=3), stats()).eval()
    obs = observation(batch=2)
    chunk = policy.predict_action_chunk(obs)
    assert chunk.shape == (2, 6, 2)
    first = [policy.select_action(obs) for _ in range(3)]
    for i, action in enumerate(first):
        assert torch.allclose(action, chunk[:, i])
    other = observation(batch=2, seed=1)
    fourth = policy.select_action(other)  # the queue is empty: a new chunk from `other`
    assert torch.allclose(fourth, policy.predict_action_chunk(other)[:, 0])
    policy.reset()
    assert torch.allclose(policy.select_action(obs), chunk[:, 0])


def test_training_lowers_the_loss_and_padded_steps_do_not_count() -> None:
    torch.manual_seed(0)
    policy = ChunkingMLPPolicy(config(), stats())
    obs = observation(batch=64)
    target = (obs[STATE][:, :2] * 3).unsqueeze(1).repeat(1, 6, 1) + torch.tensor([10.0, -5.0])
    batch = obs | {ACTION: target}
    optimizer = torch.optim.Adam(policy.parameters(), lr=3e-3)
    first = float(policy(batch).detach())
    for _ in range(200):
        optimizer.zero_grad()
        loss = policy(batch)
        loss.backward()
        optimizer.step()
    assert float(loss.detach()) < first / 5
    wild = target.clone()
    wild[:, 3:] += 1000.0
    pad = torch.zeros(64, 6, dtype=torch.bool)
    pad[:, 3:] = True
    with torch.no_grad():
        padded_wild = float(policy(obs | {ACTION: wild, "action_is_pad": pad}))
        padded = float(policy(obs | {ACTION: target, "action_is_pad": pad}))
    assert padded_wild == pytest.approx(padded, rel=1e-5)


def test_a_checkpoint_loads_as_the_same_policy(tmp_path: Path) -> None:
    torch.manual_seed(0)
    policy = ChunkingMLPPolicy(config(), stats()).eval()
    folder = save_policy(policy, tmp_path / "ckpt")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    loaded = load_policy(folder)
    obs = observation(batch=3)
    assert torch.equal(loaded.predict_action_chunk(obs), policy.predict_action_chunk(obs))
    assert loaded.config == policy.config


def test_a_missing_or_broken_checkpoint_is_one_line_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_policy(tmp_path / "nowhere")
    folder = save_policy(ChunkingMLPPolicy(config(), stats()), tmp_path / "ckpt")
    (folder / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match=r"model\.safetensors is unreadable") as err:
        load_policy(folder)
    assert "\n" not in str(err.value)
    save_policy(ChunkingMLPPolicy(config(), stats()), folder)
    data = json.loads((folder / "config.json").read_text())
    data["hidden"] = [64]
    (folder / "config.json").write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match="does not fit"):
        load_policy(folder)
