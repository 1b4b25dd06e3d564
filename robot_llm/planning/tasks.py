"""Commands that expand into many subgoals: towers, unstacking, sorting by color, clearing the
table, emptying a container, swapping two blocks.

Each works on the planner's table model, so a block under another is reached by moving the
ones above it first (to free table spots when they are not part of the task).
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any, Final

from robot_llm.planning import actions
from robot_llm.planning.clauses import Dest, dest_starts, parse_dest, take_order
from robot_llm.planning.colors import palette_color
from robot_llm.planning.describe import inventory, join
from robot_llm.planning.draft import PlanDraft, clarify, refuse
from robot_llm.planning.lexicon import BLOCK, BOWL, CONTAINERS, SIZE_ORDER, TRAY, ZONE
from robot_llm.planning.refs import Ref, parse_np
from robot_llm.planning.resolve import Found
from robot_llm.planning.table_model import TableModel
from robot_llm.planning.verb_words import find_verb
from robot_llm.types import Plan

if TYPE_CHECKING:
    from robot_llm.planning.rules import Interpreter

NO_SHAPES: Final = (
    "I can build towers (one block on another) and pyramids (each block across two below it), "
    "not walls, rows, arches or other shapes."
)
TOWER_WORDS: Final = frozenset({"tower", "towers", "pile", "column"})
TOWER_PHRASES: Final = sorted(
    (
        tuple(p.split())
        for p in (
            "on top of each other",
            "on top of one another",
            "on each other",
            "on one another",
            "one on top of the other",
            "one on top of another",
            "a single stack",
            "a single tower",
            "a single pile",
            "one single stack",
            "one stack",
            "one tower",
            "one pile",
            "a stack",
            "a tower",
            "a pile",
            "a column",
            "a three-level tower",
            "a tall tower",
            "in a single stack",
            "into a single stack",
            "in a single tower",
            "in one stack",
            "in a stack",
            "into a stack",
            "in a tower",
            "into a tower",
            "in a pile",
            "into a pile",
            "a big tower",
            "a high tower",
            "the tower",
            "the stack",
            "into",
            "up",
            "tower",
            "stack",
            "pile",
        )
    ),
    key=lambda p: -len(p),
)
SEPARATORS: Final = frozenset({"then", ",", "and", "with", "using", ":", ";", "of", "from", "by"})
CONTINUATIONS: Final = sorted(
    (
        tuple(p.split())
        for p in (
            "on top of it",
            "on top of that",
            "on top of them",
            "on it",
            "on that",
            "above it",
            "above that",
            "next",
            "after that",
            "goes",
            "go",
            "should go",
            "is",
            "comes",
        )
    ),
    key=lambda p: -len(p),
)
BOTTOM_MARKS: Final = sorted(
    (
        tuple(p.split())
        for p in (
            "at the bottom",
            "on the bottom",
            "at the very bottom",
            "on the table",
            "as the base",
            "at the base",
            "as the bottom",
            "as the foundation",
            "for the base",
            "on the bottom layer",
            "as the bottom block",
            "first",
        )
    ),
    key=lambda p: -len(p),
)
TOP_MARKS: Final = sorted(
    (
        tuple(p.split())
        for p in (
            "on top",
            "at the top",
            "on the top",
            "at the very top",
            "as the top",
            "as the top block",
            "at the peak",
            "last",
        )
    ),
    key=lambda p: -len(p),
)
MIDDLE_MARKS: Final = (("in", "the", "middle"), ("in", "between"))


def _remove(tokens: list[str], phrases: Sequence[tuple[str, ...]]) -> tuple[list[str], bool]:
    found = False
    out = list(tokens)
    changed = True
    while changed:
        changed = False
        for p in phrases:
            n = len(p)
            for i in range(len(out) - n + 1):
                if tuple(out[i : i + n]) == p:
                    out = out[:i] + out[i + n :]
                    found = changed = True
                    break
            if changed:
                break
    return out, found


def is_tower_clause(toks: Sequence[str], ids: frozenset[str]) -> bool:
    """Whether a clause asks for a tower ("stack the blocks", "build a tower with red at the
    bottom") rather than one block on another ("stack the red block on the blue block")."""
    v = find_verb(toks)
    if v is None:
        return False
    verb, n = v
    rest, _order = take_order(list(toks[n:]))
    text = " ".join(rest)
    if re.search(r"\b(on|onto|atop) (top of )?(each other|one another)\b", text) or re.search(
        r"\bon top of (the other|another)\b", text
    ):
        return verb in ("stack", "put", "build")
    if verb == "build":
        return True
    if verb == "put" and re.search(r"\b(a|one|single) (single )?(stack|tower|pile|column)\b", text):
        return True
    if verb != "stack":
        return False
    for i in dest_starts(rest):
        d = parse_dest(rest[i:], ids, (0.0, 0.0))
        if d is not None and d.kind in ("on", "in", "to") and d.refs and parse_np(rest[:i], ids):
            return False
    return True


def ordered(world: TableModel, ids: list[str], order: str | None) -> list[str]:
    if order == "size_asc":
        return sorted(ids, key=lambda i: SIZE_ORDER[world[i].size])
    if order == "size_desc":
        return sorted(ids, key=lambda i: -SIZE_ORDER[world[i].size])
    if order == "left_right":
        return sorted(ids, key=lambda i: -world[i].y)
    if order == "right_left":
        return sorted(ids, key=lambda i: world[i].y)
    return list(ids)


def top_first(world: TableModel, ids: Sequence[str]) -> list[str]:
    """`ids` in order, except that a block comes after those of `ids` stacked on it."""
    out: list[str] = []
    wanted = set(ids)
    for i in ids:
        for a in world.above(i):
            if a in wanted and a not in out:
                out.append(a)
        if i not in out:
            out.append(i)
    return out


def clear_for_move(s: PlanDraft, oid: str, objs: Sequence[str]) -> None:
    """In a many-block command, move blocks that are in the way (not part of it) aside."""
    if len(objs) > 1 and s.world[oid].kind == BLOCK:
        s.clear_above(oid, keep=objs)


# -- towers ----------------------------------------------------------------------------------------
def tower(it: Interpreter, rest: list[str]) -> None:
    s = it.s
    world = s.world
    if any(w in ("wall", "bridge", "arch", "circle", "row", "line") for w in rest):
        raise refuse(NO_SHAPES)
    rest, order = take_order(list(rest))
    rest, _ = _remove(rest, TOWER_PHRASES)
    segments: list[list[str]] = [[]]
    for w in rest:
        if w in SEPARATORS:
            segments.append([])
        else:
            if segments[-1][-1:] == ["blocks"] and palette_color(w) is not None:
                segments.append([])  # "the blocks blue on the table, then ...": said without ":"
            segments[-1].append(w)
    scope: list[str] | None = None
    scope_all = False
    items: list[tuple[list[str], str | None]] = []
    base: Dest | None = None
    for seg in segments:
        seg, _ = _remove(seg, CONTINUATIONS)
        ann: str | None = None
        seg, at_bottom = _remove(seg, BOTTOM_MARKS)
        if at_bottom:
            ann = "bottom"
        seg, on_top = _remove(seg, TOP_MARKS)
        if on_top:
            ann = "top"
        seg, _mid = _remove(seg, MIDDLE_MARKS)
        if not seg or seg in (["the"], ["blocks"]):
            if seg == ["blocks"]:
                scope_all = True
            continue
        dest = parse_dest(seg, it.ids, None) if seg[0] in ("on", "in", "at", "onto", "to") else None
        if dest is not None:
            base = dest
            continue
        ref = parse_np(seg, it.ids)
        if ref is None:
            raise clarify(
                f"I didn't understand '{' '.join(seg)}' in the tower you described. Name the "
                "blocks from the bottom up, for example 'stack red, then green, then blue'."
            )
        if _is_scope(ref):
            ids = it.need(it.resolve(ref, "object"))
            scope = ids
            scope_all = ref.quant == "all" and not ref.excluding
            continue
        ids = it.need(it.resolve(ref, "object"))
        items.append((ids, ann))
    all_blocks = [t.id for t in world if t.kind == BLOCK]
    if scope is None:
        # "build a tower (with red at the bottom)": all blocks; "a tower of red, green and
        # blue": just those
        listing = any(a is None for _, a in items)
        scope_all = scope_all or not listing
        scope = all_blocks if scope_all else []
    if items:
        bottom = [i for ids, a in items if a == "bottom" for i in ids]
        top = [i for ids, a in items if a == "top" for i in ids]
        mid = [i for ids, a in items if a is None for i in ids]
        top_down = order == "top_down" or items[0][1] == "top"
        if top_down:
            mid.reverse()
        seq = _dedupe(bottom + mid + top)
        if scope_all and all(a is not None for _, a in items):
            fill = [b for b in ordered(world, scope, order or "size_desc") if b not in seq]
            seq = _dedupe(bottom + mid + fill + top)
        elif order in ("size_asc", "size_desc"):
            seq = ordered(world, seq, order)
    else:
        seq = ordered(world, scope, order if order not in (None, "listed") else "size_desc")
    for i in seq:
        s.check_movable(i)
    build_tower(s, seq, base, it)
    s.last_tower = seq
    s.mention(seq)


def _is_scope(ref: Ref) -> bool:
    return (
        not ref.members
        and (ref.quant in ("all", "them", "rest") or ref.plural)
        and ref.color is None
        and ref.size is None
        and not ref.relations
        and ref.ordinal is None
    )


def _dedupe(ids: Sequence[str]) -> list[str]:
    out: list[str] = []
    for i in ids:
        if i not in out:
            out.append(i)
    return out


def build_tower(s: PlanDraft, seq: list[str], base: Dest | None, it: Interpreter) -> None:
    world = s.world
    if len(seq) < 2 and base is None:
        blocks = [t for t in world if t.kind == BLOCK]
        raise refuse(
            f"A tower needs at least two blocks; I see {inventory(blocks) if blocks else 'none'}."
        )
    first = seq[0]
    k = 0
    if base is None and world.on_table(first):
        k = 1
        while k < len(seq) and world[seq[k]].support == seq[k - 1]:
            k += 1
    elif base is None:
        s.clear_above(first)
        s.put_aside(first)
        k = 1
    else:
        s.clear_above(first)
        if base.refs:
            (target,) = it.target(base)[:1]
            s.put_on(first, target)
        elif base.kind == "region":
            actions.move_objects(it, [first], base, [], None, None, ["put"])
        else:
            actions.move_one(it, first, base, [], None)
        k = 1
    for i in range(k, len(seq)):
        below, b = seq[i - 1], seq[i]
        for a in world.above(below):
            if a != b:
                s.put_aside(a)
        s.clear_above(b)
        s.put_on(b, below)


def unstack(it: Interpreter, rest: list[str]) -> None:
    s = it.s
    world = s.world
    words = [w for w in rest if w not in ("the", "all", "every", "each", "please", "apart", "down")]
    stacked = [t.id for t in world if t.kind == BLOCK and world.blocks_on(t.id)]
    bases = _dedupe([world.base(b).id for b in stacked])
    if words and not set(words) & (TOWER_WORDS | {"stack", "stacks", "everything", "blocks"}):
        ref = parse_np(rest, it.ids)
        if ref is None:
            raise clarify(
                f"Which stack should I take apart? I didn't understand '{' '.join(rest)}'."
            )
        ids = it.need(it.resolve(ref, "object"))
        bases = _dedupe([world.base(i).id for i in ids])
    moved: list[str] = []
    for b in bases:  # the lowest block of each stack stays where it is
        for a in world.above(b):
            s.put_aside(a)
            moved.append(a)
    s.mention(moved)


# -- sorting and clearing --------------------------------------------------------------------------
CONTAINER_NOUNS: Final = {
    "bowl": {BOWL},
    "bowls": {BOWL},
    "dish": {BOWL},
    "dishes": {BOWL},
    "zone": {ZONE},
    "zones": {ZONE},
    "square": {ZONE},
    "squares": {ZONE},
    "area": {ZONE},
    "areas": {ZONE},
    "pads": {ZONE},
    "targets": {ZONE},
    "tray": {TRAY},
    "trays": {TRAY},
    "container": set(CONTAINERS),
    "containers": set(CONTAINERS),
}
KIND_PREFERENCE: Final = (BOWL, ZONE, TRAY)


def sort_by_color(it: Interpreter, rest: list[str]) -> None:
    s = it.s
    world = s.world
    text = " ".join(rest)
    if re.search(r"\bby (size|shape|height|weight)\b", text):
        raise refuse(
            "I can sort blocks by color (each into the bowl, zone or tray of its color), not by "
            "size or shape. For sizes, try 'stack the blocks from largest to smallest'."
        )
    kinds: set[str] = set()
    for w in rest:
        kinds |= CONTAINER_NOUNS.get(w, set())
    if not kinds:
        kinds = set(CONTAINERS)
    scope = [t.id for t in world if t.kind == BLOCK]
    for i in range(1, len(rest) + 1):
        ref = parse_np(rest[:i], it.ids)
        if ref is not None and (ref.color or ref.members) and (ref.kinds in (None, {BLOCK})):
            r = it.resolve(ref, "object")
            if isinstance(r, Found):
                scope = list(r.ids)
    containers = [t for t in world if t.kind in kinds]
    moves: list[tuple[str, str]] = []
    for b in top_first(world, scope):
        t = world[b]
        same = [c for c in containers if c.color == t.color]
        if not same:
            continue
        here = world.container_of(b)
        if here is not None and world[here].color == t.color and world[here].kind in kinds:
            continue
        same.sort(
            key=lambda c: (KIND_PREFERENCE.index(c.kind), (c.x - t.x) ** 2 + (c.y - t.y) ** 2)
        )
        moves.append((b, same[0].id))
    if not moves:
        matched = [b for b in scope if any(c.color == world[b].color for c in containers)]
        if matched:
            return  # already sorted
        what = join(sorted({CONTAINER_NOUNS_NAME[k] for k in kinds}), "or")
        raise refuse(
            f"No block has {what} of its own color: I see {inventory([world[b] for b in scope])}"
            f" and {inventory(containers)}."
        )
    movers = [b for b, _ in moves]
    for b, c in moves:
        s.clear_above(b, keep=movers)
        s.put_on(b, c)
    s.mention(movers)


CONTAINER_NOUNS_NAME: Final = {BOWL: "a bowl", ZONE: "a zone", TRAY: "a tray"}


def _find_target(it: Interpreter, rest: list[str]) -> tuple[list[str], str | None]:
    """Split off a trailing "into the green tray" destination."""
    for i in dest_starts(rest):
        d = parse_dest(rest[i:], it.ids, None)
        if d is not None and d.kind in ("in", "on", "to") and d.refs:
            ids = it.target(d)
            return rest[:i], ids[0]
    return rest, None


def clear(it: Interpreter, verb: str, rest: list[str]) -> None:
    s = it.s
    world = s.world
    head, target = _find_target(it, rest)
    words = [
        w
        for w in head
        if w not in ("the", "up", "off", "please", ":", ",", "by", "goes", "go", "should", "must")
    ]
    table_words = {"table", "workspace", "tabletop", "everything", "all", "desk", "area", "surface"}
    cut = next((i for i, w in enumerate(words) if w in ("putting", "moving", "placing")), None)
    if cut is not None:
        words = words[:cut]
    if verb == "clear" and (not words or set(words) <= table_words | {"every", "block", "blocks"}):
        tray = target or s.default_container("clear the table")
        blocks = [t.id for t in world if t.kind == BLOCK and world.container_of(t.id) != tray]
        blocks = top_first(world, blocks)
        for b in blocks:
            s.put_on(b, tray)
        s.mention(blocks)
        return
    ref = parse_np(head, it.ids)
    if ref is None:
        raise clarify(f"What should I {verb}? I didn't understand '{' '.join(head)}'.")
    ids = it.need(it.resolve(ref, "any"))
    if len(ids) != 1:
        raise clarify(f"Which one should I {verb}: {join(s.world_names(ids), 'or')}?", ids)
    (cid,) = ids
    c = world[cid]
    if c.kind == BLOCK:
        above = world.above(cid)
        for a in above:
            s.put_aside(a)
        s.mention(above)
        return
    inside = top_first(
        world, [t.id for t in world if t.kind == BLOCK and world.container_of(t.id) == cid]
    )
    for b in inside:
        if target is not None:
            s.put_on(b, target)
        else:
            actions.move_one(it, b, Dest("table"), [], None)
    s.mention(inside)


def swap(it: Interpreter, rest: list[str]) -> None:
    s = it.s
    world = s.world
    words, _ = _remove(
        list(rest),
        [
            ("the", "positions", "of"),
            ("the", "places", "of"),
            ("positions", "of"),
            ("places", "of"),
            ("positions",),
            ("places",),
            ("around",),
            ("over",),
        ],
    )
    refs: list[Ref] = []
    if "with" in words:
        k = words.index("with")
        first, second = parse_np(words[:k], it.ids), parse_np(words[k + 1 :], it.ids)
        if first and second:
            refs = [first, second]
    else:
        ref = parse_np(words, it.ids)
        if ref is not None:
            refs = [ref]
    ids: list[str] = []
    for r in refs:
        ids += it.need(it.resolve(r, "object"))
    ids = _dedupe(ids)
    if len(ids) != 2:
        raise clarify("Which two blocks should I swap?", [t.id for t in world if t.kind == BLOCK])
    a, b = ids
    spots: dict[str, tuple[str, str | tuple[float, float]]] = {}
    for o in (a, b):
        t = world[o]
        spots[o] = ("on", t.support) if t.support is not None else ("at", (t.x, t.y))
    s.put_aside(a)
    for mover, other in ((b, a), (a, b)):
        how, where = spots[other]
        if how == "on":
            assert isinstance(where, str)
            s.put_on(mover, where)
        else:
            assert isinstance(where, tuple)
            s.place_at(mover, where)
    s.mention([a, b])


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
