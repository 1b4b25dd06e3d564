"""The student's structured output: an intent as classification heads, and back to canonical text.

The heads say what `distill.intents` builds: the action (`act`; `sequence` for two steps in
order, `abstain` for "not a command I know"), the two steps' actions of a sequence, up to five
object references (`ROLES`), each as color / size / kind, directions, distances, a described
reference (ordinal, superlative or relation) and a paint color. `targets(intent)` gives the head
labels of a generator intent; `decode(probs, scene)` picks the most likely reading that the
scene allows and renders it with the generator's canonical phrases (`intents.Mention.canonical`,
`SUPERLATIVES`, `RELATIONS`, `TASKS`, `CONTROLS`, `REFUSALS`), so the rule planner can ground it.
Torch-free: the heads' probabilities come in as plain lists.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from robot_llm.planning.distill.intents import (
    CONTROLS,
    ORDINALS,
    REFUSALS,
    RELATIONS,
    SIDES,
    SUPERLATIVES,
    TASKS,
    Intent,
    Mention,
    NoIntent,
    mention,
)
from robot_llm.tabletop.palette import COLORS, SIZES
from robot_llm.types import KINDS, Scene, SceneObject

NONE: Final = "-"
ACTS: Final = (
    "pick",
    "put",
    "push",
    "stack",
    *sorted(TASKS),
    *sorted(CONTROLS),
    *sorted(REFUSALS),
    "sequence",
    "pick_put",
    "put_all",
    "abstain",
)
STEP_ACTS: Final = (NONE, "put", "push", "stack", *sorted(CONTROLS))
ROLES: Final = ("obj", "dest", "obj2", "dest2", "aux")  # aux: excepted block, landmark, bowl
DIRS: Final = (NONE, "left", "right", "forward", "back")
CMS: Final = (NONE, "5", "10")
REFS: Final = (
    NONE,
    *(f"ordinal:{n}:{side}" for n in ORDINALS for side in SIDES),
    *(f"superlative:{w}" for w in sorted(SUPERLATIVES)),
    *(f"relation:{r}" for r in sorted(RELATIONS)),
)
COLOR_CLASSES: Final = (NONE, *COLORS)
SIZE_CLASSES: Final = (NONE, *SIZES)
KIND_CLASSES: Final = (NONE, *KINDS)


def heads() -> dict[str, tuple[str, ...]]:
    """Every head's name and its classes, in a fixed order (the model's output layout)."""
    out: dict[str, tuple[str, ...]] = {
        "act": tuple(ACTS),
        "step1": tuple(STEP_ACTS),
        "step2": tuple(STEP_ACTS),
    }
    for role in ROLES:
        out[f"{role}.color"] = tuple(COLOR_CLASSES)
        out[f"{role}.size"] = tuple(SIZE_CLASSES)
        out[f"{role}.kind"] = tuple(KIND_CLASSES)
    out |= {
        "dir": tuple(DIRS),
        "cm": tuple(CMS),
        "dir2": tuple(DIRS),
        "cm2": tuple(CMS),
        "ref": tuple(REFS),
        "paint": tuple(COLOR_CLASSES),
    }
    return out


HEADS: Final = heads()


# -- intent -> head labels -------------------------------------------------------------------------
def _mention_labels(role: str, m: Mention | None) -> dict[str, str]:
    if m is None:
        return {f"{role}.color": NONE, f"{role}.size": NONE, f"{role}.kind": NONE}
    return {
        f"{role}.color": m.color or NONE,
        f"{role}.size": m.size or NONE,
        f"{role}.kind": m.kind,
    }


def _ref_label(how: Mapping[str, Any] | None) -> str:
    if how is None:
        return NONE
    if "n" in how:
        return f"ordinal:{how['n']}:{how['side']}"
    if "which" in how:
        return f"superlative:{how['which']}"
    return f"relation:{how['rel']}"


def _clause(intent: Intent, suffix: str, out: dict[str, str]) -> None:
    s = intent.slots
    out |= _mention_labels(f"obj{suffix}", s.get("obj") if intent.act != "container" else None)
    out |= _mention_labels(f"dest{suffix}", s.get("dest"))
    if "dir" in s:
        out[f"dir{suffix}"] = s["dir"]
        out[f"cm{suffix}"] = str(s["cm"]) if s.get("cm") else NONE


def targets(intent: Intent) -> dict[str, str]:
    """The head labels of a generator intent (every head gets one)."""
    out = dict.fromkeys(HEADS, NONE)
    if intent.steps:
        out["act"] = "sequence"
        first, second = intent.steps
        out["step1"], out["step2"] = first.act, second.act
        _clause(first, "", out)
        _clause(second, "2", out)
        return out
    act = {"pick_put": "pick_put", "put_all": "put_all"}.get(intent.act, intent.act)
    out["act"] = act
    _clause(intent, "", out)
    s = intent.slots
    if "ref" in s:
        out["ref"] = _ref_label(s["ref"])
        if "landmark" in s["ref"]:
            out |= _mention_labels("aux", s["ref"]["landmark"])
    if intent.act == "put_all":
        out |= _mention_labels("aux", s["ex"])
    if intent.act == "container":
        out |= _mention_labels("aux", s["bowl"])
    if intent.act == "paint":
        out["paint"] = s["color"]
    return out


ABSTAIN: Final = dict.fromkeys(HEADS, NONE) | {"act": "abstain"}


# -- head probabilities -> canonical text ----------------------------------------------------------
@dataclass(frozen=True)
class Reading:
    """A decoded command: its canonical text (None to abstain), the confidence, the act."""

    canonical: str | None
    confidence: float
    act: str
    why: str = ""


Probs = Mapping[str, Sequence[float]]


def _p(probs: Probs, head: str, value: str) -> float:
    return float(probs[head][HEADS[head].index(value)])


def _best(probs: Probs, head: str) -> tuple[str, float]:
    row = probs[head]
    i = max(range(len(row)), key=lambda j: row[j])
    return HEADS[head][i], float(row[i])


def _log(x: float) -> float:
    return math.log(max(x, 1e-9))


@dataclass(frozen=True)
class Grounded:
    text: str
    confidence: float


def ground_mention(
    probs: Probs,
    role: str,
    scene: Scene,
    kinds: Sequence[str] = KINDS,
    generic: bool = False,
    absent_margin: float = 3.0,
) -> Grounded:
    """The canonical name of the object a role most likely means, among the scene's objects of
    `kinds` (and "the <kind>" when `generic`: an under-specified reference, the rules ask).

    A color the scene lacks is said as heard when the model is sure of it (its score beats the
    best scene object by `absent_margin` nats), so the rules answer "I don't see ...".
    """
    lc = {c: _log(_p(probs, f"{role}.color", c)) for c in COLOR_CLASSES}
    ls = {s: _log(_p(probs, f"{role}.size", s)) for s in SIZE_CLASSES}
    lk = {k: _log(_p(probs, f"{role}.kind", k)) for k in KIND_CLASSES}
    said_size = max(SIZE_CLASSES, key=lambda s: ls[s]) != NONE
    options: list[tuple[float, str]] = []
    for o in scene:
        if o.kind not in kinds:
            continue
        score = lc[o.color] + lk[o.kind] + max(ls[NONE], ls.get(o.size, -20.0))
        twins = sum(x.kind == o.kind and x.color == o.color for x in scene) > 1
        # several of that color and kind, and no size heard: say it as heard, the rules ask
        name = Mention(o.kind, o.color).canonical() if twins and not said_size else _name(o, scene)
        options.append((score, name))
    if generic:
        for k in kinds:
            options.append((lc[NONE] + lk[k] + ls[NONE], Mention(k).canonical()))
    color, _ = _best(probs, f"{role}.color")
    kind, _ = _best(probs, f"{role}.kind")
    if (
        color != NONE
        and kind in kinds
        and not any(o.color == color and o.kind == kind for o in scene)
    ):
        size, _ = _best(probs, f"{role}.size")
        heard = Mention(kind, color, None if size == NONE else size).canonical()
        score = lc[color] + lk[kind] + ls[size] - absent_margin
        options.append((score, heard))
    if not options:
        return Grounded(Mention(kind if kind != NONE else "block").canonical(), 0.0)
    score, text = max(options)
    return Grounded(text, math.exp(score))


def _name(o: SceneObject, scene: Scene) -> str:
    try:
        return mention(o, scene).canonical()
    except NoIntent:  # a twin: only its position tells it apart; the rules will ask
        return Mention(o.kind, o.color, o.size).canonical()


BLOCK: Final = ("block",)
CONTAINERS: Final = tuple(k for k in KINDS if k != "block")


def _clause_text(probs: Probs, act: str, suffix: str, scene: Scene, conf: list[float]) -> str:
    def g(role: str, kinds: Sequence[str], generic: bool = False) -> str:
        r = ground_mention(probs, role + suffix, scene, kinds, generic)
        conf.append(r.confidence)
        return r.text

    if act in CONTROLS:
        return CONTROLS[act]
    if act == "push":
        obj = g("obj", BLOCK)
        direction, pd = _best(probs, f"dir{suffix}")
        cm, pc = _best(probs, f"cm{suffix}")
        conf.extend((pd, pc))
        if direction == NONE:
            direction = "left"
        return f"push {obj} {direction}" + (f" by {cm} cm" if cm != NONE else "")
    obj = g("obj", BLOCK, generic=suffix == "")
    if act == "stack":
        return f"stack {obj} on {g('dest', BLOCK)}"
    dest = g("dest", KINDS)
    prep = "on" if dest.endswith(" block") else "in"
    return f"put {obj} {prep} {dest}"


CAUTION: Final = 0.15


def decode(probs: Probs, scene: Scene, caution: float = CAUTION) -> Reading:
    """The canonical command the heads most likely mean in this scene, with a confidence: the
    least of the probabilities of the choices it rests on.

    Caution: when the refusals together get `caution` or more of the act's probability but an
    action wins, the reading is withheld (a question): when a command may be unsafe, ask."""
    act, p_act = _best(probs, "act")
    conf = [p_act]
    if act == "abstain":
        return Reading(None, p_act, act, "not a command I know")
    p_refuse = sum(_p(probs, "act", a) for a in REFUSALS)
    if act not in REFUSALS and p_refuse >= caution:
        return Reading(None, 0.0, act, "it may be a command I must refuse")
    if act in TASKS:
        return Reading(TASKS[act], p_act, act)
    if act in CONTROLS:
        return Reading(CONTROLS[act], p_act, act)
    if act in REFUSALS:
        what = {}
        if act == "container":
            r = ground_mention(probs, "aux", scene, CONTAINERS)
            what["bowl"] = r.text
            conf.append(r.confidence)
        else:
            r = ground_mention(probs, "obj", scene, BLOCK)
            what["obj"] = r.text
            conf.append(r.confidence)
        color, pc = _best(probs, "paint")
        what["color"] = color if color != NONE else "red"
        if act == "paint":
            conf.append(pc)
        return Reading(REFUSALS[act].format(**what), min(conf), act)
    if act == "sequence":
        s1, p1 = _best(probs, "step1")
        s2, p2 = _best(probs, "step2")
        conf.extend((p1, p2))
        if s1 == NONE or s2 == NONE:
            return Reading(None, 0.0, act, "a sequence without its steps")
        a = _clause_text(probs, s1, "", scene, conf)
        b = _clause_text(probs, s2, "2", scene, conf)
        return Reading(f"{a}, then {b}", min(conf), act)
    if act == "put_all":
        ex = ground_mention(probs, "aux", scene, BLOCK)
        dest = ground_mention(probs, "dest", scene, ("bowl", "tray"))
        conf.extend((ex.confidence, dest.confidence))
        return Reading(f"put all the blocks except {ex.text} in {dest.text}", min(conf), act)
    if act == "pick_put":
        obj = ground_mention(probs, "obj", scene, BLOCK)
        dest = ground_mention(probs, "dest", scene, KINDS)
        conf.extend((obj.confidence, dest.confidence))
        prep = "on" if dest.text.endswith(" block") else "in"
        return Reading(f"pick up {obj.text} and put it {prep} {dest.text}", min(conf), act)
    ref, p_ref = _best(probs, "ref")
    if ref != NONE and act in ("pick", "push"):
        conf.append(p_ref)
        phrase = _ref_phrase(probs, ref, scene, conf)
        if act == "pick":
            return Reading(f"pick up {phrase}", min(conf), act)
        direction, pd = _best(probs, "dir")
        conf.append(pd)
        return Reading(
            f"push {phrase} {direction if direction != NONE else 'left'}", min(conf), act
        )
    if act == "pick":
        r = ground_mention(probs, "obj", scene, BLOCK, generic=True)
        conf.append(r.confidence)
        return Reading(f"pick up {r.text}", min(conf), act)
    return Reading(_clause_text(probs, act, "", scene, conf), min(conf), act)


def _ref_phrase(probs: Probs, ref: str, scene: Scene, conf: list[float]) -> str:
    kind, how = ref.split(":", 1)
    if kind == "ordinal":
        n, side = how.split(":")
        return f"the {ORDINALS[int(n)]} block from the {side}"
    if kind == "superlative":
        return SUPERLATIVES[how].format(kind="block")
    landmark = ground_mention(probs, "aux", scene, KINDS)
    conf.append(landmark.confidence)
    return RELATIONS[how].format(kind="block", landmark=landmark.text)
