"""The `hybrid` planner: the rule planner first, a language model where the rules give up.

The rules answer everything they can read, as they always do: plans, their questions about the
scene (which block? I don't see a yellow one), their refusals (safety rules, actions no skill
does). They give up on a command they cannot read at all: a Clarify without candidates that
says "I didn't understand ..." or "What should I do? ..." (an unknown verb, an unusual
phrasing). Only then is the model asked, with the same scene, dialogue and feedback. Its answer
is kept unless it is itself a question without candidates, where the rules' question is the
clearer one. `Plan.planner` (and Clarify / Refuse) says who answered: "hybrid:rule" or
"hybrid:<model backend>".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any, Final

from robot_llm.planning.base import History, Planner, PlannerError, get_planner
from robot_llm.planning.llm.backend import option
from robot_llm.types import Clarify, PlanResult, Scene

GAVE_UP: Final = ("I didn't understand", "What should I do?")


def rules_gave_up(result: PlanResult) -> bool:
    """Whether a rule-planner answer means it could not read the command at all."""
    return (
        isinstance(result, Clarify)
        and not result.candidates
        and any(marker in result.question for marker in GAVE_UP)
    )


class HybridPlanner:
    """Rules first; `model` (a planner backend) for the commands the rules cannot read."""

    name = "hybrid"

    def __init__(self, model: Planner, rules: Planner | None = None) -> None:
        from robot_llm.planning.rules import RulePlanner

        self.model = model
        self.rules = rules if rules is not None else RulePlanner()
        self.frame: Any = None  # the latest camera frame, handed to the model backend
        self.stats: Counter[str] = Counter()  # answers by the rules and by the model

    @classmethod
    def from_options(cls, **options: Any) -> HybridPlanner:
        """Options: llm (the model backend, default transformers, or ROBOT_LLM_HYBRID_LLM); the
        rest go to that backend."""
        llm = str(option(options, "llm", "ROBOT_LLM_HYBRID_LLM", "transformers"))
        if llm in ("hybrid", "rule"):
            raise PlannerError(f"hybrid planner: llm={llm!r} must be a language-model backend")
        return cls(get_planner(llm, **options))

    def plan(self, command: str, scene: Scene, history: History) -> PlanResult:
        first = self.rules.plan(command, scene, history)
        if not rules_gave_up(first):
            self.stats["rule"] += 1
            return replace(first, planner=f"{self.name}:{self.rules.name}")
        self.stats["model_asked"] += 1
        if self.frame is not None and hasattr(self.model, "frame"):
            self.model.frame = self.frame
        answer = self.model.plan(command, scene, history)
        if isinstance(answer, Clarify) and not answer.candidates:
            self.stats["rule"] += 1
            return replace(first, planner=f"{self.name}:{self.rules.name}")
        self.stats["model"] += 1
        return replace(answer, planner=f"{self.name}:{self.model.name}")
