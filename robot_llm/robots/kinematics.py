"""Forward kinematics of a URDF joint chain in numpy: no simulator, microseconds per call.

The bridge's supervisor checks every joint target through the end-effector position it leads to,
from the server's request thread, where a simulator call would hold Python's GIL. A `Chain` is
read once from the robot's URDF (the same file the simulator loads) and evaluates the pose of one
link for a vector of joint positions, in the frame the arm's base is placed in.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robot_llm.errors import InputError

MOVABLE = ("revolute", "continuous", "prismatic")


class KinematicsError(InputError):
    """A URDF that does not describe the asked chain (missing link or joint, bad numbers)."""


@dataclass(frozen=True)
class _Joint:
    name: str
    kind: str
    origin: np.ndarray  # 4 x 4, parent link frame to joint frame
    axis: np.ndarray  # unit vector in the joint frame
    index: int  # position in the caller's joint vector; -1: held at 0 (not an arm joint)


def _floats(text: str | None, default: tuple[float, float, float], where: str) -> np.ndarray:
    if text is None:
        return np.array(default, dtype=float)
    try:
        values = [float(v) for v in text.split()]
    except ValueError:
        raise KinematicsError(f"{where}: not three numbers: {text!r}") from None
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        raise KinematicsError(f"{where}: not three finite numbers: {text!r}")
    return np.array(values)


def _rpy(r: float, p: float, y: float) -> np.ndarray:
    """URDF fixed-axis roll, pitch, yaw: R = Rz(y) Ry(p) Rx(r)."""
    cr, sr, cp, sp, cy, sy = (
        math.cos(r),
        math.sin(r),
        math.cos(p),
        math.sin(p),
        math.cos(y),
        math.sin(y),
    )
    return np.array(
        [
            [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
            [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
            [-sp, cp * sr, cp * cr],
        ]
    )


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    x, y, z = axis
    c, s = math.cos(angle), math.sin(angle)
    t = 1.0 - c
    return np.array(
        [
            [t * x * x + c, t * x * y - s * z, t * x * z + s * y],
            [t * x * y + s * z, t * y * y + c, t * y * z - s * x],
            [t * x * z - s * y, t * y * z + s * x, t * z * z + c],
        ]
    )


class Chain:
    """The joints from a URDF's root link to `tip`, with the arm's joints taken by name."""

    def __init__(
        self,
        urdf: str | Path,
        tip: str,
        joint_names: tuple[str, ...],
        base_position: tuple[float, float, float] = (0.0, 0.0, 0.0),
    ) -> None:
        try:
            root = ET.parse(urdf).getroot()
        except (OSError, ET.ParseError) as err:
            raise KinematicsError(f"cannot read URDF {urdf}: {err}") from None
        by_child: dict[str | None, ET.Element] = {}
        for joint in root.findall("joint"):  # top level only: transmissions name joints too
            child = joint.find("child")
            if child is None or joint.find("parent") is None:
                raise KinematicsError(f"{urdf}: joint {joint.get('name')!r} lacks parent or child")
            by_child[child.get("link")] = joint
        links = {link.get("name") for link in root.findall("link")}
        if tip not in links:
            raise KinematicsError(f"{urdf}: no link {tip!r}")
        path: list[ET.Element] = []
        link = tip
        while link in by_child:
            joint = by_child[link]
            path.append(joint)
            link = joint.find("parent").get("link")  # type: ignore[union-attr, assignment]
            if len(path) > len(by_child):
                raise KinematicsError(f"{urdf}: the joints form a loop")
        index = {name: i for i, name in enumerate(joint_names)}
        self.joints = tuple(self._joint(j, index, str(urdf)) for j in reversed(path))
        missing = set(joint_names) - {j.name for j in self.joints}
        if missing:
            raise KinematicsError(
                f"{urdf}: joints {sorted(missing)} are not on the chain to {tip!r}"
            )
        self.size = len(joint_names)
        self.base = np.eye(4)
        self.base[:3, 3] = base_position

    @staticmethod
    def _joint(el: ET.Element, index: dict[str, int], where: str) -> _Joint:
        name = el.get("name", "")
        origin = el.find("origin")
        xyz = _floats(origin.get("xyz") if origin is not None else None, (0, 0, 0), where)
        rpy = _floats(origin.get("rpy") if origin is not None else None, (0, 0, 0), where)
        frame = np.eye(4)
        frame[:3, :3] = _rpy(*rpy)
        frame[:3, 3] = xyz
        axis_el = el.find("axis")
        axis = _floats(axis_el.get("xyz") if axis_el is not None else None, (1, 0, 0), where)
        norm = float(np.linalg.norm(axis))
        kind = el.get("type", "fixed")
        if kind in MOVABLE and norm == 0:
            raise KinematicsError(f"{where}: joint {name!r} has a zero axis")
        return _Joint(name, kind, frame, axis / (norm or 1.0), index.get(name, -1))

    def pose(self, positions: np.ndarray) -> np.ndarray:
        """The tip link's 4 x 4 pose for these joint positions (one per arm joint, in order)."""
        q = np.asarray(positions, dtype=float)
        if q.shape != (self.size,):
            raise ValueError(f"expected {self.size} joint positions, got shape {q.shape}")
        t = self.base
        for j in self.joints:
            t = t @ j.origin
            if j.kind not in MOVABLE:
                continue
            value = q[j.index] if j.index >= 0 else 0.0
            motion = np.eye(4)
            if j.kind == "prismatic":
                motion[:3, 3] = j.axis * value
            else:
                motion[:3, :3] = _rotation(j.axis, value)
            t = t @ motion
        return t

    def position(self, positions: np.ndarray) -> np.ndarray:
        """The tip link's position for these joint positions."""
        return self.pose(positions)[:3, 3].copy()


def robot_chain(name: str) -> Chain:
    """The end-effector chain of a simulated robot (robot_llm.envs.robots), from its URDF."""
    from robot_llm.envs.assets import resolve_asset
    from robot_llm.envs.robots import get_robot

    d = get_robot(name)
    return Chain(resolve_asset(d.urdf), d.ee_link, d.arm_joints, d.base_position)
