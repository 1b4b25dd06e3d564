"""One seeded episode, recorded frame by frame: from the privileged oracle on the gymnasium
env (as `robot-llm episode` runs it) or from the scripted skills through the executor (the
rule planner plans the instruction on what the camera sees, as `robot-llm run` does), on a
task, a scene file or a skill drill (robot_llm.envs.drills: the drill's layout is written to
a temporary scene file and its instruction recorded as the task).

Each frame is what the robot observed before a control period (joints and gripper, both
cameras, the objects' poses) and the command it was sent for that period, after the robot's
limits: an end-effector target and gripper opening, the same for both sources.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from robot_llm.datasets.format import DatasetError

SOURCES = ("oracle", "scripted", "operator")


@dataclass(frozen=True)
class RecordConfig:
    """What a recording is of; saved with a staged recording, so `--resume` continues it."""

    task: str | None = None  # a gymnasium id or family name
    scene: str | None = None  # a scene file (scripted source, with `command`)
    command: str | None = None  # the instruction for a scene file
    drill: str | None = None  # a skill drill (envs.drills: place, push), scripted source
    source: str = "oracle"
    seed: int = 0  # episode i has seed `seed + i`
    width: int = 320
    height: int = 240

    def check(self) -> None:
        if self.source not in SOURCES:
            raise DatasetError(f"--source {self.source!r} is not one of {', '.join(SOURCES)}")
        if sum(map(bool, (self.task, self.scene, self.drill))) != 1:
            raise DatasetError(
                "give one of --task ID, --scene FILE (with --command TEXT) or --drill NAME"
            )
        if self.source == "oracle" and (self.scene or self.drill):
            raise DatasetError(
                "the oracle needs a task (--task); a scene or a drill records with "
                "--source scripted"
            )
        if self.source == "operator":
            if self.drill or self.command:
                raise DatasetError(
                    "--source operator records the commands typed at its prompt on a --task "
                    "or --scene; drop --drill and --command"
                )
            return self._check_common()
        if self.drill:
            from robot_llm.envs.drills import DRILLS

            if self.drill not in DRILLS:
                raise DatasetError(f"--drill {self.drill!r}: drills are {', '.join(DRILLS)}")
        if bool(self.scene) != bool(self.command):
            raise DatasetError(
                "--scene needs --command TEXT (the instruction to record), and --command a scene;"
                " a task records its own instruction"
            )
        self._check_common()

    def _check_common(self) -> None:
        if self.task:
            _family(self.task)
        if self.scene:
            from robot_llm.tabletop.scene import load_scene

            load_scene(self.scene)  # a SceneError (bad input) names the file and the problem
        if self.width < 16 or self.height < 16 or self.width % 2 or self.height % 2:
            raise DatasetError(
                f"--image-size {self.width}x{self.height}: both sides must be even and at least 16"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class EpisodeRecord:
    """One episode's frames; `tasks[i]` is the instruction in force at frame i."""

    seed: int
    fps: int
    robot_type: str
    joint_names: tuple[str, ...]
    state: list[np.ndarray] = field(default_factory=list)
    ee_pose: list[np.ndarray] = field(default_factory=list)  # hand position + quaternion
    environment: list[np.ndarray] = field(default_factory=list)
    main: list[np.ndarray] = field(default_factory=list)
    wrist: list[np.ndarray] = field(default_factory=list)
    action: list[np.ndarray] = field(default_factory=list)
    success: list[bool] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    # The subgoal in force at each frame (an index into `subgoals`, -1 for none), the subgoals
    # (Subgoal.to_dict()) in the order they first ran, and the ids of the object table's rows.
    subgoal_index: list[int] = field(default_factory=list)
    subgoals: list[dict[str, Any]] = field(default_factory=list)
    object_ids: list[str] = field(default_factory=list)
    outcome: bool = False
    note: str = ""  # why nothing moved, for an episode without frames

    def __len__(self) -> int:
        return len(self.action)


class FrameLog:
    """Renders both cameras at the recording size and logs observation, then action."""

    def __init__(self, world: Any, record: EpisodeRecord, width: int, height: int) -> None:
        from robot_llm.envs.tabletop_env import MAX_OBJECTS

        self.world = world
        self.record = record
        self.main = dataclasses.replace(world.main_camera, width=width, height=height)
        self.wrist = dataclasses.replace(world.wrist_camera, width=width, height=height)
        self.max_objects = MAX_OBJECTS
        self.subgoal = -1  # the index into record.subgoals of the skill now running, or -1

    def observe(self, instruction: str) -> None:
        from robot_llm.envs.camera import render

        w, r = self.world, self.record
        arm = w.require_arm()
        q, _, width = arm.proprioception()
        r.state.append(np.array([*q, width], dtype=np.float32))
        hand, quat = arm.ee_pose()
        r.ee_pose.append(np.array([*hand, *quat], dtype=np.float32))
        table = np.zeros((self.max_objects, 7), dtype=np.float32)
        states = w.object_states()
        rows = [(*s.position, *s.orientation) for s in states.values()]
        if not r.object_ids:
            r.object_ids = [str(k) for k in states][: self.max_objects]
        if rows:
            table[: min(len(rows), self.max_objects)] = rows[: self.max_objects]
        r.environment.append(table.reshape(-1))
        look = (w.renderer, False, w.appearance)
        r.main.append(render(w.client, self.main, w.main_extrinsics, *look).rgb)
        r.wrist.append(render(w.client, self.wrist, w.wrist_extrinsics(), *look).rgb)
        r.tasks.append(instruction)
        r.subgoal_index.append(self.subgoal)

    def act(self, position: Any, yaw: float, gripper: float, success: bool) -> None:
        self.record.action.append(np.array([*position, yaw, gripper], dtype=np.float32))
        self.record.success.append(bool(success))


class _RecordingEnv:
    """The env as the Oracle sees it, with each step logged (every other attribute is the
    env's)."""

    def __init__(self, env: Any, log: FrameLog) -> None:
        self._env = env
        self._log = log

    def step(self, action: np.ndarray) -> Any:
        env = self._env
        self._log.observe(env.task.instruction)
        out = env.step(action)
        self._log.act(env._target_pos, env._target_yaw, env._gripper, bool(out[4]["success"]))
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._env, name)


class _RecordingRobot:
    """A robot that logs a frame around every command (every other attribute is the robot's)."""

    def __init__(
        self, robot: Any, log: FrameLog, instruction: Callable[[], str], done: Callable[[], bool]
    ) -> None:
        self._robot = robot
        self._log = log
        self._instruction = instruction
        self._done = done

    def _logged(self, send: Callable[[], Any]) -> Any:
        self._log.observe(self._instruction())
        applied = send()
        self._log.act(applied.position, applied.yaw, applied.gripper, self._done())
        return applied

    def command_ee(self, position: np.ndarray, yaw: float, gripper: float) -> Any:
        return self._logged(lambda: self._robot.command_ee(position, yaw, gripper))

    def command_joints(self, positions: np.ndarray, gripper: float) -> Any:
        return self._logged(lambda: self._robot.command_joints(positions, gripper))

    def hold(self) -> Any:
        return self._logged(self._robot.hold)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._robot, name)


def _family(task: str) -> str:
    from robot_llm.envs import ENV_IDS, env_id

    name = task.split("/")[-1].removesuffix("-v0")
    if env_id(name) not in ENV_IDS:
        raise DatasetError(f"unknown task {task!r}; known: {', '.join(ENV_IDS)}")
    return name


def run_oracle(config: RecordConfig, seed: int) -> EpisodeRecord:
    from robot_llm.envs.tabletop_env import TabletopEnv
    from robot_llm.policies.oracle import Oracle

    env = TabletopEnv(_family(config.task or ""), obs_mode="state", camera_size=(64, 48))
    try:
        env.reset(seed=seed)
        d = env.world.description
        record = EpisodeRecord(seed, env.control_hz, d.name, tuple(d.arm_joints))
        log = FrameLog(env.world, record, config.width, config.height)
        result = Oracle(_RecordingEnv(env, log)).run()
        record.outcome = result.success
        return record
    finally:
        env.close()


def run_scripted(config: RecordConfig, seed: int) -> EpisodeRecord:
    if not config.drill:
        return _run_scripted(config, seed, config.scene, config.command)
    from robot_llm.envs.drills import drill_episode
    from robot_llm.tabletop.scene import save_scene

    scene, command = drill_episode(config.drill, seed)
    with tempfile.TemporaryDirectory(prefix="robot-llm-drill-") as tmp:
        path = Path(tmp) / f"{config.drill}-{seed}.yaml"
        save_scene(scene, path)
        return _run_scripted(config, seed, str(path), command)


def run_operator(config: RecordConfig, seed: int) -> EpisodeRecord:
    """An operator session: commands typed at a prompt (stdin), each run as `robot-llm repl`
    runs it, until an empty line or the end of input; every frame carries the command in
    force as its task."""
    return _run_scripted(config, seed, config.scene, None, _prompt(seed))


def _prompt(seed: int) -> Callable[[str], str | None]:
    def next_command(hint: str) -> str | None:
        if hint:
            print(f"record: episode {seed}: {hint}", file=sys.stderr, flush=True)
        print("record> ", end="", file=sys.stderr, flush=True)
        line = sys.stdin.readline()
        return line.strip() or None

    return next_command


def _run_scripted(
    config: RecordConfig,
    seed: int,
    scene: str | None,
    command: str | None,
    operator: Callable[[str], str | None] | None = None,
) -> EpisodeRecord:
    from robot_llm.config import RobotConfig, StackConfig
    from robot_llm.session import open_session

    task = _family(config.task) if config.task else None
    robot = RobotConfig(task=task, scene=scene, seed=seed)
    session = open_session(StackConfig(robot=robot))
    try:
        world: Any = session.world
        d = world.description
        fps = int(session.robot.info.control_hz)
        record = EpisodeRecord(seed, fps, d.name, tuple(d.arm_joints))
        log = FrameLog(world, record, config.width, config.height)
        episode_task = session.task

        typed = [""]  # the operator's command in force

        def instruction() -> str:
            if operator is not None:
                return typed[0]
            return episode_task.instruction if episode_task else command or ""

        def done() -> bool:
            return bool(episode_task and session.task_verdict()["success"])

        session.robot = _RecordingRobot(session.robot, log, instruction, done)
        loop = session.executor.loop
        loop.skills = _labelled_skills(loop.skills, log)
        if operator is not None:
            return _operator_episode(session, record, operator, typed)
        while True:
            turn = session.turn(instruction())
            if episode_task is None:
                record.outcome = turn.status == "done"
                break
            verdict = session.task_verdict()
            record.outcome = bool(verdict["success"])
            finished = bool(verdict.get("subtask_done", verdict["success"]))
            if not finished or not episode_task.advance(verdict):  # type: ignore[attr-defined]
                break
        if not len(record):
            record.note = f"{turn.status}: {turn.reason or turn.question or 'nothing moved'}"
        return record
    finally:
        session.close()


def _operator_episode(
    session: Any, record: EpisodeRecord, operator: Callable[[str], str | None], typed: list[str]
) -> EpisodeRecord:
    """Run the operator's commands until an empty line; the outcome is the task's verdict, or
    for a scene whether the last command was done."""
    from robot_llm.session import describe

    hint = session.task.instruction if session.task else "type commands, an empty line ends"
    turn = None
    while (text := operator(hint)) is not None:
        hint = ""
        # An answer to the planner's question is recorded with the command it completes.
        asked = turn is not None and turn.status == "clarify"
        typed[0] = f"{turn.command}; {text}" if asked and turn is not None else text
        turn = session.turn(text)
        if turn.status in ("clarify", "refused"):
            answer = describe(turn.plan)
        else:
            answer = f"{turn.status}: {turn.reason}" if turn.reason else turn.status
        print(f"  {answer}", file=sys.stderr, flush=True)
    if session.task is not None:
        record.outcome = bool(session.task_verdict()["success"])
    else:
        record.outcome = turn is not None and turn.status == "done"
    if not len(record):
        record.note = "the operator's commands moved nothing"
    return record


class _LabelledSkill:
    """A skill that marks the frames it commands with its subgoal (see `FrameLog.subgoal`)."""

    def __init__(self, skill: Any, log: FrameLog) -> None:
        self._skill = skill
        self._log = log
        self.name = getattr(skill, "name", "")

    def run(self, subgoal: Any, observation: Any) -> Any:
        record = self._log.record
        entry = subgoal.to_dict()
        if entry not in record.subgoals:
            record.subgoals.append(entry)
        self._log.subgoal = record.subgoals.index(entry)
        try:
            return (yield from self._skill.run(subgoal, observation))
        finally:
            self._log.subgoal = -1


def _labelled_skills(skills: Any, log: FrameLog) -> dict[str, Callable[[], Any]]:
    def wrap(factory: Callable[[], Any]) -> Callable[[], Any]:
        return lambda: _LabelledSkill(factory(), log)

    return {name: wrap(factory) for name, factory in skills.items()}


def run_episode(config: RecordConfig, seed: int) -> EpisodeRecord:
    if config.source == "operator":
        return run_operator(config, seed)
    return (run_oracle if config.source == "oracle" else run_scripted)(config, seed)
