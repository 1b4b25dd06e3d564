"""The `sim` driver: the PyBullet arm of robot_llm.robots.sim.SimRobot behind the bridge.

The world comes from a scene file or a seeded task (as `robot-llm run` builds it). Each control
call advances physics by one control period; the bridge server paces its control loop to
wall-clock time, so the simulated arm moves in real time like a physical one. Physics runs in a
worker process (sim_physics.py) and the cameras (main, wrist) in others (sim_render.py), so
PyBullet never holds the server's GIL: commands, RPCs and the watchdog are answered while the
arm steps. Limits are the server's business: the simulated arm gets generous ones, and the
supervisor's apply first.
"""

from __future__ import annotations

import logging

import numpy as np

from robot_llm.bridge.description import RobotDescription
from robot_llm.bridge.driver import DriverError
from robot_llm.bridge.sim_physics import PhysicsProcess, Snapshot, Status, world_init
from robot_llm.bridge.sim_render import RenderPool
from robot_llm.errors import InputError
from robot_llm.robots.kinematics import robot_chain
from robot_llm.tabletop.scene import SceneSpec, load_scene
from robot_llm.types import CameraFrame, RobotState

log = logging.getLogger("robot_llm.bridge.server")
# How the cameras draw the arm: its own visual meshes, or its collision shapes (light: about a
# sixth less CPU per image, envs/light_visuals.py). Physics never changes.
RENDER_DETAILS = ("full", "light")


class SimDriverError(InputError):
    """Bad options for the sim driver (no scene, unknown task)."""


def _scene(scene: str | None, task: str | None, seed: int, robot: str = "panda") -> SceneSpec:
    if scene and task:
        raise SimDriverError("the sim driver takes either a scene or a task, not both")
    if scene:
        return load_scene(scene)
    if not task:
        raise SimDriverError("the sim driver needs a scene: --scene FILE or --task ID --seed N")
    from gymnasium.utils.seeding import np_random

    from robot_llm.envs import ENV_IDS, env_id
    from robot_llm.envs.tasks import make_task

    name = task.split("/")[-1].removesuffix("-v0")
    if env_id(name) not in ENV_IDS:
        raise SimDriverError(f"unknown task {task!r}; known: {', '.join(ENV_IDS)}")
    rng, _ = np_random(seed)
    spec: SceneSpec = make_task(name, robot).reset(rng).scene
    return spec


def _renderer(name: str) -> str:
    from robot_llm.envs.world import RENDERERS

    if name not in RENDERERS:
        raise SimDriverError(f"unknown renderer {name!r}; renderers are {', '.join(RENDERERS)}")
    return name


def _appearance(
    randomize: int | str | None, seed: int, strength: float | str, task: str = ""
) -> dict[str, object] | None:
    """The randomized look every render worker applies (None: the neutral look): the one
    `robot-llm run --randomize` gives the same scene or task and seed."""
    if randomize is None or randomize == "":
        return None
    from robot_llm.envs.appearance import appearance_for

    try:
        look = appearance_for(int(randomize), seed, float(strength), task)
    except ValueError as err:
        raise SimDriverError(f"randomize={randomize!r}, strength {strength!r}: {err}") from None
    return look.to_dict()


def _control_hz(value: int | str) -> int:
    from robot_llm.envs.world import PHYSICS_HZ

    hz = int(value)
    if hz <= 0 or PHYSICS_HZ % hz:
        raise SimDriverError(f"control_hz must divide {PHYSICS_HZ}, got {hz}")
    return hz


class SimDriver:
    """A Driver over a simulated arm in a physics worker; thread-safe."""

    def __init__(
        self,
        *,
        scene: str | None = None,
        task: str | None = None,
        seed: int | str = 0,
        control_hz: int | str = 24,
        render_workers: int | str = 1,
        robot: str = "panda",
        renderer: str = "auto",
        randomize: int | str | None = None,
        randomize_strength: float | str = 1.0,
        render_detail: str = "full",
    ) -> None:
        if render_detail not in RENDER_DETAILS:
            raise SimDriverError(
                f"unknown render_detail {render_detail!r}; details are {', '.join(RENDER_DETAILS)}"
            )
        spec = _scene(scene, task, int(seed), robot)
        hz, render = _control_hz(control_hz), _renderer(renderer)
        if int(render_workers) < 1:
            raise SimDriverError("render_workers must be >= 1")
        look = _appearance(randomize, int(seed), randomize_strength, task or "")
        self._chain = robot_chain(robot)
        self._physics_init = world_init(spec, robot, control_hz=hz)
        self._physics = PhysicsProcess(self._physics_init)
        self._renders = RenderPool(
            world_init(spec, robot, renderer=render, appearance=look, render_detail=render_detail),
            int(render_workers),
        )

    def _step(self, kind: str, **fields: object) -> Status:
        try:
            return self._physics.request(kind, **fields)
        except (OSError, EOFError, TimeoutError, ValueError) as err:
            raise DriverError(f"the physics worker failed: {err}") from err

    # -- Driver ---------------------------------------------------------------------------------
    def describe(self) -> RobotDescription:
        return self._physics.description

    def read_state(self) -> RobotState:
        return self._physics.status.state

    def ee_target(self) -> tuple[np.ndarray, float]:
        status = self._physics.status
        return status.target.copy(), status.yaw

    def forward_kinematics(self, positions: np.ndarray) -> np.ndarray:
        return self._chain.position(positions)

    def write_ee(self, position: np.ndarray, yaw: float, gripper: float) -> None:
        self._step(
            "ee",
            position=np.asarray(position, dtype=float).tolist(),
            yaw=float(yaw),
            gripper=float(gripper),
        )

    def write_joints(self, positions: np.ndarray, gripper: float) -> None:
        self._step(
            "joints", positions=np.asarray(positions, dtype=float).tolist(), gripper=float(gripper)
        )

    def hold(self) -> None:
        self._step("hold")

    def stop(self) -> None:
        self._step("stop")

    def capture(self, camera: str) -> CameraFrame:
        self.describe().camera(camera)  # ValueError for an unknown camera
        return self._renders.render(camera, self._snapshot)

    def close(self) -> None:
        self._renders.close()
        self._physics.close()

    def recover(self) -> None:
        """Restart a physics worker that has died (reset calls this); its world is rebuilt from
        the scene, so objects are back where the scene put them. DriverError when it cannot."""
        if self._physics.alive():
            return
        self._physics.close()
        try:
            self._physics = PhysicsProcess(self._physics_init)
        except DriverError as err:
            raise DriverError(f"the physics worker could not be restarted: {err}") from None
        log.warning("the physics worker had died: restarted, its world rebuilt from the scene")

    # -- sim only -------------------------------------------------------------------------------
    def objects(self) -> dict[str, dict[str, list[float]]]:
        """Simulator poses of the scene's objects by id (the bridge's sim-only `objects` RPC)."""
        return {
            oid: {"position": pose[:3], "orientation": pose[3:]}
            for oid, pose in self._snapshot().objects.items()
        }

    def _snapshot(self) -> Snapshot:
        return self._physics.status.snapshot
