"""The server's control core: modes, the control lease, the watchdog and the control loop.

One client at a time holds control (its hello asked for it); only its commands reach the arm.
The loop ticks at the driver's control rate: it applies the latest supervised command (latest
wins within a period), or holds. Modes, by priority:

- "estopped": an e-stop RPC latched it; only a reset RPC clears it;
- "fault": the driver failed or the arm left the workspace; only a reset clears it;
- "holding": a hold RPC latched it (resume or reset clears it, hold_reason "request"), nobody
  holds control ("idle"), or the controller sent nothing for the watchdog timeout ("watchdog";
  its next command or heartbeat clears it);
- "ok": a live controller's commands are applied.

Leaving "ok" halts the arm (Driver.stop), so it holds where it is: at once for an RPC, and when
the watchdog's time runs out (the control thread wakes for it between ticks). Reports show a
mode other than "ok" only once that halt has landed.

The control lease is bound to the peer that said hello (its CURVE key, or its address) and, from
its first command or heartbeat, to that command connection: a session number alone is no
credential.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass

import numpy as np

from robot_llm.bridge.driver import Driver
from robot_llm.bridge.limits import SafetyLimits
from robot_llm.bridge.messages import Ack, Command, EETarget, JointTarget, StateReport
from robot_llm.bridge.protocol import LEASE_ELSEWHERE
from robot_llm.bridge.supervisor import Reference, Supervisor
from robot_llm.robots.base import Applied
from robot_llm.types import RobotState

log = logging.getLogger("robot_llm.bridge.server")


class ControlRefused(Exception):
    """A request the control core turns down; `code` goes into the error reply."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Peer:
    """Who sent a request: the connection (ROUTER routing id) and the peer's credential (its
    CURVE public key, or its address without CURVE)."""

    connection: bytes
    credential: str


@dataclass
class Lease:
    session: int
    client: str
    last_seen: float
    credential: str
    connection: bytes | None = None  # bound by the first command or heartbeat after hello


class ArmControl:
    """State shared by the server's I/O thread (requests) and its control thread (ticks)."""

    def __init__(self, driver: Driver, limits: SafetyLimits) -> None:
        self.driver = driver
        self.robot = driver.describe()
        self.limits = limits
        self.supervisor = Supervisor(limits, self.robot, driver.forward_kinematics)
        self.period = 1.0 / self.robot.control_hz
        self._lock = threading.Lock()  # guards the fields below; held briefly
        self._driver_lock = threading.RLock()  # one driver call at a time, decisions included
        self.estopped = False
        self.fault = ""
        self.hold_requested = False
        self.last_error = ""
        self.lease: Lease | None = None
        self.latest: Command | None = None
        self.epoch = 0
        self.tick = 0
        self.next_tick = time.monotonic()
        self.halted = True
        state = driver.read_state()
        self.state = state
        self.ref = self._reference(state)

    # -- requests (I/O thread) ------------------------------------------------------------------
    def hello(self, client: str, control: bool, reclaim: int, peer: Peer) -> int:
        """A session id; with `control`, the lease too, unless a live client holds it. Taking a
        lease back (`reclaim`) needs the peer that got it, and rebinds its command connection."""
        now = time.monotonic()
        with self._lock:
            lease = self.lease
            if not control:
                return secrets.randbits(62) + 1
            if lease is not None and reclaim == lease.session:
                if peer.credential != lease.credential:
                    raise ControlRefused(
                        "control", f"session {reclaim} was given to another peer; say hello anew"
                    )
                lease.last_seen, lease.client, lease.connection = now, client, None
                return lease.session
            if lease is not None and self._live(lease, now):
                raise ControlRefused(
                    "control",
                    f"control is held by {lease.client!r}; it is released when that client "
                    "says bye or stays silent for the watchdog timeout",
                )
            self.lease = Lease(secrets.randbits(62) + 1, client, now, peer.credential)
            log.info("client %r takes control", client)
            return self.lease.session

    def bye(self, session: int, peer: Peer) -> None:
        with self._lock:
            lease = self.lease
            if lease is None or lease.session != session:
                return
            if peer.credential != lease.credential:
                raise ControlRefused("control", "bye for a session held by another peer")
            log.info("client %r releases control", lease.client)
            self.lease = None

    def submit(self, session: int, command: Command | None, peer: Peer) -> Ack | None:
        """Check a command (None: a heartbeat) from `session` and make it the latest."""
        now = time.monotonic()
        with self._lock:
            lease = self.lease
            if lease is None or lease.session != session:
                raise ControlRefused(
                    "control", "this session does not hold control: send hello with control"
                )
            if peer.credential != lease.credential:
                raise ControlRefused("control", "this session is held by another peer")
            if lease.connection is None:
                lease.connection = peer.connection
            elif lease.connection != peer.connection:
                raise ControlRefused(
                    "control",
                    f"this session is {LEASE_ELSEWHERE}; say hello with the session to "
                    "move it to this one",
                )
            lease.last_seen = now
            if command is None:
                return None
            mode, _ = self._mode(now)
            ref = self.ref
            joints: tuple[float, ...] = ()
            if mode != "ok":
                applied = Applied(ref.position, ref.yaw, ref.gripper, (), mode)
            elif isinstance(command, EETarget):
                cmd, clipped = self.supervisor.check_ee(command, ref)
                self.latest = cmd
                applied = Applied(cmd.position, cmd.yaw, cmd.gripper, clipped)
            elif isinstance(command, JointTarget):
                jcmd, clipped = self.supervisor.check_joints(command, ref)
                self.latest = jcmd
                joints = tuple(float(v) for v in jcmd.positions)
                applied = Applied(ref.position, ref.yaw, jcmd.gripper, clipped)
            else:
                self.latest = None
                applied = Applied(ref.position, ref.yaw, ref.gripper)
            return Ack(applied, self.epoch, max(0.0, self.next_tick - now), joints)

    def estop(self, who: str) -> None:
        with self._driver_lock:
            with self._lock:
                self.estopped = True
                self.last_error = f"e-stop by {who}"
            log.warning("E-STOP by %s: the arm holds until a reset", who)
            self._halt()

    def request_hold(self, who: str) -> bool:
        """Latch a hold and halt the arm; whether the driver halted it."""
        with self._driver_lock:
            with self._lock:
                self.hold_requested = True
            log.info("hold requested by %s", who)
            return self._halt()

    def resume(self) -> None:
        with self._lock:
            if self.estopped or self.fault:
                what = "an e-stop" if self.estopped else f"a fault ({self.fault})"
                raise ControlRefused("latched", f"{what} is latched: send reset first")
            self.hold_requested = False

    def reset(self, who: str) -> None:
        """Clear the latches, after restarting what of the driver has died (`recover`, where a
        driver has it); when that fails the fault stays, saying why."""
        with self._driver_lock:
            recover = getattr(self.driver, "recover", None)
            if callable(recover):
                try:
                    recover()
                except Exception as err:
                    message = f"reset could not recover the driver: {err}"
                    log.error("%s; the arm stays in fault", message)
                    with self._lock:
                        self.fault, self.last_error = message, message
                    return
            with self._lock:
                self.estopped, self.fault, self.hold_requested = False, "", False
                self.last_error = ""
            log.warning("reset by %s: latches cleared", who)
            self._halt()

    # -- the control loop -----------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Tick at the control rate until `stop` is set; the arm is halted on the way out."""
        deadline = time.monotonic()
        while not stop.is_set():
            self.step()
            deadline += self.period
            now = time.monotonic()
            if now > deadline + self.period:
                log.debug("control tick overran by %.1f ms", (now - deadline) * 1e3)
                deadline = now
            with self._lock:
                self.next_tick = deadline
            self._wait_for_tick(deadline, stop)
        with self._driver_lock:
            self._halt()

    def _wait_for_tick(self, deadline: float, stop: threading.Event) -> None:
        """Sleep until `deadline`, halting the arm on the way the moment the watchdog expires
        (not at the next tick), so the hold lands within the watchdog timeout."""
        while True:
            with self._lock:
                lease = self.lease
                expiry = lease.last_seen + self.limits.watchdog_s if lease else deadline
                wake = deadline if self.halted else min(deadline, expiry)
            if stop.wait(max(0.0, wake - time.monotonic())) or wake >= deadline:
                return
            with self._driver_lock:
                self._enforce_mode(time.monotonic())

    def _enforce_mode(self, now: float) -> tuple[str, Command | None]:
        """Halt the arm if the mode has left "ok" since the last halt; the mode and the command
        to apply now (caller holds the driver lock)."""
        with self._lock:
            mode, reason = self._mode(now)
            must_halt = mode != "ok" and not self.halted
            command = self.latest if mode == "ok" else None
            if mode == "ok":
                self.halted = False
            lease = self.lease
        if must_halt:
            if reason == "watchdog" and lease is not None:
                log.warning(
                    "watchdog: nothing from %r for %.0f ms; the arm holds",
                    lease.client,
                    (now - lease.last_seen) * 1e3,
                )
            self._halt()
        return mode, command

    def step(self) -> None:
        """One control tick."""
        with self._driver_lock:
            mode, command = self._enforce_mode(time.monotonic())
            before = self.state
            try:
                if isinstance(command, EETarget):
                    position = np.asarray(command.position, dtype=float)
                    self.driver.write_ee(position, command.yaw, command.gripper)
                elif isinstance(command, JointTarget):
                    self.driver.write_joints(command.positions, command.gripper)
                else:
                    self.driver.hold()
                state = self.driver.read_state()
                ee_target = self.driver.ee_target() if isinstance(command, JointTarget) else None
            except Exception as err:  # any driver failure latches a fault and stops the arm
                self._fail(f"driver: {type(err).__name__}: {err}")
                return
            with self._lock:
                self.state = state
                self.tick += 1
                if isinstance(command, EETarget):
                    self.ref = Reference(
                        command.position,
                        command.yaw,
                        command.gripper,
                        np.asarray(state.joint_positions),
                    )
                elif isinstance(command, JointTarget) and ee_target is not None:
                    self.ref = Reference(
                        _xyz(ee_target[0]),
                        float(ee_target[1]),
                        command.gripper,
                        command.positions,
                    )
            if mode in ("ok", "holding") and self.supervisor.moved_out(
                np.asarray(before.ee_position), np.asarray(state.ee_position)
            ):
                where = ", ".join(f"{v:.3f}" for v in state.ee_position)
                self._fail(f"the end effector moved out of the workspace box to [{where}]")

    # -- reports --------------------------------------------------------------------------------
    def report(self, server: str) -> StateReport:
        with self._lock:
            mode, reason = self._shown_mode(time.monotonic())
            s = self.state
            state = RobotState(
                s.joint_positions,
                s.joint_velocities,
                s.ee_position,
                s.ee_orientation,
                s.gripper_width,
                s.timestamp,
                mode,
                self.last_error,
            )
            r = self.ref
            return StateReport(
                state, r.position, r.yaw, r.gripper, self.epoch, reason, server, self.tick
            )

    def mode(self) -> tuple[str, str]:
        """The mode as reports show it (see `_shown_mode`)."""
        with self._lock:
            return self._shown_mode(time.monotonic())

    # -- internals ------------------------------------------------------------------------------
    def _live(self, lease: Lease, now: float) -> bool:
        return now - lease.last_seen <= self.limits.watchdog_s

    def _mode(self, now: float) -> tuple[str, str]:
        if self.estopped:
            return "estopped", ""
        if self.fault:
            return "fault", ""
        if self.hold_requested:
            return "holding", "request"
        if self.lease is None:
            return "holding", "idle"
        if not self._live(self.lease, now):
            return "holding", "watchdog"
        return "ok", ""

    def _shown_mode(self, now: float) -> tuple[str, str]:
        """The mode that is true of the arm: a latch whose halt has not landed yet (the watchdog
        waits for the next tick) still shows "ok", with the epoch before the halt."""
        mode, reason = self._mode(now)
        if mode != "ok" and not self.halted:
            return "ok", ""
        return mode, reason

    def _reference(self, state: RobotState) -> Reference:
        pos, yaw = self.driver.ee_target()
        width = self.robot.max_gripper_width
        gripper = min(max(state.gripper_width / width, 0.0), 1.0) if width > 0 else 0.0
        return Reference(_xyz(pos), float(yaw), gripper, np.asarray(state.joint_positions))

    def _halt(self) -> bool:
        """Stop the arm where it is and make that the target (caller holds the driver lock);
        whether the driver did."""
        try:
            self.driver.stop()
            state = self.driver.read_state()
            ref = self._reference(state)
        except Exception as err:  # a driver that cannot even stop: report it loudly
            log.error("driver failed to stop: %s", err)
            with self._lock:
                self.fault = self.fault or f"driver failed to stop: {err}"
                self.last_error = self.fault
                self.latest, self.halted = None, True
                self.epoch += 1
            return False
        with self._lock:
            ref.gripper = self.ref.gripper
            self.ref, self.state = ref, state
            self.latest, self.halted = None, True
            self.epoch += 1
        return True

    def _fail(self, message: str) -> None:
        with self._lock:
            repeated = message == self.fault  # a driver that keeps failing: say it once
            self.fault = message
            self.last_error = message
            halted = self.halted
        if repeated and halted:
            return
        log.error("fault: %s; the arm holds until a reset", message)
        self._halt()


def _xyz(v: np.ndarray) -> tuple[float, float, float]:
    return (float(v[0]), float(v[1]), float(v[2]))
