"""Forward and inverse kinematics of the SO-101, from its URDF (the file the simulator loads).

Five arm joints: the shoulder pan turns the arm's plane (azimuth); shoulder lift, elbow flex and
wrist flex, with parallel axes, set reach, height and the tool's pitch; the wrist roll turns the
tool about its own axis. With the tool pointing down, a yaw about +z is the pan plus the roll, so
"position, tool down, yaw" (what the bridge's end-effector commands ask) is five numbers for five
joints: reachable exactly inside the arm's reach, and approached as closely as the joints allow
outside it (position first, then the tool's direction).

The arm's facts come from its robot description (robot_llm.envs.robots, "so101"), the one the
simulator uses: the URDF, the tool link (`gripper_tcp`), "down with yaw 0" (`ee_down`), where the
base stands in the table frame, the home pose and the gripper's jaw. The inverse kinematics is
damped least squares on the analytic Jacobian, warm-started from the previous solution: well
under a millisecond per control period.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from robot_llm.drivers.so101.calibration import ARM_JOINTS
from robot_llm.robots.kinematics import MOVABLE, Chain, KinematicsError

ROBOT: Final = "so101"  # its name in robot_llm.envs.robots
ORIENTATION_WEIGHT: Final = 0.2  # m per rad: position first, then the tool's direction
DAMPING: Final = 1e-3
ALIGNED_M = 0.01  # the IK turns the tool to its yaw once this close, and pointing down
DEFAULT_MAX_VELOCITY: Final = 4.0  # rad/s, where the URDF gives none


@dataclass(frozen=True)
class JointLimit:
    lower: float
    upper: float
    velocity: float


def urdf_limits(urdf: str | Path, names: tuple[str, ...]) -> dict[str, JointLimit]:
    """Position and velocity limits of the named joints from a URDF."""
    root = ET.parse(urdf).getroot()
    found: dict[str, JointLimit] = {}
    for joint in root.findall("joint"):
        name = joint.get("name", "")
        if name not in names:
            continue
        limit = joint.find("limit")
        lower = float(limit.get("lower", -math.pi)) if limit is not None else -math.pi
        upper = float(limit.get("upper", math.pi)) if limit is not None else math.pi
        velocity = float(limit.get("velocity", 0) or 0) if limit is not None else 0.0
        found[name] = JointLimit(lower, upper, velocity or DEFAULT_MAX_VELOCITY)
    missing = [n for n in names if n not in found]
    if missing:
        raise KinematicsError(f"{urdf}: no joints {missing}")
    return found


def rotation_error(target: np.ndarray, current: np.ndarray) -> np.ndarray:
    """The rotation vector (axis times angle, world frame) that turns `current` into `target`."""
    r = target @ current.T
    cos = min(max((r[0, 0] + r[1, 1] + r[2, 2] - 1.0) / 2.0, -1.0), 1.0)
    angle = math.acos(cos)
    v = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    if angle < 1e-9:
        return 0.5 * v
    if angle > math.pi - 1e-4:  # half a turn: the axis from the symmetric part
        k = int(np.argmax(np.diag(r)))
        axis = (r[:, k] + np.eye(3)[:, k]) / math.sqrt(max(2.0 * (1.0 + r[k, k]), 1e-12))
        return axis * angle
    return v * (angle / (2.0 * math.sin(angle)))


def quaternion(r: np.ndarray) -> tuple[float, float, float, float]:
    """A rotation matrix as a quaternion (x, y, z, w)."""
    t = r[0, 0] + r[1, 1] + r[2, 2]
    if t > 0:
        s = math.sqrt(t + 1.0) * 2
        q = ((r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s, s / 4)
    elif r[0, 0] > r[1, 1] and r[0, 0] > r[2, 2]:
        s = math.sqrt(1.0 + r[0, 0] - r[1, 1] - r[2, 2]) * 2
        q = (s / 4, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s, (r[2, 1] - r[1, 2]) / s)
    elif r[1, 1] > r[2, 2]:
        s = math.sqrt(1.0 + r[1, 1] - r[0, 0] - r[2, 2]) * 2
        q = ((r[0, 1] + r[1, 0]) / s, s / 4, (r[1, 2] + r[2, 1]) / s, (r[0, 2] - r[2, 0]) / s)
    else:
        s = math.sqrt(1.0 + r[2, 2] - r[0, 0] - r[1, 1]) * 2
        q = ((r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, s / 4, (r[1, 0] - r[0, 1]) / s)
    return (float(q[0]), float(q[1]), float(q[2]), float(q[3]))


def matrix(q: tuple[float, float, float, float] | np.ndarray) -> np.ndarray:
    """A quaternion (x, y, z, w) as a rotation matrix."""
    x, y, z, w = (float(v) for v in q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def yaw_matrix(yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class Description:
    """What the driver takes from the robot description (robot_llm.envs.robots)."""

    urdf: str
    tip: str
    joints: tuple[str, ...]
    down: tuple[float, float, float, float]  # quaternion of the tool pointing down, yaw 0
    base: tuple[float, float, float]
    home: tuple[float, ...]
    gripper: Any  # robot_llm.envs.robots.GripperDescription


def description(urdf: str | Path | None = None) -> Description:
    """The registered SO-101's description; `urdf` replaces its URDF file."""
    from robot_llm.envs.assets import resolve_asset
    from robot_llm.envs.robots import get_robot

    d = get_robot(ROBOT)
    if urdf is None:
        try:
            path = resolve_asset(d.urdf)
        except FileNotFoundError as err:
            raise KinematicsError(f"the SO-101 URDF is missing: {err}; give urdf=FILE") from None
    else:
        path = str(urdf)
        if not Path(path).is_file():
            raise KinematicsError(f"URDF {path} does not exist")
    return Description(path, d.ee_link, d.arm_joints, d.ee_down, d.base_position, d.home, d.gripper)


class So101Kinematics:
    """The arm's joint chain: `fk`, `pose`, `ik`, its joint limits, its home, `down(yaw)`."""

    def __init__(
        self, chain: Chain, limits: dict[str, JointLimit], urdf: str, d: Description
    ) -> None:
        self.chain = chain
        self.urdf = urdf
        self.description = d
        self.down_zero = matrix(d.down)
        self.names = ARM_JOINTS
        self.lower = np.array([limits[n].lower for n in ARM_JOINTS])
        self.upper = np.array([limits[n].upper for n in ARM_JOINTS])
        self.velocity = np.array([limits[n].velocity for n in ARM_JOINTS])
        self._base = chain.base
        # Per joint of the chain: origin, kind (None: fixed), axis, its skew matrix K and K^2.
        self._steps = []
        for j in chain.joints:
            x, y, z = j.axis
            k = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
            kind = j.kind if j.kind in MOVABLE else None
            self._steps.append((j.origin, kind, j.axis, k, k @ k, j.index))

    @classmethod
    def load(
        cls, urdf: str | Path | None = None, base: tuple[float, float, float] | None = None
    ) -> So101Kinematics:
        """From the robot description; `urdf` and `base` (the base's position in the table
        frame) replace its own."""
        d = description(urdf)
        if tuple(d.joints) != ARM_JOINTS:
            raise KinematicsError(f"the SO-101 description names joints {d.joints}")
        chain = Chain(d.urdf, d.tip, ARM_JOINTS, base if base is not None else d.base)
        return cls(chain, urdf_limits(d.urdf, ARM_JOINTS), d.urdf, d)

    def home(self) -> np.ndarray:
        """The description's home pose, inside the joint limits."""
        return np.clip(np.array(self.description.home, dtype=float), self.lower, self.upper)

    def down(self, yaw: float) -> np.ndarray:
        """The tool pointing down, turned by `yaw` about +z."""
        return yaw_matrix(yaw) @ self.down_zero

    def yaw(self, r: np.ndarray) -> float:
        """The yaw about +z that turns `down(0)` into (the tool-down orientation nearest) `r`."""
        rel = r @ self.down_zero.T
        return math.atan2(rel[1, 0] - rel[0, 1], rel[0, 0] + rel[1, 1])

    def with_limits(self, lower: np.ndarray, upper: np.ndarray) -> So101Kinematics:
        """The same chain with joint ranges narrowed (to a calibration's)."""
        other = So101Kinematics.__new__(So101Kinematics)
        other.__dict__.update(self.__dict__)
        other.lower = np.maximum(self.lower, lower)
        other.upper = np.minimum(self.upper, upper)
        return other

    # -- forward --------------------------------------------------------------------------------
    def pose(self, q: np.ndarray) -> np.ndarray:
        return self.chain.pose(np.asarray(q, dtype=float))

    def fk(self, q: np.ndarray) -> np.ndarray:
        return self.chain.position(np.asarray(q, dtype=float))

    def pose_and_jacobian(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The tool's 4 x 4 pose and the 6 x 5 Jacobian (linear rows, then angular)."""
        t = self._base
        axes: list[tuple[int, np.ndarray, np.ndarray]] = []
        for origin, kind, axis, k, k2, index in self._steps:
            t = t @ origin
            if kind is None:
                continue
            value = float(q[index]) if index >= 0 else 0.0
            if index >= 0:
                axes.append((index, t[:3, 3], t[:3, :3] @ axis))
            motion = np.eye(4)
            if kind == "prismatic":
                motion[:3, 3] = axis * value
            else:  # Rodrigues: I + sin K + (1 - cos) K^2
                motion[:3, :3] += math.sin(value) * k + (1.0 - math.cos(value)) * k2
            t = t @ motion
        jac = np.zeros((6, len(self.names)))
        tx, ty, tz = t[0, 3], t[1, 3], t[2, 3]
        for index, origin, axis in axes:
            ax, ay, az = axis
            dx, dy, dz = tx - origin[0], ty - origin[1], tz - origin[2]
            jac[0, index] = ay * dz - az * dy
            jac[1, index] = az * dx - ax * dz
            jac[2, index] = ax * dy - ay * dx
            jac[3:, index] = axis
        return t, jac

    # -- inverse --------------------------------------------------------------------------------
    def ik(
        self,
        position: np.ndarray,
        yaw: float,
        start: np.ndarray,
        iterations: int = 40,
        tolerance: float = 1e-4,
    ) -> np.ndarray:
        """Joint angles that put the tool at `position`, pointing down, turned by `yaw`;
        from `start`, inside the joint limits."""
        goal = np.asarray(position, dtype=float)
        q = np.clip(np.asarray(start, dtype=float), self.lower, self.upper)
        w = ORIENTATION_WEIGHT
        damping = DAMPING * np.eye(len(q))
        aligned = False  # first point the tool down (keeping its yaw), then turn it to `yaw`
        for _ in range(iterations):
            t, jac = self.pose_and_jacobian(q)
            e_pos = goal - t[:3, 3]
            e_rot = rotation_error(self.down(yaw if aligned else self.yaw(t[:3, :3])), t[:3, :3])
            if not aligned and np.linalg.norm(e_pos) < ALIGNED_M and np.linalg.norm(e_rot) < 0.1:
                aligned = True
                e_rot = rotation_error(self.down(yaw), t[:3, :3])
            if (
                aligned
                and np.linalg.norm(e_pos) < tolerance
                and np.linalg.norm(e_rot) * w < tolerance
            ):
                break
            jac[3:] *= w
            error = np.concatenate([e_pos, w * e_rot])
            step = np.linalg.solve(jac.T @ jac + damping, jac.T @ error)
            limit = float(np.max(np.abs(step)))
            if limit > 0.5:  # long steps overshoot: at most half a radian per iteration
                step *= 0.5 / limit
            moved = np.clip(q + step, self.lower, self.upper)
            if aligned and float(np.max(np.abs(moved - q))) < 1e-7:  # stalled at a limit
                return moved
            q = moved
        return q
