"""Side-by-side numbers for the student: `learned` and `distilled`, float and int8, on the suite
and on generated teacher data, with latency split by who answered.

    python -m robot_llm.planning.student.measure [--n 500] [--weights DIR] [--json FILE]

Accuracy is `eval-planner`'s (the same cases, checks and safety gate). "Acted" counts plans
given where the teacher asked a question or refused: the unsafe direction of a mistake (acting
where the teacher would not), reported apart from invalid outputs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from robot_llm.planning.base import Planner
from robot_llm.planning.suite_eval import SuiteReport


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def summarize(report: SuiteReport, gave_up: dict[str, bool] | None = None) -> dict[str, Any]:
    """Accuracy, plans against the teacher, and latency by who answered: `rule`, `learned`,
    and (one-turn data, where `gave_up` says whether the rules alone gave up on each case)
    `learned-unsure` for the rules' question after the student was asked and unsure."""
    by: dict[str, list[float]] = {}
    acted = 0
    for o in report.outcomes:
        for (_, expect), r, ms in zip(o.case.turns, o.results, o.latencies_ms, strict=False):
            who = (getattr(r, "planner", "") or "?").split(":")[-1]
            if gave_up is not None and who == "rule" and gave_up.get(o.case.id):
                who = "learned-unsure"
            by.setdefault(who, []).append(ms)
            if getattr(r, "type", "") == "plan" and expect.type in ("clarify", "refuse"):
                acted += 1
    return {
        "passed": report.passed,
        "total": report.total,
        "acted_against_teacher": acted,
        "latency_ms": {
            who: {
                "n": len(v),
                "p50": round(statistics.median(v), 1),
                "p95": round(_pct(v, 0.95), 1),
            }
            for who, v in sorted(by.items())
        },
    }


def run(planner: Planner, split: str, n: int, seed: int) -> dict[str, Any]:
    from robot_llm.planning.distill.evaluate import evaluate_dataset
    from robot_llm.planning.distill.generate import generate
    from robot_llm.planning.llm.evaluate import evaluate_planner

    if split == "suite":
        report, summary = evaluate_planner(planner)
        return {**summarize(report), "invalid": summary["invalid"]}
    from robot_llm.planning.base import History
    from robot_llm.planning.llm.hybrid import rules_gave_up
    from robot_llm.planning.rules import RulePlanner
    from robot_llm.types import Scene

    examples = list(generate(split, n, seed))
    rules = RulePlanner()
    gave_up = {
        str(e["id"]): rules_gave_up(
            rules.plan(str(e["command"]), Scene.from_dict(e["scene"]), History())
        )
        for e in examples
    }
    report, summary = evaluate_dataset(planner, examples)
    return {**summarize(report, gave_up), "invalid": summary["invalid"]}


def main(argv: Sequence[str] | None = None) -> int:
    import torch

    from robot_llm.planning.student.planner import DistilledPlanner, StudentPlanner

    p = argparse.ArgumentParser(prog="python -m robot_llm.planning.student.measure")
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--weights", default=None)
    p.add_argument("--json", default=None, metavar="FILE")
    p.add_argument("--only", default=None, help="comma-separated planners: learned,distilled")
    p.add_argument("--int8", default="0,1", help="which of float (0) and int8 (1): 0,1")
    p.add_argument("--splits", default="suite,train:0,train:1,heldout:0", help="split:seed list")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for int8 in (x == "1" for x in args.int8.split(",")):
        student = StudentPlanner(args.weights, int8=int8)
        planners: dict[str, Planner] = {"learned": student, "distilled": DistilledPlanner(student)}
        for name, planner in planners.items():
            if args.only and name not in args.only.split(","):
                continue
            for spec in args.splits.split(","):
                split, _, seed = spec.partition(":")
                t0 = time.perf_counter()
                row = run(planner, split, args.n, int(seed or 0))
                row |= {"planner": name, "int8": int8, "split": spec}
                rows.append(row)
                print(
                    f"{name:9} {'int8' if int8 else 'float':5} {spec:10} "
                    f"{row['passed']}/{row['total']} ({100 * row['passed'] / row['total']:.1f}%)"
                    f" invalid {row['invalid']} acted {row['acted_against_teacher']} "
                    f"latency {json.dumps(row['latency_ms'])} ({time.perf_counter() - t0:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
