"""Policies by name: which skills the executor runs (`--policy NAME` on run, repl, listen and
bench).

A policy is a factory `make(robot) -> {skill name: () -> Skill}`, the mapping the `Executor`
takes as `skills`. `scripted` (the default) is the scripted motion primitives of
`robot_llm.policies.scripted`, exactly what `robot-llm run` uses. `learned:PATH` runs the
learned skills whose checkpoints are in PATH (`PATH/pick/`, `PATH/place/`, `PATH/push/`; skills
without one stay scripted), `learned` those shipped in `robot_llm/policies/learned/checkpoints/`
(docs/policies.md). A learned policy registers a
factory with `register_policy`, or is named as `package.module:function` so that worker
processes (and Ray workers on other machines) can import it without any registration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from robot_llm.errors import InputError
from robot_llm.registry import Registry

SkillFactories = Mapping[str, Callable[[], Any]]
PolicyFactory = Callable[[Any], SkillFactories]


class PolicyError(InputError):
    """An unknown policy name or an import path that does not resolve."""


def _scripted(robot: Any) -> SkillFactories:
    from robot_llm.policies.scripted import scripted_skills

    return scripted_skills(robot)


LEARNED = "learned"


def shipped_checkpoints() -> Path:
    return Path(__file__).resolve().parent / "learned" / "checkpoints"


def learned_policy(folder: str | Path) -> PolicyFactory:
    """The scripted skills with pick, place and push replaced by the checkpoints in `folder`
    (those it has; a subgoal the policy cannot describe, such as a place `at` a point, runs
    the scripted skill); the checkpoints are loaded once, here."""
    from robot_llm.policies.learned.skill import LearnedSkill, load_skill_policies

    policies = load_skill_policies(folder)

    def learned(
        name: str, policy: Any, scripted: Callable[[], Any], width: float
    ) -> Callable[[], Any]:
        return lambda: LearnedSkill(name, policy, fallback=scripted, max_gripper_width=width)

    def make(robot: Any) -> SkillFactories:
        skills = dict(_scripted(robot))
        width = float(robot.info.max_gripper_width)
        for name, policy in policies.items():
            skills[name] = learned(name, policy, skills[name], width)
        return skills

    return make


POLICIES: Registry[PolicyFactory] = Registry("policy", PolicyError, import_paths=True)
POLICIES.register("scripted", _scripted)


def register_policy(name: str, factory: PolicyFactory) -> None:
    """Make a policy available by name in this process (worker processes import their own
    registrations: prefer a `module:function` name for anything outside the package)."""
    POLICIES.register(name, factory, replace_existing=True)


def policy_names() -> tuple[str, ...]:
    return POLICIES.names()


def get_policy(name: str) -> PolicyFactory:
    """The factory registered as `name`, the learned skills of `learned` / `learned:PATH`, or
    the function a `module:function` path names."""
    if name == LEARNED:
        where = shipped_checkpoints()
        if not where.is_dir():
            raise PolicyError(
                f"--policy learned: no shipped checkpoints ({where} is missing); train some "
                "with robot-llm train-policy and use --policy learned:DIR"
            )
        return learned_policy(where)
    if name.startswith(LEARNED + ":"):
        path = name[len(LEARNED) + 1 :]
        if not path:
            raise PolicyError("--policy learned:PATH needs a folder of checkpoints")
        return learned_policy(path)
    return POLICIES.find(name)
