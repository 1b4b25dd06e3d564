"""The rule planner's action words: which verb phrases name which action.

`VERBS` is the table a verb synonym is added to (one row); `find_verb` reads the action a clause
starts with, `UNSUPPORTED` lists actions it recognizes but cannot do. The speech vocabulary and
REPL completion (`completion_words`) read the same table; `verbs.py` holds one handler per
action.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from robot_llm.planning.lexicon import DIRECTION_WORDS, KIND_NOUNS, PLURAL_NOUNS

# (words, action). Longer phrases first where they share a first word.
VERBS: Final[tuple[tuple[tuple[str, ...], str], ...]] = (
    (("pick", "up"), "pick"),
    (("pick",), "pick"),
    (("grab",), "pick"),
    (("grasp",), "pick"),
    (("lift", "up"), "pick"),
    (("lift",), "pick"),
    (("hold",), "pick"),
    (("raise",), "pick"),
    (("take", "apart"), "unstack"),
    (("take", "down"), "unstack"),
    (("take",), "take"),
    (("get",), "take"),
    (("fetch",), "take"),
    (("collect",), "take"),
    (("retrieve",), "take"),
    (("put", "away"), "away"),
    (("put", "back"), "put"),
    (("put", "down"), "put"),
    (("set", "down"), "put"),
    (("put",), "put"),
    (("place",), "put"),
    (("drop", "off"), "put"),
    (("drop",), "put"),
    (("set",), "put"),
    (("lay",), "put"),
    (("lower",), "put"),
    (("move",), "put"),
    (("bring",), "put"),
    (("transfer",), "put"),
    (("carry",), "put"),
    (("relocate",), "put"),
    (("deposit",), "put"),
    (("load",), "put"),
    (("insert",), "put"),
    (("return",), "put"),
    (("position",), "put"),
    (("reposition",), "put"),
    (("stick",), "put"),
    (("pop",), "put"),
    (("rebuild",), "put"),
    (("solve",), "put"),
    (("remove",), "remove"),
    (("unload",), "remove"),
    (("push",), "push"),
    (("slide",), "push"),
    (("nudge",), "push"),
    (("shove",), "push"),
    (("scoot",), "push"),
    (("drag",), "push"),
    (("shift",), "push"),
    (("bump",), "push"),
    (("sweep",), "push"),
    (("stack",), "stack"),
    (("pile",), "stack"),
    (("build",), "build"),
    (("make",), "build"),
    (("construct",), "build"),
    (("form",), "build"),
    (("create",), "build"),
    (("assemble",), "build"),
    (("erect",), "build"),
    (("unstack",), "unstack"),
    (("dismantle",), "unstack"),
    (("disassemble",), "unstack"),
    (("sort",), "sort"),
    (("organize",), "sort"),
    (("organise",), "sort"),
    (("group",), "sort"),
    (("match",), "sort"),
    (("separate",), "sort"),
    (("clear",), "clear"),
    (("tidy", "up"), "clear"),
    (("tidy",), "clear"),
    (("clean", "up"), "clear"),
    (("clean",), "clear"),
    (("declutter",), "clear"),
    (("empty",), "empty"),
    (("go", "back", "home"), "home"),
    (("go", "back", "to", "home"), "home"),
    (("go", "home"), "home"),
    (("go", "to", "home"), "home"),
    (("return", "home"), "home"),
    (("return", "to", "home"), "home"),
    (("home",), "home"),
    (("reset",), "home"),
    (("park",), "home"),
    (("retract",), "home"),
    (("go", "back", "to", "the", "start"), "home"),
    (("go", "to"), "arm"),
    (("go", "over"), "arm"),
    (("go", "above"), "arm"),
    (("move", "to"), "arm"),
    (("move", "over"), "arm"),
    (("move", "above"), "arm"),
    (("open",), "open"),
    (("close",), "close"),
    (("release",), "release"),
    (("let", "go"), "release"),
    (("swap",), "swap"),
    (("switch",), "swap"),
    (("exchange",), "swap"),
    (("wait",), "wait"),
    (("hang", "on"), "wait"),
    (("do", "nothing"), "wait"),
    (("cancel",), "cancel"),
    (("never", "mind"), "cancel"),
    (("nevermind",), "cancel"),
    (("forget", "it"), "cancel"),
    (("undo",), "unsupported"),
)
# Verbs of things this robot does not do (safety verbs are the gate's, not listed here).
UNSUPPORTED: Final = frozenset(
    {
        "rotate",
        "turn",
        "spin",
        "flip",
        "twist",
        "paint",
        "color",
        "colour",
        "cut",
        "pour",
        "fill",
        "wash",
        "wipe",
        "fold",
        "draw",
        "write",
        "wave",
        "point",
        "count",
        "describe",
        "tell",
        "show",
        "find",
        "look",
        "see",
        "say",
        "sing",
        "dance",
        "cook",
        "eat",
        "juggle",
        "balance",
        "line",
        "align",
        "arrange",
        "spread",
        "scatter",
        "shuffle",
        "roll",
        "tilt",
        "shake",
        "squeeze",
        "play",
        "open",
        "stand",
        "lean",
        "hide",
        "cover",
        "copy",
        "duplicate",
        "what",
        "where",
        "how",
        "why",
        "is",
        "are",
        "do",
        "does",
        "can",
    }
)


def completion_words() -> frozenset[str]:
    """The words an operator's REPL completes, from the planner's own tables: every verb phrase
    it acts on, every object noun, every direction, and the words that join clauses."""
    verbs = {" ".join(words) for words, action in VERBS if action != "unsupported"}
    nouns = set(KIND_NOUNS) | set(PLURAL_NOUNS)
    return frozenset(
        verbs | nouns | set(DIRECTION_WORDS) | {"then", "into", "onto", "the", "go home", "stop"}
    )


ARM_WORDS: Final = frozenset(
    {"arm", "hand", "gripper", "end-effector", "effector", "claw", "tool", "fingers", "wrist"}
)


_VERBS_BY_FIRST: Final[dict[str, list[tuple[tuple[str, ...], str]]]] = {}
for _words, _action in VERBS:
    _VERBS_BY_FIRST.setdefault(_words[0], []).append((_words, _action))
HOME_WORDS: Final = frozenset({"home", "start", "starting", "rest", "ready"})


def find_verb(tokens: Sequence[str]) -> tuple[str, int] | None:
    """(action, number of tokens) for the verb phrase a clause starts with (longest match)."""
    if tokens[:1] and tokens[0] in ("go", "return", "head", "move", "get", "come"):
        # "go back to the home position", "return to the start": home
        for k in range(1, min(len(tokens), 6)):
            if tokens[k] in HOME_WORDS:
                k += 1
                while k < len(tokens) and tokens[k] in ("position", "pose", "configuration"):
                    k += 1
                head = tokens[1 : tokens.index(next(w for w in tokens[1:] if w in HOME_WORDS))]
                if all(w in ("back", "to", "the", "your", "its", "home") for w in head):
                    return "home", k
    best: tuple[str, int] | None = None
    for words, action in _VERBS_BY_FIRST.get(tokens[0] if tokens else "", ()):
        if tuple(tokens[: len(words)]) == words and (best is None or len(words) > best[1]):
            best = (action, len(words))
    return best


def starts_action(tokens: Sequence[str]) -> bool:
    """Whether a clause begins with an action word (known or not)."""
    if not tokens:
        return False
    if find_verb(tokens) is not None:
        return tokens[0] not in ("home",) or len(tokens) == 1
    return tokens[0] in UNSUPPORTED and tokens[0] not in ("is", "are", "do", "does", "can")
