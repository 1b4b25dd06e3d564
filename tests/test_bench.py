"""The benchmark runner: suites and their errors, splits, metrics, and real short runs (resume
after a kill, determinism, report numbers, a failure video, Ray against local workers)."""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from robot_llm.bench import (
    EpisodeSpec,
    Holdout,
    RunRequest,
    StackConfig,
    SuiteError,
    chain_metrics,
    episode_features,
    load_suite,
    parse_suite,
    run_episode,
    run_suite,
    split_of,
    wilson,
)
from robot_llm.bench.cli import add_bench_parser, cmd_bench, main
from robot_llm.bench.compare import compare
from robot_llm.bench.progress import Progress
from robot_llm.bench.report import write_report
from robot_llm.bench.runner import read_rows
from robot_llm.bench.splits import select_seeds, template_index
from robot_llm.bench.video import read_frames
from robot_llm.envs.tasks import TASKS
from robot_llm.envs.tasks.push import NEXT_TO_TEMPLATES, REGION_TEMPLATES
from robot_llm.policies.registry import PolicyError, get_policy

BENCH = [sys.executable, "-m", "robot_llm.bench"]
# Two Push episodes, and one PickPlace cut off after 40 control periods: an honest failure
# (the step limit is far below what a pick and place takes), so that a video is recorded.
TINY = """\
name: tiny
episodes: 2
videos: 1
tasks:
  - Push
  - task: PickPlace
    name: pickplace-cut
    episodes: 1
    options: {max_steps: 40}
"""


# -- suites ---------------------------------------------------------------------------------
def test_bundled_suites_parse() -> None:
    quick = load_suite("quick")
    assert [e.family for e in quick.entries] == list(TASKS)
    assert {e.episodes for e in quick.entries if e.family != "Chain"} == {3}
    standard = load_suite("standard")
    assert {e.family for e in standard.entries} == set(TASKS)
    assert {e.episodes for e in standard.entries} == {100}
    gen = load_suite("generalization")
    assert all("seen" in e.splits and not e.holdout.empty for e in gen.entries)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("episode: 3\ntasks: [Push]\n", "bad.yaml:1: episode: unknown key"),
        (
            "tasks:\n  - Push\n  - task: Juggle\n",
            "bad.yaml:3: tasks[1].task: unknown task 'Juggle'",
        ),
        (
            "tasks:\n  - task: Push\n    episodes: three\n",
            "bad.yaml:3: tasks[0].episodes: expected an integer",
        ),
        (
            "tasks:\n  - task: Push\n    options: {max_steps: 0}\n",
            "bad.yaml:3: tasks[0].options.max_steps: must be at least 1",
        ),
        (
            "holdout: {colors: [teal]}\ntasks: [Push]\n",
            "bad.yaml:1: holdout.colors[0]: unknown 'teal'",
        ),
        (
            "tasks:\n  - task: Push\n    splits: [seen]\n",
            "bad.yaml:3: tasks[0].splits: splits need a holdout",
        ),
        ("tasks: [Push, Push]\n", "bad.yaml:1: tasks[1].name: 'Push' is used twice"),
        (
            "holdout: {templates: [9]}\ntasks:\n  - {task: Push, splits: [seen]}\n",
            "tasks[0].holdout.templates: a template index is out of range",
        ),
        ("name: x\n", "bad.yaml:1: tasks: missing"),
        ("tasks: [Push\n", "bad.yaml:2: not valid YAML"),
    ],
)
def test_suite_errors_name_file_line_and_field(text: str, expected: str) -> None:
    with pytest.raises(SuiteError) as err:
        parse_suite(text, "bad.yaml")
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_suite_on_the_command_line_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("tasks:\n  - task: Push\n    seed: -1\n")
    assert main(["--suite", str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"robot-llm bench: error: {bad}:3: tasks[0].seed: must be at least 0, got -1"]
    assert main(["--suite", "no-such-suite"]) == 2
    assert "unknown suite 'no-such-suite'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_parser_wires_into_a_subcommand_tree(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="robot-llm")
    add_bench_parser(parser.add_subparsers())
    args = parser.parse_args(["bench", "--list"])
    assert args.handler is cmd_bench
    assert args.handler(args) == 0
    assert "quick" in capsys.readouterr().out


def test_policy_registry() -> None:
    assert callable(get_policy("scripted"))
    assert callable(get_policy("robot_llm.policies.scripted:scripted_skills"))
    assert callable(get_policy("learned"))  # the shipped learned skills (docs/policies.md)
    with pytest.raises(PolicyError, match="unknown policy 'dreamed'"):
        get_policy("dreamed")


# -- splits ---------------------------------------------------------------------------------
def test_every_instruction_maps_to_its_template() -> None:
    for family, cls in TASKS.items():
        for seed in range(3 if family == "Chain" else 15):
            features = episode_features(family, seed)
            assert min(features.templates) >= 0, (family, seed, features.instructions)
            for i, text in zip(features.templates, features.instructions, strict=True):
                assert cls.templates[i].split("{")[0] in text
    # Both Push next-to templates match this text; the one with more literal text wins.
    text = "push the red block next to the blue one"
    assert template_index(REGION_TEMPLATES + NEXT_TO_TEMPLATES, text) == len(REGION_TEMPLATES) + 1


def test_selected_seeds_fall_in_their_split() -> None:
    holdout = Holdout(colors=("cyan",), block_counts=(5,), templates=(-1,))
    n = len(TASKS["Push"].templates)
    seen = select_seeds("Push", "seen", holdout, 0, 4)
    color = select_seeds("Push", "unseen_color", holdout, 0, 4)
    assert len(seen) == len(color) == 4 and not set(seen) & set(color)
    for seed in seen:
        f = episode_features("Push", seed)
        assert "cyan" not in f.colors and f.blocks != 5 and n - 1 not in f.templates
    for seed in color:
        f = episode_features("Push", seed)
        assert "cyan" in f.colors and split_of(f, holdout, n) == "unseen_color"


# -- metrics --------------------------------------------------------------------------------
def test_wilson_interval() -> None:
    low, high = wilson(95, 100)
    assert low == pytest.approx(0.8882, abs=1e-3) and high == pytest.approx(0.9785, abs=1e-3)
    assert wilson(0, 0) == (0.0, 1.0)
    assert wilson(10, 10)[1] == 1.0


def test_chain_metrics_on_synthetic_rows() -> None:
    rows: list[dict[str, Any]] = [{"chain": {"completed": c, "length": 5}} for c in (5, 5, 3, 0, 1)]
    rows.append({"status": "error"})  # a crashed chain counts as 0 completed
    m = chain_metrics(rows)
    assert m["episodes"] == 6
    assert m["avg_len"] == pytest.approx(14 / 6, abs=1e-4)
    assert m["success_at"] == {
        "1": round(4 / 6, 4),
        "2": round(3 / 6, 4),
        "3": round(3 / 6, 4),
        "4": round(2 / 6, 4),
        "5": round(2 / 6, 4),
    }


def _synthetic_run(out: Path, successes: list[bool], invocations: list[dict[str, Any]]) -> None:
    out.mkdir()
    episodes = [
        {"key": f"Push/{i}", "entry": "Push", "family": "Push", "seed": i, "split": "all"}
        for i in range(len(successes))
    ]
    identity = {"suite": {"name": "s"}, "planner": "rule", "policy": "scripted"}
    run = {"identity": {**identity, "perception": "camera"}, "episodes": episodes}
    (out / "run.json").write_text(json.dumps(run))
    rows = [
        {
            **e,
            "success": ok,
            "status": "done" if ok else "failed",
            "progress": float(ok),
            "steps": 100,
            "sim_s": 4.0,
            "reason": None if ok else "dropped",
            "timings": {"wall_s": 3.0, "perception_s": 1.0, "planner_s": 0.1, "executor_s": 1.5},
        }
        for e, ok in zip(episodes, successes, strict=True)
    ]
    (out / "episodes.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (out / "invocations.jsonl").write_text("".join(json.dumps(i) + "\n" for i in invocations))


def test_report_throughput_and_compare_on_synthetic_runs(tmp_path: Path) -> None:
    one = {"backend": "local", "workers": 1, "episodes_run": 4, "wall_s": 120.0}
    two = {"backend": "local", "workers": 2, "episodes_run": 4, "wall_s": 64.0}
    _synthetic_run(tmp_path / "a", [True, True, False, True], [one])
    _synthetic_run(tmp_path / "b", [True, True, True, True], [two])
    report = write_report(tmp_path / "a")
    (push,) = report["families"]
    assert (push["episodes"], push["successes"], push["failed_seeds"]) == (4, 3, [2])
    assert push["ci95"] == [round(v, 4) for v in wilson(3, 4)]
    assert push["failures"] == [["dropped", 1]]
    assert report["throughput"]["episodes_per_min"] == pytest.approx(2.0)
    assert "**2.00 episodes/min**" in (tmp_path / "a" / "report.md").read_text()
    c = compare(tmp_path / "a", tmp_path / "b")
    assert c["families"][0]["difference"] == pytest.approx(0.25)
    assert c["throughput_ratio"] == pytest.approx(120 / 64, abs=1e-3)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_lines_otherwise() -> None:
    rows = [
        {"key": "Push/0", "family": "Push", "success": True, "timings": {"wall_s": 2.0}},
        {"key": "Stack/0", "family": "Stack", "success": False, "status": "failed"},
    ]
    plain = io.StringIO()
    progress = Progress(3, 0, plain, pending=["Push", "Stack", "Stack"])
    for row in rows:
        progress.update(row)
    lines = plain.getvalue().splitlines()
    assert lines[0].startswith("[1/3  33% eta ") and lines[0].endswith("Push/0: ok 2.0 s")
    assert lines[1].endswith("Stack/0: FAIL (failed)")
    tty = _Terminal()
    progress = Progress(2, 0, tty)
    progress.update(rows[0])
    assert tty.getvalue().startswith("\r############............ [1/2  50% eta ")
    assert "\n" not in tty.getvalue()


def test_a_row_cut_short_by_a_kill_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "episodes.jsonl"
    path.write_text('{"key": "a"}\n{"key": "b"}\n{"key": "c", "succ')
    assert [r["key"] for r in read_rows(path, repair=True)] == ["a", "b"]
    assert path.read_text() == '{"key": "a"}\n{"key": "b"}\n'


# -- real runs ------------------------------------------------------------------------------
def _rows(out: Path) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in read_rows(out / "episodes.jsonl")}


def _outcome(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["status"], row["success"], json.dumps(row["plan"]), row["steps"], row["progress"])


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The tiny suite with one worker, killed (whole process group) after its first episode,
    then run again with the same arguments to the end."""
    root = tmp_path_factory.mktemp("bench")
    suite = root / "tiny.yaml"
    suite.write_text(TINY)
    out = root / "run"
    cmd = [*BENCH, "--suite", str(suite), "--workers", "1", "--out", str(out)]
    first = subprocess.Popen(cmd, start_new_session=True, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline and not read_rows(out / "episodes.jsonl"):
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    before = _rows(out)
    assert before, "the first run wrote no episode before the deadline"
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert second.returncode == 0, second.stderr[-2000:]
    return {"out": out, "suite": suite, "before": before, "stderr": second.stderr}


def test_resume_after_a_kill_repeats_no_episode(tiny_run: dict[str, Any]) -> None:
    out: Path = tiny_run["out"]
    keys = [r["key"] for r in read_rows(out / "episodes.jsonl")]
    assert sorted(keys) == ["Push/0", "Push/1", "pickplace-cut/0"]
    assert len(keys) == len(set(keys))
    for key, row in tiny_run["before"].items():
        assert _rows(out)[key] == row  # kept, not run again
    assert "already done; resuming" in tiny_run["stderr"]
    report = json.loads((out / "report.json").read_text())
    assert report["episodes"] == report["planned"] == 3
    latest = report["throughput"]["latest"]
    assert latest["episodes_run"] == 3 - len(tiny_run["before"])
    assert report["throughput"]["episodes_per_min"] > 0


def test_report_numbers_match_the_episode_rows(tiny_run: dict[str, Any]) -> None:
    out: Path = tiny_run["out"]
    rows = list(_rows(out).values())
    report = json.loads((out / "report.json").read_text())
    for fam in report["families"]:
        mine = [r for r in rows if r["family"] == fam["family"]]
        wins = sum(r["success"] for r in mine)
        assert (fam["episodes"], fam["successes"]) == (len(mine), wins)
        assert fam["ci95"] == [round(v, 4) for v in wilson(wins, len(mine))]
        assert fam["steps_mean"] == pytest.approx(sum(r["steps"] for r in mine) / len(mine))
    by_family = {f["family"]: f for f in report["families"]}
    assert by_family["Push"]["successes"] == 2
    assert by_family["PickPlace"]["statuses"] == {"truncated": 1}
    for name in ("report.md", "success.png", "time.png"):
        assert (out / name).stat().st_size > 0
    assert "| Push | 2 | 100.0% |" in (out / "report.md").read_text()


def test_failed_episode_gets_a_captioned_video(tiny_run: dict[str, Any]) -> None:
    out: Path = tiny_run["out"]
    (video,) = read_rows(out / "videos.jsonl")
    assert video["key"] == "pickplace-cut/0"
    assert (video["status"], video["success"]) == ("truncated", False)  # reproduced
    frames, fps = read_frames(out / video["video"])
    assert fps > 0 and len(frames) > 5
    assert frames[0].mean() < 60  # the title card: instruction and plan on a dark frame
    assert frames[-1].mean() > 100  # the camera


def test_the_same_episode_twice_gives_the_same_result(tiny_run: dict[str, Any]) -> None:
    recorded = _rows(tiny_run["out"])["Push/1"]
    again = run_episode(EpisodeSpec("Push/1", "Push", "Push", 1), StackConfig())
    assert _outcome(again) == _outcome(recorded)


def test_other_arguments_into_the_same_folder_are_refused(
    tiny_run: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--suite", str(tiny_run["suite"]), "--out", str(tiny_run["out"])]
    assert main([*args, "--perception", "truth"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "holds a run with other arguments (perception" in line


def test_ray_gives_the_same_results_as_local_workers(
    tiny_run: dict[str, Any], tmp_path: Path
) -> None:
    ray = pytest.importorskip("ray", reason="the Ray test needs the ray extra")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        with open(os.devnull, "w") as sink:
            request = RunRequest(
                load_suite(str(tiny_run["suite"])).with_overrides(episodes=1),
                StackConfig(),
                tmp_path / "ray",
                workers=2,
                ray="local",
                videos=0,
                report=False,
                stream=sink,
            )
            run_suite(request)
    finally:
        ray.shutdown()
    local, remote = _rows(tiny_run["out"]), _rows(tmp_path / "ray")
    assert set(remote) == {"Push/0", "pickplace-cut/0"}
    for key in remote:
        assert _outcome(remote[key]) == _outcome(local[key]), key
    (invocation,) = read_rows(tmp_path / "ray" / "invocations.jsonl")
    assert invocation["backend"] == "ray" and invocation["workers"] == 2


@pytest.mark.slow
def test_chain_counts_consecutive_instructions() -> None:
    row = run_episode(EpisodeSpec("Chain/0", "Chain", "Chain", 0), StackConfig())
    completed = row["chain"]["completed"]
    assert 0 <= completed <= 5
    assert len(row["instructions"]) == min(completed + 1, 5)
    assert row["success"] == (completed == 5)
    assert row["progress"] == pytest.approx(completed / 5)
