"""Answers to the rule planner's own questions: "the red one", "the left one", "both".

When the latest turn ended with a Clarify, the next command may answer it. `answer_ids` reads the
answer against the question's candidates; the planner then plans the original command again
with the chosen objects bound (earlier answers of the same dialogue too).
"""

from __future__ import annotations

from typing import Final

from robot_llm.planning.base import History
from robot_llm.planning.np_parser import parse_np
from robot_llm.planning.refs import Ref
from robot_llm.planning.resolve import Context, Resolver
from robot_llm.planning.table_model import TableModel
from robot_llm.planning.text import strip_prefixes, tokenize
from robot_llm.types import Clarify

CANCEL: Final = (
    ["cancel"],
    ["never", "mind"],
    ["nevermind"],
    ["forget", "it"],
    ["nothing"],
    ["none"],
    ["neither"],
    ["none", "of", "them"],
    ["no"],
    ["abort"],
)


def strip_answer(tokens: list[str]) -> list[str]:
    toks = strip_prefixes([t for t in tokens if t not in (".", "!", "?")])
    for lead in (
        ["i", "mean"],
        ["i", "meant"],
        ["yes"],
        ["yeah"],
        ["sorry"],
        ["it", "is"],
        ["that", "is"],
        ["i", "want"],
        ["i", "would", "like"],
        ["use"],
        ["take"],
        ["choose"],
        ["pick"],
        ["go", "with"],
        ["how", "about"],
        [","],
    ):
        if toks[: len(lead)] == lead and len(toks) > len(lead):
            toks = toks[len(lead) :]
    while toks and toks[-1] in (",", "please", "one", "thanks") and len(toks) > 1:
        if toks[-1] == "one" and len(toks) >= 2 and toks[-2] not in ("the", "that", "this"):
            break
        toks = toks[:-1]
    return toks


def bare(toks: list[str]) -> bool:
    return len(toks) <= 2 and toks[-1] in ("left", "right", "front", "back", "middle", "big")


def clarify_chain(history: History, root: str) -> list[tuple[Clarify, str]]:
    """(question, answer) pairs of the open dialogue about `root`, oldest first."""
    turns = history.turns
    pairs: list[tuple[Clarify, str]] = []
    i = len(turns) - 1
    while i >= 1:
        q, a = turns[i - 1], turns[i]
        if not (isinstance(q.result, Clarify) and isinstance(a.result, Clarify)):
            break
        if q.result.command != root or a.result.command != root:
            break
        pairs.append((q.result, a.command))
        i -= 1
    return list(reversed(pairs))


ANSWER_ALL: Final = (
    ["both"],
    ["all"],
    ["all", "of", "them"],
    ["both", "of", "them"],
    ["each"],
    ["all", "three"],
    ["every", "one"],
    ["them", "all"],
)
ANSWER_ANY: Final = (
    ["either"],
    ["any"],
    ["either", "one"],
    ["any", "one"],
    ["any", "of", "them"],
    ["whichever"],
    ["you", "choose"],
    ["your", "choice"],
    ["doesn't", "matter"],
    ["does", "not", "matter"],
    ["it", "does", "not", "matter"],
    ["either", "of", "them"],
)
ORDINAL_ANSWERS: Final = {
    "first": 0,
    "1st": 0,
    "1": 0,
    "second": 1,
    "2nd": 1,
    "2": 1,
    "third": 2,
    "3rd": 2,
    "3": 2,
    "fourth": 3,
    "4": 3,
    "last": -1,
}
BARE_POSITIONS: Final = {
    "left": "left",
    "right": "right",
    "front": "near",
    "back": "far",
    "middle": "center",
    "top": "top",
    "bottom": "bottom",
}


def answer_ids(
    toks: list[str], question: Clarify, world: TableModel
) -> tuple[str, ...] | list[str] | None:
    """The candidates an answer picks: a tuple when decided, a list when narrowed, else None."""
    cands = [c for c in question.candidates if c in world]
    if not cands:
        return None
    if toks in ANSWER_ALL:
        return tuple(cands)
    if toks in ANSWER_ANY:
        return (cands[0],)
    core = [t for t in toks if t not in ("the", "one", "number", "option")]
    if len(core) == 1 and core[0] in ORDINAL_ANSWERS:
        i = ORDINAL_ANSWERS[core[0]]
        return (cands[i],) if -len(cands) <= i < len(cands) else None
    named = [t for t in toks if t in cands]
    if named:
        return tuple(named)
    if len(core) == 1 and core[0] in BARE_POSITIONS:
        ref: Ref | None = Ref(words=tuple(toks), position=BARE_POSITIONS[core[0]])
    else:
        ref = parse_np(toks, frozenset(world.things))
        if ref is None and toks and toks[-1] != "one":
            ref = parse_np([*toks, "one"], frozenset(world.things))
    if ref is None:
        return None
    r = Resolver(Context(world))
    got = r.matching(ref, "any", within=set(cands))
    if not isinstance(got, list) or not got:
        return None
    ids = [t.id for t in got]
    if len(ids) == 1 or ref.many:
        return tuple(ids)
    return ids if len(ids) < len(cands) else None


# -- clauses ---------------------------------------------------------------------------------------


def answered_bindings(history: History, command: str, world: TableModel) -> list[tuple[str, ...]]:
    """When the latest turn answered a question about `command` and planned it, the answers
    given, so planning the same command again right away (a replan) makes the same choices."""
    turns = history.turns
    for k in range(len(turns) - 1, max(len(turns) - 2, 0), -1):
        r = turns[k].result
        if r.type == "plan" and r.command == command and turns[k].command != command:
            out: list[tuple[str, ...]] = []
            j = k
            while j >= 1:
                q = turns[j - 1].result
                if not (isinstance(q, Clarify) and q.command == command):
                    break
                got = answer_ids(tokenize(turns[j].command), q, world)
                if isinstance(got, tuple):
                    out.append(got)
                j -= 1
            return list(reversed(out))
    return []
