"""One planning pass of the rule planner: the table model, the steps so far, the primitives.

A `PlanDraft` plans one command. Each clause adds subgoals through the primitives here (`pick`,
`put_on`, `put_at`, `push_*`), which check feasibility against the table model, update it, and
raise `Problem` with a Clarify or Refuse when a step cannot be planned.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from robot_llm.planning.base import History
from robot_llm.planning.describe import join, name, names
from robot_llm.planning.lexicon import BLOCK, BOWL, CAPABILITIES, TRAY, ZONE
from robot_llm.planning.resolve import Context
from robot_llm.planning.table_model import TableModel, describe_workspace
from robot_llm.tabletop.directions import DIRECTION_VECTORS
from robot_llm.types import Clarify, Plan, Refuse, Scene, Subgoal

PUSH_GAP = 0.01  # meters left between a pushed object and the one it is pushed next to
SIDE_GAP = 0.015  # between a placed block and the object it is placed beside


class Problem(Exception):
    """A step cannot be planned; `result` says why (Refuse) or asks (Clarify)."""

    def __init__(self, result: Clarify | Refuse) -> None:
        super().__init__(getattr(result, "reason", getattr(result, "question", "")))
        self.result = result


def refuse(reason: str) -> Problem:
    return Problem(Refuse(reason))


def clarify(question: str, candidates: Sequence[str] = ()) -> Problem:
    return Problem(Clarify(question, tuple(candidates)))


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass
class ClauseInfo:
    """What a clause did, for ellipsis ("..., and the blue one too")."""

    verb: str
    verb_words: list[str]
    dest_words: list[str]


@dataclass
class PlanDraft:
    """The plan of one command while the rule planner writes it: the table model it changes as
    steps are added, the dialogue context, and the steps so far."""

    world: TableModel
    ctx: Context
    history: History
    scene: Scene
    steps: list[Subgoal] = field(default_factory=list)
    placed: set[str] = field(default_factory=set)  # blocks this plan put on or in something
    notes: list[str] = field(default_factory=list)  # steps taken beyond the command, in words
    prev: ClauseInfo | None = None
    last_tower: list[str] | None = None

    @classmethod
    def start(cls, scene: Scene, history: History, bindings: list[tuple[str, ...]]) -> PlanDraft:
        world = TableModel.from_scene(scene, held=history.held)
        mentioned = [i for i in history.mentioned if i in world]
        recent: list[str] = []
        for turn in history.turns[-3:]:
            if isinstance(turn.result, Plan):
                for st in turn.result.subgoals:
                    recent += [
                        i
                        for i in (st.object, st.on, st.in_, *(st.across or ()))
                        if i is not None and i in world
                    ]
        ctx = Context(world, mentioned=mentioned, bindings=bindings, recent=recent)
        return cls(world, ctx, history, scene)

    # -- naming ----------------------------------------------------------------------------------
    def name(self, oid: str) -> str:
        return name(self.world[oid], self.world)

    def names(self, ids: Sequence[str]) -> str:
        return names(ids, self.world)

    def mention(self, ids: Sequence[str]) -> None:
        ids = [i for i in ids if i in self.world]
        if ids:
            self.ctx.mentioned = list(ids)
            for i in ids:
                if i not in self.ctx.said:
                    self.ctx.said.append(i)

    # -- primitives ------------------------------------------------------------------------------
    def check_movable(self, oid: str) -> None:
        t = self.world[oid]
        if t.kind != BLOCK:
            raise refuse(
                f"I can't move {self.name(oid)}: I can only pick up and place blocks; bowls, "
                "trays and zones stay where they are."
            )

    def pick(self, oid: str) -> None:
        """Grasp a block (nothing when it is already in the hand)."""
        self.check_movable(oid)
        held = self.world.held
        if held == oid:
            return
        if held is not None:
            raise refuse(
                f"I'm holding {self.name(held)}; tell me where to put it before I pick up "
                f"{self.name(oid)} (I hold one block at a time)."
            )
        above = self.world.above(oid)
        if above and set(above) & self.placed:
            top = [a for a in above if self.world.clear(a)]
            raise refuse(
                f"{cap(self.name(oid))} is under {self.names(above[::-1])}, which this command "
                f"puts there; take {self.names(top)} off first (I only take blocks from the "
                "top of a stack)."
            )
        if above:
            self.notes.append(
                f"{cap(self.name(oid))} is under {self.names(above[::-1])}; I'll set "
                f"{'it' if len(above) == 1 else 'them'} aside first."
            )
            self.clear_above(oid)
        self.steps.append(Subgoal("pick", object=oid))
        self.world.pick(oid)

    def clear_above(self, oid: str, keep: Sequence[str] = ()) -> None:
        """Move the blocks stacked on `oid` to free table spots, top first (multi-block tasks)."""
        for above in self.world.above(oid):
            if above in keep:
                continue
            self.put_aside(above)

    def put_aside(self, oid: str) -> None:
        """Set a block down on a free table spot near where it stands."""
        base = self.world.base(oid)
        spot = self.world.free_spot(oid, near=(base.x, base.y), avoid_self=True)
        if spot is None:
            raise refuse(f"There is no free space on the table to set {self.name(oid)} down.")
        self.pick(oid)
        self.place_at(oid, spot)

    def already(self, oid: str, target: str) -> bool:
        t = self.world[oid]
        return not t.held and t.support == target

    def put_on(self, oid: str, target: str, chain: bool = False) -> None:
        """Pick (if needed) and place `oid` on a block, or in a bowl, tray or zone."""
        world = self.world
        self.check_movable(oid)
        tgt = world[target]
        if target == oid:
            raise refuse(f"I can't put {self.name(oid)} on itself.")
        if self.already(oid, target):
            return
        if tgt.kind == BLOCK:
            if tgt.held:
                raise refuse(f"I'm holding {self.name(target)}; I can't put anything on it.")
            above = world.above(target)
            if world.blocks_on(target) == [oid]:
                return  # already there
            if above:
                if chain or all(a in self.placed for a in above):
                    target = world.stack_top(target)
                    if target == oid:
                        return
                elif set(above) & self.placed:
                    raise refuse(
                        f"{cap(self.name(target))} has {self.names(above[::-1])} on it; I only put "
                        "blocks on a block with nothing on top."
                    )
                else:
                    self.notes.append(
                        f"{cap(self.name(target))} has {self.names(above[::-1])} on it; I'll "
                        f"set {'it' if len(above) == 1 else 'them'} aside first."
                    )
                    self.clear_above(target)
        self.pick(oid)
        kind = world[target].kind
        if kind == BLOCK:
            self.steps.append(Subgoal("place", object=oid, on=target))
        else:
            self.steps.append(Subgoal("place", object=oid, in_=target))
        world.place_on(oid, target)
        self.placed.add(oid)

    def inside_workspace(
        self, xy: tuple[float, float], what: str, advice: str
    ) -> tuple[float, float]:
        """The point rounded to the millimeter; a refusal naming it (`what`, else its
        coordinates) when it lies outside the workspace."""
        ws = self.world.workspace
        x, y = round(xy[0], 3), round(xy[1], 3)
        if not ws.contains(x, y):
            raise refuse(
                f"{what or f'[{x:.2f}, {y:.2f}]'} is outside the workspace "
                f"({describe_workspace(ws)}){advice}."
            )
        return x, y

    def place_at(self, oid: str, xy: tuple[float, float], what: str = "") -> None:
        """Pick (if needed) and place `oid` on the table at a point."""
        x, y = self.inside_workspace(xy, what, "; I can only place things inside it")
        self.check_movable(oid)
        blocker = self.world.is_free((x, y), oid, ignore=self.world.above(oid))
        if blocker is not None:
            raise refuse(
                f"{cap(what) if what else f'[{x:.2f}, {y:.2f}]'} is taken by "
                f"{self.name(blocker)}; choose a free spot."
            )
        self.pick(oid)
        self.steps.append(Subgoal("place", object=oid, at=(x, y)))
        self.world.place_at(oid, (x, y))

    # -- pushing ---------------------------------------------------------------------------------
    def check_pushable(self, oid: str) -> None:
        world = self.world
        t = world[oid]
        if t.kind == ZONE:
            raise refuse(f"I can't push {self.name(oid)}: zones are markings on the table.")
        if t.held:
            raise refuse(f"I'm holding {self.name(oid)}; put it down before pushing it.")
        if t.support is not None:
            where = "on" if world[t.support].kind == BLOCK else "in"
            raise refuse(
                f"I can't push {self.name(oid)}: it is {where} {self.name(t.support)}; I only "
                "push things standing on the table."
            )
        if t.kind == BLOCK and world.blocks_on(oid):
            raise refuse(
                f"I can't push {self.name(oid)}: {self.names(world.above(oid))} would fall off it."
            )
        held = world.held
        if held is not None:
            raise refuse(f"I'm holding {self.name(held)}; put it down before pushing.")

    def push_direction(self, oid: str, direction: str, distance: float) -> None:
        self.check_pushable(oid)
        t = self.world[oid]
        ux, uy = DIRECTION_VECTORS[direction]
        ex, ey = t.x + ux * distance, t.y + uy * distance
        ws = self.world.workspace
        if not ws.contains(ex, ey):
            raise refuse(
                f"Pushing {self.name(oid)} {direction} by {distance * 100:.0f} cm would take it "
                f"outside the workspace ({describe_workspace(ws)})."
            )
        if not 0 < distance <= 1.0:
            raise refuse(f"A push of {distance:.2f} m is not possible.")
        self.steps.append(
            Subgoal("push", object=oid, direction=direction, distance=round(distance, 3))
        )
        self.world.move_xy(oid, (ex, ey))

    def push_to(self, oid: str, xy: tuple[float, float], what: str = "") -> None:
        self.check_pushable(oid)
        x, y = self.inside_workspace(xy, cap(what) if what else "", "")
        self.steps.append(Subgoal("push", object=oid, to=(x, y)))
        self.world.move_xy(oid, (x, y))

    def beside_point(
        self, oid: str, landmark: str, side: str, distance: float | None = None
    ) -> tuple[float, float]:
        """Where `oid` stands beside `landmark` on one side (table frame): touching but for a
        small gap, or `distance` center to center when that is farther."""
        a, b = self.world[oid], self.world[landmark]
        gap = a.radius + b.radius + SIDE_GAP
        if distance is not None:
            gap = max(gap, distance)
        dx, dy = {"left_of": (0, 1), "right_of": (0, -1), "behind": (1, 0), "in_front": (-1, 0)}[
            side
        ]
        return (round(b.x + dx * gap, 3), round(b.y + dy * gap, 3))

    def facing_point(self, oid: str, landmark: str, gap: float = PUSH_GAP) -> tuple[float, float]:
        """The point next to `landmark` on the side facing `oid` (where a push toward it ends)."""
        a, b = self.world[oid], self.world[landmark]
        dx, dy = a.x - b.x, a.y - b.y
        d = math.hypot(dx, dy) or 1.0
        r = a.radius + b.radius + gap
        return (round(b.x + dx / d * r, 3), round(b.y + dy / d * r, 3))

    def near_spot(self, oid: str, landmark: str) -> tuple[float, float] | None:
        """A free spot beside `landmark`: the side nearest `oid` first."""
        a = self.world[oid]
        sides = ["left_of", "right_of", "behind", "in_front"]
        pts = [(s, self.beside_point(oid, landmark, s)) for s in sides]
        pts.sort(key=lambda sp: math.hypot(sp[1][0] - a.x, sp[1][1] - a.y))
        ignore = self.world.above(oid)
        for _side, p in pts:
            inside = self.world.workspace.contains(p[0], p[1], margin=a.radius * 0.7)
            if inside and self.world.is_free(p, oid, ignore=ignore) is None:
                return p
        return None

    def unsupported(self, word: str) -> Problem:
        return refuse(f"I can't {word} things. I can {CAPABILITIES}.")

    def default_container(self, purpose: str) -> str:
        """The one tray (or the one container) to put things in, or a question."""
        trays = [t.id for t in self.world if t.kind == TRAY]
        if len(trays) == 1:
            return trays[0]
        if len(trays) > 1:
            raise clarify(
                f"Which tray should I {purpose} into: {join(self.world_names(trays), 'or')}?",
                trays,
            )
        bowls = [t.id for t in self.world if t.kind == BOWL]
        raise refuse(
            f"I don't see a tray to {purpose} into"
            + (
                f"; tell me which bowl to use ({join(self.world_names(bowls), 'or')})."
                if bowls
                else "."
            )
        )

    def world_names(self, ids: Sequence[str]) -> list[str]:
        return [self.name(i) for i in ids]
