"""Forward kinematics from the URDF (robot_llm.robots.kinematics) against PyBullet, and every
robot's home pose inside the workspace box its commands are checked against."""

from __future__ import annotations

import numpy as np
import pybullet as p
import pytest

from robot_llm.bridge.limits import SafetyLimits
from robot_llm.bridge.mock_driver import MockDriver
from robot_llm.envs.arm import Arm
from robot_llm.envs.robots import ROBOTS
from robot_llm.robots.base import RobotLimits
from robot_llm.robots.kinematics import Chain, KinematicsError, robot_chain


@pytest.fixture
def client() -> object:
    c = p.connect(p.DIRECT)
    yield c
    p.disconnect(c)


@pytest.mark.parametrize("name", sorted(ROBOTS))
def test_the_chain_matches_the_simulator_for_random_joint_vectors(name: str, client: int) -> None:
    arm = Arm(client, ROBOTS[name])
    chain = robot_chain(name)
    rng = np.random.default_rng(7)
    for _ in range(50):
        q = rng.uniform(arm.limits.lower, arm.limits.upper)
        for j, v in zip(arm.arm_joints, q, strict=True):
            p.resetJointState(arm.body, j, v, physicsClientId=client)
        expected, _ = arm.ee_pose()
        assert np.abs(chain.position(q) - expected).max() < 1e-6


def inside(position: np.ndarray, lo: tuple[float, ...], hi: tuple[float, ...]) -> bool:
    return bool(np.all(position >= np.array(lo)) and np.all(position <= np.array(hi)))


@pytest.mark.parametrize("name", sorted(ROBOTS))
def test_every_home_pose_lies_inside_the_workspace_box(name: str) -> None:
    home = robot_chain(name).position(np.array(ROBOTS[name].home))
    for box in (SafetyLimits(), RobotLimits()):
        assert inside(home, box.workspace_min, box.workspace_max), (name, home)


def test_the_mock_arm_starts_inside_the_box_unless_told_otherwise() -> None:
    box = SafetyLimits()
    mock = MockDriver()
    assert inside(np.array(mock.read_state().ee_position), box.workspace_min, box.workspace_max)
    outside = MockDriver(start="1.5,-0.6,0,-2.2,0,1.6,0.8")
    ee = np.array(outside.read_state().ee_position)
    assert not inside(ee, box.workspace_min, box.workspace_max)
    assert np.allclose(
        outside.forward_kinematics(np.array(outside.read_state().joint_positions)), ee
    )
    with pytest.raises(ValueError, match="start"):
        MockDriver(start="1,2,three")


def test_a_urdf_without_the_asked_link_or_joints_is_a_clear_error(tmp_path: object) -> None:
    from pathlib import Path

    urdf = Path(str(tmp_path)) / "arm.urdf"
    urdf.write_text(
        '<robot name="a"><link name="base"/><link name="tip"/>'
        '<joint name="j1" type="revolute"><parent link="base"/><child link="tip"/>'
        '<origin xyz="0 0 0.5" rpy="0 0 0"/><axis xyz="0 0 1"/></joint></robot>'
    )
    chain = Chain(urdf, "tip", ("j1",))
    assert np.allclose(chain.position(np.array([0.3])), [0.0, 0.0, 0.5])
    with pytest.raises(KinematicsError, match="no link 'hand'"):
        Chain(urdf, "hand", ("j1",))
    with pytest.raises(KinematicsError, match="j9"):
        Chain(urdf, "tip", ("j1", "j9"))
    with pytest.raises(ValueError, match="expected 1 joint positions"):
        chain.position(np.zeros(2))
