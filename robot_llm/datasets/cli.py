"""`robot-llm record` and `robot-llm dataset check` (docs/datasets.md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from robot_llm.errors import BAD_INPUT, OK

DEFAULT_IMAGE_SIZE = "320x240"


def _image_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 320x240") from None
    return w, h


def add_record_parser(sub: Any) -> None:
    p = sub.add_parser(
        "record",
        help="record seeded episodes (oracle or scripted skills) as a LeRobot v3.0 dataset",
    )
    p.add_argument("--task", help="task id, e.g. robot_llm/PickPlace-v0 (or PickPlace)")
    p.add_argument("--scene", metavar="FILE", help="scene file (with --command; scripted only)")
    p.add_argument("--command", metavar="TEXT", help="the instruction to record on --scene")
    p.add_argument(
        "--drill",
        metavar="NAME",
        help="a skill drill instead of a task: place (a block of any size onto a block, into a "
        "bowl or zone) or push (a block to a point); scripted only",
    )
    p.add_argument(
        "--source",
        choices=("oracle", "scripted", "operator"),
        default="oracle",
        help="oracle: the privileged expert on the gym env (default); scripted: the "
        "rule planner and scripted skills through the executor, camera perception; "
        "operator: the same stack running commands typed at a prompt (an empty line ends "
        "an episode)",
    )
    p.add_argument("--episodes", type=int, required=True, metavar="N")
    p.add_argument("--out", required=True, metavar="DIR", help="dataset folder (new or empty)")
    p.add_argument("--seed", type=int, default=0, help="episode i has seed SEED + i (default 0)")
    p.add_argument("--workers", type=int, default=1, metavar="K", help="worker processes")
    p.add_argument(
        "--image-size",
        type=_image_size,
        default=DEFAULT_IMAGE_SIZE,
        metavar="WxH",
        help=f"both cameras' image size (default {DEFAULT_IMAGE_SIZE})",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted recording in DIR (same options)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(handler=cmd_record)


def add_dataset_parser(sub: Any) -> None:
    dataset = sub.add_parser("dataset", help="check a recorded dataset (LeRobot v3.0)")
    dataset_sub = dataset.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)
    p = dataset_sub.add_parser(
        "check", help="validate a dataset folder against the format, one line per problem"
    )
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=cmd_check)


def cmd_record(args: argparse.Namespace) -> int:
    from robot_llm.datasets.episodes import RecordConfig
    from robot_llm.datasets.recording import record
    from robot_llm.datasets.staging import staged

    width, height = args.image_size
    config = RecordConfig(
        task=args.task,
        scene=args.scene,
        command=args.command,
        drill=args.drill,
        source=args.source,
        seed=args.seed,
        width=width,
        height=height,
    )
    out = Path(args.out)

    def progress(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    try:
        result = record(out, config, args.episodes, args.workers, args.resume, progress)
    except KeyboardInterrupt:
        print(
            f"record: interrupted with {len(staged(out))} episodes staged in {out}; "
            "continue with the same command and --resume",
            file=sys.stderr,
        )
        raise
    summary: dict[str, Any] = {
        "out": str(result.out),
        "episodes": result.episodes,
        "frames": result.frames,
        "succeeded": result.succeeded,
        "recorded_now": result.recorded_now,
        "skipped": list(result.skipped),
        "wall_seconds": result.wall_seconds,
        "size_bytes": sum(f.stat().st_size for f in out.rglob("*") if f.is_file()),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{out}: {result.episodes} episodes ({result.succeeded} succeeded), "
            f"{result.frames} frames, {summary['size_bytes'] / 1e6:.1f} MB"
        )
    return OK


def cmd_check(args: argparse.Namespace) -> int:
    from robot_llm.datasets.check import check_dataset

    problems = check_dataset(args.dir)
    if args.json:
        print(json.dumps({"dir": args.dir, "valid": not problems, "problems": problems}))
    for line in problems:
        print(f"robot-llm: error: {line}", file=sys.stderr)
    if problems:
        return BAD_INPUT
    if not args.json:
        from robot_llm.datasets.reader import open_dataset

        ds = open_dataset(args.dir)
        print(
            f"{args.dir}: LeRobot {ds.info['codebase_version']} dataset: "
            f"{len(ds.episodes)} episodes, {len(ds)} frames, {len(ds.tasks)} tasks, "
            f"{ds.fps} fps, cameras {', '.join(ds.video_keys)}"
        )
    return OK
