"""The Feetech STS/SCS serial-bus packet protocol, and the STS3215's registers.

Every packet, either way:

    0xFF 0xFF  ID  LENGTH  INSTRUCTION|ERROR  PARAM...  CHECKSUM

LENGTH counts the parameters plus 2 (the instruction or error byte and the checksum);
CHECKSUM is the bitwise NOT of the sum of ID, LENGTH, INSTRUCTION|ERROR and the parameters, low
byte. The host sends instruction packets; a servo answers with a status packet whose fifth byte
is its error byte (bits below). ID 0xFE is the broadcast id of the sync instructions, which
address several servos at once: SYNC_WRITE has no answer, SYNC_READ is answered by one status
packet per listed servo, in the listed order.

The STS3215 stores 16-bit values low byte first; a negative goal, speed or position is stored as
its magnitude with bit 15 set (load: bit 10; the homing offset: bit 11). One turn is 4096 steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

HEADER: Final = b"\xff\xff"
BROADCAST_ID: Final = 0xFE
MAX_ID: Final = 0xFC

# Instructions
PING: Final = 0x01
READ: Final = 0x02
WRITE: Final = 0x03
SYNC_READ: Final = 0x82
SYNC_WRITE: Final = 0x83
INSTRUCTIONS: Final = {
    PING: "PING",
    READ: "READ",
    WRITE: "WRITE",
    SYNC_READ: "SYNC_READ",
    SYNC_WRITE: "SYNC_WRITE",
}

# Error bits of a status packet's error byte (and of the STATUS register)
ERR_VOLTAGE: Final = 0x01
ERR_SENSOR: Final = 0x02
ERR_OVERHEAT: Final = 0x04
ERR_OVERCURRENT: Final = 0x08
ERR_OVERLOAD: Final = 0x20
ERROR_NAMES: Final = {
    ERR_VOLTAGE: "input voltage out of range",
    ERR_SENSOR: "position sensor error",
    ERR_OVERHEAT: "overheat",
    ERR_OVERCURRENT: "overcurrent",
    ERR_OVERLOAD: "overload",
}
ERROR_MASK: Final = ERR_VOLTAGE | ERR_SENSOR | ERR_OVERHEAT | ERR_OVERCURRENT | ERR_OVERLOAD

# STS3215 registers (address, size in bytes). EEPROM below 40 (written only while LOCK is 0).
MODEL_NUMBER: Final = (3, 2)
ID: Final = (5, 1)
BAUD_RATE: Final = (6, 1)
RETURN_DELAY: Final = (7, 1)
MIN_POSITION_LIMIT: Final = (9, 2)
MAX_POSITION_LIMIT: Final = (11, 2)
MAX_TEMPERATURE: Final = (13, 1)
HOMING_OFFSET: Final = (31, 2)
OPERATING_MODE: Final = (33, 1)
TORQUE_ENABLE: Final = (40, 1)
ACCELERATION: Final = (41, 1)
GOAL_POSITION: Final = (42, 2)
GOAL_TIME: Final = (44, 2)
GOAL_SPEED: Final = (46, 2)
TORQUE_LIMIT: Final = (48, 2)
LOCK: Final = (55, 1)
PRESENT_POSITION: Final = (56, 2)
PRESENT_SPEED: Final = (58, 2)
PRESENT_LOAD: Final = (60, 2)
PRESENT_VOLTAGE: Final = (62, 1)  # 0.1 V
PRESENT_TEMPERATURE: Final = (63, 1)  # degrees C
STATUS: Final = (65, 1)  # the error bits
MOVING: Final = (66, 1)
PRESENT_CURRENT: Final = (69, 2)
REGISTER_COUNT: Final = 71

# One sync read per control period covers present position .. moving.
FEEDBACK_START: Final = PRESENT_POSITION[0]
FEEDBACK_SIZE: Final = MOVING[0] + 1 - FEEDBACK_START

STS3215_MODEL: Final = 777
STEPS_PER_TURN: Final = 4096
MAX_STEP: Final = STEPS_PER_TURN - 1
DEFAULT_BAUDRATE: Final = 1_000_000
POSITION_SIGN_BIT: Final = 15
LOAD_SIGN_BIT: Final = 10
OFFSET_SIGN_BIT: Final = 11


class PacketError(ValueError):
    """Bytes that are not a well-formed packet (header, length or checksum)."""


def checksum(body: bytes | bytearray) -> int:
    """The checksum of ID, LENGTH, INSTRUCTION|ERROR and the parameters."""
    return ~sum(body) & 0xFF


def encode(servo_id: int, instruction: int, params: bytes | bytearray = b"") -> bytes:
    """One packet: an instruction packet from the host, or a status packet (instruction = the
    error byte) from a servo."""
    if not 0 <= servo_id <= BROADCAST_ID:
        raise ValueError(f"servo id {servo_id} is outside 0..{BROADCAST_ID}")
    if len(params) > 250:
        raise ValueError(f"{len(params)} parameter bytes do not fit one packet")
    body = bytes((servo_id, len(params) + 2, instruction & 0xFF)) + bytes(params)
    return HEADER + body + bytes((checksum(body),))


@dataclass(frozen=True)
class Packet:
    """A decoded packet: `code` is the instruction (host to servo) or the error byte (reply)."""

    servo_id: int
    code: int
    params: bytes

    @property
    def errors(self) -> list[str]:
        """The names of the error bits set, for a status packet."""
        return error_names(self.code)


def decode(data: bytes | bytearray) -> Packet:
    """One whole packet; PacketError when the header, length or checksum is wrong."""
    if len(data) < 6 or data[:2] != HEADER:
        raise PacketError(f"not a packet: {bytes(data).hex(' ')}")
    length = data[3]
    if length < 2 or len(data) != length + 4:
        raise PacketError(f"length byte {length} does not match {len(data)} bytes")
    body = data[2:-1]
    if checksum(body) != data[-1]:
        raise PacketError(
            f"checksum 0x{data[-1]:02x} should be 0x{checksum(body):02x}: {bytes(data).hex(' ')}"
        )
    return Packet(data[2], data[4], bytes(data[5:-1]))


def error_names(error: int) -> list[str]:
    return [name for bit, name in ERROR_NAMES.items() if error & bit]


# -- instruction packets --------------------------------------------------------------------------
def ping(servo_id: int) -> bytes:
    return encode(servo_id, PING)


def read(servo_id: int, address: int, size: int) -> bytes:
    return encode(servo_id, READ, bytes((address, size)))


def write(servo_id: int, address: int, data: bytes) -> bytes:
    return encode(servo_id, WRITE, bytes((address,)) + data)


def sync_read(ids: list[int] | tuple[int, ...], address: int, size: int) -> bytes:
    return encode(BROADCAST_ID, SYNC_READ, bytes((address, size, *ids)))


def sync_write(address: int, data: dict[int, bytes]) -> bytes:
    sizes = {len(d) for d in data.values()}
    if len(sizes) != 1:
        raise ValueError("a sync write needs the same number of bytes for every servo")
    params = bytearray((address, sizes.pop()))
    for servo_id, d in data.items():
        params.append(servo_id)
        params += d
    return encode(BROADCAST_ID, SYNC_WRITE, params)


def status(servo_id: int, error: int = 0, data: bytes = b"") -> bytes:
    """A servo's status packet (the emulator sends these)."""
    return encode(servo_id, error, data)


# -- values ---------------------------------------------------------------------------------------
def to_signed(raw: int, sign_bit: int = POSITION_SIGN_BIT) -> int:
    """A sign-magnitude register value as a Python int."""
    magnitude = raw & ((1 << sign_bit) - 1)
    return -magnitude if raw & (1 << sign_bit) else magnitude


def from_signed(value: int, sign_bit: int = POSITION_SIGN_BIT) -> int:
    """A Python int as a sign-magnitude register value."""
    limit = (1 << sign_bit) - 1
    if abs(value) > limit:
        raise ValueError(f"{value} does not fit {sign_bit} bits of magnitude")
    return (-value) | (1 << sign_bit) if value < 0 else value


def u16(value: int) -> bytes:
    """A 16-bit register value, low byte first."""
    return bytes((value & 0xFF, (value >> 8) & 0xFF))


def from_u16(data: bytes | bytearray, at: int = 0) -> int:
    return data[at] | (data[at + 1] << 8)


@dataclass(frozen=True)
class Feedback:
    """One servo's feedback registers (present position .. moving) and status error byte."""

    position: int  # steps, 0..4095
    speed: int  # steps per second, signed
    load: int  # 0.1 % of the maximum torque, signed
    voltage: float  # volts
    temperature: int  # degrees C
    status: int  # the STATUS register's error bits
    moving: bool
    error: int = 0  # the status packet's error byte

    @property
    def errors(self) -> int:
        return (self.status | self.error) & ERROR_MASK

    @classmethod
    def parse(cls, data: bytes, error: int = 0) -> Feedback:
        if len(data) != FEEDBACK_SIZE:
            raise PacketError(f"feedback of {len(data)} bytes, expected {FEEDBACK_SIZE}")

        def at(reg: tuple[int, int]) -> int:
            return reg[0] - FEEDBACK_START

        return cls(
            position=to_signed(from_u16(data, at(PRESENT_POSITION))),
            speed=to_signed(from_u16(data, at(PRESENT_SPEED))),
            load=to_signed(from_u16(data, at(PRESENT_LOAD)), LOAD_SIGN_BIT),
            voltage=data[at(PRESENT_VOLTAGE)] / 10.0,
            temperature=data[at(PRESENT_TEMPERATURE)],
            status=data[at(STATUS)],
            moving=bool(data[at(MOVING)]),
            error=error,
        )
