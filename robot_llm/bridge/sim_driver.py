"""The `sim` driver: the PyBullet arm of robot_llm.robots.sim.SimRobot behind the bridge.

The world comes from a scene file or a seeded task (as `robot-llm run` builds it). Each control
call advances physics by one control period; the bridge server paces its control loop to
wall-clock time, so the simulated arm moves in real time like a physical one. Cameras (main,
wrist) render in worker processes (sim_render.py), so rendering never stalls the server.
Limits are the server's business: the SimRobot here gets generous ones, and the supervisor's
apply first.
"""

from __future__ import annotations

import threading

import numpy as np
import pybullet as p

from robot_llm.bridge.description import CameraModel, JointSpec, RobotDescription
from robot_llm.bridge.sim_render import RenderPool, Snapshot
from robot_llm.envs.camera import CameraSpec
from robot_llm.envs.scene import SceneSpec, load_scene
from robot_llm.envs.world import TabletopWorld
from robot_llm.robots.base import RobotLimits
from robot_llm.robots.sim import SimRobot
from robot_llm.types import CameraFrame, RobotState

# The supervisor enforces the real limits before the sim sees a command.
_PERMISSIVE = RobotLimits(
    workspace_min=(-2.0, -2.0, -1.0),
    workspace_max=(2.0, 2.0, 2.0),
    max_ee_speed=100.0,
    max_yaw_rate=100.0,
    max_joint_speed=100.0,
)


class SimDriverError(ValueError):
    """Bad options for the sim driver (no scene, unknown task)."""


def _scene(scene: str | None, task: str | None, seed: int) -> SceneSpec:
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
    spec: SceneSpec = make_task(name).reset(rng).scene
    return spec


def _renderer(name: str) -> str:
    from robot_llm.envs.world import RENDERERS

    if name not in RENDERERS:
        raise SimDriverError(f"unknown renderer {name!r}; renderers are {', '.join(RENDERERS)}")
    return name


class SimDriver:
    """A Driver over a SimRobot; thread-safe (one lock around the simulator)."""

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
    ) -> None:
        spec = _scene(scene, task, int(seed))
        self.world = TabletopWorld(robot)
        self.world.build(spec)
        self.robot = SimRobot(self.world, control_hz=int(control_hz), limits=_PERMISSIVE)
        self._lock = threading.Lock()
        ws = spec.workspace
        self._renders = RenderPool(
            {
                "type": "init",
                "robot": robot,
                "scene": spec.to_dict(),
                "workspace": {"x": list(ws.x), "y": list(ws.y)},
                "renderer": _renderer(renderer),
            },
            int(render_workers),
        )
        self._description = self._describe()

    def _describe(self) -> RobotDescription:
        info = self.robot.info
        arm = self.world.require_arm()
        joints = tuple(
            JointSpec(name, lo, hi, float(v))
            for name, lo, hi, v in zip(
                info.joint_names,
                info.joint_lower,
                info.joint_upper,
                arm.limits.velocity,
                strict=True,
            )
        )
        main, wrist = self.world.main_camera, self.world.wrist_camera

        def k(spec: CameraSpec) -> tuple[tuple[float, ...], ...]:
            return tuple(tuple(float(v) for v in row) for row in spec.intrinsics.matrix)

        ext = tuple(tuple(float(v) for v in row) for row in self.world.main_extrinsics)
        return RobotDescription(
            name=info.name,
            joints=joints,
            control_hz=info.control_hz,
            home=tuple(info.home),
            max_gripper_width=info.max_gripper_width,
            cameras=(
                CameraModel("main", main.width, main.height, k(main), ext),
                CameraModel("wrist", wrist.width, wrist.height, k(wrist), None),
            ),
        )

    # -- Driver ---------------------------------------------------------------------------------
    def describe(self) -> RobotDescription:
        return self._description

    def read_state(self) -> RobotState:
        with self._lock:
            return self.robot.state()

    def ee_target(self) -> tuple[np.ndarray, float]:
        with self._lock:
            return self.robot.ee_target()

    def write_ee(self, position: np.ndarray, yaw: float, gripper: float) -> None:
        with self._lock:
            self.robot.command_ee(position, yaw, gripper)

    def write_joints(self, positions: np.ndarray, gripper: float) -> None:
        with self._lock:
            self.robot.command_joints(positions, gripper)

    def hold(self) -> None:
        with self._lock:
            self.robot.hold()

    def stop(self) -> None:
        with self._lock:
            self.robot.stop()  # motors hold the measured pose; the target follows it
            self.robot.resume()  # the server keeps its own latch

    def capture(self, camera: str) -> CameraFrame:
        self._description.camera(camera)  # ValueError for an unknown camera
        return self._renders.render(camera, self._snapshot)

    def close(self) -> None:
        self._renders.close()
        with self._lock:
            self.world.close()

    # -- sim only -------------------------------------------------------------------------------
    def objects(self) -> dict[str, dict[str, list[float]]]:
        """Simulator poses of the scene's objects by id (the bridge's sim-only `objects` RPC)."""
        with self._lock:
            states = self.world.object_states()
        return {
            oid: {"position": s.position.tolist(), "orientation": s.orientation.tolist()}
            for oid, s in states.items()
        }

    def _snapshot(self) -> Snapshot:
        with self._lock:
            arm = self.world.require_arm()
            states = p.getJointStates(arm.body, arm.movable, physicsClientId=self.world.client)
            objects = {
                oid: [*s.position.tolist(), *s.orientation.tolist()]
                for oid, s in self.world.object_states().items()
            }
            return Snapshot([float(s[0]) for s in states], objects, self.robot.sim_time)
