"""Running the labelled planner suite: every case through `plan_command` (the safety gate
included), accuracy per category and planning latency (`evaluate_suite`, `SuiteReport`).
The cases and their format are in `suite.py`."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from robot_llm.planning.base import History, Planner, get_planner, plan_command
from robot_llm.planning.safety import SafetyGate
from robot_llm.planning.suite import Case, SuiteError, describe_result, load_cases, load_scenes
from robot_llm.types import PlanResult, Scene


@dataclass
class CaseOutcome:
    case: Case
    passed: bool
    results: list[PlanResult]
    latencies_ms: list[float]

    def explain(self) -> str:
        lines = [f"{self.case.id} [{self.case.category}] scene={self.case.scene}"]
        for (command, expect), got in zip(self.case.turns, self.results, strict=False):
            ok = expect.check(got)
            lines.append(f"  {'ok ' if ok else 'BAD'} > {command}")
            if not ok:
                lines.append(f"      expected {expect}")
                lines.append(f"      got      {describe_result(got)}")
        return "\n".join(lines)


def run_case(
    planner: Planner, case: Case, scenes: Mapping[str, Scene], gate: SafetyGate | None = None
) -> CaseOutcome:
    if case.scene not in scenes:
        raise SuiteError(f"{case.id}: unknown scene {case.scene!r}; scenes are {sorted(scenes)}")
    scene = scenes[case.scene]
    history = History()
    results: list[PlanResult] = []
    times: list[float] = []
    passed = True
    for command, expect in case.turns:
        t0 = time.perf_counter()
        r = plan_command(planner, command, scene, history, gate)
        times.append((time.perf_counter() - t0) * 1000.0)
        results.append(r)
        if not expect.check(r):
            passed = False
            break
    return CaseOutcome(case, passed, results, times)


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    xs = sorted(values)
    k = (len(xs) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


@dataclass
class SuiteReport:
    """Accuracy overall and per category, latency of each planning call, the failures."""

    planner: str
    outcomes: list[CaseOutcome] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def accuracy(self) -> float:
        return self.passed / self.total if self.total else 0.0

    @property
    def failures(self) -> list[CaseOutcome]:
        return [o for o in self.outcomes if not o.passed]

    def by_category(self) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for o in self.outcomes:
            p, t = out.get(o.case.category, (0, 0))
            out[o.case.category] = (p + o.passed, t + 1)
        return dict(sorted(out.items()))

    @property
    def latencies_ms(self) -> list[float]:
        return [t for o in self.outcomes for t in o.latencies_ms]

    def latency(self) -> dict[str, float]:
        xs = self.latencies_ms
        return {
            "p50_ms": _percentile(xs, 0.50),
            "p99_ms": _percentile(xs, 0.99),
            "max_ms": max(xs) if xs else 0.0,
            "mean_ms": statistics.fmean(xs) if xs else 0.0,
            "calls": float(len(xs)),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "planner": self.planner,
            "cases": self.total,
            "passed": self.passed,
            "accuracy": self.accuracy,
            "categories": {
                c: {"passed": p, "total": t, "accuracy": p / t if t else 0.0}
                for c, (p, t) in self.by_category().items()
            },
            "latency": self.latency(),
            "failures": [
                {
                    "id": o.case.id,
                    "category": o.case.category,
                    "turns": [c for c, _ in o.case.turns],
                    "expected": [str(e) for _, e in o.case.turns],
                    "got": [describe_result(r) for r in o.results],
                }
                for o in self.failures
            ],
        }

    def format(self, failures: bool = True) -> str:
        lines = [f"planner {self.planner}: {self.passed}/{self.total} = {self.accuracy:.1%}"]
        for c, (p, t) in self.by_category().items():
            lines.append(f"  {c:<14} {p:>4}/{t:<4} {p / t:6.1%}")
        lat = self.latency()
        lines.append(
            f"latency per command: p50 {lat['p50_ms']:.2f} ms, p99 {lat['p99_ms']:.2f} ms, "
            f"max {lat['max_ms']:.2f} ms over {int(lat['calls'])} calls"
        )
        if failures:
            for o in self.failures:
                lines.append(o.explain())
        return "\n".join(lines)


def evaluate_suite(
    planner: Planner | str = "rule",
    cases: Sequence[Case] | None = None,
    scenes: Mapping[str, Scene] | None = None,
    gate: SafetyGate | None = None,
    categories: Iterable[str] | None = None,
) -> SuiteReport:
    """Run the labelled suite through `plan_command` and report accuracy and latency.

    `planner` is a backend or a registered name. Perception is not part of the timing: scenes
    are given.
    """
    if isinstance(planner, str):
        import robot_llm.planning  # noqa: F401 - registers the built-in backends

        planner = get_planner(planner)
    cases = list(cases) if cases is not None else load_cases()
    if categories is not None:
        wanted = set(categories)
        cases = [c for c in cases if c.category in wanted]
    scenes = scenes if scenes is not None else load_scenes()
    gate = gate or SafetyGate.default()
    report = SuiteReport(planner.name)
    for case in cases:
        report.outcomes.append(run_case(planner, case, scenes, gate))
    return report
