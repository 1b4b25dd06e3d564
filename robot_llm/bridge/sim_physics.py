"""The sim driver's physics, in a worker process of its own (worker_pipe.py).

A PyBullet step holds Python's GIL for milliseconds; in the bridge server's process a command or
RPC arriving during a step would wait for it. So the world and its SimRobot live in this worker,
and the server's control thread sends one request per control period ("ee", "joints", "hold";
"stop" from any thread) and waits on the pipe, which leaves the GIL to the socket threads. Every
reply is a status: proprioception, the end-effector target, and a snapshot of the arm's joints
and the objects' poses that the render workers copy. Run as `python -m
robot_llm.bridge.sim_physics`; it exits when its stdin closes.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pybullet as p

from robot_llm.bridge.description import CameraModel, JointSpec, RobotDescription
from robot_llm.bridge.protocol import Fields, Message
from robot_llm.bridge.worker_pipe import (
    WorkerProcess,
    error_reply,
    read_message,
    worker_main,
    write_message,
)
from robot_llm.envs.camera import CameraSpec
from robot_llm.envs.world import TabletopWorld
from robot_llm.robots.base import RobotLimits
from robot_llm.robots.sim import SimRobot
from robot_llm.tabletop.scene import SceneSpec, Workspace, parse_scene
from robot_llm.types import RobotState

STEP_TIMEOUT_S = 10.0

# The bridge's supervisor enforces the real limits before the sim sees a command.
_PERMISSIVE = RobotLimits(
    workspace_min=(-2.0, -2.0, -1.0),
    workspace_max=(2.0, 2.0, 2.0),
    max_ee_speed=100.0,
    max_yaw_rate=100.0,
    max_joint_speed=100.0,
)


@dataclass(frozen=True)
class Snapshot:
    """Positions of the arm body's movable joints (gripper fingers included) and object poses
    (x, y, z, qx, qy, qz, qw), with the simulator's time."""

    joints: list[float]
    objects: dict[str, list[float]]
    timestamp: float


@dataclass(frozen=True)
class Status:
    """The physics worker's answer to every request."""

    state: RobotState
    target: np.ndarray
    yaw: float
    snapshot: Snapshot


def world_init(spec: SceneSpec, robot: str, **extra: object) -> dict[str, object]:
    """The init message that builds `spec` in a worker (physics or render)."""
    ws = spec.workspace
    return {
        "type": "init",
        "robot": robot,
        "scene": spec.to_dict(),
        "workspace": {"x": list(ws.x), "y": list(ws.y)},
        **extra,
    }


def scene_of(init: Mapping[str, object], who: str) -> SceneSpec:
    """The scene an init message carries."""
    ws = Fields(Fields(init, "init").mapping("workspace"), "workspace")
    (x0, x1), (y0, y1) = ws.floats("x", 2), ws.floats("y", 2)
    return parse_scene(init["scene"], who, Workspace((x0, x1), (y0, y1)))


# -- the server side ------------------------------------------------------------------------------
class PhysicsProcess:
    """The physics worker, from the driver's side; `request` is safe from many threads."""

    def __init__(self, init: Mapping[str, object]) -> None:
        self._process = WorkerProcess("robot_llm.bridge.sim_physics", init, "physics worker")
        self._lock = threading.Lock()
        ready = self._process.ready
        self.description = RobotDescription.from_dict(Fields(ready, "ready").mapping("robot"))
        self.status = _status(ready)

    def request(self, kind: str, **fields: object) -> Status:
        """Send one request; the status after it (also kept as `self.status`)."""
        with self._lock:
            reply = self._process.request({"type": kind, **fields}, STEP_TIMEOUT_S)
            self.status = _status(reply)
            return self.status

    def alive(self) -> bool:
        """Whether the worker process still runs."""
        return self._process.proc.poll() is None

    def close(self) -> None:
        with self._lock:
            self._process.close()


def _status(reply: Message) -> Status:
    f = Fields(reply, "physics status")
    s = Fields(f.mapping("state"), "physics state")
    q, dq = s.floats("joint_positions"), s.floats("joint_velocities")
    (x, y, z), (qx, qy, qz, qw) = s.floats("ee_position", 3), s.floats("ee_orientation", 4)
    t = s.number("timestamp")
    state = RobotState(q, dq, (x, y, z), (qx, qy, qz, qw), s.number("gripper_width"), t)
    objects = {
        str(k): np.asarray(pose, dtype=float).reshape(7).tolist()
        for k, pose in f.mapping("objects").items()
    }
    snapshot = Snapshot(list(f.floats("joints")), objects, t)
    return Status(state, f.vector("target", 3), f.number("yaw"), snapshot)


# -- the worker -----------------------------------------------------------------------------------
def _describe(world: TabletopWorld, robot: SimRobot) -> RobotDescription:
    info = robot.info
    arm = world.require_arm()
    joints = tuple(
        JointSpec(name, lo, hi, float(v))
        for name, lo, hi, v in zip(
            info.joint_names, info.joint_lower, info.joint_upper, arm.limits.velocity, strict=True
        )
    )

    def k(spec: CameraSpec) -> tuple[tuple[float, ...], ...]:
        return tuple(tuple(float(v) for v in row) for row in spec.intrinsics.matrix)

    main, wrist = world.main_camera, world.wrist_camera
    ext = tuple(tuple(float(v) for v in row) for row in world.main_extrinsics)
    return RobotDescription(
        name=info.name,
        joints=joints,
        control_hz=info.control_hz,
        home=tuple(info.home),
        max_gripper_width=info.max_gripper_width,
        cameras=(
            CameraModel("main", main.width, main.height, k(main), ext),
            CameraModel("wrist", wrist.width, wrist.height, k(wrist), None),
        ),
    )


def _serve(inp: int, out: int) -> None:
    init = read_message(inp)
    try:
        world = TabletopWorld(str(init["robot"]))
        world.build(scene_of(init, "physics worker"))
        hz = Fields(init, "init").integer("control_hz")
        robot = SimRobot(world, control_hz=hz, limits=_PERMISSIVE)
        description = _describe(world, robot)
    except Exception as err:  # report any build failure to the server, then stop
        write_message(out, error_reply(err))
        return
    arm = world.require_arm()

    def status(kind: str) -> dict[str, object]:
        target, yaw = robot.ee_target()
        states = p.getJointStates(arm.body, arm.movable, physicsClientId=world.client)
        return {
            "type": kind,
            "state": robot.state().to_dict(),
            "target": target.tolist(),
            "yaw": yaw,
            "joints": [float(s[0]) for s in states],
            "objects": {
                oid: [*s.position.tolist(), *s.orientation.tolist()]
                for oid, s in world.object_states().items()
            },
        }

    write_message(out, {**status("ready"), "robot": description.to_dict()})
    while True:
        try:
            req = read_message(inp)
        except EOFError:
            world.close()
            return
        try:
            f = Fields(req, "physics request")
            kind = f.text("type")
            if kind == "ee":
                robot.command_ee(f.vector("position", 3), f.number("yaw"), f.number("gripper"))
            elif kind == "joints":
                robot.command_joints(f.vector("positions"), f.number("gripper"))
            elif kind == "hold":
                robot.hold()
            elif kind == "stop":
                robot.stop()  # motors hold the measured pose; the target follows it
                robot.resume()  # the server keeps its own latch
            elif kind != "status":
                raise ValueError(f"unknown physics request {kind!r}")
            write_message(out, status("status"))
        except Exception as err:  # one bad request must not end the worker
            write_message(out, error_reply(err))


if __name__ == "__main__":
    sys.exit(worker_main(_serve))
