"""Camera rendering for the sim driver, in worker processes.

PyBullet's renderer holds Python's GIL for the whole image (over 100 ms at 640 x 480 on a slow
core); in the server's process that would stall its sockets, watchdog and control loop. So each
worker builds the same scene in its own PyBullet client and, per request, copies the arm's joint
positions and the objects' poses from the server's world, then renders one camera. Requests and
replies are length-prefixed msgpack maps on the worker's stdin and stdout (nothing pickled).
Run as `python -m robot_llm.bridge.sim_render`; it exits when its stdin closes.
"""

from __future__ import annotations

import os
import queue
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from robot_llm.bridge.driver import DriverError
from robot_llm.bridge.protocol import Fields, Message, encode_array, pack, unpack
from robot_llm.types import CameraFrame

_HEADER = struct.Struct("<I")
_MAX_MESSAGE = 256 * 1024 * 1024
START_TIMEOUT_S = 60.0
RENDER_TIMEOUT_S = 20.0


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
                raise TimeoutError("the render worker did not answer in time")
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError("the render worker closed its pipe")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_message(fd: int, timeout: float | None = None) -> Message:
    deadline = None if timeout is None else time.monotonic() + timeout
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    return unpack(_read_exact(fd, size, deadline), limit=_MAX_MESSAGE)


# -- the server side ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Snapshot:
    """Positions of the arm body's movable joints (gripper fingers included) and object poses
    (x, y, z, qx, qy, qz, qw), with the driver's time."""

    joints: list[float]
    objects: dict[str, list[float]]
    timestamp: float


class _Worker:
    def __init__(self, init: Mapping[str, object]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "robot_llm.bridge.sim_render"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.out, self.inp = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        write_message(self.out, init)
        reply = read_message(self.inp, START_TIMEOUT_S)
        if reply.get("type") != "ready":
            self.close()
            raise DriverError(f"render worker failed to start: {reply.get('message', reply)}")

    def render(self, camera: str, snap: Snapshot) -> CameraFrame:
        write_message(
            self.out,
            {"type": "render", "camera": camera, "joints": snap.joints, "objects": snap.objects},
        )
        reply = read_message(self.inp, RENDER_TIMEOUT_S)
        if reply.get("type") != "image":
            raise DriverError(f"render worker: {reply.get('message', reply)}")
        f = Fields(reply, "image")
        return CameraFrame(
            f.array("rgb"),
            f.array("depth"),
            np.asarray(reply["intrinsics"], dtype=float),
            np.asarray(reply["extrinsics"], dtype=float),
            snap.timestamp,
            camera,
        )

    def close(self) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class RenderPool:
    """Render workers per camera, started on first use; `render` is safe from many threads."""

    def __init__(self, init: Mapping[str, object], workers_per_camera: int = 1) -> None:
        if workers_per_camera < 1:
            raise ValueError("render_workers must be >= 1")
        self.init = dict(init)
        self.size = workers_per_camera
        self._free: dict[str, queue.Queue[_Worker | None]] = {}
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False

    def _queue(self, camera: str) -> queue.Queue[_Worker | None]:
        with self._lock:
            if self._closed:
                raise DriverError("the sim driver is closed")
            q = self._free.get(camera)
            if q is None:
                q = self._free[camera] = queue.Queue()
                for _ in range(self.size):
                    q.put(None)  # a slot: the worker starts when first taken
            return q

    def render(self, camera: str, snapshot: Callable[[], Snapshot]) -> CameraFrame:
        """Render `camera` as the world is when a worker is free (`snapshot` is taken then)."""
        q = self._queue(camera)
        worker = q.get()
        try:
            if worker is None:
                worker = _Worker(self.init)
                with self._lock:
                    self._all.append(worker)
            return worker.render(camera, snapshot())
        except (OSError, EOFError, TimeoutError, ValueError) as err:
            if worker is not None:
                worker.close()
            worker = None  # the next request starts a fresh worker
            raise DriverError(f"rendering camera {camera!r} failed: {err}") from err
        finally:
            q.put(worker)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._all = self._all, []
        for w in workers:
            w.close()


# -- the worker -----------------------------------------------------------------------------------
def _serve(inp: int, out: int) -> None:
    import pybullet as p

    from robot_llm.envs.scene import Workspace, parse_scene
    from robot_llm.envs.world import TabletopWorld

    init = read_message(inp)
    try:
        ws = Fields(Fields(init, "init").mapping("workspace"), "workspace")
        (x0, x1), (y0, y1) = ws.floats("x", 2), ws.floats("y", 2)
        workspace = Workspace((x0, x1), (y0, y1))
        spec = parse_scene(init["scene"], "render worker", workspace)
        world = TabletopWorld(str(init["robot"]), renderer=str(init.get("renderer", "tiny")))
        world.build(spec, settle_steps=0)
    except Exception as err:  # report any build failure to the server, then stop
        write_message(out, {"type": "error", "message": f"{type(err).__name__}: {err}"})
        return
    write_message(out, {"type": "ready"})
    arm = world.require_arm()
    c = world.client
    while True:
        try:
            req = read_message(inp)
        except EOFError:
            return
        try:
            for j, q in zip(arm.movable, Fields(req, "render").vector("joints"), strict=True):
                p.resetJointState(arm.body, j, float(q), physicsClientId=c)
            for oid, pose in Fields(req, "render").mapping("objects").items():
                v = np.asarray(pose, dtype=float)
                p.resetBasePositionAndOrientation(world.bodies[oid], v[:3], v[3:], c)
            renders = {"main": world.render_main, "wrist": world.render_wrist}
            frame = renders[Fields(req, "render").text("camera")]()
            write_message(
                out,
                {
                    "type": "image",
                    "rgb": encode_array(frame.rgb),
                    "depth": encode_array(frame.depth),
                    "intrinsics": frame.intrinsics.matrix.tolist(),
                    "extrinsics": np.asarray(frame.extrinsics).tolist(),
                },
            )
        except Exception as err:  # one bad request must not end the worker
            write_message(out, {"type": "error", "message": f"{type(err).__name__}: {err}"})


def main() -> int:
    # PyBullet prints to file descriptor 1 when it loads, and the EGL renderer at every image:
    # keep the real stdout for replies only, and drop the banners.
    out = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    _serve(sys.stdin.fileno(), out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
