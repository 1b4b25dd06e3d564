"""The PyBullet tabletop world: one physics client with a table, an arm, scene objects, cameras.

This is the simulator facade. It owns its client, builds a scene from a SceneSpec, steps physics
at 240 Hz, reports object poses by scene id and renders its cameras. Tasks and the gymnasium env
sit on top of it; nothing above `envs/` touches PyBullet.
"""

from __future__ import annotations

import contextlib
import os
import time

import numpy as np
import pybullet as p

from robot_llm.envs.appearance import DEFAULT_TABLE_COLOR, NEUTRAL, Appearance
from robot_llm.envs.arm import Arm
from robot_llm.envs.bodies import spawn_object
from robot_llm.envs.camera import CameraSpec, RenderedFrame, look_at, pose_from_link, render
from robot_llm.envs.robots import RobotDescription, get_robot
from robot_llm.envs.table_look import table_visual
from robot_llm.tabletop.geometry import rest_height
from robot_llm.tabletop.object_state import ObjectState
from robot_llm.tabletop.scene import ObjectSpec, SceneSpec

PHYSICS_HZ = 240
TABLE_HALF_EXTENTS = (0.55, 0.75, 0.025)
TABLE_CENTER_X = 0.40
TABLE_COLOR = (*DEFAULT_TABLE_COLOR, 1.0)
FLOOR_HEIGHT = -0.75  # the table stands on a floor, so nothing falls forever

# Main camera: above and behind the workspace, looking over the robot's shoulder along +x, so
# image left is the robot's left (+y) and the top of the image is far (+x).
MAIN_CAMERA_EYE = np.array([0.20, 0.0, 1.20])
MAIN_CAMERA_TARGET = np.array([0.50, 0.0, 0.0])
MAIN_CAMERA = CameraSpec("main", 640, 480, fov_y_deg=33.0, near=0.1, far=2.5)
WRIST_CAMERA = CameraSpec("wrist", 320, 240, fov_y_deg=60.0, near=0.02, far=1.5)
# Wrist camera: on the side of the hand, 5 cm off the tool axis across the fingers' travel
# (hand x, not y: a camera on the fingers' axis sees a finger fill the middle of its image),
# looking along the tool axis.
WRIST_CAMERA_OFFSET = np.array(
    [[1.0, 0.0, 0.0, 0.05], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.02], [0.0, 0.0, 0.0, 1.0]]
)


# Off-screen renderers: PyBullet's TinyRenderer (CPU, the default) or OpenGL through PyBullet's
# EGL plugin (a GPU, or Mesa's llvmpipe on a CPU: about 3x faster at 640 x 480 on this project's
# machines, with the same perception accuracy). The EGL plugin and driver print banners on file
# descriptor 1 at load and at every image, so it suits processes whose stdout carries nothing
# (the bridge's render workers). "auto" is EGL where the plugin loads, else TinyRenderer.
RENDERERS = ("tiny", "egl", "auto")


def _load_egl(client: int, required: bool) -> int:
    import importlib.util

    spec = importlib.util.find_spec("eglRenderer")
    plugin = -1
    if spec is not None and spec.origin:
        plugin = p.loadPlugin(spec.origin, "_eglRendererPlugin", physicsClientId=client)
    if plugin >= 0:
        return int(p.ER_BULLET_HARDWARE_OPENGL)
    if not required:
        return int(p.ER_TINY_RENDERER)
    p.disconnect(physicsClientId=client)
    raise RuntimeError(
        "the EGL renderer is not available here (PyBullet's eglRenderer plugin needs libEGL, "
        "e.g. apt-get install libegl1); use renderer 'tiny'"
    )


class TabletopWorld:
    """A table, an arm and the objects of a scene in a private PyBullet client.

    `appearance` is how the world looks (robot_llm.envs.appearance): the neutral default, or a
    randomized one for benchmarks under conditions like a real camera's. Its table look takes
    effect at the next `build`, its light and camera effects at the next render.
    """

    def __init__(
        self,
        robot: str | RobotDescription = "panda",
        gui: bool = False,
        main_camera: CameraSpec | None = None,
        wrist_camera: CameraSpec | None = None,
        renderer: str = "tiny",
        appearance: Appearance | None = None,
    ) -> None:
        if renderer not in RENDERERS:
            raise ValueError(f"unknown renderer {renderer!r}; renderers are {', '.join(RENDERERS)}")
        if gui and not os.environ.get("DISPLAY"):
            raise RuntimeError("GUI mode needs a display: DISPLAY is not set (use DIRECT mode)")
        self.description = get_robot(robot) if isinstance(robot, str) else robot
        self.gui = gui
        self.client = p.connect(p.GUI if gui else p.DIRECT)
        self.renderer = p.ER_BULLET_HARDWARE_OPENGL if gui else p.ER_TINY_RENDERER
        if not gui and renderer in ("egl", "auto"):
            self.renderer = _load_egl(self.client, required=renderer == "egl")
        self.main_camera = main_camera or MAIN_CAMERA
        self.wrist_camera = wrist_camera or WRIST_CAMERA
        self.appearance = appearance or NEUTRAL
        self.main_extrinsics = look_at(MAIN_CAMERA_EYE, MAIN_CAMERA_TARGET, np.array([0, 0, 1.0]))
        self.arm: Arm | None = None
        self.scene: SceneSpec | None = None
        self.bodies: dict[str, int] = {}
        self.physics_seconds = 0.0  # wall time spent inside stepSimulation, for benchmarks
        self.physics_steps = 0

    # -- building -------------------------------------------------------------------------------
    def build(self, scene: SceneSpec, settle_steps: int = 48) -> None:
        """Reset the simulation and load the table, the arm at home and exactly the scene's objects.

        A full reset keeps episodes bit-for-bit reproducible: nothing carries over from before.
        """
        c = self.client
        p.resetSimulation(physicsClientId=c)
        p.setPhysicsEngineParameter(
            fixedTimeStep=1.0 / PHYSICS_HZ,
            numSolverIterations=50,
            deterministicOverlappingPairs=1,
            physicsClientId=c,
        )
        p.setGravity(0, 0, -9.81, physicsClientId=c)
        if self.gui:
            p.configureDebugVisualizer(p.COV_ENABLE_RENDERING, 0, physicsClientId=c)
        half = TABLE_HALF_EXTENTS
        col = p.createCollisionShape(p.GEOM_BOX, halfExtents=half, physicsClientId=c)
        with table_visual(c, half, self.appearance) as vis:
            self.table = p.createMultiBody(
                0.0, col, vis, basePosition=(TABLE_CENTER_X, 0.0, -half[2]), physicsClientId=c
            )
        p.changeDynamics(self.table, -1, lateralFriction=0.6, physicsClientId=c)
        floor = p.createCollisionShape(p.GEOM_PLANE, physicsClientId=c)
        self.floor = p.createMultiBody(0.0, floor, -1, (0, 0, FLOOR_HEIGHT), physicsClientId=c)
        self.arm = Arm(c, self.description)
        self.arm.reset_home()
        self.scene = scene
        self.bodies = {}
        base_z: dict[str, float] = {}
        for spec in _support_order(scene):
            z = 0.0
            if spec.on is not None:
                sup = scene.get(spec.on)
                z = base_z[sup.id] + rest_height(sup.kind, sup.size)
            base_z[spec.id] = z
            self.bodies[spec.id] = spawn_object(c, spec, z + 0.0005)
        self._body_to_id = {b: i for i, b in self.bodies.items()}
        self._spec_bodies = [(o, self.bodies[o.id]) for o in scene.objects]
        if self.gui:
            p.configureDebugVisualizer(p.COV_ENABLE_RENDERING, 1, physicsClientId=c)
        self.step_physics(settle_steps)

    def close(self) -> None:
        if self.client >= 0:
            p.disconnect(physicsClientId=self.client)
            self.client = -1

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    # -- stepping -------------------------------------------------------------------------------
    def step_physics(self, n: int = 1) -> None:
        """Advance physics by n steps of 1/240 s, timing the time spent inside PyBullet."""
        c = self.client
        step = p.stepSimulation
        clock = time.perf_counter
        t0 = clock()
        for _ in range(n):
            step(physicsClientId=c)
        self.physics_seconds += clock() - t0
        self.physics_steps += n

    # -- state ----------------------------------------------------------------------------------
    def require_arm(self) -> Arm:
        if self.arm is None:
            raise RuntimeError("the world has no scene yet: call build(scene) first")
        return self.arm

    def object_states(self) -> dict[str, ObjectState]:
        """Poses of every scene object, keyed by the scene's ids."""
        if self.scene is None:
            return {}
        c = self.client
        get = p.getBasePositionAndOrientation
        out = {}
        for spec, body in self._spec_bodies:
            pos, quat = get(body, physicsClientId=c)
            out[spec.id] = ObjectState(spec, np.array(pos), np.array(quat))
        return out

    def object_id_of_body(self, body: int) -> str | None:
        return self._body_to_id.get(body)

    def contacts(self, object_id: str) -> set[str]:
        """Ids of scene objects (plus "table" and "robot") touching an object."""
        out: set[str] = set()
        for cp in p.getContactPoints(bodyA=self.bodies[object_id], physicsClientId=self.client):
            other = cp[2]
            if other == self.table:
                out.add("table")
            elif self.arm is not None and other == self.arm.body:
                out.add("robot")
            else:
                oid = self._body_to_id.get(other)
                if oid is not None:
                    out.add(oid)
        return out

    def save_state(self) -> int:
        """Snapshot positions and velocities of everything (see `restore_state`).

        Restoring gives back exactly these poses, but stepping on from a restored snapshot is not
        bit-identical to the first time once objects touch a bowl or tray: Bullet leaves the
        contact cache of compound shapes out of the snapshot.
        Rebuild from the scene for exact replays.
        """
        return int(p.saveState(physicsClientId=self.client))

    def restore_state(self, state_id: int) -> None:
        p.restoreState(stateId=state_id, physicsClientId=self.client)

    # -- cameras --------------------------------------------------------------------------------
    def render_main(self, segmentation: bool = False) -> RenderedFrame:
        return render(
            self.client,
            self.main_camera,
            self.main_extrinsics,
            self.renderer,
            segmentation,
            self.appearance,
        )

    def wrist_extrinsics(self) -> np.ndarray:
        arm = self.require_arm()
        pos, quat = arm.link_pose(arm.camera_link)
        return pose_from_link(pos, quat, WRIST_CAMERA_OFFSET)

    def render_wrist(self, segmentation: bool = False) -> RenderedFrame:
        return render(
            self.client,
            self.wrist_camera,
            self.wrist_extrinsics(),
            self.renderer,
            segmentation,
            self.appearance,
        )


def _support_order(scene: SceneSpec) -> list[ObjectSpec]:
    """Objects ordered so that every support comes before what rests on it."""
    done: set[str] = set()
    order: list[ObjectSpec] = []
    pending = list(scene.objects)
    while pending:
        rest = []
        for o in pending:
            if o.on is None or o.on in done:
                order.append(o)
                done.add(o.id)
            else:
                rest.append(o)
        pending = rest
    return order
