"""Policies by name: which skills the executor runs (`--policy NAME` on run, repl, listen and
bench).

A policy is a factory `make(robot) -> {skill name: () -> Skill}`, the mapping the `Executor`
takes as `skills`. `scripted` (the default) is the scripted motion primitives of
`robot_llm.policies.scripted`, exactly what `robot-llm run` uses. A learned policy registers a
factory with `register_policy`, or is named as `package.module:function` so that worker
processes (and Ray workers on other machines) can import it without any registration.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from robot_llm.errors import InputError

SkillFactories = Mapping[str, Callable[[], Any]]
PolicyFactory = Callable[[Any], SkillFactories]


class PolicyError(InputError):
    """An unknown policy name or an import path that does not resolve."""


def _scripted(robot: Any) -> SkillFactories:
    from robot_llm.execution.executor import scripted_skills

    return scripted_skills(robot)


_REGISTRY: dict[str, PolicyFactory] = {"scripted": _scripted}


def register_policy(name: str, factory: PolicyFactory) -> None:
    """Make a policy available by name in this process (worker processes import their own
    registrations: prefer a `module:function` name for anything outside the package)."""
    if not name or ":" in name:
        raise PolicyError(f"policy name {name!r} must be non-empty and without ':'")
    _REGISTRY[name] = factory


def policy_names() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def get_policy(name: str) -> PolicyFactory:
    """The factory registered as `name`, or the function a `module:function` path names."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    module_name, sep, attr = name.partition(":")
    if not sep:
        known = ", ".join(policy_names())
        raise PolicyError(f"unknown policy {name!r}; known: {known} (or give module:function)")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise PolicyError(f"policy {name!r} cannot be imported: {err}") from None
    if not callable(factory):
        raise PolicyError(f"policy {name!r} is not callable")
    return factory
