"""BridgeServer: puts a Driver's arm on the network, behind the safety supervisor.

Four sockets on consecutive ports (endpoints.py): RPC (ROUTER), commands (ROUTER), state (PUB)
and camera frames (XPUB). One thread each serves RPC and commands, runs the control loop
(control.py), publishes state and publishes camera frames. Bad messages get an error reply
and a log line; nothing about them reaches the arm. docs/bridge-protocol.md has the protocol.
"""

from __future__ import annotations

import errno
import logging
import os
import random
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq

from robot_llm.bridge import curve
from robot_llm.bridge.control import ArmControl
from robot_llm.bridge.driver import Driver
from robot_llm.bridge.endpoints import (
    DEFAULT_ADDRESS,
    Endpoints,
    connect_address,
    is_local,
    is_port_zero,
    with_random_port,
)
from robot_llm.bridge.images import ENCODINGS
from robot_llm.bridge.limits import SafetyLimits
from robot_llm.bridge.rpc import RequestHandler, serve_channel
from robot_llm.bridge.streams import CameraSettings, CameraStreamer, publish_state
from robot_llm.errors import InputError

log = logging.getLogger("robot_llm.bridge.server")


class RealtimeError(InputError):
    """The control thread could not get the real-time scheduling asked for."""


MAX_SOCKET_MESSAGE = 1 << 20  # libzmq drops a peer that sends more than this in one message


@dataclass(frozen=True)
class ServerConfig:
    """How a BridgeServer listens and streams; `limits` are the supervisor's."""

    bind: str = DEFAULT_ADDRESS
    state_hz: float = 100.0
    camera_hz: float = 15.0
    camera_rates: Mapping[str, float] = field(default_factory=dict)  # per camera, over camera_hz
    camera_encoding: str = "raw"
    jpeg_quality: int = 90
    camera_threads: int = 2
    limits: SafetyLimits = field(default_factory=SafetyLimits)
    curve_keys: str | Path | None = None
    insecure: bool = False  # allow a non-loopback bind without CURVE
    realtime_priority: int | None = None  # SCHED_FIFO priority of the control thread

    def __post_init__(self) -> None:
        Endpoints.from_address(self.bind)  # AddressError for a bad address
        if self.curve_keys is None and not self.insecure and not is_local(self.bind):
            raise ValueError(
                f"{self.bind} serves the network without CURVE, so anyone who reaches it can "
                "drive the arm: give --curve-keys DIR (see 'bridge keygen'), or --insecure"
            )
        if self.realtime_priority is not None and not 1 <= self.realtime_priority <= 99:
            raise ValueError(f"real-time priority must be 1..99, got {self.realtime_priority}")
        if self.camera_encoding not in ENCODINGS:
            raise ValueError(
                f"camera encoding {self.camera_encoding!r} is not one of {', '.join(ENCODINGS)}"
            )
        if not (self.state_hz > 0 and self.camera_hz > 0):
            raise ValueError("state and camera rates must be > 0 Hz")
        for camera, hz in self.camera_rates.items():
            if not hz > 0:
                raise ValueError(f"camera {camera!r}: rate must be > 0 Hz, got {hz}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg quality must be 1..100, got {self.jpeg_quality}")


class BridgeServer:
    """Serves one driver. `start()` binds and starts the threads; `stop()` holds the arm,
    stops them and closes the driver (unless `close_driver=False`)."""

    def __init__(
        self, driver: Driver, config: ServerConfig | None = None, *, close_driver: bool = True
    ) -> None:
        self.driver = driver
        self.config = config or ServerConfig()
        self.close_driver = close_driver
        self.server_id = secrets.token_hex(8)
        self.control = ArmControl(driver, self.config.limits)
        self.camera = CameraSettings(
            self.config.camera_hz,
            self.config.camera_encoding,
            self.config.jpeg_quality,
            dict(self.config.camera_rates),
        )
        self._endpoints: Endpoints | None = None
        self._ctx: zmq.Context[zmq.Socket[bytes]] | None = None
        self._auth: Any = None
        self._sockets: dict[str, zmq.Socket[bytes]] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._realtime_set = threading.Event()
        self._realtime_error = ""

    @property
    def endpoints(self) -> Endpoints:
        """The endpoints the server is bound to (after `start`)."""
        if self._endpoints is None:
            raise RuntimeError("the server is not started")
        return self._endpoints

    @property
    def address(self) -> str:
        """The base address clients connect to (a wildcard host reads as loopback)."""
        return connect_address(self.endpoints.rpc)

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> str:
        ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self._ctx = ctx
        try:
            keys = None
            if self.config.curve_keys is not None:
                keys = curve.server_keys(self.config.curve_keys)
                self._auth = curve.start_authenticator(ctx, self.config.curve_keys)
            self._bind(ctx, keys)
        except Exception:
            self._close_sockets()
            raise
        s = self._sockets
        use_curve = keys is not None
        handler = RequestHandler(self)
        streamer = CameraStreamer(
            ctx, s["camera"], self.driver, self.camera, self.config.camera_threads
        )
        targets = {
            "bridge-rpc": lambda: serve_channel(s["rpc"], "rpc", handler, self._stop, use_curve),
            "bridge-commands": lambda: serve_channel(
                s["command"], "command", handler, self._stop, use_curve
            ),
            "bridge-control": self._control_loop,
            "bridge-state": lambda: publish_state(
                s["state"],
                lambda: self.control.report(self.server_id),
                self.config.state_hz,
                self._stop,
            ),
            "bridge-camera": lambda: streamer.run(self._stop),
        }
        for name, target in targets.items():
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        if not self._realtime_set.wait(10) or self._realtime_error:
            self.stop()
            raise RealtimeError(self._realtime_error or "the control thread did not start")
        secure = " with CURVE" if keys is not None else ""
        log.info("bridge serving %s%s on %s", self.control.robot.name, secure, self.address)
        if keys is None and not is_local(self.config.bind):
            log.warning(
                "INSECURE: %s serves the network without CURVE; anyone who reaches it can "
                "drive the arm",
                self.config.bind,
            )
        return self.address

    def stop(self) -> None:
        """Hold the arm, stop the threads, close the sockets (and the driver)."""
        if self._stop.is_set():
            return
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)
        self._close_sockets()
        if self.close_driver:
            self.driver.close()
        log.info("bridge stopped")

    def __enter__(self) -> BridgeServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals ------------------------------------------------------------------------------
    def _control_loop(self) -> None:
        """The control thread: under SCHED_FIFO when asked (this thread alone: the socket
        threads and the driver's worker processes keep their priority)."""
        priority = self.config.realtime_priority
        if priority is not None:
            try:
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
            except (OSError, AttributeError) as err:
                self._realtime_error = (
                    f"cannot run the control thread under SCHED_FIFO {priority}: {err} "
                    "(needs root or CAP_SYS_NICE on Linux)"
                )
                self._realtime_set.set()
                return
            log.info("control thread runs under SCHED_FIFO priority %d", priority)
        self._realtime_set.set()
        self.control.run(self._stop)

    def _bind(self, ctx: zmq.Context[zmq.Socket[bytes]], keys: tuple[bytes, bytes] | None) -> None:
        bind = self.config.bind
        rng = random.Random()
        for _attempt in range(50):
            address = with_random_port(bind, rng) if is_port_zero(bind) else bind
            endpoints = Endpoints.from_address(address)
            try:
                self._open(ctx, endpoints, keys)
            except zmq.ZMQError as err:
                self._close_sockets(keep_context=True)
                if err.errno == errno.EADDRINUSE and is_port_zero(bind):
                    continue
                raise OSError(f"cannot bind the bridge on {address}: {err}") from None
            self._endpoints = endpoints
            return
        raise OSError(f"found no 4 free consecutive ports for {bind}")

    def _open(
        self, ctx: zmq.Context[zmq.Socket[bytes]], ep: Endpoints, keys: tuple[bytes, bytes] | None
    ) -> None:
        kinds = {"rpc": zmq.ROUTER, "command": zmq.ROUTER, "state": zmq.PUB, "camera": zmq.XPUB}
        for name, kind in kinds.items():
            sock = ctx.socket(kind)
            self._sockets[name] = sock
            sock.linger = 0
            if kind == zmq.ROUTER:
                sock.maxmsgsize = MAX_SOCKET_MESSAGE
            else:
                sock.sndhwm = 4  # a slow subscriber loses old messages, never delays the server
            if keys is not None:
                curve.secure_server(sock, keys)
            sock.bind(getattr(ep, name))

    def _close_sockets(self, keep_context: bool = False) -> None:
        for sock in self._sockets.values():
            sock.close(linger=0)
        self._sockets = {}
        if keep_context:
            return
        if self._auth is not None:
            self._auth.stop()
            self._auth = None
        if self._ctx is not None:
            self._ctx.term()
            self._ctx = None
