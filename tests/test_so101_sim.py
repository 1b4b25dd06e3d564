"""The simulated SO-101: its URDF, kinematics, revolute jaw, table and one whole episode."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import numpy as np
import pybullet as p
import pytest

from robot_llm import cli
from robot_llm.config import RobotConfig, StackConfig
from robot_llm.envs.arm import Arm
from robot_llm.envs.assets import resolve_asset
from robot_llm.envs.robots import SO101, get_robot
from robot_llm.errors import BAD_INPUT
from robot_llm.robots.kinematics import robot_chain
from robot_llm.session import open_session
from robot_llm.tabletop.predicates import in_bowl
from robot_llm.tabletop.rotations import tool_orientation
from robot_llm.tabletop.scene import ObjectSpec, SceneError, SceneSpec, bundled_scenes
from robot_llm.tabletop.setups import SO101_SETUP, robot_setup

pytestmark = pytest.mark.timeout(240)

URDF = resolve_asset(SO101.urdf)
# name: (lower, upper) in radians, as the real arm's servos allow them
LIMITS = {
    "shoulder_pan": (-1.9199, 1.9199),
    "shoulder_lift": (-1.7453, 1.7453),
    "elbow_flex": (-1.69, 1.69),
    "wrist_flex": (-1.6581, 1.6581),
    "wrist_roll": (-2.7925, 2.7925),
    "gripper": (-0.1745, 1.7453),
}


@pytest.fixture
def arm() -> Iterator[Arm]:
    client = p.connect(p.DIRECT)
    try:
        yield Arm(client, SO101)
    finally:
        p.disconnect(client)


def test_the_urdf_loads_with_six_revolute_joints_and_their_limits() -> None:
    client = p.connect(p.DIRECT)
    try:
        body = p.loadURDF(URDF, useFixedBase=True, physicsClientId=client)
        found = {}
        for j in range(p.getNumJoints(body, physicsClientId=client)):
            info = p.getJointInfo(body, j, physicsClientId=client)
            if info[2] != p.JOINT_FIXED:
                assert info[2] == p.JOINT_REVOLUTE, info[1]
                found[info[1].decode()] = (info[8], info[9])
        assert list(found) == list(LIMITS)
        for name, (lo, hi) in LIMITS.items():
            assert found[name] == pytest.approx((lo, hi), abs=1e-4), name
    finally:
        p.disconnect(client)
    # The tool centre is a fixed link between the jaw tips, and every link has a mass.
    root = ET.parse(URDF).getroot()
    tcp = [j for j in root.findall("joint") if j.find("child").get("link") == "gripper_tcp"]  # type: ignore[union-attr]
    assert len(tcp) == 1 and tcp[0].get("type") == "fixed"
    assert all(link.find("inertial") is not None for link in root.findall("link"))


def test_forward_kinematics_of_the_zero_and_home_poses() -> None:
    chain = robot_chain("so101")
    # All joints at 0: upper arm up, forearm and gripper level, pointing along +x. From the
    # base: shoulder 6.2 + 5.4 cm up and 3 cm ahead, upper arm 2.8 / 11.3 cm, forearm 13.5 /
    # 0.5 cm, wrist to tool centre 15.9 cm.
    zero = chain.pose(np.zeros(5))
    assert zero[:3, 3] == pytest.approx([0.20 + 0.3525, 0.0, 0.2344], abs=1e-3)
    assert zero[:3, 2] == pytest.approx([1.0, 0.0, 0.0], abs=1e-6)  # the tool axis
    # Home: turned back over the left shoulder, tool straight down, behind the workspace.
    home = chain.pose(np.asarray(SO101.home))
    assert home[:3, 3] == pytest.approx([0.16, 0.145, 0.06], abs=1e-3)
    assert home[:3, 2] == pytest.approx([0.0, 0.0, -1.0], abs=1e-3)
    assert not SO101_SETUP.workspace.contains(float(home[0, 3]), float(home[1, 3]))


def test_a_top_down_grasp_is_reachable_over_the_whole_workspace(arm: Arm) -> None:
    ws = SO101_SETUP.workspace
    down = np.asarray(SO101.ee_down)
    checked = 0
    for x in np.linspace(ws.x[0], ws.x[1], 9):
        for y in np.linspace(ws.y[0], ws.y[1], 9):
            if not ws.contains(float(x), float(y)):
                continue
            for z, yaw in ((0.013, -0.7), (0.03, 0.0), (0.065, 0.7)):
                target = np.array([x, y, z])
                q = arm.solve_ik(target, tool_orientation(yaw, down))
                assert np.all(q > arm.limits.lower) and np.all(q < arm.limits.upper), target
                for j, v in zip(arm.arm_joints, q, strict=True):
                    p.resetJointState(arm.body, j, float(v), physicsClientId=arm.client)
                pos, quat = arm.ee_pose()
                assert np.linalg.norm(pos - target) < 1e-3, (target, pos)
                rot = np.asarray(p.getMatrixFromQuaternion(quat.tolist())).reshape(3, 3)
                assert rot[2, 2] < -math.cos(math.radians(1.0)), (target, rot[:, 2])
                turned = math.atan2(rot[1, 0], rot[0, 0])
                assert abs(math.remainder(turned - yaw, 2 * math.pi)) < 0.01
                checked += 1
    assert checked > 60
    # Out of reach stays out: the IK stretches toward it and misses.
    q = arm.solve_ik(np.array([0.60, 0.0, 0.02]), down)
    for j, v in zip(arm.arm_joints, q, strict=True):
        p.resetJointState(arm.body, j, float(v), physicsClientId=arm.client)
    assert np.linalg.norm(arm.ee_pose()[0] - [0.60, 0.0, 0.02]) > 0.05


def test_the_revolute_jaw_opens_to_the_width_commanded(arm: Arm) -> None:
    grip = SO101.gripper
    assert grip is not None and grip.kind == "revolute"
    widths = [grip.width([a]) for a in np.linspace(grip.closed_position, grip.open_position, 20)]
    assert widths[0] == pytest.approx(0.0, abs=1e-9)
    assert np.all(np.diff(widths) > 0)
    assert arm.max_gripper_width == pytest.approx(0.0727, abs=0.001)
    for width in (0.01, 0.035, 0.06):
        assert grip.width([grip.position_for(width)]) == pytest.approx(width, abs=1e-6)
    # Gripping a 3 cm block and a 4 cm block stays within the jaw's travel.
    assert 0.0 < grip.position_for(0.028) < grip.position_for(0.038) < grip.open_position


def test_the_so101_table_keeps_objects_in_its_reach() -> None:
    ws = SO101_SETUP.workspace
    assert robot_setup("panda") == robot_setup("no such robot")  # others keep the Panda's
    block = ObjectSpec("b", "block", "red", "small", (0.33, 0.12))
    SceneSpec((block,), workspace=ws)
    far = ObjectSpec("b", "block", "red", "small", (0.46, 0.0))  # 26 cm from the base
    with pytest.raises(SceneError, match=r"object 'b': field 'position'.*out of reach"):
        SceneSpec((far,), workspace=ws)
    # The bundled SO-101 scenes stand in its reach (and in the shared table's workspace).
    scenes = {name: path for name, path in bundled_scenes().items() if "so101" in name}
    assert scenes
    from robot_llm.tabletop.scene import load_scene

    for path in scenes.values():
        load_scene(path)
        load_scene(path, workspace=ws)


def test_one_pick_and_place_episode_succeeds_with_camera_perception() -> None:
    scene = str(bundled_scenes()["so101_blocks_and_bowls"])
    session = open_session(StackConfig(robot=RobotConfig(robot="so101", scene=scene)))
    try:
        assert session.robot.info.name == "so101"
        result = session.turn("put the red block in the green bowl").to_dict()
        assert session.world is not None
        states = session.world.object_states()
        assert in_bowl(states["red_block"], states["green_bowl"]), result
        assert not in_bowl(states["blue_block"], states["green_bowl"])
    finally:
        session.close()


def test_a_bad_robot_name_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match=r"unknown robot 'so100'.*so101"):
        get_robot("so100")
    scene = str(bundled_scenes()["so101_blocks_and_bowls"])
    code = cli.main(["plan", "--scene", scene, "--robot", "so100", "pick up the red block"])
    assert code == BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown robot 'so100'" in err[0] and "so101" in err[0], err
