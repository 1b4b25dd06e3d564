"""The `learned` planner (the student alone) and `distilled` (rules first, then the student).

`StudentPlanner.plan` reads the command and the scene's colors with the student network,
decodes the heads into an intent (`schema.decode`), renders it as canonical wording and hands
that to the rule planner, which grounds it in the scene; `plan_command` then applies the safety
gate as for any backend. So a plan is schema-valid by construction and names only scene
objects. A non-command ("abstain") or a confidence below `threshold` becomes a question
without candidates, never an action.

`DistilledPlanner` is the `hybrid` arrangement with the student as its model: the rules answer
what they can read; only their "I didn't understand" goes to the student, and when the student
is unsure too, the rules' question stands.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from robot_llm.planning.base import History, PlannerError
from robot_llm.planning.llm.backend import option
from robot_llm.planning.llm.hybrid import HybridPlanner
from robot_llm.types import Clarify, PlanResult, Scene

DEFAULT_THRESHOLD: Final = 0.5
NOT_UNDERSTOOD: Final = "I didn't understand that. Could you say it another way?"


class StudentPlanner:
    """The distilled student: command + scene -> intent -> canonical text -> rule planner."""

    name = "learned"

    def __init__(
        self,
        weights: str | Path | None = None,
        threshold: float | None = None,
        int8: bool = False,
        threads: int | None = None,
    ) -> None:
        import torch

        from robot_llm.planning.rules import RulePlanner
        from robot_llm.planning.student import model as M

        if threads:
            torch.set_num_threads(int(threads))
        self.model, self.tokenizer, self.config = M.load(weights)
        if int8:
            self.model = M.quantized(self.model)
        self.int8 = int8
        self.threshold = float(
            threshold if threshold is not None else self.config.get("threshold", DEFAULT_THRESHOLD)
        )
        self.rules = RulePlanner()
        self.stats: Counter[str] = Counter()
        self.last: Any = None  # the latest Reading (canonical text, confidence), for callers

    @classmethod
    def from_options(cls, **options: Any) -> StudentPlanner:
        """Options: weights (a folder; default the shipped one), threshold, int8, threads."""
        weights = option(options, "weights", "ROBOT_LLM_STUDENT_WEIGHTS")
        if weights is None:
            weights = options.pop("model", None)
        threshold = option(options, "threshold", "ROBOT_LLM_STUDENT_THRESHOLD")
        int8 = str(option(options, "int8", "ROBOT_LLM_STUDENT_INT8", "0")).lower()
        threads = option(options, "threads", "ROBOT_LLM_THREADS")
        options.pop("model", None)
        if options:
            raise PlannerError(f"learned planner: unknown option {sorted(options)[0]!r}")
        try:
            sure = float(threshold) if threshold is not None else None
            n_threads = int(threads) if threads else None
        except ValueError as err:
            raise PlannerError(f"learned planner: bad option: {err}") from None
        return cls(weights, sure, int8 in ("1", "true", "yes", "on"), n_threads)

    def read(self, command: str, scene: Scene) -> Any:
        """The decoded reading of one command (`schema.Reading`)."""
        from robot_llm.planning.student.model import probabilities
        from robot_llm.planning.student.schema import decode

        probs = probabilities(self.model, self.tokenizer, [(command, scene)])[0]
        return decode(probs, scene)

    def plan(self, command: str, scene: Scene, history: History) -> PlanResult:
        t0 = time.perf_counter()
        reading = self.read(command, scene)
        self.last = reading
        self.stats["ms"] += int(1000 * (time.perf_counter() - t0))
        if reading.canonical is None or reading.confidence < self.threshold:
            self.stats["unsure"] += 1
            return Clarify(NOT_UNDERSTOOD, planner=self.name)
        self.stats["read"] += 1
        result = self.rules.plan(reading.canonical, scene, history)
        return replace(result, planner=self.name)


class DistilledPlanner(HybridPlanner):
    """Rules first; the student where the rules give up; the rules' question when both do."""

    name = "distilled"

    @classmethod
    def from_options(cls, **options: Any) -> DistilledPlanner:
        return cls(StudentPlanner.from_options(**options))


def shipped_weights() -> Path:
    from robot_llm.planning.student.model import WEIGHTS_DIR

    return Path(os.fspath(WEIGHTS_DIR))
