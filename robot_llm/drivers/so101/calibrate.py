"""`robot-llm calibrate so101 --port PORT --out FILE`: guided calibration of a real SO-101.

1. Every servo must answer (ids 1..6 in joint order unless `--ids` says otherwise).
2. Torque off; the user moves the arm to its middle pose (the pose the robot description calls
   zero) and presses Enter. Each servo's homing offset is written so that this pose reads 2048,
   the middle of a turn: no joint's range then crosses the encoder's wrap-around.
3. For each arm joint, the user moves it first in its positive direction (the prompt says which
   way the gripper then goes, from the URDF), then through its whole range, and presses Enter;
   the positions read meanwhile give the range, the first move gives the direction.
4. The gripper: closed, Enter; fully open, Enter.

The steps talk through a `Prompter` (the console, or lines fed by a test) and read the servos
over a `ServoBus` (the arm's port, or an emulated bus).
"""

from __future__ import annotations

import select
import sys
import time
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np

from robot_llm.drivers.so101 import protocol as p
from robot_llm.drivers.so101.bus import NoServo, ServoBus
from robot_llm.drivers.so101.calibration import (
    ARM_JOINTS,
    GRIPPER,
    Calibration,
    CalibrationError,
    JointCalibration,
)

MIDDLE = p.STEPS_PER_TURN // 2
MIN_MOVE = 100  # steps (about 9 degrees): less is not a move through a range
SAMPLE_S = 0.02


class Prompter(Protocol):
    def say(self, text: str) -> None: ...

    def wait_enter(self) -> None:
        """Block until the user presses Enter."""
        ...

    def enter_pressed(self, timeout: float) -> bool:
        """Whether Enter came within `timeout` seconds."""
        ...


class ConsolePrompter:
    """Prompts on stderr, Enter from stdin (a terminal or a pipe)."""

    def say(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def wait_enter(self) -> None:
        if not sys.stdin.readline():
            raise CalibrationError("the input ended before the calibration was done")

    def enter_pressed(self, timeout: float) -> bool:
        ready, _, _ = select.select([sys.stdin], [], [], timeout)
        if ready:
            self.wait_enter()
        return bool(ready)


def _direction_words(vector: np.ndarray) -> str:
    axis = int(np.argmax(np.abs(vector)))
    words = (
        ("forward, away from the base", "back, toward the base"),
        ("to the robot's left", "to the robot's right"),
        ("up", "down"),
    )[axis]
    return words[0] if vector[axis] > 0 else words[1]


def positive_hints(urdf: str | None) -> dict[str, str]:
    """For each arm joint, which way it turns when positive, from the URDF at the middle pose."""
    from robot_llm.drivers.so101.kinematics import So101Kinematics

    kinematics = So101Kinematics.load(urdf)
    tool, jac = kinematics.pose_and_jacobian(np.zeros(len(ARM_JOINTS)))
    hints = {}
    for i, name in enumerate(ARM_JOINTS[:-1]):
        hints[name] = f"so that the gripper moves {_direction_words(jac[:3, i])}"
    # The roll turns about the tool's approach axis (the tool frame's z): positive is
    # counter-clockwise seen against its axis, so clockwise seen from behind when the axis
    # points toward the tip.
    turn = "clockwise" if float(jac[3:, -1] @ tool[:3, 2]) > 0 else "counter-clockwise"
    hints[ARM_JOINTS[-1]] = f"{turn}, seen from behind the wrist looking toward the gripper's tip"
    return hints


def run(args: Any, ui: Prompter | None = None) -> Calibration:
    """The calibration that `robot-llm calibrate so101` measures (cli.py parses the arguments)."""
    hints = positive_hints(args.urdf)
    bus = ServoBus(args.port)
    try:
        return calibrate(bus, ui or ConsolePrompter(), args.ids, hints)
    finally:
        bus.close()


def calibrate(
    bus: ServoBus,
    ui: Prompter,
    ids: tuple[int, ...] = (1, 2, 3, 4, 5, 6),
    hints: dict[str, str] | None = None,
) -> Calibration:
    """The guided steps of the module docstring; the calibration they measured."""
    names = (*ARM_JOINTS, GRIPPER)
    by_name = dict(zip(names, ids, strict=True))
    for name, servo_id in by_name.items():
        try:
            bus.ping(servo_id)
        except NoServo:
            raise CalibrationError(
                f"no servo answers at id {servo_id} ({name}) on {bus.port_name}"
            ) from None
    bus.torque(list(ids), on=False)
    ui.say("Torque is off. Move the arm to its middle pose (docs/so101.md) and press Enter.")
    ui.wait_enter()
    for servo_id in ids:
        _center(bus, servo_id)
    middle = _positions(bus, ids)
    joints = []
    for name in ARM_JOINTS:
        servo_id = by_name[name]
        hint = (hints or {}).get(name, "in its positive direction")
        ui.say(
            f"Move {name} first {hint}, then through its whole range, back to the middle, and "
            "press Enter."
        )
        lo, hi, first = _sweep(bus, servo_id, middle[servo_id], ui)
        if hi - lo < MIN_MOVE or first == 0:
            raise CalibrationError(f"{name} did not move through a range; calibrate again")
        joints.append(JointCalibration(name, servo_id, middle[servo_id], first, lo, hi))
    grip = by_name[GRIPPER]
    ui.say("Close the gripper and press Enter.")
    ui.wait_enter()
    closed = _positions(bus, (grip,))[grip]
    ui.say("Open the gripper fully and press Enter.")
    ui.wait_enter()
    opened = _positions(bus, (grip,))[grip]
    if abs(opened - closed) < MIN_MOVE:
        raise CalibrationError("the gripper did not open; calibrate again")
    gripper = JointCalibration(
        GRIPPER, grip, closed, 1, min(opened, closed), max(opened, closed), opened, closed
    )
    return Calibration(tuple(joints), gripper)


def _center(bus: ServoBus, servo_id: int) -> None:
    """Write the homing offset that makes the present position read MIDDLE."""
    bus.write(servo_id, p.LOCK[0], b"\x00")
    bus.write(servo_id, p.HOMING_OFFSET[0], p.u16(0))
    raw = bus.read_u16(servo_id, p.PRESENT_POSITION)
    offset = raw - MIDDLE
    bus.write(servo_id, p.HOMING_OFFSET[0], p.u16(p.from_signed(offset, p.OFFSET_SIGN_BIT)))
    bus.write(servo_id, p.LOCK[0], b"\x01")


def _positions(bus: ServoBus, ids: tuple[int, ...]) -> dict[int, int]:
    return {i: f.position for i, f in bus.sync_read_feedback(list(ids)).items()}


def _sweep(bus: ServoBus, servo_id: int, middle: int, ui: Prompter) -> tuple[int, int, int]:
    """Read one servo until Enter: lowest and highest steps, and the sign of the first move."""
    lo = hi = middle
    first = 0
    while not ui.enter_pressed(SAMPLE_S):
        steps = _positions(bus, (servo_id,))[servo_id]
        lo, hi = min(lo, steps), max(hi, steps)
        if first == 0 and abs(steps - middle) >= MIN_MOVE:
            first = 1 if steps > middle else -1
    return lo, hi, first


class ScriptedPrompter:
    """A Prompter fed by a script, for tests: each entry is a line (an Enter) or a callable run
    while the steps read the servos (a hand moving a joint); `said` keeps the prompts."""

    def __init__(self, script: list[Any]) -> None:
        self._script: Iterator[Any] = iter(script)
        self.said: list[str] = []

    def say(self, text: str) -> None:
        self.said.append(text)

    def _next_line(self) -> bool:
        for item in self._script:
            if callable(item):
                item()
                return False
            return True
        raise CalibrationError("the input ended before the calibration was done")

    def wait_enter(self) -> None:
        while not self._next_line():
            pass

    def enter_pressed(self, timeout: float) -> bool:
        time.sleep(min(timeout, 0.005))
        return self._next_line()
