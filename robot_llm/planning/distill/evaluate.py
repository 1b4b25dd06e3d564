"""Measuring a planner backend on teacher data (a JSONL file or a generated split).

Each example becomes a one-turn suite case: its family is the category, its scene the one it
records, and its expectation the label, compared the way the suite compares (`suite.Expect`):
a plan must have the label's subgoals in order (points within 5 mm), a question must ask about
the label's candidates, and a refusal is any refusal (its wording is free). The run goes through
`evaluate_suite` (every command through `plan_command`, the safety gate included), so accuracy,
the invalid-output rate and latency mean what they mean for the suite (`robot-llm eval-planner`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from robot_llm.errors import InputError
from robot_llm.planning.base import Planner
from robot_llm.planning.llm.evaluate import run_and_summarize, select_cases
from robot_llm.planning.suite import Case, Expect, StepPattern
from robot_llm.planning.suite_eval import SuiteReport
from robot_llm.types import Plan, Scene, SchemaError, plan_result_from_dict

REQUIRED = ("id", "family", "scene", "command", "label")


class DataError(InputError):
    """A teacher-data file is missing, unreadable or malformed; the message names the line."""


def expect_of(label: Mapping[str, Any]) -> Expect:
    """The suite expectation a label stands for."""
    result = plan_result_from_dict(label)
    if isinstance(result, Plan):
        steps = tuple(
            StepPattern(
                s.skill,
                s.object,
                s.on,
                s.in_,
                s.at,
                s.to,
                s.direction,
                s.distance,
                s.pose,
                s.across,
            )
            for s in result.subgoals
        )
        return Expect("plan", steps)
    if result.type == "clarify":
        return Expect("clarify", candidates=tuple(label.get("candidates", ())))
    return Expect("refuse")


def load_examples(path: str | Path) -> list[dict[str, Any]]:
    """The examples of a JSONL file (blank lines skipped)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read: {err}") from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{path}:{n}: not JSON: {err}") from None
        missing = [k for k in REQUIRED if not isinstance(record, dict) or k not in record]
        if missing:
            raise DataError(f"{path}:{n}: missing field {missing[0]!r}")
        out.append(record)
    if not out:
        raise DataError(f"{path}: no examples")
    return out


def dataset_cases(
    examples: Sequence[Mapping[str, Any]],
) -> tuple[list[Case], dict[str, Scene]]:
    """One suite case per example, and the scenes by example id."""
    cases: list[Case] = []
    scenes: dict[str, Scene] = {}
    for e in examples:
        eid = str(e["id"])
        if eid in scenes:
            raise DataError(f"duplicate example id {eid!r}")
        try:
            scenes[eid] = Scene.from_dict(e["scene"])
            expect = expect_of(e["label"])
        except (SchemaError, KeyError, TypeError, ValueError) as err:
            raise DataError(f"example {eid}: {err}") from None
        cases.append(Case(eid, str(e["family"]), eid, ((str(e["command"]), expect),), "distill"))
    return cases, scenes


def evaluate_dataset(
    planner: Planner,
    examples: Sequence[Mapping[str, Any]],
    families: Iterable[str] | None = None,
    limit: int | None = None,
) -> tuple[SuiteReport, dict[str, Any]]:
    """Run the planner over the examples; the report (by family) and a summary (a JSON
    object with the keys of `llm.evaluate.evaluate_planner`'s)."""
    cases, scenes = dataset_cases(examples)
    report, summary = run_and_summarize(planner, select_cases(cases, families, limit), scenes)
    summary["splits"] = sorted({str(e.get("split", "?")) for e in examples})
    summary["generator"] = sorted({str(e.get("generator", "?")) for e in examples})
    return report, summary
