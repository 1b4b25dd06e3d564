"""The client side of the hello: the welcome's fields, checked, and the client's sockets."""

from __future__ import annotations

from dataclasses import dataclass

import zmq

from robot_llm.bridge.curve import ClientKeys, secure_client
from robot_llm.bridge.description import RobotDescription
from robot_llm.bridge.messages import StateReport
from robot_llm.bridge.protocol import Fields, Message, ProtocolError, parse_version

# ZeroMQ's own reconnects back off up to this, well below the default link_timeout of 1 s, so
# that after a server restart the state stream flows again before the link is judged lost.
RECONNECT_IVL_MS = 100
RECONNECT_IVL_MAX_MS = 400


@dataclass(frozen=True)
class Welcome:
    """The server's answer to hello."""

    server: str
    session: int
    version: tuple[int, int]
    robot: RobotDescription
    config: dict[str, object]
    state: StateReport


def parse_welcome(reply: Message, previous: Welcome | None) -> Welcome:
    """The Welcome of a reply to hello: VersionMismatch for another major version,
    ProtocolError when a reconnect finds another robot than before."""
    f = Fields(reply, "welcome")
    version = parse_version(reply.get("version"), "the server")
    robot = RobotDescription.from_dict(f.mapping("robot"))
    if previous is not None and (
        robot.name != previous.robot.name or robot.joints != previous.robot.joints
    ):
        raise ProtocolError("robot", "the server now drives a different robot")
    return Welcome(
        f.text("server"),
        f.integer("session"),
        version,
        robot,
        dict(f.mapping("config")),
        StateReport.from_message(f.mapping("state")),
    )


def client_socket(
    ctx: zmq.Context[zmq.Socket[bytes]], kind: int, keys: ClientKeys | None
) -> zmq.Socket[bytes]:
    """A client socket: no linger, quick reconnects, CURVE when keys are given."""
    sock = ctx.socket(kind)
    sock.linger = 0
    sock.reconnect_ivl = RECONNECT_IVL_MS
    sock.reconnect_ivl_max = RECONNECT_IVL_MAX_MS
    if keys is not None:
        secure_client(sock, keys)
    return sock
