"""The `mock` driver: a kinematic arm with synthetic cameras, no simulator and no hardware.

For tests, benchmarks and for writing clients: it answers like an arm (targets are tracked
exactly within one period, joints and end effector agree through a fixed linear map) and its
cameras produce 640 x 480 (main) and 320 x 240 (wrist) frames at once. Nothing here is physics.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np

from robot_llm.bridge.description import CameraModel, JointSpec, RobotDescription
from robot_llm.types import CameraFrame, RobotState

HOME = (0.0, -0.6, 0.0, -2.2, 0.0, 1.6, 0.8)
HOME_EE = np.array([0.35, 0.0, 0.30])
DOWN = (1.0, 0.0, 0.0, 0.0)  # tool pointing down, yaw 0 (quaternion x, y, z, w)
MAX_WIDTH = 0.08
# End-effector offset per radian of each joint: a fixed stand-in for forward kinematics.
_JACOBIAN = np.array(
    [
        [0.00, 0.30, 0.00, 0.25, 0.00, 0.10, 0.00],
        [0.40, 0.00, 0.20, 0.00, 0.10, 0.00, 0.00],
        [0.00, 0.30, 0.00, -0.25, 0.00, 0.10, 0.00],
    ]
)


def _joint_vector(text: str, option: str) -> np.ndarray:
    try:
        q = np.array([float(v) for v in text.split(",")])
    except ValueError:
        raise ValueError(
            f"mock driver option {option}: {text!r} is not comma-separated numbers"
        ) from None
    if q.shape != (len(HOME),) or not np.isfinite(q).all():
        raise ValueError(
            f"mock driver option {option}: expected {len(HOME)} finite joint positions"
        )
    return q


def _camera(name: str, width: int, height: int, fov_y_deg: float) -> CameraModel:
    f = height / (2 * math.tan(math.radians(fov_y_deg) / 2))
    k = ((f, 0.0, (width - 1) / 2), (0.0, f, (height - 1) / 2), (0.0, 0.0, 1.0))
    # Looking straight down from 1 m above (0.5, 0, 0): x right = -y table, y down = -x table.
    ext = ((0.0, -1.0, 0.0, 0.5), (-1.0, 0.0, 0.0, 0.0), (0.0, 0.0, -1.0, 1.0), (0, 0, 0, 1.0))
    return CameraModel(name, width, height, k, ext if name == "main" else None)


class MockDriver:
    """A Driver whose arm is a kinematic model and whose cameras are synthetic."""

    def __init__(self, *, control_hz: float | str = 50.0, start: str | None = None) -> None:
        """`start`: comma-separated joint positions to start at instead of home (a test can start
        the arm outside the workspace box)."""
        hz = float(control_hz)
        q0 = _joint_vector(start, "start") if start is not None else np.array(HOME, dtype=float)
        self._description = RobotDescription(
            name="mock",
            joints=tuple(JointSpec(f"joint{i + 1}", -2.9, 2.9, 2.0) for i in range(7)),
            control_hz=hz,
            home=HOME,
            max_gripper_width=MAX_WIDTH,
            cameras=(_camera("main", 640, 480, 45.0), _camera("wrist", 320, 240, 60.0)),
        )
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        self._q = q0
        self._dq = np.zeros(7)
        self._yaw = 0.0
        self._gripper = 1.0
        self._images: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for cam in self._description.cameras:
            y, x = np.mgrid[0 : cam.height, 0 : cam.width]
            rgb = np.stack([x * 255 // cam.width, y * 255 // cam.height, (x + y) % 256], -1)
            depth = np.full((cam.height, cam.width), 1.0, dtype=np.float32)
            self._images[cam.name] = (rgb.astype(np.uint8), depth)
        self._frames = 0

    def _ee(self, q: np.ndarray) -> np.ndarray:
        return HOME_EE + _JACOBIAN @ (q - np.asarray(HOME))

    def _solve(self, position: np.ndarray) -> np.ndarray:
        step, *_ = np.linalg.lstsq(_JACOBIAN, position - self._ee(self._q), rcond=None)
        return self._q + step

    # -- Driver ---------------------------------------------------------------------------------
    def describe(self) -> RobotDescription:
        return self._description

    def read_state(self) -> RobotState:
        with self._lock:
            ee = self._ee(self._q)
            h = self._yaw / 2
            quat = (math.cos(h), math.sin(h), 0.0, 0.0)  # down, turned by yaw about +z
            return RobotState(
                tuple(float(v) for v in self._q),
                tuple(float(v) for v in self._dq),
                (float(ee[0]), float(ee[1]), float(ee[2])),
                quat,
                self._gripper * MAX_WIDTH,
                time.monotonic() - self._t0,
            )

    def ee_target(self) -> tuple[np.ndarray, float]:
        with self._lock:
            return self._ee(self._q), self._yaw

    def forward_kinematics(self, positions: np.ndarray) -> np.ndarray:
        return self._ee(np.asarray(positions, dtype=float))

    def write_ee(self, position: np.ndarray, yaw: float, gripper: float) -> None:
        with self._lock:
            self._move(self._solve(np.asarray(position, dtype=float)), gripper)
            self._yaw = float(yaw)

    def write_joints(self, positions: np.ndarray, gripper: float) -> None:
        with self._lock:
            self._move(np.asarray(positions, dtype=float), gripper)

    def hold(self) -> None:
        with self._lock:
            self._dq[:] = 0.0

    def stop(self) -> None:
        self.hold()

    def capture(self, camera: str) -> CameraFrame:
        model = self._description.camera(camera)
        rgb, depth = self._images[camera]
        with self._lock:
            self._frames += 1
            n = self._frames
            t = time.monotonic() - self._t0
            ext = model.extrinsics or self._wrist_pose()
        frame = rgb.copy()
        frame[n % frame.shape[0], :, :] = 255  # a moving line, so frames differ
        return CameraFrame(
            frame, depth.copy(), np.asarray(model.intrinsics), np.asarray(ext), t, camera
        )

    def close(self) -> None:
        pass

    # -- internals ------------------------------------------------------------------------------
    def _move(self, q: np.ndarray, gripper: float) -> None:
        self._dq = (q - self._q) * self._description.control_hz
        self._q = q
        self._gripper = float(gripper)

    def _wrist_pose(self) -> tuple[tuple[float, ...], ...]:
        x, y, z = self._ee(self._q)
        return ((0.0, -1.0, 0.0, x), (-1.0, 0.0, 0.0, y), (0.0, 0.0, -1.0, z), (0, 0, 0, 1.0))
