"""The server's outgoing streams: state at a fixed rate, camera frames while someone watches.

State goes out on a PUB socket, one single-frame message per period (clients subscribe with
CONFLATE and always read the newest). Camera frames go out on an XPUB socket as two frames,
topic "<camera>/" then the message; the XPUB tells the server who subscribes, so a camera is
captured only while a client subscribes to it.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import zmq

from robot_llm.bridge.driver import Driver
from robot_llm.bridge.messages import StateReport, frame_fields
from robot_llm.bridge.protocol import Stamper, pack

log = logging.getLogger("robot_llm.bridge.server")


class LogLimiter:
    """Lets through at most `burst` messages per `window` seconds, then counts the rest."""

    def __init__(self, burst: int = 5, window: float = 1.0) -> None:
        self.burst, self.window = burst, window
        self._start, self._count, self._dropped = 0.0, 0, 0
        self._lock = threading.Lock()

    def __call__(self, level: int, message: str, *args: object) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._start > self.window:
                if self._dropped:
                    log.log(level, "(%d similar messages suppressed)", self._dropped)
                self._start, self._count, self._dropped = now, 0, 0
            self._count += 1
            if self._count > self.burst:
                self._dropped += 1
                return
        log.log(level, message, *args)


def publish_state(
    sock: zmq.Socket[bytes], report: Callable[[], StateReport], hz: float, stop: threading.Event
) -> None:
    """Publish a state message every 1 / hz seconds until `stop` is set."""
    stamp = Stamper()
    period = 1.0 / hz
    deadline = time.monotonic()
    while not stop.is_set():
        with contextlib.suppress(zmq.Again):  # PUB drops for slow subscribers anyway
            sock.send(pack(stamp("state", **report().fields())), zmq.NOBLOCK)
        deadline += period
        now = time.monotonic()
        if now > deadline + period:
            deadline = now
        stop.wait(max(0.0, deadline - now))


@dataclass
class CameraSettings:
    """Runtime camera settings; the config RPC may change them."""

    hz: float = 15.0
    encoding: str = "raw"
    jpeg_quality: int = 90
    rates: dict[str, float] = field(default_factory=dict)  # cameras with a rate of their own

    def rate(self, camera: str) -> float:
        return self.rates.get(camera, self.hz)


class CameraStreamer:
    """Captures subscribed cameras at `settings.hz` in `threads` threads per camera and
    publishes the frames in order on `xpub` (owned by the thread that calls `run`)."""

    def __init__(
        self,
        ctx: zmq.Context[zmq.Socket[bytes]],
        xpub: zmq.Socket[bytes],
        driver: Driver,
        settings: CameraSettings,
        threads: int,
    ) -> None:
        self.ctx, self.xpub, self.driver, self.settings = ctx, xpub, driver, settings
        self.cameras = [c.name for c in driver.describe().cameras]
        self.threads = max(1, threads)
        self._topics: set[bytes] = set()
        self._active = {c: threading.Event() for c in self.cameras}
        self._due = {c: 0.0 for c in self.cameras}
        self._order = itertools.count()
        self._sched = threading.Lock()
        self._ready: queue.Queue[tuple[str, int, bytes]] = queue.Queue(maxsize=64)
        self._inbox = f"inproc://camera-frames-{id(self)}"
        self._stamp = Stamper()
        self._warn = LogLimiter(burst=2, window=10.0)

    def run(self, stop: threading.Event) -> None:
        wake = self.ctx.socket(zmq.PULL)
        wake.linger = 0
        wake.bind(self._inbox)
        workers = [
            threading.Thread(target=self._capture, args=(c, stop), name=f"camera-{c}", daemon=True)
            for c in self.cameras
            for _ in range(self.threads)
        ]
        for w in workers:
            w.start()
        poller = zmq.Poller()
        poller.register(self.xpub, zmq.POLLIN)
        poller.register(wake, zmq.POLLIN)
        last_sent = {c: -1 for c in self.cameras}
        try:
            while not stop.is_set():
                events = dict(poller.poll(100))
                if self.xpub in events:
                    self._subscriptions()
                if wake in events:
                    while wake.poll(0):
                        wake.recv()
                while not self._ready.empty():
                    camera, order, payload = self._ready.get_nowait()
                    if order > last_sent[camera]:  # an older frame finished late: drop it
                        last_sent[camera] = order
                        self.xpub.send_multipart([f"{camera}/".encode(), payload], zmq.NOBLOCK)
        finally:
            for e in self._active.values():
                e.set()  # wake idle workers so that they see `stop`
            for w in workers:
                w.join(timeout=5)
            wake.close(linger=0)

    def _subscriptions(self) -> None:
        while self.xpub.poll(0):
            msg = self.xpub.recv()
            if not msg or msg[0] not in (0, 1):
                continue
            topic = msg[1:]
            if msg[0] == 1:
                self._topics.add(topic)
            else:
                self._topics.discard(topic)
        for c, active in self._active.items():
            name = f"{c}/".encode()
            if any(name.startswith(t) for t in self._topics):
                active.set()
            else:
                active.clear()

    def _capture(self, camera: str, stop: threading.Event) -> None:
        push = self.ctx.socket(zmq.PUSH)
        push.linger = 0
        push.connect(self._inbox)
        active = self._active[camera]
        try:
            while not stop.is_set():
                if not active.wait(0.2):
                    continue
                with self._sched:
                    now = time.monotonic()
                    due = max(self._due[camera], now)
                    self._due[camera] = due + 1.0 / max(self.settings.rate(camera), 0.1)
                    order = next(self._order)
                if stop.wait(max(0.0, due - now)):
                    return
                try:
                    frame = self.driver.capture(camera)
                    s = self.settings
                    msg = self._stamp("frame", **frame_fields(frame, s.encoding, s.jpeg_quality))
                    payload = pack(msg)
                except Exception as err:  # a camera failure must not stop the other streams
                    self._warn(logging.WARNING, "camera %r: %s", camera, err)
                    stop.wait(1.0)
                    continue
                try:
                    self._ready.put((camera, order, payload), timeout=1.0)
                    push.send(b"", zmq.NOBLOCK)
                except (queue.Full, zmq.Again):
                    pass
        finally:
            push.close(linger=0)
