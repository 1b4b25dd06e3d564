"""`robot-llm bench`: run a benchmark suite through the whole stack and report on it.

    robot-llm bench --suite quick --workers 2 --out out/bench/quick
    robot-llm bench --suite standard --perception truth --out out/bench/standard-truth
    robot-llm bench --suite quick --randomize 1 --out out/bench/quick-randomized
    robot-llm bench --compare out/bench/quick out/bench/quick-truth

Exit codes: 0 the run finished (failed episodes are results, not errors), 1 the backend failed
(a worker died, Ray unreachable), 2 bad input (one line on stderr), 130 interrupted (run the
same command again to resume).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from robot_llm.cli_language import add_perception_argument, add_randomize_arguments
from robot_llm.errors import BAD_INPUT, FAILED, INTERRUPTED, OK, PATH_ERRORS, InputError, first_line

DESCRIPTION = (
    "Run a suite's episodes (camera, perception, planner, executor) in parallel workers or on "
    "Ray, resumably, and write tables, plots and failure videos (docs/bench.md)."
)


def add_bench_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `bench` subcommand to an argparse subparsers object; its handler is `cmd_bench`."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "bench",
        help="run a benchmark suite of seeded task episodes through the whole stack",
        description=DESCRIPTION,
    )
    add_bench_arguments(parser)
    parser.set_defaults(handler=cmd_bench)
    return parser


def add_bench_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--suite", metavar="NAME|FILE", help="a bundled suite (see --list) or a file")
    p.add_argument("--episodes", type=int, metavar="N", help="episodes per task entry and split")
    p.add_argument("--seed", type=int, metavar="S", help="first seed of every task entry")
    p.add_argument("--planner", default="rule", help="planner backend (default: rule)")
    p.add_argument(
        "--policy",
        default="scripted",
        help="skills: scripted (default), learned, learned:DIR or mod:func (docs/policies.md)",
    )
    add_perception_argument(p)
    add_randomize_arguments(p)
    p.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        metavar="K",
        help="worker processes (default: the number of CPUs)",
    )
    p.add_argument(
        "--ray", metavar="ADDRESS", help="run on Ray: 'local' (a private instance) or an address"
    )
    p.add_argument("--out", metavar="DIR", help="run folder (default out/bench/SUITE-PERCEPTION)")
    p.add_argument("--videos", type=int, metavar="N", help="failure videos per family")
    p.add_argument(
        "--report-only", action="store_true", help="rebuild the report of --out; run nothing"
    )
    p.add_argument("--compare", nargs=2, metavar=("DIR_A", "DIR_B"), help="compare two run folders")
    p.add_argument("--list", action="store_true", help="list the bundled suites")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")


def cmd_bench(args: argparse.Namespace) -> int:
    """Run `bench` for parsed arguments; every error is one line on stderr."""
    from robot_llm.bench.backends import BackendError

    try:
        return _bench(args)
    except BackendError as err:
        print(f"robot-llm bench: error: {err}", file=sys.stderr)
        return FAILED
    except (InputError, *PATH_ERRORS) as err:
        print(f"robot-llm bench: error: {first_line(err)}", file=sys.stderr)
        return BAD_INPUT
    except KeyboardInterrupt:
        print("robot-llm bench: interrupted; run the same command to resume", file=sys.stderr)
        return INTERRUPTED


def _bench(args: argparse.Namespace) -> int:
    if args.list:
        return _list(args.json)
    if args.compare:
        from robot_llm.bench.compare import compare, compare_markdown

        result = compare(Path(args.compare[0]), Path(args.compare[1]))
        print(
            json.dumps(result) if args.json else compare_markdown(result),
            end="\n" if args.json else "",
        )
        return OK
    if args.report_only:
        if not args.out:
            raise InputError("--report-only needs --out DIR (a run folder)")
        from robot_llm.bench.report import write_report

        return _print_summary(write_report(Path(args.out)), Path(args.out), args.json)
    if not args.suite:
        raise InputError("name a suite: --suite quick|standard|generalization|FILE (see --list)")
    for name in ("episodes", "workers"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise InputError(f"--{name} must be at least 1, got {value}")
    if args.seed is not None and args.seed < 0:
        raise InputError(f"--seed must be at least 0, got {args.seed}")
    if args.videos is not None and args.videos < 0:
        raise InputError(f"--videos must be at least 0, got {args.videos}")
    from robot_llm.bench.runner import RunRequest, run_suite
    from robot_llm.bench.suite import load_suite
    from robot_llm.config import ExecutorSettings, PlannerConfig, RobotConfig, StackConfig
    from robot_llm.planning import get_planner
    from robot_llm.policies.registry import get_policy

    suite = load_suite(args.suite).with_overrides(args.episodes, args.seed)
    get_planner(args.planner)  # unknown names fail here, before any worker starts
    get_policy(args.policy)
    randomized = "" if args.randomize is None else f"-randomize{args.randomize}"
    out = Path(args.out or f"out/bench/{suite.name}-{args.perception}{randomized}")
    request = RunRequest(
        suite=suite,
        stack=StackConfig(
            robot=RobotConfig(randomize=args.randomize, randomize_strength=args.randomize_strength),
            perception=args.perception,
            planner=PlannerConfig(args.planner),
            executor=ExecutorSettings(policy=args.policy),
        ),
        out=out,
        workers=args.workers,
        ray=args.ray,
        videos=args.videos,
        stream=open(os.devnull, "w") if args.quiet else sys.stderr,  # noqa: SIM115
    )
    try:
        report = run_suite(request)
    finally:
        if args.quiet and request.stream is not None:
            request.stream.close()
    return _print_summary(report, out, args.json)


def _list(as_json: bool) -> int:
    from robot_llm.bench.suite import bundled_suites, load_suite

    suites = {name: load_suite(str(path)) for name, path in sorted(bundled_suites().items())}
    if as_json:
        print(json.dumps({"suites": {n: s.to_dict() for n, s in suites.items()}}))
        return OK
    for name, suite in suites.items():
        n = sum(e.episodes * len(e.splits) for e in suite.entries)
        print(f"{name:16s} about {n} episodes: {suite.description}")
    return OK


def _print_summary(report: dict[str, Any], out: Path, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"out": str(out), **report}))
        return OK
    for f in report["families"]:
        low, high = f["ci95"]
        rate = 100 * f["success_rate"]
        print(
            f"{f['family']:14s} {f['successes']:4d}/{f['episodes']:<4d} {rate:5.1f}%"
            f"  95% CI [{100 * low:5.1f}, {100 * high:5.1f}]  {f['wall_s_mean']:5.1f} s/episode"
        )
    if report.get("chain"):
        print(f"Chain: {report['chain']['avg_len']:.2f} of 5 instructions in a row on average")
    latest = report.get("throughput", {}).get("latest")
    if latest:
        rate = 60 * latest["episodes_run"] / latest["wall_s"]
        print(f"throughput: {rate:.2f} episodes/min on {latest['workers']} workers")
    print(f"report: {out / 'report.md'}")
    return OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="robot-llm bench", description=DESCRIPTION)
    add_bench_arguments(parser)
    return cmd_bench(parser.parse_args(argv))
