"""The policy interface: a skill turns one subgoal into a stream of robot commands.

A skill is a generator. It is started with the subgoal and the latest observation, yields
commands (one per control period), receives the next observation after each one is applied, and
finally returns a SkillResult with success or a reason for failure:

    gen = skill.run(subgoal, observation)
    command = next(gen)
    while True:
        robot.apply(command) ... observation = latest
        command = gen.send(observation)      # StopIteration.value is the SkillResult

Skills never touch the simulator or the robot: the executor applies their commands to any
`robot_llm.robots.Robot`, so scripted skills and learned policies are interchangeable.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import ClassVar, Protocol

import numpy as np

from robot_llm.types import CameraFrame, RobotState, Scene, Subgoal


@dataclass(frozen=True)
class Observation:
    """What a skill sees: proprioception, the latest perceived scene, optionally a frame."""

    state: RobotState
    scene: Scene
    frame: CameraFrame | None = None
    # The end-effector target the robot is tracking (position, yaw), for smooth streaming.
    target: tuple[np.ndarray, float] | None = None
    # The plan's subgoals after this one, so a skill can leave room for what comes next (a
    # place into a container keeps space for the blocks the plan puts there later).
    upcoming: tuple[Subgoal, ...] = ()


@dataclass(frozen=True)
class EECommand:
    """Track this end-effector pose (tool down, yaw about +z) with this gripper opening."""

    position: np.ndarray  # (3,) meters, table frame
    yaw: float
    gripper: float  # 0 closed .. 1 open


@dataclass(frozen=True)
class JointCommand:
    positions: np.ndarray  # arm joint positions, radians
    gripper: float


@dataclass(frozen=True)
class HoldCommand:
    """Stay where you are for one control period."""


Command = EECommand | JointCommand | HoldCommand


@dataclass(frozen=True)
class SkillResult:
    success: bool
    reason: str = ""  # why it failed, for logs, retries and the operator


SkillRun = Generator[Command, Observation, SkillResult]


class Skill(Protocol):
    """A controller for one kind of subgoal."""

    name: ClassVar[str]

    def run(self, subgoal: Subgoal, observation: Observation) -> SkillRun: ...


SkillFactory = Callable[[], Skill]
