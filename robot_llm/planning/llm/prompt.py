"""The prompt of the language-model planners: instructions, skills, scene, dialogue, feedback.

One chat (a list of {"role", "content"} messages) per planning call. The system message holds
the instructions and the skill list (read from the plan JSON Schema, so it never disagrees
with it); worked examples follow as earlier turns; the last user message holds the scene as
perceived (ids, kinds, colors, sizes, positions), the last turns of the dialogue, the
executor's feedback when this is a replan, and the command. A VLM gets the camera image in the
last user message as well.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

from robot_llm.plan_schema import SUBGOAL_SCHEMA
from robot_llm.planning.base import History
from robot_llm.types import PlanResult, Scene

Message = dict[str, Any]
HISTORY_TURNS: Final = 4

INSTRUCTIONS: Final = """\
You plan the actions of a robot arm over a table. Read the command and the scene and answer \
with one JSON object, nothing else:
- a plan: {"type":"plan","subgoals":[...]}, the skills that carry the command out, in order;
- a question: {"type":"clarify","question":"...","candidates":[ids]} when the command could \
mean several objects, or names one that is not in the scene;
- a refusal: {"type":"refuse","reason":"..."} when the command is unsafe or no skill does it.
Use only the ids of the scene. Only blocks are picked up, one at a time: pick a block, then \
place it. Put a block "on" a block, "in" a bowl, tray or zone. Positions are meters in the table \
frame: x away from the robot, y to its left (left is +y, right is -y)."""

EXAMPLE_SCENE: Final = """\
Scene:
- white_block: medium white block at x 0.40, y 0.10, z 0.02
- black_block: small black block at x 0.50, y -0.10, z 0.01
- white_bowl: medium white bowl at x 0.60, y 0.20, z 0.02"""

# Worked examples, given as earlier chat turns (a small model follows turns better than a list
# in the instructions); answers that ask or refuse come first, so the last ones are plans. Their
# colors (white, black) are outside the palette, so no example id is also an id of a real scene:
# a small model copies ids from examples.
EXAMPLES: Final = (
    ("paint the bowl", {"type": "refuse", "reason": "I can't paint things."}),
    (
        "pick up the block",
        {
            "type": "clarify",
            "question": "Which block: the white one or the black one?",
            "candidates": ["white_block", "black_block"],
        },
    ),
    (
        "put the white block in the white bowl",
        [("pick", "white_block"), ("place", "white_block", "in", "white_bowl")],
    ),
    (
        "stack the black block on the white block",
        [("pick", "black_block"), ("place", "black_block", "on", "white_block")],
    ),
    ("pick up the black block", [("pick", "black_block")]),
    ("push the white block to the left", [("push", "white_block", "direction", "left")]),
    ("go home", [("home",)]),
)


def _example_answer(answer: Any) -> str:
    if isinstance(answer, dict):
        return json.dumps(answer, separators=(",", ":"))
    steps = []
    for step in answer:
        d: dict[str, Any] = {"skill": step[0]}
        if len(step) > 1:
            d["object"] = step[1]
        if len(step) > 3:
            d[step[2]] = step[3]
        steps.append(d)
    return json.dumps({"type": "plan", "subgoals": steps}, separators=(",", ":"))


def example_turns() -> list[Message]:
    turns: list[Message] = []
    for command, answer in EXAMPLES:
        turns.append({"role": "user", "content": f"{EXAMPLE_SCENE}\nCommand: {command}"})
        turns.append({"role": "assistant", "content": _example_answer(answer)})
    return turns


def skill_lines(schema: dict[str, Any] = SUBGOAL_SCHEMA) -> list[str]:
    """One line per skill of the plan schema: its name, fields and what they mean."""
    lines = []
    for variant in schema["oneOf"]:
        props = dict(variant["properties"])
        name = props.pop("skill")["const"]
        parts = []
        for field, spec in props.items():
            what = "" if field == "object" else spec.get("description", "")
            if "enum" in spec:
                what = "one of " + ", ".join(map(str, spec["enum"]))
            parts.append(f"{field} ({what})" if what else field)
        choice = [next(iter(c["required"])) for c in variant.get("oneOf", [])]
        note = f"; exactly one of {', '.join(choice)}" if choice else ""
        lines.append(f"- {name}: {', '.join(parts) or 'no fields'}{note}")
    return lines


def system_prompt() -> str:
    return "\n".join([INSTRUCTIONS, "Skills and their fields:", *skill_lines()])


def scene_lines(scene: Scene) -> list[str]:
    """The perceived objects: id, size, color, kind and position (meters)."""
    out = []
    for o in scene:
        x, y, z = o.position
        out.append(f"- {o.id}: {o.size} {o.color} {o.kind} at x {x:.2f}, y {y:.2f}, z {z:.2f}")
    return out or ["- (nothing: the table is empty)"]


def compact(result: PlanResult) -> str:
    """A result as the model would write it (no command or planner fields)."""
    data = result.to_dict()
    for key in ("command", "planner", "version"):
        data.pop(key, None)
    return json.dumps(data, separators=(",", ":"))


def history_lines(history: History, turns: int = HISTORY_TURNS) -> list[str]:
    lines = []
    for t in list(history)[-turns:]:
        lines.append(f"Operator: {t.command}")
        lines.append(f"You: {compact(t.result)}")
    return lines


def feedback_lines(feedback: Sequence[str]) -> list[str]:
    if not feedback:
        return []
    return [
        "The plan for this command was started; the robot reports:",
        *(f"- {line}" for line in feedback),
        "The scene above is the table now: plan what is left of the command.",
    ]


def user_prompt(command: str, scene: Scene, history: History) -> str:
    parts = ["Scene:", *scene_lines(scene)]
    earlier = history_lines(history)
    if earlier:
        parts += ["Earlier in this dialogue:", *earlier]
    parts += feedback_lines(getattr(history, "feedback", ()))
    parts.append(f"Command: {command}")
    return "\n".join(parts)


def fixed_turns() -> list[Message]:
    """The part of every chat that does not depend on the call: instructions and examples."""
    return [{"role": "system", "content": system_prompt()}, *example_turns()]


def messages(command: str, scene: Scene, history: History, image: bool = False) -> list[Message]:
    """The chat for one planning call: `fixed_turns()`, then the scene, dialogue, feedback and
    command; with `image`, that last turn starts with the camera image (content parts in the
    Hugging Face / OpenAI style)."""
    text = user_prompt(command, scene, history)
    user: Any = [{"type": "image"}, {"type": "text", "text": text}] if image else text
    return [*fixed_turns(), {"role": "user", "content": user}]


def correction(answer: str, problem: str, scene: Scene) -> list[Message]:
    """The turns that ask the model once more after an answer that did not hold."""
    return [
        {"role": "assistant", "content": answer},
        {
            "role": "user",
            "content": (
                f"That answer cannot be used: {problem}. The scene's ids are "
                f"{', '.join(scene.ids) or 'none'}. Answer again with one JSON object."
            ),
        },
    ]
