"""The plan format as a JSON Schema (draft 2020-12): what every planner backend produces and
the executor alone consumes. `robot_llm.types.plan_result_from_dict` is the parser that enforces
it in code; docs/plan-schema.md explains it with examples. `json.dumps(PLAN_SCHEMA)` gives the
schema document for other languages and tools.
"""

from __future__ import annotations

from typing import Any, Final

from robot_llm.types import DIRECTIONS, PLAN_SCHEMA_VERSION, SKILLS


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
_OBJECT: Final = {"object": {**_ID, "description": "the object the skill acts on"}}


def _skill(name: str, fields: dict[str, Any], required: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"skill": {"const": name}, **fields},
        "required": ["skill", *required],
        "additionalProperties": False,
        **extra,
    }


SUBGOAL_SCHEMA: Final[dict[str, Any]] = {
    "description": "One step: a skill name and its grounded arguments.",
    "type": "object",
    "required": ["skill"],
    "properties": {"skill": {"enum": list(SKILLS)}},
    "oneOf": [
        _skill("pick", dict(_OBJECT), ["object"]),
        _skill(
            "place",
            {
                **_OBJECT,
                "on": {**_ID, "description": "put it on top of this block"},
                "in": {**_ID, "description": "put it in this bowl, tray or zone"},
                "at": _point(2, "put it on the table at [x, y], meters, table frame"),
                "across": {
                    "type": "array",
                    "items": _ID,
                    "minItems": 2,
                    "maxItems": 2,
                    "uniqueItems": True,
                    "description": "rest it across these two blocks standing side by side",
                },
            },
            ["object"],
            oneOf=[
                {"required": ["on"]},
                {"required": ["in"]},
                {"required": ["at"]},
                {"required": ["across"]},
            ],
        ),
        _skill(
            "push",
            {
                **_OBJECT,
                "to": _point(2, "push it to [x, y], meters, table frame"),
                "direction": {"enum": list(DIRECTIONS)},
                "distance": {
                    "type": "number",
                    "exclusiveMinimum": 0,
                    "maximum": 1,
                    "description": "meters (default 0.10)",
                },
            },
            ["object"],
            oneOf=[{"required": ["to"]}, {"required": ["direction"]}],
        ),
        _skill(
            "move_to",
            {"pose": _point((3, 4), "[x, y, z] or [x, y, z, yaw]: meters, radians")},
            ["pose"],
        ),
        _skill("open_gripper", {}, []),
        _skill("close_gripper", {}, []),
        _skill("home", {}, []),
        _skill("stop", {}, []),
    ],
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
