"""Camera frames on the client side: one SUB socket per camera, subscribed while in use.

The server captures a camera only while someone subscribes to it, so a feed subscribes at the
first `frame()` and unsubscribes after `linger` seconds without one (the link thread calls
`expire`). A frame counts as fresh when its timestamp (the driver's clock, the one state uses)
is not older than the state the caller last saw.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import zmq

from robot_llm.bridge.curve import ClientKeys
from robot_llm.bridge.messages import parse_frame
from robot_llm.bridge.protocol import MAX_FRAME_BYTES, Fields, ProtocolError, unpack
from robot_llm.bridge.welcome import client_socket
from robot_llm.robots.base import RobotError
from robot_llm.types import CameraFrame

DEFAULT_LINGER_S = 2.0


class NoFrame(RobotError):
    """No fresh frame came from a camera in time."""


@dataclass
class _Feed:
    sock: zmq.Socket[bytes]
    topic: bytes
    lock: threading.Lock = field(default_factory=threading.Lock)
    subscribed: bool = False
    last_used: float = 0.0
    newest: CameraFrame | None = None  # the newest frame read, whoever asked for it


class CameraFeeds:
    """Fresh frames from the server's camera stream, by camera name. Thread-safe."""

    def __init__(
        self,
        ctx: zmq.Context[zmq.Socket[bytes]],
        endpoint: str,
        keys: ClientKeys | None = None,
        linger: float = DEFAULT_LINGER_S,
    ) -> None:
        self.ctx, self.endpoint, self.keys, self.linger = ctx, endpoint, keys, linger
        self._feeds: dict[str, _Feed] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _feed(self, camera: str) -> _Feed:
        with self._lock:
            if self._closed:
                raise NoFrame("the camera feeds are closed")
            feed = self._feeds.get(camera)
            if feed is None:
                sock = client_socket(self.ctx, zmq.SUB, self.keys)
                sock.rcvhwm = 2  # the server is not asked to queue frames nobody reads
                sock.maxmsgsize = MAX_FRAME_BYTES
                sock.connect(self.endpoint)
                feed = self._feeds[camera] = _Feed(sock, f"{camera}/".encode())
            return feed

    def frame(self, camera: str, newer_than: float | None, timeout: float) -> CameraFrame:
        """The first frame of `camera` stamped at or after `newer_than` (None: any new one).
        Each message is read once, so the newest frame is kept for callers that share the
        feed: one that another caller has already read is returned when it is new enough."""
        feed = self._feed(camera)
        deadline = time.monotonic() + timeout
        with feed.lock:
            if not feed.subscribed:
                feed.sock.setsockopt(zmq.SUBSCRIBE, feed.topic)
                feed.subscribed = True
            feed.last_used = time.monotonic()
            newest = feed.newest
            if newest is not None and newer_than is not None and newest.timestamp >= newer_than:
                return newest  # read for another caller (a live view and the executor share)
            try:
                while (left := deadline - time.monotonic()) > 0:
                    if not feed.sock.poll(int(left * 1000) + 1):
                        break
                    parts = feed.sock.recv_multipart()
                    if len(parts) != 2 or parts[0] != feed.topic:
                        continue
                    msg = unpack(parts[1], limit=MAX_FRAME_BYTES)
                    if newer_than is not None and Fields(msg).number("timestamp") < newer_than:
                        continue  # captured before the caller asked
                    feed.newest = parse_frame(msg)
                    return feed.newest
            except ProtocolError as err:
                raise NoFrame(f"camera {camera!r} sent a bad frame: {err}") from None
            finally:
                feed.last_used = time.monotonic()
        raise NoFrame(f"no fresh frame from camera {camera!r} in {timeout:.1f} s")

    def expire(self, now: float) -> None:
        """Unsubscribe cameras unused for `linger` seconds, so the server stops capturing."""
        with self._lock:
            feeds = list(self._feeds.values())
        for feed in feeds:
            if feed.subscribed and now - feed.last_used > self.linger:
                if not feed.lock.acquire(blocking=False):
                    continue
                try:
                    if not self._closed:
                        feed.sock.setsockopt(zmq.UNSUBSCRIBE, feed.topic)
                    feed.subscribed = False
                finally:
                    feed.lock.release()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            feeds, self._feeds = list(self._feeds.values()), {}
        for feed in feeds:
            with feed.lock:
                feed.sock.close(linger=0)
