"""The whole stack on an emulated SO-101, in real processes: `robot-llm bridge serve --driver
so101` on an emulated servo bus (a pseudo-terminal served by this process), and `robot-llm run
--robot tcp://... --camera folder:...` whose recorded camera shows the table sized for the arm.
The command's motion is read off the emulated servos' register tables."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from so101_support import TIMEOUT_MS, start_steps

from robot_llm.bridge.client import RemoteRobot
from robot_llm.cameras import CameraCalibration
from robot_llm.cameras.recorded import FolderWriter
from robot_llm.drivers.so101.calibration import Calibration, default_calibration
from robot_llm.drivers.so101.emulator import EmulatedBus
from robot_llm.drivers.so101.kinematics import So101Kinematics
from robot_llm.envs.world import TabletopWorld
from robot_llm.tabletop.scene import load_scene
from robot_llm.tabletop.setups import SO101_SETUP

ROOT = Path(__file__).resolve().parents[1]
SCENE = ROOT / "sim_assets" / "scenes" / "so101_blocks_and_bowls.yaml"
RED_BLOCK = (0.33, 0.12)  # the scene file's, where the recording shows it
START = (0.38, -0.05, 0.06)  # the arm's tool at start (the robot description's base, x = 0.20)
FRAMES = 40  # a run looks several times; a recording ends after its last frame
READY = "bridge ready on "
GRIPPER = 6


def record_table(folder: Path) -> Path:
    """The main camera's view of the scene (the simulated SO-101 at home), recorded with its
    calibration: what `robot-llm camera record` writes."""
    world = TabletopWorld("so101")
    try:
        world.build(load_scene(SCENE, workspace=SO101_SETUP.workspace))
        frame = world.render_main().to_camera_frame("main", 0.0)
    finally:
        world.close()
    writer = FolderWriter(folder, depth=True)
    for _ in range(FRAMES):
        writer.write(frame)
    cal = CameraCalibration((frame.width, frame.height), frame.intrinsics)
    writer.write_calibration(cal.with_pose(frame.extrinsics, {"method": "simulator"}))
    return folder


class Serve:
    """`robot-llm bridge serve --driver so101` in its own session; stderr drained into lines."""

    def __init__(self, port: str, calibration: Path) -> None:
        argv = [sys.executable, "-m", "robot_llm.cli", "bridge", "serve", "--driver", "so101"]
        for option in (f"port={port}", f"calibration={calibration}", f"timeout_ms={TIMEOUT_MS}"):
            argv += ["--driver-option", option]
        argv += ["--bind", "tcp://127.0.0.1:0"]
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            cwd=ROOT,
        )
        self.lines: list[str] = []
        self.address = ""
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            if line.startswith(READY) and not self.address:
                self.address = line[len(READY) :].strip()
                self.ready.set()
        self.ready.set()

    def wait_ready(self, timeout: float = 20.0) -> str:
        self.ready.wait(timeout)
        if not self.address:
            pytest.fail("bridge serve did not start:\n" + "\n".join(self.lines))
        return self.address

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.reader.join(5)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[EmulatedBus, Serve, Calibration]]:
    calibration = default_calibration()
    calibration.save(tmp_path / "calibration.json")
    steps = start_steps(calibration, start=START, base=None)
    with EmulatedBus(positions=steps) as bus:
        server = Serve(bus.path, tmp_path / "calibration.json")
        try:
            server.wait_ready()
            yield bus, server, calibration
        finally:
            server.stop()


def hand(
    kinematics: So101Kinematics, calibration: Calibration, steps: dict[int, int]
) -> np.ndarray:
    """Where the tool centre is for these servo steps (the robot description's base)."""
    return kinematics.fk(calibration.angles({i: float(s) for i, s in steps.items()}))


def test_run_picks_on_the_emulated_arm_through_the_bridge(
    served: tuple[EmulatedBus, Serve, Calibration], tmp_path: Path
) -> None:
    bus, server, calibration = served
    kinematics = So101Kinematics.load(None, None)
    before = bus.goals()
    assert np.linalg.norm(hand(kinematics, calibration, before) - START) < 0.002
    # The bridge serves the arm in its own reach box and speed cap, not the Panda's.
    with RemoteRobot(server.address) as robot:
        assert robot.info.name == "so101"
        assert tuple(robot.info.limits.workspace_max) == SO101_SETUP.reach_max
        assert robot.info.limits.max_ee_speed == SO101_SETUP.max_ee_speed
    camera = record_table(tmp_path / "camera")
    argv = [sys.executable, "-m", "robot_llm.cli", "run", "--robot", server.address]
    argv += ["--camera", f"folder:{camera}", "--scene", str(SCENE), "--no-confirm", "--json"]
    run = subprocess.Popen(
        [*argv, "pick up the red block"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=ROOT,
    )
    seen: list[tuple[np.ndarray, np.ndarray, int]] = []  # present hand, goal hand, jaw goal
    down = None
    try:
        deadline = time.monotonic() + 40.0
        while run.poll() is None and time.monotonic() < deadline:
            present, goals = bus.positions(), bus.goals()
            at = hand(kinematics, calibration, present)
            seen.append((at, hand(kinematics, calibration, goals), goals[GRIPPER]))
            if math.dist(at[:2], RED_BLOCK) < 0.01 and at[2] < 0.03:
                down = at
                break
            time.sleep(0.02)
    finally:
        if run.poll() is None:
            run.send_signal(signal.SIGINT)
        try:
            _, err = run.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            _, err = run.communicate(timeout=5)
    assert down is not None, f"the hand never came down at the red block; run said:\n{err}"
    assert "plan (1 step): pick red_block" in err
    # On its way the hand looked from the SO-101's own viewing pose (the Panda's is out of reach).
    assert SO101_SETUP.view_pose is not None
    view = np.array(SO101_SETUP.view_pose[:3])
    assert min(float(np.linalg.norm(p - view)) for p, _, _ in seen) < 0.01
    # The servos' goals were where the hand is now: at the red block, at grasp height; and the
    # jaw was opened wider than the block, but not fully, before coming down.
    last_goal = seen[-1][1]
    assert math.dist(last_goal[:2], RED_BLOCK) < 0.012 and last_goal[2] < 0.035, last_goal
    assert calibration.gripper.closed < seen[-1][2] < calibration.gripper.open
