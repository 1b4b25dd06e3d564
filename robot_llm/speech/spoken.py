"""Written commands to spoken words and back.

The recognizer's language model and the speech synthesizer of the benchmark see commands as a
person says them ("move it 10 cm" -> "move it ten centimeters", "x 0.5" -> "x zero point five").
A transcript goes the other way before it reaches the planner: spoken numbers become digits
("zero point five" -> "0.5", "fifteen centimeters" -> "15 centimeters") and words the planner
writes with a hyphen are joined again ("mid sized" -> "mid-sized").
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

ONES: Final = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
TENS: Final = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ORDINALS: Final = {"1st": "first", "2nd": "second", "3rd": "third", "4th": "fourth"}
ORDINALS.update({"5th": "fifth", "6th": "sixth", "7th": "seventh", "8th": "eighth"})
UNIT_WORDS: Final = {"cm": "centimeters", "mm": "millimeters", "m": "meters", "in": "inches"}
_NUMBER: Final = re.compile(r"-?\d*\.?\d+")
_WORD: Final = re.compile(r"-?\d*\.\d+|-?\d+(?:st|nd|rd|th)?|[a-z_]+(?:['-][a-z]+)*|[,.;:?!]")
PUNCTUATION: Final = frozenset(",.;:?!")


def say_integer(n: int) -> list[str]:
    """0 <= n < 1000 as words ("eighty", "one hundred twenty")."""
    if n < 20:
        return [ONES[n]]
    if n < 100:
        tens, ones = divmod(n, 10)
        return [TENS[tens - 2]] + ([ONES[ones]] if ones else [])
    hundreds, rest = divmod(n, 100)
    return [ONES[hundreds], "hundred"] + (say_integer(rest) if rest else [])


def say_number(token: str) -> list[str]:
    """A written number as a person reads it: "0.45" -> zero point four five, "-1" -> minus one."""
    words = []
    if token.startswith("-"):
        words.append("minus")
        token = token[1:]
    whole, _, frac = token.partition(".")
    words += say_integer(int(whole or "0") % 1000)
    if frac:
        words.append("point")
        words += [ONES[int(d)] for d in frac]
    return words


def to_spoken(text: str, punctuation: bool = False) -> list[str] | None:
    """The words a person would say for a written command; None when it holds something not
    said aloud in a natural way (a scene id such as red_block_2). With `punctuation`, commas
    and sentence ends stay as tokens (where a speaker pauses)."""
    t = text.lower().replace("\u2019", "'").replace("m/s", " meters per second")
    t = re.sub(r"(\d)(cm|mm|m|in)\b", r"\1 \2", t)
    out: list[str] = []
    tokens = _WORD.findall(t)
    for i, tok in enumerate(tokens):
        if "_" in tok:
            return None
        if tok in PUNCTUATION:
            if punctuation and out and out[-1] not in PUNCTUATION:
                out.append(tok)
        elif tok in ORDINALS:
            out.append(ORDINALS[tok])
        elif _NUMBER.fullmatch(tok):
            out += say_number(tok)
        elif tok in UNIT_WORDS and i and _NUMBER.fullmatch(tokens[i - 1]):
            out.append(UNIT_WORDS[tok])
        elif tok[0].isdigit():
            return None
        else:
            out.append(tok)
    return out


# -- transcripts back to the planner's text ----------------------------------------------------
_VALUE: Final = {w: i for i, w in enumerate(ONES)} | {w: 20 + 10 * i for i, w in enumerate(TENS)}


def _read_number(words: list[str], i: int) -> tuple[str, int] | None:
    """The number spoken at words[i:] as digits and the index after it, or None."""
    j, sign = i, ""
    if words[j] in ("minus", "negative") and j + 1 < len(words) and words[j + 1] in _VALUE:
        sign, j = "-", j + 1
    if j >= len(words) or words[j] not in _VALUE:
        return None
    value = _VALUE[words[j]]
    j += 1
    if value >= 20 and j < len(words) and words[j] in ONES[1:10]:
        value += _VALUE[words[j]]
        j += 1
    elif value < 10 and j < len(words) and words[j] == "hundred":
        value *= 100
        j += 1
        rest = _read_number(words, j) if j < len(words) and words[j] != "point" else None
        if rest is not None and int(rest[0]) < 100:
            value += int(rest[0])
            j = rest[1]
    if j + 1 < len(words) and words[j] == "point" and words[j + 1] in ONES[:10]:
        digits: list[str] = []
        j += 1
        while j < len(words) and words[j] in ONES[:10]:
            if digits and j + 1 < len(words) and words[j + 1] == "point":
                break  # "zero point four five zero point one": the next number begins
            digits.append(str(_VALUE[words[j]]))
            j += 1
        return f"{sign}{value}.{''.join(digits)}", j
    return f"{sign}{value}", j


@lru_cache(maxsize=1)
def _hyphenated() -> dict[tuple[str, ...], str]:
    """The planner's hyphenated words, by their spoken parts ("mid", "sized") -> mid-sized."""
    from robot_llm.planning.lexicon import POSITION_WORDS, SIZE_WORDS

    words = [w for w in (*SIZE_WORDS, *POSITION_WORDS) if "-" in w]
    return {tuple(w.split("-")): w for w in words}


def from_spoken(transcript: str) -> str:
    """The planner's text for a transcript: spoken numbers as digits where they are amounts or
    coordinates ("ten centimeters" -> "10 centimeters", "x zero point five" -> "x 0.5");
    counts stay words ("the two red blocks")."""
    from robot_llm.planning.lexicon import UNITS

    words = transcript.lower().replace(",", " , ").split()
    out: list[str] = []
    i = 0
    while i < len(words):
        for parts, joined in _hyphenated().items():
            if tuple(words[i : i + len(parts)]) == parts:
                out.append(joined)
                i += len(parts)
                break
        else:
            got = _read_number(words, i)
            if got is None:
                out.append(words[i])
                i += 1
                continue
            digits, j = got
            nxt = words[j] if j < len(words) else ""
            amount = "." in digits or digits.startswith("-") or nxt in UNITS
            if amount or int(digits) > 10:
                out.append(digits)
            else:
                out += words[i:j]
            i = j
    return " ".join(out).replace(" ,", ",")


def clean_text(text: str) -> str:
    """Lower case; sentence punctuation becomes a comma (a pause); other symbols go."""
    t = text.lower().replace("\u2019", "'")
    t = re.sub(r"[.;:!?]+", ",", t)
    t = re.sub(r"[^a-z0-9',.\- ]+", " ", t)
    t = re.sub(r"\s*,\s*", ", ", t)
    return re.sub(r"\s+", " ", t).strip(" ,")
