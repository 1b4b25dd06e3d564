"""The server's request side: RPC (hello, bye, estop, hold, resume, reset, config, state,
objects) and the command channel (commands acknowledged, heartbeats not).

Both are ROUTER sockets. A request is one message frame after the peer's envelope (REQ
clients add an empty delimiter frame; the reply mirrors whatever envelope came in). Anything
that is not a valid message gets an "error" reply and a log line, and never reaches the arm.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

import zmq

from robot_llm.bridge.control import ControlRefused, Peer
from robot_llm.bridge.images import ENCODINGS
from robot_llm.bridge.messages import ack_fields, parse_command
from robot_llm.bridge.protocol import (
    PROTOCOL_VERSION,
    Fields,
    Message,
    ProtocolError,
    Stamper,
    pack,
    parse_version,
    unpack,
)
from robot_llm.bridge.streams import LogLimiter

if TYPE_CHECKING:
    from robot_llm.bridge.server import BridgeServer

log = logging.getLogger("robot_llm.bridge.server")
RPC_TYPES = ("hello", "bye", "estop", "hold", "resume", "reset", "config", "state", "objects")


class RequestHandler:
    """Turns request frames into reply frames for one server."""

    def __init__(self, server: BridgeServer) -> None:
        self.server = server
        self.control = server.control
        self._rpc_stamp = Stamper()
        self._ack_stamp = Stamper()
        self._warn = LogLimiter()

    def handle(self, channel: str, frames: list[bytes], peer: Peer) -> list[bytes] | None:
        envelope, body = [frames[0]], frames[1:]
        if body and body[0] == b"":
            envelope.append(b"")
            body = body[1:]
        stamp = self._rpc_stamp if channel == "rpc" else self._ack_stamp
        seq: object = None
        try:
            if len(body) != 1:
                raise ProtocolError("malformed", f"expected one message frame, got {len(body)}")
            msg = unpack(body[0])
            seq = msg.get("seq")
            reply = self.rpc(msg, peer) if channel == "rpc" else self.command(msg, peer)
            if reply is None:
                return None
        except (ProtocolError, ControlRefused) as err:
            code = err.code
            who = frames[0].hex()[:10]
            self._warn(logging.WARNING, "rejected %s message from %s: %s", channel, who, err)
            reply = stamp(
                "error", re=seq if isinstance(seq, int) else None, code=code, message=str(err)
            )
        except Exception as err:  # a bug must not take the server down: report and go on
            log.exception("internal error on a %s message from %s", channel, frames[0].hex()[:10])
            reply = stamp(
                "error",
                re=seq if isinstance(seq, int) else None,
                code="internal",
                message=f"{type(err).__name__}: {err}",
            )
        else:
            stamp.mark(reply)
        return [*envelope, pack(reply)]

    # -- RPC --------------------------------------------------------------------------------------
    def rpc(self, msg: Message, peer: Peer) -> Message:
        f = Fields(msg)
        kind = f.text("type")
        if kind not in RPC_TYPES:
            raise ProtocolError(
                "unknown_type", f"unknown request {kind!r}; requests are {', '.join(RPC_TYPES)}"
            )
        seq = f.integer("seq")
        f.number("t")
        who = f.text("client", f"peer {peer.connection.hex()[:10]}")
        if kind == "hello" or "version" in msg:
            parse_version(msg.get("version"), f"client {who!r}")
        c = self.control
        out: Message = {"type": "ok", "re": seq}
        if kind == "hello":
            return self._welcome(f, who, seq, peer)
        if kind == "bye":
            c.bye(f.integer("session"), peer)
        elif kind == "estop":
            c.estop(who)
        elif kind == "hold":
            c.request_hold(who)
        elif kind == "resume":
            c.resume()
        elif kind == "reset":
            c.reset(who)
        elif kind == "config":
            self._configure(f.mapping("set", required=False))
            out["config"] = self._config()
        elif kind == "state":
            out["state"] = c.report(self.server.server_id).fields()
        elif kind == "objects":
            objects = getattr(self.server.driver, "objects", None)
            if not callable(objects):
                raise ProtocolError("unsupported", "this driver has no objects (sim only)")
            out["objects"] = objects()
        mode, reason = c.mode()
        out.update(mode=mode, hold_reason=reason)
        return out

    def _welcome(self, f: Fields, who: str, seq: int, peer: Peer) -> Message:
        control = f.flag("control", False)
        session = self.control.hello(who, control, f.integer("session", 0), peer)
        log.info("hello from %r (control: %s)", who, control)
        return {
            "type": "welcome",
            "re": seq,
            "version": list(PROTOCOL_VERSION),
            "server": self.server.server_id,
            "session": session,
            "control": control,
            "robot": self.control.robot.to_dict(),
            "config": self._config(),
            "endpoints": self.server.endpoints.as_dict(),
            "state": self.control.report(self.server.server_id).fields(),
        }

    def _config(self) -> Message:
        cfg = self.server.config
        cam = self.server.camera
        return {
            "state_hz": cfg.state_hz,
            "control_hz": self.control.robot.control_hz,
            "camera_hz": cam.hz,
            "camera_rates": dict(cam.rates),
            "camera_encoding": cam.encoding,
            "jpeg_quality": cam.jpeg_quality,
            "heartbeat_s": cfg.limits.watchdog_s / 4,
            "limits": cfg.limits.to_dict(),
        }

    def _configure(self, changes: dict[str, object] | object) -> None:
        """Apply runtime camera settings; safety limits are the server operator's alone."""
        if not isinstance(changes, dict) or not changes:
            return
        f = Fields(changes, "config set")
        unknown = sorted(set(changes) - {"camera_hz", "camera_encoding", "jpeg_quality"})
        if unknown:
            raise ProtocolError("bad_field", f"config: {unknown[0]!r} cannot be set remotely")
        cam = self.server.camera
        hz = f.number("camera_hz", cam.hz)
        encoding = f.text("camera_encoding", cam.encoding)
        quality = f.integer("jpeg_quality", cam.jpeg_quality)
        if not 0 < hz <= 120 or encoding not in ENCODINGS or not 1 <= quality <= 100:
            raise ProtocolError(
                "bad_field",
                "config: camera_hz 0..120, camera_encoding raw|jpeg|png, jpeg_quality 1..100",
            )
        cam.hz, cam.encoding, cam.jpeg_quality = hz, encoding, quality

    # -- commands ---------------------------------------------------------------------------------
    def command(self, msg: Message, peer: Peer) -> Message | None:
        session, seq, cmd = parse_command(msg, len(self.control.robot.joints))
        ack = self.control.submit(session, cmd, peer)
        if ack is None:
            return None
        return {"type": "applied", **ack_fields(ack, seq)}


def peer_of(frames: list[zmq.Frame], curve: bool) -> Peer:
    """The connection a request came on and the peer's credential: its CURVE public key (the
    ZAP handler's User-Id), else its address ("127.0.0.1"; for IPC the peer process)."""
    try:
        credential = frames[-1].get("User-Id" if curve else "Peer-Address")
    except zmq.ZMQError:  # a transport without the property
        credential = ""
    return Peer(frames[0].bytes, str(credential))


def serve_channel(
    sock: zmq.Socket[bytes],
    channel: str,
    handler: RequestHandler,
    stop: threading.Event,
    curve: bool = False,
) -> None:
    """Answer the requests of one socket until `stop` is set (its own thread: a blocking
    receive wakes faster than a poller over several sockets)."""
    sock.rcvtimeo = 100  # ms: how often `stop` is looked at
    while not stop.is_set():
        try:
            parts = sock.recv_multipart(copy=False)
        except zmq.Again:
            continue
        frames = [part.bytes for part in parts]
        reply = handler.handle(channel, frames, peer_of(parts, curve))
        if reply is not None:
            try:
                sock.send_multipart(reply, zmq.NOBLOCK)
            except zmq.ZMQError as err:
                log.debug("reply to a gone peer dropped: %s", err)
