"""Typed forms of the bridge's messages and their wire maps (docs/bridge-protocol.md).

Commands and their acknowledgements, state and camera frames (the robot description is in
description.py). Builders return the message's fields; `protocol.Stamper` adds type, seq and t.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias, TypeGuard

import numpy as np

from robot_llm.bridge.description import matrix, rows
from robot_llm.bridge.images import decode_image, depth_encoding_for, encode_depth, encode_rgb
from robot_llm.bridge.protocol import Fields, Message, ProtocolError
from robot_llm.robots.base import Applied
from robot_llm.types import CameraFrame, RobotState

MODES = ("ok", "holding", "estopped", "fault")
Vec3: TypeAlias = tuple[float, float, float]


# -- commands -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EETarget:
    """End-effector target: position (m, table frame), yaw (rad) and gripper opening (0..1).
    Plain floats, not arrays: every command passes the supervisor on its way to the ack."""

    position: Vec3
    yaw: float
    gripper: float


@dataclass(frozen=True)
class JointTarget:
    """Joint-position targets and gripper opening (0..1)."""

    positions: np.ndarray
    gripper: float


@dataclass(frozen=True)
class Keep:
    """Keep tracking the current target for one more period (Robot.hold)."""


Command: TypeAlias = EETarget | JointTarget | Keep
COMMAND_TYPES = ("command_ee", "command_joints", "command_keep", "heartbeat")


def command_fields(command: Command) -> tuple[str, dict[str, object]]:
    """The message type and fields of a command (session and stamp added by the sender)."""
    if isinstance(command, EETarget):
        return "command_ee", {
            "position": list(command.position),
            "yaw": float(command.yaw),
            "gripper": float(command.gripper),
        }
    if isinstance(command, JointTarget):
        return "command_joints", {
            "positions": np.asarray(command.positions, dtype=float).tolist(),
            "gripper": float(command.gripper),
        }
    return "command_keep", {}


def _finite(value: object) -> TypeGuard[float]:
    if type(value) is float:  # msgpack decodes to exact types: no subclasses, bool is not int
        return math.isfinite(value)
    return type(value) is int


def _vec3(value: object) -> Vec3 | None:
    if type(value) is list and len(value) == 3:
        x, y, z = value
        if _finite(x) and _finite(y) and _finite(z):
            return (float(x), float(y), float(z))
    return None


def parse_command(msg: Mapping[str, object], n_joints: int) -> tuple[int, int, Command | None]:
    """(session, seq, command) of a command-channel message; command None for a heartbeat."""
    # Fast path for well-formed messages (every command passes here on its way to the arm);
    # anything else takes the checked path below, whose errors name the bad field.
    kind, session, seq = msg.get("type"), msg.get("session"), msg.get("seq")
    if type(session) is int and type(seq) is int and _finite(msg.get("t")):
        if kind == "command_ee":
            p = _vec3(msg.get("position"))
            yaw, gripper = msg.get("yaw"), msg.get("gripper")
            if p is not None and _finite(yaw) and _finite(gripper):
                return session, seq, EETarget(p, yaw, gripper)
        elif kind == "heartbeat":
            return session, seq, None
        elif kind == "command_keep":
            return session, seq, Keep()
    return _parse_command_checked(msg, n_joints)


def _parse_command_checked(
    msg: Mapping[str, object], n_joints: int
) -> tuple[int, int, Command | None]:
    f = Fields(msg)
    kind = f.text("type")
    if kind not in COMMAND_TYPES:
        raise ProtocolError(
            "unknown_type", f"unknown command type {kind!r}; types are {', '.join(COMMAND_TYPES)}"
        )
    session, seq = f.integer("session"), f.integer("seq")
    f.number("t")
    if kind == "command_ee":
        x, y, z = f.floats("position", 3)
        return session, seq, EETarget((x, y, z), f.number("yaw"), f.number("gripper"))
    if kind == "command_joints":
        return session, seq, JointTarget(f.vector("positions", n_joints), f.number("gripper"))
    if kind == "command_keep":
        return session, seq, Keep()
    return session, seq, None


# -- acknowledgements -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Ack:
    """A command's acknowledgement: what the supervisor let through, and when it applies."""

    applied: Applied
    epoch: int  # counts target resets (holds, stops, resets): older targets no longer apply
    until_tick: float  # seconds from the ack until the control tick that applies the command
    joints: tuple[float, ...] = ()  # the joint target, for joint commands


def ack_fields(ack: Ack, re: int) -> dict[str, object]:
    a = ack.applied  # tuples go out as msgpack arrays
    return {
        "re": re,
        "position": a.position,
        "yaw": a.yaw,
        "gripper": a.gripper,
        "clipped": a.clipped,
        "mode": a.mode,
        "epoch": ack.epoch,
        "until_tick": ack.until_tick,
        "joints": ack.joints,
    }


def parse_ack(msg: Mapping[str, object]) -> Ack:
    """The Ack of an "applied" message (ProtocolError naming the field if it is not one)."""
    p = _vec3(msg.get("position"))
    yaw, gripper, mode, epoch = (
        msg.get("yaw"),
        msg.get("gripper"),
        msg.get("mode"),
        msg.get("epoch"),
    )
    until, clipped, joints = (
        msg.get("until_tick", 0.0),
        msg.get("clipped", []),
        msg.get("joints", []),
    )
    if (  # the fast path, as in parse_command
        p is not None
        and _finite(yaw)
        and _finite(gripper)
        and type(mode) is str
        and type(epoch) is int
        and _finite(until)
        and type(clipped) is list
        and all(type(c) is str for c in clipped)
        and type(joints) is list
        and all(map(_finite, joints))
    ):
        applied = Applied(p, float(yaw), float(gripper), tuple(clipped), mode)
        return Ack(applied, epoch, float(until), tuple(map(float, joints)))
    return _parse_ack_checked(msg)


def _parse_ack_checked(msg: Mapping[str, object]) -> Ack:
    f = Fields(msg, "applied")
    p = f.floats("position", 3)
    mode = f.text("mode")
    return Ack(
        Applied(
            (p[0], p[1], p[2]),
            f.number("yaw"),
            f.number("gripper"),
            f.strings("clipped"),
            mode,
        ),
        f.integer("epoch"),
        f.number("until_tick", 0.0),
        f.floats("joints") if "joints" in msg else (),
    )


# -- state ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StateReport:
    """One state message: proprioception with the server's mode, target and bookkeeping."""

    state: RobotState
    target_position: tuple[float, float, float]
    target_yaw: float
    target_gripper: float
    epoch: int
    hold_reason: str
    server: str
    tick: int
    received: float = 0.0  # local time.monotonic() at receipt
    seq: int = 0  # of the message it came in
    sent: float = 0.0  # the message's "t"

    def message(self) -> dict[str, object]:
        """The state message this report came in (type, seq, t and fields)."""
        return {"type": "state", "seq": self.seq, "t": self.sent, **self.fields()}

    def fields(self) -> dict[str, object]:
        return {
            **self.state.to_dict(),
            "target": {
                "position": list(self.target_position),
                "yaw": self.target_yaw,
                "gripper": self.target_gripper,
            },
            "epoch": self.epoch,
            "hold_reason": self.hold_reason,
            "server": self.server,
            "tick": self.tick,
        }

    @classmethod
    def from_message(cls, msg: Mapping[str, object]) -> StateReport:
        f = Fields(msg, "state")
        mode = f.text("mode")
        if mode not in MODES:
            raise ProtocolError("bad_field", f"state: mode {mode!r} is not one of {MODES}")
        q = f.vector("joint_positions")
        ee = f.vector("ee_position", 3)
        quat = f.vector("ee_orientation", 4)
        target = Fields(f.mapping("target"), "state target")
        tp = target.vector("position", 3)
        state = RobotState(
            tuple(float(v) for v in q),
            tuple(float(v) for v in f.vector("joint_velocities", len(q))),
            (float(ee[0]), float(ee[1]), float(ee[2])),
            (float(quat[0]), float(quat[1]), float(quat[2]), float(quat[3])),
            f.number("gripper_width"),
            f.number("timestamp"),
            mode,
            f.text("last_error", ""),
        )
        return cls(
            state,
            (float(tp[0]), float(tp[1]), float(tp[2])),
            target.number("yaw"),
            target.number("gripper"),
            f.integer("epoch"),
            f.text("hold_reason", ""),
            f.text("server"),
            f.integer("tick"),
            time.monotonic(),
            f.integer("seq", 0),
            f.number("t", 0.0),
        )


# -- camera frames --------------------------------------------------------------------------------
def frame_fields(frame: CameraFrame, encoding: str, jpeg_quality: int) -> dict[str, object]:
    return {
        "camera": frame.camera,
        "timestamp": float(frame.timestamp),
        "rgb": encode_rgb(frame.rgb, encoding, jpeg_quality),
        "depth": encode_depth(frame.depth, depth_encoding_for(encoding)),
        "intrinsics": rows(np.asarray(frame.intrinsics, dtype=float)),
        "extrinsics": rows(np.asarray(frame.extrinsics, dtype=float)),
    }


def parse_frame(msg: Message) -> CameraFrame:
    f = Fields(msg, "frame")
    rgb = decode_image(f.mapping("rgb"), "frame rgb")
    depth = decode_image(f.mapping("depth"), "frame depth")
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ProtocolError("bad_field", "frame: rgb must be H x W x 3 uint8")
    if depth.shape != rgb.shape[:2]:
        raise ProtocolError("bad_field", "frame: depth must be H x W like rgb")
    return CameraFrame(
        rgb,
        depth.astype(np.float32, copy=False),
        np.asarray(matrix(msg.get("intrinsics"), 3, 3, "frame intrinsics")),
        np.asarray(matrix(msg.get("extrinsics"), 4, 4, "frame extrinsics")),
        f.number("timestamp"),
        f.text("camera"),
    )
