"""The robot description a driver gives and the hello carries: joints, rate, home, gripper,
cameras with their camera models (docs/bridge-protocol.md, "Robot description")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from robot_llm.bridge.protocol import Fields, ProtocolError


def matrix(value: object, rows: int, cols: int, where: str) -> tuple[tuple[float, ...], ...]:
    m = np.asarray(value, dtype=float) if isinstance(value, list) else None
    if m is None or m.shape != (rows, cols) or not np.isfinite(m).all():
        raise ProtocolError("bad_field", f"{where} must be a {rows} x {cols} list of numbers")
    return tuple(tuple(float(v) for v in row) for row in m)


def rows(m: Sequence[Sequence[float]] | np.ndarray) -> list[list[float]]:
    return [[float(v) for v in row] for row in m]


@dataclass(frozen=True)
class JointSpec:
    """One arm joint: name, position limits (rad or m) and velocity limit (per second)."""

    name: str
    lower: float
    upper: float
    max_velocity: float


@dataclass(frozen=True)
class CameraModel:
    """A camera: image size, pinhole intrinsics (3 x 3, OpenCV) and pose in the table frame
    (4 x 4, x right, y down, z forward), or None when it moves with the arm (each frame then
    carries its pose)."""

    name: str
    width: int
    height: int
    intrinsics: tuple[tuple[float, ...], ...]
    extrinsics: tuple[tuple[float, ...], ...] | None = None
    depth: bool = True

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "intrinsics": rows(self.intrinsics),
            "extrinsics": rows(self.extrinsics) if self.extrinsics is not None else None,
            "depth": self.depth,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> CameraModel:
        f = Fields(d, "camera")
        ext = d.get("extrinsics")
        return cls(
            f.text("name"),
            f.integer("width"),
            f.integer("height"),
            matrix(d.get("intrinsics"), 3, 3, "camera intrinsics"),
            matrix(ext, 4, 4, "camera extrinsics") if ext is not None else None,
            f.flag("depth", True),
        )


@dataclass(frozen=True)
class RobotDescription:
    """What a driver says about its arm: joints, control rate, home, gripper and cameras."""

    name: str
    joints: tuple[JointSpec, ...]
    control_hz: float
    home: tuple[float, ...]
    max_gripper_width: float = 0.0  # meters between the fingers fully open; 0: no gripper
    cameras: tuple[CameraModel, ...] = ()

    def camera(self, name: str) -> CameraModel:
        for c in self.cameras:
            if c.name == name:
                return c
        names = ", ".join(c.name for c in self.cameras) or "none"
        raise ValueError(f"unknown camera {name!r}; cameras are {names}")

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "joints": [
                {"name": j.name, "lower": j.lower, "upper": j.upper, "max_velocity": j.max_velocity}
                for j in self.joints
            ],
            "control_hz": self.control_hz,
            "home": list(self.home),
            "gripper": {"max_width": self.max_gripper_width} if self.max_gripper_width else None,
            "cameras": [c.to_dict() for c in self.cameras],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> RobotDescription:
        f = Fields(d, "robot")
        joints_raw = d.get("joints")
        cams_raw = d.get("cameras", [])
        if not isinstance(joints_raw, list) or not all(isinstance(j, dict) for j in joints_raw):
            raise ProtocolError("bad_field", "robot: field 'joints' must be a list of maps")
        if not isinstance(cams_raw, list) or not all(isinstance(c, dict) for c in cams_raw):
            raise ProtocolError("bad_field", "robot: field 'cameras' must be a list of maps")
        joints = []
        for j in joints_raw:
            jf = Fields(j, "joint")
            joints.append(
                JointSpec(
                    jf.text("name"),
                    jf.number("lower"),
                    jf.number("upper"),
                    jf.number("max_velocity"),
                )
            )
        gripper = d.get("gripper")
        width = Fields(gripper, "gripper").number("max_width") if isinstance(gripper, dict) else 0.0
        home = f.vector("home", len(joints))
        control_hz = f.number("control_hz")
        if control_hz <= 0:
            raise ProtocolError("bad_field", "robot: field 'control_hz' must be > 0")
        return cls(
            f.text("name"),
            tuple(joints),
            control_hz,
            tuple(float(v) for v in home),
            width,
            tuple(CameraModel.from_dict(c) for c in cams_raw),
        )
