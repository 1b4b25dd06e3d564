"""`robot-llm bench --compare DIR_A DIR_B`: two runs side by side.

Per family: both success rates with their 95% intervals and the difference (camera against
`--perception truth`, clean rendering against `--randomize`, one planner against another); the
CALVIN chain metric of both; and the throughput of both with the ratio B / A (1 worker against
2, local against Ray).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from robot_llm.bench.report import build_report


def _label(report: dict[str, Any], path: Path) -> str:
    latest = report["throughput"].get("latest") or {}
    workers = f", {latest['workers']} {latest['backend']} workers" if latest else ""
    r = report.get("randomize")
    randomized = f", randomized rendering seed {r['seed']}" if r else ""
    return (
        f"{path} (suite {report['suite']}, planner {report['planner']}, policy "
        f"{report['policy']}, perception {report['perception']}{randomized}{workers})"
    )


def _rate(report: dict[str, Any]) -> float:
    latest = report["throughput"].get("latest")
    if not latest:
        return 0.0
    return 60.0 * float(latest["episodes_run"]) / float(latest["wall_s"])


def compare(a: Path, b: Path) -> dict[str, Any]:
    ra, rb = build_report(a), build_report(b)
    fa = {f["family"]: f for f in ra["families"]}
    fb = {f["family"]: f for f in rb["families"]}
    families = [f for f in fa if f in fb] + [f for f in fa if f not in fb]
    families += [f for f in fb if f not in fa]
    rows = []
    for name in families:
        x, y = fa.get(name), fb.get(name)
        row: dict[str, Any] = {"family": name, "a": _brief(x), "b": _brief(y)}
        if x and y:
            row["difference"] = round(y["success_rate"] - x["success_rate"], 4)
        rows.append(row)
    rate_a, rate_b = _rate(ra), _rate(rb)
    notes = []
    if ra["suite"] != rb["suite"] or ra["episodes"] != rb["episodes"]:
        notes.append(
            f"the runs hold different episodes ({ra['suite']}: {ra['episodes']}, "
            f"{rb['suite']}: {rb['episodes']}): their throughputs are not comparable"
        )
    return {
        "notes": notes,
        "a": {"dir": str(a), "label": _label(ra, a), "episodes_per_min": round(rate_a, 3)},
        "b": {"dir": str(b), "label": _label(rb, b), "episodes_per_min": round(rate_b, 3)},
        "families": rows,
        "chain": {"a": ra["chain"], "b": rb["chain"]},
        "throughput_ratio": round(rate_b / rate_a, 3) if rate_a else None,
    }


def _brief(f: dict[str, Any] | None) -> dict[str, Any] | None:
    if f is None:
        return None
    keys = ("episodes", "successes", "success_rate", "ci95", "progress_mean", "wall_s_mean")
    return {k: f[k] for k in keys}


def _cell(f: dict[str, Any] | None) -> str:
    if f is None:
        return "-"
    low, high = f["ci95"]
    return f"{100 * f['success_rate']:.1f}% [{100 * low:.1f}, {100 * high:.1f}] (n={f['episodes']})"


def compare_markdown(c: dict[str, Any]) -> str:
    lines = [
        "# Benchmark comparison",
        "",
        f"- A: {c['a']['label']}",
        f"- B: {c['b']['label']}",
        "",
        "| family | A success [95% CI] | B success [95% CI] | B - A |",
        "|---|---|---|---|",
    ]
    for r in c["families"]:
        diff = f"{100 * r['difference']:+.1f} pts" if "difference" in r else "-"
        lines.append(f"| {r['family']} | {_cell(r['a'])} | {_cell(r['b'])} | {diff} |")
    ca, cb = c["chain"]["a"], c["chain"]["b"]
    if ca or cb:
        avg_a = f"{ca['avg_len']:.2f}" if ca else "-"
        avg_b = f"{cb['avg_len']:.2f}" if cb else "-"
        lines += ["", f"Chain, average instructions completed in a row: A {avg_a}, B {avg_b}."]
    ratio = c["throughput_ratio"]
    lines += [
        "",
        f"Throughput: A {c['a']['episodes_per_min']:.2f} episodes/min, B "
        f"{c['b']['episodes_per_min']:.2f} episodes/min"
        + (f"; B / A = {ratio:.2f}x." if ratio else "."),
    ]
    lines += [f"Note: {n}." for n in c["notes"]]
    return "\n".join(lines) + "\n"
