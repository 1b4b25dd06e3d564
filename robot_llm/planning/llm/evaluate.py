"""Measuring a planner backend on the labelled suite: accuracy, invalid outputs, latency.

`evaluate_planner` runs `evaluate_suite` (every turn through `plan_command`, the safety gate
included) on a chosen subset and adds what matters for model backends: the invalid-output rate
(a result that does not round-trip through the plan parser, or names an id the scene lacks;
it must be 0), how the answers split into plans, questions and refusals, and the backend's own
counters (bad model answers, retries, fallbacks, errors; for `hybrid`, who answered).
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from robot_llm.planning.base import Planner
from robot_llm.planning.llm.grounding import named_ids
from robot_llm.planning.suite import Case, SuiteError, load_cases, load_scenes
from robot_llm.planning.suite_eval import SuiteReport, evaluate_suite
from robot_llm.types import Clarify, Plan, Refuse, Scene, SchemaError
from robot_llm.types import plan_result_from_dict as parse


def select_cases(
    cases: Sequence[Case], categories: Iterable[str] | None = None, limit: int | None = None
) -> list[Case]:
    """The cases of `categories` (all when None); with `limit`, that many taken round-robin
    over the categories in suite order, so a small subset still covers every category."""
    chosen = list(cases)
    if categories is not None:
        wanted = list(dict.fromkeys(categories))
        known = {c.category for c in cases}
        unknown = [c for c in wanted if c not in known]
        if unknown:
            raise SuiteError(
                f"unknown category {unknown[0]!r}; categories are {', '.join(sorted(known))}"
            )
        chosen = [c for c in chosen if c.category in set(wanted)]
    if limit is None or limit >= len(chosen):
        return chosen
    groups: dict[str, list[Case]] = {}
    for c in chosen:
        groups.setdefault(c.category, []).append(c)
    out: list[Case] = []
    depth = 0
    while len(out) < limit:
        for group in groups.values():
            if depth < len(group) and len(out) < limit:
                out.append(group[depth])
        depth += 1
    return out


def invalid_reason(result: Any, scene: Scene) -> str | None:
    """Why a planner's result is not a valid answer for `scene`, or None when it is."""
    if not isinstance(result, Plan | Clarify | Refuse):
        return f"not a plan result: {type(result).__name__}"
    try:
        parse(result.to_dict())
    except SchemaError as err:
        return str(err)
    missing = [i for i in named_ids(result) if i not in scene.ids]
    if missing:
        return f"names {', '.join(missing)}, not in the scene"
    return None


def evaluate_planner(
    planner: Planner,
    categories: Iterable[str] | None = None,
    limit: int | None = None,
) -> tuple[SuiteReport, dict[str, Any]]:
    """Run the subset of the suite; returns the suite report and a summary (a JSON object)."""
    scenes = load_scenes()
    return run_and_summarize(planner, select_cases(load_cases(), categories, limit), scenes)


def run_and_summarize(
    planner: Planner, cases: Sequence[Case], scenes: Mapping[str, Scene]
) -> tuple[SuiteReport, dict[str, Any]]:
    """Run `cases` (the suite's or generated ones) after loading the planner's model; the
    report and the summary: answers by type and by planner, invalid outputs, backend counters,
    wall and load seconds."""
    load_s = warm_up(planner)
    t0 = time.perf_counter()
    report = evaluate_suite(planner, cases, scenes)
    wall = time.perf_counter() - t0
    kinds: Counter[str] = Counter()
    answered: Counter[str] = Counter()
    invalid: list[dict[str, str]] = []
    for o in report.outcomes:
        scene = scenes[o.case.scene]
        for (command, _), r in zip(o.case.turns, o.results, strict=False):
            kinds[getattr(r, "type", "?")] += 1
            answered[getattr(r, "planner", "") or "?"] += 1
            why = invalid_reason(r, scene)
            if why is not None:
                invalid.append({"case": o.case.id, "command": command, "reason": why})
    turns = sum(kinds.values())
    summary = {
        **report.to_dict(),
        "turns": turns,
        "invalid": len(invalid),
        "invalid_rate": len(invalid) / turns if turns else 0.0,
        "invalid_outputs": invalid,
        "answers": {k: kinds.get(k, 0) for k in ("plan", "clarify", "refuse")},
        "refusal_rate": kinds.get("refuse", 0) / turns if turns else 0.0,
        "answered_by": dict(sorted(answered.items())),
        "backend": _stats(planner),
        "wall_s": round(wall, 2),
        "load_s": round(load_s, 2),
    }
    return report, summary


def warm_up(planner: Planner) -> float:
    """Load the planner's model (or its hybrid model's) before timing; the seconds it took."""
    t0 = time.perf_counter()
    for p in (planner, getattr(planner, "model", None)):
        load = getattr(p, "load", None)
        if callable(load):
            with contextlib.suppress(Exception):  # a broken model answers with a Refuse later
                load()
    return time.perf_counter() - t0


def format_summary(report: SuiteReport, summary: dict[str, Any], failures: bool = False) -> str:
    lines = [report.format(failures=failures)]
    a = summary["answers"]
    lines.append(
        f"answers: {a['plan']} plans, {a['clarify']} questions, {a['refuse']} refusals over "
        f"{summary['turns']} turns; invalid outputs: {summary['invalid']} "
        f"({summary['invalid_rate']:.1%})"
    )
    if len(summary["answered_by"]) > 1 or summary["backend"]:
        by = ", ".join(f"{k} {v}" for k, v in summary["answered_by"].items())
        stats = ", ".join(f"{k} {v}" for k, v in summary["backend"].items())
        lines.append(f"answered by: {by}" + (f"; backend: {stats}" if stats else ""))
    for bad in summary["invalid_outputs"]:
        lines.append(f"INVALID {bad['case']} > {bad['command']}: {bad['reason']}")
    lines.append(
        f"wall time {summary['wall_s']:.1f} s (model load {summary['load_s']:.1f} s before)"
    )
    return "\n".join(lines)


def _stats(planner: Planner) -> dict[str, int]:
    """The backend's counters; for `hybrid`, its own and its model's (prefixed `model.`)."""
    out = dict(getattr(planner, "stats", {}))
    inner = getattr(planner, "model", None)
    out.update({f"model.{k}": v for k, v in getattr(inner, "stats", {}).items()})
    return dict(sorted(out.items()))
