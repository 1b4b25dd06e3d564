"""The client's view of a server's state stream: the newest report, and waits for new ones.

A SUB socket with CONFLATE keeps only the newest message; the link thread reads it (`receive`)
and, once it has checked the report comes from the server it said hello to, `keep`s it.
"""

from __future__ import annotations

import threading
import time

import zmq

from robot_llm.bridge.curve import ClientKeys
from robot_llm.bridge.errors import LinkDown
from robot_llm.bridge.messages import StateReport
from robot_llm.bridge.protocol import unpack
from robot_llm.bridge.welcome import client_socket


class StateStream:
    """Thread-safe: one thread receives, any thread reads."""

    def __init__(
        self, ctx: zmq.Context[zmq.Socket[bytes]], endpoint: str, keys: ClientKeys | None
    ) -> None:
        self.sock = client_socket(ctx, zmq.SUB, keys)
        self.sock.conflate = True
        self.sock.setsockopt(zmq.SUBSCRIBE, b"")
        self.sock.connect(endpoint)
        self._cond = threading.Condition()
        self._report: StateReport | None = None
        self._count = 0  # reports kept from the stream
        self._closed = False

    def receive(self, timeout_ms: int) -> StateReport | None:
        """The next report on the socket, or None after `timeout_ms` (ProtocolError if bad)."""
        if not self.sock.poll(timeout_ms):
            return None
        return StateReport.from_message(unpack(self.sock.recv()))

    def keep(self, report: StateReport, streamed: bool = True) -> None:
        with self._cond:
            self._report = report
            self._count += streamed
            self._cond.notify_all()

    def latest(self) -> StateReport:
        with self._cond:
            if self._report is None:
                raise LinkDown("no state from the server yet")
            return self._report

    def next(self, timeout: float) -> StateReport:
        """The next report kept from the stream."""
        deadline = time.monotonic() + timeout
        with self._cond:
            count = self._count
            while self._count == count or self._report is None:
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise LinkDown(f"no state message in {timeout:.2f} s")
                self._cond.wait(left)
            return self._report

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self.sock.close(linger=0)
