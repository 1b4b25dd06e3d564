"""Helpers for the SO-101 tests: a small URDF of the arm's joint chain (the SO-101's published
link lengths, no meshes), the pose the tests start the arm at, and an emulated arm in a
subprocess that `bridge serve --driver so101` can drive, with a recorded table camera.

Run as a script (`python tests/so101_support.py FOLDER`), it writes a calibration and a camera
recording into FOLDER, starts an emulated servo bus with the arm at SERVED_START and prints one
JSON line: the `bridge serve` arguments that serve it (the base at the table frame's origin).
It serves until killed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START = (0.20, 0.0, 0.06)  # tool down, yaw 0, with the base at the origin: inside the default box
# Where the served arm starts (base at the origin): inside the SO-101's reach box (x 0.00-0.45,
# y -0.23-0.23, z 0-0.085, robot_llm.tabletop.setups), which `bridge serve` holds it to, near its
# back edge: a swing of the shoulder pan to its limit (positive: to the right) takes the hand
# 7 cm behind x = 0, out of the box and its 5 cm margin, within a few tenths of a second (the
# conformance tests' containment check). Inside the box, the pan sweeps no edge.
SERVED_START = (0.02, -0.21, 0.06)
BASE = "0,0,0"
TIMEOUT_MS = "150"  # the bus's answer timeout: generous, for a loaded test machine

# Zero pose: upper arm up, forearm and tool forward (+x). The tool frame is turned as the robot
# description's (`ee_down` a half turn about x): its z axis is the approach direction.
URDF = """<?xml version="1.0"?>
<robot name="so101_chain">
  <link name="base_link"/>
  <link name="shoulder_link"/>
  <link name="upper_arm_link"/>
  <link name="lower_arm_link"/>
  <link name="wrist_link"/>
  <link name="gripper_link"/>
  <link name="gripper_tcp"/>
  <link name="moving_jaw"/>
  <joint name="shoulder_pan" type="revolute">
    <parent link="base_link"/><child link="shoulder_link"/>
    <origin xyz="0 0 0.0624" rpy="0 0 0"/><axis xyz="0 0 1"/>
    <limit lower="-1.92" upper="1.92" effort="3" velocity="4.0"/>
  </joint>
  <joint name="shoulder_lift" type="revolute">
    <parent link="shoulder_link"/><child link="upper_arm_link"/>
    <origin xyz="0.0304 0 0.0542" rpy="0 0 0"/><axis xyz="0 1 0"/>
    <limit lower="-1.75" upper="1.75" effort="3" velocity="4.0"/>
  </joint>
  <joint name="elbow_flex" type="revolute">
    <parent link="upper_arm_link"/><child link="lower_arm_link"/>
    <origin xyz="0 0 0.1126" rpy="0 0 0"/><axis xyz="0 1 0"/>
    <limit lower="-1.69" upper="1.69" effort="3" velocity="4.0"/>
  </joint>
  <joint name="wrist_flex" type="revolute">
    <parent link="lower_arm_link"/><child link="wrist_link"/>
    <origin xyz="0.1349 0 0" rpy="0 0 0"/><axis xyz="0 1 0"/>
    <limit lower="-1.9" upper="1.9" effort="3" velocity="4.0"/>
  </joint>
  <joint name="wrist_roll" type="revolute">
    <parent link="wrist_link"/><child link="gripper_link"/>
    <origin xyz="0.0611 0 0" rpy="0 0 0"/><axis xyz="1 0 0"/>
    <limit lower="-2.74" upper="2.84" effort="3" velocity="4.0"/>
  </joint>
  <joint name="gripper_tcp_joint" type="fixed">
    <parent link="gripper_link"/><child link="gripper_tcp"/>
    <origin xyz="0.09 0 0" rpy="3.14159265358979 -1.5707963267949 0"/>
  </joint>
  <joint name="gripper" type="revolute">
    <parent link="gripper_link"/><child link="moving_jaw"/>
    <origin xyz="0.02 0 0" rpy="0 0 0"/><axis xyz="0 0 1"/>
    <limit lower="-0.17" upper="1.75" effort="3" velocity="4.0"/>
  </joint>
</robot>
"""


def write_urdf(folder: Path) -> Path:
    path = folder / "so101_chain.urdf"
    path.write_text(URDF)
    return path


def write_camera(folder: Path, frames: int = 1) -> Path:
    """A recorded table camera (`frames` copies of one synthetic frame, calibrated with a pose)
    for `--camera`; a run looks several times, and a recording ends after its last frame."""
    import numpy as np

    from robot_llm.cameras import CameraCalibration
    from robot_llm.cameras.recorded import FolderWriter
    from robot_llm.types import CameraFrame

    k = np.array([[500.0, 0, 319.5], [0, 500.0, 239.5], [0, 0, 1]])
    pose = np.array([[0, -1, 0, 0.3], [-1, 0, 0, 0], [0, 0, -1, 0.8], [0, 0, 0, 1.0]])
    rgb = np.full((480, 640, 3), 120, dtype=np.uint8)
    depth = np.full((480, 640), 0.8, dtype=np.float32)
    writer = FolderWriter(folder / "camera", depth=True)
    for i in range(frames):
        writer.write(CameraFrame(rgb, depth, k, pose, 0.1 * i, "main"))
    cal = CameraCalibration((640, 480), k)
    writer.write_calibration(cal.with_pose(pose, {"method": "synthetic"}))
    return folder / "camera"


class EmulatedArm:
    """`python tests/so101_support.py FOLDER` in a subprocess (FOLDER a temporary one unless
    given): `args` serve its arm."""

    def __init__(self, folder: Path | None = None) -> None:
        self._temp = tempfile.TemporaryDirectory(prefix="so101-") if folder is None else None
        folder = Path(self._temp.name) if self._temp is not None else folder
        folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), str(folder)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.kill()
            raise AssertionError("the emulated SO-101 did not start")
        self.args: list[str] = json.loads(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        if self._temp is not None:
            self._temp.cleanup()


def start_steps(
    calibration: object,
    urdf: str | Path | None = None,
    start: tuple[float, float, float] = START,
    base: tuple[float, float, float] | None = (0.0, 0.0, 0.0),
) -> dict[int, int]:
    """Servo steps of the arm with the tool down (yaw 0) at `start` (START: base at the origin;
    `base` None: the robot description's base), gripper open."""
    import numpy as np

    from robot_llm.drivers.so101.kinematics import So101Kinematics

    kin = So101Kinematics.load(urdf, base)
    q = kin.ik(np.array(start), 0.0, np.clip(np.zeros(5), kin.lower, kin.upper), iterations=300)
    assert np.linalg.norm(kin.fk(q) - start) < 1e-3, kin.fk(q)
    return calibration.steps_for(q, 1.0)  # type: ignore[attr-defined, no-any-return]


def main(folder: str) -> None:
    import time

    from robot_llm.drivers.so101.calibration import default_calibration
    from robot_llm.drivers.so101.emulator import EmulatedBus

    out = Path(folder)
    calibration = default_calibration()
    calibration.save(out / "calibration.json")
    camera = write_camera(out)
    bus = EmulatedBus(positions=start_steps(calibration, start=SERVED_START)).start()
    options = {
        "port": bus.path,
        "calibration": out / "calibration.json",
        "base": BASE,
        "timeout_ms": TIMEOUT_MS,
    }
    args = [a for k, v in options.items() for a in ("--driver-option", f"{k}={v}")]
    print(json.dumps([*args, "--camera", f"folder:{camera}"]), flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(sys.argv[1])
