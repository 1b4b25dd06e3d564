"""Run one skill on a Robot without the executor: for tests, benchmarks and scripts.

`run_skill` is the whole control loop of the skill interface (policies/base.py): apply each
command the skill yields to the robot, observe, send the observation back, until the skill
returns its SkillResult. The executor in `robot_llm.execution` adds re-perception, retries and
replanning around the same loop.
"""

from __future__ import annotations

from collections.abc import Callable

from robot_llm.policies.base import (
    Command,
    EECommand,
    HoldCommand,
    JointCommand,
    Observation,
    Skill,
    SkillResult,
)
from robot_llm.robots.base import Applied, Robot, RobotError
from robot_llm.types import Scene, Subgoal

Perceive = Callable[[], Scene]
StepHook = Callable[[Command, Applied, Observation], None]

DEFAULT_MAX_STEPS = 2400  # control periods: 100 s at 24 Hz


def apply(robot: Robot, command: Command) -> Applied:
    """Send one command to the robot for one control period."""
    if isinstance(command, EECommand):
        return robot.command_ee(command.position, command.yaw, command.gripper)
    if isinstance(command, JointCommand):
        return robot.command_joints(command.positions, command.gripper)
    if isinstance(command, HoldCommand):
        return robot.hold()
    raise TypeError(f"a skill yielded {type(command).__name__}, not a command")


def observe(robot: Robot, scene: Scene) -> Observation:
    return Observation(state=robot.state(), scene=scene, target=robot.ee_target())


def run_skill(
    skill: Skill,
    subgoal: Subgoal,
    robot: Robot,
    perceive: Perceive,
    *,
    perceive_every: int = 1,
    max_steps: int = DEFAULT_MAX_STEPS,
    on_step: StepHook | None = None,
) -> SkillResult:
    """Drive `skill` through `subgoal` on `robot` until it returns.

    The scene is perceived before the first command and then every `perceive_every` control
    periods (0: only at the start). `on_step(command, applied, observation)` sees every step.
    A skill still running after `max_steps`, a robot that stops (holding) or refuses
    (RobotError) ends the run with a failed result saying so.
    """
    scene = perceive()
    gen = skill.run(subgoal, observe(robot, scene))
    try:
        command = next(gen)
        for step in range(1, max_steps + 1):
            try:
                applied = apply(robot, command)
            except RobotError as err:
                gen.close()
                return SkillResult(False, f"robot error: {err}")
            if perceive_every and step % perceive_every == 0:
                scene = perceive()
            obs = observe(robot, scene)
            if on_step is not None:
                on_step(command, applied, obs)
            if applied.mode != "ok" and not isinstance(command, HoldCommand):
                gen.close()
                return SkillResult(False, f"robot is {applied.mode}")
            command = gen.send(obs)
    except StopIteration as done:
        result = done.value
        if not isinstance(result, SkillResult):
            raise TypeError(
                f"skill {subgoal.skill!r} returned {result!r}, not a SkillResult"
            ) from None
        return result
    gen.close()
    return SkillResult(False, f"skill {subgoal.skill!r} did not finish in {max_steps} steps")
