"""`robot-llm launch NAME|FILE`: start a whole stack of processes from one launch file.

Exit codes: 0 the stack stopped cleanly (or --check / --list), 1 a required process failed,
2 bad input: a bad launch file, name or --set, reported as one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from robot_llm.errors import BAD_INPUT, InputError, first_line
from robot_llm.launcher.spec import (
    LaunchFileError,
    bundled_launch_files,
    find_launch_file,
    load_launch_file,
)


def add_launch_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `launch` subcommand to an argparse subparsers object; its handler is `cmd_launch`."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "launch",
        help="start a whole stack (bridge, operator REPL, ...) from a launch file",
        description="Start the processes a launch file declares (docs/launch.md), in dependency "
        "order, and stop them all cleanly on Ctrl-C, SIGTERM or when the operator quits.",
    )
    add_launch_arguments(parser)
    parser.set_defaults(handler=cmd_launch)
    return parser


def add_launch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        nargs="?",
        metavar="NAME|FILE",
        help="a bundled launch file by name (see --list), or a launch file's path",
    )
    parser.add_argument(
        "--set",
        dest="set_vars",
        action="append",
        default=[],
        metavar="VAR=VALUE",
        help="give a variable of the launch file a value (repeatable)",
    )
    parser.add_argument(
        "--check", action="store_true", help="validate and print the process plan; start nothing"
    )
    parser.add_argument("--list", action="store_true", help="list the bundled launch files")
    parser.add_argument(
        "--json", action="store_true", help="with --list or --check: print one JSON object"
    )


def parse_sets(items: Sequence[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise LaunchFileError(f"--set {item!r}: expected VAR=VALUE")
        values[name] = value
    return values


def cmd_launch(args: argparse.Namespace) -> int:
    """Run `launch` for parsed arguments; bad input raises LaunchFileError (a ValueError)."""
    if args.list:
        return _list(args.json)
    if not args.target:
        raise LaunchFileError("name a launch file (robot-llm launch --list shows the bundled ones)")
    spec = load_launch_file(find_launch_file(args.target), parse_sets(args.set_vars))
    if args.check:
        from robot_llm.launcher.plan import plan_dict, plan_lines

        if args.json:
            print(json.dumps(plan_dict(spec)))
        else:
            print("\n".join(plan_lines(spec)))
        return 0
    if args.json:
        raise LaunchFileError("--json goes with --list or --check")
    from robot_llm.launcher.runner import run_launch

    return run_launch(spec)


def _list(as_json: bool) -> int:
    rows = []
    for name, path in sorted(bundled_launch_files().items()):
        try:
            description = load_launch_file(path).description
        except LaunchFileError as err:  # still list it, with what is wrong
            description = f"(invalid: {err})"
        rows.append({"name": name, "file": str(path), "description": description})
    if as_json:
        print(json.dumps({"launch_files": rows}))
    else:
        width = max((len(r["name"]) for r in rows), default=0)
        for r in rows:
            print(f"{r['name']:<{width}}  {r['description']}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`robot-llm launch` on its own: `python -m robot_llm.launcher sim --check`."""
    parser = argparse.ArgumentParser(
        prog="robot-llm launch",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_launch_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return cmd_launch(args)
    except InputError as err:
        print(f"robot-llm launch: error: {first_line(err)}", file=sys.stderr)
        return BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
