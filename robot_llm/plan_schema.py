"""The plan format as a JSON Schema (draft 2020-12): what every planner backend produces and
the executor alone consumes. `robot_llm.types.plan_result_from_dict` is the parser that enforces
it in code; docs/plan-schema.md explains it with examples. `json.dumps(PLAN_SCHEMA)` gives the
schema document for other languages and tools.
"""

from __future__ import annotations

from typing import Any, Final

from robot_llm.skills import FIELDS, SKILL_SPECS, SKILLS, Field, SkillSpec
from robot_llm.types import DIRECTIONS, PLAN_SCHEMA_VERSION


def _point(n: int | tuple[int, int], what: str) -> dict[str, Any]:
    lo, hi = (n, n) if isinstance(n, int) else n
    return {
        "type": "array",
        "items": {"type": "number"},
        "minItems": lo,
        "maxItems": hi,
        "description": what,
    }


_ID: Final = {"type": "string", "description": "an object id of the scene"}


def _field(f: Field) -> dict[str, Any]:
    """The JSON Schema of one subgoal field."""
    if f.type == "id":
        return {**_ID, "description": f.meaning}
    if f.type == "id_pair":
        return {
            "type": "array",
            "items": _ID,
            "minItems": 2,
            "maxItems": 2,
            "uniqueItems": True,
            "description": f.meaning,
        }
    if f.type == "direction":
        return {"enum": list(DIRECTIONS), "description": f.meaning}
    if f.type == "distance":
        return {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "description": f.meaning}
    return _point(2 if f.type == "point" else (3, 4), f.meaning)


def _skill(spec: SkillSpec) -> dict[str, Any]:
    """The JSON Schema of a subgoal of one skill (`robot_llm.skills`)."""
    out: dict[str, Any] = {
        "type": "object",
        "properties": {
            "skill": {"const": spec.name},
            **{k: _field(FIELDS[k]) for k in spec.fields},
        },
        "required": ["skill", *spec.required],
        "additionalProperties": False,
    }
    if spec.one_of:
        out["oneOf"] = [{"required": [key]} for key in spec.one_of]
    needs = {k: [FIELDS[k].needs] for k in spec.fields if FIELDS[k].needs is not None}
    if needs:
        out["dependentRequired"] = needs
    return out


SUBGOAL_SCHEMA: Final[dict[str, Any]] = {
    "description": "One step: a skill name and its grounded arguments.",
    "type": "object",
    "required": ["skill"],
    "properties": {"skill": {"enum": list(SKILLS)}},
    "oneOf": [_skill(spec) for spec in SKILL_SPECS],
}

PLAN_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "robot-llm plan result",
    "description": (
        "What a planner returns for a command: a plan of subgoals, a clarifying question, or a "
        "refusal. Every planner backend produces it; the executor alone consumes it."
    ),
    "$defs": {"subgoal": SUBGOAL_SCHEMA},
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"enum": ["plan", "clarify", "refuse"]},
        "command": {"type": "string", "description": "the command this answers"},
        "planner": {"type": "string", "description": "the backend that produced it"},
    },
    "oneOf": [
        {
            "properties": {
                "type": {"const": "plan"},
                "version": {"const": PLAN_SCHEMA_VERSION},
                "subgoals": {"type": "array", "items": {"$ref": "#/$defs/subgoal"}},
                "notes": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "what the plan does beyond the command, in words",
                },
            },
            "required": ["type", "subgoals"],
        },
        {
            "properties": {
                "type": {"const": "clarify"},
                "question": {"type": "string", "minLength": 1},
                "candidates": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["type", "question"],
        },
        {
            "properties": {
                "type": {"const": "refuse"},
                "reason": {"type": "string", "minLength": 1},
            },
            "required": ["type", "reason"],
        },
    ],
}

__all__ = ["PLAN_SCHEMA", "SUBGOAL_SCHEMA"]
