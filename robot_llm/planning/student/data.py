"""Training data for the student: the distill generator's TRAIN split, with each example's intent
as head labels (`schema.targets`), plus a few commands it must not act on (`abstain`).

Held-out wording is never generated here. The non-commands are this module's own: chat, other
household requests and letter noise, so the student learns to say "not a command I know".
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from robot_llm.planning.distill.generate import example_with_intent
from robot_llm.planning.student.schema import ABSTAIN, targets

NON_COMMANDS: Final = (
    "what time is it",
    "tell me a joke",
    "how are you today",
    "what is the weather like",
    "turn on the lights",
    "play some music",
    "order a pizza",
    "who are you",
    "thank you",
    "good morning",
    "what's your name",
    "call my mother",
    "set an alarm for seven",
    "how many legs does a spider have",
    "read me the news",
    "is it going to rain tomorrow",
    "what did you have for breakfast",
    "sing a song",
    "never mind the football score",
    "remind me to buy milk",
    "book a flight to paris",
    "what is two plus two",
    "translate hello into spanish",
    "lock the front door",
    "water the plants in the garden",
    "start the dishwasher",
    "vacuum the living room",
    "feed the cat",
    "text bob that i am late",
    "how tall is the eiffel tower",
)
ABSTAIN_EVERY: Final = 25  # one non-command per this many examples


def non_command(rng: random.Random) -> str:
    if rng.random() < 0.8:
        return rng.choice(NON_COMMANDS)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return " ".join(
        "".join(rng.choice(letters) for _ in range(rng.randint(2, 7)))
        for _ in range(rng.randint(1, 5))
    )


def examples(n: int, seed: int = 0, first: int = 0) -> Iterator[dict[str, Any]]:
    """`n` training items: command, scene (a Scene dict), canonical, family, targets."""
    rng = random.Random(f"student-abstain|{seed}")
    for i in range(first, first + n):
        record, intent = example_with_intent("train", seed, i)
        item = {
            "command": record["command"],
            "scene": record["scene"],
            "canonical": record["canonical"],
            "family": record["family"],
            "targets": targets(intent),
        }
        yield item
        if i % ABSTAIN_EVERY == 0:
            yield {
                "command": non_command(rng),
                "scene": record["scene"],
                "canonical": None,
                "family": "abstain",
                "targets": dict(ABSTAIN),
            }


def load_or_make(
    path: Path, n: int, seed: int, progress: Callable[[int], None] | None = None
) -> list[dict[str, Any]]:
    """The items cached at `path` (JSONL) when they are for (n, seed), else made and cached."""
    meta = {"n": n, "seed": seed}
    if path.exists():
        lines = path.read_text(encoding="utf-8").splitlines()
        if lines and json.loads(lines[0]) == meta:
            return [json.loads(line) for line in lines[1:]]
    items = []
    for k, item in enumerate(examples(n, seed)):
        items.append(item)
        if progress is not None and k % 200 == 0:
            progress(k)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(meta) + "\n")
        for item in items:
            f.write(json.dumps(item, sort_keys=True) + "\n")
    tmp.replace(path)
    return items
