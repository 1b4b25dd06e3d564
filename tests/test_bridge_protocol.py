"""Bridge wire protocol: codec round trips, arrays, images, versions, supervisor and addresses.

Pure logic: no sockets, no simulator.
"""

from __future__ import annotations

import math

import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robot_llm.bridge.description import CameraModel, JointSpec, RobotDescription
from robot_llm.bridge.endpoints import AddressError, Endpoints, connect_address
from robot_llm.bridge.images import decode_image, encode_depth, encode_rgb
from robot_llm.bridge.limits import SafetyLimits
from robot_llm.bridge.messages import (
    Ack,
    EETarget,
    JointTarget,
    Keep,
    StateReport,
    ack_fields,
    command_fields,
    frame_fields,
    parse_ack,
    parse_command,
    parse_frame,
)
from robot_llm.bridge.protocol import (
    PROTOCOL_VERSION,
    ProtocolError,
    Stamper,
    VersionMismatch,
    decode_array,
    encode_array,
    pack,
    parse_version,
    unpack,
)
from robot_llm.bridge.supervisor import Reference, Supervisor
from robot_llm.robots.base import Applied
from robot_llm.types import CameraFrame, RobotState

ROBOT = RobotDescription(
    name="arm",
    joints=tuple(JointSpec(f"j{i}", -2.0, 2.0, 1.5) for i in range(3)),
    control_hz=20.0,
    home=(0.0, 0.5, -0.5),
    max_gripper_width=0.08,
    cameras=(
        CameraModel(
            "main",
            64,
            48,
            ((50.0, 0, 31.5), (0, 50.0, 23.5), (0, 0, 1.0)),
            tuple(tuple(float(i == j) for j in range(4)) for i in range(4)),
        ),
        CameraModel("wrist", 32, 24, ((20.0, 0, 15.5), (0, 20.0, 11.5), (0, 0, 1.0)), None),
    ),
)


def wire(message: dict[str, object]) -> dict[str, object]:
    """Through bytes and back, as a message (or a part of one) travels."""
    out = msgpack.unpackb(pack(message), raw=False)
    assert isinstance(out, dict)
    return out


# -- codec ----------------------------------------------------------------------------------------
def test_every_message_type_round_trips_with_seq_and_time() -> None:
    stamp = Stamper()
    state = RobotState(
        (0.1, 0.2, 0.3),
        (0.0, 0.0, 0.0),
        (0.4, 0.0, 0.3),
        (1.0, 0, 0, 0),
        0.05,
        1.5,
        "holding",
        "e-stop by test",
    )
    report = StateReport(state, (0.4, 0.0, 0.3), 0.2, 1.0, 3, "watchdog", "abc", 17)
    messages = [
        stamp("hello", version=list(PROTOCOL_VERSION), client="t", control=True, session=0),
        stamp(
            "welcome",
            re=0,
            version=[1, 0],
            server="abc",
            session=5,
            control=True,
            robot=ROBOT.to_dict(),
            config={"limits": SafetyLimits().to_dict()},
            endpoints=Endpoints.from_address("tcp://127.0.0.1:5555").as_dict(),
            state=report.fields(),
        ),
        *(stamp(kind, client="t") for kind in ("estop", "hold", "resume", "reset", "state")),
        stamp("config", set={"camera_hz": 10.0, "camera_encoding": "jpeg"}),
        stamp("bye", session=5),
        stamp("ok", re=3, mode="ok", hold_reason=""),
        stamp("error", re=None, code="malformed", message="not a msgpack message"),
        stamp("heartbeat", session=5),
        stamp("state", **report.fields()),
    ]
    for cmd in (
        EETarget((0.4, 0.1, 0.2), 0.3, 0.5),
        JointTarget(np.array([0.1, 0.2, 0.3]), 1.0),
        Keep(),
    ):
        kind, fields = command_fields(cmd)
        messages.append(stamp(kind, session=5, **fields))
    seqs = []
    for m in messages:
        back = wire(m)
        assert back == m
        assert isinstance(back["seq"], int) and isinstance(back["t"], float)
        seqs.append(back["seq"])
    assert seqs == list(range(len(messages)))
    # Typed views of the same messages.
    assert RobotDescription.from_dict(wire(ROBOT.to_dict())) == ROBOT
    assert SafetyLimits.from_dict(wire(SafetyLimits().to_dict())) == SafetyLimits()
    back_report = StateReport.from_message(wire(stamp("state", **report.fields())))
    assert back_report.state == state and back_report.epoch == 3
    assert back_report.hold_reason == "watchdog" and back_report.tick == 17
    session, _, ee_cmd = parse_command(messages[-3], 3)
    assert session == 5 and isinstance(ee_cmd, EETarget)
    assert ee_cmd.position == (0.4, 0.1, 0.2)
    assert isinstance(parse_command(messages[-2], 3)[2], JointTarget)
    assert isinstance(parse_command(messages[-1], 3)[2], Keep)
    assert parse_command(stamp("heartbeat", session=5), 3)[2] is None
    ack = Ack(Applied((0.4, 0.1, 0.2), 0.3, 0.5, ("speed", "workspace"), "ok"), 2, 0.01, (0.1,))
    assert parse_ack(wire(stamp("applied", **ack_fields(ack, 9)))) == ack


@pytest.mark.parametrize(
    "dtype",
    [
        "uint8",
        "int8",
        "uint16",
        "int16",
        "int32",
        "uint32",
        "int64",
        "float16",
        "float32",
        "float64",
        "bool",
    ],
)
@pytest.mark.parametrize("shape", [(), (0,), (5,), (3, 4), (2, 3, 4)])
def test_arrays_round_trip_with_dtype_and_shape(dtype: str, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(0)
    a = (rng.random(shape) * 100).astype(dtype)
    d = wire(encode_array(a))
    assert d["dtype"] == a.dtype.str and d["shape"] == list(shape)
    b = decode_array(d)
    assert b.dtype == a.dtype and b.shape == a.shape and np.array_equal(a, b)
    assert b.flags.writeable and b.flags.c_contiguous


def test_arrays_travel_little_endian_and_c_order() -> None:
    big = np.arange(6, dtype=">f4").reshape(2, 3)
    d = encode_array(big)
    assert d["dtype"] == "<f4" and d["data"] == np.arange(6, dtype="<f4").tobytes()
    fortran = np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3))
    assert encode_array(fortran)["data"] == np.arange(6, dtype="<i4").tobytes()
    assert np.array_equal(decode_array(encode_array(big)), big)


@pytest.mark.parametrize(
    ("bad", "what"),
    [
        ({"dtype": "|O", "shape": [1], "data": b"12345678"}, "numeric"),
        ({"dtype": ">f4", "shape": [1], "data": b"1234"}, "numeric"),
        ({"dtype": "<U1", "shape": [1], "data": b"1234"}, "numeric"),
        ({"dtype": "<f4", "shape": [2], "data": b"1234"}, "needs 8"),
        ({"dtype": "<f4", "shape": [-1], "data": b"1234"}, "shape"),
        ({"dtype": "<f4", "shape": "1", "data": b"1234"}, "shape"),
        ({"dtype": "<f4", "shape": [1], "data": "1234"}, "binary"),
    ],
)
def test_bad_arrays_are_protocol_errors(bad: dict[str, object], what: str) -> None:
    with pytest.raises(ProtocolError, match=what):
        decode_array(bad)


def test_unpack_refuses_what_is_not_a_typed_message() -> None:
    with pytest.raises(ProtocolError, match="exceeds"):
        unpack(b"\x80" * 70000)
    with pytest.raises(ProtocolError, match="must be a map"):
        unpack(msgpack.packb([1, 2]))
    with pytest.raises(ProtocolError, match="'type'"):
        unpack(msgpack.packb({"seq": 1}))
    with pytest.raises(ProtocolError, match="extension"):
        unpack(msgpack.packb({"type": msgpack.ExtType(5, b"x")}))
    with pytest.raises(ProtocolError, match="not a msgpack"):
        unpack(b"\xc1")
    with pytest.raises(ProtocolError, match="not a msgpack"):
        unpack(pack({"type": "x"}) + b"\x00")  # trailing bytes


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_unpack_of_random_bytes_is_a_message_or_a_protocol_error(data: bytes) -> None:
    try:
        msg = unpack(data)
    except ProtocolError as err:
        assert err.code in ("malformed", "too_large")
    else:
        assert isinstance(msg, dict) and isinstance(msg["type"], str)


def test_version_mismatch_is_refused_with_a_clear_message() -> None:
    assert parse_version([PROTOCOL_VERSION[0], 7], "the server") == (PROTOCOL_VERSION[0], 7)
    with pytest.raises(VersionMismatch) as err:
        parse_version([PROTOCOL_VERSION[0] + 1, 0], "the server")
    text = str(err.value)
    assert "the server speaks bridge protocol 2.0" in text and "this end speaks 1.0" in text
    assert "major versions differ" in text
    with pytest.raises(ProtocolError, match="major, minor"):
        parse_version("1.0", "client")


# -- images ---------------------------------------------------------------------------------------
def test_camera_frames_round_trip_raw_png_and_jpeg() -> None:
    rng = np.random.default_rng(1)
    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[10:30, 20:50] = (200, 40, 10)
    depth = (0.5 + rng.random((48, 64)) * 0.5).astype(np.float32)
    frame = CameraFrame(rgb, depth, np.eye(3), np.eye(4), 2.5, "main")
    stamp = Stamper()
    raw = parse_frame(wire(stamp("frame", **frame_fields(frame, "raw", 90))))
    assert np.array_equal(raw.rgb, rgb) and np.array_equal(raw.depth, depth)
    assert (
        raw.camera == "main" and raw.timestamp == 2.5 and np.array_equal(raw.extrinsics, np.eye(4))
    )
    png = parse_frame(wire(stamp("frame", **frame_fields(frame, "png", 90))))
    assert np.array_equal(png.rgb, rgb)
    assert np.abs(png.depth - depth).max() <= 0.5e-4 + 1e-6  # 0.1 mm steps
    jpeg = parse_frame(wire(stamp("frame", **frame_fields(frame, "jpeg", 95))))
    assert np.abs(jpeg.rgb.astype(int) - rgb).mean() < 3  # lossy but close, and in RGB order
    assert jpeg.rgb[20, 30, 0] > 150 and jpeg.rgb[20, 30, 2] < 60
    assert np.abs(jpeg.depth - depth).max() <= 0.5e-4 + 1e-6  # depth is never JPEG
    for enc in (encode_rgb(rgb, "raw"), encode_depth(depth, "raw")):
        assert wire(enc)["encoding"] == "raw"
    with pytest.raises(ProtocolError, match="does not decode"):
        decode_image({"encoding": "png", "shape": [48, 64, 3], "data": b"not a png"})


# -- the supervisor -------------------------------------------------------------------------------
# A linear stand-in for forward kinematics: joint i moves the end effector along axis i.
Q0, EE0 = np.array([0.0, 0.5, -0.5]), np.array([0.4, 0.0, 0.3])


def linear_fk(q: np.ndarray) -> np.ndarray:
    return EE0 + np.diag([0.3, 0.4, 0.3]) @ (np.asarray(q) - Q0)


def supervisor(**limits: float) -> Supervisor:
    return Supervisor(SafetyLimits().with_overrides(**limits), ROBOT, linear_fk)


def ref(x: float = 0.4, y: float = 0.0, z: float = 0.3, yaw: float = 0.0) -> Reference:
    return Reference((x, y, z), yaw, 1.0, np.array([0.0, 0.5, -0.5]))


def test_supervisor_passes_a_step_within_all_limits() -> None:
    s = supervisor()
    step = 0.25 / 20 * 0.99
    cmd, clipped = s.check_ee(EETarget((0.4 + step, 0.0, 0.3), 0.05, 0.5), ref())
    assert clipped == () and cmd.position[0] == pytest.approx(0.4 + step) and cmd.yaw == 0.05


def test_supervisor_clips_workspace_speed_step_yaw_and_gripper() -> None:
    s = supervisor()
    cmd, clipped = s.check_ee(EETarget((0.4, 0.0, -0.2), 0.0, 1.0), ref(z=0.0))
    assert clipped == ("workspace",) and cmd.position[2] == 0.0
    cmd, clipped = s.check_ee(EETarget((0.43, 0.0, 0.3), 0.0, 1.0), ref())
    assert clipped == ("speed",)
    assert np.linalg.norm(np.subtract(cmd.position, ref().position)) == pytest.approx(0.25 / 20)
    cmd, clipped = s.check_ee(EETarget((0.7, 0.0, 0.3), 0.0, 1.0), ref())
    assert clipped == ("speed", "step")
    small_step = supervisor(max_ee_step=0.005)
    cmd, clipped = small_step.check_ee(EETarget((0.408, 0.0, 0.3), 0.0, 1.0), ref())
    assert clipped == ("step",) and cmd.position[0] == pytest.approx(0.405)
    cmd, clipped = s.check_ee(EETarget((0.4, 0.0, 0.3), 1.0, 1.0), ref(yaw=0.0))
    assert clipped == ("yaw_rate",) and cmd.yaw == pytest.approx(3.0 / 20)
    cmd, clipped = s.check_ee(
        EETarget((0.4, 0.0, 0.3), math.pi - 0.01, 1.0), ref(yaw=-math.pi + 0.01)
    )  # across +-pi: a short turn
    assert clipped == () and abs(cmd.yaw) == pytest.approx(math.pi - 0.01)
    cmd, clipped = s.check_ee(EETarget((0.4, 0.0, 0.3), 0.0, 3.0), ref())
    assert clipped == ("gripper",) and cmd.gripper == 1.0


def test_supervisor_clips_joint_limits_speed_and_step() -> None:
    s = supervisor(max_joint_speed=1.0)  # below the joints' own 1.5 rad/s
    cmd, clipped = s.check_joints(JointTarget(np.array([0.0, 0.5, -0.5]), 0.5), ref())
    assert clipped == ()
    cmd, clipped = s.check_joints(JointTarget(np.array([0.0, 0.5, -2.5]), 0.5), ref(z=0.3))
    assert "joint_limits" in clipped and "joint_speed" in clipped
    assert np.abs(cmd.positions - ref().joints).max() == pytest.approx(1.0 / 20)
    coarse = supervisor(max_joint_speed=100.0, max_joint_step=0.05)
    cmd, clipped = coarse.check_joints(JointTarget(np.array([0.3, 0.5, -0.5]), 0.5), ref())
    assert "joint_step" in clipped and cmd.positions[0] == pytest.approx(0.05)


def joint_ref(q: np.ndarray) -> Reference:
    x, y, z = linear_fk(q)
    return Reference((x, y, z), 0.0, 1.0, np.asarray(q, dtype=float))


def test_a_joint_target_is_checked_through_the_kinematics_of_the_target() -> None:
    s = supervisor(max_joint_speed=100.0, max_joint_step=10.0)
    # joint 2 moves y by 0.4 per rad: y = 0.45 + 0.05 margin is reached at joint 2 = 1.25
    edge = joint_ref(np.array([0.0, 1.74, -0.5]))  # y = 0.496, inside the grown box
    cmd, clipped = s.check_joints(JointTarget(np.array([0.0, 1.8, -0.5]), 0.5), edge)
    assert clipped == ("workspace",) and np.array_equal(cmd.positions, edge.joints)
    cmd, clipped = s.check_joints(JointTarget(np.array([0.0, 1.7, -0.5]), 0.5), edge)
    assert clipped == () and cmd.positions[1] == pytest.approx(1.7)


def test_an_arm_outside_the_box_may_only_be_brought_back() -> None:
    s = supervisor(max_joint_speed=100.0, max_joint_step=10.0)
    out = joint_ref(np.array([0.0, 1.9, -0.5]))  # y = 0.56, outside (a reset, a glitch)
    cmd, clipped = s.check_joints(JointTarget(np.array([0.0, 1.95, -0.5]), 0.5), out)
    assert clipped == ("workspace",) and np.array_equal(cmd.positions, out.joints)
    sideways = JointTarget(np.array([0.05, 1.9, -0.5]), 0.5)  # x moves, the distance does not
    assert s.check_joints(sideways, out)[1] == ("workspace",)
    cmd, clipped = s.check_joints(JointTarget(np.array([0.0, 1.85, -0.5]), 0.5), out)
    assert clipped == () and cmd.positions[1] == pytest.approx(1.85)  # closer: applied
    cmd, clipped = s.check_ee(EETarget((0.4, 0.9, 0.3), 0.0, 1.0), ref(y=0.8))
    assert "workspace" in clipped and cmd.position[1] < 0.8  # into the box, step by step


def test_moving_further_out_of_the_grown_box_is_noticed() -> None:
    s = supervisor()
    inside, outside = np.array([0.79, 0.0, 0.3]), np.array([0.9, 0.0, 0.3])
    assert s.moved_out(inside, outside)
    assert s.moved_out(outside, np.array([0.95, 0.0, 0.3]))  # already out and going further
    assert not s.moved_out(outside, outside)  # out and staying: commands can only bring it in
    assert not s.moved_out(outside, np.array([0.9, 0.0, 0.301]))  # tracking noise
    assert not s.moved_out(np.array([0.95, 0.0, 0.3]), outside)  # coming back
    assert not s.moved_out(inside, np.array([0.84, 0.0, 0.3]))  # within the margin


# -- addresses ------------------------------------------------------------------------------------
def test_channels_derive_from_one_base_address() -> None:
    ep = Endpoints.from_address("tcp://127.0.0.1:5555")
    assert ep.as_dict() == {
        "rpc": "tcp://127.0.0.1:5555",
        "command": "tcp://127.0.0.1:5556",
        "state": "tcp://127.0.0.1:5557",
        "camera": "tcp://127.0.0.1:5558",
    }
    assert Endpoints.from_address("ipc:///tmp/arm").state == "ipc:///tmp/arm-state"
    assert connect_address("tcp://*:5555") == "tcp://127.0.0.1:5555"
    for bad in ("localhost:5555", "tcp://127.0.0.1", "tcp://127.0.0.1:65534", "udp://x:1"):
        with pytest.raises(AddressError):
            Endpoints.from_address(bad)
