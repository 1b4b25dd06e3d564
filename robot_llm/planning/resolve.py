"""Grounding noun phrases: which objects of the table model a `Ref` names.

The answer is a `resolution.Resolution`: `Found` (ids), `Ambiguous` (the planner asks) or
`Missing`. `Resolver` reads the pronouns, narrows the candidates by color, size, state and order
(relations to landmarks: `relations_ground.py`), then counts them against the quantifier.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from robot_llm.planning.describe import article, inventory, join, name, plural
from robot_llm.planning.lexicon import ALL_KINDS, BLOCK, CONTAINERS, SIZE_ORDER, ZONE
from robot_llm.planning.refs import Ref
from robot_llm.planning.relations_ground import RelationGrounder, extreme, rel_text
from robot_llm.planning.resolution import Ambiguous, Found, Missing, Resolution, noun_for
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


@dataclass
class Context:
    """What resolution reads besides the phrase: the model, recent mentions, clarify answers."""

    world: TableModel
    mentioned: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)  # every object named in this command
    bindings: list[tuple[str, ...]] = field(default_factory=list)  # answers to questions
    recent: list[str] = field(default_factory=list)  # objects and targets of the latest plans


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


class Resolver:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.world = ctx.world
        self.relations = RelationGrounder(self.world, self.resolve)

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
        maybe = [t for t in things if ref.color in t.alt_colors]
        if maybe:
            # Only objects whose color the camera could not tell apart fit: ask, never guess.
            unsure = join([name(t, self.world) for t in maybe])
            verb = "is" if len(maybe) == 1 else "are"
            return Missing(
                f"I'm not sure I see {article(_described(ref, noun))}: {unsure} {verb} hard "
                f"to tell from {ref.color} here.",
                tuple(t.id for t in maybe),
                noun,
            )
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
            got = self.relations.relation(ref, rel, things)
            if not isinstance(got, list):
                return got
            things = got
            if not things:
                return Missing(
                    f"I don't see {article(_described(ref, noun))} {rel_text(rel)}.",
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
            things = extreme(things, how, self.world)
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


__all__ = [
    "ROLE_KINDS",
    "Context",
    "Resolver",
    "resolve",
]
