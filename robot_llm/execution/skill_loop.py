"""Drives one skill on the robot: its commands one control period each, checking for stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from robot_llm.execution.run_state import Run, StopRequested
from robot_llm.execution.tracking import SceneTracker
from robot_llm.policies.base import (
    Command,
    EECommand,
    HoldCommand,
    JointCommand,
    Observation,
    Skill,
    SkillResult,
)
from robot_llm.robots.base import Robot
from robot_llm.types import Subgoal


@dataclass
class SkillLoop:
    """The control loop of an executor: skills by name streamed to the robot, at most
    `skill_timeout` seconds of robot time each; `settle` holds still for `settle_periods`.
    A set `stop` event (or a robot reporting it holds) raises `StopRequested`."""

    robot: Robot
    tracker: SceneTracker
    stop: threading.Event
    skills: Mapping[str, Callable[[], Skill]]
    skill_timeout: float
    settle_periods: int

    def drive(self, run: Run, subgoal: Subgoal) -> SkillResult:
        """Stream a skill's commands to the robot until it returns, checking for stop each
        control period."""
        factory = self.skills.get(subgoal.skill)
        if factory is None:
            return SkillResult(False, f"no skill named {subgoal.skill!r}")
        skill = factory()
        max_periods = max(1, int(self.skill_timeout * self.robot.info.control_hz))
        t0 = time.monotonic()
        upcoming = run.plan.subgoals[run.index + 1 :] if run.index is not None else ()
        gen = skill.run(subgoal, self.observation(upcoming))
        try:
            command = next(gen)
            for _ in range(max_periods):
                self.apply(run, command)
                command = gen.send(self.observation(upcoming))
            return SkillResult(False, f"timed out after {self.skill_timeout:.0f} s")
        except StopIteration as done:
            value = done.value
            if isinstance(value, SkillResult):
                return value
            return SkillResult(False, f"skill {subgoal.skill!r} returned {value!r}, no result")
        finally:
            gen.close()
            run.timings.skills += time.monotonic() - t0

    def apply(self, run: Run, command: Command) -> None:
        self.check_stop()
        if isinstance(command, EECommand):
            applied = self.robot.command_ee(
                np.asarray(command.position, dtype=float),
                float(command.yaw),
                float(command.gripper),
            )
        elif isinstance(command, JointCommand):
            applied = self.robot.command_joints(
                np.asarray(command.positions, dtype=float), float(command.gripper)
            )
        elif isinstance(command, HoldCommand):
            applied = self.robot.hold()
        else:
            raise TypeError(f"a skill yielded {command!r}, not a robot command")
        run.timings.periods += 1
        if run.recorder is not None:
            t0 = time.monotonic()
            run.recorder.tick(run.caption)
            run.timings.video += time.monotonic() - t0
        self.check_stop()
        if applied.mode in ("holding", "estopped", "fault"):
            raise StopRequested(f"the robot reports mode {applied.mode!r}")

    def settle(self, run: Run) -> None:
        for _ in range(self.settle_periods):
            self.apply(run, HoldCommand())

    def check_stop(self) -> None:
        if self.stop.is_set():
            raise StopRequested("stop requested")

    def observation(self, upcoming: tuple[Subgoal, ...] = ()) -> Observation:
        state, scene = self.robot.state(), self.tracker.scene
        return Observation(state, scene, target=self.robot.ee_target(), upcoming=upcoming)
