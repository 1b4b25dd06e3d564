"""The paraphrase engine: an `Intent` worded by one split's `Grammar`, then noised.

The engine holds no wording of its own: every word it writes comes from the intent's slots
(canonical colors, kinds, numbers) or from the `Grammar` of a split module
(`templates_train.GRAMMAR`, `templates_heldout.GRAMMAR`): clause templates per action, the
lexicons (verbs, kinds, colors, sizes, directions, prepositions, ordinals, sides), the frames
(politeness and indirect requests, order words for two steps, self-corrections, constraints),
fillers, near-homophones and droppable function words. Character-level typing slips are
operations (`TYPO_OPS`) a grammar chooses among.

`signatures(grammar)` lists a grammar's surface patterns: each literal stretch of its strings
(slots cut out) that holds a word outside `FUNCTION_WORDS` and the canonical words. A held-out
signature never occurs in training data (tests/test_distill.py).
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from robot_llm.planning.distill.intents import CANONICAL_WORDS, Intent, Mention

# Closed-class words any wording needs (articles, pronouns, prepositions, auxiliaries).
_FUNCTION_TEXT: Final = """a an the this that these those it its them they you your i me my
    we us our he she
    to of in on at by for with from into onto over under about as than then and or but not no
    is are be was were been do does did done will would can could shall should may might must
    have has had so if there here what which who one ones all some any each every just now
    too also very"""
FUNCTION_WORDS: Final = frozenset(_FUNCTION_TEXT.split())
SHARED_WORDS: Final = FUNCTION_WORDS | CANONICAL_WORDS

Strings = tuple[str, ...]


@dataclass(frozen=True)
class Grammar:
    """One split's wording. Templates are `str.format` strings over named slots."""

    name: str
    clauses: Mapping[str, Strings]  # act -> templates over {pick} {put} {push} {stack} {obj} ...
    verbs: Mapping[str, Strings]  # pick | put | push | stack -> verb phrases
    kinds: Mapping[str, Strings]
    colors: Mapping[str, Strings]
    sizes: Mapping[str, Strings]
    directions: Mapping[str, Strings]
    distances: Strings  # over {n} (centimeters)
    preps: Mapping[str, Strings]  # in | on
    articles: Strings
    ordinal_refs: Strings  # over {nth} {kind} {side}
    ordinals: Mapping[int, Strings]
    sides: Mapping[str, Strings]
    superlatives: Mapping[str, Strings]  # over {kind}
    relations: Mapping[str, Strings]  # over {kind} {landmark}
    sequences: Strings  # over {a} {b}: do a, then b
    pronouns: Strings  # over {pick} {obj} {put} {in} {dest}
    corrections: Strings  # over {wrong} {right}
    constraints: Strings  # over {put} {blocks} {in} {dest} {ex}
    frames: Strings  # politeness and indirect requests, over {c}
    fillers: Strings
    homophones: Mapping[str, Strings]
    droppable: Strings  # function words speech recognition loses
    typo_ops: Strings  # names in TYPO_OPS
    rates: Mapping[str, float] = field(default_factory=dict)  # noise -> probability

    def strings(self) -> Iterator[str]:
        """Every string of the grammar (templates, lexicon entries, frames, fillers)."""
        for name in (
            "clauses",
            "verbs",
            "kinds",
            "colors",
            "sizes",
            "directions",
            "preps",
            "ordinals",
            "sides",
            "superlatives",
            "relations",
            "homophones",
        ):
            for values in getattr(self, name).values():
                yield from values
        for name in (
            "distances",
            "articles",
            "ordinal_refs",
            "sequences",
            "pronouns",
            "corrections",
            "constraints",
            "frames",
            "fillers",
            "droppable",
        ):
            yield from getattr(self, name)


# -- surface patterns ------------------------------------------------------------------------------
_SLOT = re.compile(r"\{[^}]*\}")


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def signatures(grammar: Grammar) -> set[str]:
    """The grammar's literal stretches (between slots) that hold a non-shared word."""
    out = set()
    for s in grammar.strings():
        for chunk in _SLOT.split(s):
            ws = words(chunk)
            if any(w not in SHARED_WORDS for w in ws):
                out.add(" ".join(ws))
    return out


def contains_phrase(text: str, phrase: str) -> bool:
    """Whether `phrase` occurs in `text` as whole words."""
    return f" {phrase} " in f" {' '.join(words(text))} "


# -- wording ---------------------------------------------------------------------------------------
class Renderer:
    """Words intents with one grammar; all choices from the `rng` it is given."""

    def __init__(self, grammar: Grammar, rng: random.Random) -> None:
        self.g = grammar
        self.rng = rng
        self.noise: list[str] = []

    def pick(self, options: Strings) -> str:
        return self.rng.choice(options)

    def mention(self, m: Mention, article: bool = True) -> str:
        parts = []
        if m.size:
            parts.append(self.pick(self.g.sizes[m.size]))
        if m.color:
            parts.append(self.pick(self.g.colors[m.color]))
        parts.append(self.pick(self.g.kinds[m.kind]))
        text = " ".join(parts)
        return f"{self.pick(self.g.articles)} {text}" if article else text

    def ref(self, how: Mapping[str, Any]) -> str:
        kind = self.pick(self.g.kinds[how["kind"]])
        if "n" in how:
            return self.pick(self.g.ordinal_refs).format(
                nth=self.pick(self.g.ordinals[how["n"]]),
                kind=kind,
                side=self.pick(self.g.sides[how["side"]]),
            )
        if "which" in how:
            return self.pick(self.g.superlatives[how["which"]]).format(kind=kind)
        return self.pick(self.g.relations[how["rel"]]).format(
            kind=kind, landmark=self.mention(how["landmark"])
        )

    def slots(self, intent: Intent) -> dict[str, str]:
        s = intent.slots
        env = {k: self.pick(v) for k, v in self.g.verbs.items()}
        if self.rng.random() < self.g.rates.get("no_verb", 0.0):
            env = dict.fromkeys(env, "")
            self.noise.append("no_verb")
        if "ref" in s:
            env["obj"] = self.ref(s["ref"])
        for key in ("obj", "dest", "bowl", "ex"):
            if isinstance(s.get(key), Mention):
                env[key] = self.mention(s[key])
        if "fix" in s:
            wrong: Mention = s["wrong"]
            short = self.rng.random() < 0.5 and wrong.color is not None
            bad = (
                f"{self.pick(self.g.articles)} {self.pick(self.g.colors[wrong.color or ''])}"
                if short
                else self.mention(wrong)
            )
            env[s["fix"]] = self.pick(self.g.corrections).format(wrong=bad, right=env[s["fix"]])
        if "prep" in s:
            env["in"] = self.pick(self.g.preps[s["prep"]])
        if "dir" in s:
            env["dir"] = self.pick(self.g.directions[s["dir"]])
            cm = s.get("cm")
            env["dist"] = " " + self.pick(self.g.distances).format(n=cm) if cm else ""
        if "color" in s:
            env["color"] = self.pick(self.g.colors[s["color"]])
        env["block"] = self.pick(self.g.kinds["block"])
        env["blocks"] = plural(self.pick(self.g.kinds["block"]))
        return env

    def clause(self, intent: Intent, imperative_only: bool = False) -> tuple[str, bool]:
        """The clause's text, and whether it is an order (a request frame may wrap it)."""
        options = self.g.clauses[intent.act]
        if imperative_only:
            options = tuple(t for t in options if imperative(t)) or options
        template = self.pick(options)
        return template.format(**self.slots(intent)), imperative(template)

    def command(self, intent: Intent) -> str:
        order = True
        if intent.steps:
            # an order inside "after you ..." must be one: statements only stand alone
            a, b = (self.clause(s, imperative_only=True)[0] for s in intent.steps)
            text = self.pick(self.g.sequences).format(a=a, b=b)
        elif intent.family == "pronoun":
            text = self.pick(self.g.pronouns).format(**self.slots(intent))
        elif intent.family == "constraint":
            text = self.pick(self.g.constraints).format(**self.slots(intent))
        else:
            text, order = self.clause(intent)
        return self.noised(tidy(text), order)

    # -- noise -------------------------------------------------------------------------------------
    def noised(self, text: str, order: bool = True) -> str:
        r = self.g.rates
        if self.rng.random() < r.get("frame", 0.0) and order:
            text = self.pick(self.g.frames).format(c=text)
            self.noise.append("frame")
        if self.rng.random() < r.get("filler", 0.0):
            ws = text.split()
            ws.insert(self.rng.randrange(len(ws) + 1), self.pick(self.g.fillers))
            text = " ".join(ws)
            self.noise.append("filler")
        if self.rng.random() < r.get("asr", 0.0):
            text = self.asr(text)
        if self.rng.random() < r.get("typo", 0.0):
            text = self.typo(text)
        return tidy(text)

    def asr(self, text: str) -> str:
        ws = text.split()
        sounds = [i for i, w in enumerate(ws) if w in self.g.homophones]
        drops = [i for i, w in enumerate(ws) if w in self.g.droppable]
        if sounds and (not drops or self.rng.random() < 0.5):
            i = self.rng.choice(sounds)
            ws[i] = self.pick(self.g.homophones[ws[i]])
            self.noise.append("homophone")
        elif drops:
            del ws[self.rng.choice(drops)]
            self.noise.append("dropped_word")
        return " ".join(ws)

    def typo(self, text: str) -> str:
        ws = text.split()
        long = [i for i, w in enumerate(ws) if len(w) >= 4 and w.isalpha()]
        if not long:
            return text
        i = self.rng.choice(long)
        op = self.pick(self.g.typo_ops)
        ws[i] = TYPO_OPS[op](ws[i], self.rng)
        self.noise.append(f"typo_{op}")
        return " ".join(ws)


def imperative(template: str) -> bool:
    """Whether a clause template gives an order ("{put} {obj} ...") rather than stating a
    wish ("{obj} goes in {dest}", "i want {obj} ...")."""
    return not template.startswith(("{obj}", "{dest}", "i "))


def plural(noun: str) -> str:
    return f"{noun}es" if noun.endswith(("x", "s", "sh", "ch")) else f"{noun}s"


def tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"\s+([,.?!])", r"\1", text)


# -- character edits -------------------------------------------------------------------------------
_ROWS: Final = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbors(c: str) -> str:
    for r, row in enumerate(_ROWS):
        j = row.find(c)
        if j >= 0:
            near = row[max(0, j - 1) : j] + row[j + 1 : j + 2]
            for rr in (r - 1, r + 1):
                if 0 <= rr < len(_ROWS):
                    near += _ROWS[rr][max(0, j - 1) : j + 1]
            return near
    return c


def _swap(w: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(w) - 1)
    return w[:i] + w[i + 1] + w[i] + w[i + 2 :]


def _delete(w: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(w))
    return w[:i] + w[i + 1 :]


def _neighbor(w: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(w))
    return w[:i] + rng.choice(_neighbors(w[i])) + w[i + 1 :]


def _double(w: str, rng: random.Random) -> str:
    i = rng.randrange(len(w))
    return w[: i + 1] + w[i] + w[i + 1 :]


def _insert(w: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(w))
    return w[:i] + rng.choice(string.ascii_lowercase) + w[i:]


TYPO_OPS: Final[dict[str, Callable[[str, random.Random], str]]] = {
    "swap": _swap,  # adjacent letters transposed
    "delete": _delete,  # a letter left out
    "neighbor": _neighbor,  # a key next to the right one
    "double": _double,  # a letter typed twice
    "insert": _insert,  # a stray letter
}
