"""The Feetech packet protocol and the servo bus, over a real pseudo-terminal with the emulated
servos answering: packets against hand-computed bytes, retries, and a port that cannot be used."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from robot_llm.drivers.so101 import protocol as p
from robot_llm.drivers.so101.bus import NoServo, PortError, ServoBus
from robot_llm.drivers.so101.emulator import EmulatedBus
from robot_llm.errors import InputError

pytestmark = pytest.mark.timeout(60)


# -- packets against bytes computed by hand -------------------------------------------------------
@pytest.mark.parametrize(
    ("packet", "expected"),
    [
        # PING servo 1: ~(0x01 + 0x02 + 0x01) = 0xFB
        (p.ping(1), "ff ff 01 02 01 fb"),
        # its status packet, no error: ~(0x01 + 0x02 + 0x00) = 0xFC
        (p.status(1), "ff ff 01 02 00 fc"),
        # READ 2 bytes at 0x38 (present position) of servo 1: ~(1+4+2+0x38+2) = ~0x41 = 0xBE
        (p.read(1, 0x38, 2), "ff ff 01 04 02 38 02 be"),
        # WRITE goal position 2048 (0x0800, low byte first) at 0x2A: ~(1+5+3+0x2A+0+8) = 0xC4
        (p.write(1, 0x2A, p.u16(2048)), "ff ff 01 05 03 2a 00 08 c4"),
        # SYNC_WRITE goals 2048 to id 1 and 1024 to id 2: sum 0x1C6, ~0xC6 = 0x39
        (
            p.sync_write(0x2A, {1: p.u16(2048), 2: p.u16(1024)}),
            "ff ff fe 0a 83 2a 02 01 00 08 02 00 04 39",
        ),
        # SYNC_READ 2 bytes at 0x38 from ids 1 and 2: sum 0x1C3, ~0xC3 = 0x3C
        (p.sync_read([1, 2], 0x38, 2), "ff ff fe 06 82 38 02 01 02 3c"),
    ],
)
def test_packets_match_hand_computed_bytes(packet: bytes, expected: str) -> None:
    assert packet.hex(" ") == expected
    decoded = p.decode(packet)
    assert p.encode(decoded.servo_id, decoded.code, decoded.params) == packet


def test_decode_refuses_a_bad_checksum_or_length() -> None:
    good = bytearray(p.status(3, p.ERR_OVERLOAD, b"\x10\x20"))
    assert p.decode(bytes(good)).errors == ["overload"]
    bad = good.copy()
    bad[-1] ^= 0x01
    with pytest.raises(p.PacketError, match="checksum"):
        p.decode(bytes(bad))
    with pytest.raises(p.PacketError, match="length"):
        p.decode(bytes(good[:-1]))


def test_sign_magnitude_values() -> None:
    assert p.from_signed(-100) == 0x8064 and p.to_signed(0x8064) == -100
    assert p.from_signed(100) == 100 and p.to_signed(100) == 100
    assert p.to_signed(0x0400 | 250, p.LOAD_SIGN_BIT) == -250
    assert p.from_signed(-5, p.OFFSET_SIGN_BIT) == 0x0805
    assert p.u16(0x1234) == b"\x34\x12" and p.from_u16(b"\x34\x12") == 0x1234
    with pytest.raises(ValueError):
        p.from_signed(1 << 15)


def test_feedback_parses_the_registers_in_order() -> None:
    data = bytearray(p.FEEDBACK_SIZE)
    data[0:2] = p.u16(3000)
    data[2:4] = p.u16(p.from_signed(-120))
    data[4:6] = p.u16(p.from_signed(-300, p.LOAD_SIGN_BIT))
    data[6], data[7], data[9], data[10] = 74, 41, p.ERR_OVERHEAT, 1
    f = p.Feedback.parse(bytes(data))
    assert (f.position, f.speed, f.load, f.voltage, f.temperature) == (3000, -120, -300, 7.4, 41)
    assert f.moving and f.errors == p.ERR_OVERHEAT


# -- the bus over a pseudo-terminal ---------------------------------------------------------------
@pytest.fixture
def emulator() -> Iterator[EmulatedBus]:
    with EmulatedBus(positions={1: 1000, 2: 3000}) as bus:
        yield bus


@pytest.fixture
def bus(emulator: EmulatedBus) -> Iterator[ServoBus]:
    servo_bus = ServoBus(emulator.path, timeout=0.05, retries=2)
    yield servo_bus
    servo_bus.close()


def test_ping_read_and_sync_read(bus: ServoBus, emulator: EmulatedBus) -> None:
    assert bus.ping(1) == 0
    assert bus.read_u16(4, p.MODEL_NUMBER) == p.STS3215_MODEL
    feedback = bus.sync_read_feedback([1, 2, 3, 4, 5, 6])
    assert [f.position for f in feedback.values()] == [1000, 3000, 2048, 2048, 2048, 2048]
    assert all(f.errors == 0 and f.voltage == 7.4 for f in feedback.values())
    assert emulator.bad_packets == 0


def test_sync_write_moves_only_servos_with_torque(bus: ServoBus, emulator: EmulatedBus) -> None:
    bus.sync_write_goals({1: 1200, 2: 2900})
    time.sleep(0.2)
    assert emulator.positions()[1] == 1000, "moved with torque off"
    bus.torque([1], on=True)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and bus.sync_read_feedback([1])[1].position != 1200:
        time.sleep(0.01)
    assert bus.sync_read_feedback([1, 2]) and emulator.positions()[1] == 1200
    assert emulator.positions()[2] == 3000


@pytest.mark.parametrize("fault", ["corrupt", "drop", "delay"])
def test_a_bad_answer_is_asked_for_again(bus: ServoBus, emulator: EmulatedBus, fault: str) -> None:
    if fault == "corrupt":
        emulator.corrupt_answers(1, servo_id=3)
    elif fault == "drop":
        emulator.drop_answers(1, servo_id=3)
    else:
        emulator.delay_answers(1, 0.6, servo_id=3)  # after the bus stopped waiting (0.3 s)
    feedback = bus.sync_read_feedback([1, 2, 3, 4, 5, 6])
    assert feedback[3].position == 2048 and feedback[2].position == 3000
    if fault == "corrupt":
        assert bus.corrupt_packets >= 1
    else:
        assert bus.missed_answers >= 1
    time.sleep(0.6)  # the late answer arrives now; the next read must not take it for its own
    assert bus.read_u16(3, p.PRESENT_POSITION) == 2048
    assert list(bus.sync_read_feedback([2, 3])) == [2, 3]


def test_a_silent_servo_is_named(bus: ServoBus, emulator: EmulatedBus) -> None:
    emulator.silence(5)
    with pytest.raises(NoServo, match=f"servo id 5 on {emulator.path} does not answer"):
        bus.sync_read_feedback([1, 2, 3, 4, 5, 6])
    with pytest.raises(NoServo):
        bus.ping(5)
    emulator.silence(5, False)
    assert bus.ping(5) == 0


def test_corrupt_answers_past_the_retries_make_the_servo_silent(
    bus: ServoBus, emulator: EmulatedBus
) -> None:
    emulator.corrupt_answers(10, servo_id=2)
    with pytest.raises(NoServo, match="servo id 2"):
        bus.sync_read_feedback([1, 2])


def test_a_missing_port_is_one_line_naming_it(tmp_path: Path) -> None:
    port = str(tmp_path / "ttyACM7")
    with pytest.raises(PortError) as err:
        ServoBus(port)
    text = str(err.value)
    assert isinstance(err.value, InputError) and "\n" not in text
    assert port in text and "no such port" in text


def test_a_busy_port_is_one_line_naming_it(emulator: EmulatedBus, bus: ServoBus) -> None:
    with pytest.raises(PortError, match=f"serial port {emulator.path}: the port is busy"):
        ServoBus(emulator.path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root opens any file")
def test_a_port_without_permission_is_one_line_naming_it(emulator: EmulatedBus) -> None:
    os.chmod(emulator.path, 0o000)
    with pytest.raises(PortError, match=f"serial port {emulator.path}: permission denied"):
        ServoBus(emulator.path)
