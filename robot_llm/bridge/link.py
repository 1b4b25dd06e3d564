"""The client's connection to a bridge server: RPC, commands, the state stream, reconnects.

Every receive has a timeout. RPC uses a REQ socket that is closed and recreated when a reply
does not come (the zguide's "Lazy Pirate"). A background thread reads the state stream, sends
heartbeats while the client holds control, and watches the link: no state for `link_timeout`
seconds, or state from a different server (a restart), makes the link "down", then
"reconnecting" with growing pauses until a new hello succeeds ("up").
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

import zmq

from robot_llm.bridge.curve import ClientKeys
from robot_llm.bridge.endpoints import Endpoints
from robot_llm.bridge.errors import LinkDown, RemoteError
from robot_llm.bridge.messages import Ack, Command, StateReport, command_fields, parse_ack
from robot_llm.bridge.protocol import (
    LEASE_ELSEWHERE,
    MAX_REQUEST_BYTES,
    PROTOCOL_VERSION,
    Fields,
    Message,
    ProtocolError,
    Stamper,
    VersionMismatch,
    pack,
    unpack,
)
from robot_llm.bridge.state_stream import StateStream
from robot_llm.bridge.welcome import Welcome, client_socket, parse_welcome
from robot_llm.robots.base import RobotError

log = logging.getLogger("robot_llm.bridge.client")
LinkCallback = Callable[[str], None]


class Link:
    """One client's sockets to one server. Thread-safe; see the module docstring."""

    def __init__(
        self,
        address: str,
        *,
        client: str = "robot-llm",
        control: bool = True,
        keys: ClientKeys | None = None,
        rpc_timeout: float = 1.0,
        ack_timeout: float = 0.5,
        link_timeout: float = 1.0,
        max_backoff: float = 2.0,
        on_link: LinkCallback | None = None,
    ) -> None:
        self.endpoints = Endpoints.from_address(address)
        self.client, self.control, self.keys = client, control, keys
        self.rpc_timeout, self.ack_timeout = rpc_timeout, ack_timeout
        self.link_timeout, self.max_backoff = link_timeout, max_backoff
        self._callbacks = [on_link] if on_link is not None else []
        self.ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self._rpc_lock, self._cmd_lock = threading.Lock(), threading.Lock()
        self._closed = threading.Event()
        self._rpc_stamp, self._cmd_stamp = Stamper(), Stamper()
        self._req: zmq.Socket[bytes] | None = None
        self._cmd = client_socket(self.ctx, zmq.DEALER, keys)
        self._cmd.immediate = True  # no queueing towards a server that is not there
        self._cmd.sndhwm = 16
        self._ack_wait_ms = max(1, round(ack_timeout * 1000))
        self._cmd.rcvtimeo = self._ack_wait_ms  # a receive that waits is one call, not two
        self._cmd.connect(self.endpoints.command)
        self.states = StateStream(self.ctx, self.endpoints.state, keys)
        self.welcome: Welcome | None = None
        self.link = "down"
        self.error = ""  # why the link is down for good (version mismatch), else ""
        self._last_sent = 0.0
        self._thread: threading.Thread | None = None
        self.idle_hooks: list[Callable[[float], None]] = []  # called from the link thread

    # -- connection -----------------------------------------------------------------------------
    def connect(self, timeout: float = 5.0) -> Welcome:
        """Say hello (retrying until `timeout`) and start the link thread."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                welcome = self._hello(min(self.rpc_timeout, max(0.05, deadline - time.monotonic())))
                break
            except LinkDown:
                if time.monotonic() >= deadline:
                    self.close()
                    raise LinkDown(
                        f"no bridge server answers at {self.endpoints.rpc} (waited {timeout:.1f} s)"
                    ) from None
            except Exception:
                self.close()
                raise
        self._thread = threading.Thread(target=self._run, name="bridge-link", daemon=True)
        self._thread.start()
        return welcome

    def add_listener(self, callback: LinkCallback) -> None:
        self._callbacks.append(callback)

    def close(self) -> None:
        """Say bye (releasing control), stop the link thread, close the sockets."""
        if self._closed.is_set():
            return
        if self.welcome is not None and self.control and self.link == "up":
            with contextlib.suppress(RobotError):
                self.rpc("bye", timeout=0.3, session=self.welcome.session)
        self._closed.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        with self._rpc_lock:
            if self._req is not None:
                self._req.close(linger=0)
        with self._cmd_lock:
            self._cmd.close(linger=0)
        self.states.close()
        self.ctx.term()

    def _hello(self, timeout: float) -> Welcome:
        previous = self.welcome
        reclaim = previous.session if previous is not None else 0
        reply = self.rpc(
            "hello",
            timeout=timeout,
            version=list(PROTOCOL_VERSION),
            control=self.control,
            session=reclaim,
        )
        welcome = parse_welcome(reply, previous)
        self.welcome = welcome
        self.states.keep(welcome.state, streamed=False)
        self._set_link("up")
        return welcome

    def _set_link(self, state: str) -> None:
        if state == self.link:
            return
        self.link = state
        log.info("bridge link %s (%s)", state, self.endpoints.rpc)
        for cb in list(self._callbacks):
            try:
                cb(state)
            except Exception:  # a listener's bug must not break the link
                log.exception("link listener failed")

    # -- RPC ------------------------------------------------------------------------------------
    def rpc(
        self, kind: str, timeout: float | None = None, *, urgent: bool = False, **fields: object
    ) -> Message:
        """Send one request and wait for its reply; LinkDown on timeout, RemoteError on error.

        `urgent` requests (hold, e-stop) go on a socket of their own, so they never wait for
        another request in flight: they may come from any thread or a signal handler.
        """
        wait = self.rpc_timeout if timeout is None else timeout
        msg = self._rpc_stamp(kind, **{"client": self.client, **fields})
        if self._closed.is_set():
            raise LinkDown("the link is closed")
        if urgent:
            try:
                sock = client_socket(self.ctx, zmq.REQ, self.keys)
            except zmq.ZMQError as err:  # the context is closing
                raise LinkDown(f"cannot send {kind!r}: {err}") from None
            try:
                sock.connect(self.endpoints.rpc)
                reply = self._exchange(sock, msg, wait)
            finally:
                sock.close(linger=0)
        else:
            with self._rpc_lock:
                if self._req is None:
                    self._req = client_socket(self.ctx, zmq.REQ, self.keys)
                    self._req.connect(self.endpoints.rpc)
                try:
                    reply = self._exchange(self._req, msg, wait)
                except LinkDown:
                    self._req.close(linger=0)  # Lazy Pirate: a REQ that lost a reply is stuck
                    self._req = None
                    raise
        if reply.get("type") == "error":
            f = Fields(reply, "error")
            code, message = f.text("code", "error"), f.text("message", "")
            if code == "version":
                raise VersionMismatch(message)
            raise RemoteError(code, message)
        return reply

    def _exchange(self, req: zmq.Socket[bytes], msg: Message, wait: float) -> Message:
        try:
            req.send(pack(msg), zmq.NOBLOCK)
            if req.poll(int(wait * 1000)):
                return unpack(req.recv(), limit=MAX_REQUEST_BYTES * 16)
        except zmq.ZMQError:
            pass
        raise LinkDown(f"no reply to {msg['type']!r} from {self.endpoints.rpc} in {wait:.2f} s")

    # -- commands -------------------------------------------------------------------------------
    def command(self, command: Command) -> Ack:
        """Send a command and wait for its acknowledgement.

        The server binds the lease to one command connection; when this socket reconnected
        underneath (a new connection), a hello with the session moves the lease to it, once."""
        try:
            return self._command(command)
        except RemoteError as err:
            if err.code != "control" or LEASE_ELSEWHERE not in str(err):
                raise
            log.info("the command connection changed; taking the lease back")
            self._hello(self.rpc_timeout)
            return self._command(command)

    def _command(self, command: Command) -> Ack:
        welcome = self.welcome
        if welcome is None or self.link != "up":
            raise LinkDown(
                f"the bridge link is {self.link}" + (f": {self.error}" if self.error else "")
            )
        kind, fields = command_fields(command)
        msg = self._cmd_stamp(kind, session=welcome.session, **fields)
        with self._cmd_lock:
            try:
                self._cmd.send(pack(msg), zmq.NOBLOCK)
            except zmq.Again:  # not connected (yet, just after a reconnect?): wait a little
                self._send_when_connected(pack(msg))
            self._last_sent = time.monotonic()
            deadline = self._last_sent + self.ack_timeout
            shortened = False
            try:
                while True:
                    try:
                        reply = unpack(self._cmd.recv())
                    except zmq.Again:
                        break
                    if reply.get("re") == msg["seq"]:
                        if reply.get("type") == "error":
                            f = Fields(reply, "error")
                            raise RemoteError(f.text("code", "error"), f.text("message", ""))
                        return parse_ack(reply)
                    # An ack that came after its command timed out: wait on for ours.
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cmd.rcvtimeo = max(1, round(left * 1000))
                    shortened = True
            finally:
                if shortened:
                    self._cmd.rcvtimeo = self._ack_wait_ms
        raise LinkDown(f"no acknowledgement in {self.ack_timeout:.2f} s")

    def _send_when_connected(self, data: bytes) -> None:
        deadline = time.monotonic() + self.ack_timeout
        while (left := deadline - time.monotonic()) > 0:
            if self._cmd.poll(int(left * 1000) + 1, zmq.POLLOUT):
                try:
                    self._cmd.send(data, zmq.NOBLOCK)
                    return
                except zmq.Again:
                    continue
        raise LinkDown("the command channel is not connected")

    # -- state ----------------------------------------------------------------------------------
    def state(self) -> StateReport:
        """The newest state report (LinkDown before the first)."""
        return self.states.latest()

    def next_state(self, timeout: float) -> StateReport:
        """The next state message that arrives on the stream."""
        return self.states.next(timeout)

    # -- the link thread ------------------------------------------------------------------------
    def _run(self) -> None:
        last_state = time.monotonic()
        while not self._closed.is_set():
            try:
                report = self.states.receive(20)
            except ProtocolError as err:
                log.warning("bad state message: %s", err)
                continue
            if report is not None:
                last_state = report.received
                welcome = self.welcome
                if welcome is not None and report.server != welcome.server:
                    log.warning("the bridge server restarted; saying hello again")
                    self._reconnect()
                    last_state = time.monotonic()
                    continue
                self.states.keep(report)
            now = time.monotonic()
            if now - last_state > self.link_timeout and self.link == "up":
                log.warning("no state from %s for %.1f s", self.endpoints.state, now - last_state)
                self._set_link("down")
                self._reconnect()
                last_state = time.monotonic()
            self._heartbeat(now)
            for hook in list(self.idle_hooks):
                hook(now)

    def _heartbeat(self, now: float) -> None:
        welcome = self.welcome
        if not self.control or welcome is None or self.link != "up":
            return
        interval = welcome.config.get("heartbeat_s", 0.05)
        if not isinstance(interval, int | float) or now - self._last_sent < interval:
            return
        if not self._cmd_lock.acquire(blocking=False):
            return  # a command is being sent: that counts as a heartbeat
        try:
            msg = self._cmd_stamp("heartbeat", session=welcome.session)
            self._cmd.send(pack(msg), zmq.NOBLOCK)
            self._last_sent = now
        except zmq.ZMQError:
            pass  # not connected: the link check will notice
        finally:
            self._cmd_lock.release()

    def _reconnect(self) -> None:
        self._set_link("reconnecting")
        pause = 0.1
        while not self._closed.is_set():
            try:
                self._hello(self.rpc_timeout)
                return
            except VersionMismatch as err:
                self.error = str(err)
                log.error("bridge: %s", err)
                self._set_link("down")
                return
            except RobotError as err:
                log.debug("reconnect failed: %s", err)
            except ProtocolError as err:
                self.error = str(err)
                self._set_link("down")
                return
            self._closed.wait(pause)
            pause = min(pause * 2, self.max_backoff)
