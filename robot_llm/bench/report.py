"""The report of a run folder: report.json (every metric), report.md (tables), PNG plots.

Everything is computed from the folder's files (run.json, episodes.jsonl, invocations.jsonl,
videos.jsonl), so a report can be rebuilt at any time, also for a run that is not finished.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from robot_llm.bench.metrics import summarize
from robot_llm.bench.runner import RunDirError, read_rows


def load_run(out: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """run.json's content and the rows of its planned episodes, in plan order."""
    path = out / "run.json"
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise RunDirError(f"{path}: cannot read a run there ({err})") from None
    rows = {r["key"]: r for r in read_rows(out / "episodes.jsonl")}
    planned = [e["key"] for e in run.get("episodes", [])]
    return run, [rows[k] for k in planned if k in rows]


def build_report(out: Path) -> dict[str, Any]:
    run, rows = load_run(out)
    identity = run["identity"]
    report: dict[str, Any] = {
        "suite": identity["suite"]["name"],
        "planner": identity["planner"],
        "policy": identity["policy"],
        "perception": identity["perception"],
        "planned": len(run.get("episodes", [])),
        **summarize(rows, read_rows(out / "invocations.jsonl")),
        "videos": read_rows(out / "videos.jsonl"),
        "notes": run.get("notes", []),
        "plots": [],
    }
    if identity.get("randomize"):  # only when on, so earlier reports keep their keys
        report["randomize"] = identity["randomize"]
    return report


def write_report(out: Path) -> dict[str, Any]:
    """Write report.json, report.md and the plots into `out`; returns the report dict."""
    from robot_llm.bench import plots

    report = build_report(out)
    title = f"{report['suite']} ({report['perception']}{_randomized(report)})"
    if report["families"] and plots.plots_available():
        plots.success_plot(report["families"], out / "success.png", f"success: {title}")
        plots.time_plot(report["families"], out / "time.png", f"time per episode: {title}")
        report["plots"] = ["success.png", "time.png"]
        if report["chain"]:
            plots.chain_plot(report["chain"], out / "chain.png", "Chain")
            report["plots"].append("chain.png")
    elif report["families"]:
        report["notes"].append(
            "plots skipped: matplotlib is missing (pip install 'robot-llm[report]')"
        )
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    (out / "report.md").write_text(markdown(report), encoding="utf-8")
    return report


def _randomized(report: dict[str, Any]) -> str:
    r = report.get("randomize")
    return f", randomized rendering (seed {r['seed']}, strength {r['strength']})" if r else ""


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _ci(ci: list[float]) -> str:
    return f"[{_pct(ci[0])}, {_pct(ci[1])}]"


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Benchmark report: {report['suite']}",
        "",
        f"Stack: planner `{report['planner']}`, policy `{report['policy']}`, perception "
        f"`{report['perception']}`{_randomized(report)}. {report['episodes']} of "
        f"{report['planned']} planned episodes done. Success is the task's own `evaluate()` on "
        "the final object poses.",
        "",
        "## Success per family",
        "",
        "| family | n | success | 95% CI | progress | steps | sim s | wall s | setup s | "
        "perception s | planner s | executor s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for f in report["families"]:
        lines.append(
            f"| {f['family']} | {f['episodes']} | {_pct(f['success_rate'])} | {_ci(f['ci95'])} | "
            f"{f['progress_mean']:.2f} | {f['steps_mean']:.0f} | {f['sim_s_mean']:.1f} | "
            f"{f['wall_s_mean']:.1f} | {f['setup_s_mean']:.2f} | {f['perception_s_mean']:.2f} | "
            f"{f['planner_s_mean']:.3f} | {f['executor_s_mean']:.2f} |"
        )
    single = report["single_instruction"]
    if single["episodes"]:
        lines.append(
            f"| *single-instruction, all* | {single['episodes']} | "
            f"{_pct(single['success_rate'])} | {_ci(single['ci95'])} | | | | | | | | |"
        )
    lines += ["", "Times are means per episode; steps are the executor's control periods.", ""]
    lines += [f"![{p}]({p})" for p in report["plots"]]
    chain = report["chain"]
    if chain:
        at = chain["success_at"]
        lines += [
            "",
            "## Chain: CALVIN metric",
            "",
            f"Average number of consecutive instructions completed: **{chain['avg_len']:.2f} "
            f"of 5** over {chain['episodes']} chains.",
            "",
            "| completed in a row | " + " | ".join(f">= {k}" for k in sorted(at, key=int)) + " |",
            "|---|" + "---|" * len(at),
            "| fraction of chains | " + " | ".join(_pct(at[k]) for k in sorted(at, key=int)) + " |",
        ]
    if report["splits"]:
        lines += ["", "## Generalization splits", "", "| family | split | n | success | 95% CI |"]
        lines.append("|---|---|---|---|---|")
        for s in report["splits"]:
            lines.append(
                f"| {s['family']} | {s['split']} | {s['episodes']} | "
                f"{_pct(s['success_rate'])} | {_ci(s['ci95'])} |"
            )
    lines += _failure_lines(report)
    lines += _throughput_lines(report["throughput"])
    if report["notes"]:
        lines += ["", "## Notes", "", *[f"- {n}" for n in report["notes"]]]
    return "\n".join(lines) + "\n"


def _failure_lines(report: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    failing = [f for f in report["families"] if f["failures"]]
    if failing:
        lines += ["", "## Failures", ""]
        for f in failing:
            seeds = ", ".join(str(s) for s in f["failed_seeds"][:20])
            more = " ..." if len(f["failed_seeds"]) > 20 else ""
            lines.append(f"- **{f['family']}** (seeds {seeds}{more}):")
            lines += [f"  - {n} x {reason}" for reason, n in f["failures"]]
    if report["videos"]:
        lines += ["", "## Failure videos", ""]
        for v in report["videos"]:
            if "error" in v:
                lines.append(f"- {v['key']}: no video ({v['error']})")
                continue
            again = "reproduced the failure" if not v["success"] else "succeeded on the re-run"
            lines.append(f"- [{v['key']}]({v['video']}): re-run {v['status']}, {again}")
    return lines


def _throughput_lines(t: dict[str, Any]) -> list[str]:
    latest = t.get("latest")
    if not latest:
        return []
    return [
        "",
        "## Throughput",
        "",
        f"Latest invocation: {latest['episodes_run']} episodes in {latest['wall_s']:.1f} s on "
        f"{latest['workers']} {latest['backend']} workers: "
        f"**{60 * latest['episodes_run'] / latest['wall_s']:.2f} episodes/min**. All "
        f"invocations of this run ({t['invocations']}): {t['episodes_run']} episodes, "
        f"{t['episodes_per_min']:.2f} episodes/min.",
    ]
