"""End to end through `robot-llm run`: seeded task episodes, task success per family.

Each episode is one `robot-llm run --task ID --seed N --json --quiet` process: the main camera is
rendered and perceived, the task's own instruction goes through the planner, the executor runs
the plan with the scripted skills (verifying, retrying and replanning), and the task's
`evaluate()` judges the final object poses (`task_success` in the run JSON). Nothing is
shortcut: this is exactly what an operator's command goes through.

Episodes run `--workers` at a time. Every finished episode is appended to `--out` (JSON lines);
run again with the same file and the episodes already there are skipped, so an interrupted run
resumes.

Run: `.venv/bin/python benchmarks/end_to_end.py [--episodes 100] [--families PickPlace,Stack]
[--seed 0] [--workers 2] [--perception camera|truth] [--out out/end_to_end.jsonl] [--json]
[--summary]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from robot_llm.bench.metrics import wilson
from robot_llm.envs.tasks import TASKS

# Every task family but Chain (five instructions in a row), in the suite's order.
SINGLE_INSTRUCTION_FAMILIES = tuple(name for name in TASKS if name != "Chain")


def robot_llm_command() -> list[str]:
    """The installed `robot-llm` next to this interpreter, else `python -m robot_llm.cli`."""
    script = Path(sys.executable).with_name("robot-llm")
    if script.exists():
        return [str(script)]
    found = shutil.which("robot-llm")
    return [found] if found else [sys.executable, "-m", "robot_llm.cli"]


def run_episode(family: str, seed: int, perception: str) -> dict[str, Any]:
    task = f"robot_llm/{family}-v0"
    cmd = [*robot_llm_command(), "run", "--task", task, "--seed", str(seed)]
    cmd += ["--perception", perception, "--json", "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    row: dict[str, Any] = {"family": family, "seed": seed, "perception": perception}
    row["exit_code"] = proc.returncode
    row["wall_s"] = round(wall, 3)
    try:
        out = json.loads(proc.stdout)
    except json.JSONDecodeError:
        row.update(status="crashed", success=False, reason=proc.stderr.strip()[-300:])
        return row
    row["status"] = out["status"]
    row["success"] = bool(out.get("task_success", False))
    row["progress"] = out.get("task_progress")
    row["instruction"] = out["command"]
    row["subgoals"] = len(out.get("plan", {}).get("subgoals", []))
    attempts = [s.get("attempts", 1) for s in out.get("subgoals", [])]
    row["retries"] = sum(a - 1 for a in attempts)
    row["reason"] = out.get("reason") or out.get("question")
    timings = out.get("timings", {})
    for key in ("perception_s", "planning_s", "execution_s", "executor_sim_seconds"):
        if key in timings:
            row[key] = timings[key]
    return row


def load_done(path: Path) -> dict[tuple[str, int, str], dict[str, Any]]:
    done: dict[tuple[str, int, str], dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                done[(row["family"], row["seed"], row["perception"])] = row
    return done


def summarize(rows: list[dict[str, Any]], families: list[str]) -> list[dict[str, Any]]:
    table = []
    for family in families:
        mine = [r for r in rows if r["family"] == family]
        if not mine:
            continue
        wins = sum(r["success"] for r in mine)
        low, high = wilson(wins, len(mine))
        failures = Counter(
            f"{r['status']}: {str(r.get('reason'))[:90]}" for r in mine if not r["success"]
        )
        table.append(
            {
                "family": family,
                "episodes": len(mine),
                "success": wins / len(mine),
                "ci95": [round(low, 3), round(high, 3)],
                "mean_wall_s": round(sum(r["wall_s"] for r in mine) / len(mine), 2),
                "mean_sim_s": round(
                    sum(r.get("executor_sim_seconds", 0.0) for r in mine) / len(mine), 1
                ),
                "retries": sum(r.get("retries", 0) for r in mine),
                "failed_seeds": [r["seed"] for r in mine if not r["success"]],
                "failures": failures.most_common(5),
            }
        )
    return table


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=100, help="episodes per family")
    ap.add_argument("--families", default=",".join(SINGLE_INSTRUCTION_FAMILIES))
    ap.add_argument("--seed", type=int, default=0, help="first seed")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--perception", choices=("camera", "truth"), default="camera")
    ap.add_argument("--out", default="out/end_to_end.jsonl", help="episode log (JSON lines)")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    ap.add_argument(
        "--summary", action="store_true", help="run nothing: summarize the episodes in --out"
    )
    args = ap.parse_args(argv)
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = sorted(set(families) - set(SINGLE_INSTRUCTION_FAMILIES) - {"Chain"})
    if unknown:
        ap.error(f"unknown families {unknown}; known: {', '.join(SINGLE_INSTRUCTION_FAMILIES)}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = load_done(out)
    todo = [
        (family, seed)
        for family in families
        for seed in range(args.seed, args.seed + args.episodes)
        if (family, seed, args.perception) not in done
    ]
    if args.summary:
        todo = []
    print(f"{len(todo)} episodes to run, {len(done)} already in {out}", file=sys.stderr)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.workers) as pool, out.open("a") as log:
        futures = [pool.submit(run_episode, f, s, args.perception) for f, s in todo]
        for i, future in enumerate(as_completed(futures), 1):
            row = future.result()
            done[(row["family"], row["seed"], row["perception"])] = row
            log.write(json.dumps(row) + "\n")
            log.flush()
            mark = "ok" if row["success"] else f"FAIL ({row['status']})"
            elapsed = time.perf_counter() - t0
            eta = elapsed / i * (len(todo) - i)
            print(
                f"[{i}/{len(todo)} eta {eta / 60:.0f} min] {row['family']} seed {row['seed']}: "
                f"{mark} {row['wall_s']:.1f} s",
                file=sys.stderr,
            )
    wanted = {(f, s) for f in families for s in range(args.seed, args.seed + args.episodes)}
    rows = [
        r for key, r in done.items() if (key[0], key[1]) in wanted and key[2] == args.perception
    ]
    table = summarize(rows, families)
    if args.json:
        print(json.dumps({"perception": args.perception, "families": table}))
    else:
        print(f"perception={args.perception}, seeds {args.seed}..{args.seed + args.episodes - 1}")
        print(f"{'family':14s} {'n':>4s} {'success':>8s} {'95% CI':>14s} {'wall s':>7s}")
        for t in table:
            ci = f"[{t['ci95'][0]:.3f}, {t['ci95'][1]:.3f}]"
            print(
                f"{t['family']:14s} {t['episodes']:4d} {t['success']:8.1%} {ci:>14s} "
                f"{t['mean_wall_s']:7.1f}"
            )
            for reason, count in t["failures"]:
                print(f"    {count} x {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
