"""The gymnasium environments: API conformance for every id, determinism, actions, observations."""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import robot_llm.envs
from robot_llm.envs import ENV_IDS
from robot_llm.envs.tabletop_env import MAX_OBJECTS, TabletopEnv

SMALL = (160, 120)  # camera size wherever the image size does not matter
FIRST = ENV_IDS[0]
# The one warning check_env may raise here: its human-mode render check runs without a display.
EXPECTED_WARNING = "needs a display"


def make(env_id: str = FIRST, **kwargs: Any) -> TabletopEnv:
    kwargs.setdefault("camera_size", SMALL)
    env = gym.make(env_id, **kwargs)
    assert isinstance(env.unwrapped, TabletopEnv)
    return env.unwrapped


@pytest.fixture
def env() -> Any:
    e = make(render_mode="rgb_array")
    yield e
    e.close()


def assert_same_obs(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], np.ndarray):
            assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k
        else:
            assert a[k] == b[k], k


def test_every_task_family_is_registered() -> None:
    assert len(ENV_IDS) == len(set(ENV_IDS)) >= 1
    for env_id in ENV_IDS:
        assert env_id.startswith("robot_llm/") and env_id.endswith("-v0")
        assert env_id in gym.registry
        spec = gym.spec(env_id)
        assert spec.max_episode_steps is not None and spec.max_episode_steps > 0
    assert robot_llm.envs.env_id("PickPlace") == "robot_llm/PickPlace-v0"


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env(env_id: str) -> None:
    env = gym.make(env_id, render_mode="rgb_array", camera_size=SMALL)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            check_env(env.unwrapped, skip_render_check=False)
    finally:
        env.close()
    unexpected = [str(w.message) for w in caught if EXPECTED_WARNING not in str(w.message)]
    assert not unexpected


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_seeded_reset_and_replay_are_bit_identical(env_id: str) -> None:
    a, b = make(env_id), make(env_id)
    try:
        obs_a, info_a = a.reset(seed=7)
        obs_b, info_b = b.reset(seed=7)
        assert_same_obs(obs_a, obs_b)
        assert info_a["instruction"] == info_b["instruction"]
        assert info_a["object_ids"] == info_b["object_ids"]
        actions = np.random.default_rng(0).uniform(-1, 1, (6, 5)).astype(np.float32)
        for action in actions:
            step_a, step_b = a.step(action), b.step(action)
            assert_same_obs(step_a[0], step_b[0])
            assert step_a[1:4] == step_b[1:4]
        # Resetting the same env with the seed again starts the same episode over.
        again, _ = a.reset(seed=7)
        assert_same_obs(again, obs_b)
    finally:
        a.close()
        b.close()


def test_different_seeds_give_different_episodes(env: TabletopEnv) -> None:
    episodes = set()
    for seed in range(5):
        obs, info = env.reset(seed=seed)
        episodes.add((info["instruction"], tuple(info["object_ids"]), obs["depth"].tobytes()))
    assert len(episodes) >= 4


def test_nan_and_infinite_actions_raise_value_error(env: TabletopEnv) -> None:
    env.reset(seed=0)
    for bad in (np.nan, np.inf, -np.inf):
        action = np.zeros(5, np.float32)
        action[2] = bad
        with pytest.raises(ValueError, match="NaN or infinity"):
            env.step(action)
    with pytest.raises(ValueError, match="5 values"):
        env.step(np.zeros(4, np.float32))
    env.step(np.zeros(5, np.float32))  # the env is still usable


def test_out_of_range_actions_are_clipped(env: TabletopEnv) -> None:
    big = np.array([3.0, -7.0, 1.5, 40.0, -2.0], np.float32)
    clipped = np.clip(big, -1.0, 1.0)
    results = []
    for action in (big, clipped):
        env.reset(seed=3)
        for _ in range(4):
            obs, *_ = env.step(action)
        results.append(obs)
    assert_same_obs(results[0], results[1])


def test_actions_move_the_hand_and_the_gripper(env: TabletopEnv) -> None:
    obs, _ = env.reset(seed=1)
    start = obs["ee_pose"][:3].copy()
    width = float(obs["gripper_width"][0])
    for _ in range(6):
        obs, *_ = env.step(np.array([0.0, 1.0, 0.0, 0.0, 1.0], np.float32))  # +y: the left
    moved = obs["ee_pose"][:3] - start
    assert moved[1] > 0.08 and abs(moved[0]) < 0.02 and abs(moved[2]) < 0.02
    for _ in range(8):
        obs, *_ = env.step(np.array([0.0, 0.0, 0.0, 0.0, -1.0], np.float32))  # close
    assert float(obs["gripper_width"][0]) < width - 0.05


def test_state_observation() -> None:
    env = make(obs_mode="state")
    try:
        obs, info = env.reset(seed=2)
        assert "rgb" not in obs and "depth" not in obs
        assert obs["objects"].shape == (MAX_OBJECTS, 7) and obs["objects"].dtype == np.float32
        assert env.observation_space.contains(obs)
        states = env.world.object_states()
        assert list(states) == info["object_ids"]
        n = len(states)
        for row, s in zip(obs["objects"][:n], states.values(), strict=True):
            assert np.allclose(row[:3], s.position, atol=1e-6)
            assert np.allclose(row[3:], s.orientation, atol=1e-6)
        assert not obs["objects"][n:].any()
        again, _ = env.reset(seed=2)
        assert_same_obs(again, obs)  # bit for bit
        assert env.render() is None  # no render mode
    finally:
        env.close()


def test_rgbd_observation_and_render(env: TabletopEnv) -> None:
    obs, info = env.reset(seed=4)
    space = env.observation_space
    assert isinstance(space, gym.spaces.Dict)
    width, height = SMALL
    assert obs["rgb"].shape == space["rgb"].shape == (height, width, 3)
    assert obs["rgb"].dtype == space["rgb"].dtype == np.uint8
    assert obs["depth"].shape == space["depth"].shape == (height, width)
    assert obs["depth"].dtype == np.float32
    assert "objects" not in obs
    assert space.contains(obs)
    assert len(obs["instruction"]) > 0 and space["instruction"].contains(obs["instruction"])
    assert obs["instruction"] == info["instruction"] == env.task.instruction
    frame = env.render()
    assert isinstance(frame, np.ndarray)
    assert np.array_equal(frame, obs["rgb"])
    obs, *_ = env.step(np.array([0.5, 0.0, 0.0, 0.0, 1.0], np.float32))
    assert np.array_equal(env.render(), obs["rgb"])
    assert obs["rgb"].std() > 5  # a real picture, not a blank frame


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_state_mode_and_info_of_every_task(env_id: str) -> None:
    env = make(env_id, obs_mode="state")
    try:
        obs, info = env.reset(seed=0)
        # Every object of the task fits the state table, inside the observation space.
        assert len(info["object_ids"]) <= MAX_OBJECTS
        assert env.observation_space.contains(obs)
        assert isinstance(info["is_success"], bool)
        assert 0.0 <= info["progress"] <= 1.0
        assert info["is_success"] == bool(info["success"])
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs)
        assert isinstance(info["is_success"], bool) and 0.0 <= info["progress"] <= 1.0
        assert reward == float(info["is_success"]) and terminated == info["is_success"]
        assert truncated is False
        assert env.evaluation["success"] == info["success"]
    finally:
        env.close()


@pytest.mark.parametrize(
    ("robot", "dof"), [("panda", 7), ("kuka_iiwa", 7), ("xarm6", 6), ("so101", 5)]
)
def test_env_runs_every_robot(robot: str, dof: int) -> None:
    env = make(obs_mode="state", robot=robot)
    try:
        obs, _ = env.reset(seed=0)
        assert obs["joint_pos"].shape == (dof,)
        obs, *_ = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs)
    finally:
        env.close()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"obs_mode": "pixels"}, "obs_mode"),
        ({"render_mode": "ascii"}, "render_mode"),
        ({"control_hz": 7}, "control_hz"),
        ({"robot": "ur5"}, "unknown robot"),
        ({"task": "FoldLaundry"}, "unknown task"),
    ],
)
def test_bad_constructor_arguments_raise_value_error(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        TabletopEnv(**kwargs)


def test_async_vector_env_resets_and_steps() -> None:
    vec = gym.vector.AsyncVectorEnv(
        [lambda: gym.make(FIRST, obs_mode="state") for _ in range(2)], shared_memory=False
    )
    try:
        obs, info = vec.reset(seed=[0, 1])
        assert obs["objects"].shape == (2, MAX_OBJECTS, 7)
        assert len(obs["instruction"]) == 2
        assert not np.array_equal(obs["objects"][0], obs["objects"][1])  # two different episodes
        for _ in range(3):
            obs, reward, terminated, truncated, info = vec.step(vec.action_space.sample())
        assert obs["joint_pos"].shape == (2, 7)
        assert reward.shape == terminated.shape == truncated.shape == (2,)
        assert info["is_success"].shape == (2,) and info["progress"].shape == (2,)
    finally:
        vec.close()
