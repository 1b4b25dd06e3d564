"""SO-101 control loop through the bridge, on an emulated servo bus.

The emulated bus (`python -m robot_llm.drivers.so101.emulator`) runs in its own process on a
pseudo-terminal with six STS3215 servos; this process serves `So101Driver` on it with a
BridgeServer; a RemoteRobot in a third process streams commands, one per control period, for
`--seconds` at each `--hz`: joint targets (a slow sine on every joint), then end-effector targets
(a 4 cm circle, tool down, with a turning yaw; inverse kinematics in every period), from a start
17 cm in front of the base. Each period is one sync write of the goals and one sync read of
the six servos' feedback.

It reports, per rate and command kind: the control ticks the server ran per second (target:
the rate asked, >= 50 Hz), the driver's time on the bus per period (sync write + sync read,
p50/p95) and per end-effector period the inverse kinematics' time, and how far the emulated
servos lagged the targets.
Run: `.venv/bin/python benchmarks/so101_bus.py [--seconds 10] [--hz 50 100] [--timeout-ms 20]
[--json]` (`--timeout-ms`: the driver's answer timeout; a loaded machine may need more).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from robot_llm.bridge.server import BridgeServer, ServerConfig
from robot_llm.drivers.so101.driver import So101Driver

START = (0.17, 0.0, 0.06)  # the ee's start, from the base: tool down in the middle of its reach


def start_emulator(folder: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "robot_llm.drivers.so101.emulator",
            "--calibration-out",
            str(folder / "calibration.json"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    port = proc.stdout.readline().strip()
    if not port:
        proc.kill()
        raise SystemExit("the emulator did not start")
    return proc, port


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50_ms": float("nan"), "p95_ms": float("nan")}
    p50, p95 = np.percentile(np.asarray(values) * 1e3, [50, 95])
    return {"p50_ms": round(float(p50), 3), "p95_ms": round(float(p95), 3)}


CLIENT = """
import json, math, sys, time
import numpy as np
from robot_llm.bridge.client import RemoteRobot

address, kind, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
p0, yaw0 = np.array(json.loads(sys.argv[4])), 0.0  # the start: in front of the base, tool down
lag, commands = [], 0
with RemoteRobot(address) as robot:
    for _ in range(int(3 * robot.info.control_hz)):  # get there (at the speed limit)
        robot.command_ee(p0, yaw0, 1.0)
    q0 = np.array(robot.state().joint_positions)
    print("go", flush=True)
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        phase = 2 * math.pi * (time.monotonic() - t0) / 4.0
        if kind == "joints":
            target = q0 + 0.15 * math.sin(phase)
            robot.command_joints(target, 0.5 + 0.5 * math.sin(phase))
            error = np.max(np.abs(np.array(robot.state().joint_positions) - target))
        else:
            goal = p0 + 0.02 * np.array([math.cos(phase) - 1.0, math.sin(phase), 0.0])
            robot.command_ee(goal, yaw0 + 0.3 * math.sin(phase), 1.0)
            error = np.linalg.norm(np.array(robot.state().ee_position) - goal)
        lag.append(float(error))
        commands += 1
    elapsed = time.monotonic() - t0
    lag_p95 = float(np.percentile(lag, 95))
    report = {"commands_per_s": commands / elapsed, "lag_p95": lag_p95, "mode": robot.state().mode}
    print(json.dumps(report), flush=True)
"""


class TimedIK:
    """Wraps the driver's inverse kinematics to time it."""

    def __init__(self, driver: So101Driver) -> None:
        self.times: list[float] = []
        self._ik = driver.kinematics.ik
        driver.kinematics.ik = self  # type: ignore[method-assign]

    def __call__(self, *args: object, **kwargs: object) -> np.ndarray:
        start = time.perf_counter()
        q = self._ik(*args, **kwargs)  # type: ignore[arg-type]
        self.times.append(time.perf_counter() - start)
        return q


def run(
    port: str, calibration: Path, hz: float, seconds: float, kind: str, timeout_ms: float
) -> dict[str, object]:
    driver = So101Driver(
        port=port, calibration=str(calibration), control_hz=str(hz), timeout_ms=str(timeout_ms)
    )
    timed = TimedIK(driver)
    base = driver.kinematics.chain.base[:3, 3]
    start = [float(base[0]) + START[0], float(base[1]) + START[1], START[2]]
    server = BridgeServer(driver, ServerConfig(bind="tcp://127.0.0.1:0"))
    server.start()
    try:
        client = subprocess.Popen(
            [sys.executable, "-c", CLIENT, server.address, kind, str(seconds), json.dumps(start)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert client.stdout is not None
        if client.stdout.readline().strip() != "go":
            raise SystemExit("the client did not start")
        driver.cycle_times.clear()
        timed.times.clear()
        tick0, t0 = server.control.tick, time.monotonic()
        report = json.loads(client.stdout.readline() or "{}")
        elapsed = time.monotonic() - t0
        ticks = server.control.tick - tick0
        client.wait(30)
    finally:
        server.stop()
    return {
        "kind": kind,
        "hz_asked": hz,
        "ticks_per_s": round(ticks / elapsed, 2),
        "commands_per_s": round(float(report.get("commands_per_s", 0.0)), 2),
        "bus_per_cycle": percentiles(list(driver.cycle_times)),
        "ik": percentiles(timed.times) if kind == "ee" else None,
        "tracking_lag_p95": round(float(report.get("lag_p95", float("nan"))), 4),
        "mode_at_end": report.get("mode"),
        "bus_retries": driver.bus.missed_answers + driver.bus.corrupt_packets,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="per run (default 10)")
    ap.add_argument("--hz", type=float, nargs="+", default=[50.0, 100.0], help="control rates")
    ap.add_argument("--timeout-ms", type=float, default=20.0, help="bus answer timeout (20)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="so101-bench-") as tmp:
        folder = Path(tmp)
        proc, port = start_emulator(folder)
        try:
            runs = [
                run(port, folder / "calibration.json", hz, args.seconds, kind, args.timeout_ms)
                for hz in args.hz
                for kind in ("joints", "ee")
            ]
        finally:
            proc.terminate()
            proc.wait(10)
    out = {
        "benchmark": "so101_bus",
        "servos": 6,
        "seconds": args.seconds,
        "timeout_ms": args.timeout_ms,
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "runs": runs,
    }
    if args.json:
        print(json.dumps(out))
        return 0
    for r in runs:
        bus, ik = r["bus_per_cycle"], r["ik"]
        assert isinstance(bus, dict)
        ik_text = (
            f"  ik p50 {ik['p50_ms']} ms p95 {ik['p95_ms']} ms" if isinstance(ik, dict) else ""
        )
        print(
            f"{r['kind']:6s} at {r['hz_asked']:5.0f} Hz: {r['ticks_per_s']:6.1f} ticks/s, "
            f"bus p50 {bus['p50_ms']} ms p95 {bus['p95_ms']} ms{ik_text}, "
            f"lag p95 {r['tracking_lag_p95']}, mode {r['mode_at_end']}, retries {r['bus_retries']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
