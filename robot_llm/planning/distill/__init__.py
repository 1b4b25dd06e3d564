"""Teacher data for a distilled planner: scenes, paraphrased commands, the rule planner's labels.

The rule planner is exact on the canonical wording it was written for. This package draws a
scene (`scenes`), a meaning in it (`intents`), words that meaning with one split's grammar
(`templates_train` or `templates_heldout`, through the engine in `render`) and labels it with
the rule planner's answer to the canonical wording (`label`). `generate` writes JSONL;
`evaluate` measures any planner backend on such a file (`robot-llm eval-planner --split
heldout`). docs/distill.md describes the families and the split.
"""

from typing import Final

# Recorded in every example; change it whenever the same (split, seed, i) would give another one.
GENERATOR_VERSION: Final = "distill-1"

__all__ = ["GENERATOR_VERSION"]
