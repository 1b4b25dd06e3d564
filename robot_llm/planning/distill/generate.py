"""Generate teacher-labelled planner data: paraphrased commands with the rule planner's labels.

    python -m robot_llm.planning.distill.generate --split train --n 5000 --out train.jsonl
    python -m robot_llm.planning.distill.generate --split heldout --n 500 --out heldout.jsonl

One JSON object per line: id, split, family, scene (the planner's Scene, `Scene.to_dict()`),
command (the paraphrase), canonical (the command it was worded from), label (the rule planner's
answer to the canonical command in that scene, `label.label_of`), and noise (the damage
applied), scene_source, generator (GENERATOR_VERSION) and seed. Deterministic: example i
depends only on (GENERATOR_VERSION, split, seed, i), so a larger n extends a smaller one.
Families are taken round-robin (`intents.FAMILIES`), so every family gets n / 15 examples.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from robot_llm.planning.distill import GENERATOR_VERSION, templates_heldout, templates_train
from robot_llm.planning.distill.intents import EXPECTED, FAMILIES, MAKERS, Intent, NoIntent
from robot_llm.planning.distill.label import label_of, teach
from robot_llm.planning.distill.render import Grammar, Renderer
from robot_llm.planning.distill.scenes import sample_scene
from robot_llm.types import Scene

SPLITS: Final[dict[str, Grammar]] = {
    "train": templates_train.GRAMMAR,
    "heldout": templates_heldout.GRAMMAR,
}
ATTEMPTS: Final = 200


class GenerateError(ValueError):
    """A bad split name or count."""


def _intent(rng: random.Random, family: str) -> tuple[str, Scene, Intent, dict[str, Any]]:
    """A scene, an intent of `family` in it, and the teacher's label of its canonical text; the
    label's answer type is the family's (`intents.EXPECTED`), or the draw is made again."""
    for _ in range(ATTEMPTS):
        source, scene = sample_scene(rng)
        try:
            intent = MAKERS[family](rng, scene)
        except NoIntent:
            continue
        result = teach(intent.canonical, scene)
        if result.type == EXPECTED[family]:
            return source, scene, intent, label_of(result)
    raise RuntimeError(f"no {family} example after {ATTEMPTS} draws")  # pragma: no cover


def example(split: str, seed: int, i: int) -> dict[str, Any]:
    """Example `i` of a split: the same for the same (version, split, seed, i)."""
    return example_with_intent(split, seed, i)[0]


def example_with_intent(split: str, seed: int, i: int) -> tuple[dict[str, Any], Intent]:
    """`example(split, seed, i)` and the intent it words (the student's structured target)."""
    if split not in SPLITS:
        raise GenerateError(f"unknown split {split!r}; splits are {', '.join(SPLITS)}")
    rng = random.Random(f"{GENERATOR_VERSION}|{split}|{seed}|{i}")
    family = FAMILIES[i % len(FAMILIES)]
    source, scene, intent, label = _intent(rng, family)
    renderer = Renderer(SPLITS[split], rng)
    command = renderer.command(intent)
    return {
        "id": f"{split}-{seed}-{i:06d}",
        "split": split,
        "family": family,
        "scene": scene.to_dict(),
        "command": command,
        "canonical": intent.canonical,
        "label": label,
        "noise": renderer.noise,
        "scene_source": source,
        "generator": GENERATOR_VERSION,
        "seed": seed,
    }, intent


def generate(split: str, n: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    if n < 0:
        raise GenerateError("--n must be at least 0")
    for i in range(n):
        yield example(split, seed, i)


def dumps(record: dict[str, Any]) -> str:
    """One JSONL line: keys sorted, no spaces, so equal records give equal bytes."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def write(path: str | Path, split: str, n: int, seed: int = 0) -> Counter[str]:
    families: Counter[str] = Counter()
    with open(path, "w", encoding="utf-8") as f:
        for record in generate(split, n, seed):
            families[record["family"]] += 1
            f.write(dumps(record) + "\n")
    return families


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m robot_llm.planning.distill.generate",
        description="Write teacher-labelled planner examples (JSONL); docs/distill.md.",
    )
    parser.add_argument("--split", required=True, choices=sorted(SPLITS))
    parser.add_argument("--n", type=int, default=500, help="how many examples (default 500)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, metavar="FILE", help="the JSONL file to write")
    args = parser.parse_args(argv)
    try:
        families = write(args.out, args.split, args.n, args.seed)
    except (GenerateError, OSError) as err:
        print(f"generate: error: {err}", file=sys.stderr)
        return 2
    total = sum(families.values())
    print(
        f"wrote {total} {args.split} examples ({GENERATOR_VERSION}, seed {args.seed}) to "
        f"{args.out}: " + ", ".join(f"{k} {v}" for k, v in sorted(families.items())),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
