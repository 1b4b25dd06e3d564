"""RemoteRobot: the Robot protocol over real sockets, reconnects, and a plan run end to end on a
server process with the sim driver."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections.abc import Iterator

import numpy as np
import pytest
from bridge_support import SCENE, ServeProcess, serving, wait_for

from robot_llm.bridge.client import RemoteRobot
from robot_llm.bridge.errors import LinkDown
from robot_llm.bridge.mock_driver import MockDriver
from robot_llm.bridge.server import BridgeServer, ServerConfig
from robot_llm.robots.base import Robot, RobotError

pytestmark = pytest.mark.timeout(180)


def test_remote_robot_is_a_robot_and_paces_to_the_control_period() -> None:
    with serving("mock") as server, RemoteRobot(server.address) as robot:
        assert isinstance(robot, Robot)
        info = robot.info
        assert info.name == "mock" and len(info.joint_names) == 7 and info.control_hz == 50.0
        assert info.cameras == ("main", "wrist") and info.limits.max_ee_speed == 0.25
        p, yaw = robot.ee_target()
        start = time.monotonic()
        for _ in range(25):
            robot.command_ee(p + np.array([0.0, 0.05, 0.0]), yaw, 1.0)
        elapsed = time.monotonic() - start
        assert 0.4 <= elapsed <= 0.8, f"25 periods of 20 ms took {elapsed:.3f} s"
        assert robot.state().ee_position[1] == pytest.approx(0.05, abs=1e-6)
        frame = robot.capture("wrist")
        assert frame.rgb.shape == (240, 320, 3) and frame.depth.shape == (240, 320)
        assert frame.camera == "wrist" and frame.intrinsics.shape == (3, 3)
        with pytest.raises(ValueError, match="unknown camera"):
            robot.capture("thermal")
        with pytest.raises(ValueError, match="finite"):
            robot.command_ee(np.array([math.nan, 0.0, 0.3]), 0.0, 1.0)
        assert robot.configure(camera_encoding="jpeg")["camera_encoding"] == "jpeg"
        assert robot.capture("main").rgb.shape == (480, 640, 3)


def test_a_live_view_gets_every_frame_and_shares_them_with_capture() -> None:
    with serving("mock") as server, RemoteRobot(server.address) as robot:
        first = robot.next_frame("main")
        stamps = [first.timestamp]
        for _ in range(5):
            stamps.append(robot.next_frame("main", stamps[-1]).timestamp)
        assert stamps == sorted(set(stamps)), stamps  # each strictly newer than the last
        # a capture that another caller's newest frame satisfies is answered with that frame
        newest = robot.next_frame("main", stamps[-1])
        taken = robot.capture("main")
        assert taken.timestamp >= newest.timestamp
        with pytest.raises(ValueError, match="unknown camera"):
            robot.next_frame("thermal")


def test_the_client_survives_a_server_restart() -> None:
    links: list[str] = []
    first = BridgeServer(MockDriver(), ServerConfig(bind="tcp://127.0.0.1:0"))
    address = first.start()
    robot = RemoteRobot(address, link_timeout=0.3, on_link=links.append)
    second: BridgeServer | None = None
    try:
        p, yaw = robot.ee_target()
        for _ in range(5):
            assert robot.command_ee(p + np.array([0.0, 0.02, 0.0]), yaw, 1.0).mode == "ok"
        assert robot.ee_target()[0][1] > p[1] + 0.01 and robot.link == "up"
        first.stop()
        wait_for(lambda: robot.link != "up", 3.0, "the client to notice the lost server")
        with pytest.raises(LinkDown):
            robot.command_ee(p, yaw, 1.0)
        second = BridgeServer(MockDriver(), ServerConfig(bind=address))
        second.start()
        wait_for(lambda: robot.link == "up", 10.0, "the client to reconnect")
        assert robot.ee_target()[0] == pytest.approx(p)  # the new server's arm, at home
        assert robot.command_ee(p, yaw, 1.0).mode == "ok"
        wait_for(lambda: robot.state().mode == "ok", 1.0, "state from the new server")
        assert links[:4] == ["up", "down", "reconnecting", "up"], links
    finally:
        robot.close()
        first.stop()
        if second is not None:
            second.stop()


def test_connecting_to_nothing_fails_with_a_clear_error() -> None:
    with pytest.raises(LinkDown, match=r"no bridge server answers at tcp://127\.0\.0\.1:9"):
        RemoteRobot("tcp://127.0.0.1:9", connect_timeout=0.5)


# -- end to end -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sim_process() -> Iterator[ServeProcess]:
    server = ServeProcess("--driver", "sim", "--scene", str(SCENE))
    yield server
    code = server.stop()
    assert code == 0, "".join(server.lines)
    assert any("bridge stopped" in line for line in server.lines)


def _robot_llm(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "robot_llm.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=240,
    )


def _xy(objects: dict[str, object], oid: str) -> np.ndarray:
    pose = objects[oid]
    assert isinstance(pose, dict)
    return np.asarray(pose["position"][:2])


def test_a_typed_command_runs_through_the_bridge_as_in_sim(sim_process: ServeProcess) -> None:
    address = sim_process.address
    with RemoteRobot(address, control=False) as watcher:
        before = watcher.objects()
    # Without confirmation (on by default with --robot) nothing moves.
    declined = _robot_llm(
        "run",
        "--robot",
        address,
        "--scene",
        str(SCENE),
        "--json",
        "put the red block in the green bowl",
        stdin="n\n",
    )
    assert declined.returncode == 1, declined.stderr[-2000:]
    assert json.loads(declined.stdout)["status"] == "cancelled"
    assert "Run this plan on the robot? [y/N]" in declined.stderr
    with RemoteRobot(address, control=False) as watcher:
        unmoved = watcher.objects()
    assert np.linalg.norm(_xy(unmoved, "red_block") - _xy(before, "red_block")) < 0.005
    # Confirmed, the command is planned from the camera frames that came over the bridge and
    # executed on the server's arm.
    done = _robot_llm(
        "run",
        "--robot",
        address,
        "--scene",
        str(SCENE),
        "--json",
        "put the red block in the green bowl",
        stdin="y\n",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert out["status"] == "done" and out["source"] == address
    assert [s["skill"] for s in out["plan"]["subgoals"]] == ["pick", "place"]
    with RemoteRobot(address, control=False) as watcher:
        after = watcher.objects()
    assert np.linalg.norm(_xy(after, "red_block") - _xy(before, "red_block")) > 0.1
    assert np.linalg.norm(_xy(after, "red_block") - _xy(after, "green_bowl")) < 0.04


def test_hold_estop_and_status_one_shots_reach_the_server(sim_process: ServeProcess) -> None:
    from robot_llm.bridge.cli import main

    with RemoteRobot(sim_process.address, control=False) as viewer:
        assert main(["hold", "--connect", sim_process.address]) == 0
        wait_for(lambda: viewer.stopped, 2.0, "the hold to show")
        assert main(["estop", "--connect", sim_process.address]) == 0
        wait_for(lambda: viewer.state().mode == "estopped", 2.0, "the e-stop to show")
        assert main(["reset", "--connect", sim_process.address]) == 0
        wait_for(lambda: viewer.state().mode == "holding", 2.0, "the reset to show")
        with pytest.raises(RobotError, match="without control"):
            viewer.hold()
