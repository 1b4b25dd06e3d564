"""Plan files: read a plan (docs/plan-schema.md) and check it against a scene's ids."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from robot_llm.errors import InputError
from robot_llm.execution.events import describe
from robot_llm.execution.verify import referenced_ids
from robot_llm.types import Plan, SchemaError, plan_result_from_dict


class PlanError(InputError):
    """A plan file cannot be used; the message is one line naming the file and the problem."""


def load_plan(path: str | Path) -> Plan:
    """Read a plan JSON file; PlanError (one line) when it is missing, malformed or not a plan."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError(f"{source}: file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise PlanError(f"{source}: cannot read: {err}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise PlanError(f"{source}: not valid JSON: {err}") from None
    try:
        result = plan_result_from_dict(data)
    except SchemaError as err:
        raise PlanError(f"{source}: {' '.join(str(err).split())}") from None
    if not isinstance(result, Plan):
        raise PlanError(f"{source}: holds a {result.type} result, not a plan")
    return result


def check_plan_ids(plan: Plan, ids: Iterable[str], source: str = "plan") -> None:
    """PlanError naming the first subgoal that refers to an id not among `ids`."""
    known = set(ids)
    for i, s in enumerate(plan.subgoals):
        for oid in referenced_ids(s):
            if oid not in known:
                raise PlanError(
                    f"{source}: subgoal {i} ({describe(s.to_dict())}) names {oid!r}, which is "
                    f"not in the scene; ids are {', '.join(sorted(known))}"
                )
