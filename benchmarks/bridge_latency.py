"""Bridge latency: command-to-acknowledgement round trips, state rate and camera frame rate.

A bridge server runs in its own process (`python -m robot_llm.bridge.cli serve`, the sim driver
on a scene file by default). This process streams end-effector commands at `--rate` Hz for
`--seconds` and times each acknowledgement; in the same run a bare pyzmq REQ/REP echo of the
same payload, also in its own process, gives the floor. The two take turns in `--block` second
blocks, so that both see the same load on a shared machine. Then it counts state messages and
640 x 480 frames of the main camera (while commands keep streaming, again beside the echo).
Targets: p50 within 2x the floor, p99 <= 1 ms, no lost commands, camera >= 15 frames/s.
Run: `.venv/bin/python benchmarks/bridge_latency.py [--seconds 60] [--driver sim|mock]
[--camera-encoding raw|jpeg|png] [--block 0.1] [--realtime PRIORITY] [--json]`.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import zmq

from robot_llm.bridge.errors import LinkDown
from robot_llm.bridge.link import Link
from robot_llm.bridge.messages import EETarget, command_fields, parse_frame
from robot_llm.bridge.protocol import MAX_FRAME_BYTES, Stamper, pack, unpack

ROOT = Path(__file__).resolve().parents[1]
SCENE = ROOT / "sim_assets" / "scenes" / "blocks_and_bowls.yaml"
ECHO = """
import sys, zmq
ctx = zmq.Context(); sock = ctx.socket(zmq.REP); sock.linger = 0
port = sock.bind_to_random_port("tcp://127.0.0.1")
print(port, flush=True)
while True:
    sock.send(sock.recv())
"""


STREAMER = """
import sys
import numpy as np
from robot_llm.bridge.client import RemoteRobot
robot = RemoteRobot(sys.argv[1], client="streamer")
position, yaw = robot.ee_target()
goal = position + np.array([0.0, 0.0, -0.05])
for i in range(1000000):
    robot.command_ee(goal, yaw, 1.0)
    if i == 10:
        print("moving", flush=True)
"""


def watchdog_reaction(address: str, trials: int) -> dict[str, float]:
    """Kill a client that streams commands and time until the state says the arm holds, as an
    observer sees it (state messages at 100 Hz): `trials` times."""
    from robot_llm.bridge.client import RemoteRobot
    from robot_llm.bridge.limits import DEFAULT_WATCHDOG_S

    observer = RemoteRobot(address, control=False)
    limit = DEFAULT_WATCHDOG_S + 1.0 / observer.info.control_hz
    times = []
    try:
        for _ in range(trials):
            proc = subprocess.Popen(
                [sys.executable, "-c", STREAMER, address], stdout=subprocess.PIPE, text=True
            )
            assert proc.stdout is not None and proc.stdout.readline().strip() == "moving"
            while observer.state().mode != "ok":
                time.sleep(0.001)
            proc.kill()
            t0 = time.monotonic()
            while observer.state().mode != "holding" and time.monotonic() - t0 < 5.0:
                time.sleep(0.001)
            times.append(time.monotonic() - t0)
            proc.wait()
    finally:
        observer.close()
    return {
        "trials": trials,
        "mean_ms": round(1000 * float(np.mean(times)), 1),
        "max_ms": round(1000 * max(times), 1),
        "limit_ms": round(1000 * limit, 1),
    }


def start_server(args: argparse.Namespace) -> tuple[subprocess.Popen[str], str]:
    cmd = [
        sys.executable,
        "-m",
        "robot_llm.bridge.cli",
        "serve",
        "--bind",
        "tcp://127.0.0.1:0",
        "--driver",
        args.driver,
        "--camera-hz",
        str(args.camera_hz),
        "--camera-encoding",
        args.camera_encoding,
    ]
    if args.driver == "sim":
        cmd += ["--scene", str(args.scene), "--driver-option", f"render_workers={args.workers}"]
    if args.realtime is not None:
        cmd += ["--realtime", str(args.realtime)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    stderr = proc.stderr
    assert stderr is not None
    for line in stderr:
        if line.startswith("bridge ready on "):
            threading.Thread(target=stderr.read, daemon=True).start()  # keep the pipe drained
            return proc, line.split()[-1]
    raise SystemExit("the bridge server did not start")


Once = Callable[[], float | None]  # one round trip in s, or None when lost


class Series:
    """Round trips of one kind of request."""

    def __init__(self) -> None:
        self.rtts: list[float] = []
        self.lost = 0

    def add(self, rtt: float | None) -> None:
        if rtt is None:
            self.lost += 1
        else:
            self.rtts.append(rtt)


def paced(rate: float, seconds: float, calls: list[tuple[Once, Series]], block: float) -> None:
    """Call each `once` at `rate` Hz, taking turns in blocks of `block` seconds (so that every
    series sees the same machine load), for `seconds` in all per series."""
    period = 1.0 / rate
    per_block = max(1, int(rate * block))
    done = 0
    total = int(rate * seconds)
    start = time.perf_counter()
    i = 0
    while done < total:
        n = min(per_block, total - done)
        for once, series in calls:
            for _ in range(n):
                delay = start + i * period - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                series.add(once())
                i += 1
        done += n


class Echo:
    """A bare pyzmq REQ/REP echo server in its own process, and a client of it."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", ECHO], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        port = int(self.proc.stdout.readline())
        self.ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.sock = self.ctx.socket(zmq.REQ)
        self.sock.linger = 0
        self.sock.connect(f"tcp://127.0.0.1:{port}")

    def once(self, payload: bytes) -> Once:
        def call() -> float | None:
            t0 = time.perf_counter()
            self.sock.send(payload)
            if not self.sock.poll(500):
                raise SystemExit("the echo server stopped answering")
            self.sock.recv()
            return time.perf_counter() - t0

        return call

    def close(self) -> None:
        self.sock.close()
        self.ctx.term()
        self.proc.kill()
        self.proc.wait()


def bridge_once(link: Link) -> Once:
    report = link.state()
    target = EETarget(report.target_position, report.target_yaw, 1.0)

    def call() -> float | None:
        t0 = time.perf_counter()
        try:
            link.command(target)
        except LinkDown:
            return None
        return time.perf_counter() - t0

    return call


def count_stream(endpoint: str, topic: bytes, seconds: float, frames: bool) -> float:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = ctx.socket(zmq.SUB)
    sock.linger = 0
    sock.rcvhwm = 4
    sock.setsockopt(zmq.SUBSCRIBE, topic)
    sock.connect(endpoint)
    try:
        if not sock.poll(60000):  # the first frame may wait for a renderer to start
            return 0.0
        sock.recv_multipart()
        n, t0 = 0, time.perf_counter()
        while (left := seconds - (time.perf_counter() - t0)) > 0:
            if sock.poll(int(left * 1000) + 1):
                parts = sock.recv_multipart()
                if frames:
                    frame = parse_frame(unpack(parts[-1], limit=MAX_FRAME_BYTES))
                    assert frame.rgb.shape == (480, 640, 3)
                n += 1
        return n / seconds
    finally:
        sock.close()
        ctx.term()


def stats(series: Series) -> dict[str, float]:
    rtts, lost = series.rtts, series.lost
    ms = np.asarray(rtts) * 1000
    return {
        "n": len(rtts) + lost,
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "max_ms": round(float(ms.max()), 3),
        "lost": lost,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="command phase (default 60)")
    ap.add_argument("--rate", type=float, default=500.0, help="commands per second (500)")
    ap.add_argument("--driver", choices=("sim", "mock"), default="sim")
    ap.add_argument("--scene", default=str(SCENE), help="scene file for the sim driver")
    ap.add_argument("--workers", type=int, default=1, help="sim render workers per camera")
    ap.add_argument("--camera-hz", type=float, default=30.0, help="camera rate asked (30)")
    ap.add_argument("--camera-encoding", choices=("raw", "jpeg", "png"), default="raw")
    ap.add_argument("--camera-seconds", type=float, default=10.0, help="camera phase (10)")
    ap.add_argument("--watchdog-trials", type=int, default=5, help="client kills timed (5)")
    ap.add_argument(
        "--block", type=float, default=0.1, help="seconds per turn of floor and bridge (0.1)"
    )
    ap.add_argument(
        "--realtime",
        type=int,
        default=None,
        metavar="PRIORITY",
        help="serve with the control thread under SCHED_FIFO at this priority",
    )
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    proc, address = start_server(args)
    link = Link(address, client="bridge-latency", ack_timeout=0.1)
    try:
        link.connect(10.0)
        kind, fields = command_fields(EETarget((0.0, 0.0, 0.0), 0.0, 1.0))
        payload = pack(Stamper()(kind, session=1, **fields))
        echo = Echo()
        try:
            calls = [(echo.once(payload), Series()), (bridge_once(link), Series())]
            paced(args.rate, 1.0, calls, args.block)  # warm up
            calls = [(once, Series()) for once, _ in calls]
            paced(args.rate, args.seconds, calls, args.block)
            floor, bridge = (stats(series) for _, series in calls)
            state_rate = count_stream(link.endpoints.state, b"", 5.0, frames=False)
            fps: list[float] = []
            t = threading.Thread(
                target=lambda: fps.append(
                    count_stream(link.endpoints.camera, b"main/", args.camera_seconds, True)
                )
            )
            t.start()
            calls = [(once, Series()) for once, _ in calls]
            paced(args.rate, (args.camera_seconds + 2) / 2, calls, args.block)
            t.join()
            floor_loaded, loaded = (stats(series) for _, series in calls)
        finally:
            echo.close()
        link.close()  # gives up control, so that a streaming client can take it
        watchdog = watchdog_reaction(address, args.watchdog_trials)
    finally:
        link.close()
        proc.terminate()
        proc.wait(30)
    out = {
        "driver": args.driver,
        "realtime_priority": args.realtime,
        "rate_hz": args.rate,
        "seconds": args.seconds,
        "floor_req_rep": floor,
        "bridge_command_ack": bridge,
        "bridge_command_ack_while_streaming_camera": loaded,
        "floor_req_rep_while_streaming_camera": floor_loaded,
        "state_msgs_per_s": round(state_rate, 1),
        "camera_main_640x480_fps": round(fps[0] if fps else 0.0, 2),
        "camera_encoding": args.camera_encoding,
        "watchdog_reaction": watchdog,
        "targets_met": {
            "p50_within_2x_floor": bridge["p50_ms"] <= 2 * floor["p50_ms"],
            "p99_at_most_1ms": bridge["p99_ms"] <= 1.0,
            "no_lost_commands": bridge["lost"] == 0,
            "camera_at_least_15fps": (fps[0] if fps else 0.0) >= 15.0,
            "holds_within_watchdog_plus_a_period": watchdog["max_ms"] <= watchdog["limit_ms"],
        },
        "python": platform.python_version(),
        "machine": platform.processor() or platform.machine(),
    }
    if args.json:
        print(json.dumps(out))
        return 0
    rt = f", control thread SCHED_FIFO {args.realtime}" if args.realtime is not None else ""
    print(f"bridge latency: driver {args.driver}{rt}, {args.rate:.0f} Hz for {args.seconds:.0f} s")
    print(f"{'':38s}{'p50 ms':>9s}{'p99 ms':>9s}{'max ms':>9s}{'lost':>6s}{'n':>8s}")
    for name, s in (
        ("pyzmq REQ/REP echo (floor)", floor),
        ("bridge command -> ack", bridge),
        ("echo (floor), camera on", floor_loaded),
        ("bridge command -> ack, camera on", loaded),
    ):
        print(
            f"{name:38s}{s['p50_ms']:9.3f}{s['p99_ms']:9.3f}{s['max_ms']:9.3f}"
            f"{s['lost']:6d}{s['n']:8d}"
        )
    print(f"state stream: {out['state_msgs_per_s']} messages/s")
    print(
        f"watchdog: client killed mid-motion, holding after {watchdog['mean_ms']} ms mean, "
        f"{watchdog['max_ms']} ms max over {watchdog['trials']} trials "
        f"(limit {watchdog['limit_ms']} ms, seen through the 100 Hz state stream)"
    )
    print(
        f"camera main 640x480 ({args.camera_encoding}): {out['camera_main_640x480_fps']} frames/s"
    )
    print(
        "targets: "
        + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in out["targets_met"].items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
