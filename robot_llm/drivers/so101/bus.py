"""The servo bus over a serial port: one host, many Feetech servos, half duplex.

    bus = ServoBus("/dev/ttyACM0")          # PortError: one line naming the port
    bus.ping(1)                             # the servo's error byte; NoServo when silent
    feedback = bus.sync_read_feedback([1, 2, 3, 4, 5, 6])
    bus.sync_write_goals({1: 2048, 2: 2100})
    bus.torque([1, 2, 3, 4, 5, 6], on=True)

Every answer is checked (header, length, checksum, id); a reply that is late, missing or
corrupt is asked for again (`retries` more times, `timeout` seconds each) before the servo is
called silent. Stale bytes (a reply that came after its time) are flushed before each request.
"""

from __future__ import annotations

import errno
import threading
import time

from robot_llm.drivers.so101 import protocol as p
from robot_llm.errors import Fault, InputError

ANSWER_S = 0.002  # a status packet's own time on the wire, with margin (about 0.2 ms at 1 Mbps)


class PortError(InputError):
    """The serial port cannot be used (missing, busy, no permission); one line naming it."""


class BusError(Fault):
    """The bus failed while in use: no answer, corrupt answers, the port went away."""


class NoServo(BusError):
    """A servo did not answer (after the retries)."""

    def __init__(self, port: str, servo_id: int, why: str = "no answer") -> None:
        super().__init__(f"servo id {servo_id} on {port} does not answer ({why})")
        self.port = port
        self.servo_id = servo_id


def open_serial(port: str, baudrate: int, timeout: float) -> object:
    """A pyserial port, opened exclusively; PortError with one line otherwise."""
    import serial

    try:
        return serial.Serial(port, baudrate=baudrate, timeout=timeout, exclusive=True)
    except (serial.SerialException, OSError, ValueError) as err:
        code = getattr(err, "errno", None)
        text = str(err)
        if code == errno.ENOENT or "No such file" in text:
            why = "no such port (is the arm's USB cable plugged in? ls /dev/ttyACM* /dev/ttyUSB*)"
        elif code in (errno.EACCES, errno.EPERM) or "Permission denied" in text:
            why = (
                "permission denied (add yourself to the dialout group or install the udev rule "
                "of docs/so101.md)"
            )
        elif code == errno.EBUSY or "lock" in text.lower() or "busy" in text.lower():
            why = "the port is busy: another program has it open"
        else:
            why = text.splitlines()[0] if text else type(err).__name__
        raise PortError(f"serial port {port}: {why}") from None


class ServoBus:
    """Feetech servos on one serial port. Thread-safe: one transaction at a time."""

    def __init__(
        self,
        port: str,
        baudrate: int = p.DEFAULT_BAUDRATE,
        timeout: float = 0.02,
        retries: int = 2,
    ) -> None:
        if timeout <= 0 or retries < 0:
            raise InputError("the bus timeout must be > 0 and retries >= 0")
        self.port_name = port
        self.timeout = timeout
        self.retries = retries
        self._serial = open_serial(port, baudrate, timeout)
        self._lock = threading.Lock()
        self.corrupt_packets = 0  # answers dropped for a bad checksum or length
        self.missed_answers = 0  # answers that did not come in time

    def close(self) -> None:
        with self._lock:
            self._serial.close()  # type: ignore[attr-defined]

    # -- single servos --------------------------------------------------------------------------
    def ping(self, servo_id: int) -> int:
        """The servo's error byte; NoServo when it does not answer."""
        return self._ask(servo_id, p.ping(servo_id)).code

    def read(self, servo_id: int, address: int, size: int) -> bytes:
        packet = self._ask(servo_id, p.read(servo_id, address, size), size)
        return packet.params

    def read_u16(self, servo_id: int, register: tuple[int, int]) -> int:
        return p.from_u16(self.read(servo_id, register[0], 2))

    def write(self, servo_id: int, address: int, data: bytes) -> int:
        """Write and wait for the status packet; its error byte."""
        return self._ask(servo_id, p.write(servo_id, address, data)).code

    # -- several servos -------------------------------------------------------------------------
    def sync_write(self, address: int, data: dict[int, bytes]) -> None:
        """One SYNC_WRITE: no answer comes."""
        if not data:
            return
        packet = p.sync_write(address, data)
        with self._lock:
            self._send(packet)

    def sync_read(self, ids: list[int], address: int, size: int) -> dict[int, p.Packet]:
        """One SYNC_READ; servos whose answer is missing or corrupt are asked again one by one.
        NoServo names the first servo that stays silent."""
        answers: dict[int, p.Packet] = {}
        with self._lock:
            self._flush()
            self._send(p.sync_read(ids, address, size))
            deadline = time.monotonic() + self.timeout + ANSWER_S * len(ids)
            while len(answers) < len(ids):
                packet = self._receive(deadline)
                if packet is None:
                    break
                if packet.servo_id in ids and len(packet.params) == size:
                    answers[packet.servo_id] = packet
        for servo_id in ids:
            if servo_id not in answers:
                self.missed_answers += 1
                answers[servo_id] = self._ask(servo_id, p.read(servo_id, address, size), size)
        return {i: answers[i] for i in ids}

    def sync_read_feedback(self, ids: list[int]) -> dict[int, p.Feedback]:
        """Present position, speed, load, voltage, temperature, status and moving of each servo."""
        packets = self.sync_read(ids, p.FEEDBACK_START, p.FEEDBACK_SIZE)
        return {i: p.Feedback.parse(packet.params, packet.code) for i, packet in packets.items()}

    def sync_write_goals(self, goals: dict[int, int]) -> None:
        """Goal positions in steps (0..4095)."""
        self.sync_write(p.GOAL_POSITION[0], {i: p.u16(p.from_signed(g)) for i, g in goals.items()})

    def torque(self, ids: list[int], on: bool) -> None:
        self.sync_write(p.TORQUE_ENABLE[0], {i: bytes((1 if on else 0,)) for i in ids})

    # -- transactions ---------------------------------------------------------------------------
    def _ask(self, servo_id: int, request: bytes, size: int | None = None) -> p.Packet:
        """Send a request to one servo and return its status packet, retrying."""
        why = "no answer"
        with self._lock:
            for _attempt in range(self.retries + 1):
                self._flush()
                self._send(request)
                deadline = time.monotonic() + self.timeout
                while True:
                    packet = self._receive(deadline)
                    if packet is None:
                        self.missed_answers += 1
                        break
                    if packet.servo_id != servo_id:
                        continue  # another servo's late answer
                    if size is not None and len(packet.params) != size:
                        why = f"answered {len(packet.params)} bytes, not {size}"
                        break
                    return packet
        raise NoServo(self.port_name, servo_id, why)

    def _send(self, packet: bytes) -> None:
        try:
            self._serial.write(packet)  # type: ignore[attr-defined]
        except OSError as err:
            raise BusError(f"serial port {self.port_name}: cannot write: {err}") from None

    def _flush(self) -> None:
        try:
            self._serial.reset_input_buffer()  # type: ignore[attr-defined]
        except OSError as err:
            raise BusError(f"serial port {self.port_name}: {err}") from None

    def _read(self, size: int, deadline: float) -> bytes:
        data = b""
        while len(data) < size and time.monotonic() < deadline:
            try:
                chunk = self._serial.read(size - len(data))  # type: ignore[attr-defined]
            except OSError as err:
                raise BusError(f"serial port {self.port_name}: cannot read: {err}") from None
            data += chunk
        return data

    def _receive(self, deadline: float) -> p.Packet | None:
        """The next well-formed packet before `deadline`; corrupt ones are counted and
        skipped, None when time is up."""
        while True:
            head = self._read(2, deadline)
            while len(head) == 2 and head != p.HEADER:  # resynchronise on 0xFF 0xFF
                more = self._read(1, deadline)
                if not more:
                    return None
                head = head[1:] + more
            if len(head) < 2:
                return None
            meta = self._read(2, deadline)
            if len(meta) < 2:
                return None
            if meta[1] < 2:
                self.corrupt_packets += 1
                continue
            rest = self._read(meta[1], deadline)
            if len(rest) < meta[1]:
                return None
            try:
                return p.decode(head + meta + rest)
            except p.PacketError:
                self.corrupt_packets += 1
