"""Moving a whole tower from one zone to another, one block at a time and never a larger block
on a smaller one (the Towers of Hanoi), as the planner's table model allows."""

from __future__ import annotations

import itertools
import re
from collections import deque
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any, Final

from robot_llm.planning.draft import PlanDraft, clarify, refuse
from robot_llm.planning.lexicon import BLOCK, SIZE_ORDER, ZONE
from robot_llm.planning.np_parser import parse_np
from robot_llm.planning.table_model import TableModel
from robot_llm.types import Plan

if TYPE_CHECKING:
    from robot_llm.planning.rules import Interpreter


# -- towers of Hanoi -------------------------------------------------------------------------------
ZONE_NOUNS: Final = frozenset({"zone", "square", "area", "pad", "target", "mat", "patch"})


def is_tower_move(toks: Sequence[str]) -> bool:
    """ "move the tower from the red zone to the blue zone (one block at a time ...)"."""
    if "hanoi" in toks:
        return True
    zones = sum(w in ZONE_NOUNS for w in toks)
    return zones >= 2 and any(w in ("tower", "stack", "pile") for w in toks)


def _zone_mentions(it: Interpreter, toks: Sequence[str]) -> list[str]:
    out: list[str] = []
    for i, w in enumerate(toks):
        if w not in ZONE_NOUNS:
            continue
        j = i
        while j > 0 and toks[j - 1] not in ("from", "to", "onto", "on", "of", "in", "into", "over"):
            j -= 1
        ref = parse_np(toks[j : i + 1], it.ids)
        if ref is None:
            continue
        for zid in it.need(it.resolve(ref, "in")):
            if zid not in out:
                out.append(zid)
    return out


_ONE_AT_A_TIME: Final = re.compile(
    r"\s*(?:[,;]|\band\b)?\s*(?:\b(?:moving|move|taking|take|carrying|carry|lifting)\s+)?"
    r"(?:only\s+)?\b(?:one|a single)\s+(?:block\s+)?at\s+a\s+time\b"
)
_NEVER_LARGER: Final = re.compile(
    r"\s*(?:[,;]|\band\b)?\s*(?:\band\s+)?\b(?:never|without\s+ever|without|do\s+not|never\s+ever)\s+"
    r"(?:putting|placing|stacking|setting|put|place|stack|set)\s+(?:a|any)\s+"
    r"(?:(?:larger|bigger)\s+)?(?:block\s+)?(?:on|onto)\s+(?:top\s+of\s+)?(?:a\s+)?"
    r"(?:smaller|tinier)(?:\s+(?:one|block))?"
)
_SOLVE_HANOI: Final = re.compile(r"^(?:solve|do|play)\s+(?:the\s+)?towers?\s+of\s+hanoi\s*:?\s*")


def strip_tower_rules(tokens: list[str]) -> list[str]:
    """Drop the rules of a tower move ("one block at a time", "never a larger block on a
    smaller one"): the planner keeps them anyway; they are not steps."""
    text = " ".join(tokens)
    if not any(w in tokens for w in ("time", "smaller", "hanoi")):
        return tokens
    text = _ONE_AT_A_TIME.sub(" ", text)
    text = _NEVER_LARGER.sub(" ", text)
    rest = _SOLVE_HANOI.sub("", text)
    if rest.strip():
        text = rest
    return text.split()


def move_tower(it: Interpreter, toks: Sequence[str]) -> None:
    """Move a stack standing on one zone to another, one block at a time, never a larger block
    on a smaller one (the towers of Hanoi; the third zone, or a free table spot, is the spare)."""
    s = it.s
    world = s.world
    zones = _zone_mentions(it, toks)
    if len(zones) < 2:
        raise clarify("Which zones should the tower move from and to?", zones)
    src, dst = zones[0], zones[1]
    for z in (src, dst):
        if world[z].kind != ZONE:
            raise refuse(f"{s.name(z)} is not a zone; a tower moves between zones.")
    spare_zones = [t.id for t in world if t.kind == ZONE and t.id not in (src, dst)]
    spare = spare_zones[0] if spare_zones else "spare"

    def stack_on(zone: str) -> list[str]:
        on = [t.id for t in world if t.kind == BLOCK and world.container_of(t.id) == zone]
        return sorted(on, key=lambda b: world[b].z)

    pegs: dict[str, list[str]] = {src: stack_on(src), dst: stack_on(dst), spare: []}
    if spare in world:
        pegs[spare] = stack_on(spare)
    moved = _moved_before(s, [src, dst, spare])
    if not pegs[src] and not pegs[dst] and not moved:  # part way, blocks may stand anywhere
        raise refuse(f"There is no tower on {s.name(src)}.")
    loose = {f"table:{stack[0]}": stack for stack in _strays(s.world, moved, pegs)}
    pegs.update(loose)
    tower_ids = [b for stack in pegs.values() for b in stack]
    spot = None
    if spare not in world:
        spot = world.free_spot(tower_ids[0], near=(world[src].x, world[src].y))
        if spot is None:
            raise refuse("There is no free space on the table for a spare stack.")
    moves = _hanoi_moves(pegs, dst, lambda b: SIZE_ORDER.get(world[b].size, 1), set(loose))
    if moves is None:
        raise refuse(
            f"I can't rebuild the tower on {s.name(dst)} from here without putting a larger "
            "block on a smaller one."
        )
    for frm, to in moves:  # a loose block is picked from where it lies
        b = pegs[frm].pop()
        if pegs[to]:
            s.put_on(b, pegs[to][-1])
        elif to in world:
            s.put_on(b, to)
        else:
            assert spot is not None
            s.place_at(b, spot)
        pegs[to].append(b)
    s.mention(tower_ids)


def _moved_before(s: PlanDraft, zones: Sequence[str]) -> set[str]:
    """The blocks that the dialogue's latest plan moving blocks onto these zones moved (a tower
    move being planned again part way)."""
    for turn in reversed(s.history.turns):
        r = turn.result
        if isinstance(r, Plan) and any(
            st.skill == "place" and st.in_ in zones for st in r.subgoals
        ):
            return {st.object for st in r.subgoals if st.object is not None}
    return set()


def _strays(world: TableModel, moved: set[str], pegs: dict[str, list[str]]) -> list[list[str]]:
    """Stacks (bottom first) standing on the table, off the zones, of these blocks: blocks that
    fell or were set aside while the tower was being moved."""
    stacked = {b for stack in pegs.values() for b in stack}
    bases = {
        world.base(b).id
        for b in moved
        if b in world and world[b].kind == BLOCK and b not in stacked and not world[b].held
    }
    return [
        [base, *world.above(base)[::-1]]
        for base in sorted(bases)
        if world[base].kind == BLOCK and world.on_table(base)
    ]


def _hanoi_moves(
    pegs: dict[str, list[str]],
    goal: str,
    size: Callable[[str], int],
    sources_only: Collection[str] = (),  # pegs blocks leave but never go to
) -> list[tuple[str, str]] | None:
    """The fewest moves (from peg, to peg) that bring every block onto `goal` as one tower,
    moving only top blocks and never a larger block onto a smaller one (breadth-first over the
    stacks: the blocks may start anywhere, as when an interrupted move is planned again); None
    when no sequence of such moves gets there."""
    names = list(pegs)
    start = tuple(tuple(pegs[n]) for n in names)
    g = names.index(goal)
    n_blocks = sum(len(st) for st in start)

    def done(state: tuple[tuple[str, ...], ...]) -> bool:
        tower = state[g]
        ordered = all(size(a) >= size(b) for a, b in itertools.pairwise(tower))
        return len(tower) == n_blocks and ordered

    parent: dict[tuple[tuple[str, ...], ...], tuple[Any, tuple[str, str]] | None] = {start: None}
    frontier = deque([start])
    while frontier:
        state = frontier.popleft()
        if done(state):
            path: list[tuple[str, str]] = []
            while parent[state] is not None:
                prev, move = parent[state]  # type: ignore[misc]
                path.append(move)
                state = prev
            return path[::-1]
        for i, j in itertools.permutations(range(len(names)), 2):
            if not state[i] or names[j] in sources_only:
                continue
            b = state[i][-1]
            if state[j] and size(b) > size(state[j][-1]):
                continue
            nxt = list(state)
            nxt[i], nxt[j] = state[i][:-1], (*state[j], b)
            key = tuple(nxt)
            if key not in parent:
                parent[key] = (state, (names[i], names[j]))
                frontier.append(key)
    return None
