"""Camera rendering for the sim driver, in worker processes (worker_pipe.py).

PyBullet's renderer holds Python's GIL for the whole image (over 100 ms at 640 x 480 on a slow
core); in the server's process that would stall its sockets, watchdog and control loop. So each
worker builds the same scene in its own PyBullet client and, per request, copies the arm's joint
positions and the objects' poses of the driver's latest physics snapshot, then renders one
camera. Run as `python -m robot_llm.bridge.sim_render`; it exits when its stdin closes.

A worker keeps its camera's newest image with the state it showed. When a request's state is the
same (every joint and object pose within `SAME_STATE_TOL`: far below a pixel), as while the arm
holds still, it sends that image again instead of rendering: the renderer would draw the same
pixels (camera effects are seeded from the image, so even a randomized look repeats exactly),
and an idle arm's cameras then cost almost nothing. Frames keep fresh timestamps.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace

import numpy as np
import pybullet as p

from robot_llm.bridge.driver import DriverError
from robot_llm.bridge.protocol import Fields, encode_array
from robot_llm.bridge.sim_physics import Snapshot, scene_of
from robot_llm.bridge.worker_pipe import (
    WorkerProcess,
    error_reply,
    read_message,
    worker_main,
    write_message,
)
from robot_llm.envs.appearance import Appearance
from robot_llm.envs.assets import resolve_asset
from robot_llm.envs.light_visuals import light_visuals_urdf
from robot_llm.envs.robots import RobotDescription, get_robot
from robot_llm.envs.world import TabletopWorld
from robot_llm.types import CameraFrame

RENDER_TIMEOUT_S = 20.0
SAME_STATE_TOL = 1e-4  # radians, meters, quaternion components: a twentieth of a pixel at most


# -- the server side ------------------------------------------------------------------------------
class _Worker:
    def __init__(self, init: Mapping[str, object]) -> None:
        self.process = WorkerProcess("robot_llm.bridge.sim_render", init, "render worker")

    def render(self, camera: str, snap: Snapshot) -> tuple[CameraFrame, bool]:
        """The frame, and whether the worker sent its previous image again (same state)."""
        reply = self.process.request(
            {"type": "render", "camera": camera, "joints": snap.joints, "objects": snap.objects},
            RENDER_TIMEOUT_S,
        )
        f = Fields(reply, "image")
        frame = CameraFrame(
            f.array("rgb"),
            f.array("depth"),
            np.asarray(reply["intrinsics"], dtype=float),
            np.asarray(reply["extrinsics"], dtype=float),
            snap.timestamp,
            camera,
        )
        return frame, bool(reply.get("reused", False))

    def close(self) -> None:
        self.process.close()


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
        self.rendered = 0  # frames drawn by a renderer
        self.reused = 0  # frames sent again because the state had not changed

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
            frame, reused = worker.render(camera, snapshot())
            with self._lock:
                if reused:
                    self.reused += 1
                else:
                    self.rendered += 1
            return frame
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
    init = read_message(inp)
    try:
        look = init.get("appearance")
        world = TabletopWorld(
            _robot(str(init["robot"]), str(init.get("render_detail", "full"))),
            renderer=str(init.get("renderer", "tiny")),
            appearance=Appearance.from_dict(dict(look)) if isinstance(look, Mapping) else None,
        )
        world.build(scene_of(init, "render worker"), settle_steps=0)
    except Exception as err:  # report any build failure to the server, then stop
        write_message(out, error_reply(err))
        return
    write_message(out, {"type": "ready"})
    arm = world.require_arm()
    c = world.client
    renders = {"main": world.render_main, "wrist": world.render_wrist}
    last: dict[str, tuple[_State, dict[str, object]]] = {}  # per camera: state, reply
    while True:
        try:
            req = read_message(inp)
        except EOFError:
            return
        try:
            f = Fields(req, "render")
            camera = f.text("camera")
            state = _State(
                f.vector("joints"),
                {k: np.asarray(v, dtype=float) for k, v in f.mapping("objects").items()},
            )
            before = last.get(camera)
            if before is not None and state.same_as(before[0]):
                write_message(out, {**before[1], "reused": True})
                continue
            for j, q in zip(arm.movable, state.joints, strict=True):
                p.resetJointState(arm.body, j, float(q), physicsClientId=c)
            for oid, v in state.objects.items():
                p.resetBasePositionAndOrientation(world.bodies[oid], v[:3], v[3:], c)
            frame = renders[camera]()
            reply: dict[str, object] = {
                "type": "image",
                "rgb": encode_array(frame.rgb),
                "depth": encode_array(frame.depth),
                "intrinsics": frame.intrinsics.matrix.tolist(),
                "extrinsics": np.asarray(frame.extrinsics).tolist(),
            }
            last[camera] = (state, reply)
            write_message(out, reply)
        except Exception as err:  # one bad request must not end the worker
            write_message(out, error_reply(err))


def _robot(name: str, detail: str) -> str | RobotDescription:
    """The robot to draw: by name, or ("light" detail) its description drawn with its collision
    shapes (envs/light_visuals.py)."""
    if detail == "full":
        return name
    if detail != "light":
        raise ValueError(f"unknown render detail {detail!r}; details are full, light")
    description = get_robot(name)
    return replace(description, urdf=light_visuals_urdf(resolve_asset(description.urdf)))


class _State:
    """What a render shows: the arm's joint positions and each object's pose (xyz, xyzw)."""

    def __init__(self, joints: np.ndarray, objects: Mapping[str, np.ndarray]) -> None:
        self.joints = np.asarray(joints, dtype=float)
        self.objects = dict(objects)

    def same_as(self, other: _State) -> bool:
        if self.joints.shape != other.joints.shape or self.objects.keys() != other.objects.keys():
            return False
        if np.abs(self.joints - other.joints).max(initial=0.0) > SAME_STATE_TOL:
            return False
        return all(
            np.abs(v - other.objects[k]).max(initial=0.0) <= SAME_STATE_TOL
            for k, v in self.objects.items()
        )


if __name__ == "__main__":
    sys.exit(worker_main(_serve))
