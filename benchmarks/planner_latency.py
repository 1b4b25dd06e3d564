"""Planner latency: time per command over the labelled planner suite (perception excluded).

Each call is one `plan_command` (stop words, the backend, the safety gate, the history update)
on a given scene, so the numbers are planning alone. The target for the `rule` planner is
p99 <= 20 ms. Run: `.venv/bin/python benchmarks/planner_latency.py [--planner rule]
[--repeats 5] [--json]`; prints accuracy and p50 / p99 latency.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

from robot_llm.planning.suite import load_cases, load_scenes
from robot_llm.planning.suite_eval import _percentile, evaluate_suite

TARGET_P99_MS = 20.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--planner", default="rule", help="registered planner name (default rule)")
    ap.add_argument("--repeats", type=int, default=5, help="passes over the suite (default 5)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    cases, scenes = load_cases(), load_scenes()
    evaluate_suite(args.planner, cases[:20], scenes)  # warm up imports and caches
    latencies: list[float] = []
    accuracy = 0.0
    t0 = time.perf_counter()
    for _ in range(max(1, args.repeats)):
        report = evaluate_suite(args.planner, cases, scenes)
        latencies += report.latencies_ms
        accuracy = report.accuracy
    wall = time.perf_counter() - t0
    out = {
        "planner": args.planner,
        "cases": len(cases),
        "calls": len(latencies),
        "accuracy": round(accuracy, 4),
        "p50_ms": round(_percentile(latencies, 0.50), 3),
        "p99_ms": round(_percentile(latencies, 0.99), 3),
        "max_ms": round(max(latencies), 3),
        "wall_s": round(wall, 2),
        "target_p99_ms": TARGET_P99_MS,
        "python": platform.python_version(),
        "machine": platform.processor() or platform.machine(),
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(
            f"planner {out['planner']}: {out['cases']} cases x {args.repeats} = "
            f"{out['calls']} planning calls, accuracy {accuracy:.1%}"
        )
        print(
            f"latency per command: p50 {out['p50_ms']:.2f} ms, p99 {out['p99_ms']:.2f} ms, "
            f"max {out['max_ms']:.2f} ms (target p99 <= {TARGET_P99_MS:.0f} ms)"
        )
    return 0 if out["p99_ms"] <= TARGET_P99_MS else 1


if __name__ == "__main__":
    sys.exit(main())
