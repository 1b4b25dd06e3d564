"""The sim driver's worker processes: physics and rendering live outside the server's process,
survive a terminal's Ctrl-C, and a dead worker latches a fault instead of taking the server down."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
from bridge_support import serving, wait_for

from robot_llm.bridge.client import RemoteRobot
from robot_llm.bridge.sim_driver import SimDriver

pytestmark = pytest.mark.timeout(120)


def physics_pid(driver: object) -> int:
    assert isinstance(driver, SimDriver)
    return driver._physics._process.proc.pid


def test_the_arm_moves_after_ctrl_c_reaches_the_physics_worker() -> None:
    with serving("sim") as server, RemoteRobot(server.address) as robot:
        pid = physics_pid(server.driver)
        assert pid != os.getpid()
        os.kill(pid, signal.SIGINT)  # as a terminal's Ctrl-C reaches the whole process group
        p, yaw = robot.ee_target()
        goal = p + np.array([0.05, 0.0, 0.0])
        for _ in range(12):
            applied = robot.command_ee(goal, yaw, 1.0)
        assert applied.mode == "ok"
        wait_for(lambda: robot.state().ee_position[0] > p[0] + 0.02, 3.0, "the arm to move")


def test_a_dead_physics_worker_latches_a_fault_and_the_server_keeps_answering() -> None:
    with serving("sim") as server, RemoteRobot(server.address) as robot:
        p, yaw = robot.ee_target()
        os.kill(physics_pid(server.driver), signal.SIGKILL)
        wait_for(lambda: robot.state().mode == "fault", 3.0, "the fault to latch")
        state = robot.state()
        assert "physics worker" in state.last_error
        applied = robot.command_ee(p + np.array([0.05, 0.0, 0.0]), yaw, 1.0)
        assert applied.mode == "fault"  # acknowledged, and refused
        with RemoteRobot(server.address, control=False) as viewer:  # new clients still served
            assert viewer.state().mode == "fault"


def test_an_unchanged_state_is_sent_again_and_a_moved_arm_is_rendered_anew() -> None:
    from bridge_support import SCENE

    driver = SimDriver(scene=str(SCENE))
    try:
        pool = driver._renders
        first = driver.capture("main")
        again = driver.capture("main")
        assert (pool.rendered, pool.reused) == (1, 1)
        assert np.array_equal(first.rgb, again.rgb) and np.array_equal(first.depth, again.depth)
        assert again.timestamp >= first.timestamp
        p, yaw = driver.ee_target()
        for _ in range(24):  # one second of control periods toward a point 8 cm away
            driver.write_ee(p + np.array([0.0, 0.08, -0.05]), yaw, 1.0)
        moved = driver.capture("main")
        assert (pool.rendered, pool.reused) == (2, 1)
        changed = np.abs(moved.rgb.astype(int) - first.rgb).sum(axis=2) > 30
        assert changed.mean() > 0.002  # the arm is drawn where it went
    finally:
        driver.close()


def test_light_render_detail_draws_the_arm_with_its_collision_shapes() -> None:
    import pybullet as p

    from robot_llm.envs.assets import resolve_asset
    from robot_llm.envs.light_visuals import light_visuals_urdf
    from robot_llm.envs.robots import PANDA

    full = resolve_asset(PANDA.urdf)
    light = light_visuals_urdf(full)
    assert light_visuals_urdf(full) == light  # written once
    client = p.connect(p.DIRECT)
    try:
        shapes = {}
        for name, path in (("full", full), ("light", light)):
            body = p.loadURDF(path, physicsClientId=client)
            joints = [p.getJointInfo(body, j, physicsClientId=client)[1] for j in range(12)]
            files = [s[4].decode() for s in p.getVisualShapeData(body, physicsClientId=client)]
            shapes[name] = (joints, files)
        assert shapes["light"][0] == shapes["full"][0]  # the same arm
        assert any("/visual/" in f for f in shapes["full"][1])
        meshes = [f for f in shapes["light"][1] if f.endswith(".obj")]
        assert meshes and all("/collision/" in f for f in meshes)
    finally:
        p.disconnect(client)
    with pytest.raises(ValueError, match="render_detail"):
        SimDriver(scene="x.yaml", render_detail="low")
