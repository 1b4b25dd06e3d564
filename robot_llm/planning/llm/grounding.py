"""Grounding a language model's answer in the scene.

`answer_schema(scene)` is the JSON Schema a model's answer must match for this scene: the plan
format of docs/plan-schema.md with every object field narrowed to the scene's ids of the right
kind (only blocks are picked, only bowls, trays and zones hold things), so a decoder constrained
by it cannot name an object that is not there. `read_answer` parses an answer with the plan
parser and checks its ids against the scene; `AnswerError` says what is wrong, on one line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Final

from robot_llm.errors import RobotLLMError
from robot_llm.skills import FIELDS, SKILL_SPECS, Field
from robot_llm.types import (
    DIRECTIONS,
    Clarify,
    Plan,
    PlanResult,
    Scene,
    SchemaError,
    plan_result_from_dict,
)

MAX_STEPS: Final = 12
MAX_TEXT: Final = 160  # characters of a question or a reason


class AnswerError(RobotLLMError, ValueError):
    """A model's answer is not a valid plan result for the scene; `unknown` lists bad ids."""

    def __init__(self, message: str, unknown: Sequence[str] = (), answer: str = "") -> None:
        super().__init__(message)
        self.unknown = tuple(unknown)
        self.answer = answer  # the model's text, when it is not the one read


def _ids(scene: Scene, kinds: Iterable[str]) -> list[str]:
    wanted = set(kinds)
    return [o.id for o in scene if o.kind in wanted]


def _point(n: int, m: int | None = None) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "number"}, "minItems": n, "maxItems": m or n}


def _step(skill: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"skill": {"const": skill}, **fields},
        "required": ["skill", *fields],
        "additionalProperties": False,
    }


def subgoal_variants(scene: Scene) -> list[dict[str, Any]]:
    """One schema per subgoal shape (skill and argument fields, `robot_llm.skills`), ids
    narrowed to the scene's objects of the kinds each field may name. A shape that needs more
    distinct objects of a kind than the scene has is left out."""
    out: list[dict[str, Any]] = []
    for spec in SKILL_SPECS:
        for shape in spec.shapes():
            fields: dict[str, Any] = {}
            wanted: dict[tuple[str, ...], int] = {}
            for key in shape:
                f = FIELDS[key]
                if f.type in ("id", "id_pair"):
                    kinds = spec.kinds_of(key)
                    wanted[kinds] = wanted.get(kinds, 0) + (2 if f.type == "id_pair" else 1)
                fields[key] = _field_schema(f, _ids(scene, spec.kinds_of(key)))
            if all(len(_ids(scene, kinds)) >= n for kinds, n in wanted.items()):
                out.append(_step(spec.name, **fields))
    return out


def _field_schema(f: Field, ids: list[str]) -> dict[str, Any]:
    """A subgoal field's schema for constrained decoding, ids limited to `ids`."""
    if f.type == "id":
        return {"enum": ids}
    if f.type == "id_pair":
        return {"type": "array", "items": {"enum": ids}, "minItems": 2, "maxItems": 2}
    if f.type == "direction":
        return {"enum": list(DIRECTIONS)}
    if f.type == "distance":
        return {"type": "number"}
    return _point(2) if f.type == "point" else _point(3, 4)


def answer_schema(scene: Scene, max_steps: int = MAX_STEPS) -> dict[str, Any]:
    """The JSON Schema of an answer for `scene`: a plan, a question or a refusal."""
    text = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}
    answers: list[dict[str, Any]] = [
        {
            "type": "object",
            "properties": {
                "type": {"const": "plan"},
                "subgoals": {
                    "type": "array",
                    "items": {"anyOf": subgoal_variants(scene)},
                    "maxItems": max_steps,
                },
            },
            "required": ["type", "subgoals"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"type": {"const": "refuse"}, "reason": text},
            "required": ["type", "reason"],
            "additionalProperties": False,
        },
    ]
    if len(scene):
        clarify = {
            "type": "object",
            "properties": {
                "type": {"const": "clarify"},
                "question": text,
                "candidates": {
                    "type": "array",
                    "items": {"enum": list(scene.ids)},
                    "maxItems": len(scene),
                },
            },
            "required": ["type", "question", "candidates"],
            "additionalProperties": False,
        }
        answers.insert(1, clarify)
    return {"title": "plan result", "anyOf": answers}


def named_ids(result: PlanResult) -> list[str]:
    """Every object id a result names (subgoal objects and targets, question candidates)."""
    out: list[str] = []
    if isinstance(result, Plan):
        for s in result.subgoals:
            out += [i for i in (s.object, s.on, s.in_) if i is not None]
            out += list(s.across or ())
    elif isinstance(result, Clarify):
        out += list(result.candidates)
    return list(dict.fromkeys(out))


def read_answer(text: str, scene: Scene, command: str = "", planner: str = "") -> PlanResult:
    """Parse a model's answer (one JSON object) into a result grounded in `scene`.

    Raises AnswerError when the text is not JSON, does not match the plan format, or names ids
    the scene lacks (listed in `unknown`).
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        snippet = " ".join(text.split())[:60]
        raise AnswerError(f"the answer is not JSON ({err.msg}): {snippet!r}") from None
    if not isinstance(data, dict):
        raise AnswerError(f"the answer is a JSON {type(data).__name__}, not an object")
    data = {**data, "command": command, "planner": planner}
    try:
        result = plan_result_from_dict(data)
    except SchemaError as err:
        raise AnswerError(f"the answer is not a valid plan result: {err}") from None
    unknown = [i for i in named_ids(result) if i not in scene.ids]
    if unknown:
        names = ", ".join(repr(i) for i in unknown)
        raise AnswerError(f"the answer names {names}, not in the scene", unknown)
    return result


def not_seen(unknown: Sequence[str], scene: Scene, command: str, planner: str) -> Clarify:
    """The question asked when a model keeps naming objects that are not there."""
    names = ", ".join(repr(i) for i in unknown)
    seen = ", ".join(scene.ids) or "nothing"
    question = f"I don't see {names}. I see: {seen}. Which one do you mean?"
    return Clarify(question, scene.ids, command, planner)
