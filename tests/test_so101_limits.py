"""The SO-101's own limits wherever a robot's limits are applied: the bridge serves it inside its
reach box and speed cap (the so101 driver, and the sim driver with robot=so101), the executor
looks from a viewing pose it reaches, and `robot-llm scene check --robot so101` checks its reach."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from so101_support import TIMEOUT_MS, start_steps, write_camera

from robot_llm.bridge.camera_driver import CameraDriver
from robot_llm.bridge.driver import load_driver
from robot_llm.bridge.limits import SafetyLimits, driver_limits, limits_for_robot
from robot_llm.cameras import open_table_camera
from robot_llm.cli import main
from robot_llm.drivers.so101.calibration import default_calibration
from robot_llm.drivers.so101.emulator import EmulatedBus
from robot_llm.envs.world import TabletopWorld
from robot_llm.execution import Executor
from robot_llm.execution.looking import DEFAULT_VIEW_POSE, view_pose_for
from robot_llm.perception import TruthPerceiver
from robot_llm.robots.sim import SimRobot
from robot_llm.tabletop.scene import load_scene
from robot_llm.tabletop.setups import SO101_SETUP
from robot_llm.types import Plan, Subgoal

ROOT = Path(__file__).resolve().parents[1]
SCENES = ROOT / "sim_assets" / "scenes"
SO101_SCENE = SCENES / "so101_blocks_and_bowls.yaml"
PANDA_SCENE = SCENES / "blocks_and_bowls.yaml"


def box(limits: SafetyLimits) -> tuple[tuple[float, ...], tuple[float, ...]]:
    return tuple(limits.workspace_min), tuple(limits.workspace_max)


# -- the bridge -----------------------------------------------------------------------------------
def test_limits_for_the_so101_are_its_reach_box_and_speed() -> None:
    default = SafetyLimits()
    so101 = limits_for_robot(default, "so101")
    assert box(so101) == (SO101_SETUP.reach_min, SO101_SETUP.reach_max)
    assert so101.max_ee_speed == SO101_SETUP.max_ee_speed == 0.15
    assert so101.watchdog_s == default.watchdog_s  # the rest stays
    assert limits_for_robot(default, "panda") == default  # robots without a setup: unchanged
    assert limits_for_robot(default, "mock") == default
    # An explicit --max-ee-speed stands.
    fast = default.with_overrides(max_ee_speed=0.3)
    assert limits_for_robot(fast, "so101", keep_speed=True).max_ee_speed == 0.3
    assert limits_for_robot(fast, "so101").max_ee_speed == SO101_SETUP.max_ee_speed


@pytest.fixture(scope="module")
def arm_files(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    folder = tmp_path_factory.mktemp("so101-limits")
    calibration = default_calibration()
    calibration.save(folder / "calibration.json")
    steps = start_steps(calibration, start=(0.20, 0.0, 0.06), base=(0.0, 0.0, 0.0))
    return SimpleNamespace(folder=folder, calibration=folder / "calibration.json", steps=steps)


def test_the_so101_driver_is_served_in_its_reach_box(arm_files: SimpleNamespace) -> None:
    with EmulatedBus(positions=arm_files.steps) as bus:
        options = {"port": bus.path, "calibration": str(arm_files.calibration)}
        driver = load_driver("so101", {**options, "base": "0,0,0", "timeout_ms": TIMEOUT_MS})
        try:
            limits = driver_limits(driver, SafetyLimits())
            assert box(limits) == (SO101_SETUP.reach_min, SO101_SETUP.reach_max)
            assert limits.max_ee_speed == SO101_SETUP.max_ee_speed
            mock = load_driver("mock")
            assert driver_limits(mock, SafetyLimits()) == SafetyLimits()  # no setup: the defaults
            mock.close()
            camera = open_table_camera(f"folder:{write_camera(arm_files.folder)}")
            assert driver_limits(CameraDriver(driver, camera), SafetyLimits()) == limits
        finally:
            driver.close()


def test_the_sim_driver_serves_a_simulated_so101_in_its_reach_box() -> None:
    driver = load_driver("sim", {"robot": "so101", "scene": str(SO101_SCENE)})
    try:
        limits = driver_limits(driver, SafetyLimits())
        assert box(limits) == (SO101_SETUP.reach_min, SO101_SETUP.reach_max)
        assert limits.max_ee_speed == SO101_SETUP.max_ee_speed
        home = driver.forward_kinematics(np.array(driver.describe().home))
        assert np.all(home >= limits.workspace_min) and np.all(home <= limits.workspace_max)
    finally:
        driver.close()


# -- the executor's viewing pose ------------------------------------------------------------------
def test_each_robot_has_its_viewing_pose() -> None:
    assert view_pose_for("so101") == SO101_SETUP.view_pose
    assert view_pose_for("panda") == DEFAULT_VIEW_POSE
    lo, hi = np.array(SO101_SETUP.reach_min), np.array(SO101_SETUP.reach_max)
    assert SO101_SETUP.view_pose is not None
    pose = np.array(SO101_SETUP.view_pose[:3])
    assert np.all(pose >= lo) and np.all(pose <= hi)  # the SO-101 reaches its own
    assert np.array(DEFAULT_VIEW_POSE[2]) > hi[2]  # and not the Panda's


def drive_to(robot: SimRobot, target: tuple[float, float, float]) -> None:
    for _ in range(200):
        robot.command_ee(np.array(target), 0.0, 1.0)
        if np.linalg.norm(np.array(robot.state().ee_position) - target) < 0.003:
            return
    raise AssertionError(f"the hand did not reach {target}: {robot.state().ee_position}")


def test_the_so101_executor_looks_from_its_own_viewing_pose() -> None:
    world = TabletopWorld("so101")
    try:
        world.build(load_scene(SO101_SCENE, workspace=SO101_SETUP.workspace))
        robot = SimRobot(world)
        drive_to(robot, (0.36, -0.06, 0.07))  # over the table, in the camera's way
        executor = Executor(robot, TruthPerceiver(world))
        assert executor.view_pose == SO101_SETUP.view_pose
        assert Executor(robot, TruthPerceiver(world), view_pose=None).view_pose is None
        result = executor.run(Plan((Subgoal("open_gripper"),)))
        assert result.status == "done", result.reason
        ee = np.array(robot.state().ee_position)
        assert SO101_SETUP.view_pose is not None
        assert np.linalg.norm(ee - SO101_SETUP.view_pose[:3]) < 0.02, ee  # it went to look
    finally:
        world.close()


def test_the_panda_executor_keeps_the_default_viewing_pose() -> None:
    world = TabletopWorld()
    try:
        world.build(load_scene(PANDA_SCENE))
        assert Executor(SimRobot(world), TruthPerceiver(world)).view_pose == DEFAULT_VIEW_POSE
    finally:
        world.close()


# -- scene check ----------------------------------------------------------------------------------
def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(["scene", "check", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_scene_check_with_a_robot_checks_its_reach(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = check(capsys, str(PANDA_SCENE))  # the shared workspace: fine
    assert rc == 0 and "6 objects" in out
    rc, out, err = check(capsys, str(PANDA_SCENE), "--robot", "so101")
    assert rc == 2 and out == ""
    line = err.strip()
    assert "\n" not in line and "'red_block'" in line and "out of reach" in line, line
    assert "0.11 to 0.21 m from the arm's base at [0.2, 0.0]" in line
    rc, out, err = check(capsys, str(SO101_SCENE), "--robot", "so101", "--json")
    data: dict[str, Any] = json.loads(out)
    assert rc == 0 and data["valid"] and data["robot"] == "so101" and len(data["objects"]) == 3
    rc, out, err = check(capsys, str(SO101_SCENE), "--robot", "so101")
    assert rc == 0 and "(within the so101's reach)" in out


def test_scene_check_names_the_robots_it_knows(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = check(capsys, str(SO101_SCENE), "--robot", "so102")
    assert rc == 2 and out == ""
    assert (
        err.strip()
        == "robot-llm: error: unknown robot 'so102'; known: panda, kuka_iiwa, xarm6, so101"
    )
