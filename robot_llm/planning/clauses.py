"""Clauses: where one step begins and ends, and where its object should go.

`run_on_cuts` finds commands run together without "then"; `take_order` and `take_push_mode`
read order words and how a push is done. The action words are in `verb_words.py`, the
destinations in `destinations.py`.
"""

from __future__ import annotations

from typing import Final

from robot_llm.planning.lexicon import DIRECTION_WORDS, KIND_NOUNS, PLURAL_NOUNS
from robot_llm.planning.verb_words import find_verb

# Words a command can end with, and words that can start a verb's object: where a verb stands
# between the two, a new command began without "then" ("take the pink block off the tower put
# it on the red zone", as speech arrives: no punctuation).
_CLAUSE_ENDS: Final = frozenset(
    {*KIND_NOUNS, *PLURAL_NOUNS, "it", "them", "table", "home", "corner", "side", "center"}
    | set(DIRECTION_WORDS)
)
_OBJECT_STARTS: Final = frozenset(
    {"the", "a", "an", "it", "them", "that", "this", "those", "these", "every", "each", "all"}
)
_STEP_WORDS: Final = frozenset({"now", "next"})


def run_on_cuts(tokens: list[str]) -> list[list[str]]:
    """A clause cut where a second command starts without a sequencing word or a pause.

    A cut goes before a verb that follows a word a command can end with (a noun, "it", a
    direction) and comes before its object ("the", "it", "every"), when what comes before is
    itself a command; "now" or "next" just before such a verb goes with the second command
    ("... the blue block now put it on ...").
    """
    out: list[list[str]] = []
    start = 0
    for i in range(1, len(tokens) - 1):
        verb = find_verb(tokens[i:])
        if verb is None or i + verb[1] >= len(tokens) or tokens[i + verb[1]] not in _OBJECT_STARTS:
            continue
        cut = i - 1 if tokens[i - 1] in _STEP_WORDS else i
        if cut - 1 < start or tokens[cut - 1] not in _CLAUSE_ENDS:
            continue
        if find_verb(tokens[start:]) is None:  # "without lifting it move ...": no command yet
            continue
        out.append(tokens[start:cut])
        start = cut
    out.append(tokens[start:])
    return out


# -- orders --------------------------------------------------------------------------------------
ORDERS: Final = (
    (("from", "the", "smallest", "to", "the", "largest"), "size_asc"),
    (("from", "the", "smallest", "to", "the", "biggest"), "size_asc"),
    (("from", "smallest", "to", "largest"), "size_asc"),
    (("from", "smallest", "to", "biggest"), "size_asc"),
    (("from", "small", "to", "large"), "size_asc"),
    (("from", "small", "to", "big"), "size_asc"),
    (("smallest", "to", "largest"), "size_asc"),
    (("smallest", "to", "biggest"), "size_asc"),
    (("in", "increasing", "size"), "size_asc"),
    (("in", "order", "of", "increasing", "size"), "size_asc"),
    (("in", "order", "of", "size"), "size_asc"),
    (("by", "size"), "size_asc"),
    (("smallest", "first"), "size_asc"),
    (("starting", "with", "the", "smallest"), "size_asc"),
    (("starting", "with", "the", "smallest", "one"), "size_asc"),
    (("from", "the", "largest", "to", "the", "smallest"), "size_desc"),
    (("from", "the", "biggest", "to", "the", "smallest"), "size_desc"),
    (("from", "largest", "to", "smallest"), "size_desc"),
    (("from", "biggest", "to", "smallest"), "size_desc"),
    (("from", "large", "to", "small"), "size_desc"),
    (("from", "big", "to", "small"), "size_desc"),
    (("largest", "to", "smallest"), "size_desc"),
    (("biggest", "to", "smallest"), "size_desc"),
    (("in", "decreasing", "size"), "size_desc"),
    (("in", "order", "of", "decreasing", "size"), "size_desc"),
    (("largest", "first"), "size_desc"),
    (("biggest", "first"), "size_desc"),
    (("starting", "with", "the", "largest"), "size_desc"),
    (("starting", "with", "the", "biggest"), "size_desc"),
    (("with", "the", "largest", "at", "the", "bottom"), "size_desc"),
    (("with", "the", "largest", "on", "the", "bottom"), "size_desc"),
    (("with", "the", "biggest", "at", "the", "bottom"), "size_desc"),
    (("with", "the", "biggest", "on", "the", "bottom"), "size_desc"),
    (("with", "the", "biggest", "one", "at", "the", "bottom"), "size_desc"),
    (("with", "the", "largest", "one", "at", "the", "bottom"), "size_desc"),
    (("with", "the", "smallest", "on", "top"), "size_desc"),
    (("with", "the", "smallest", "at", "the", "top"), "size_desc"),
    (("with", "the", "smallest", "one", "on", "top"), "size_desc"),
    (("largest", "at", "the", "bottom"), "size_desc"),
    (("biggest", "at", "the", "bottom"), "size_desc"),
    (("with", "the", "smallest", "at", "the", "bottom"), "size_asc"),
    (("with", "the", "largest", "on", "top"), "size_asc"),
    (("with", "the", "biggest", "on", "top"), "size_asc"),
    (("from", "left", "to", "right"), "left_right"),
    (("from", "the", "left", "to", "the", "right"), "left_right"),
    (("left", "to", "right"), "left_right"),
    (("from", "right", "to", "left"), "right_left"),
    (("from", "the", "right", "to", "the", "left"), "right_left"),
    (("right", "to", "left"), "right_left"),
    (("from", "bottom", "to", "top"), "listed"),
    (("from", "the", "bottom", "to", "the", "top"), "listed"),
    (("from", "the", "bottom", "up"), "listed"),
    (("bottom", "to", "top"), "listed"),
    (("starting", "at", "the", "bottom"), "listed"),
    (("starting", "from", "the", "bottom"), "listed"),
    (("in", "that", "order"), "listed"),
    (("in", "this", "order"), "listed"),
    (("in", "the", "order", "i", "said"), "listed"),
    (("in", "order"), "listed"),
    (("from", "top", "to", "bottom"), "top_down"),
    (("from", "the", "top", "to", "the", "bottom"), "top_down"),
    (("top", "to", "bottom"), "top_down"),
    (("from", "the", "top", "down"), "top_down"),
    (("one", "by", "one"), "none"),
    (("one", "at", "a", "time"), "none"),
    (("one", "after", "another"), "none"),
    (("one", "after", "the", "other"), "none"),
)


def take_order(tokens: list[str]) -> tuple[list[str], str | None]:
    """Find and remove an order phrase ("from smallest to largest", "one by one")."""
    found: str | None = None
    changed = True
    while changed:
        changed = False
        for words, order in ORDERS:
            n = len(words)
            for i in range(len(tokens) - n + 1):
                if tokens[i : i + n] == list(words):
                    cut = i
                    if cut and tokens[cut - 1] == ",":
                        cut -= 1
                    tokens = tokens[:cut] + tokens[i + n :]
                    if order != "none" and (found is None or found == "listed"):
                        found = order
                    changed = True
                    break
            if changed:
                break
    return tokens, found


PUSH_MODE: Final = (
    ("without", "lifting", "it", "up"),
    ("without", "lifting", "it"),
    ("without", "lifting"),
    ("without", "picking", "it", "up"),
    ("without", "picking", "up"),
    ("without", "grasping", "it"),
    ("without", "grabbing", "it"),
    ("by", "pushing", "it"),
    ("by", "pushing"),
    ("along", "the", "table"),
    ("across", "the", "table"),
)


def take_push_mode(tokens: list[str]) -> tuple[list[str], bool]:
    for words in PUSH_MODE:
        n = len(words)
        for i in range(len(tokens) - n + 1):
            if tokens[i : i + n] == list(words):
                rest = tokens[:i] + tokens[i + n :]
                rest = [w for k, w in enumerate(rest) if not (w == "," and k in (0, i - 1, i))]
                return rest, True
    return tokens, False
