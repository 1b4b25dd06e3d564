"""Generalization splits: which seeded episodes use held-out colors, sizes, counts or phrasings.

The task samplers are not changed. Every seed of a family gives one episode; its `Features`
(object colors, block sizes, number of blocks, the template each instruction was written from)
are read from the sampled episode, and the episode belongs to exactly one split:

- `seen`: no held-out color, block size, block count or template;
- `unseen_color`, `unseen_size`, `unseen_count`, `paraphrase`: exactly one of those factors is
  held out (a held-out color on some object, a held-out size on some block, a held-out number
  of blocks, an instruction written from a held-out template);
- `mixed`: more than one factor is held out.

`all` takes every seed in order. docs/bench.md has the whole definition.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

SPLITS: Final = (
    "all",
    "seen",
    "unseen_color",
    "unseen_size",
    "unseen_count",
    "paraphrase",
    "mixed",
)
FACTOR_SPLITS: Final = {
    "color": "unseen_color",
    "size": "unseen_size",
    "count": "unseen_count",
    "template": "paraphrase",
}
SCAN_PER_EPISODE: Final = 100  # seeds scanned per wanted episode before giving up
SCAN_MIN: Final = 500


@dataclass(frozen=True)
class Holdout:
    """What a suite holds out: palette colors, block sizes, block counts, template indices.

    `templates` index each family's `Task.templates` (negative counts from the end).
    """

    colors: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    block_counts: tuple[int, ...] = ()
    templates: tuple[int, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.colors or self.sizes or self.block_counts or self.templates)


@dataclass(frozen=True)
class Features:
    """What a sampled episode uses, as far as the splits are concerned."""

    colors: frozenset[str]
    block_sizes: frozenset[str]
    blocks: int
    templates: tuple[int, ...]  # per instruction: its template's index, -1 when none matches
    instructions: tuple[str, ...]


def _template_regex(template: str) -> tuple[re.Pattern[str], int]:
    """A template as a regex (each field matches any text) and its number of literal chars."""
    parts = re.split(r"\{[^{}]*\}", template)
    pattern = "(.+?)".join(re.escape(p) for p in parts)
    return re.compile(pattern), sum(len(p) for p in parts)


@lru_cache(maxsize=32)
def _compiled(templates: tuple[str, ...]) -> list[tuple[re.Pattern[str], int]]:
    return [_template_regex(t) for t in templates]


def template_index(templates: Sequence[str], text: str) -> int:
    """Which template `text` was written from: of those that match it whole, the one with the
    most literal text ("push the {obj} next to the {other_color} one" before "... {other}");
    -1 when none matches."""
    best, best_len = -1, -1
    for i, (regex, literal) in enumerate(_compiled(tuple(templates))):
        if regex.fullmatch(text) and literal > best_len:
            best, best_len = i, literal
    return best


@lru_cache(maxsize=8192)  # the splits of one entry scan the same seeds
def episode_features(family: str, seed: int) -> Features:
    """Sample the family's episode for `seed` exactly as a benchmark episode does, and read it."""
    from gymnasium.utils.seeding import np_random

    from robot_llm.envs.tasks import make_task

    task = make_task(family)
    rng, _ = np_random(seed)
    episode = task.reset(rng)
    objects = [o for o in episode.scene.objects if not o.id.startswith("_")]
    blocks = [o for o in objects if o.kind == "block"]
    subtasks = episode.goal.get("subtasks")
    texts = [str(s["text"]) for s in subtasks] if subtasks else [episode.instruction]
    return Features(
        colors=frozenset(o.color for o in objects),
        block_sizes=frozenset(o.size for o in blocks),
        blocks=len(blocks),
        templates=tuple(template_index(task.templates, t) for t in texts),
        instructions=tuple(texts),
    )


def held_out_factors(features: Features, holdout: Holdout, n_templates: int) -> list[str]:
    """The factors (color, size, count, template) in which the episode uses held-out values."""
    factors = []
    if features.colors & set(holdout.colors):
        factors.append("color")
    if features.block_sizes & set(holdout.sizes):
        factors.append("size")
    if features.blocks in holdout.block_counts:
        factors.append("count")
    held = {i % n_templates for i in holdout.templates} if n_templates else set()
    if any(i >= 0 and i in held for i in features.templates):
        factors.append("template")
    return factors


def split_of(features: Features, holdout: Holdout, n_templates: int) -> str:
    factors = held_out_factors(features, holdout, n_templates)
    if not factors:
        return "seen"
    return FACTOR_SPLITS[factors[0]] if len(factors) == 1 else "mixed"


def select_seeds(
    family: str, split: str, holdout: Holdout, first_seed: int, episodes: int
) -> list[int]:
    """The first `episodes` seeds from `first_seed` on whose episode falls in `split`.

    Fewer come back when the scan (SCAN_PER_EPISODE per wanted episode, at least SCAN_MIN
    seeds) finds no more: some families never use a factor (Pyramid has only medium blocks).
    """
    if split == "all":
        return list(range(first_seed, first_seed + episodes))
    from robot_llm.envs.tasks import TASKS

    n_templates = len(TASKS[family].templates)
    limit = max(SCAN_MIN, SCAN_PER_EPISODE * episodes)
    found: list[int] = []
    for seed in range(first_seed, first_seed + limit):
        if split_of(episode_features(family, seed), holdout, n_templates) == split:
            found.append(seed)
            if len(found) == episodes:
                break
    return found
