"""The teacher: the rule planner's answer to a canonical command, as a deterministic label.

`teach(canonical, scene)` runs the canonical command through `plan_command` with the rule
planner and the default safety gate, exactly as a user's command would go, on a fresh dialogue.
`label_of(result)` is that answer in the plan JSON the schema defines (`robot_llm.plan_schema`),
without the `command` and `planner` fields (they name the canonical text and the teacher, not
what a student should write) and with coordinates rounded to 0.1 mm; `json.dumps(label,
sort_keys=True)` is the serialized form.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from robot_llm.planning.base import History, plan_command
from robot_llm.planning.rules import RulePlanner
from robot_llm.planning.safety import SafetyGate
from robot_llm.types import PlanResult, Scene

DIGITS = 4


@lru_cache(maxsize=1)
def _teacher() -> tuple[RulePlanner, SafetyGate]:
    return RulePlanner(), SafetyGate.default()


def teach(canonical: str, scene: Scene) -> PlanResult:
    planner, gate = _teacher()
    return plan_command(planner, canonical, scene, History(), gate)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, DIGITS) + 0.0  # no -0.0
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def label_of(result: PlanResult) -> dict[str, Any]:
    d = result.to_dict()
    d.pop("command", None)
    d.pop("planner", None)
    out: dict[str, Any] = _rounded(d)
    return out


def label(canonical: str, scene: Scene) -> dict[str, Any]:
    return label_of(teach(canonical, scene))
