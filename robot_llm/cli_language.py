"""`robot-llm plan` and `robot-llm run`: a typed command to a plan, and to motion in simulation.

The scene comes from a scene file or a seeded task; the planner sees what the camera perceives
(ids associated to the scene file's ids), never the simulator's state.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from robot_llm.config import ExecutorSettings, PlannerConfig, RobotConfig, StackConfig
from robot_llm.errors import CLARIFY, FAILED, OK, REFUSED
from robot_llm.session import Session, SessionInputError, describe, open_session
from robot_llm.turn import TurnResult

CommandInputError = SessionInputError  # bad command-line input: one line, exit code 2


def stack_from_args(args: argparse.Namespace) -> StackConfig:
    """The stack the shared options name (run, plan, repl, listen)."""
    return StackConfig(
        robot=RobotConfig(
            scene=args.scene,
            task=args.task,
            seed=args.seed,
            robot=getattr(args, "robot", None),
            curve_keys=getattr(args, "curve_keys", None),
            randomize=getattr(args, "randomize", None),
            randomize_strength=getattr(args, "randomize_strength", 1.0),
            camera=getattr(args, "camera", None),
            camera_calibration=getattr(args, "camera_calibration", None),
        ),
        perception=getattr(args, "perception", "camera"),
        planner=PlannerConfig(args.planner, planner_options(args)),
        executor=ExecutorSettings(policy=getattr(args, "policy", "scripted")),
    )


def open_from_args(
    args: argparse.Namespace,
    *,
    on_event: Callable[[str], None] | None = None,
    video: str | None = None,
    log: str | None = None,
) -> Session:
    """The session the command line asks for (scene or task, robot, planner, policy)."""
    config = stack_from_args(args)
    address = config.robot.address
    return open_session(
        config,
        on_link=lambda state: print(f"[link] {address}: {state}", file=sys.stderr),
        on_event=on_event,
        video=video,
        log=log,
    )


def wants_confirmation(args: argparse.Namespace) -> bool:
    """--confirm / --no-confirm, else on for a robot behind a bridge and off in simulation."""
    confirm = getattr(args, "confirm", None)
    if confirm is not None:
        return bool(confirm)
    return RobotConfig(robot=getattr(args, "robot", None)).address is not None


def ask_on_terminal(plan: Any, show: bool = True) -> bool:
    """Read y/yes from stdin (prompts on stderr; the plan too with `show`); anything else
    declines."""
    if show:
        print(describe(plan), file=sys.stderr)
    print("Run this plan on the robot? [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def _command_text(args: argparse.Namespace, session: Session) -> str:
    if args.text:
        return str(args.text)
    if session.task is not None:
        return str(session.task.instruction)
    raise CommandInputError('give a command, e.g. "put the red block in the green bowl"')


def _progress(args: argparse.Namespace, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr)


def exit_code(status: str) -> int:
    return {
        "planned": OK,
        "done": OK,
        "clarify": CLARIFY,
        "refused": REFUSED,
    }.get(status, FAILED)


def cmd_plan(args: argparse.Namespace) -> int:
    session = open_from_args(args)
    try:
        command = _command_text(args, session)
        result, scene, timings = session.plan(command)
    finally:
        session.close()
    turn = TurnResult.planned(command, session.source, result, scene, timings)
    if args.json:
        print(json.dumps(turn.to_dict()))
    else:
        print(describe(result))
    return exit_code(turn.status)


def cmd_run(args: argparse.Namespace) -> int:
    for path in (args.video, args.log):
        if path and not Path(path).resolve().parent.is_dir():
            raise CommandInputError(f"{path}: folder {Path(path).resolve().parent} is missing")
    session = open_from_args(
        args, video=args.video, log=args.log, on_event=lambda m: _progress(args, m)
    )
    if wants_confirmation(args):  # the plan is already on stderr unless --quiet
        session.confirm = lambda plan: ask_on_terminal(plan, show=bool(args.quiet))
    try:
        command = _command_text(args, session)
        previous = signal.signal(signal.SIGINT, lambda *_: session.stop())
        try:
            turn = session.turn(command)
        finally:
            signal.signal(signal.SIGINT, previous)
    finally:
        session.close()
    if args.json:
        print(json.dumps(turn.to_dict()))
    else:
        tail = f": {turn.reason}" if turn.reason else ""
        print(f"{turn.status}{tail}")
    return exit_code(turn.status)


def add_perception_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--perception",
        choices=("camera", "truth"),
        default="camera",
        help="camera: perceive rendered RGB-D (default); truth: simulator poses (ablation)",
    )


def add_randomize_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--randomize",
        type=int,
        metavar="SEED",
        help="randomized rendering in simulation: lights, table texture and camera noise, "
        "exposure, blur, JPEG and depth noise drawn per episode from SEED (docs/perception.md)",
    )
    p.add_argument(
        "--randomize-strength",
        type=float,
        default=1.0,
        metavar="S",
        help="how far --randomize departs from the clean render: 0 none, 1 a real camera in an "
        "ordinary room (default)",
    )


def add_camera_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--camera",
        metavar="SPEC",
        help="a real or recorded camera for the main view: uvc:0, realsense, folder:PATH, "
        "video:PATH (docs/cameras.md)",
    )
    p.add_argument(
        "--camera-calibration",
        metavar="FILE",
        help="the --camera's calibration file (robot-llm camera calibrate-extrinsics)",
    )


def add_planner_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--planner",
        default="rule",
        help=(
            "planner backend: rule (default), distilled (the rules, then the distilled student), "
            "learned (the student alone), transformers, openai, hybrid (docs/llm-planners.md)"
        ),
    )
    p.add_argument("--model", metavar="PATH|NAME", help="the language model of the planner backend")
    add_policy_argument(p)
    p.add_argument(
        "--planner-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="another planner backend option (repeatable), e.g. base_url=http://HOST:PORT/v1",
    )


def add_policy_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--policy",
        default="scripted",
        metavar="NAME",
        help="the skills the executor runs: scripted (default), a registered policy or "
        "module:function (docs/skills.md)",
    )


def planner_options(args: argparse.Namespace) -> dict[str, Any]:
    """The backend options of --model and --planner-option KEY=VALUE."""
    items = getattr(args, "planner_option", None) or []
    return parse_planner_options(items, getattr(args, "model", None), "--planner-option")


def parse_planner_options(
    items: Sequence[str], model: str | None, flag: str = "--planner-option"
) -> dict[str, Any]:
    """KEY=VALUE items (and the model, when given) as a planner backend's options."""
    options: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CommandInputError(f"{flag} {item!r} must be KEY=VALUE")
        options[key.strip()] = value
    if model is not None:
        options["model"] = model
    return options


def add_robot_arguments(p: argparse.ArgumentParser, task_help: str) -> None:
    """The arm and its table: a scene file or a seeded task, a simulated robot or a bridge."""
    p.add_argument("--scene", metavar="FILE", help="scene file (.yaml or .json)")
    p.add_argument("--task", metavar="ID", help=task_help)
    p.add_argument("--seed", type=int, default=0, help="task seed (with --task)")
    p.add_argument(
        "--robot",
        metavar="NAME|ADDRESS",
        help="a simulated robot by name (panda, the default; kuka_iiwa, xarm6, so101), or the arm "
        "behind a bridge server (tcp://HOST:PORT), whose objects --scene then only names",
    )
    p.add_argument("--curve-keys", metavar="DIR", help="CURVE key folder for --robot")
    add_camera_arguments(p)


def add_scene_arguments(p: argparse.ArgumentParser, command: bool = True) -> None:
    add_robot_arguments(p, "a task id; the command defaults to its instruction")
    add_planner_arguments(p)
    p.add_argument(
        "--confirm",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show each plan and wait for 'y' before it moves the arm (default: on with "
        "--robot, off in simulation)",
    )
    add_perception_argument(p)
    add_randomize_arguments(p)
    once = "one JSON object" if command else "one JSON object per command (JSON lines)"
    p.add_argument("--json", action="store_true", help=f"print {once} on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    if command:
        p.add_argument("text", nargs="?", metavar="COMMAND", help="what to do, in plain English")
