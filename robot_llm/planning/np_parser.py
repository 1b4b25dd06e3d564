"""The noun-phrase parser: tokens to a `Ref` ("the second red block from the left", "all
blocks except the blue one", "the red and blue blocks", "it", "the other one").

`_Parser` reads the head of a phrase (pronoun, determiner or quantifier, count, modifiers, noun)
and coordination; the qualifiers after the noun are `post_modifiers.py`. `parse_np` is the
entry point; `resolve.py` grounds the Ref in the table model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
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
    SIZE_EXTREMES,
    SIZE_WORDS,
)
from robot_llm.planning.post_modifiers import PostModifiers
from robot_llm.planning.refs import Ref

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


class _Parser(PostModifiers):
    """A noun phrase's head and coordination, over the tokens of `PostModifiers`."""

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
