"""The task families sized for the SO-101 (envs/tasks with robot="so101"): every object and
target inside its reach, blocks its jaws take, families that cannot fit it refused in one line;
and the Panda's episodes unchanged, draw for draw."""

from __future__ import annotations

import hashlib
import json
import math

import gymnasium as gym
import numpy as np
import pytest

import robot_llm.envs  # noqa: F401  (registers the gymnasium ids)
from robot_llm.cli import main
from robot_llm.config import RobotConfig, StackConfig
from robot_llm.envs.tasks import TASKS, TaskDoesNotFit, make_task
from robot_llm.envs.tasks.common import footprint_radius, next_to_push_target
from robot_llm.session import open_session
from robot_llm.tabletop.geometry import footprint, height, polygon_inside_box
from robot_llm.tabletop.palette import BLOCK_EDGE
from robot_llm.tabletop.setups import SO101_SETUP

SO101_FAMILIES = ("PickPlace", "PutInBowl", "Push")
NOT_SO101 = {
    "Stack": "piles 3 blocks high",
    "Pyramid": "piles 3 blocks high",
    "TowersOfHanoi": "piles 3 blocks high",
    "Sort": "two blocks and two zones",
    "Clear": "a tray and three blocks",
    "Chain": "four blocks, two bowls and a zone",
}
# sha256 over seeds 0-19 of each family's episode (scene, instruction, goal) on the Panda's
# table, taken before the families learned other robots' tables: the default robot's episodes
# must stay the same, draw for draw.
PANDA_EPISODES = {
    "Chain": "378efd37d1dd93a43f4e15c9ce85e77275d76668af5ae6f06e3f42d33c1d7446",
    "Clear": "2d9b1a2071e6fee60b4076cf00a403735587d162f4d6ff4efca1d1a5fdb49c83",
    "PickPlace": "97b576b187fc13f0d2150cb01ada09375e7a2c38ab645bf54c1f9e0d7cc80454",
    "Push": "81ce0a3f96abdae4b5d0d44dc42551753a40c02ee79c488834b3d9392e381d8a",
    "PutInBowl": "f6961b149f4dcc906e2e0c1411a220b85f906c6df691b47ffca784a51e7b684d",
    "Pyramid": "1c8cec5a91416a53a541692527661b29714357549bc179325af22db23be7514a",
    "Sort": "3b67f9f780620331e0340c3d0528e936dc7a81cc7f735f1fcb1a5b5bdaafc4bf",
    "Stack": "080f3ea29ae324957c51fb26f67c9c1e2717892617ad0b6a3b91f0818e480ec2",
    "TowersOfHanoi": "955972797c3c65bd3ea370deae1331d8b05404c9d1fb31671726eb87740b1a84",
}


def episodes_digest(name: str, robot: str | None = None) -> str:
    h = hashlib.sha256()
    for seed in range(20):
        task = make_task(name) if robot is None else make_task(name, robot)
        ep = task.reset(np.random.default_rng(seed))
        record = [ep.scene.to_dict(), ep.instruction, ep.goal]
        h.update(json.dumps(record, sort_keys=True, default=float).encode())
    return h.hexdigest()


def test_every_family_is_known_here() -> None:
    assert set(TASKS.names()) == set(SO101_FAMILIES) | set(NOT_SO101) == set(PANDA_EPISODES)


@pytest.mark.parametrize("name", sorted(PANDA_EPISODES))
def test_the_pandas_episodes_are_unchanged(name: str) -> None:
    assert episodes_digest(name) == PANDA_EPISODES[name]
    assert episodes_digest(name, "panda") == PANDA_EPISODES[name]


def test_another_robot_without_a_table_of_its_own_samples_the_pandas_episodes() -> None:
    assert episodes_digest("PickPlace", "xarm6") == PANDA_EPISODES["PickPlace"]


def in_reach(spec: object) -> bool:
    ws = SO101_SETUP.workspace
    x, y = spec.position  # type: ignore[attr-defined]
    poly = footprint(spec.kind, spec.size, (x, y), spec.yaw)  # type: ignore[attr-defined]
    return ws.contains(x, y) and polygon_inside_box(poly, ws.x, ws.y)


@pytest.mark.parametrize("name", SO101_FAMILIES)
def test_so101_episodes_stand_in_its_reach_with_blocks_its_jaws_take(name: str) -> None:
    task = make_task(name, "so101")
    kinds: set[str] = set()
    for seed in range(20):
        ep = task.reset(np.random.default_rng(seed))
        for spec in ep.scene:
            assert in_reach(spec), f"{name} seed {seed}: {spec} out of the SO-101's reach"
            assert spec.size == "small", f"{name} seed {seed}: {spec}"
            kinds.add(spec.kind)
            if spec.kind == "block":
                assert BLOCK_EDGE[spec.size] <= 0.05
        if name == "Push":
            goal = ep.goal
            obj, other = ep.scene.get(goal["object"]), ep.scene.get(goal["target"])
            target = next_to_push_target(obj.position, other.position, obj.size, other.size)
            assert goal["relation"] == "next_to"
            assert SO101_SETUP.workspace.contains(*target), f"seed {seed}: push target {target}"
            d = math.dist(obj.position, target)
            u = ((target[0] - obj.position[0]) / d, (target[1] - obj.position[1]) / d)
            back = footprint_radius(obj) + SO101_SETUP.push_behind
            hand = (obj.position[0] - u[0] * back, obj.position[1] - u[1] * back)
            assert SO101_SETUP.hand_reaches(*hand), f"seed {seed}: the hand starts at {hand}"
    assert "block" in kinds
    if name == "PickPlace":
        assert {"bowl", "zone"} <= kinds


def test_the_so101_hand_reach_is_a_ring_around_its_base() -> None:
    assert SO101_SETUP.hand_reaches(0.40, 0.0)  # 20 cm ahead of the base
    assert not SO101_SETUP.hand_reaches(0.46, 0.0)  # outside the reach box
    assert not SO101_SETUP.hand_reaches(0.25, 0.0)  # 5 cm from the base
    assert not SO101_SETUP.hand_reaches(0.42, 0.16)  # 27 cm from the base, inside the box


@pytest.mark.parametrize("name", sorted(NOT_SO101))
def test_a_family_the_so101_cannot_do_says_why(name: str) -> None:
    with pytest.raises(
        TaskDoesNotFit, match=f"^{name} does not fit the so101: .*{NOT_SO101[name]}"
    ):
        make_task(name, "so101")


def test_gym_make_samples_for_the_robot_and_refuses_what_does_not_fit() -> None:
    env = gym.make("robot_llm/PickPlace-v0", robot="so101", obs_mode="state")
    try:
        env.reset(seed=3)
        task = env.unwrapped.task  # type: ignore[attr-defined]
        assert task.robot == "so101"
        assert all(in_reach(s) for s in task.episode.scene)
        states = env.unwrapped.world.object_states()  # type: ignore[attr-defined]
        for spec in task.episode.scene:  # built where sampled, resting on the table
            z = height(spec.kind, spec.size) / 2
            assert np.allclose(states[spec.id].position, [*spec.position, z], atol=0.005)
    finally:
        env.close()
    with pytest.raises(TaskDoesNotFit, match="TowersOfHanoi does not fit the so101"):
        gym.make("robot_llm/TowersOfHanoi-v0", robot="so101")


def test_run_refuses_a_family_the_so101_cannot_do_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["run", "--robot", "so101", "--task", "robot_llm/Stack-v0", "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Stack does not fit the so101" in err, err


@pytest.mark.parametrize(("name", "seed"), [("PickPlace", 1), ("PutInBowl", 1)])
def test_a_sized_episode_succeeds_through_the_stack(name: str, seed: int) -> None:
    """The session `robot-llm run --robot so101 --task ID --seed N` opens: camera perception,
    the rule planner and the scripted skills; the task's own verdict judges."""
    config = StackConfig(robot=RobotConfig(robot="so101", task=name, seed=seed))
    session = open_session(config)
    try:
        assert session.task is not None and session.task.robot == "so101"
        result = session.turn(session.task.instruction)
        assert session.task_verdict()["success"], (result.status, result.reason)
    finally:
        session.close()
