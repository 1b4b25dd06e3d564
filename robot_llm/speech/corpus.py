"""Sentences an operator may say to this robot: the text the bias language model learns from.

Three sources, all in spoken form (`spoken.to_spoken`):

- the planner's labelled suite: every command of every case (plans, questions, refusals,
  dialogue turns and answers), so the model knows how commands are put together;
- templates over the objects of the current scene: each object by its color, size and the
  nouns of its kind, in pick, put, push, arm, relation and region commands, so the words of
  what is on the table are the likeliest (regenerated when the scene changes);
- the planner's word tables (verbs, kinds, sizes, positions, directions, regions, numbers,
  units, colors, stop words): words that appear in no sentence still enter the vocabulary
  with a small probability, so they can be heard.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Final

from robot_llm.speech.spoken import to_spoken
from robot_llm.types import Scene, SceneObject

PICK_VERBS: Final = ("pick up", "grab", "take", "lift", "grasp", "get", "hold", "fetch")
PUT_VERBS: Final = ("put", "place", "move", "drop", "set", "bring", "stack")
PUSH_VERBS: Final = ("push", "slide", "nudge", "shove")
PUSH_WAYS: Final = (
    "to the left",
    "left",
    "to the right",
    "right",
    "forward",
    "back",
    "away from the robot",
    "toward the robot",
)
DISTANCES: Final = ("", "five centimeters", "by ten centimeters", "a little", "a bit")
RELATIONS: Final = ("next to", "to the left of", "to the right of", "behind", "in front of")
REGIONS: Final = (
    "on the left side",
    "on the right side",
    "in the far left corner",
    "in the near right corner",
    "in the center",
    "at the back of the table",
    "at the front",
)
WHOLE_TABLE: Final = (
    "stop",
    "halt",
    "freeze",
    "stop now",
    "stop stop",
    "emergency stop",
    "abort",
    "go home",
    "return home",
    "open the gripper",
    "close the gripper",
    "let go",
    "sort the blocks by color",
    "clear the table",
    "tidy up",
    "stack all the blocks",
    "build a tower",
    "stack the blocks from largest to smallest",
)
SCENE_REPEAT: Final = 2  # scene sentences count this many times the suite's


def object_phrases(o: SceneObject, limit: int | None = None) -> list[str]:
    """Noun phrases for one object: "the red block", "the large red cube", "the red one"."""
    from robot_llm.planning.lexicon import KIND_NOUNS, SIZE_WORDS

    nouns = [n for n, kinds in KIND_NOUNS.items() if kinds and kinds == frozenset({o.kind})]
    nouns = [n for n in nouns if n not in ("tower", "stack", "pile")]
    sizes = [w for w, s in SIZE_WORDS.items() if s == o.size and "-" not in w][:2]
    colors = [o.color] + (["grey"] if o.color == "gray" else [])
    out = [f"the {c} {n}" for c in colors for n in nouns]
    out += [f"the {s} {c} {nouns[0]}" for s in sizes for c in colors]
    out.append(f"the {o.color} one")
    return out[:limit] if limit else out


def scene_sentences(scene: Scene) -> list[str]:
    """Commands about the objects of `scene`, in spoken form."""
    blocks = [o for o in scene.objects if o.kind == "block"]
    out: list[str] = list(WHOLE_TABLE)
    for b in blocks:
        for np, verb in itertools.product(object_phrases(b), PICK_VERBS):
            out.append(f"{verb} {np}")
        main = object_phrases(b, 3)
        for np, verb, way, dist in itertools.product(main, PUSH_VERBS, PUSH_WAYS, DISTANCES):
            out.append(" ".join(w for w in (verb, np, way, dist) if w))
        for np, region in itertools.product(main, REGIONS):
            out.append(f"put {np} {region}")
        for target in scene.objects:
            if target.id == b.id:
                continue
            preps = ("on", "on top of") if target.kind == "block" else ("in", "into", "on")
            for np, verb, prep, tp in itertools.product(
                main[:2], PUT_VERBS, preps, object_phrases(target, 2)
            ):
                out.append(f"{verb} {np} {prep} {tp}")
            for np, rel, tp in itertools.product(main[:2], RELATIONS, object_phrases(target, 1)):
                out.append(f"put {np} {rel} {tp}")
    for o in scene.objects:
        for np in object_phrases(o, 2):
            out += [f"go to {np}", f"move your hand over {np}", f"push {np} to the left"]
    return out


@lru_cache(maxsize=1)
def suite_sentences() -> tuple[str, ...]:
    """Every command of the planner's labelled suite that a person would say aloud."""
    from robot_llm.planning.suite import load_cases

    out = []
    for case in load_cases():
        for command, _ in case.turns:
            words = to_spoken(command)
            if words:
                out.append(" ".join(words))
    return tuple(out)


@lru_cache(maxsize=1)
def lexicon_words() -> frozenset[str]:
    """Single words of the planner's tables (and the CSS color names it knows)."""
    from robot_llm.planning import lexicon as lx
    from robot_llm.planning.colors import color_lexicon
    from robot_llm.planning.text import STOP_WORDS
    from robot_llm.planning.verb_words import UNSUPPORTED, VERBS
    from robot_llm.tabletop.palette import COLORS

    words: set[str] = set(COLORS) | set(color_lexicon()) | set(STOP_WORDS) | set(UNSUPPORTED)
    for table in (
        lx.KIND_NOUNS,
        lx.PLURAL_NOUNS,
        lx.SIZE_WORDS,
        lx.SIZE_EXTREMES,
        lx.POSITION_WORDS,
        lx.DIRECTION_WORDS,
        lx.NUMBER_WORDS,
        lx.ORDINAL_WORDS,
        lx.UNITS,
    ):
        words.update(table)
    for phrase in (*lx.REGION_PHRASES, *lx.POLITE_PREFIXES, *lx.SMALL_MOVE_WORDS):
        words.update(phrase.split())
    for verb_words, _ in VERBS:
        words.update(verb_words)
    spoken: set[str] = set()
    for w in words:
        said = to_spoken(w)
        spoken.update(said or ())
    return frozenset(spoken)


def corpus(scene: Scene | None, extra: Iterable[str] = (), suite: bool = True) -> list[str]:
    """The training sentences for a scene: the suite, the scene's templates (weighted), extras."""
    out = list(suite_sentences()) if suite else []
    if scene is not None:
        out += scene_sentences(scene) * SCENE_REPEAT
    out += list(extra)
    return out


def tokenize(sentences: Iterable[str]) -> list[Sequence[str]]:
    return [s.split() for s in sentences if s.strip()]
