"""The SO-101's calibration file: where each joint's zero is on its servo, which way it turns,
and how far it may go; and the gripper's open and closed positions.

    {"robot": "so101", "version": 1,
     "joints": {"shoulder_pan": {"id": 1, "offset": 2048, "direction": 1,
                                 "range_min": 700, "range_max": 3400}, ...,
                "gripper": {"id": 6, "offset": 2048, "direction": 1, "range_min": 2000,
                            "range_max": 3300, "open": 3300, "closed": 2030}}}

Steps are servo positions (4096 per turn). A joint's angle in the robot description (radians) is
`direction * (steps - offset) * 2 pi / 4096`; goals are kept inside `range_min .. range_max`.
`robot-llm calibrate so101` writes this file (calibrate.py); a file that cannot be used is one
line naming the file and what is wrong.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from robot_llm.drivers.so101.protocol import MAX_STEP, STEPS_PER_TURN
from robot_llm.errors import InputError, read_user_file

ARM_JOINTS: Final = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll")
GRIPPER: Final = "gripper"
VERSION: Final = 1
RAD_PER_STEP: Final = 2 * math.pi / STEPS_PER_TURN


class CalibrationError(InputError):
    """A calibration file that cannot be used; one line naming the file and the problem."""


@dataclass(frozen=True)
class JointCalibration:
    name: str
    servo_id: int
    offset: int  # steps at the joint's zero (the middle pose)
    direction: int  # +1 or -1: the sign between servo steps and the joint angle
    range_min: int  # steps
    range_max: int  # steps
    open: int | None = None  # gripper only: steps fully open
    closed: int | None = None  # gripper only: steps closed

    def angle(self, steps: float) -> float:
        """The joint angle (rad) at these steps."""
        delta = (steps - self.offset + STEPS_PER_TURN / 2) % STEPS_PER_TURN - STEPS_PER_TURN / 2
        return self.direction * delta * RAD_PER_STEP

    def steps(self, angle: float) -> int:
        """The goal steps for this angle, inside the calibrated range."""
        value = self.offset + self.direction * angle / RAD_PER_STEP
        return round(min(max(value, self.range_min), self.range_max))

    def limits(self) -> tuple[float, float]:
        """The joint's range in radians (lower, upper)."""
        a, b = self.angle(self.range_min), self.angle(self.range_max)
        return (min(a, b), max(a, b))

    def opening(self, steps: float) -> float:
        """Gripper opening 0 (closed) .. 1 (open) at these steps."""
        assert self.open is not None and self.closed is not None
        return min(max((steps - self.closed) / (self.open - self.closed), 0.0), 1.0)

    def opening_steps(self, opening: float) -> int:
        assert self.open is not None and self.closed is not None
        o = min(max(opening, 0.0), 1.0)
        return round(self.closed + o * (self.open - self.closed))

    def to_dict(self) -> dict[str, int]:
        d = {
            "id": self.servo_id,
            "offset": self.offset,
            "direction": self.direction,
            "range_min": self.range_min,
            "range_max": self.range_max,
        }
        if self.open is not None and self.closed is not None:
            d.update(open=self.open, closed=self.closed)
        return d


@dataclass(frozen=True)
class Calibration:
    joints: tuple[JointCalibration, ...]  # the five arm joints, in ARM_JOINTS order
    gripper: JointCalibration

    def all_joints(self) -> tuple[JointCalibration, ...]:
        return (*self.joints, self.gripper)

    @property
    def ids(self) -> list[int]:
        return [j.servo_id for j in self.all_joints()]

    def angles(self, steps: Mapping[int, float]) -> np.ndarray:
        """Arm joint angles (rad) from servo steps by id."""
        return np.array([j.angle(steps[j.servo_id]) for j in self.joints])

    def steps_for(self, angles: Sequence[float] | np.ndarray, opening: float) -> dict[int, int]:
        """Goal steps by id for arm joint angles and a gripper opening."""
        goals = {j.servo_id: j.steps(float(a)) for j, a in zip(self.joints, angles, strict=True)}
        goals[self.gripper.servo_id] = self.gripper.opening_steps(opening)
        return goals

    def to_dict(self) -> dict[str, Any]:
        return {
            "robot": "so101",
            "version": VERSION,
            "joints": {j.name: j.to_dict() for j in self.all_joints()},
        }

    def save(self, path: str | Path) -> Path:
        target = Path(path)
        try:
            target.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        except OSError as err:
            raise CalibrationError(f"{target}: cannot write the calibration: {err}") from None
        return target

    @classmethod
    def load(cls, path: str | Path) -> Calibration:
        source = Path(path)
        text = read_user_file(source, CalibrationError)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise CalibrationError(f"{source}: not a calibration file (not JSON: {err})") from None
        try:
            return cls.from_dict(data)
        except CalibrationError as err:
            raise CalibrationError(f"{source}: {err}") from None

    @classmethod
    def from_dict(cls, data: object) -> Calibration:
        if not isinstance(data, dict) or not isinstance(data.get("joints"), dict):
            raise CalibrationError("not a calibration file: no 'joints' map")
        if data.get("robot", "so101") != "so101":
            raise CalibrationError(f"a calibration for {data.get('robot')!r}, not so101")
        joints = data["joints"]
        missing = [n for n in (*ARM_JOINTS, GRIPPER) if n not in joints]
        if missing:
            raise CalibrationError(f"incomplete: no entry for {', '.join(missing)}")
        arm = tuple(_joint(n, joints[n], gripper=False) for n in ARM_JOINTS)
        calibration = cls(arm, _joint(GRIPPER, joints[GRIPPER], gripper=True))
        ids = calibration.ids
        if len(set(ids)) != len(ids):
            raise CalibrationError(f"two joints share a servo id: {ids}")
        return calibration


def _joint(name: str, entry: object, gripper: bool) -> JointCalibration:
    if not isinstance(entry, dict):
        raise CalibrationError(f"joint {name}: expected a map")
    keys = ["id", "offset", "direction", "range_min", "range_max"]
    if gripper:
        keys += ["open", "closed"]
    values: dict[str, int] = {}
    for key in keys:
        value = entry.get(key)
        if value is None:
            raise CalibrationError(f"joint {name}: no {key}")
        if not isinstance(value, int) or isinstance(value, bool):
            raise CalibrationError(f"joint {name}: {key} must be an integer, got {value!r}")
        values[key] = value
    if not 0 <= values["id"] <= 252:
        raise CalibrationError(f"joint {name}: id {values['id']} is outside 0..252")
    if values["direction"] not in (1, -1):
        raise CalibrationError(f"joint {name}: direction must be 1 or -1")
    lo, hi = values["range_min"], values["range_max"]
    if not 0 <= lo < hi <= MAX_STEP:
        raise CalibrationError(f"joint {name}: range {lo}..{hi} is not inside 0..{MAX_STEP}")
    if not lo <= values["offset"] <= hi:
        raise CalibrationError(f"joint {name}: offset {values['offset']} is outside {lo}..{hi}")
    if gripper:
        if values["open"] == values["closed"]:
            raise CalibrationError("gripper: open and closed are the same steps")
        for key in ("open", "closed"):
            if not lo <= values[key] <= hi:
                raise CalibrationError(f"gripper: {key} {values[key]} is outside {lo}..{hi}")
    return JointCalibration(
        name,
        values["id"],
        values["offset"],
        values["direction"],
        lo,
        hi,
        values.get("open"),
        values.get("closed"),
    )


def default_calibration() -> Calibration:
    """Ids 1..6 in joint order, zero at 2048, ranges of +-140 degrees (the emulator's arm; a
    real arm needs `robot-llm calibrate so101`)."""
    arm = tuple(JointCalibration(n, i + 1, 2048, 1, 455, 3641) for i, n in enumerate(ARM_JOINTS))
    return Calibration(arm, JointCalibration(GRIPPER, 6, 2048, 1, 1900, 3300, 3200, 2000))
