"""Policies by name: which skills the executor runs (`--policy NAME` on run, repl, listen and
bench).

A policy is a factory `make(robot) -> {skill name: () -> Skill}`, the mapping the `Executor`
takes as `skills`. `scripted` (the default) is the scripted motion primitives of
`robot_llm.policies.scripted`, exactly what `robot-llm run` uses. A learned policy registers a
factory with `register_policy`, or is named as `package.module:function` so that worker
processes (and Ray workers on other machines) can import it without any registration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


POLICIES: Registry[PolicyFactory] = Registry("policy", PolicyError, import_paths=True)
POLICIES.register("scripted", _scripted)


def register_policy(name: str, factory: PolicyFactory) -> None:
    """Make a policy available by name in this process (worker processes import their own
    registrations: prefer a `module:function` name for anything outside the package)."""
    POLICIES.register(name, factory, replace_existing=True)


def policy_names() -> tuple[str, ...]:
    return POLICIES.names()


def get_policy(name: str) -> PolicyFactory:
    """The factory registered as `name`, or the function a `module:function` path names."""
    return POLICIES.find(name)
