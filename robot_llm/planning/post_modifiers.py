"""Noun-phrase post-modifiers: what follows the noun in "the block farthest to the right",
"the second block from the left", "all blocks except the red one", "the bowl on the left",
"the block next to the bowl", "the one between the two bowls".

`PostModifiers` is the token cursor and this half of the noun-phrase parser; `np_parser._Parser`
adds the head of a phrase (determiner, modifiers, noun) and `np`, which reads the landmarks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Final

from robot_llm.planning.lexicon import REGION_PHRASES, SIDE_PHRASES
from robot_llm.planning.refs import Ref, Relation

FILLERS: Final = frozenset({"that", "which", "who", "is", "are", "sits", "sitting", "lying"})
EXCEPT_WORDS: Final = (
    ("except", "for"),
    ("except",),
    ("but", "not"),
    ("but",),
    ("other", "than"),
    ("apart", "from"),
    ("aside", "from"),
    ("excluding",),
    ("besides",),
    ("save", "for"),
    ("not", "including"),
    ("without",),
)
NEAR_WORDS: Final = (
    ("next", "to"),
    ("beside",),
    ("besides",),
    ("near", "to"),
    ("near",),
    ("close", "to"),
    ("by",),
    ("alongside",),
    ("adjacent", "to"),
)
ROBOT_WORDS: Final = frozenset({"robot", "you", "me", "base", "arm", "camera"})


class PostModifiers:
    """Tokens, and the qualifiers a phrase may end with (read by `post`)."""

    def __init__(self, toks: Sequence[str], ids: frozenset[str]) -> None:
        self.t = list(toks)
        self.ids = ids

    def at(self, i: int, *words: str) -> bool:
        return self.t[i : i + len(words)] == list(words)

    def word(self, i: int) -> str:
        return self.t[i] if i < len(self.t) else ""

    def np(self, i: int, coord: bool = True) -> tuple[Ref, int] | None:
        """A whole noun phrase from token i and the index after it (`np_parser._Parser`)."""
        raise NotImplementedError

    def post(self, ref: Ref, i: int) -> tuple[Ref, int]:
        n = len(self.t)
        while i < n:
            got = self.one_post(ref, i)
            if got is None:
                break
            ref, i = got
        return ref, i

    def _landmark(self, i: int) -> tuple[Ref, int] | None:
        if self.word(i) in ROBOT_WORDS or (
            self.word(i) == "the" and self.word(i + 1) in ROBOT_WORDS
        ):
            k = i + 1 if self.word(i) in ROBOT_WORDS else i + 2
            return Ref(words=("robot",), quant="the", object_id="<robot>"), k
        return self.np(i, coord=False)

    def one_post(self, ref: Ref, i: int) -> tuple[Ref, int] | None:
        """One qualifier after the noun ("farthest to the right", "from the left", "except the
        red one", "on the left", "next to the bowl"), or None."""
        t = self.t
        while self.word(i) in FILLERS and i + 1 < len(t):
            if self.word(i) in ("that", "which", "who") and not self._post_start(i + 1):
                return None
            i += 1
        # Tried in order; a stage that does not match passes to the next (an exclusion that
        # fails passes to stages whose first words it never shares, so the phrase ends).
        return (
            self._extreme_side(ref, i)
            or self._ordinal_axis(ref, i)
            or self._exclusion(ref, i)
            or self._place(ref, i)
            or self._landmark_relation(ref, i)
        )

    def _extreme_side(self, ref: Ref, i: int) -> tuple[Ref, int] | None:
        """ "the block farthest to the right", "the one most to the left"."""
        if self.word(i) in ("farthest", "furthest", "most"):
            for lead in (("to", "the"), ("on", "the"), ()):
                side = self.word(i + 1 + len(lead))
                if self.at(i + 1, *lead) and side in ("left", "right"):
                    return replace(ref, position=side), i + 2 + len(lead)
        return None

    _ORDINAL_AXES: Final = (
        (("from", "the", "left"), "left"),
        (("from", "left"), "left"),
        (("from", "the", "right"), "right"),
        (("from", "right"), "right"),
        (("from", "the", "front"), "near"),
        (("from", "the", "back"), "far"),
        (("from", "the", "robot"), "near"),
        (("from", "you"), "near"),
    )

    def _ordinal_axis(self, ref: Ref, i: int) -> tuple[Ref, int] | None:
        """The axis an ordinal counts along: "the second block from the left"."""
        if ref.ordinal is None:
            return None
        for side_words, axis in self._ORDINAL_AXES:
            if self.at(i, *side_words):
                return replace(ref, ordinal_axis=axis), i + len(side_words)
        return None

    def _exclusion(self, ref: Ref, i: int) -> tuple[Ref, int] | None:
        """ "all the blocks except the red one"."""
        for ex in EXCEPT_WORDS:
            if self.at(i, *ex) and (ref.quant in ("all", "rest", "them") or ref.plural):
                got = self.np(i + len(ex))
                if got is None:
                    return None
                other, k = got
                parts = other.members or (other,)
                return replace(ref, excluding=ref.excluding + parts), k
        return None

    def _place(self, ref: Ref, i: int) -> tuple[Ref, int] | None:
        """Places: "on the left", "in the far left corner", "at the back", "on the table",
        "at the top of the stack"."""
        for prep in ("on", "in", "at", "to", "toward", "towards", "near"):
            if not self.at(i, prep):
                continue
            k = i + 1
            if self.word(k) == "the":
                k += 1
            if prep == "on" and self.at(k, "table"):
                k2 = k + (2 if self.at(k, "table", "surface") else 1)
                return replace(ref, relations=(*ref.relations, Relation("on_table"))), k2
            for phrase in _REGION_WORDS:
                after = self.word(k + len(phrase))
                if self.at(k, *phrase) and after not in _REGION_TAILS:
                    k2 = k + len(phrase)
                    if self.at(k2, "of", "the", "table") or self.at(k2, "of", "the", "workspace"):
                        k2 += 3
                    region = REGION_PHRASES[" ".join(phrase)]
                    rel = Relation("region", place=region)
                    return replace(ref, relations=(*ref.relations, rel)), k2
            for phrase in (("top",), ("bottom",)):
                if self.at(k, *phrase):
                    pos = "top" if phrase == ("top",) else "bottom"
                    k2 = k + 1
                    for tail in _STACK_TAILS:  # "at the top of the stack"
                        if self.at(k2, *tail):
                            k2 += len(tail)
                            break
                    else:
                        if self.at(k2, "of"):
                            continue
                    return replace(ref, position=pos), k2
        return None

    def _landmark_relation(self, ref: Ref, i: int) -> tuple[Ref, int] | None:
        """Relations with a landmark: "next to the bowl", "between the two bowls"."""
        for words, name in _RELATION_WORDS:
            if not self.at(i, *words):
                continue
            k = i + len(words)
            if name == "between":
                a = self._landmark(k)
                if a is None or self.word(a[1]) != "and":
                    return None
                b = self._landmark(a[1] + 1)
                if b is None:
                    return None
                rel = Relation("between", (a[0], b[0]))
                return replace(ref, relations=(*ref.relations, rel)), b[1]
            got = self._landmark(k)
            if got is None:
                return None
            lm, k2 = got
            return replace(ref, relations=(*ref.relations, Relation(name, (lm,)))), k2
        return None

    def _post_start(self, i: int) -> bool:
        w = self.word(i)
        return w in _POST_FIRST_WORDS or w in FILLERS


_RELATION_WORDS: Final = (
    *SIDE_PHRASES,
    (("beyond",), "behind"),
    (("nearest", "to"), "nearest"),
    (("closest", "to"), "nearest"),
    (("nearest",), "nearest"),
    (("closest",), "nearest"),
    (("farthest", "from"), "farthest"),
    (("furthest", "from"), "farthest"),
    (("farthest", "away", "from"), "farthest"),
    (("furthest", "away", "from"), "farthest"),
    (("between",), "between"),
    (("in", "between"), "between"),
    *((w, "near") for w in NEAR_WORDS),
    (("on", "top", "of"), "on"),
    (("on",), "on"),
    (("onto",), "on"),
    (("above",), "above"),
    (("atop",), "on"),
    (("under",), "under"),
    (("underneath",), "under"),
    (("beneath",), "under"),
    (("below",), "below"),
    (("supporting",), "under"),
    (("inside", "of"), "in"),
    (("inside",), "in"),
    (("in",), "in"),
    (("out", "of"), "in"),
    (("from",), "in"),
    (("off",), "on"),
    (("off", "of"), "on"),
)
_POST_FIRST_WORDS: Final = frozenset(
    {w[0] for w, _ in _RELATION_WORDS}
    | {"on", "in", "at", "to", "toward", "towards", "from", "except", "but", "other"}
    | {e[0] for e in EXCEPT_WORDS}
)
_REGION_TAILS: Final = frozenset({"of", "side", "hand", "edge", "half", "end", "part", "corner"})
_STACK_TAILS: Final = tuple(
    (*pre, noun)
    for pre in (("of", "the"), ("of", "that"), ("of", "this"))
    for noun in ("stack", "tower", "pile")
)
_REGION_WORDS: Final = sorted(
    (tuple(p.split()) for p in REGION_PHRASES), key=lambda p: (-len(p), p)
)
