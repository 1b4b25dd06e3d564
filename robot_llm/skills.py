"""The skills a plan may name, each declared once.

A `SkillSpec` says which subgoal fields a skill takes (required, exactly one of, optional), which
kinds of object it acts on, what it leaves in the hand and whether it moves an object. Every
layer reads this table instead of keeping its own list of skill names: the plan parser
(`validate_subgoal`, run by every `Subgoal`), the JSON Schema (`plan_schema`), the safety gate,
the language-model grounding (`planning/llm/grounding.py`), the dialogue history, the executor
and the planner suite's step shorthand. What a skill does to the arm is its policy
(`policies/`); how its effect is checked from the camera is `execution/verify.py`.

It also reads and writes the one-line step shorthand. It imports only `robot_llm.errors`, so
`types` can read it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Final, Literal

from robot_llm.errors import SchemaError

DIRECTIONS: Final = ("left", "right", "forward", "back")  # in the table frame: +y, -y, +x, -x
FieldType = Literal["id", "id_pair", "point", "pose", "direction", "distance"]
Hand = Literal["takes", "empties", "keeps"]


@dataclass(frozen=True)
class Field:
    """One subgoal field: its JSON name, its `Subgoal` attribute, its type and meaning."""

    key: str
    attr: str
    type: FieldType
    meaning: str
    kinds: tuple[str, ...] = ()  # for object ids: the kinds it may name (empty: the skill's)
    needs: str | None = None  # a field that means something only next to this one
    named: bool = True  # the step shorthand writes its key before its value


FIELDS: Final = {
    f.key: f
    for f in (
        Field("object", "object", "id", "the object the skill acts on", named=False),
        Field("on", "on", "id", "put it on top of this block", ("block",)),
        Field("in", "in_", "id", "put it in this bowl, tray or zone", ("bowl", "tray", "zone")),
        Field("at", "at", "point", "put it on the table at [x, y], meters, table frame"),
        Field(
            "across",
            "across",
            "id_pair",
            "rest it across these two blocks standing side by side",
            ("block",),
        ),
        Field("to", "to", "point", "push it to [x, y], meters, table frame"),
        Field(
            "direction",
            "direction",
            "direction",
            "push it this way, in the table frame",
            named=False,
        ),
        Field(
            "distance",
            "distance",
            "distance",
            "meters (default 0.10)",
            needs="direction",
            named=False,
        ),
        Field("pose", "pose", "pose", "[x, y, z] or [x, y, z, yaw]: meters, radians", named=False),
    )
}


@dataclass(frozen=True)
class SkillSpec:
    """What the rest of the stack needs to know about one skill.

    `hand`: "takes" leaves the skill's object in the gripper, "empties" leaves the gripper
    empty, "keeps" leaves it as it was. `moves_object`: the skill changes where its object is,
    so the executor looks again and tracks it.
    """

    name: str
    required: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    object_kinds: tuple[str, ...] = ()
    hand: Hand = "keeps"
    moves_object: bool = False

    @property
    def fields(self) -> tuple[str, ...]:
        """Every field the skill takes, required first."""
        return self.required + self.one_of + self.optional

    def shapes(self) -> Iterator[tuple[str, ...]]:
        """Each set of fields a subgoal of this skill may carry, in a fixed order."""
        choices: list[tuple[str, ...]] = [(c,) for c in self.one_of] or [()]
        for choice in choices:
            for n in range(len(self.optional) + 1):
                for extra in combinations(self.optional, n):
                    shape = self.required + choice + extra
                    if all(FIELDS[k].needs in (None, *shape) for k in extra):
                        yield shape

    def kinds_of(self, key: str) -> tuple[str, ...]:
        """The kinds of object an id field of this skill may name."""
        return self.object_kinds if key == "object" else FIELDS[key].kinds


SKILL_SPECS: Final = (
    SkillSpec("pick", ("object",), object_kinds=("block",), hand="takes", moves_object=True),
    SkillSpec(
        "place",
        ("object",),
        one_of=("on", "in", "at", "across"),
        object_kinds=("block",),
        hand="empties",
        moves_object=True,
    ),
    SkillSpec(
        "push",
        ("object",),
        one_of=("to", "direction"),
        optional=("distance",),
        object_kinds=("block", "bowl", "tray"),
        moves_object=True,
    ),
    SkillSpec("move_to", ("pose",)),
    SkillSpec("open_gripper", hand="empties"),
    SkillSpec("close_gripper"),
    SkillSpec("home"),
    SkillSpec("stop"),
)
SPECS: Final = {s.name: s for s in SKILL_SPECS}
SKILLS: Final = tuple(s.name for s in SKILL_SPECS)
MOVING_SKILLS: Final = tuple(s.name for s in SKILL_SPECS if s.moves_object)


def hand_after(skill: str, obj: str | None, held: str | None) -> str | None:
    """What the gripper holds after `skill` (on `obj`) succeeds, when it held `held` before."""
    spec = SPECS.get(skill)
    if spec is None or spec.hand == "keeps":
        return held
    return obj if spec.hand == "takes" else None


# -- checks ----------------------------------------------------------------------------------------
def field_value(f: Field, v: Any, where: str) -> Any:
    """A subgoal field's JSON value as its Python value, checked against the field's type."""
    if f.type in ("id", "direction"):
        if not isinstance(v, str):
            raise SchemaError(f"{where}: field {f.key!r} must be a string")
        return v
    if f.type == "id_pair":
        if not isinstance(v, list | tuple) or len(v) != 2 or not all(isinstance(x, str) for x in v):
            raise SchemaError(f"{where}: field {f.key!r} must be a list of two object ids")
        return (str(v[0]), str(v[1]))
    if f.type == "distance":
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise SchemaError(f"{where}: field {f.key!r} must be a number")
        return float(v)
    sizes = (2,) if f.type == "point" else (3, 4)
    if not isinstance(v, list | tuple) or len(v) not in sizes:
        count = " or ".join(str(k) for k in sizes)
        raise SchemaError(f"{where}: field {f.key!r} must be a list of {count} numbers")
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in v):
        raise SchemaError(f"{where}: field {f.key!r} must hold numbers")
    out = tuple(float(x) for x in v)
    if not all(math.isfinite(x) for x in out):
        raise SchemaError(f"{where}: field {f.key!r} must hold finite numbers")
    return out


def validate_subgoal(s: Any) -> None:
    """Check that a subgoal's fields fit its skill; SchemaError says which field is wrong."""
    spec = SPECS.get(s.skill)
    if spec is None:
        raise SchemaError(f"unknown skill {s.skill!r}; skills are {', '.join(SKILLS)}")
    present = [key for key, f in FIELDS.items() if getattr(s, f.attr) is not None]
    missing = sorted(set(spec.required) - set(present))
    if missing:
        raise SchemaError(f"skill {s.skill!r} needs field {missing[0]!r}")
    extra = sorted(set(present) - set(spec.fields))
    if extra:
        raise SchemaError(f"skill {s.skill!r} takes no field {extra[0]!r}")
    if spec.one_of and sum(key in present for key in spec.one_of) != 1:
        names = ", ".join(repr(key) for key in spec.one_of)
        raise SchemaError(f"skill {s.skill!r} needs exactly one of {names}")
    for key in present:
        need = FIELDS[key].needs
        if need is not None and need not in present:
            raise SchemaError(f"skill {s.skill!r}: field {key!r} goes only with {need!r}")
    if s.across is not None:
        a, b = s.across
        if a == b or s.object in s.across:
            raise SchemaError(
                "field 'across' must name two different blocks, neither the placed one"
            )
    if s.direction is not None and s.direction not in DIRECTIONS:
        raise SchemaError(f"push direction {s.direction!r} is not one of {DIRECTIONS}")
    if s.distance is not None and not (0.0 < s.distance <= 1.0):
        raise SchemaError(f"push distance {s.distance} must be in (0, 1] meters")


# -- the step shorthand ---------------------------------------------------------------------------
# One line per subgoal, the way people and the planner suite write steps: `pick A`,
# `place A on B`, `place A in B`, `place A at X Y`, `place A across B C`, `push A left 0.1`,
# `push A to X Y`, `move_to X Y Z [YAW]`, `home`. Named fields are written as key and value,
# the others by value alone, in the skill's field order.
def shorthand(skill: str, values: Mapping[str, object]) -> str:
    """A step in the shorthand, from its field values by JSON key."""
    spec = SPECS.get(skill)
    words = [skill]
    for key in spec.fields if spec is not None else tuple(values):
        value = values.get(key)
        if value is None:
            continue
        if FIELDS[key].named:
            words.append(key)
        items = value if isinstance(value, tuple | list) else (value,)
        words += [f"{v:g}" if isinstance(v, float) else str(v) for v in items]
    return " ".join(words)


def read_shorthand(text: str, patterns: bool = False) -> tuple[str, dict[str, object]]:
    """A shorthand step as its skill and field values by JSON key. With `patterns`, a point may
    be one word (such as `*`), which is kept as written. ValueError says what is wrong."""
    words = text.replace('"', "").split()
    if not words:
        raise ValueError("empty step")
    spec = SPECS.get(words[0])
    if spec is None:
        raise ValueError(f"unknown skill {words[0]!r}")
    unnamed = [k for k in spec.fields if not FIELDS[k].named]
    values: dict[str, object] = {}
    rest: Sequence[str] = words[1:]
    while rest:
        word = rest[0]
        if word in spec.fields and FIELDS[word].named:
            key, rest = word, rest[1:]
        elif unnamed:
            key = unnamed.pop(0)
        else:
            raise ValueError(f"unexpected {word!r}")
        values[key], rest = _take(FIELDS[key], rest, patterns)
    missing = [k for k in spec.required if k not in values]
    if missing:
        raise ValueError(f"{spec.name} needs {missing[0]}")
    if spec.one_of and sum(k in values for k in spec.one_of) != 1:
        raise ValueError(f"{spec.name} needs one of {', '.join(spec.one_of)}")
    return spec.name, values


def _take(f: Field, words: Sequence[str], patterns: bool) -> tuple[object, Sequence[str]]:
    """One field's value from the front of `words`, and the words left."""
    if not words:
        raise ValueError(f"{f.key} needs a value")
    if f.type in ("id", "direction"):
        return words[0], words[1:]
    if f.type == "distance":
        return float(words[0]), words[1:]
    if f.type == "id_pair":
        if len(words) < 2:
            raise ValueError(f"{f.key} needs two ids")
        return (words[0], words[1]), words[2:]
    if patterns and words and not _is_number(words[0]):
        return words[0], words[1:]
    n = 2 if f.type == "point" else len(words)
    numbers = tuple(float(w) for w in words[:n])
    if len(numbers) not in ((2,) if f.type == "point" else (3, 4)):
        raise ValueError(f"{f.key} needs {'2' if f.type == 'point' else '3 or 4'} numbers")
    return numbers, words[n:]


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True
