"""What grounding a noun phrase gives: `Found` (ids), `Ambiguous` (several fit a phrase that
names one: the planner asks) or `Missing` (nothing fits: the message says what is visible
instead), and the words for asking about it (`noun_for`, `missing_question`).
"""

from __future__ import annotations

from dataclasses import dataclass

from robot_llm.planning.lexicon import CONTAINERS
from robot_llm.planning.refs import Ref


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


def noun_for(ref: Ref, kinds: frozenset[str]) -> str:
    if ref.noun and not ref.unknown_noun and ref.noun not in ("one", "object", "thing", "item"):
        return ref.noun
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds == CONTAINERS or kinds <= CONTAINERS:
        return "container"
    return "object"


def missing_question(m: Missing) -> str:
    if m.alternatives:
        return f"{m.message} Which one do you mean?"
    return m.message
