"""Benchmark metrics from episode rows: success with Wilson intervals, progress, steps, times,
the CALVIN chain metric, per-split tables and throughput. Pure functions of the rows."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from statistics import fmean
from typing import Any

TIME_KEYS = ("setup_s", "perception_s", "planner_s", "executor_s")
CHAIN_LENGTH = 5


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a binomial proportion ((0, 1) when n is 0)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, center - half), min(1.0, center + half))


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return round(fmean(items), 4) if items else 0.0


def success_stats(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    wins = sum(bool(r["success"]) for r in rows)
    low, high = wilson(wins, len(rows))
    return {
        "episodes": len(rows),
        "successes": wins,
        "success_rate": round(wins / len(rows), 4) if rows else 0.0,
        "ci95": [round(low, 4), round(high, 4)],
    }


def family_summary(family: str, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One family's table row: success and CI, progress, steps, simulated and wall times,
    statuses, the most common failure reasons and the failed seeds."""
    out: dict[str, Any] = {"family": family, **success_stats(rows)}
    out["progress_mean"] = _mean(float(r.get("progress", 0.0)) for r in rows)
    out["steps_mean"] = _mean(float(r.get("steps", 0)) for r in rows)
    out["sim_s_mean"] = _mean(float(r.get("sim_s", 0.0)) for r in rows)
    for key in (*TIME_KEYS, "wall_s"):
        out[f"{key}_mean"] = _mean(float(r.get("timings", {}).get(key, 0.0)) for r in rows)
    out["statuses"] = dict(Counter(str(r["status"]) for r in rows).most_common())
    reasons = Counter(_short(r.get("reason")) for r in rows if not r["success"])
    out["failures"] = [[reason, n] for reason, n in reasons.most_common(5)]
    out["failed_seeds"] = sorted(int(r["seed"]) for r in rows if not r["success"])
    return out


def _short(reason: Any, limit: int = 120) -> str:
    text = " ".join(str(reason or "unknown").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def chain_completed(row: dict[str, Any]) -> int:
    """Consecutive instructions a Chain episode completed (0 for an episode that crashed)."""
    chain = row.get("chain")
    return int(chain["completed"]) if isinstance(chain, dict) else 0


def chain_metrics(rows: Sequence[dict[str, Any]], length: int = CHAIN_LENGTH) -> dict[str, Any]:
    """CALVIN's long-horizon metric over Chain episodes: the average number of consecutive
    instructions completed, and the fraction of chains that completed at least k of them
    (k = 1..length)."""
    completed = [chain_completed(r) for r in rows]
    n = len(completed)
    at = {
        str(k): round(sum(c >= k for c in completed) / n, 4) if n else 0.0
        for k in range(1, length + 1)
    }
    return {
        "episodes": n,
        "avg_len": round(sum(completed) / n, 4) if n else 0.0,
        "success_at": at,
    }


def split_table(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Success per (family, split), and per split over all families ("all")."""
    from robot_llm.bench.splits import SPLITS

    present = {str(r["split"]) for r in rows}
    splits = [s for s in SPLITS if s in present] + sorted(present - set(SPLITS))
    out = []
    for family in [*families_in_order(rows), "all"]:
        for split in splits:
            mine = [r for r in rows if r["split"] == split and family in ("all", r["family"])]
            if mine:
                out.append({"family": family, "split": split, **success_stats(mine)})
    return out


def throughput(invocations: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Episodes per minute: of the latest invocation that ran episodes, and over all of them
    (episodes run / wall time of the episode phase, start of the pool to the last result)."""
    ran = [i for i in invocations if i.get("episodes_run", 0) > 0 and i.get("wall_s", 0) > 0]
    total_n = sum(int(i["episodes_run"]) for i in ran)
    total_s = sum(float(i["wall_s"]) for i in ran)
    latest = ran[-1] if ran else None
    return {
        "invocations": len(invocations),
        "episodes_run": total_n,
        "wall_s": round(total_s, 3),
        "episodes_per_min": round(60 * total_n / total_s, 3) if total_s else 0.0,
        "latest": latest,
    }


def families_in_order(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Families in the suite's task order (`robot_llm.envs.tasks.TASKS`), others after."""
    from robot_llm.envs.tasks import TASKS

    present = {str(r["family"]) for r in rows}
    return [f for f in TASKS if f in present] + sorted(present - set(TASKS))


def summarize(
    rows: Sequence[dict[str, Any]], invocations: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Every metric of a run as one JSON-ready dict (the body of report.json)."""
    families = [
        family_summary(f, [r for r in rows if r["family"] == f]) for f in families_in_order(rows)
    ]
    single = [r for r in rows if r["family"] != "Chain"]
    chains = [r for r in rows if r["family"] == "Chain"]
    out: dict[str, Any] = {
        "episodes": len(rows),
        "families": families,
        "single_instruction": success_stats(single),
        "chain": chain_metrics(chains) if chains else None,
        "splits": split_table(rows) if any(r["split"] != "all" for r in rows) else [],
        "throughput": throughput(invocations),
    }
    return out
