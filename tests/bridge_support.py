"""Helpers for the bridge tests: servers on free loopback ports, raw sockets that never hang."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import zmq

from robot_llm.bridge.driver import Driver, load_driver
from robot_llm.bridge.limits import SafetyLimits
from robot_llm.bridge.protocol import Message, pack, unpack
from robot_llm.bridge.server import BridgeServer, ServerConfig

ROOT = Path(__file__).resolve().parents[1]
SCENE = ROOT / "sim_assets" / "scenes" / "blocks_and_bowls.yaml"
LOOPBACK = "tcp://127.0.0.1:0"


@contextmanager
def serving(
    driver: Driver | str = "mock",
    limits: SafetyLimits | None = None,
    curve_keys: Path | None = None,
) -> Iterator[BridgeServer]:
    """A started BridgeServer on free loopback ports, stopped afterwards."""
    if isinstance(driver, str):
        driver = load_driver(driver, {"scene": str(SCENE)} if driver == "sim" else {})
    config = ServerConfig(bind=LOOPBACK, limits=limits or SafetyLimits(), curve_keys=curve_keys)
    server = BridgeServer(driver, config)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class RawSocket:
    """A REQ or DEALER socket with receives that fail instead of hanging."""

    def __init__(self, endpoint: str, kind: int = zmq.REQ) -> None:
        self.ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.sock = self.ctx.socket(kind)
        self.sock.linger = 0
        self.sock.connect(endpoint)

    def send(self, *frames: bytes) -> None:
        self.sock.send_multipart(list(frames))

    def request(self, message: Message | bytes, timeout: float = 2.0) -> Message:
        self.send(message if isinstance(message, bytes) else pack(message))
        return self.receive(timeout)

    def receive(self, timeout: float = 2.0) -> Message:
        if not self.sock.poll(int(timeout * 1000)):
            raise AssertionError(f"no reply in {timeout} s")
        frames = self.sock.recv_multipart()
        return unpack(frames[-1], limit=1 << 24)

    def close(self) -> None:
        self.sock.close(linger=0)
        self.ctx.term()


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll until `predicate()`; the time it took. AssertionError after `timeout` seconds."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.005)
    return time.monotonic() - start


class ServeProcess:
    """`python -m robot_llm.bridge.cli serve ...` in a subprocess; `address` once it is ready."""

    def __init__(self, *args: str, timeout: float = 60.0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "robot_llm.bridge.cli", "serve", "--bind", LOOPBACK, *args],
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        self.address = ""
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(timeout):
            self.proc.kill()
            raise AssertionError("the server never said ready:\n" + "".join(self.lines))

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            if line.startswith("bridge ready on "):
                self.address = line.split()[-1]
                self._ready.set()
        self._ready.set()

    def stop(self, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
