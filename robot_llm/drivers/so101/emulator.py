"""An emulated Feetech servo bus on a pseudo-terminal: the SO-101 without the arm.

    with EmulatedBus() as bus:               # six STS3215 servos, ids 1..6
        port = bus.path                      # /dev/pts/N: open it like the arm's serial port
        bus.servo(3).position                # where servo 3 is now (steps)
        bus.silence(3)                       # fault injection, see the methods below

A thread answers the real packet protocol (protocol.py) from a register table per servo:
PING, READ, WRITE, SYNC_READ and SYNC_WRITE; packets with a bad checksum are ignored, as a
servo ignores them. Positions follow the goal position at the goal speed (or the servo's top
speed) while torque is on; with torque off they stay where they are, or where `move_by_hand`
puts them. EEPROM registers (below 40) are written only while LOCK is 0; the homing offset
shifts the position the servo reports.

From the command line it prints the pty's path and serves until Ctrl-C:

    python -m robot_llm.drivers.so101.emulator --calibration-out so101.json
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import sys
import termios
import threading
import time
import tty
from collections.abc import Iterable
from dataclasses import dataclass, field

from robot_llm.drivers.so101 import protocol as p

TOP_SPEED = 3000.0  # steps per second, about 4.6 rad/s: an STS3215 at 7.4 V without load
IDLE_S = 0.05  # the longest the serving thread sleeps without bytes (to notice close())


@dataclass
class EmulatedServo:
    """One STS3215: its register table and where its horn is."""

    servo_id: int
    raw: float = 2048.0  # horn angle in steps, before the homing offset
    regs: bytearray = field(default_factory=lambda: bytearray(p.REGISTER_COUNT))
    silent: bool = False
    errors: int = 0
    temperature: int = 32
    load: int = 0

    def __post_init__(self) -> None:
        r = self.regs
        r[p.MODEL_NUMBER[0] : p.MODEL_NUMBER[0] + 2] = p.u16(p.STS3215_MODEL)
        r[p.ID[0]] = self.servo_id
        r[p.MAX_POSITION_LIMIT[0] : p.MAX_POSITION_LIMIT[0] + 2] = p.u16(p.MAX_STEP)
        r[p.MAX_TEMPERATURE[0]] = 70
        r[p.TORQUE_LIMIT[0] : p.TORQUE_LIMIT[0] + 2] = p.u16(1000)
        r[p.LOCK[0]] = 1
        self.set_goal(self.position)

    def get(self, reg: tuple[int, int]) -> int:
        a, n = reg
        return self.regs[a] if n == 1 else p.from_u16(self.regs, a)

    @property
    def offset(self) -> int:
        return p.to_signed(self.get(p.HOMING_OFFSET), p.OFFSET_SIGN_BIT)

    @property
    def position(self) -> int:
        """The position the servo reports (steps, 0..4095)."""
        return round(self.raw - self.offset) % p.STEPS_PER_TURN

    @property
    def goal(self) -> int:
        return p.to_signed(self.get(p.GOAL_POSITION))

    @property
    def torque(self) -> bool:
        return bool(self.regs[p.TORQUE_ENABLE[0]])

    def set_goal(self, steps: int) -> None:
        self.regs[p.GOAL_POSITION[0] : p.GOAL_POSITION[0] + 2] = p.u16(p.from_signed(steps))

    def advance(self, dt: float) -> float:
        """Move toward the goal for `dt` seconds; the speed in steps per second."""
        if not self.torque or self.silent:
            return 0.0
        lo, hi = self.get(p.MIN_POSITION_LIMIT), self.get(p.MAX_POSITION_LIMIT)
        goal = min(max(self.goal, lo), hi)
        error = goal - (self.raw - self.offset)
        speed = p.to_signed(self.get(p.GOAL_SPEED)) or TOP_SPEED
        step = min(abs(error), abs(speed) * dt)
        self.raw += step if error > 0 else -step
        return (step if error > 0 else -step) / dt if dt > 0 else 0.0

    def feedback(self, speed: float) -> None:
        r = self.regs
        r[p.PRESENT_POSITION[0] : p.PRESENT_POSITION[0] + 2] = p.u16(self.position)
        r[p.PRESENT_SPEED[0] : p.PRESENT_SPEED[0] + 2] = p.u16(p.from_signed(round(speed)))
        r[p.PRESENT_LOAD[0] : p.PRESENT_LOAD[0] + 2] = p.u16(
            p.from_signed(self.load, p.LOAD_SIGN_BIT)
        )
        r[p.PRESENT_VOLTAGE[0]] = 74
        r[p.PRESENT_TEMPERATURE[0]] = self.temperature
        r[p.STATUS[0]] = self.errors
        r[p.MOVING[0]] = 1 if abs(speed) > 1 else 0

    def write(self, address: int, data: bytes) -> None:
        for i, value in enumerate(data):
            a = address + i
            if a >= p.REGISTER_COUNT or a in (p.MODEL_NUMBER[0], p.MODEL_NUMBER[0] + 1):
                continue
            if a < p.TORQUE_ENABLE[0] and self.regs[p.LOCK[0]]:
                continue  # EEPROM is locked
            if p.PRESENT_POSITION[0] <= a < p.REGISTER_COUNT and a != p.LOCK[0]:
                continue  # read-only feedback
            self.regs[a] = value


class EmulatedBus:
    """Servos on a pseudo-terminal; `path` is the port to open. See the module docstring."""

    def __init__(
        self, ids: Iterable[int] = range(1, 7), positions: dict[int, int] | None = None
    ) -> None:
        self.servos = {i: EmulatedServo(i) for i in ids}
        for i, steps in (positions or {}).items():
            self.servos[i].raw = float(steps)
            self.servos[i].set_goal(steps)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        attrs = termios.tcgetattr(self._slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(self._slave, termios.TCSANOW, attrs)
        self.path = os.ttyname(self._slave)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._buffer = bytearray()
        self._last = time.monotonic()
        self._speeds = dict.fromkeys(self.servos, 0.0)
        self._corrupt: list[int | None] = []  # fault injection queues: servo id or None (any)
        self._drop: list[int | None] = []
        self._delay: list[tuple[int | None, float]] = []
        self._pending: list[tuple[float, bytes]] = []  # late answers: (send at, bytes)
        self.packets = 0  # instruction packets served
        self.bad_packets = 0  # packets ignored for a bad checksum

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> EmulatedBus:
        self._thread = threading.Thread(target=self._serve, name="so101-emulator", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> EmulatedBus:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the servos and fault injection ---------------------------------------------------------
    def servo(self, servo_id: int) -> EmulatedServo:
        return self.servos[servo_id]

    def positions(self) -> dict[int, int]:
        with self._lock:
            self._advance()
            return {i: s.position for i, s in self.servos.items()}

    def goals(self) -> dict[int, int]:
        with self._lock:
            return {i: s.goal for i, s in self.servos.items()}

    def move_by_hand(self, servo_id: int, steps: int) -> None:
        """Put a servo's reported position at `steps`, as a hand moving the arm would."""
        with self._lock:
            s = self.servos[servo_id]
            s.raw = float(steps + s.offset)

    def silence(self, servo_id: int, silent: bool = True) -> None:
        """The servo stops answering and hears nothing (a cut cable, a dead servo)."""
        with self._lock:
            self.servos[servo_id].silent = silent

    def set_errors(self, servo_id: int, bits: int) -> None:
        """Error bits (protocol.ERR_*) the servo reports from now on, e.g. ERR_OVERLOAD."""
        with self._lock:
            self.servos[servo_id].errors = bits

    def corrupt_answers(self, count: int, servo_id: int | None = None) -> None:
        """The next `count` answers (of `servo_id`, or of any servo) carry a wrong checksum."""
        with self._lock:
            self._corrupt += [servo_id] * count

    def drop_answers(self, count: int, servo_id: int | None = None) -> None:
        """The next `count` answers are not sent."""
        with self._lock:
            self._drop += [servo_id] * count

    def delay_answers(self, count: int, seconds: float, servo_id: int | None = None) -> None:
        """The next `count` answers come `seconds` late (after the host stopped waiting)."""
        with self._lock:
            self._delay += [(servo_id, seconds)] * count

    def clear_faults(self) -> None:
        """Every servo answers again without error bits; nothing corrupt, dropped or late."""
        with self._lock:
            for s in self.servos.values():
                s.silent, s.errors = False, 0
            self._corrupt.clear()
            self._drop.clear()
            self._delay.clear()

    # -- serving --------------------------------------------------------------------------------
    def _serve(self) -> None:
        """Wait for bytes (or a late answer's time); motion is brought up to date on each wake."""
        while not self._stop.is_set():
            timeout = IDLE_S
            with self._lock:
                if self._pending:
                    timeout = max(0.0, min(timeout, self._pending[0][0] - time.monotonic()))
            try:
                ready, _, _ = select.select([self._master], [], [], timeout)
                data = os.read(self._master, 4096) if ready else b""
            except OSError:
                return
            with self._lock:
                self._advance()
                self._buffer += data
                self._handle_buffer()
                self._send_due()

    def _advance(self) -> None:
        now = time.monotonic()
        dt, self._last = now - self._last, now
        for i, s in self.servos.items():
            self._speeds[i] = s.advance(dt)

    def _handle_buffer(self) -> None:
        buf = self._buffer
        while True:
            start = buf.find(p.HEADER)
            if start < 0:
                del buf[: max(0, len(buf) - 1)]
                return
            del buf[:start]
            if len(buf) < 4:
                return
            end = 4 + buf[3]
            if len(buf) < end:
                return
            raw = bytes(buf[:end])
            try:
                packet = p.decode(raw)
            except p.PacketError:
                self.bad_packets += 1
                del buf[:2]  # a servo ignores it and looks for the next header
                continue
            del buf[:end]
            self.packets += 1
            self._handle(packet)

    def _handle(self, packet: p.Packet) -> None:
        code, params, target = packet.code, packet.params, packet.servo_id
        if code == p.SYNC_WRITE and len(params) >= 2:
            address, size = params[0], params[1]
            for k in range(2, len(params) - size, size + 1):
                s = self.servos.get(params[k])
                if s is not None and not s.silent:
                    s.write(address, params[k + 1 : k + 1 + size])
            return
        if code == p.SYNC_READ and len(params) >= 2:
            address, size = params[0], params[1]
            for servo_id in params[2:]:
                self._answer(servo_id, self._registers(servo_id, address, size))
            return
        s = self.servos.get(target)
        if s is None or s.silent:
            return
        if code == p.PING:
            self._answer(target, b"")
        elif code == p.READ and len(params) == 2:
            self._answer(target, self._registers(target, params[0], params[1]))
        elif code == p.WRITE and params:
            s.write(params[0], params[1:])
            self._answer(target, b"")

    def _registers(self, servo_id: int, address: int, size: int) -> bytes | None:
        s = self.servos.get(servo_id)
        if s is None or s.silent or address + size > p.REGISTER_COUNT:
            return None
        s.feedback(self._speeds[servo_id])
        return bytes(s.regs[address : address + size])

    @staticmethod
    def _take(queue: list[int | None], servo_id: int) -> bool:
        """Remove the first entry meant for this servo (or for any); whether there was one."""
        for k, who in enumerate(queue):
            if who is None or who == servo_id:
                del queue[k]
                return True
        return False

    def _answer(self, servo_id: int, data: bytes | None) -> None:
        s = self.servos.get(servo_id)
        if data is None or s is None or s.silent:
            return
        if self._take(self._drop, servo_id):
            return
        packet = bytearray(p.status(servo_id, s.errors, data))
        if self._take(self._corrupt, servo_id):
            packet[-1] ^= 0x5A
        for k, (who, seconds) in enumerate(self._delay):
            if who is None or who == servo_id:
                del self._delay[k]
                self._pending.append((time.monotonic() + seconds, bytes(packet)))
                self._pending.sort()
                return
        self._write(bytes(packet))

    def _send_due(self) -> None:
        now = time.monotonic()
        while self._pending and self._pending[0][0] <= now:
            self._write(self._pending.pop(0)[1])

    def _write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            os.write(self._master, data)


# -- command line ---------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m robot_llm.drivers.so101.emulator",
        description="An emulated SO-101 servo bus on a pseudo-terminal; prints its path.",
    )
    parser.add_argument(
        "--calibration-out",
        metavar="FILE",
        help="write a calibration file that fits the emulated arm (servos at 2048 = joint 0)",
    )
    parser.add_argument(
        "--start",
        default="home",
        help="where the servos start: home (the driver's home pose, from the URDF), middle "
        "(2048 each), or six comma-separated steps (default home)",
    )
    parser.add_argument("--urdf", metavar="FILE", help="the arm's URDF (default: the bundled one)")
    args = parser.parse_args(argv)
    from robot_llm.drivers.so101.calibration import Calibration, default_calibration

    calibration = default_calibration()
    try:
        positions = _start_positions(args.start, calibration, args.urdf)
    except ValueError as err:
        print(f"emulator: error: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    if args.calibration_out:
        Calibration.save(calibration, args.calibration_out)
    bus = EmulatedBus(positions=positions).start()
    print(bus.path, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        bus.close()
    return 0


def _start_positions(start: str, calibration: object, urdf: str | None) -> dict[int, int]:
    from robot_llm.drivers.so101.calibration import Calibration

    assert isinstance(calibration, Calibration)
    ids = [j.servo_id for j in calibration.all_joints()]
    if start == "middle":
        return dict.fromkeys(ids, 2048)
    if start == "home":
        from robot_llm.drivers.so101.kinematics import So101Kinematics

        kin = So101Kinematics.load(urdf)
        return calibration.steps_for(kin.home(), 1.0)
    try:
        values = [int(v) for v in start.split(",")]
    except ValueError:
        raise ValueError(f"--start {start!r}: expected home, middle or six steps") from None
    if len(values) != len(ids):
        raise ValueError(f"--start: expected {len(ids)} steps, got {len(values)}")
    return dict(zip(ids, values, strict=True))


if __name__ == "__main__":
    sys.exit(main())
