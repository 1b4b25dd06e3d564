"""Towers and unstacking: "stack the blocks into a tower, red at the bottom", "build two towers
of three", "unstack the tower". The words that describe a tower, and the plans that build or
take one apart on the planner's table model."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from robot_llm.planning import placing
from robot_llm.planning.clauses import take_order
from robot_llm.planning.colors import palette_color
from robot_llm.planning.describe import inventory
from robot_llm.planning.destinations import Dest, dest_starts, parse_dest
from robot_llm.planning.draft import PlanDraft, clarify, refuse
from robot_llm.planning.lexicon import BLOCK
from robot_llm.planning.moves import ordered, remove_phrases, unique
from robot_llm.planning.np_parser import parse_np
from robot_llm.planning.refs import Ref
from robot_llm.planning.table_model import TableModel
from robot_llm.planning.verb_words import find_verb

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


def tower(it: Interpreter, rest: list[str]) -> None:
    """Plan a tower from its description: which blocks, from the bottom up, on what."""
    s = it.s
    if any(w in ("wall", "bridge", "arch", "circle", "row", "line") for w in rest):
        raise refuse(NO_SHAPES)
    rest, order = take_order(list(rest))
    rest, _ = remove_phrases(rest, TOWER_PHRASES)
    described = _read_segments(it, _segments(rest))
    seq = _tower_sequence(s.world, described, order)
    for i in seq:
        s.check_movable(i)
    build_tower(s, seq, described.base, it)
    s.last_tower = seq
    s.mention(seq)


def _segments(rest: list[str]) -> list[list[str]]:
    """The tower description cut at its separators ("red, then green on the blue")."""
    segments: list[list[str]] = [[]]
    for w in rest:
        if w in SEPARATORS:
            segments.append([])
        else:
            if segments[-1][-1:] == ["blocks"] and palette_color(w) is not None:
                segments.append([])  # "the blocks blue on the table, then ...": said without ":"
            segments[-1].append(w)
    return segments


@dataclass
class _Described:
    """What a tower description names: the listed blocks with their place in the tower
    ("bottom", "top" or None), which blocks it is built of, and what it stands on."""

    items: list[tuple[list[str], str | None]] = field(default_factory=list)
    scope: list[str] | None = None
    scope_all: bool = False
    base: Dest | None = None


def _read_segments(it: Interpreter, segments: list[list[str]]) -> _Described:
    out = _Described()
    for seg in segments:
        seg, _ = remove_phrases(seg, CONTINUATIONS)
        ann: str | None = None
        seg, at_bottom = remove_phrases(seg, BOTTOM_MARKS)
        if at_bottom:
            ann = "bottom"
        seg, on_top = remove_phrases(seg, TOP_MARKS)
        if on_top:
            ann = "top"
        seg, _mid = remove_phrases(seg, MIDDLE_MARKS)
        if not seg or seg in (["the"], ["blocks"]):
            if seg == ["blocks"]:
                out.scope_all = True
            continue
        dest = parse_dest(seg, it.ids, None) if seg[0] in ("on", "in", "at", "onto", "to") else None
        if dest is not None:
            out.base = dest
            continue
        ref = parse_np(seg, it.ids)
        if ref is None:
            raise clarify(
                f"I didn't understand '{' '.join(seg)}' in the tower you described. Name the "
                "blocks from the bottom up, for example 'stack red, then green, then blue'."
            )
        ids = it.need(it.resolve(ref, "object"))
        if _is_scope(ref):
            out.scope = ids
            out.scope_all = ref.quant == "all" and not ref.excluding
        else:
            out.items.append((ids, ann))
    return out


def _tower_sequence(world: TableModel, d: _Described, order: str | None) -> list[str]:
    """The blocks of the tower from the bottom up."""
    scope, scope_all, items = d.scope, d.scope_all, d.items
    if scope is None:
        # "build a tower (with red at the bottom)": all blocks; "a tower of red, green and
        # blue": just those
        scope_all = scope_all or not any(a is None for _, a in items)
        scope = [t.id for t in world if t.kind == BLOCK] if scope_all else []
    if not items:
        return ordered(world, scope, order if order not in (None, "listed") else "size_desc")
    bottom = [i for ids, a in items if a == "bottom" for i in ids]
    top = [i for ids, a in items if a == "top" for i in ids]
    mid = [i for ids, a in items if a is None for i in ids]
    if order == "top_down" or items[0][1] == "top":
        mid.reverse()
    seq = unique(bottom + mid + top)
    if scope_all and all(a is not None for _, a in items):
        fill = [b for b in ordered(world, scope, order or "size_desc") if b not in seq]
        return unique(bottom + mid + fill + top)
    if order in ("size_asc", "size_desc"):
        return ordered(world, seq, order)
    return seq


def _is_scope(ref: Ref) -> bool:
    return (
        not ref.members
        and (ref.quant in ("all", "them", "rest") or ref.plural)
        and ref.color is None
        and ref.size is None
        and not ref.relations
        and ref.ordinal is None
    )


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
            placing.move_objects(it, [first], base, [], None, None, ["put"])
        else:
            placing.move_one(it, first, base, [], None)
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
    bases = unique([world.base(b).id for b in stacked])
    if words and not set(words) & (TOWER_WORDS | {"stack", "stacks", "everything", "blocks"}):
        ref = parse_np(rest, it.ids)
        if ref is None:
            raise clarify(
                f"Which stack should I take apart? I didn't understand '{' '.join(rest)}'."
            )
        ids = it.need(it.resolve(ref, "object"))
        bases = unique([world.base(i).id for i in ids])
    moved: list[str] = []
    for b in bases:  # the lowest block of each stack stays where it is
        for a in world.above(b):
            s.put_aside(a)
            moved.append(a)
    s.mention(moved)
