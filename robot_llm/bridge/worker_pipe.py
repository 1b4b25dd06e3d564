"""Helper processes of the sim driver (physics, camera rendering) and the pipes to them.

PyBullet holds Python's GIL while it steps or renders, so in the bridge server's process it
would stall the sockets, the watchdog and the control loop. The sim driver therefore runs it in
child processes (`python -m MODULE`), one request at a time over the child's stdin and stdout:
length-prefixed msgpack maps, nothing pickled. The first message is the child's "init"; it
answers "ready" (with whatever it reports) or "error". Waiting on a pipe releases the GIL.
"""

from __future__ import annotations

import os
import select
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Mapping

from robot_llm.bridge.driver import DriverError
from robot_llm.bridge.protocol import Message, pack, unpack

_HEADER = struct.Struct("<I")
_MAX_MESSAGE = 256 * 1024 * 1024
START_TIMEOUT_S = 60.0


# -- framing --------------------------------------------------------------------------------------
def write_message(fd: int, message: Mapping[str, object]) -> None:
    data = pack(message)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks: list[bytes] = []
    while n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError("the worker process did not answer in time")
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError("the worker process closed its pipe")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_message(fd: int, timeout: float | None = None) -> Message:
    deadline = None if timeout is None else time.monotonic() + timeout
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    return unpack(_read_exact(fd, size, deadline), limit=_MAX_MESSAGE)


def error_reply(err: BaseException) -> dict[str, object]:
    return {"type": "error", "message": f"{type(err).__name__}: {err}"}


# -- the parent's side ----------------------------------------------------------------------------
class WorkerProcess:
    """One child process; `request` sends a map and returns the reply (not thread-safe)."""

    def __init__(self, module: str, init: Mapping[str, object], what: str) -> None:
        self.what = what
        # A process group of its own: a signal to the server's group (Ctrl-C at a terminal,
        # `timeout`, a service manager) must not end the worker before the server has held the
        # arm through it.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.out, self.inp = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        try:
            write_message(self.out, init)
            reply = read_message(self.inp, START_TIMEOUT_S)
        except (OSError, EOFError, TimeoutError, ValueError) as err:
            self.close()
            raise DriverError(f"{what} failed to start: {err}") from err
        if reply.get("type") != "ready":
            self.close()
            raise DriverError(f"{what} failed to start: {reply.get('message', reply)}")
        self.ready = reply

    def request(self, message: Mapping[str, object], timeout: float) -> Message:
        """The reply to `message`; DriverError for an error reply (the child keeps serving).
        A dead or silent child raises OSError, EOFError or TimeoutError."""
        write_message(self.out, message)
        reply = read_message(self.inp, timeout)
        if reply.get("type") == "error":
            raise DriverError(f"{self.what}: {reply.get('message', reply)}")
        return reply

    def close(self) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- the child's side -----------------------------------------------------------------------------
def worker_main(serve: Callable[[int, int], None]) -> int:
    """Run `serve(stdin_fd, reply_fd)` in a child process.

    The child runs in a process group of its own and ignores SIGINT and SIGTERM (a service
    manager may signal every process of the server's cgroup), so that the server can still hold
    the arm through it on its way out; the child ends when the server closes its stdin, or when
    the server is gone and the pipe closes. PyBullet prints to file descriptor 1 when it loads,
    and the EGL renderer at every image: the real stdout is kept for replies only and the
    banners go to /dev/null.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    out = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    serve(sys.stdin.fileno(), out)
    return 0
