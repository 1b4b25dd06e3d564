"""What a command means, before any wording: intents drawn from a scene, and their canonical text.

An `Intent` is one command's meaning in slots (objects as `Mention`s, a destination, a direction,
an ordinal...) plus its canonical wording: the plain phrasing the rule planner was written for
(`canonical`). Its label is the rule planner's answer to that canonical text. The split modules
(`templates_train`, `templates_heldout`) word the same slots in their own ways; nothing here
is surface wording beyond the canonical one, whose words (`CANONICAL_WORDS`) both splits may use.

Families (`FAMILIES`): pick, put, push, stack, tasks (tower, sort, clear), control (home,
gripper), multistep (two clauses in order), pronoun (pick X and put it ...), correction (a
self-correction inside the command), constraint (all blocks but one), ordinal, superlative,
relation, clarify (an under-specified object: the teacher asks) and refuse (unsafe or
impossible: the teacher refuses).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from robot_llm.tabletop.geometry import height
from robot_llm.tabletop.palette import COLORS, SIZES
from robot_llm.types import KINDS, Scene, SceneObject

FAMILIES: Final = (
    "pick",
    "put",
    "push",
    "stack",
    "tasks",
    "control",
    "multistep",
    "pronoun",
    "correction",
    "constraint",
    "ordinal",
    "superlative",
    "relation",
    "clarify",
    "refuse",
)
# The answer type each family's canonical command must get from the teacher (others resampled).
EXPECTED: Final[dict[str, str]] = {f: "plan" for f in FAMILIES} | {
    "clarify": "clarify",
    "refuse": "refuse",
}
DIRECTIONS: Final = ("left", "right", "forward", "back")
ORDINALS: Final = {1: "first", 2: "second", 3: "third"}
SIDES: Final = ("left", "right", "front", "back")
SUPERLATIVES: Final = {  # canonical phrase: the object it names (see `_extreme`)
    "leftmost": "the leftmost {kind}",
    "rightmost": "the rightmost {kind}",
    "largest": "the largest {kind}",
    "smallest": "the smallest {kind}",
    "nearest": "the {kind} closest to the robot",
}
RELATIONS: Final = {
    "closest": "the {kind} closest to {landmark}",
    "farthest": "the {kind} farthest from {landmark}",
    "left_of": "the {kind} to the left of {landmark}",
    "right_of": "the {kind} to the right of {landmark}",
}
TASKS: Final = {
    "tower": "stack the blocks",
    "sort": "sort the blocks by color",
    "clear": "clear the table",
}
CONTROLS: Final = {"home": "go home", "open": "open the gripper", "close": "close the gripper"}
REFUSALS: Final = {  # canonical clause per reason; `{obj}` a block, `{bowl}` a container
    "throw": "throw {obj}",
    "people": "hand me {obj}",
    "container": "pick up {bowl}",
    "paint": "paint {obj} {color}",
    "rotate": "rotate {obj} 90 degrees",
}
# Canonical words: what the canonical templates above and `canonical_*` below may say. Both
# splits may use them; any other word belongs to one split only (tests/test_distill.py).
CANONICAL_WORDS: Final = frozenset(
    " ".join(
        [
            *COLORS,
            *SIZES,
            *KINDS,
            *(f"{k}s" for k in KINDS),
            *DIRECTIONS,
            *ORDINALS.values(),
            *SIDES,
            *SUPERLATIVES.values(),
            *RELATIONS.values(),
            *TASKS.values(),
            *CONTROLS.values(),
            *REFUSALS.values(),
            "the a it and then pick up put in on push by cm stack all except from of to 90",
            "degrees me 1 2 3 4 5 6 7 8 9 10 12 15",
        ]
    )
    .replace("{", " ")
    .replace("}", " ")
    .split()
)


@dataclass(frozen=True)
class Mention:
    """How a command names one object: its kind, and the color and size that tell it apart."""

    kind: str
    color: str | None = None
    size: str | None = None
    id: str = ""

    def canonical(self) -> str:
        words = [w for w in (self.size, self.color, self.kind) if w]
        return "the " + " ".join(words)


@dataclass(frozen=True)
class Intent:
    """One command's meaning: its family, action, slots and canonical wording."""

    family: str
    act: str
    canonical: str
    slots: Mapping[str, Any] = field(default_factory=dict)
    steps: tuple[Intent, ...] = ()


class NoIntent(Exception):
    """The scene cannot carry this family (no second block, no tray ...): sample again."""


# -- naming objects --------------------------------------------------------------------------------
def mention(o: SceneObject, scene: Scene, force_size: bool = False) -> Mention:
    """The shortest canonical name: color and kind, with the size when another object of that
    color and kind is there. NoIntent when only position tells it apart."""
    same = [x for x in scene if x.kind == o.kind and x.color == o.color]
    if len(same) == 1:
        return Mention(o.kind, o.color, o.size if force_size else None, o.id)
    if sum(x.size == o.size for x in same) == 1:
        return Mention(o.kind, o.color, o.size, o.id)
    raise NoIntent(f"{o.id} has a twin")


def _free_blocks(scene: Scene) -> list[SceneObject]:
    """Blocks on the table with nothing on them."""
    blocks = [o for o in scene if o.kind == "block"]
    out = []
    for b in blocks:
        low = b.position[2] - 0.5 * _h(b)
        covered = any(
            o is not b
            and abs(o.position[0] - b.position[0]) < 0.02
            and abs(o.position[1] - b.position[1]) < 0.02
            and o.position[2] > b.position[2]
            for o in blocks
        )
        if low < 0.005 and not covered:
            out.append(b)
    return out


def _h(o: SceneObject) -> float:
    return height(o.kind, o.size)


def _containers(scene: Scene) -> list[SceneObject]:
    return [o for o in scene if o.kind != "block"]


def _pick(
    rng: random.Random, items: list[SceneObject], scene: Scene
) -> tuple[SceneObject, Mention]:
    if not items:
        raise NoIntent("nothing to choose")
    o = rng.choice(items)
    return o, mention(o, scene)


# -- clause intents (one action) -------------------------------------------------------------------
def pick(rng: random.Random, scene: Scene, family: str = "pick") -> Intent:
    _, m = _pick(rng, _free_blocks(scene), scene)
    return Intent(family, "pick", f"pick up {m.canonical()}", {"obj": m})


def put(rng: random.Random, scene: Scene, family: str = "put") -> Intent:
    o, m = _pick(rng, _free_blocks(scene), scene)
    targets = [t for t in _containers(scene) + _free_blocks(scene) if t.id != o.id]
    _, d = _pick(rng, targets, scene)
    prep = "on" if d.kind == "block" else "in"
    text = f"put {m.canonical()} {prep} {d.canonical()}"
    return Intent(family, "put", text, {"obj": m, "dest": d, "prep": prep})


def push(rng: random.Random, scene: Scene, family: str = "push") -> Intent:
    _, m = _pick(rng, _free_blocks(scene), scene)
    direction = rng.choice(DIRECTIONS)
    cm = rng.choice((None, None, 5, 10))
    text = f"push {m.canonical()} {direction}" + (f" by {cm} cm" if cm else "")
    return Intent(family, "push", text, {"obj": m, "dir": direction, "cm": cm})


def stack(rng: random.Random, scene: Scene, family: str = "stack") -> Intent:
    blocks = _free_blocks(scene)
    o, m = _pick(rng, blocks, scene)
    _, d = _pick(rng, [b for b in blocks if b.id != o.id], scene)
    text = f"stack {m.canonical()} on {d.canonical()}"
    return Intent(family, "stack", text, {"obj": m, "dest": d, "prep": "on"})


def task(rng: random.Random, scene: Scene, family: str = "tasks") -> Intent:
    what = rng.choice(sorted(TASKS))
    return Intent(family, what, TASKS[what], {})


def control(rng: random.Random, scene: Scene, family: str = "control") -> Intent:
    what = rng.choice(sorted(CONTROLS))
    return Intent(family, what, CONTROLS[what], {})


# -- composed intents ------------------------------------------------------------------------------
def multistep(rng: random.Random, scene: Scene) -> Intent:
    # not a bare pick first: the hand must be empty before the second step
    first = rng.choice((put, push, stack))(rng, scene, "multistep")
    second = rng.choice((put, push, control))(rng, scene, "multistep")
    if first.act == second.act == "control":
        raise NoIntent("two controls")
    text = f"{first.canonical}, then {second.canonical}"
    return Intent("multistep", "sequence", text, {}, (first, second))


def pronoun(rng: random.Random, scene: Scene) -> Intent:
    p = put(rng, scene)
    m, d, prep = p.slots["obj"], p.slots["dest"], p.slots["prep"]
    text = f"pick up {m.canonical()} and put it {prep} {d.canonical()}"
    return Intent("pronoun", "pick_put", text, dict(p.slots))


def correction(rng: random.Random, scene: Scene) -> Intent:
    """A put whose object (or destination) is corrected: the canonical says only the right one."""
    p = put(rng, scene)
    which = rng.choice(("obj", "dest"))
    right: Mention = p.slots[which]
    colors = [c for c in COLORS if c != right.color]
    wrong = Mention(right.kind, rng.choice(colors), right.size)
    return Intent("correction", "put", p.canonical, {**p.slots, "fix": which, "wrong": wrong})


def constraint(rng: random.Random, scene: Scene) -> Intent:
    blocks = _free_blocks(scene)
    if len(blocks) < 3 or len(blocks) != sum(o.kind == "block" for o in scene):
        raise NoIntent("too few blocks")
    _, ex = _pick(rng, blocks, scene)
    _, d = _pick(rng, [c for c in _containers(scene) if c.kind != "zone"], scene)
    text = f"put all the blocks except {ex.canonical()} in {d.canonical()}"
    return Intent("constraint", "put_all", text, {"ex": ex, "dest": d, "prep": "in"})


def ordinal(rng: random.Random, scene: Scene) -> Intent:
    n = rng.choice((1, 2, 3))
    side = rng.choice(SIDES)
    if len([o for o in scene if o.kind == "block"]) < n + 1:
        raise NoIntent("too few blocks")
    ref = f"the {ORDINALS[n]} block from the {side}"
    return _ref_intent(rng, scene, "ordinal", ref, {"n": n, "side": side, "kind": "block"})


def superlative(rng: random.Random, scene: Scene) -> Intent:
    which = rng.choice(sorted(SUPERLATIVES))
    ref = SUPERLATIVES[which].format(kind="block")
    return _ref_intent(rng, scene, "superlative", ref, {"which": which, "kind": "block"})


def relation(rng: random.Random, scene: Scene) -> Intent:
    rel = rng.choice(sorted(RELATIONS))
    _, lm = _pick(rng, _containers(scene) or [o for o in scene], scene)
    ref = RELATIONS[rel].format(kind="block", landmark=lm.canonical())
    return _ref_intent(rng, scene, "relation", ref, {"rel": rel, "kind": "block", "landmark": lm})


def _ref_intent(
    rng: random.Random, scene: Scene, family: str, ref: str, how: dict[str, Any]
) -> Intent:
    """A pick or a push of the block a described phrase names (`ref` is its canonical text)."""
    slots: dict[str, Any] = {"ref": how}
    if rng.random() < 0.7:
        return Intent(family, "pick", f"pick up {ref}", slots)
    direction = rng.choice(DIRECTIONS)
    return Intent(
        family, "push", f"push {ref} {direction}", {**slots, "dir": direction, "cm": None}
    )


def clarify(rng: random.Random, scene: Scene) -> Intent:
    """A kind said without what tells it apart, when several objects fit: the teacher asks."""
    blocks = [o for o in scene if o.kind == "block"]
    if len(blocks) < 2:
        raise NoIntent("one block")
    m = Mention("block")
    if rng.random() < 0.5:
        return Intent("clarify", "pick", f"pick up {m.canonical()}", {"obj": m})
    conts = _containers(scene)
    _, d = _pick(rng, conts, scene)
    text = f"put {m.canonical()} in {d.canonical()}"
    return Intent("clarify", "put", text, {"obj": m, "dest": d, "prep": "in"})


def refusal(rng: random.Random, scene: Scene) -> Intent:
    why = rng.choice(sorted(REFUSALS))
    _, m = _pick(rng, _free_blocks(scene), scene)
    _, b = _pick(rng, _containers(scene), scene)
    color = rng.choice([c for c in COLORS if c != m.color])
    text = REFUSALS[why].format(obj=m.canonical(), bowl=b.canonical(), color=color)
    return Intent("refuse", why, text, {"obj": m, "bowl": b, "color": color})


MAKERS: Final = {
    "pick": pick,
    "put": put,
    "push": push,
    "stack": stack,
    "tasks": task,
    "control": control,
    "multistep": multistep,
    "pronoun": pronoun,
    "correction": correction,
    "constraint": constraint,
    "ordinal": ordinal,
    "superlative": superlative,
    "relation": relation,
    "clarify": clarify,
    "refuse": refusal,
}
