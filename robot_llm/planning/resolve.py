"""Grounding noun phrases: which objects of the table model a `Ref` names.

The answer is `Found` (ids), `Ambiguous` (several fit a phrase that names one: the planner asks)
or `Missing` (nothing fits: the message says what is visible instead). Spatial words use the
table frame: left = +y, right = -y, behind / far = +x, in front / near = -x; the robot's base is
the origin.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from robot_llm.planning.describe import article, inventory, plural
from robot_llm.planning.lexicon import ALL_KINDS, BLOCK, CONTAINERS, SIZE_ORDER, ZONE
from robot_llm.planning.refs import Ref, Relation
from robot_llm.planning.table_model import TableModel, Thing

ROLE_KINDS: Final[dict[str, frozenset[str]]] = {
    "object": frozenset({BLOCK}),
    "push": frozenset({BLOCK}),  # a bowl or tray is pushed when named as one
    "in": CONTAINERS,
    "on": frozenset({BLOCK, ZONE}),  # "on the blue one": a block or zone before a bowl
    "to": ALL_KINDS,
    "landmark": ALL_KINDS,
    "any": ALL_KINDS,
}
SIDE_MARGIN: Final = 0.02  # meters beyond a landmark's center that counts as left of it, etc.
NEAR_GAP: Final = 0.10  # "next to": at most this far between outlines (circle approximation)
BETWEEN_WIDTH: Final = 0.06
ROBOT: Final = (0.0, 0.0)
CORNERS: Final = {
    "far left": (0.70, 0.30),
    "far right": (0.70, -0.30),
    "near left": (0.30, 0.30),
    "near right": (0.30, -0.30),
    "center": (0.50, 0.0),
}


@dataclass(frozen=True)
class Found:
    ids: tuple[str, ...]


@dataclass(frozen=True)
class Ambiguous:
    candidates: tuple[str, ...]
    noun: str
    want: int = 1


@dataclass(frozen=True)
class Missing:
    message: str
    alternatives: tuple[str, ...] = ()
    noun: str = "object"


Resolution = Found | Ambiguous | Missing


@dataclass
class Context:
    """What resolution reads besides the phrase: the model, recent mentions, clarify answers."""

    world: TableModel
    mentioned: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)  # every object named in this command
    bindings: list[tuple[str, ...]] = field(default_factory=list)  # answers to questions
    recent: list[str] = field(default_factory=list)  # objects and targets of the latest plans


def noun_for(ref: Ref, kinds: frozenset[str]) -> str:
    if ref.noun and not ref.unknown_noun and ref.noun not in ("one", "object", "thing", "item"):
        return ref.noun
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds == CONTAINERS or kinds <= CONTAINERS:
        return "container"
    return "object"


def _described(ref: Ref, noun: str, plural_form: bool = False) -> str:
    words = []
    if ref.size:
        words.append(ref.size)
    if ref.color_word:
        words.append(ref.color_word)
    words.append(plural(noun) if plural_form else noun)
    return " ".join(words)


def _kinds(ref: Ref, role: str, world: TableModel) -> frozenset[str]:
    role_kinds = ROLE_KINDS[role]
    if ref.kinds is None:
        return role_kinds
    both = ref.kinds & role_kinds
    if both and any(t.kind in both for t in world):
        return both
    return ref.kinds


def _extreme(things: Sequence[Thing], how: str, world: TableModel) -> list[Thing]:
    """The things at one extreme (ties kept): left, right, near, far, top, bottom, center..."""
    if not things:
        return []
    keys: dict[str, Callable[[Thing], float]] = {
        "left": lambda t: -t.y,
        "right": lambda t: t.y,
        "near": lambda t: t.x,
        "far": lambda t: -t.x,
        "top": lambda t: -t.top,
        "bottom": lambda t: t.bottom,
        "robot": lambda t: math.hypot(t.x, t.y),
        "robot_far": lambda t: -math.hypot(t.x, t.y),
    }
    if how in CORNERS:
        cx, cy = CORNERS[how]
        f: Callable[[Thing], float] = lambda t: math.hypot(t.x - cx, t.y - cy)  # noqa: E731
    else:
        f = keys[how]
    if how == "bottom":  # "the bottom block": of a stack, when there is one
        things = [t for t in things if world.blocks_on(t.id)] or list(things)
    values = [f(t) for t in things]
    best = min(values)
    return [t for t, v in zip(things, values, strict=True) if v <= best + 0.005]


def _in_region(t: Thing, region: str) -> bool:
    """Loose halves and quadrants for plural phrases ("the blocks on the left")."""
    far, left = t.x > 0.5, t.y > 0.0
    return {
        "left": left,
        "right": t.y < 0.0,
        "far": far,
        "near": t.x < 0.5,
        "far left": far and left,
        "far right": far and t.y < 0.0,
        "near left": t.x < 0.5 and left,
        "near right": t.x < 0.5 and t.y < 0.0,
        "center": math.hypot(t.x - 0.5, t.y) < 0.1,
    }[region]


class Resolver:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.world = ctx.world

    # -- entry -----------------------------------------------------------------------------------
    def resolve(self, ref: Ref, role: str) -> Resolution:
        r = self._resolve(ref, role)
        if isinstance(r, Missing) and r.alternatives:
            bound = self._bound(r.alternatives)  # the operator answered "which one do you mean?"
            if bound is not None:
                return Found(bound)
            if (ref.many or ref.plural) and ref.quant != "them":
                return Missing(r.message, (), r.noun)  # "all the yellow blocks": no choice
        return r

    def _resolve(self, ref: Ref, role: str) -> Resolution:
        if ref.members:
            ids: list[str] = []
            for m in ref.members:
                r = self.resolve(m, role)
                if not isinstance(r, Found):
                    return r
                ids.extend(i for i in r.ids if i not in ids)
            return self._exclude(ref, ids, role)
        if ref.quant == "same":  # "the same bowl": the one used last
            kinds = _kinds(ref, role, self.world) if ref.kinds else ALL_KINDS
            for oid in reversed([*self.ctx.recent, *self.ctx.said]):
                if oid in self.world and self.world[oid].kind in kinds:
                    return Found((oid,))
            return Missing(f"I don't know which {noun_for(ref, kinds)} 'the same' means.", ())
        if ref.quant == "it":
            if not self.ctx.mentioned:
                return Missing("I don't know which object 'it' means.", self._all(role), "object")
            return Found((self.ctx.mentioned[-1],))
        if ref.quant == "them":
            if not self.ctx.mentioned:
                return Missing(
                    "I don't know which objects 'them' means.", self._all(role), "object"
                )
            return self._exclude(ref, list(self.ctx.mentioned), role)
        got = self.matching(ref, role)
        if not isinstance(got, list):
            return got
        return self._quantify(ref, got, role)

    def _all(self, role: str) -> tuple[str, ...]:
        return tuple(t.id for t in self.world if t.kind in ROLE_KINDS[role])

    # -- description -----------------------------------------------------------------------------
    def matching(
        self, ref: Ref, role: str, within: set[str] | None = None
    ) -> list[Thing] | Missing | Ambiguous:
        """Everything the description fits, before counting (among `within` when given)."""
        world = self.world
        if ref.object_id is not None:
            if ref.object_id in world:
                return [world[ref.object_id]]
            return Missing(f"I don't see {ref.object_id}.", ())
        kinds = _kinds(ref, role, world)
        noun = noun_for(ref, kinds)
        if ref.unknown_noun:
            return Missing(
                f"I don't see {article(ref.noun or 'object')}; I see {inventory(list(world))}.",
                (),
            )
        things = [t for t in world if t.kind in kinds and (within is None or t.id in within)]
        if ref.noun in ("tower", "stack", "pile"):
            things = [t for t in things if world[t.id].support in world and world.clear(t.id)]
            things = [t for t in things if world[world[t.id].support or ""].kind == BLOCK]
        if not things:
            return Missing(
                f"I don't see {article(noun)}; I see {inventory(list(world))}.", (), noun
            )
        for narrow in (self._by_color, self._by_size_words, self._by_relations, self._by_state):
            got = narrow(ref, noun, things)
            if not isinstance(got, list):
                return got
            things = got
        return self._by_order(ref, noun, things)

    def _by_color(self, ref: Ref, noun: str, things: list[Thing]) -> list[Thing] | Missing:
        if ref.color is None:
            return things
        colored = [t for t in things if t.color == ref.color]
        if not colored and ref.kinds is None:
            # "the blue one" where only a blue bowl fits: let the action say why not
            colored = [t for t in self.world if t.color == ref.color]
        if colored:
            return colored
        said = (
            f"any {_described(ref, noun, True)}"
            if ref.plural or ref.quant in ("all", "both", "count")
            else article(_described(ref, noun))
        )
        return Missing(
            f"I don't see {said}; I see {inventory(things)}.", tuple(t.id for t in things), noun
        )

    def _by_size_words(self, ref: Ref, noun: str, things: list[Thing]) -> list[Thing]:
        if ref.size is not None:
            things = self._by_size(things, ref.size)
        if ref.size_extreme is not None:
            order = [SIZE_ORDER[t.size] for t in things]
            want = max(order) if ref.size_extreme == "max" else min(order)
            things = [t for t, o in zip(things, order, strict=True) if o == want]
        return things

    def _by_relations(
        self, ref: Ref, noun: str, things: list[Thing]
    ) -> list[Thing] | Missing | Ambiguous:
        before_relations = things
        for rel in ref.relations:
            got = self._relation(ref, rel, things)
            if not isinstance(got, list):
                return got
            things = got
            if not things:
                return Missing(
                    f"I don't see {article(_described(ref, noun))} {self._rel_text(rel)}.",
                    tuple(t.id for t in before_relations),
                    noun,
                )
        return things

    def _by_state(self, ref: Ref, noun: str, things: list[Thing]) -> list[Thing] | Missing:
        """ "an empty bowl", "the other block"."""
        if ref.empty:
            things = [t for t in things if not self.world.on_top(t.id)]
            if not things:
                return Missing(f"Every {noun} has something in it.", (), noun)
        if ref.other:
            things = self._other(ref, things)
            if not things:
                return Missing(f"I don't see another {noun}.", (), noun)
        return things

    _ORDINAL_KEYS: Final[dict[str, Callable[[Thing], float]]] = {
        "left": lambda t: -t.y,
        "right": lambda t: t.y,
        "near": lambda t: t.x,
        "far": lambda t: -t.x,
    }

    def _by_order(self, ref: Ref, noun: str, things: list[Thing]) -> list[Thing] | Missing:
        """ "the leftmost block", "the nearest bowl", "the second block from the left"."""
        if ref.position is not None:
            how = ref.position
            # "nearest" / "farthest" measure from the robot's base; "front" / "back" along x
            if how == "near" and {"nearest", "closest"} & set(ref.words):
                how = "robot"
            elif how == "far" and {"farthest", "furthest"} & set(ref.words):
                how = "robot_far"
            things = _extreme(things, how, self.world)
        if ref.ordinal is not None:
            ordered = sorted(things, key=self._ORDINAL_KEYS[ref.ordinal_axis or "left"])
            idx = ref.ordinal
            if idx >= len(ordered) or -idx > len(ordered):
                return Missing(
                    f"I see only {len(ordered)} {plural(noun) if len(ordered) != 1 else noun}.",
                    tuple(t.id for t in ordered),
                    noun,
                )
            things = [ordered[idx]]
        return things

    def _by_size(self, things: list[Thing], size: str) -> list[Thing]:
        exact = [t for t in things if t.size == size]
        if exact:
            return exact
        sizes = {SIZE_ORDER[t.size] for t in things}
        if len(sizes) <= 1 or size == "medium":
            return things  # everything is the same size: the word tells nothing apart
        want = max(sizes) if size == "large" else min(sizes)
        return [t for t in things if SIZE_ORDER[t.size] == want]

    def _other(self, ref: Ref, things: list[Thing]) -> list[Thing]:
        said = self.ctx.said or self.ctx.mentioned
        rest = [t for t in things if t.id not in said]
        if ref.quant in ("the", "a") and len(rest) > 1 and said:
            colors = {self.world[i].color for i in said if i in self.world}
            same = [t for t in rest if t.color in colors]
            if same:
                return same
        return rest

    def _rel_text(self, rel: Relation) -> str:
        words = {
            "left_of": "to the left of",
            "right_of": "to the right of",
            "behind": "behind",
            "in_front": "in front of",
            "near": "next to",
            "on": "on",
            "above": "above",
            "under": "under",
            "in": "in",
            "between": "between",
            "nearest": "nearest to",
            "farthest": "farthest from",
        }
        if rel.name == "region":
            return f"on the {rel.place} side" if rel.place != "center" else "in the center"
        if rel.name == "on_table":
            return "on the table"
        args = " and ".join(" ".join(a.words) or "it" for a in rel.args)
        return f"{words.get(rel.name, rel.name)} {args}"

    def _landmark(self, ref: Ref) -> Thing | tuple[float, float] | Missing | Ambiguous:
        if ref.object_id == "<robot>":
            return ROBOT
        r = self.resolve(ref, "landmark")
        if isinstance(r, Found):
            if len(r.ids) != 1:
                return Ambiguous(r.ids, noun_for(ref, ALL_KINDS))
            return self.world[r.ids[0]]
        return r

    def _relation(
        self, ref: Ref, rel: Relation, things: list[Thing]
    ) -> list[Thing] | Missing | Ambiguous:
        """The things that stand in `rel` (to its landmarks, resolved here)."""
        whole = self._without_landmark(ref, rel, things)
        if whole is not None:
            return whole
        marks = []
        for a in rel.args:
            m = self._landmark(a)
            if isinstance(m, Missing | Ambiguous):
                return m
            marks.append(m)
        pts = [(m.x, m.y) if isinstance(m, Thing) else m for m in marks]
        mark_ids = {m.id for m in marks if isinstance(m, Thing)}
        things = [t for t in things if t.id not in mark_ids]
        placed = self._by_geometry(ref, rel, things, pts, marks[0])
        if placed is not None:
            return placed
        lm = marks[0]
        if not isinstance(lm, Thing):  # "on the robot", "from you": nothing there
            return []
        return self._by_support(rel, things, lm)

    def _without_landmark(
        self, ref: Ref, rel: Relation, things: list[Thing]
    ) -> list[Thing] | Missing | Ambiguous | None:
        """Relations decided without one landmark: on the table, in a region, in a tower, beside
        a group (each of its members); None for the others."""
        world = self.world
        if rel.name == "on_table":
            return [t for t in things if world.on_table(t.id)]
        if rel.name == "region":
            assert rel.place is not None
            if ref.many or ref.plural:
                return [t for t in things if _in_region(t, rel.place)]
            return _extreme(things, rel.place, world)
        if rel.name in ("in", "on", "above") and any(
            a.noun in ("tower", "stack", "pile") for a in rel.args
        ):  # "the block from the tower": any block of a stack
            return [
                t
                for t in things
                if (t.support is not None and world[t.support].kind == BLOCK)
                or world.blocks_on(t.id)
            ]
        if rel.name in ("left_of", "right_of", "behind", "in_front") and rel.args[0].many:
            group = self.resolve(rel.args[0], "landmark")  # "behind the red blocks": all of them
            if not isinstance(group, Found):
                return group
            for gid in group.ids:
                got = self._relation(
                    ref, Relation(rel.name, (Ref(words=(gid,), object_id=gid),)), things
                )
                if not isinstance(got, list):
                    return got
                things = got
            return things
        return None

    def _by_geometry(
        self,
        ref: Ref,
        rel: Relation,
        things: list[Thing],
        pts: list[tuple[float, float]],
        lm: Thing | tuple[float, float],
    ) -> list[Thing] | None:
        """Sides, nearness and betweenness, from the landmarks' positions; None for the others."""
        (lx, ly) = pts[0]
        sides = {
            "left_of": lambda t: t.y > ly + SIDE_MARGIN,
            "right_of": lambda t: t.y < ly - SIDE_MARGIN,
            "behind": lambda t: t.x > lx + SIDE_MARGIN,
            "in_front": lambda t: t.x < lx - SIDE_MARGIN,
        }
        if rel.name in sides:
            return [t for t in things if sides[rel.name](t)]
        if rel.name == "near":
            r0 = lm.radius if isinstance(lm, Thing) else 0.1
            near = [t for t in things if math.hypot(t.x - lx, t.y - ly) <= t.radius + r0 + NEAR_GAP]
            if len(near) > 1 and not (ref.many or ref.plural):
                # "the block next to the bowl": the nearest one when it is clearly nearest
                ranked = sorted((math.hypot(t.x - lx, t.y - ly), t.id) for t in near)
                if ranked[1][0] - ranked[0][0] > 0.04:
                    return [self.world[ranked[0][1]]]
            return near
        if rel.name in ("nearest", "farthest"):
            if not things:
                return []
            d = [math.hypot(t.x - lx, t.y - ly) for t in things]
            best = min(d) if rel.name == "nearest" else max(d)
            return [t for t, v in zip(things, d, strict=True) if abs(v - best) < 0.005]
        if rel.name == "between":
            (bx, by) = pts[1]
            vx, vy = bx - lx, by - ly
            length2 = vx * vx + vy * vy or 1e-9
            out = []
            for t in things:
                s = ((t.x - lx) * vx + (t.y - ly) * vy) / length2
                px, py = lx + s * vx, ly + s * vy
                if 0.0 < s < 1.0 and math.hypot(t.x - px, t.y - py) <= BETWEEN_WIDTH + t.radius:
                    out.append(t)
            return out
        return None

    def _by_support(self, rel: Relation, things: list[Thing], lm: Thing) -> list[Thing]:
        """What rests on, in, above or under the landmark."""
        world = self.world
        if rel.name in ("on", "in"):
            if lm.kind == BLOCK:
                if rel.name == "in":
                    return []
                return [t for t in things if t.support == lm.id]
            return [t for t in things if world.container_of(t.id) == lm.id]
        if rel.name == "above":
            return [t for t in things if t.id in world.above(lm.id)]
        if rel.name == "under":  # directly under
            return [t for t in things if lm.support == t.id]
        if rel.name == "below":
            return [t for t in things if lm.id in world.above(t.id)]
        raise ValueError(f"unknown relation {rel.name}")

    # -- counting --------------------------------------------------------------------------------
    def _exclude(self, ref: Ref, ids: list[str], role: str) -> Resolution:
        for ex in ref.excluding:
            got = self.matching(ex, role)
            if isinstance(got, Missing):
                return got
            if isinstance(got, Ambiguous):
                return got
            drop = {t.id for t in got}
            ids = [i for i in ids if i not in drop]
        if not ids:
            return Missing("Nothing is left once those are excluded.", ())
        return Found(tuple(ids))

    def _bound(self, cands: Sequence[str]) -> tuple[str, ...] | None:
        for chosen in reversed(self.ctx.bindings):
            if chosen and set(chosen) <= set(cands):
                return chosen
        return None

    def _quantify(self, ref: Ref, things: list[Thing], role: str) -> Resolution:
        kinds = _kinds(ref, role, self.world)
        noun = noun_for(ref, kinds)
        ids = [t.id for t in things]
        said = _described(ref, noun)
        if ref.quant in ("all", "rest") or (ref.plural and ref.quant == "the"):
            if not ids:
                return Missing(f"I don't see any {_described(ref, noun, True)}.", (), noun)
            if ref.count is not None and ref.quant != "rest" and len(ids) < ref.count:
                return Missing(self._only(len(ids), ref, noun), (), noun)
            return self._exclude(ref, ids, role)
        if ref.quant == "both":
            if len(ids) == 2:
                return self._exclude(ref, ids, role)
            if len(ids) < 2:
                return Missing(self._only(len(ids), ref, noun), (), noun)
            bound = self._bound(ids)
            if bound is not None and len(bound) == 2:
                return Found(bound)
            return Ambiguous(tuple(ids), said, 2)
        if ref.quant == "count":
            n = ref.count or 1
            if len(ids) < n:
                return Missing(self._only(len(ids), ref, noun), (), noun)
            definite = ref.words[:1] == ("the",)
            if definite and len(ids) > n:
                bound = self._bound(ids)
                if bound is not None and len(bound) == n:
                    return Found(bound)
                return Ambiguous(tuple(ids), said, n)
            return self._exclude(ref, ids[:n], role)
        if not ids:
            return Missing(f"I don't see {article(said)}.", (), noun)
        if ref.quant == "a":
            return Found((ids[0],))
        if len(ids) == 1:
            return Found((ids[0],))
        bound = self._bound(ids)
        if bound is not None:
            return Found(bound)
        return Ambiguous(tuple(ids), said)

    def _only(self, n: int, ref: Ref, noun: str) -> str:
        if n == 0:
            return f"I don't see any {_described(ref, noun, True)}."
        what = _described(ref, noun, n != 1)
        return f"I see only {n} {what}." if n != 1 else f"I see only one {what}."


def resolve(ref: Ref, ctx: Context, role: str) -> Resolution:
    return Resolver(ctx).resolve(ref, role)


def missing_question(m: Missing) -> str:
    if m.alternatives:
        return f"{m.message} Which one do you mean?"
    return m.message


__all__ = [
    "ROLE_KINDS",
    "Ambiguous",
    "Context",
    "Found",
    "Missing",
    "Resolution",
    "Resolver",
    "missing_question",
    "resolve",
]
