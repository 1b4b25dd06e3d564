"""Ordering and clearing moves on the planner's table model: which block goes first (top first,
or in the order a command names), and moving the blocks above one out of its way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from robot_llm.planning.draft import PlanDraft
from robot_llm.planning.lexicon import BLOCK, SIZE_ORDER
from robot_llm.planning.table_model import TableModel

if TYPE_CHECKING:
    pass


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


def remove_phrases(tokens: list[str], phrases: Sequence[tuple[str, ...]]) -> tuple[list[str], bool]:
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


def unique(ids: Sequence[str]) -> list[str]:
    out: list[str] = []
    for i in ids:
        if i not in out:
            out.append(i)
    return out
