"""Bridge server: bad input never moves the arm, versions, supervisor reports, e-stop, watchdog,
control lease. Real sockets on loopback, servers in threads, clients in threads or processes."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import msgpack
import numpy as np
import pytest
import zmq
from bridge_support import ROOT, RawSocket, serving, wait_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robot_llm.bridge.client import RemoteRobot
from robot_llm.bridge.errors import RemoteError
from robot_llm.bridge.limits import SafetyLimits
from robot_llm.bridge.protocol import PROTOCOL_VERSION, VersionMismatch, pack, unpack
from robot_llm.bridge.server import BridgeServer
from robot_llm.robots.base import RobotError

pytestmark = pytest.mark.timeout(120)
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def sim_server() -> Iterator[BridgeServer]:
    with serving("sim") as server:
        yield server


@pytest.fixture
def sim(sim_server: BridgeServer) -> BridgeServer:
    """The module's sim server with its latches cleared."""
    sim_server.control.reset("test setup")
    return sim_server


def joints(server: BridgeServer) -> np.ndarray:
    return np.asarray(server.driver.read_state().joint_positions)


def ee(server: BridgeServer) -> np.ndarray:
    return np.asarray(server.driver.read_state().ee_position)


# -- bad input ------------------------------------------------------------------------------------
@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes_on_the_rpc_socket_get_error_replies(sim: BridgeServer, data: bytes) -> None:
    before = joints(sim)
    sock = RawSocket(sim.endpoints.rpc)
    try:
        reply = sock.request(data)
    finally:
        sock.close()
    assert reply["type"] == "error" and reply["code"] in ("malformed", "too_large"), reply
    assert np.abs(joints(sim) - before).max() < 1e-3


WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(),
    st.text(max_size=5),
    st.binary(max_size=5),
    st.lists(st.floats(), max_size=4),
    st.dictionaries(st.text(max_size=3), st.integers(-9, 9), max_size=2),
)


@FUZZ
@given(
    kind=st.sampled_from(["command_ee", "command_joints", "command_keep", "heartbeat", "x", ""]),
    fields=st.dictionaries(
        st.sampled_from(["seq", "t", "session", "position", "yaw", "gripper", "positions"]),
        WRONG,
        max_size=7,
    ),
    garbage=st.binary(max_size=50),
)
def test_garbage_and_wrong_types_on_the_command_channel_never_move_the_arm(
    sim: BridgeServer, kind: str, fields: dict[str, object], garbage: bytes
) -> None:
    before = joints(sim)
    sock = RawSocket(sim.endpoints.command, zmq.DEALER)
    try:
        for payload in (pack({"type": kind, **fields}), garbage):
            reply = sock.request(payload)
            assert reply["type"] == "error", reply
    finally:
        sock.close()
    assert np.abs(joints(sim) - before).max() < 1e-3


def test_oversized_truncated_multi_frame_and_unknown_requests_get_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "robot_llm.bridge.server")
    with serving("mock") as server:
        before = joints(server)
        check_bad_requests(server)
        assert server.control.mode()[0] != "estopped"
        assert np.abs(joints(server) - before).max() < 1e-9
    assert any("rejected rpc message" in r.message for r in caplog.records)


def check_bad_requests(server: BridgeServer) -> None:
    sock = RawSocket(server.endpoints.rpc)
    hello = pack({"type": "hello", "seq": 1, "t": 0.0, "version": list(PROTOCOL_VERSION)})
    cases = [
        (pack({"type": "state", "seq": 1, "t": 0.0, "pad": b"x" * 100_000}), "too_large"),
        (hello[:-3], "malformed"),
        (pack({"type": "launch_missiles", "seq": 1, "t": 0.0}), "unknown_type"),
        (pack({"type": "estop", "seq": "one", "t": 0.0}), "bad_field"),
        (pack({"type": "hello", "seq": 1, "t": 0.0, "version": "1.0"}), "bad_field"),
        (msgpack.packb([1, 2, 3]), "malformed"),
    ]
    try:
        for payload, code in cases:
            reply = sock.request(payload)
            assert reply["type"] == "error" and reply["code"] == code, reply
        sock.send(hello, hello)  # two message frames in one request
        assert sock.receive()["code"] == "malformed"
        assert sock.request(hello)["type"] == "welcome"  # the server still answers
    finally:
        sock.close()


def test_importing_the_client_does_not_load_pybullet() -> None:
    code = "import sys, robot_llm.bridge.client; assert 'pybullet' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)


# -- versions -------------------------------------------------------------------------------------
def test_a_client_of_another_major_version_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "robot_llm.bridge.server")
    with serving("mock") as server:
        sock = RawSocket(server.endpoints.rpc)
        try:
            hello = {"type": "hello", "seq": 0, "t": 0.0, "version": [2, 0], "client": "future"}
            reply = sock.request(hello)
        finally:
            sock.close()
    assert reply["type"] == "error" and reply["code"] == "version"
    assert "speaks bridge protocol 2.0 but this end speaks 1.0" in str(reply["message"])
    assert any("major versions differ" in r.message for r in caplog.records)


def test_a_server_of_another_major_version_is_refused_by_the_client() -> None:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.linger = 0
    port = router.bind_to_random_port("tcp://127.0.0.1", min_port=20000, max_port=60000)

    def answer() -> None:  # a server from the future: it answers hello with version 2.0
        if router.poll(5000):
            ident, empty, body = router.recv_multipart()
            req = unpack(body)
            welcome = {
                "type": "welcome",
                "seq": 0,
                "t": 0.0,
                "re": req["seq"],
                "version": [2, 0],
                "server": "future",
            }
            router.send_multipart([ident, empty, pack(welcome)])

    t = threading.Thread(target=answer)
    t.start()
    try:
        with pytest.raises(VersionMismatch, match=r"the server speaks bridge protocol 2\.0"):
            RemoteRobot(f"tcp://127.0.0.1:{port}", connect_timeout=3.0)
    finally:
        t.join()
        router.close()
        ctx.term()


# -- the supervisor, end to end -------------------------------------------------------------------
def test_clipping_is_reported_back_to_the_client() -> None:
    limits = SafetyLimits(max_ee_step=0.004)  # below the 5 mm per period of 0.25 m/s at 50 Hz
    with serving("mock", limits) as server, RemoteRobot(server.address) as robot:
        p, yaw = robot.ee_target()
        small = robot.command_ee(p + np.array([0.003, 0.0, 0.0]), yaw, 1.0)
        assert small.clipped == () and small.position[0] == pytest.approx(p[0] + 0.003)
        stepped = robot.command_ee(p + np.array([0.1, 0.0, 0.0]), yaw, 1.0)
        assert stepped.clipped == ("speed", "step") and stepped.mode == "ok"
        assert stepped.position[0] == pytest.approx(p[0] + 0.003 + 0.004)
        boxed = robot.command_ee(np.array([p[0] + 0.007, 0.0, -0.5]), yaw, 1.0)
        assert boxed.clipped[0] == "workspace"
        yawed = robot.command_ee(np.asarray(boxed.position), yaw + 1.0, 2.0)
        assert set(yawed.clipped) == {"yaw_rate", "gripper"}
        assert yawed.yaw == pytest.approx(yaw + 3.0 / 50) and yawed.gripper == 1.0
        q = np.array(robot.state().joint_positions)
        far = robot.command_joints(q + np.array([5.0, 0, 0, 0, 0, 0, 0]), 1.0)
        assert {"joint_limits", "joint_speed"} <= set(far.clipped)
        assert robot.ee_target()[0] == pytest.approx(np.asarray(far.position))


# -- e-stop ---------------------------------------------------------------------------------------
def test_estop_latches_until_reset(sim: BridgeServer) -> None:
    with RemoteRobot(sim.address) as robot, RemoteRobot(sim.address, control=False) as panel:
        p, yaw = robot.ee_target()
        goal = p + np.array([0.15, 0.0, -0.05])
        panel.estop()  # anyone connected may press it
        start = joints(sim)
        for _ in range(6):
            applied = robot.command_ee(goal, yaw, 1.0)
            assert applied.mode == "estopped"
        assert robot.state().mode == "estopped" and "e-stop" in robot.state().last_error
        with pytest.raises(RobotError, match="latched"):
            robot.resume()
        robot.stop()  # a hold does not clear it either
        assert robot.command_ee(goal, yaw, 1.0).mode == "estopped"
        assert np.abs(joints(sim) - start).max() < 1e-3
        panel.reset()
        robot.resume()
        for _ in range(6):
            applied = robot.command_ee(goal, yaw, 1.0)
        assert applied.mode == "ok"
        wait_for(lambda: ee(sim)[0] > p[0] + 0.02, 2.0, "the arm to move after the reset")


# -- watchdog -------------------------------------------------------------------------------------
STREAMING_CLIENT = """
import sys
import numpy as np
from robot_llm.bridge.client import RemoteRobot
robot = RemoteRobot(sys.argv[1])
position, yaw = robot.ee_target()
goal = position + np.array([0.35, 0.0, -0.1])
for i in range(100000):
    robot.command_ee(goal, yaw, 1.0)
    if i == 8:
        print("moving", flush=True)
"""


def test_watchdog_holds_the_arm_when_the_client_dies_mid_motion(sim: BridgeServer) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", STREAMING_CLIENT, sim.address],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    observer = RemoteRobot(sim.address, control=False)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "moving"
        x0 = ee(sim)[0]
        wait_for(lambda: ee(sim)[0] > x0 + 0.02, 2.0, "the arm to move")
        assert observer.state().mode == "ok"
        proc.kill()
        proc.wait()
        # How soon it holds is measured by benchmarks/bridge_latency.py (watchdog reaction);
        # here: it does hold, for the watchdog, and the arm stays still.
        wait_for(lambda: observer.state().mode == "holding", 5.0, "the watchdog to hold the arm")
        report = observer._link.state()
        assert report.hold_reason == "watchdog"
        time.sleep(0.1)  # the hand comes to rest
        rest = ee(sim)
        time.sleep(0.3)
        assert np.linalg.norm(ee(sim) - rest) < 0.002, "the arm kept moving after the hold"
    finally:
        proc.kill()
        observer.close()


# -- control --------------------------------------------------------------------------------------
def test_one_client_controls_at_a_time_and_hold_needs_resume() -> None:
    with serving("mock") as server:
        first = RemoteRobot(server.address, client="first")
        try:
            with pytest.raises(RemoteError, match="control is held by 'first'"):
                RemoteRobot(server.address, client="second", connect_timeout=1.0)
            with RemoteRobot(server.address, control=False) as viewer:
                assert viewer.state().mode == "ok"
                with pytest.raises(RobotError, match="without control"):
                    viewer.hold()
            p, yaw = first.ee_target()
            with first._link._rpc_lock:  # as if a request were in flight in this thread
                first.stop()  # goes out anyway: a signal handler may call it
            assert first.stopped and first.command_ee(p, yaw, 1.0).mode == "holding"
            first.resume()
            assert not first.stopped and first.command_ee(p, yaw, 1.0).mode == "ok"
        finally:
            first.close()
        with RemoteRobot(server.address, client="second") as second:  # released by bye
            assert second.hold().mode == "ok"


def test_a_camera_with_a_rate_of_its_own_is_paced_by_it_and_reported() -> None:
    from robot_llm.bridge.driver import load_driver
    from robot_llm.bridge.server import ServerConfig

    config = ServerConfig(bind="tcp://127.0.0.1:0", camera_hz=15.0, camera_rates={"wrist": 4.0})
    server = BridgeServer(load_driver("mock"), config)
    server.start()
    try:
        assert server.camera.rate("wrist") == 4.0 and server.camera.rate("main") == 15.0
        with RemoteRobot(server.address) as robot:
            reply = robot.configure(camera_hz=10.0)
            assert reply["camera_hz"] == 10.0 and reply["camera_rates"] == {"wrist": 4.0}
            assert server.camera.rate("main") == 10.0 and server.camera.rate("wrist") == 4.0
    finally:
        server.stop()
