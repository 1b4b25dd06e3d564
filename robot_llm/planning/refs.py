"""Noun phrases as said: `Ref` (what a phrase names, not yet which object: quantifier, kinds,
color, size, position, ordinal, relations, exclusions, members) and `Relation` (a post-modifier
with its landmarks or place).

`np_parser.parse_np` reads tokens into a Ref; `resolve.py` grounds a Ref in the table model.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
