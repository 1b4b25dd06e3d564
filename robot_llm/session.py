"""An operator session: a robot with its camera, a planner with the dialogue so far, an executor.

`robot-llm plan`, `robot-llm run` and `robot-llm repl` all go through `Session`: the camera is
rendered and perceived (ids associated to the scene file's ids, never the simulator's state), the
command is planned with the session's `History` (so "it" and answers to questions carry across
turns), and a plan is executed by the `Executor` with replanning. Each turn gives a `TurnResult`
(`robot_llm.turn`), whose `to_dict()` is the `--json` output of the commands.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from robot_llm.config import ExecutorSettings, RobotConfig, StackConfig
from robot_llm.errors import InputError
from robot_llm.execution.budget import StepBudget
from robot_llm.robots.base import Robot
from robot_llm.skills import hand_after
from robot_llm.turn import TurnResult, TurnTimings
from robot_llm.types import CameraFrame, Plan, PlanResult, Scene

if TYPE_CHECKING:
    from robot_llm.execution import Executor
    from robot_llm.planning import History, Planner


log = logging.getLogger(__name__)


class ScenePerceiver(Protocol):
    """Camera frame to scene (CameraPerceiver, or TruthPerceiver for ablations)."""

    def perceive(self, frame: CameraFrame) -> Scene: ...


class SimulatedWorld(Protocol):
    """What a session needs of a simulated world: object poses for a task's verdict, and close."""

    def object_states(self) -> Mapping[str, Any]: ...

    def close(self) -> None: ...


class EpisodeTask(Protocol):
    """A task a session was opened with: its instruction and its own verdict."""

    @property
    def instruction(self) -> str: ...

    def evaluate(self, states: Mapping[str, Any]) -> Mapping[str, Any]: ...


def _new_history() -> History:
    from robot_llm.planning import History

    return History()


class SessionInputError(InputError):
    """Bad input for opening a session (unknown task, no scene, both a scene and a task)."""


@dataclass
class Session:
    """A world built from a scene file or a task, with its robot, perceiver, planner and history.

    `on_event` receives the executor's progress lines, `on_run_event` its events. `stop()` halts
    the arm from any thread.
    """

    world: SimulatedWorld | None  # None for a robot behind a bridge
    robot: Robot
    perceiver: ScenePerceiver
    reference: Scene | None  # the scene file's (or task's) objects: the ids plans use
    planner: Planner
    task: EpisodeTask | None = None  # when opened with a task id
    source: str = ""
    on_event: Callable[[str], None] | None = None
    # the executor's events themselves (robot_llm.execution.events), for a UI that shows them
    on_run_event: Callable[[Any], None] | None = None
    video: str | None = None
    log: str | None = None
    history: History = field(default_factory=_new_history)
    # Asked before a plan moves the arm (the operator confirms it); None: run without asking.
    confirm: Callable[[Any], bool] | None = None
    settings: ExecutorSettings = field(default_factory=ExecutorSettings)
    budget: StepBudget | None = field(default=None, init=False)  # with settings.max_steps
    _executor: Executor | None = field(default=None, repr=False)
    _in_hand: str | None = field(default=None, repr=False)  # picked by the plans, not yet put

    # -- perception and planning --------------------------------------------------------------
    def perceive(self) -> Scene:
        """The scene for planning: ids from the scene file on the first look; after a run, ids
        from the executor's tracking, with objects the camera cannot see now (a block in the
        hand, one hidden by the arm) where they were last seen."""

        from robot_llm.perception import associate

        tracker = self._executor.tracker if self._executor is not None else None
        if tracker is None or not tracker.known:
            scene: Scene = self.perceiver.perceive(self.robot.capture("main"))
            if self.reference is not None:
                scene = associate(scene, self.reference)
            return scene
        return self._with_unseen(tracker.perceive())

    def _with_unseen(self, scene: Scene) -> Scene:
        """`scene` plus the tracked objects the camera does not see: the object the plans left
        in the gripper, at the hand, and objects hidden behind others, at their last sighting."""
        tracker = self._executor.tracker if self._executor is not None else None
        if tracker is None:
            return scene
        from robot_llm.execution.verify import is_held

        state = self.robot.state()
        unseen = []
        for i, o in tracker.known.items():
            if i in scene.ids:
                continue
            if i == self._in_hand and is_held(i, scene, state, tracker.known):
                x, y, z = state.ee_position
                o = replace(o, position=(x, y, z))
            unseen.append(o)
        return replace(scene, objects=scene.objects + tuple(unseen))

    def plan(self, command: str) -> tuple[PlanResult, Scene, TurnTimings]:
        """Perceive and plan one command (a dialogue turn); nothing moves."""
        from robot_llm.planning import plan_command

        t0 = time.perf_counter()
        scene = self.perceive()
        t1 = time.perf_counter()
        result = plan_command(self.planner, command, scene, self.history)
        t2 = time.perf_counter()
        return result, scene, TurnTimings(round(t1 - t0, 4), round(t2 - t1, 4))

    # -- execution ----------------------------------------------------------------------------
    @property
    def executor(self) -> Any:
        if self._executor is None:
            from robot_llm.execution import Executor
            from robot_llm.planning import replan_function
            from robot_llm.policies.registry import get_policy

            s = self.settings
            robot: Any = self.robot
            if s.max_steps is not None:
                self.budget = robot = StepBudget(self.robot, s.max_steps)
            limits: dict[str, Any] = {
                key: value
                for key, value in (
                    ("max_retries", s.max_retries),
                    ("max_replans", s.max_replans),
                    ("skill_timeout", s.skill_timeout),
                )
                if value is not None
            }
            self._executor = Executor(
                robot,
                self.perceiver,
                skills=get_policy(s.policy)(robot),
                log_path=self.log,
                on_event=self._emit_event,
                video=self.video,
                replan=replan_function(self.planner, history=self.history),
                **limits,
            )
            if self.budget is not None:
                self.budget.on_exhausted = self._executor.stop
        return self._executor

    def _emit_event(self, event: Any) -> None:
        if self.on_event is not None:
            self.on_event(event.summary())
        if self.on_run_event is not None:
            self.on_run_event(event)

    def stop(self) -> None:
        """Halt the arm now (safe from any thread); the running plan ends as "stopped"."""
        if self._executor is not None:
            self._executor.stop()
        else:
            self.robot.stop()

    def resume(self) -> None:
        """Clear a latched stop so the next plan may move the arm."""
        if self._executor is not None:
            self._executor.resume()
        else:
            self.robot.resume()

    @property
    def stopped(self) -> bool:
        return self.robot.stopped

    def turn(self, command: str, execute: bool = True) -> TurnResult:
        """One command end to end: perceive, plan, and (with `execute`) run the plan.

        The result has the status (planned, done, clarify, refused, failed, stopped,
        cancelled: the operator did not confirm), the plan, question / candidates / reason
        where relevant, per-subgoal results, the scene after and, for a task, the task's own
        verdict; its `to_dict()` is described in docs/commands.md.
        """
        result, scene, timings = self.plan(command)
        turn = TurnResult.planned(command, self.source, result, scene, timings)
        if self.on_event is not None:
            self.on_event(describe(result))
        if not execute:
            return turn
        turn = replace(turn, scene_after=scene)
        if isinstance(result, Plan):
            if self._confirmed(result):
                t0 = time.perf_counter()
                run = self.executor.run(result, reference_scene=scene)
                execution_s = round(time.perf_counter() - t0, 3)
                for r in run.subgoals:  # what the plan leaves in the gripper
                    if r.success:
                        self._in_hand = hand_after(r.subgoal.skill, r.subgoal.object, self._in_hand)
                turn = replace(
                    turn,
                    status=run.status,
                    subgoals=run.subgoals,
                    reason=run.reason or None,
                    scene_after=self._with_unseen(run.scene),  # ids from the scene file
                    timings=replace(timings, execution_s=execution_s, executor=run.timings),
                )
            else:
                reason = "the operator did not confirm the plan; nothing moved"
                turn = replace(turn, status="cancelled", reason=reason)
        if self.task is not None:
            verdict = self.task_verdict()
            turn = replace(
                turn,
                task_success=bool(verdict["success"]),
                task_progress=float(verdict["progress"]),
            )
        return turn

    def task_verdict(self) -> Mapping[str, Any]:
        """The task's own verdict on the simulated world now (a session opened with a task)."""
        if self.task is None or self.world is None:
            raise RuntimeError("this session was not opened with a task in simulation")
        return self.task.evaluate(self.world.object_states())

    def _confirmed(self, plan: Any) -> bool:
        if self.confirm is None or all(s.skill == "stop" for s in plan.subgoals):
            return True  # a stop never waits for confirmation
        return bool(self.confirm(plan))

    def close(self) -> None:
        self.robot.close()
        if self.world is not None:
            self.world.close()


def open_session(
    config: StackConfig | None = None,
    *,
    on_link: Callable[[str], None] | None = None,
    on_event: Callable[[str], None] | None = None,
    video: str | None = None,
    log: str | None = None,
) -> Session:
    """The session a configuration describes: the world built from a scene file or a seeded
    task, with its simulated robot; or, for a robot behind a bridge, that arm, the scene file
    naming its objects. `on_event` gets the executor's progress lines; `video` and `log` are
    where its runs are recorded."""
    from robot_llm.envs.appearance import appearance_for
    from robot_llm.envs.world import TabletopWorld
    from robot_llm.perception import scene_from_spec
    from robot_llm.planning import get_planner
    from robot_llm.policies.registry import get_policy
    from robot_llm.robots.sim import SimRobot

    config = config or StackConfig()
    rc = config.robot
    backend = get_planner(config.planner.name, **dict(config.planner.options))
    get_policy(config.executor.policy)  # an unknown policy is bad input before any world is built
    extra: dict[str, Any] = {
        "on_event": on_event,
        "video": video,
        "log": log,
        "settings": config.executor,
    }
    if rc.scene and rc.task:
        raise SessionInputError("give either --scene or --task, not both")
    if rc.camera is not None and config.perception != "camera":
        raise SessionInputError(
            "--perception truth reads the simulator; a --camera is seen by camera"
        )
    if rc.address is not None:
        return _remote_session(rc, backend, config.perception, on_link, extra)
    spec, episode_task, source = scene_of_config(rc)
    look = appearance_for(rc.randomize, rc.seed, rc.randomize_strength, rc.task or "")
    world = TabletopWorld(rc.sim_robot, appearance=look)
    world.build(spec)
    if config.perception == "truth":
        from robot_llm.perception import TruthPerceiver  # ablation: simulator ground truth

        perceiver: Any = TruthPerceiver(world)
    else:
        from robot_llm.perception import CameraPerceiver

        perceiver = CameraPerceiver()
    robot: Any = SimRobot(world)
    if rc.camera is not None:
        try:
            robot = _with_camera(robot, rc)
        except BaseException:
            world.close()
            raise
        perceiver = perceiver_for(robot)
    return Session(
        world, robot, perceiver, scene_from_spec(spec), backend, episode_task, source, **extra
    )


def perceiver_for(robot: Any, camera: str = "main") -> Any:
    """The perceiver for a robot's camera: `CameraPerceiver`, or `ColourOnlyPerceiver` when
    the camera measures no depth (a USB camera, a video); a log line says which."""
    from robot_llm.perception import CameraPerceiver, ColourOnlyPerceiver

    measures = getattr(robot, "camera_depth", None)
    if measures is None or measures(camera):
        return CameraPerceiver()
    log.info("camera %s measures no depth: objects placed from their known sizes", camera)
    return ColourOnlyPerceiver()


def _with_camera(robot: Any, rc: RobotConfig) -> Any:
    """`robot` with its main camera replaced by the camera `rc.camera` names; the robot is
    closed when the camera cannot be used."""
    from robot_llm.cameras.robot import attach_camera

    try:
        return attach_camera(robot, rc.camera or "", rc.camera_calibration)
    except BaseException:
        robot.close()
        raise


def scene_of_config(rc: RobotConfig) -> tuple[Any, Any, str]:
    """The scene spec of a scene file or a seeded task, the task (or None), and its source."""
    from robot_llm.tabletop.scene import load_scene

    if rc.scene:
        return load_scene(rc.scene), None, rc.scene
    if not rc.task:
        raise SessionInputError("give a scene: --scene FILE or --task ID --seed N")
    from gymnasium.utils.seeding import np_random

    from robot_llm.envs import ENV_IDS, env_id
    from robot_llm.envs.tasks import make_task

    name = rc.task.split("/")[-1].removesuffix("-v0")
    if env_id(name) not in ENV_IDS:
        raise SessionInputError(f"unknown task {rc.task!r}; known: {', '.join(ENV_IDS)}")
    episode_task = make_task(name, rc.sim_robot)
    rng, _ = np_random(rc.seed)
    return episode_task.reset(rng).scene, episode_task, f"{env_id(name)} seed {rc.seed}"


def _remote_session(
    rc: RobotConfig,
    planner: Any,
    perception: str,
    on_link: Callable[[str], None] | None,
    extra: Mapping[str, Any],
) -> Session:
    """A session on an arm behind a bridge server: camera frames come over the bridge and are
    perceived here; a scene file, if given, only names the objects (their ids)."""
    from robot_llm.bridge.client import RemoteRobot
    from robot_llm.perception import scene_from_spec
    from robot_llm.robots.base import RobotError

    if perception != "camera":
        raise SessionInputError(
            "--perception truth needs the simulator; a --robot is seen by camera"
        )
    if rc.randomize is not None:
        raise SessionInputError(
            "--randomize renders the simulator; for a sim driver behind a bridge, start the "
            "server with --driver-option randomize=SEED"
        )
    reference = None
    if rc.scene:
        from robot_llm.tabletop.scene import load_scene

        reference = scene_from_spec(load_scene(rc.scene))
    address = rc.address or ""
    try:
        robot = RemoteRobot(address, curve_keys=rc.curve_keys, on_link=on_link)
    except RobotError as err:
        raise SessionInputError(f"cannot reach the robot at {address}: {err}") from None
    arm: Any = robot if rc.camera is None else _with_camera(robot, rc)
    return Session(None, arm, perceiver_for(arm), reference, planner, None, address, **extra)


def scene_objects(scene: Scene) -> list[dict[str, Any]]:
    """The scene as JSON: id, kind, color, size and position (robot_llm.execution's format)."""
    from robot_llm.execution.result import scene_summary

    return scene_summary(scene)


def describe(result: Any) -> str:
    """One line for a plan result: the steps, the question or the refusal."""
    if result.type == "plan":
        steps = "; ".join(s.shorthand() for s in result.subgoals)
        n = len(result.subgoals)
        notes = "".join(f" ({note})" for note in getattr(result, "notes", ()))
        return f"plan ({n} step{'' if n == 1 else 's'}): {steps}{notes}"
    if result.type == "clarify":
        return f"question: {result.question}"
    return f"refused: {result.reason}"
