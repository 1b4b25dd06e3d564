"""RemoteRobot: the Robot protocol over the bridge, so plans run on a remote arm as in sim.

    robot = RemoteRobot("tcp://127.0.0.1:5555")
    Executor(robot, CameraPerceiver()).run(plan, reference_scene=scene)

Commands are acknowledged with what the server's supervisor let through (`Applied`), and each
command call returns after one control period, timed so that the next command reaches the
server between two control ticks (as SimRobot with realtime=True returns after its period).
The link reconnects by itself; `link` is "up", "down" or "reconnecting", and `on_link` hears
every change. A lost link makes commands raise RobotError (LinkDown) at once; the server holds
the arm when its watchdog sees nothing from this client. This module never imports PyBullet.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from pathlib import Path

import numpy as np

from robot_llm.bridge.curve import client_keys
from robot_llm.bridge.errors import LinkDown, RemoteError
from robot_llm.bridge.feeds import CameraFeeds
from robot_llm.bridge.limits import SafetyLimits
from robot_llm.bridge.link import Link, LinkCallback
from robot_llm.bridge.messages import Ack, EETarget, JointTarget, Keep, StateReport
from robot_llm.bridge.protocol import Fields, Message
from robot_llm.robots.base import Applied, RobotError, RobotInfo
from robot_llm.types import CameraFrame, RobotState

log = logging.getLogger("robot_llm.bridge.client")


class RemoteRobot:
    """A Robot whose arm is behind a bridge server (docs/bridge-protocol.md).

    `control=False` opens it read-only (state, cameras, e-stop; no commands). `curve_keys`: a
    key folder with server.key and client.key_secret (curve.py). Timeouts are in seconds.
    """

    def __init__(
        self,
        address: str,
        *,
        client: str = "robot-llm",
        control: bool = True,
        curve_keys: str | Path | None = None,
        connect_timeout: float = 5.0,
        rpc_timeout: float = 1.0,
        ack_timeout: float = 0.5,
        link_timeout: float = 1.0,
        camera_timeout: float = 10.0,
        on_link: LinkCallback | None = None,
    ) -> None:
        keys = client_keys(curve_keys) if curve_keys is not None else None
        self._link = Link(
            address,
            client=client,
            control=control,
            keys=keys,
            rpc_timeout=rpc_timeout,
            ack_timeout=ack_timeout,
            link_timeout=link_timeout,
            on_link=on_link,
        )
        welcome = self._link.connect(connect_timeout)
        self.control = control
        self.camera_timeout = camera_timeout
        self._feeds = CameraFeeds(self._link.ctx, self._link.endpoints.camera, keys)
        self._link.idle_hooks.append(self._feeds.expire)
        robot = welcome.robot
        limits = SafetyLimits.from_dict(Fields(welcome.config, "config").mapping("limits"))
        self._info = RobotInfo(
            name=robot.name,
            joint_names=tuple(j.name for j in robot.joints),
            joint_lower=tuple(j.lower for j in robot.joints),
            joint_upper=tuple(j.upper for j in robot.joints),
            control_hz=robot.control_hz,
            max_gripper_width=robot.max_gripper_width,
            home=robot.home,
            cameras=tuple(c.name for c in robot.cameras),
            limits=limits.robot_limits(),
        )
        self.limits = limits
        self.description = robot  # what the server's driver says about the arm and cameras
        self.period = 1.0 / robot.control_hz
        self._lock = threading.Lock()
        self._sync(welcome.state)
        self._link.add_listener(self._on_link)
        self._stopped = threading.Event()
        self._cleared_at = 0.0  # when our last resume or reset was answered

    # -- Robot protocol -------------------------------------------------------------------------
    @property
    def info(self) -> RobotInfo:
        return self._info

    def state(self) -> RobotState:
        return self._link.state().state

    def capture(self, camera: str = "main") -> CameraFrame:
        self._check_camera(camera)
        newer_than = self._link.state().state.timestamp
        return self._feeds.frame(camera, newer_than, self.camera_timeout)

    def next_frame(self, camera: str = "main", after: float | None = None) -> CameraFrame:
        """The next frame of `camera` stamped after `after` (a live view's previous frame;
        None: any). `capture` waits for a frame taken after the call, which verification needs
        and which skips every frame still in flight; a live view shows every frame sent."""
        self._check_camera(camera)
        newer_than = None if after is None else after + 1e-6
        return self._feeds.frame(camera, newer_than, self.camera_timeout)

    def camera_depth(self, camera: str = "main") -> bool:
        """Whether the camera measures depth (False: a colour-only camera, whose frames carry
        the table plane's depth)."""
        self._check_camera(camera)
        return self.description.camera(camera).depth

    def _check_camera(self, camera: str) -> None:
        if camera not in self._info.cameras:
            raise ValueError(
                f"unknown camera {camera!r}; cameras are {', '.join(self._info.cameras)}"
            )

    def command_ee(self, position: np.ndarray, yaw: float, gripper: float) -> Applied:
        pos = np.asarray(position, dtype=float)
        if pos.shape != (3,) or not (
            np.isfinite(pos).all() and math.isfinite(yaw) and math.isfinite(gripper)
        ):
            raise ValueError(f"end-effector command must be finite: {pos.tolist()}, {yaw}")
        target = (float(pos[0]), float(pos[1]), float(pos[2]))
        return self._send(EETarget(target, float(yaw), float(gripper)))

    def command_joints(self, positions: np.ndarray, gripper: float) -> Applied:
        q = np.asarray(positions, dtype=float)
        n = len(self._info.joint_names)
        if q.shape != (n,) or not np.isfinite(q).all() or not math.isfinite(gripper):
            raise ValueError(f"joint command must be {n} finite values")
        return self._send(JointTarget(q, float(gripper)))

    def hold(self) -> Applied:
        return self._send(Keep())

    def stop(self) -> None:
        """Latch a hold on the server now (safe from any thread); `resume()` clears it."""
        self._stopped.set()
        try:
            self._link.rpc("hold", urgent=True)
        except RobotError as err:  # the server's watchdog holds the arm of a silent client
            log.warning("hold request failed: %s", err)

    def resume(self) -> None:
        """Clear a hold latched by stop() (an e-stop needs `reset()`)."""
        self._link.rpc("resume")
        self._stopped.clear()
        self._cleared_at = time.monotonic()

    @property
    def stopped(self) -> bool:
        if self._stopped.is_set():
            return True
        try:
            report = self._link.state()
        except LinkDown:
            return False
        if report.received <= self._cleared_at:  # sent before our resume or reset
            return False
        return report.state.mode in ("estopped", "fault") or report.hold_reason == "request"

    @property
    def hold_reason(self) -> str:
        """Why the server holds the arm: "request", "idle", "watchdog" ("" while it moves or
        while the link is down)."""
        try:
            return self._link.state().hold_reason
        except LinkDown:
            return ""

    def ee_target(self) -> tuple[np.ndarray, float]:
        with self._lock:
            position, yaw, epoch = self._target[0], self._target[1], self._epoch
        try:
            report = self._link.state()
        except LinkDown:
            report = None
        if report is not None and report.epoch > epoch:  # the server reset its target since
            return np.asarray(report.target_position), report.target_yaw
        return position.copy(), yaw

    # -- beyond the Robot protocol --------------------------------------------------------------
    @property
    def link(self) -> str:
        """ "up", "down" or "reconnecting"."""
        return self._link.link

    def add_link_listener(self, callback: LinkCallback) -> None:
        self._link.add_listener(callback)

    def estop(self) -> None:
        """Latch an e-stop on the server: nothing moves until `reset()`."""
        self._stopped.set()
        self._link.rpc("estop", urgent=True)

    def reset(self) -> None:
        """Clear an e-stop, a fault and a hold on the server (the operator's decision)."""
        self._link.rpc("reset")
        self._stopped.clear()
        self._cleared_at = time.monotonic()

    def configure(self, **settings: object) -> Message:
        """Change camera settings (camera_hz, camera_encoding, jpeg_quality); the config."""
        reply = self._link.rpc("config", set=settings)
        return dict(Fields(reply, "config").mapping("config"))

    def objects(self) -> dict[str, object]:
        """Simulator poses of the scene's objects (sim driver only; for tests and debugging)."""
        return dict(Fields(self._link.rpc("objects"), "objects").mapping("objects"))

    def close(self) -> None:
        """Release control (the arm holds) and close the connection."""
        self._feeds.close()
        self._link.close()

    def __enter__(self) -> RemoteRobot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------------
    def _send(self, command: EETarget | JointTarget | Keep) -> Applied:
        if not self.control:
            raise RobotError("this RemoteRobot was opened without control")
        start = time.monotonic()
        try:
            ack = self._link.command(command)
        except RemoteError as err:
            raise RobotError(f"the bridge refused the command: {err}") from None
        received = time.monotonic()
        self._remember(ack)
        # Return so that the next command lands mid-way between two ticks of the server.
        until = min(max(ack.until_tick, 0.0), self.period)
        wake = min(received + until + self.period / 2, start + 1.5 * self.period)
        delay = wake - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return ack.applied

    def _sync(self, state: StateReport) -> None:
        with self._lock:
            self._target = (np.asarray(state.target_position), state.target_yaw)
            self._epoch = state.epoch

    def _on_link(self, link: str) -> None:
        welcome = self._link.welcome
        if link == "up" and welcome is not None:  # after a reconnect: maybe a new server
            self._sync(welcome.state)

    def _remember(self, ack: Ack) -> None:
        with self._lock:
            if ack.epoch >= self._epoch:
                a = ack.applied
                self._target = (np.asarray(a.position, dtype=float), a.yaw)
                self._epoch = ack.epoch
