"""`So101Driver`: the SO-101 arm on its servo bus, as the bridge server drives it.

    robot-llm bridge serve --driver so101 --driver-option port=/dev/ttyACM0 \\
        --driver-option calibration=so101.json --camera uvc:0 --camera-calibration cam.yaml

Each control period is one sync write of the six goal positions (when a target is written)
and one sync read of the six servos' feedback (position, speed, load, voltage, temperature,
status); `read_state` returns what that read found, so camera threads never touch the bus.

Joint angles, the tool frame, the base's place on the table, the home pose and the jaw's
opening follow the robot description the simulator uses (kinematics.py); `base=x,y,z` puts the
base elsewhere in the table frame. `gripper` 0..1 opens the gap between the jaws linearly, as
in simulation; the calibration's closed and open steps are the jaw's closed and open angles.

Faults: a servo that stops answering (after the bus's retries), or one that reports an error bit
(overload, overheat, overcurrent, voltage, position sensor), raises DriverError from the control
call that found it. The server then latches a fault and calls `stop()`: every servo that still
answers holds its measured position with torque on (the faulty one too, when it answers: it
stops pushing). Until a `reset` finds every servo answering without error bits (`recover`), no
target reaches the bus. The arm has no camera: `bridge serve --camera SPEC` adds one.
"""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

from robot_llm.bridge.description import JointSpec, RobotDescription
from robot_llm.bridge.driver import DriverError
from robot_llm.drivers.so101 import protocol as p
from robot_llm.drivers.so101.bus import BusError, NoServo, ServoBus
from robot_llm.drivers.so101.calibration import Calibration
from robot_llm.drivers.so101.kinematics import So101Kinematics, quaternion
from robot_llm.errors import InputError
from robot_llm.types import CameraFrame, RobotState

FAULT_REFRESH_S = 0.5  # while faulted, how often hold() reads the servos that still answer


class So101InputError(InputError):
    """A driver option or the arm's setup cannot be used; one line naming it."""


def _number(value: float | str, option: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise So101InputError(f"so101 driver option {option}: {value!r} is not a number") from None
    if not low <= number <= high:
        raise So101InputError(f"so101 driver option {option}: {number} is outside {low}..{high}")
    return number


def _base(text: str | None) -> tuple[float, float, float] | None:
    if text is None:
        return None
    try:
        x, y, z = (float(v) for v in text.split(","))
    except ValueError:
        raise So101InputError(f"so101 driver option base: {text!r} is not x,y,z") from None
    return (x, y, z)


class So101Driver:
    """A Driver for the SO-101 (docs/so101.md). Options are strings from the command line."""

    def __init__(
        self,
        *,
        port: str = "/dev/ttyACM0",
        calibration: str | None = None,
        urdf: str | None = None,
        control_hz: float | str = 50.0,
        timeout_ms: float | str = 20.0,
        retries: int | str = 2,
        base: str | None = None,
        baudrate: int | str = p.DEFAULT_BAUDRATE,
    ) -> None:
        if calibration is None:
            raise So101InputError(
                "the so101 driver needs --driver-option calibration=FILE "
                "(made by robot-llm calibrate so101)"
            )
        self.calibration = Calibration.load(calibration)
        hz = _number(control_hz, "control_hz", 1.0, 500.0)
        timeout = _number(timeout_ms, "timeout_ms", 1.0, 1000.0) / 1000.0
        tries = int(_number(retries, "retries", 0, 10))
        kinematics = So101Kinematics.load(urdf, _base(base))
        lows, highs = zip(*(j.limits() for j in self.calibration.joints), strict=True)
        self.kinematics = kinematics.with_limits(np.array(lows), np.array(highs))
        self._jaw = kinematics.description.gripper
        self.port = port
        self.ids = self.calibration.ids
        self._names = {j.servo_id: j.name for j in self.calibration.all_joints()}
        self.bus = ServoBus(port, int(_number(baudrate, "baudrate", 9600, 1e6)), timeout, tries)
        try:
            self._check_servos()
            self._lock = threading.RLock()
            self._t0 = time.monotonic()
            self.cycle_times: deque[float] = deque(maxlen=10_000)  # seconds of bus per period
            self._fault = ""
            self._next_refresh = 0.0
            self._feedback = self._read_all()
            bad = self._errors(self._feedback)
            if bad:
                raise So101InputError(f"{bad} on {port}: fix it before serving the arm")
            measured = self._measured_goals()
            self.bus.sync_write_goals(measured)  # hold where it is before the torque comes on
            self.bus.torque(self.ids, on=True)
            self._goals = dict(measured)
            self._q_target = self.calibration.angles(self._positions())
            self._yaw_target = self._yaw(self._q_target)
            self._ee_target = self.kinematics.fk(self._q_target)
            self._state = self._make_state()
        except BaseException:
            self.bus.close()
            raise
        k = self.kinematics
        self._description = RobotDescription(
            name="so101",
            joints=tuple(
                JointSpec(n, float(lo), float(hi), float(v))
                for n, lo, hi, v in zip(k.names, k.lower, k.upper, k.velocity, strict=True)
            ),
            control_hz=hz,
            home=tuple(float(v) for v in k.home()),
            max_gripper_width=float(self._jaw.max_width),
            cameras=(),
        )

    # -- Driver ---------------------------------------------------------------------------------
    def describe(self) -> RobotDescription:
        return self._description

    def read_state(self) -> RobotState:
        with self._lock:
            return self._state

    def ee_target(self) -> tuple[np.ndarray, float]:
        with self._lock:
            return self._ee_target.copy(), self._yaw_target

    def forward_kinematics(self, positions: np.ndarray) -> np.ndarray:
        return self.kinematics.fk(np.asarray(positions, dtype=float))

    def write_ee(self, position: np.ndarray, yaw: float, gripper: float) -> None:
        with self._lock:
            self._refuse_while_faulted()
            q = self.kinematics.ik(np.asarray(position, dtype=float), float(yaw), self._q_target)
            self._track(q, gripper)
            self._ee_target = np.asarray(position, dtype=float).copy()
            self._yaw_target = float(yaw)

    def write_joints(self, positions: np.ndarray, gripper: float) -> None:
        with self._lock:
            self._refuse_while_faulted()
            q = np.clip(
                np.asarray(positions, dtype=float), self.kinematics.lower, self.kinematics.upper
            )
            self._track(q, gripper)
            self._ee_target = self.kinematics.fk(q)
            self._yaw_target = self._yaw(q)

    def hold(self) -> None:
        with self._lock:
            if self._fault:  # read what still answers, now and then: the state stays live
                now = time.monotonic()
                if now >= self._next_refresh:
                    self._next_refresh = now + FAULT_REFRESH_S
                    self._refresh_answering()
                return
            self._cycle(None)

    def stop(self) -> None:
        """Hold the measured pose with torque on (the gripper keeps its goal, so its grip)."""
        with self._lock:
            answering = self._refresh_answering()
            gripper = self.calibration.gripper.servo_id
            goals = {
                i: (self._goals[i] if i == gripper and not self._fault else steps)
                for i, steps in self._measured_goals().items()
                if i in answering
            }
            try:
                self.bus.sync_write_goals(goals)
                self.bus.torque(sorted(goals), on=True)
            except BusError as err:
                raise DriverError(f"so101 on {self.port}: cannot hold: {err}") from None
            self._goals.update(goals)
            self._q_target = self.calibration.angles(self._positions())
            self._ee_target = self.kinematics.fk(self._q_target)
            self._yaw_target = self._yaw(self._q_target)

    def capture(self, camera: str) -> CameraFrame:
        raise DriverError(
            "the SO-101 has no camera of its own; serve one with "
            "`robot-llm bridge serve --camera SPEC` (docs/cameras.md)"
        )

    def close(self) -> None:
        self.bus.close()

    def recover(self) -> None:
        """For the `reset` RPC: every servo must answer without error bits; then hold."""
        with self._lock:
            try:
                feedback = self._read_all()
            except BusError as err:
                raise DriverError(f"so101: {err}") from None
            bad = self._errors(feedback)
            if bad:
                raise DriverError(bad)
            self._feedback = feedback
            self._fault = ""
            self.stop()
            self._state = self._make_state()

    # -- internals ------------------------------------------------------------------------------
    def _check_servos(self) -> None:
        """Every servo of the calibration answers and is an STS3215; else one line."""
        for servo_id in self.ids:
            name = self._names[servo_id]
            try:
                self.bus.ping(servo_id)
                model = self.bus.read_u16(servo_id, p.MODEL_NUMBER)
            except NoServo:
                raise So101InputError(
                    f"no servo answers at id {servo_id} ({name}) on {self.port}"
                ) from None
            if model != p.STS3215_MODEL:
                raise So101InputError(
                    f"servo id {servo_id} ({name}) on {self.port} is model {model}, "
                    f"not an STS3215 ({p.STS3215_MODEL})"
                )

    def _refuse_while_faulted(self) -> None:
        if self._fault:
            raise DriverError(f"{self._fault}; send reset once it is fixed")

    def _track(self, q: np.ndarray, gripper: float) -> None:
        self._q_target = q
        self._cycle(self.calibration.steps_for(q, self._jaw_travel(gripper)))

    def _jaw_travel(self, opening: float) -> float:
        """The share of the jaw's travel (0 closed .. 1 the calibrated open) that opens the gap
        to `opening` (0..1) of the widest, as the simulated arm opens it."""
        jaw = self._jaw
        angle = jaw.position_for(min(max(opening, 0.0), 1.0) * jaw.max_width)
        return (angle - jaw.closed_position) / (jaw.open_position - jaw.closed_position)

    def _width(self, travel: float) -> float:
        jaw = self._jaw
        angle = jaw.closed_position + travel * (jaw.open_position - jaw.closed_position)
        return float(jaw.width([angle] * len(jaw.joints)))

    def _cycle(self, goals: dict[int, int] | None) -> None:
        """One period on the bus: the goals (if any) out, every servo's feedback in."""
        start = time.perf_counter()
        try:
            if goals is not None:
                self.bus.sync_write_goals(goals)
                self._goals.update(goals)
            feedback = self._read_all()
        except NoServo as err:
            self._fail(f"{self._name(err.servo_id)} stopped answering on {self.port}")
        except BusError as err:
            self._fail(f"so101 bus: {err}")
        self.cycle_times.append(time.perf_counter() - start)
        self._feedback = feedback
        self._state = self._make_state()
        bad = self._errors(feedback)
        if bad:
            self._fail(bad)

    def _fail(self, message: str) -> None:
        self._fault = message
        raise DriverError(message)

    def _read_all(self) -> dict[int, p.Feedback]:
        return self.bus.sync_read_feedback(self.ids)

    def _refresh_answering(self) -> set[int]:
        """Read every servo that answers (after a fault); the ids that did."""
        answering: set[int] = set()
        for servo_id in self.ids:
            try:
                packet = self.bus.sync_read([servo_id], p.FEEDBACK_START, p.FEEDBACK_SIZE)
            except BusError:
                continue
            self._feedback[servo_id] = p.Feedback.parse(
                packet[servo_id].params, packet[servo_id].code
            )
            answering.add(servo_id)
        if not self._fault:  # a healthy arm: every servo must have answered
            missing = [i for i in self.ids if i not in answering]
            if missing:
                self._fault = f"{self._name(missing[0])} stopped answering on {self.port}"
        self._state = self._make_state()
        return answering

    def _errors(self, feedback: dict[int, p.Feedback]) -> str:
        for servo_id, f in feedback.items():
            if f.errors:
                return f"{self._name(servo_id)}: {', '.join(p.error_names(f.errors))}"
        return ""

    def _name(self, servo_id: int) -> str:
        return f"servo id {servo_id} ({self._names.get(servo_id, '?')})"

    def _positions(self) -> dict[int, float]:
        return {i: float(f.position) for i, f in self._feedback.items()}

    def _measured_goals(self) -> dict[int, int]:
        """Goal steps that keep every servo where it is now."""
        return {i: int(f.position) for i, f in self._feedback.items()}

    def _yaw(self, q: np.ndarray) -> float:
        return self.kinematics.yaw(self.kinematics.pose(q)[:3, :3])

    def _make_state(self) -> RobotState:
        cal = self.calibration
        q = cal.angles(self._positions())
        speeds = [
            j.direction * self._feedback[j.servo_id].speed * 2 * np.pi / p.STEPS_PER_TURN
            for j in cal.joints
        ]
        pose = self.kinematics.pose(q)
        travel = cal.gripper.opening(self._feedback[cal.gripper.servo_id].position)
        ee = pose[:3, 3]
        return RobotState(
            tuple(float(v) for v in q),
            tuple(float(v) for v in speeds),
            (float(ee[0]), float(ee[1]), float(ee[2])),
            quaternion(pose[:3, :3]),
            self._width(travel),
            time.monotonic() - self._t0,
        )
