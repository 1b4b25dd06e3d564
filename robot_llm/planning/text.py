"""Command text to tokens and clauses: normalization, stop words, sequencing words, distances.

A command becomes a list of clauses, one per step the operator asked for ("pick up the red block
and then put it in the bowl" -> two clauses). Splitting happens at sentence ends and at sequencing
words ("then", "after that", "finally"), and at "and" / "," when what follows starts a new action
or repeats the previous one with another object ("..., and the blue one too").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from robot_llm.planning.colors import palette_color
from robot_llm.planning.lexicon import (
    LARGE_MOVE_WORDS,
    NUMBER_WORDS,
    POLITE_PREFIXES,
    SMALL_MOVE_WORDS,
    UNITS,
)

TOKEN: Final = re.compile(
    r"\d+(?:st|nd|rd|th)\b|-?\d+(?:\.\d+)?|\.\d+|[a-z_][a-z0-9_]*(?:[-'][a-z0-9_]+)*|[,.;:!?()]"
)
CONTRACTIONS: Final = {
    "don't": "do not",
    "dont": "do not",
    "doesn't": "does not",
    "can't": "cannot",
    "won't": "will not",
    "it's": "it is",
    "that's": "that is",
    "what's": "what is",
    "there's": "there is",
    "i'd": "i would",
    "i'm": "i am",
    "you're": "you are",
    "let's": "lets",
}
STOP_WORDS: Final = frozenset({"stop", "halt", "freeze", "abort", "e-stop", "estop", "emergency"})
DISABLE_WORDS: Final = frozenset(
    {
        "disable",
        "turn",
        "switch",
        "deactivate",
        "bypass",
        "override",
        "ignore",
        "remove",
        "disconnect",
        "cut",
        "kill",
        "defeat",
        "circumvent",
        "skip",
        "without",
    }
)
NEGATIONS: Final = frozenset({"not", "never", "without", "no"})

# Words that begin a new step: the splitter cuts before them.
SEQUENCERS: Final = (
    ("and", "then"),
    ("and", "after", "that"),
    ("after", "that"),
    ("after", "which"),
    ("and", "finally"),
    ("then",),
    ("afterwards",),
    ("afterward",),
    ("finally",),
    ("lastly",),
    ("next",),
    ("once", "done"),
    ("when", "done"),
    ("and", "also"),
    ("followed", "by"),
)
ELLIPSIS_ENDS: Final = (("too",), ("as", "well"), ("also",))


def normalize(text: str) -> str:
    """Lower case, plain quotes, contractions spelled out, units split from numbers."""
    t = text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    t = t.replace("\u2014", ", ").replace("\u2013", "-").replace("\u00a0", " ")
    t = re.sub(r"\be[\s-]?stop\b", "e-stop", t)
    t = re.sub(r"(\d)(cm|mm|m|in|inch|inches)\b", r"\1 \2", t)
    # speeds are the safety gate's business; the plan format has no speed
    t = re.sub(
        r"\b(?:at\s+)?(?:a\s+speed\s+of\s+)?\d*\.?\d+\s*(?:m/s|cm/s|mm/s|mps|"
        r"(?:meters?|metres?|centimet(?:er|re)s?|millimet(?:er|re)s?)\s+per\s+second)",
        " ",
        t,
    )
    t = re.sub(r"(\d),(\s*-?\d)", r"\1 , \2", t)
    words = []
    for w in t.split():
        core = w.strip(',.;:!?"()')
        if core in CONTRACTIONS:
            w = w.replace(core, CONTRACTIONS[core])
        words.append(w)
    return " ".join(words)


def tokenize(text: str) -> list[str]:
    return list_commas(TOKEN.findall(normalize(text)))


def list_commas(tokens: list[str]) -> list[str]:
    """A comma between two color words said in a row that name different colors.

    Spoken commands come without punctuation: "stack the red green and blue blocks" is the
    list "red, green and blue", while "navy blue" and "lime green" stay one color.
    """
    out: list[str] = []
    for t in tokens:
        prev = out[-1] if out else ""
        if (
            prev
            and palette_color(prev) is not None
            and palette_color(t) is not None
            and palette_color(f"{prev} {t}") is None
        ):
            out.append(",")
        out.append(t)
    return out


def is_stop(tokens: Sequence[str]) -> bool:
    """Whether the command asks the robot to stop: a stop word anywhere ("wait stop!"), unless
    negated ("don't stop") or naming the e-stop in a request to disable it ("turn off the
    e-stop" is a safety refusal, not a stop)."""
    disabling = any(t in DISABLE_WORDS for t in tokens) or "off" in tokens
    for i, t in enumerate(tokens):
        if t not in STOP_WORDS:
            continue
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        prev = tokens[i - 1] if i else ""
        if nxt in ("button", "switch", "circuit", "signal", "function", "system"):
            continue
        if disabling and (t in ("e-stop", "estop", "emergency") or prev == "emergency"):
            continue
        if prev in NEGATIONS and prev != "no":  # "no, stop" said without the comma is a stop
            continue
        return True
    return False


def strip_prefixes(tokens: list[str]) -> list[str]:
    """Drop politeness and sequencing words at the start of a clause."""
    changed = True
    while changed and tokens:
        changed = False
        while tokens and tokens[0] in (",", ":", "(", ")"):
            tokens = tokens[1:]
            changed = True
        for words in _PREFIXES_BY_FIRST.get(tokens[0] if tokens else "", ()):
            if tokens[: len(words)] == words and len(tokens) > len(words):
                tokens = tokens[len(words) :]
                changed = True
                break
    while (
        tokens
        and tokens[-1]
        in (",", ".", "!", "?", "please", "now", "thanks", ")", "instead", "again", "too")
        and not (tokens[-1] == "too" and len(tokens) > 1)
    ):
        tokens = tokens[:-1]
    while tokens[-2:] in (["for", "me"], ["for", "us"], ["thank", "you"], ["if", "possible"]):
        tokens = tokens[:-2]
    while tokens and tokens[-1] in (",", ".", "!", "?", "please"):
        tokens = tokens[:-1]
    return tokens


_PREFIXES_BY_FIRST: Final[dict[str, list[list[str]]]] = {}
for _p in POLITE_PREFIXES:
    _PREFIXES_BY_FIRST.setdefault(_p.split()[0], []).append(_p.split())


def _starts(tokens: Sequence[str], i: int, words: Sequence[str]) -> bool:
    return list(tokens[i : i + len(words)]) == list(words)


@dataclass
class Piece:
    """A run of tokens between splits; `hard` when it began at a sentence end or sequencer."""

    tokens: list[str]
    hard: bool = True


def split_pieces(tokens: Sequence[str]) -> list[Piece]:
    """Cut at sentence ends and sequencing words; "and" / "," cuts are decided by the planner."""
    pieces: list[Piece] = []
    cur: list[str] = []
    i = 0
    n = len(tokens)
    while i < n:
        t = tokens[i]
        if t in (".", ";", "!", "?") and not (t == "." and i + 1 < n and tokens[i + 1].isdigit()):
            if cur:
                pieces.append(Piece(cur))
            cur = []
            i += 1
            continue
        matched = None
        for seq in SEQUENCERS:
            if _starts(tokens, i, seq):
                if seq == ("next",) and (
                    (i + 1 < n and tokens[i + 1] == "to")
                    or (i and tokens[i - 1] not in (",", "and", ".", ";"))
                ):
                    continue  # "next to", "the next block"
                matched = seq
                break
        if matched is not None:
            while cur and cur[-1] in (",", "and"):
                cur.pop()
            if cur:
                pieces.append(Piece(cur))
            cur = []
            i += len(matched)
            continue
        cur.append(t)
        i += 1
    if cur:
        pieces.append(Piece(cur))
    return [p for p in pieces if strip_prefixes(list(p.tokens))]


def soft_splits(tokens: Sequence[str]) -> list[int]:
    """Indexes of "and" and "," where a piece may split into two clauses."""
    return [i for i, t in enumerate(tokens) if t in ("and", ",") and 0 < i < len(tokens) - 1]


def strip_ellipsis_marks(tokens: list[str]) -> tuple[list[str], bool]:
    """Remove "too", "as well", "also", "the same for"...; True when any was there."""
    found = False
    for end in ELLIPSIS_ENDS:
        if len(tokens) > len(end) and tokens[-len(end) :] == list(end):
            tokens = tokens[: -len(end)]
            found = True
    for lead in (
        ["do", "the", "same", "thing", "with"],
        ["do", "the", "same", "thing", "for"],
        ["do", "the", "same", "thing", "to"],
        ["do", "the", "same", "with"],
        ["do", "the", "same", "for"],
        ["do", "the", "same", "to"],
        ["the", "same", "for"],
        ["the", "same", "with"],
        ["same", "for"],
        ["same", "with"],
        ["same", "thing", "with"],
        ["same", "thing", "for"],
        ["also"],
        ["and"],
        ["now"],
        ["what", "about"],
        ["how", "about"],
    ):
        if tokens[: len(lead)] == lead and len(tokens) > len(lead):
            tokens = tokens[len(lead) :]
            found = True
    while tokens and tokens[-1] in (",", "?"):
        tokens = tokens[:-1]
    return tokens, found


# -- numbers and distances -----------------------------------------------------------------------
def number(token: str) -> float | None:
    if token in NUMBER_WORDS:
        return float(NUMBER_WORDS[token])
    try:
        return float(token)
    except ValueError:
        return None


@dataclass(frozen=True)
class Amount:
    """A distance said in the command, meters; `vague` for words like "a bit"."""

    meters: float
    vague: bool = False


def take_distance(tokens: list[str]) -> tuple[list[str], Amount | None]:
    """Find and remove a distance ("by 10 cm", "5 centimeters", "a little") from a clause."""
    for i in range(len(tokens) - 1):
        value = number(tokens[i])
        unit = tokens[i + 1]
        if value is not None and unit in UNITS:
            start = i - 1 if i and tokens[i - 1] in ("by", "about", "around", "roughly") else i
            if start and tokens[start - 1] == "by":
                start -= 1
            return tokens[:start] + tokens[i + 2 :], Amount(value * UNITS[unit])
    for phrases, meters in ((LARGE_MOVE_WORDS, 0.20), (SMALL_MOVE_WORDS, 0.05)):
        for p in phrases:
            words = p.split()
            for i in range(len(tokens) - len(words) + 1):
                if tokens[i : i + len(words)] == words:
                    return tokens[:i] + tokens[i + len(words) :], Amount(meters, vague=True)
    return tokens, None


def take_point(tokens: list[str]) -> tuple[list[str], tuple[float, float] | None]:
    """Find and remove coordinates: "(0.5, 0.1)", "x 0.5 y -0.1", "position 0.5 0.1"."""
    nums = [(i, number(t)) for i, t in enumerate(tokens) if re.fullmatch(r"-?\d*\.?\d+", t)]
    if len(nums) < 2:
        return tokens, None
    (i, a), (j, b) = nums[0], nums[1]
    if a is None or b is None or j - i > 3:
        return tokens, None
    between = tokens[i + 1 : j]
    if any(t not in (",", "y", "and", "=") for t in between):
        return tokens, None
    start, end = i, j + 1
    while start and tokens[start - 1] in ("(", "x", "=", "position", "point", "coordinates"):
        start -= 1
    while end < len(tokens) and tokens[end] in (")", "m", "meters", "metres"):
        end += 1
    return [*tokens[:start], "<point>", *tokens[end:]], (a, b)
