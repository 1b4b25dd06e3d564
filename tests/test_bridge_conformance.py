"""Conformance of the bridge server to docs/bridge-protocol.md, from the document alone.

This module is what an integrator in another lab would write with only the protocol page (and
docs/drivers.md for the built-in drivers' options): it imports nothing from ``robot_llm``, starts
real ``bridge serve`` processes and talks to them over real sockets with pyzmq and msgpack.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq
from so101_support import EmulatedArm  # an emulated SO-101 servo bus, in its own process

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[1]
SCENE = ROOT / "sim_assets/scenes/blocks_and_bowls.yaml"
DRIVERS = ["mock", "sim", "so101"]
VERSION = [1, 0]
READY = "bridge ready on "
REALTIME = (os.SCHED_FIFO, os.SCHED_RR)
MOCK_OUTSIDE_START = "1.5,-0.6,0,-2.2,0,1.6,0.8"  # joint 1 at 1.5 rad: the ee outside the box
STATE_FIELDS = {
    "joint_positions",
    "joint_velocities",
    "ee_position",
    "ee_orientation",
    "gripper_width",
    "timestamp",
    "mode",
    "last_error",
    "hold_reason",
    "target",
    "epoch",
    "server",
    "tick",
}


# -- processes ------------------------------------------------------------------------------------


def serve_command() -> list[str]:
    """The `bridge serve` command line: `python -m robot_llm.cli`, else the venv's script."""
    module = [sys.executable, "-m", "robot_llm.cli", "bridge", "serve"]
    probe = subprocess.run([*module, "--help"], capture_output=True, timeout=30, check=False)
    if probe.returncode == 0:
        return module
    return [str(Path(sys.executable).with_name("robot-llm")), "bridge", "serve"]


SERVE: list[str] = []


def proc_stat(pid: int) -> tuple[int, str, int] | None:
    """(ppid, state, start time) of a process from /proc/PID/stat, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), fields[0], int(fields[19])


def descendants(pid: int) -> dict[int, int]:
    """Every live descendant of a process: {pid: start time}, found by scanning /proc."""
    parents: dict[int, list[tuple[int, int]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := proc_stat(int(entry.name))) is not None:
            parents.setdefault(stat[0], []).append((int(entry.name), stat[2]))
    found: dict[int, int] = {}
    todo = [pid]
    while todo:
        for child, start in parents.get(todo.pop(), []):
            if child not in found:
                found[child] = start
                todo.append(child)
    return found


def alive(pid: int, start: int) -> bool:
    """Whether this very process (same start time) still runs; a zombie counts as gone."""
    stat = proc_stat(pid)
    return stat is not None and stat[2] == start and stat[1] != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class Server:
    """A `bridge serve` subprocess in its own session; stderr is drained into `lines`."""

    def __init__(self, driver: str, *args: str, bind: str = "tcp://127.0.0.1:0") -> None:
        if not SERVE:
            SERVE.extend(serve_command())
        argv = [*SERVE, "--driver", driver, "--bind", bind]
        if driver == "sim":
            argv += ["--scene", str(SCENE)]
        self.arm = EmulatedArm() if driver == "so101" else None
        if self.arm is not None:
            argv += self.arm.args
        self.argv = [*argv, *args]
        self.lines: list[str] = []
        self.address = ""
        self.ready = threading.Event()
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.children: dict[int, int] = {}
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            if line.startswith(READY) and not self.address:
                self.address = line[len(READY) :].strip()
                self.ready.set()
        self.ready.set()  # EOF: wake a waiter

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def wait_ready(self, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while not self.ready.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.reader.join(1)  # the last lines it wrote
                break
        if not self.address:
            rc = self.wait_exit(5)
            pytest.fail(f"server not ready (exit {rc}): {self.argv}\n{self.stderr}")
        return self.address

    def endpoint(self, offset: int, source: str | None = None) -> str:
        """The base address's port + offset, on 127.0.0.1 (also for a 0.0.0.0 bind).

        `source` connects from that local address (ZeroMQ's `tcp://SOURCE:0;HOST:PORT`): on
        Linux, 127.0.0.2 is another host on the loopback interface.
        """
        port = int(self.address.rsplit(":", 1)[1])
        return f"tcp://{source + ':0;' if source else ''}127.0.0.1:{port + offset}"

    def wait_exit(self, timeout: float) -> int | None:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self.reader.join(2)  # its last lines (workers may keep the pipe open longer)
        return rc

    def stop(self) -> None:
        """SIGINT, wait, then SIGKILL the group; kill leftover descendants this server started."""
        if self.proc.poll() is None:
            self.children.update(descendants(self.proc.pid))
            self.proc.send_signal(signal.SIGINT)
            if self.wait_exit(10) is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.reader.join(5)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and any(alive(*c) for c in self.children.items()):
            time.sleep(0.05)
        for pid, start in self.children.items():
            if alive(pid, start):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if self.arm is not None:
            self.arm.stop()


@pytest.fixture
def start_server() -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(driver: str, *args: str, ready: bool = True, bind: str = "tcp://127.0.0.1:0"):
        server = Server(driver, *args, bind=bind)
        servers.append(server)
        if ready:
            server.wait_ready()
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def server(start_server: Callable[..., Server], driver: str) -> Server:
    return start_server(driver)


@pytest.fixture
def mock_server(start_server: Callable[..., Server]) -> Server:
    return start_server("mock")


@pytest.fixture
def sim_server(start_server: Callable[..., Server]) -> Server:
    return start_server("sim")


# -- sockets --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def make_socket(ctx: zmq.Context, kind: int, address: str) -> zmq.Socket:
    sock = ctx.socket(kind)
    sock.linger = 0
    sock.sndtimeo = 1000
    if kind == zmq.DEALER:
        sock.immediate = True
    sock.connect(address)
    return sock


def pack(message: dict[str, Any]) -> bytes:
    return msgpack.packb(message, datetime=False)


def recv_message(sock: zmq.Socket, timeout: float, what: str) -> dict[str, Any]:
    if not sock.poll(int(timeout * 1000)):
        pytest.fail(f"no answer to {what} within {timeout} s")
    frames = sock.recv_multipart()
    return msgpack.unpackb(frames[-1])


class Client:
    """A client as the protocol page shows it: REQ for RPCs, a DEALER for commands."""

    def __init__(
        self, ctx: zmq.Context, server: Server, name: str = "conformance", source: str | None = None
    ) -> None:
        self.ctx = ctx
        self.server = server
        self.name = name
        self.source = source
        self.rpc = make_socket(ctx, zmq.REQ, server.endpoint(0, source))
        self.rpc_seq = itertools.count()
        self.cmd: zmq.Socket | None = None
        self.cmd_seq = itertools.count()
        self.welcome: dict[str, Any] = {}
        self.session = 0

    # RPC
    def request(self, kind: str, timeout: float = 3.0, **fields: Any) -> dict[str, Any]:
        message = {"type": kind, "seq": next(self.rpc_seq), "t": time.time(), **fields}
        self.rpc.send(pack(message))
        return recv_message(self.rpc, timeout, f"{kind} request")

    def hello(self, control: bool = False, session: int = 0) -> dict[str, Any]:
        welcome = self.request(
            "hello", version=VERSION, client=self.name, control=control, session=session
        )
        assert welcome["type"] == "welcome", welcome
        self.welcome = welcome
        self.session = welcome["session"]
        return welcome

    @property
    def limits(self) -> dict[str, Any]:
        return self.welcome["config"]["limits"]

    @property
    def control_hz(self) -> float:
        return float(self.welcome["config"]["control_hz"])

    # commands
    def open_command(self) -> zmq.Socket:
        if self.cmd is None:
            self.cmd = make_socket(self.ctx, zmq.DEALER, self.server.endpoint(1, self.source))
        return self.cmd

    def send_raw(self, payload: bytes, timeout: float = 2.0) -> None:
        """Send with NOBLOCK, retrying while the connection comes up (ZMQ_IMMEDIATE)."""
        sock = self.open_command()
        deadline = time.monotonic() + timeout
        while True:
            try:
                sock.send(payload, zmq.NOBLOCK)
                return
            except zmq.Again:
                if time.monotonic() > deadline:
                    pytest.fail("the command socket never connected")
                time.sleep(0.005)

    def send(self, kind: str, session: int | None = None, **fields: Any) -> int:
        seq = next(self.cmd_seq)
        session = self.session if session is None else session
        message = {"type": kind, "seq": seq, "t": time.time(), "session": session, **fields}
        self.send_raw(pack(message))
        return seq

    def wait_ack(self, seq: int, timeout: float = 2.0) -> dict[str, Any]:
        """The answer to command `seq` (late answers to older commands are dropped)."""
        sock = self.open_command()
        deadline = time.monotonic() + timeout
        while True:
            ack = recv_message(sock, max(deadline - time.monotonic(), 0.001), f"command {seq}")
            if ack.get("re") == seq or (ack.get("type") == "error" and ack.get("re") is None):
                return ack  # `re` is null when the command could not be read

    def command(self, kind: str, session: int | None = None, **fields: Any) -> dict[str, Any]:
        return self.wait_ack(self.send(kind, session=session, **fields))

    def heartbeat(self, session: int | None = None) -> None:
        self.send("heartbeat", session=session)

    def pace(self, ack: dict[str, Any]) -> None:
        """Sleep as the page's example does: until_tick + half a period after an ack."""
        until_tick = ack.get("until_tick", 0.0) if ack.get("type") == "applied" else 0.0
        time.sleep(max(float(until_tick), 0.0) + 0.5 / self.control_hz)

    def close(self) -> None:
        self.rpc.close(0)
        if self.cmd is not None:
            self.cmd.close(0)
            self.cmd = None


class States:
    """A SUB reader of the state stream (no conflation: it can read every message)."""

    def __init__(self, ctx: zmq.Context, server: Server) -> None:
        self.sock = make_socket(ctx, zmq.SUB, server.endpoint(2))
        self.sock.subscribe(b"")

    def next(self, timeout: float = 2.0) -> dict[str, Any]:
        return recv_message(self.sock, timeout, "the state stream")

    def drain(self) -> list[dict[str, Any]]:
        """Every state already received, oldest first, without waiting."""
        out = []
        while self.sock.poll(0):
            out.append(msgpack.unpackb(self.sock.recv()))
        return out

    def newest(self, timeout: float = 2.0) -> dict[str, Any]:
        queued = self.drain()
        return queued[-1] if queued else self.next(timeout)

    def take(self, count: int, timeout: float = 2.0) -> list[dict[str, Any]]:
        return [self.next(timeout) for _ in range(count)]

    def during(self, seconds: float) -> list[dict[str, Any]]:
        end = time.monotonic() + seconds
        out = []
        while (left := end - time.monotonic()) > 0:
            if self.sock.poll(int(left * 1000) + 1):
                out.append(msgpack.unpackb(self.sock.recv()))
        return out

    def until(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float, what: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The first state that satisfies `predicate`, and the ones before it."""
        deadline = time.monotonic() + timeout
        seen: list[dict[str, Any]] = []
        while (left := deadline - time.monotonic()) > 0:
            if self.sock.poll(int(left * 1000) + 1):
                state = msgpack.unpackb(self.sock.recv())
                if predicate(state):
                    return state, seen
                seen.append(state)
        last = seen[-1] if seen else None
        pytest.fail(f"no state with {what} within {timeout} s; last: {summary(last)}")

    def close(self) -> None:
        self.sock.close(0)


@pytest.fixture
def connect(ctx: zmq.Context) -> Iterator[Callable[..., Any]]:
    """Open Clients and States readers on a server; all are closed after the test."""
    opened: list[Client | States] = []

    def open_(server: Server, what: str = "client", name: str = "conformance", source=None) -> Any:
        thing = States(ctx, server) if what == "states" else Client(ctx, server, name, source)
        opened.append(thing)
        return thing

    yield open_
    for thing in opened:
        thing.close()


# -- geometry and streaming -----------------------------------------------------------------------


def box_distance(point: list[float], lower: list[float], upper: list[float]) -> float:
    return math.sqrt(
        sum(max(lo - x, 0.0, x - hi) ** 2 for x, lo, hi in zip(point, lower, upper, strict=True))
    )


def workspace_distance(point: list[float], limits: dict[str, Any], grow: float = 0.0) -> float:
    """Distance from a point to the workspace box grown by `grow` (0 when inside)."""
    lower = [v - grow for v in limits["workspace_min"]]
    upper = [v + grow for v in limits["workspace_max"]]
    return box_distance(point, lower, upper)


def distance(a: list[float], b: list[float]) -> float:
    return math.dist(a, b)


def summary(state: dict[str, Any] | None) -> str:
    if state is None:
        return "none"
    ee = [round(v, 4) for v in state.get("ee_position", [])]
    keys = ("mode", "hold_reason", "epoch", "tick", "last_error")
    return f"ee {ee} " + " ".join(f"{k}={state.get(k)!r}" for k in keys)


def stream(
    client: Client,
    states: States,
    seconds: float,
    kind: str,
    fields: dict[str, Any] | Callable[[], dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Send one command per control period for `seconds`; return (acks, states seen)."""
    acks: list[dict[str, Any]] = []
    seen: list[dict[str, Any]] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ack = client.command(kind, **(fields() if callable(fields) else fields))
        acks.append(ack)
        seen.extend(states.drain())
        client.pace(ack)
    seen.extend(states.drain())
    return acks, seen


def ee_command(target: dict[str, Any], dy: float = 0.0) -> dict[str, Any]:
    x, y, z = target["position"]
    return {"position": [x, y + dy, z], "yaw": target["yaw"], "gripper": target["gripper"]}


def worst_escape(states: list[dict[str, Any]], limits: dict[str, Any]) -> tuple[float, Any]:
    """How far (m) the measured ee got outside the allowed box, and that state."""
    grown = float(limits["workspace_margin"])
    worst = max(states, key=lambda s: workspace_distance(s["ee_position"], limits, grown))
    return workspace_distance(worst["ee_position"], limits, grown), worst


# -- the hello, basics ----------------------------------------------------------------------------


def test_hello_answers_a_welcome_with_the_documented_fields(server: Server, connect) -> None:
    client = connect(server)
    welcome = client.request("hello", version=VERSION, client="conformance", control=True)
    assert welcome["type"] == "welcome" and welcome["re"] == 0, welcome
    assert welcome["version"] == VERSION and welcome["control"] is True
    assert isinstance(welcome["session"], int) and welcome["session"] != 0
    assert isinstance(welcome["server"], str) and welcome["server"]
    assert isinstance(welcome["seq"], int) and isinstance(welcome["t"], float)
    port = int(server.address.rsplit(":", 1)[1])
    endpoints = welcome["endpoints"]
    assert [endpoints[k] for k in ("rpc", "command", "state", "camera")] == [
        f"tcp://127.0.0.1:{port + i}" for i in range(4)
    ]
    robot = welcome["robot"]
    assert len(robot["home"]) == len(robot["joints"]) >= 1
    assert {"name", "lower", "upper", "max_velocity"} <= set(robot["joints"][0])
    assert robot["cameras"] and {"name", "width", "height", "intrinsics"} <= set(
        robot["cameras"][0]
    )
    config = welcome["config"]
    limit_keys = {"workspace_min", "workspace_max", "workspace_margin", "watchdog_s"}
    assert limit_keys <= set(config["limits"])
    assert config["control_hz"] == robot["control_hz"] > 0
    assert set(welcome["state"]) >= STATE_FIELDS
    assert welcome["state"]["server"] == welcome["server"]


def test_estop_latches_until_reset(server: Server, connect) -> None:
    client = connect(server)
    states = connect(server, "states")
    client.hello(control=True)
    target = client.welcome["state"]["target"]
    assert client.command("command_ee", **ee_command(target))["type"] == "applied"

    reply = client.request("estop", client="conformance")
    assert reply["type"] == "ok" and reply["mode"] == "estopped", reply
    states.until(lambda s: s["mode"] == "estopped", 2.0, "mode estopped")
    ack = client.command("command_ee", **ee_command(target, dy=0.05))
    assert ack["type"] == "error" or ack["mode"] != "ok", ack
    refused = client.request("resume")
    assert refused["type"] == "error" and refused["code"] == "latched", refused
    assert client.request("hold", client="conformance")["mode"] == "estopped"
    assert client.request("state")["state"]["mode"] == "estopped"

    reply = client.request("reset", client="conformance", timeout=10.0)
    assert reply["type"] == "ok" and reply["mode"] != "estopped", reply
    states.until(lambda s: s["mode"] != "estopped", 2.0, "the e-stop cleared")


def test_state_and_config_rpcs_and_increasing_reply_seq(server: Server, connect) -> None:
    client = connect(server)
    replies = [client.request("state") for _ in range(3)]
    replies.append(client.request("config"))
    replies.append(client.request("state"))
    state_reply, config_reply = replies[0], replies[3]

    assert state_reply["type"] == "ok", state_reply
    assert {"re", "mode", "hold_reason"} <= set(state_reply)
    assert set(state_reply["state"]) >= STATE_FIELDS, state_reply
    assert state_reply["state"]["mode"] == state_reply["mode"]

    assert config_reply["type"] == "ok", config_reply
    assert {"re", "mode", "hold_reason"} <= set(config_reply)
    assert {"state_hz", "control_hz", "camera_hz", "limits"} <= set(config_reply["config"])

    assert [r["re"] for r in replies] == list(range(5))
    seqs = [r["seq"] for r in replies]
    assert all(isinstance(s, int) and not isinstance(s, bool) for s in seqs), seqs
    assert all(a < b for a, b in itertools.pairwise(seqs)), seqs


# -- containment ----------------------------------------------------------------------------------


def test_containment_keeps_the_ee_in_the_allowed_box_under_joint_commands(
    server: Server, connect
) -> None:
    client = connect(server)
    states = connect(server, "states")
    client.hello(control=True)
    limits = client.limits
    joints = list(client.welcome["state"]["joint_positions"])
    joints[0] = 2.8  # swing the first joint far round: the ee would leave the box
    command = {"positions": joints, "gripper": 1.0}

    acks, seen = stream(client, states, 2.0, "command_joints", command)
    assert seen, "no state during the stream"
    swing = max(abs(s["joint_positions"][0]) for s in seen)
    assert swing > 0.3, f"the first joint only reached {swing:.3f} rad; last ack {acks[-1]}"
    escape, worst = worst_escape(seen, limits)
    assert escape <= 0.005, f"the ee left the allowed box by {escape:.3f} m: {summary(worst)}"
    clipped = {c for ack in acks if ack["type"] == "applied" for c in ack["clipped"]}
    assert "workspace" in clipped, f"no ack clipped `workspace`; last ack {acks[-1]}"

    reply = client.request("reset", client="conformance", timeout=10.0)
    assert reply["type"] == "ok" and reply["mode"] != "fault", reply
    acks, seen = stream(client, states, 1.0, "command_joints", command)
    escape, worst = worst_escape(seen, limits)
    assert escape <= 0.005, f"after reset, the ee left the box by {escape:.3f}: {summary(worst)}"
    faults = [s for s in seen if s["mode"] == "fault"] + [
        a for a in acks if a.get("mode") == "fault"
    ]
    assert not faults, f"fault after reset: {faults[0]}"


def start_outside(start_server) -> Server:
    return start_server("mock", "--driver-option", f"start={MOCK_OUTSIDE_START}")


def test_mock_start_option_puts_the_ee_outside_the_allowed_box(start_server, connect) -> None:
    server = start_outside(start_server)
    client = connect(server)
    welcome = client.hello()
    joints = welcome["state"]["joint_positions"]
    expected = [float(v) for v in MOCK_OUTSIDE_START.split(",")]
    assert all(abs(a - b) < 1e-6 for a, b in zip(joints, expected, strict=True)), joints
    margin = client.limits["workspace_margin"]
    ee = welcome["state"]["ee_position"]
    assert workspace_distance(ee, client.limits, margin) > 0, ee


def from_outside(start_server, connect, kind: str, command) -> tuple[float, float, list]:
    """Start the mock arm outside the box, stream `command(client)` for 0.5 s: the end
    effector's distance to the workspace box before and after, and the acknowledgements."""
    server = start_outside(start_server)
    client = connect(server)
    states = connect(server, "states")
    client.hello(control=True)
    before = workspace_distance(states.newest()["ee_position"], client.limits)
    acks, _ = stream(client, states, 0.5, kind, command(client))
    after = workspace_distance(states.newest()["ee_position"], client.limits)
    return before, after, acks


def joints_with_first(value: float):
    joints = [float(v) for v in MOCK_OUTSIDE_START.split(",")]
    joints[0] = value
    return lambda client: {"positions": joints, "gripper": 1.0}


def test_outside_the_box_a_joint_command_further_out_is_cut(start_server, connect) -> None:
    before, after, acks = from_outside(
        start_server, connect, "command_joints", joints_with_first(2.5)
    )
    assert after <= before + 0.001, f"the ee went further out: {before:.4f} -> {after:.4f} m"
    clipped = {c for ack in acks if ack["type"] == "applied" for c in ack["clipped"]}
    assert "workspace" in clipped, f"no ack clipped `workspace`; last ack {acks[-1]}"


def test_outside_the_box_a_joint_command_back_is_applied(start_server, connect) -> None:
    before, after, acks = from_outside(
        start_server, connect, "command_joints", joints_with_first(0.0)
    )
    assert after < before - 0.005, f"not closer: {before:.4f} -> {after:.4f} m; {acks[-1]}"


def test_outside_the_box_an_ee_command_into_the_box_is_applied(start_server, connect) -> None:
    def into_the_box(client: Client) -> dict[str, Any]:
        lower, upper = client.limits["workspace_min"], client.limits["workspace_max"]
        inside = [(lo + hi) / 2 for lo, hi in zip(lower, upper, strict=True)]
        return {"position": inside, "yaw": client.welcome["state"]["target"]["yaw"], "gripper": 1}

    before, after, acks = from_outside(start_server, connect, "command_ee", into_the_box)
    assert after < before - 0.005, f"not closer: {before:.4f} -> {after:.4f} m; {acks[-1]}"


def test_home_is_inside_the_workspace_box(server: Server, connect) -> None:
    client = connect(server)
    welcome = client.hello(control=True)
    ee = welcome["state"]["ee_position"]
    lower, upper = client.limits["workspace_min"], client.limits["workspace_max"]
    assert workspace_distance(ee, client.limits) <= 1e-6, f"home ee {ee} not in {lower}..{upper}"
    ack = client.command("command_ee", **ee_command(welcome["state"]["target"]))
    assert ack["type"] == "applied" and ack["mode"] == "ok", ack
    assert ack["clipped"] == [], f"the first command from home was clipped: {ack}"


# -- messages -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"when": msgpack.Timestamp(1, 0)}, id="timestamp-in-unknown-field"),
        pytest.param({"yaw": msgpack.ExtType(5, b"x")}, id="ext-as-yaw"),
    ],
)
def test_extension_types_in_a_command_are_malformed(
    server: Server, connect, extra: dict[str, Any]
) -> None:
    client = connect(server)
    states = connect(server, "states")
    client.hello(control=True)
    before = states.newest()
    command = {**ee_command(before["target"], dy=0.05), **extra}
    ack = client.command("command_ee", **command)
    assert ack["type"] == "error" and ack["code"] == "malformed", ack
    time.sleep(0.3)
    after = states.newest()
    moved = distance(after["target"]["position"], before["target"]["position"])
    assert moved < 0.002, f"the target moved {moved:.4f} m"
    assert abs(after["ee_position"][1] - before["ee_position"][1]) < 0.002, summary(after)


@pytest.mark.parametrize(
    "ext", [msgpack.Timestamp(1, 0), msgpack.ExtType(5, b"x")], ids=["timestamp", "ext5"]
)
def test_an_extension_type_in_an_rpc_is_malformed(server: Server, connect, ext: Any) -> None:
    client = connect(server)
    reply = client.request("state", extra=ext)
    assert reply["type"] == "error" and reply["code"] == "malformed", reply
    assert client.request("state")["type"] == "ok"  # the REQ socket and the server go on


def test_null_is_not_absent(mock_server: Server, connect) -> None:
    client = connect(mock_server)
    reply = client.request("config", set=None)
    assert reply["type"] == "error" and reply["code"] == "bad_field", reply
    assert "set" in reply["message"], reply
    reply = client.request("hello", version=VERSION, client="conformance", control=None)
    assert reply["type"] == "error" and reply["code"] == "bad_field", reply
    assert "control" in reply["message"], reply


# -- modes: holding is published only once true ---------------------------------------------------


def streamed_ok(server: Server, connect) -> tuple[Client, States, int]:
    """A client in control that streamed commands; the last `ok` state's epoch."""
    client = connect(server)
    states = connect(server, "states")
    client.hello(control=True)
    target = states.newest()["target"]
    acks, seen = stream(client, states, 0.4, "command_ee", ee_command(target))
    assert acks[-1]["type"] == "applied" and acks[-1]["mode"] == "ok", acks[-1]
    ok = [s for s in seen if s["mode"] == "ok"]
    assert ok and seen[-1]["mode"] == "ok", f"not ok while streaming: {summary(seen[-1])}"
    return client, states, ok[-1]["epoch"]


def first_holding_after(states: States, last_ok_epoch: int, reason: str) -> tuple[dict, int]:
    """The first `holding` state, and the epoch of the last `ok` state before it."""
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        state = states.next()
        if state["mode"] == "ok":
            last_ok_epoch = state["epoch"]
        elif state["mode"] == "holding":
            assert state["hold_reason"] == reason, summary(state)
            return state, last_ok_epoch
    pytest.fail(f"no holding state ({reason}) within 2 s")


def test_hold_is_published_with_the_epoch_of_the_halt(server: Server, connect) -> None:
    client, states, last_ok = streamed_ok(server, connect)
    reply = client.request("hold", client="conformance")
    assert reply["type"] == "ok" and reply["mode"] == "holding", reply
    holding, last_ok = first_holding_after(states, last_ok, "request")
    assert holding["epoch"] > last_ok, (
        f"`holding` published with epoch {holding['epoch']}, not above the last `ok` state's "
        f"{last_ok}: {summary(holding)}"
    )


def test_watchdog_hold_is_published_with_the_epoch_of_the_halt(server: Server, connect) -> None:
    _client, states, last_ok = streamed_ok(server, connect)
    # the client goes silent: no commands, no heartbeats
    holding, last_ok = first_holding_after(states, last_ok, "watchdog")
    assert holding["epoch"] > last_ok, (
        f"`holding` published with epoch {holding['epoch']}, not above the last `ok` state's "
        f"{last_ok}: {summary(holding)}"
    )


# -- shutdown -------------------------------------------------------------------------------------


def test_sigterm_to_the_process_group_holds_the_arm_and_exits_0(server: Server, connect) -> None:
    client = connect(server)
    client.hello(control=True)
    assert client.command("command_keep")["type"] == "applied"
    os.killpg(server.proc.pid, signal.SIGTERM)
    rc = server.wait_exit(10)
    assert rc == 0, f"exit {rc}:\n{server.stderr}"
    assert "the arm was put in hold" in server.stderr, server.stderr
    assert "failed to stop" not in server.stderr, server.stderr
    assert "could not" not in server.stderr, server.stderr


def subscribe_camera(ctx: zmq.Context, server: Server, wait: float = 5.0) -> zmq.Socket:
    """Subscribe to the main camera, so the sim driver starts a renderer; wait for a frame."""
    camera = make_socket(ctx, zmq.SUB, server.endpoint(3))
    camera.subscribe(b"main/")
    camera.poll(int(wait * 1000))
    return camera


def test_sigterm_to_the_process_group_leaves_no_sim_worker(sim_server: Server, ctx) -> None:
    camera = subscribe_camera(ctx, sim_server)
    children = descendants(sim_server.proc.pid)
    camera.close(0)
    assert any("sim_physics" in cmdline(pid) for pid in children), children
    os.killpg(sim_server.proc.pid, signal.SIGTERM)
    rc = sim_server.wait_exit(10)
    assert rc is not None, "the server did not exit"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(*c) for c in children.items()):
        time.sleep(0.05)
    left = {pid: cmdline(pid) for pid, start in children.items() if alive(pid, start)}
    assert not left, f"children alive 5 s after the server exited {rc}: {left}"


def test_sim_reset_restarts_a_killed_physics_worker(sim_server: Server, connect) -> None:
    client = connect(sim_server)
    states = connect(sim_server, "states")
    client.hello()
    physics = [p for p in descendants(sim_server.proc.pid) if "sim_physics" in cmdline(p)]
    assert len(physics) == 1, {p: cmdline(p) for p in descendants(sim_server.proc.pid)}
    os.kill(physics[0], signal.SIGKILL)
    states.until(lambda s: s["mode"] == "fault", 2.0, "mode fault after the worker died")

    reply = client.request("reset", client="conformance", timeout=15.0)
    assert reply["type"] == "ok" and reply["mode"] != "fault", reply
    states.until(lambda s: s["mode"] in ("ok", "holding"), 3.0, "mode ok or holding")

    client.hello(control=True)
    start = states.newest()
    command = ee_command(start["target"], dy=0.04)
    acks, _ = stream(client, states, 1.0, "command_ee", command)
    assert acks[-1]["type"] == "applied" and acks[-1]["mode"] == "ok", acks[-1]
    end = states.newest()
    moved = distance(end["ee_position"], start["ee_position"])
    assert moved > 0.02, f"the ee moved {moved:.4f} m after the reset: {summary(end)}"


# -- the control lease is bound to its connection -------------------------------------------------


def lease_holder(server: Server, connect) -> tuple[Client, States, dict[str, Any]]:
    """Client A in control, its command connection bound by an applied command."""
    a = connect(server, name="A")
    states = connect(server, "states")
    a.hello(control=True)
    ack = a.command("command_ee", **ee_command(states.newest()["target"]))
    assert ack["type"] == "applied" and ack["mode"] == "ok", ack
    return a, states, ack


def keep_alive(client: Client, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        client.heartbeat()
        time.sleep(0.04)


def test_a_command_from_another_connection_is_refused(server: Server, connect) -> None:
    a, states, applied = lease_holder(server, connect)
    b = connect(server, name="B")
    before = states.newest()
    ack = b.command("command_ee", session=a.session, **ee_command(before["target"], dy=0.05))
    assert ack["type"] == "error" and ack["code"] == "control", ack
    keep_alive(a, 0.3)
    after = states.newest()
    assert after["mode"] == "ok", summary(after)
    moved = distance(after["target"]["position"], applied["position"])
    assert moved < 0.001, f"A's target moved {moved:.4f} m: {after['target']}"
    assert abs(after["ee_position"][1] - before["ee_position"][1]) < 0.003, summary(after)


def test_heartbeats_from_another_connection_do_not_keep_the_lease(server: Server, connect) -> None:
    a, states, _applied = lease_holder(server, connect)
    a_session = a.session
    b = connect(server, name="B")
    b.heartbeat(session=a_session)
    states.drain()
    deadline = time.monotonic() + 1.0
    watchdog = False
    while time.monotonic() < deadline and not watchdog:
        b.heartbeat(session=a_session)  # A went silent; B pretends to be A
        watchdog = any(
            s["mode"] == "holding" and s["hold_reason"] == "watchdog" for s in states.during(0.04)
        )
    assert watchdog, f"B's heartbeats kept A's lease alive: {summary(states.newest())}"


def test_the_lease_holder_takes_it_back_from_a_new_connection(server: Server, connect) -> None:
    a, states, _applied = lease_holder(server, connect)
    a.close()
    again = connect(server, name="A again")
    welcome = again.hello(control=True, session=a.session)
    assert welcome["control"] is True, welcome
    ack = again.command("command_ee", **ee_command(states.newest()["target"]))
    assert ack["type"] == "applied" and ack["mode"] == "ok", ack


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="127.0.0.2 is Linux loopback")
def test_another_host_can_neither_end_nor_take_back_the_lease(server: Server, connect) -> None:
    a, states, applied = lease_holder(server, connect)
    b = connect(server, name="B", source="127.0.0.2")
    reply = b.request("bye", session=a.session)
    assert reply["type"] == "error" and reply["code"] == "control", reply
    ack = a.command("command_ee", position=applied["position"], yaw=applied["yaw"], gripper=1.0)
    assert ack["type"] == "applied" and ack["mode"] == "ok", ack

    states.until(lambda s: s["hold_reason"] == "watchdog", 2.0, "the watchdog hold")  # A is gone
    # only the peer that said hello may take its lease back
    reply = b.request("hello", version=VERSION, client="B", control=True, session=a.session)
    assert reply["type"] == "error" and reply["code"] == "control", reply


# -- the command line: bind security, real time ---------------------------------------------------


def test_a_network_bind_without_curve_is_refused(start_server) -> None:
    server = start_server("mock", bind="tcp://0.0.0.0:0", ready=False)
    rc = server.wait_exit(15)
    assert rc == 2, f"exit {rc} (None: still running):\n{server.stderr}"
    lines = [line for line in server.lines if line.strip()]
    assert len(lines) == 1, server.stderr
    assert "Traceback" not in server.stderr


def test_a_network_bind_with_insecure_starts_and_warns(start_server, connect) -> None:
    server = start_server("mock", "--insecure", bind="tcp://0.0.0.0:0")
    warned = [
        line for line in server.lines if "insecure" in line.lower() or "curve" in line.lower()
    ]
    assert warned, server.stderr
    reply = connect(server).request("state")
    assert reply["type"] == "ok", reply


def can_use_sched_fifo() -> bool:
    probe = "import os; os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=30)
    return result.returncode == 0


def test_realtime_runs_only_the_control_thread_under_sched_fifo(start_server, ctx) -> None:
    if not can_use_sched_fifo():  # no root nor CAP_SYS_NICE: one line and exit 2
        server = start_server("sim", "--realtime", ready=False)
        rc = server.wait_exit(30)
        assert rc == 2 and len([x for x in server.lines if x.strip()]) == 1, server.stderr
        return
    server = start_server("sim", "--realtime")
    camera = subscribe_camera(ctx, server)
    time.sleep(0.5)
    fifo = []
    for task in Path(f"/proc/{server.proc.pid}/task").iterdir():
        with contextlib.suppress(OSError):
            if os.sched_getscheduler(int(task.name)) == os.SCHED_FIFO:
                fifo.append(int(task.name))
    assert len(fifo) == 1, f"threads under SCHED_FIFO: {fifo}"
    children = descendants(server.proc.pid)
    assert children, "the sim server has no worker process"
    for pid in children:  # worker processes keep normal priority
        assert os.sched_getscheduler(pid) == os.SCHED_OTHER, cmdline(pid)
        for task in Path(f"/proc/{pid}/task").iterdir():  # libraries may lower a thread's
            with contextlib.suppress(OSError):
                policy = os.sched_getscheduler(int(task.name))
                assert policy not in REALTIME, f"{cmdline(pid)} thread {task.name}: {policy}"
    camera.close(0)
