"""Noun phrases: how the rule planner reads "the second red block from the left", "all blocks
except the blue one", "the bowl next to the tray", "it", "the other one".

`parse_np` turns tokens into a `Ref` (what was said, not yet which object it is);
`resolve.py` grounds a Ref in the table model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from robot_llm.planning.colors import palette_color
from robot_llm.planning.lexicon import (
    ID_PATTERN,
    KIND_NOUNS,
    NUMBER_WORDS,
    ORDINAL_WORDS,
    OTHER_NOUNS,
    PLURAL_NOUNS,
    POSITION_WORDS,
    REGION_PHRASES,
    SIDE_PHRASES,
    SIZE_EXTREMES,
    SIZE_WORDS,
)


@dataclass(frozen=True)
class Relation:
    """A post-modifier: `name` with landmark refs ("left_of", "near", "on", "in", "between",
    "nearest", "farthest", "behind", "in_front", "under") or a place ("region", "on_table")."""

    name: str
    args: tuple[Ref, ...] = ()
    place: str | None = None


@dataclass(frozen=True)
class Ref:
    """A noun phrase as said. `quant`: the | a | all | both | count | rest | it | them | any."""

    words: tuple[str, ...] = ()
    quant: str = "the"
    plural: bool = False
    count: int | None = None
    kinds: frozenset[str] | None = None
    noun: str | None = None  # as said ("cube"); an unknown noun is kept for the answer
    unknown_noun: bool = False
    color: str | None = None
    color_word: str | None = None
    size: str | None = None
    size_extreme: str | None = None  # "max" | "min"
    position: str | None = None  # left | right | near | far | top | bottom | center | robot
    ordinal: int | None = None
    ordinal_axis: str | None = None  # left | right | near | far
    other: bool = False
    empty: bool = False
    object_id: str | None = None
    relations: tuple[Relation, ...] = ()
    excluding: tuple[Ref, ...] = ()
    members: tuple[Ref, ...] = field(default=())

    @property
    def text(self) -> str:
        return " ".join(self.words)

    @property
    def pronoun(self) -> bool:
        return self.quant in ("it", "them")

    @property
    def many(self) -> bool:
        """The phrase names several objects (all, both, plural, a list)."""
        return (
            bool(self.members)
            or self.quant in ("all", "both", "rest", "them")
            or (self.quant == "count" and (self.count or 0) > 1)
        )


DETERMINERS: Final = frozenset({"the", "my", "your", "our", "its", "their"})
INDEFINITES: Final = frozenset({"a", "an", "any", "some", "either"})
POSITION_ONLY_ADJ: Final = frozenset(
    {
        "leftmost",
        "left-most",
        "rightmost",
        "right-most",
        "frontmost",
        "front-most",
        "backmost",
        "rearmost",
        "topmost",
        "uppermost",
        "bottommost",
        "lowest",
        "highest",
        "farthermost",
    }
)
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


class _Parser:
    def __init__(self, toks: Sequence[str], ids: frozenset[str]) -> None:
        self.t = list(toks)
        self.ids = ids

    def at(self, i: int, *words: str) -> bool:
        return self.t[i : i + len(words)] == list(words)

    def word(self, i: int) -> str:
        return self.t[i] if i < len(self.t) else ""

    # -- colors ----------------------------------------------------------------------------------
    def color_at(self, i: int) -> tuple[str, str, int] | None:
        for n in (3, 2, 1):
            phrase = " ".join(self.t[i : i + n])
            if len(self.t[i : i + n]) < n:
                continue
            c = palette_color(phrase)
            if c is not None:
                return c, phrase, i + n
        return None

    # -- a whole phrase --------------------------------------------------------------------------
    def np(self, i: int, coord: bool = True) -> tuple[Ref, int] | None:
        first = self.simple(i)
        if first is None:
            return None
        ref, j = first
        if not coord:
            return ref, j
        members = [ref]
        while j < len(self.t) and self.t[j] in ("and", ",", "or"):
            k = j + 1
            while k < len(self.t) and self.t[k] in ("and", ",", "or"):
                k += 1
            nxt = self.simple(k)
            if nxt is None:
                break
            members.append(nxt[0])
            j = nxt[1]
        if len(members) == 1:
            return ref, j
        # "the red and blue blocks": members without a noun take the last member's noun.
        last = members[-1]
        shared = [
            replace(
                m,
                kinds=m.kinds if m.noun else last.kinds,
                noun=m.noun or last.noun,
                plural=m.plural if m.noun else last.plural,
                quant=("all" if (last.plural and not m.noun) else m.quant),
            )
            for m in members
        ]
        if last.plural and not last.count:
            shared[-1] = replace(shared[-1], quant="all")
        words = tuple(self.t[i:j])
        excluding: tuple[Ref, ...] = ()
        return Ref(words=words, quant="all", members=tuple(shared), excluding=excluding), j

    def simple(self, i: int) -> tuple[Ref, int] | None:
        if i >= len(self.t):
            return None
        w = self.t[i]
        found = self._pronoun(i) or self._rest_of(i)
        if found is not None:
            return found
        if w in ("everything", "anything", "all") and not self._modifier_or_noun(
            i + 1, allow_det=True
        ):
            return self.post(Ref(words=(w,), quant="all", plural=True), i + 1)
        start = i
        ref, i = self._determiner(i)
        count = self._count_at(i)
        if count is not None:
            value, i = count
            ref = replace(ref, quant="count" if ref.quant != "all" else "all", count=value)
            ref = replace(ref, plural=value > 1)
            if self.at(i, "of") and self.word(i + 1) in ("the", "these", "those"):
                i += 2
        ref, i = self.modifiers(ref, i)
        if i == start or not self._has_content(ref):
            return None
        ref = replace(ref, words=tuple(self.t[start:i]))
        return self.post(ref, i)

    _PRONOUN_PHRASES: Final = (
        (("all", "of", "them"), "them"),
        (("all", "of", "those"), "them"),
        (("each", "of", "them"), "them"),
        (("both", "of", "them"), "them"),
        (("all", "three", "of", "them"), "them"),
        (("the", "same", "one"), "it"),
        (("the", "same", "block"), "it"),
        (("the", "same", "place"), "same"),
        (("the", "same", "spot"), "same"),
        (("same", "one"), "it"),
        (("this", "one"), "it"),
        (("that", "one"), "it"),
    )

    def _pronoun(self, i: int) -> tuple[Ref, int] | None:
        """Pronouns and pronoun-like phrases: "it", "them", "the same one", "that"."""
        w = self.t[i]
        if w in ("it", "itself"):
            return Ref(words=(w,), quant="it"), i + 1
        if w in ("them", "they", "themselves"):
            return Ref(words=(w,), quant="them", plural=True), i + 1
        for phrase, quant in self._PRONOUN_PHRASES:
            if self.at(i, *phrase):
                return Ref(words=phrase, quant=quant, plural=quant == "them"), i + len(phrase)
        if w in ("this", "that") and not self._modifier_or_noun(i + 1):
            return Ref(words=(w,), quant="it"), i + 1
        if w in ("these", "those") and not self._modifier_or_noun(i + 1):
            return Ref(words=(w,), quant="them", plural=True), i + 1
        return None

    _REST_PHRASES: Final = (
        ("the", "rest", "of", "the"),
        ("all", "the", "rest", "of", "the"),
        ("the", "rest"),
        ("all", "the", "rest"),
        ("the", "others"),
        ("all", "the", "others"),
        ("everything", "else"),
        ("all", "the", "other"),
        ("all", "other"),
        ("the", "remaining"),
        ("all", "remaining"),
        ("the", "other"),
    )

    def _rest_of(self, i: int) -> tuple[Ref, int] | None:
        """ "the rest", "the other blocks", "everything else": what earlier phrases left."""
        for phrase in self._REST_PHRASES:
            if not self.at(i, *phrase):
                continue
            k = i + len(phrase)
            rest_quant = "rest" if phrase[-1] not in ("other",) else "other"
            ref, k2 = self.modifiers(Ref(quant=rest_quant, other=True), k)
            if rest_quant == "other" and not ref.plural and phrase[0] == "the":
                ref = replace(ref, quant="the")
            elif rest_quant == "other":
                ref = replace(ref, quant="rest", plural=True)
            if ref.noun is None and phrase[-1] in ("others", "rest") and not ref.plural:
                ref = replace(ref, plural=True)
            return self.post(replace(ref, words=tuple(self.t[i:k2])), k2)
        return None

    def _determiner(self, i: int) -> tuple[Ref, int]:
        """The quantifier or determiner a phrase starts with ("every", "both of the", "a",
        "another", "the"), as the Ref so far and the next index."""
        w = self.t[i]
        ref = Ref()
        if w in ("all", "every", "each"):
            ref = replace(ref, quant="all", plural=True)
            i += 1
            if self.at(i, "of"):
                i += 1
            if self.word(i) in ("the", "these", "those", "my"):
                i += 1
        elif w == "both":
            ref = replace(ref, quant="both", plural=True, count=2)
            i += 1
            if self.at(i, "of"):
                i += 1
            if self.word(i) in ("the", "these", "those"):
                i += 1
        elif w in ("one", "any") and self.at(i + 1, "of"):
            ref = replace(ref, quant="a")
            i += 2
            if self.word(i) in ("the", "these", "those"):
                i += 1
        elif w in INDEFINITES:
            ref = replace(ref, quant="a")
            i += 1
        elif w == "another":
            ref = replace(ref, quant="a", other=True)
            i += 1
        elif w in DETERMINERS or w in ("this", "that", "these", "those"):
            ref = replace(ref, plural=w in ("these", "those"))
            i += 1
        return ref, i

    def _count_at(self, i: int) -> tuple[int, int] | None:
        w = self.word(i)
        if w in ("a", "the") and self.word(i + 1) in ("couple", "pair") and self.at(i + 2, "of"):
            return 2, i + 3
        if w in ("couple", "pair") and self.at(i + 1, "of"):
            return 2, i + 2
        if w in NUMBER_WORDS and w not in ("couple", "pair", "one"):
            return NUMBER_WORDS[w], i + 1
        if w.isdigit() and 0 < int(w) < 20 and self.word(i + 1) not in ("cm", "mm", "m"):
            return int(w), i + 1
        return None

    def _has_content(self, ref: Ref) -> bool:
        return any(
            (
                ref.noun,
                ref.color,
                ref.size,
                ref.size_extreme,
                ref.position,
                ref.ordinal is not None,
                ref.object_id,
                ref.other,
                ref.count,
                ref.quant in ("all", "both"),
            )
        )

    def _modifier_or_noun(self, i: int, allow_det: bool = False) -> bool:
        w = self.word(i)
        if not w:
            return False
        if allow_det and w in ("the", "of", "my", "these", "those"):
            return True
        return bool(
            w in KIND_NOUNS
            or w in PLURAL_NOUNS
            or w in SIZE_WORDS
            or w in SIZE_EXTREMES
            or w in POSITION_ONLY_ADJ
            or w in ORDINAL_WORDS
            or w in ("other", "ones")
            or self.color_at(i)
            or w in self.ids
        )

    def modifiers(self, ref: Ref, i: int) -> tuple[Ref, int]:
        n = len(self.t)
        while i < n:
            w = self.t[i]
            col = self.color_at(i)
            if col is not None and not (ref.color and ref.color != col[0]):
                c, phrase, i = col
                ref = replace(ref, color=c, color_word=phrase)
                continue
            if w in ("sized", "size") and (ref.size or ref.size_extreme):
                pass  # "medium sized"
            elif w in SIZE_WORDS:
                ref = replace(ref, size=SIZE_WORDS[w])
            elif w in SIZE_EXTREMES:
                ref = replace(ref, size_extreme=SIZE_EXTREMES[w])
            elif w in ORDINAL_WORDS:
                ref = replace(ref, ordinal=ORDINAL_WORDS[w])
            elif w in ("other", "remaining"):
                ref = replace(ref, other=True)
            elif w == "empty":
                ref = replace(ref, empty=True)
            elif w in ("same",):
                ref = replace(ref, quant="same")
            elif w in POSITION_WORDS and self._position_adjective(i):
                ref = replace(ref, position=POSITION_WORDS[w])
            elif w in ("furthest", "farthest") and self.at(i + 1, "left"):
                ref = replace(ref, position="left")
                i += 1
            elif w in ("furthest", "farthest") and self.at(i + 1, "right"):
                ref = replace(ref, position="right")
                i += 1
            elif w in ("most",) and self.word(i + 1) in ("left", "right"):
                ref = replace(ref, position=self.word(i + 1))
                i += 1
            else:
                break
            i += 1
        # the noun
        w = self.word(i)
        if w in KIND_NOUNS and not (w == "one" and self.at(i + 1, "of")):
            ref = replace(ref, noun=w, kinds=KIND_NOUNS[w])
            i += 1
        elif w in PLURAL_NOUNS:
            noun = PLURAL_NOUNS[w]
            ref = replace(ref, noun=noun, kinds=KIND_NOUNS[noun], plural=True)
            if ref.quant == "the" and ref.count is None:
                ref = replace(ref, quant="all")
            i += 1
        elif w in self.ids or looks_like_id(w):
            ref = replace(ref, object_id=w)
            i += 1
        elif w in OTHER_NOUNS or (w.endswith("s") and w[:-1] in OTHER_NOUNS):
            ref = replace(ref, noun=w, unknown_noun=True)
            i += 1
        return ref, i

    def _position_adjective(self, i: int) -> bool:
        """A position word as an adjective ("the left block", "the top one", "the leftmost")."""
        w = self.t[i]
        if w in POSITION_ONLY_ADJ or w in ("nearest", "closest", "farthest", "furthest"):
            # "nearest to X" is a relation, handled as a post-modifier
            return not self.at(i + 1, "to") and not self.at(i + 1, "from")
        nxt = self.word(i + 1)
        if nxt in ("of",):
            return False
        return self._modifier_or_noun(i + 1)

    # -- post-modifiers --------------------------------------------------------------------------
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


def parse_np(
    tokens: Sequence[str], ids: frozenset[str] = frozenset(), whole: bool = True
) -> Ref | None:
    """Parse a noun phrase; with `whole`, None unless it uses every token."""
    toks = [t for t in tokens if t not in ("(", ")")]
    while toks and toks[-1] in (",", "please", "now"):
        toks = toks[:-1]
    if not toks:
        return None
    p = _Parser(toks, ids)
    got = p.np(0)
    if got is None:
        return None
    ref, j = got
    if whole and j != len(toks):
        return None
    return ref


def looks_like_id(word: str) -> bool:
    return bool(ID_PATTERN.match(word))
