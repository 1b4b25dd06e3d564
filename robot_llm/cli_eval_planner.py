"""`robot-llm eval-planner`: a planner backend over the labelled planner suite.

    robot-llm eval-planner --planner rule
    robot-llm eval-planner --planner transformers --model path/to/model.gguf --limit 40
    robot-llm eval-planner --planner hybrid --categories pick,place --json
    robot-llm eval-planner --planner openai --option base_url=http://127.0.0.1:8080/v1
    robot-llm eval-planner --planner rule --split heldout --n 500 --seed 0
    robot-llm eval-planner --planner rule --data heldout.jsonl --failures

`--split suite` (the default) is the labelled suite; `--split train|heldout` generates that
split of the teacher data in memory (`robot_llm.planning.distill`, docs/distill.md) and
`--data FILE` reads teacher data from a JSONL file; for both, categories are the families.
Reports accuracy per category, the invalid-output rate (must be 0), plans / questions /
refusals, the backend's counters and latency p50 / p99 per planning call. Exit codes: 0 done
with no invalid output, 1 some output was invalid, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from robot_llm.errors import BAD_INPUT, FAILED, OK, PATH_ERRORS, InputError, first_line

DESCRIPTION = (
    "Run a planner backend over the labelled planner suite, or over teacher data (the held-out "
    "wording split), and report accuracy per category, invalid outputs, refusals and latency "
    "(docs/llm-planners.md, docs/distill.md)."
)


def add_eval_planner_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add `eval-planner` to an argparse subparsers object; its handler is `cmd_eval_planner`."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "eval-planner",
        help="measure a planner backend on the labelled planner suite",
        description=DESCRIPTION,
    )
    add_eval_planner_arguments(parser)
    parser.set_defaults(handler=cmd_eval_planner)
    return parser


def add_eval_planner_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--planner", default="rule", help="registered planner name (default: rule)")
    p.add_argument("--model", metavar="PATH|NAME", help="the model option of the backend")
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="another backend option (repeatable), e.g. base_url=..., max_new_tokens=96",
    )
    p.add_argument(
        "--split",
        choices=("suite", "train", "heldout"),
        default="suite",
        help="suite: the labelled suite (default); train / heldout: generated teacher data",
    )
    p.add_argument(
        "--data", metavar="FILE", help="teacher data from a JSONL file (docs/distill.md)"
    )
    p.add_argument(
        "--n", type=int, default=500, metavar="N", help="examples of a generated split (500)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of a generated split (0)")
    p.add_argument(
        "--categories",
        action="append",
        metavar="A,B",
        help="only these categories (comma-separated, repeatable)",
    )
    p.add_argument("--limit", type=int, metavar="N", help="at most N cases, spread over categories")
    p.add_argument("--failures", action="store_true", help="list the failed cases")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def cmd_eval_planner(args: argparse.Namespace) -> int:
    from robot_llm.cli_language import parse_planner_options
    from robot_llm.planning import get_planner
    from robot_llm.planning.llm.evaluate import evaluate_planner, format_summary

    categories = None
    if args.categories:
        categories = [c.strip() for group in args.categories for c in group.split(",") if c.strip()]
    try:
        if args.limit is not None and args.limit < 1:
            raise InputError("--limit must be at least 1")
        options = parse_planner_options(args.option, args.model, "--option")
        planner = get_planner(args.planner, **options)
        if args.data is not None or args.split != "suite":
            report, summary = _evaluate_data(args, planner, categories)
        else:
            report, summary = evaluate_planner(planner, categories, args.limit)
    except (InputError, *PATH_ERRORS) as err:
        print(f"robot-llm eval-planner: error: {first_line(err)}", file=sys.stderr)
        return BAD_INPUT
    if args.json:
        if not args.failures:
            summary.pop("failures", None)
        print(json.dumps(summary))
    else:
        print(format_summary(report, summary, failures=args.failures))
    return FAILED if summary["invalid"] else OK


def _evaluate_data(args: argparse.Namespace, planner: Any, families: list[str] | None) -> Any:
    """Teacher data: a JSONL file (`--data`) or a split generated in memory."""
    from robot_llm.planning.distill.evaluate import evaluate_dataset, load_examples

    if args.data is not None:
        examples = load_examples(args.data)
        source = str(args.data)
    else:
        from robot_llm.planning.distill.generate import generate

        if args.n < 1:
            raise InputError("--n must be at least 1")
        examples = list(generate(args.split, args.n, args.seed))
        source = f"{args.split} n={args.n} seed={args.seed}"
    report, summary = evaluate_dataset(planner, examples, families, args.limit)
    summary["data"] = source
    return report, summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="robot-llm eval-planner", description=DESCRIPTION)
    add_eval_planner_arguments(parser)
    return cmd_eval_planner(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
