"""The `robot-llm` command line.

Heavy modules load inside the subcommands that use them, so `robot-llm --help` is fast.
Exit codes (robot_llm/errors.py): 0 done; 1 the episode, run or check failed (or was stopped),
or a fault (a traceback; one line with --no-traceback); 2 bad input (one line on stderr); 3 the
planner asks a question; 4 refused; 5 speech to repeat; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from robot_llm import __version__
from robot_llm.errors import BAD_INPUT, FAILED, INTERRUPTED, OK, PATH_ERRORS, InputError, first_line


class BadInput(InputError):
    """User input the command cannot use; printed as one line, exit code 2."""


def _cmd_envs(args: argparse.Namespace) -> int:
    from robot_llm.envs import ENV_IDS
    from robot_llm.envs.tasks import TASKS

    rows = [
        {"id": env_id, "max_episode_steps": TASKS[env_id.split("/")[1][:-3]].max_episode_steps}
        for env_id in ENV_IDS
    ]
    if args.json:
        print(json.dumps({"envs": rows}))
    else:
        for r in rows:
            print(f"{r['id']:34s} max_episode_steps={r['max_episode_steps']}")
    return OK


def _resolve_env_id(name: str) -> str:
    from robot_llm.envs import ENV_IDS, env_id

    candidate = name if "/" in name else env_id(name.removesuffix("-v0"))
    if candidate not in ENV_IDS:
        raise BadInput(f"unknown task {name!r}; known: {', '.join(ENV_IDS)}")
    return candidate


def _cmd_episode(args: argparse.Namespace) -> int:
    import gymnasium as gym

    from robot_llm.envs.tabletop_env import TabletopEnv
    from robot_llm.media import caption, write_mp4
    from robot_llm.policies.oracle import Oracle

    env_id = _resolve_env_id(args.task)
    if args.video:
        _check_output_path(args.video)
    t0 = time.perf_counter()
    env = gym.make(env_id, obs_mode="state", camera_size=(640, 480)).unwrapped
    assert isinstance(env, TabletopEnv)
    env.reset(seed=args.seed)
    instruction = env.task.instruction
    _progress(args, f"{env_id} seed {args.seed}: {instruction!r}")
    result = Oracle(env).run(record=bool(args.video))
    evaluation = {k: _jsonable(v) for k, v in env.evaluation.items()}
    out: dict[str, Any] = {
        "task": env_id,
        "seed": args.seed,
        "instruction": instruction,
        "policy": "oracle",
        "status": "done" if result.success else "failed",
        "success": result.success,
        "steps": result.steps,
        "sim_seconds": result.steps / env.control_hz,
        "evaluation": evaluation,
        "wall_seconds": round(time.perf_counter() - t0, 3),
    }
    if args.video:
        frames = [caption(f, env.task.instruction) for f in result.frames]
        path = write_mp4(args.video, frames, fps=env.control_hz)
        out["video"] = str(path)
        _progress(args, f"wrote {path} ({len(frames)} frames)")
    env.close()
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{out['status']}: {instruction!r} in {result.steps} steps")
    return OK if result.success else FAILED


def _cmd_scene_check(args: argparse.Namespace) -> int:
    from robot_llm.tabletop.scene import WORKSPACE, load_scene

    workspace = WORKSPACE
    if args.robot is not None:  # that robot's table: its workspace and reach (tabletop.setups)
        from robot_llm.envs.robots import get_robot
        from robot_llm.tabletop.setups import robot_setup

        get_robot(args.robot)  # an unknown name is one line listing the known ones
        workspace = robot_setup(args.robot).workspace
    scene = load_scene(args.file, workspace=workspace)
    robot = {} if args.robot is None else {"robot": args.robot}
    if args.json:
        print(json.dumps({"file": args.file, "valid": True, **robot, **scene.to_dict()}))
    else:
        fits = f" (within the {args.robot}'s reach)" if args.robot is not None else ""
        print(f"{args.file}: {len(scene)} objects{fits}: {', '.join(scene.ids)}")
    return OK


def _cmd_scene_list(args: argparse.Namespace) -> int:
    from robot_llm.tabletop.scene import bundled_scenes

    scenes = {name: str(path) for name, path in sorted(bundled_scenes().items())}
    if args.json:
        print(json.dumps({"scenes": scenes}))
    else:
        for name, path in scenes.items():
            print(f"{name:20s} {path}")
    return OK


def _cmd_scene_render(args: argparse.Namespace) -> int:
    import cv2

    from robot_llm.envs.world import TabletopWorld
    from robot_llm.tabletop.scene import load_scene

    _check_output_path(args.out)
    scene = load_scene(args.file)
    world = TabletopWorld()
    world.build(scene)
    frame = world.render_main()
    if not cv2.imwrite(args.out, frame.rgb[:, :, ::-1]):
        raise BadInput(f"{args.out}: cannot write an image there")
    world.close()
    print(args.out)
    return OK


def _cmd_execute(args: argparse.Namespace) -> int:
    from robot_llm.execution.plans import check_plan_ids, load_plan
    from robot_llm.tabletop.scene import load_scene

    spec = load_scene(args.scene)
    plan = load_plan(args.plan)
    check_plan_ids(plan, spec.ids, source=args.plan)
    for path in (args.video, args.log):
        if path:
            _check_output_path(path)
    if args.video_every < 1:
        raise BadInput(f"--video-every must be at least 1, got {args.video_every}")

    import signal

    from robot_llm.envs.world import TabletopWorld
    from robot_llm.execution import Event, Executor
    from robot_llm.perception import scene_from_spec
    from robot_llm.robots.sim import SimRobot

    world = TabletopWorld()
    world.build(spec)
    robot = SimRobot(world)
    perceiver: Any
    if args.perception == "truth":
        from robot_llm.perception import TruthPerceiver  # ablation: simulator ground truth

        perceiver = TruthPerceiver(world)
    else:
        from robot_llm.perception import CameraPerceiver

        perceiver = CameraPerceiver()

    def progress(event: Event) -> None:
        _progress(args, event.summary())

    executor = Executor(
        robot,
        perceiver,
        log_path=args.log,
        on_event=progress,
        video=args.video,
        video_every=args.video_every,
    )
    # Ctrl-C stops the arm where it is and ends the run as "stopped" (a second one interrupts).
    previous = signal.signal(signal.SIGINT, lambda *_: executor.stop())
    try:
        result = executor.run(plan, reference_scene=scene_from_spec(spec))
    finally:
        signal.signal(signal.SIGINT, previous)
        world.close()
    out: dict[str, Any] = {
        "scene": args.scene,
        "plan_file": args.plan,
        "perception": args.perception,
        **result.to_dict(),
    }
    if args.json:
        print(json.dumps(out))
    else:
        done = sum(r.success for r in result.subgoals)
        tail = f": {result.reason}" if result.reason else ""
        print(f"{result.status}: {done}/{len(result.subgoals)} subgoals succeeded{tail}")
    return OK if result.success else FAILED


def _check_output_path(path: str) -> None:
    """Fail before any work when an output file cannot be created."""
    from pathlib import Path

    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise BadInput(f"{path}: folder {parent} does not exist")


def _jsonable(v: Any) -> Any:
    if hasattr(v, "item"):
        return v.item()
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    return v


def _progress(args: argparse.Namespace, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    from robot_llm.cli_language import add_perception_argument

    parser = argparse.ArgumentParser(
        prog="robot-llm",
        description="Natural-language control of robot arms in simulation and on hardware.",
    )
    parser.add_argument("--version", action="version", version=f"robot-llm {__version__}")
    parser.add_argument(
        "--no-traceback",
        action="store_true",
        help="print a fault as one line instead of its traceback (bad input always is one line)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("envs", help="list the gymnasium task ids")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_cmd_envs)

    p = sub.add_parser(
        "episode",
        help="run one scripted (oracle) task episode in simulation, optionally recording video",
    )
    p.add_argument("--task", required=True, help="task id, e.g. robot_llm/PickPlace-v0")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--video", metavar="FILE", help="write the main camera to this mp4 file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(handler=_cmd_episode)

    p = sub.add_parser(
        "execute",
        help="execute a plan file on a scene file in simulation, with perception in the loop",
    )
    p.add_argument("--scene", required=True, metavar="FILE", help="scene file (.yaml or .json)")
    p.add_argument(
        "--plan", required=True, metavar="PLAN.json", help="plan file (docs/plan-schema.md)"
    )
    p.add_argument("--video", metavar="FILE", help="write the main camera to this mp4 file")
    p.add_argument(
        "--video-every",
        type=int,
        default=4,
        metavar="N",
        help="one video frame every N control periods (default 4)",
    )
    p.add_argument("--log", metavar="FILE", help="write the run's events to this JSON-lines file")
    add_perception_argument(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(handler=_cmd_execute)

    from robot_llm import cli_language

    p = sub.add_parser("plan", help="perceive a scene and plan a command; nothing moves")
    cli_language.add_scene_arguments(p)
    p.set_defaults(handler=cli_language.cmd_plan)
    p = sub.add_parser("run", help="plan a command and execute it in simulation")
    cli_language.add_scene_arguments(p)
    p.add_argument("--video", metavar="FILE", help="write the main camera to this mp4 file")
    p.add_argument("--log", metavar="FILE", help="write the run's events to this JSON-lines file")
    p.set_defaults(handler=cli_language.cmd_run)
    p = sub.add_parser(
        "repl",
        help="an interactive session: commands, questions and answers, 'stop' at any time",
    )
    cli_language.add_scene_arguments(p, command=False)
    from robot_llm import repl

    repl.add_repl_arguments(p)
    p.set_defaults(handler=repl.cmd_repl)

    from robot_llm.bench.cli import add_bench_parser
    from robot_llm.bridge.cli import add_bridge_parser
    from robot_llm.cameras.cli import add_camera_parser
    from robot_llm.cli_eval_planner import add_eval_planner_parser
    from robot_llm.console.cli import add_console_parser
    from robot_llm.drivers.so101.cli import add_calibrate_parser
    from robot_llm.launcher.cli import add_launch_parser
    from robot_llm.speech.cli import add_listen_parser

    add_listen_parser(sub)
    add_eval_planner_parser(sub)
    from robot_llm.planning.student.train import add_train_planner_parser

    add_train_planner_parser(sub)
    add_bench_parser(sub)
    add_bridge_parser(sub)
    add_launch_parser(sub)
    add_console_parser(sub)
    add_camera_parser(sub)
    add_calibrate_parser(sub)
    from robot_llm.datasets.cli import add_dataset_parser, add_record_parser

    add_record_parser(sub)
    add_dataset_parser(sub)
    from robot_llm.policies.learned.train import add_train_policy_parser

    add_train_policy_parser(sub)

    scene = sub.add_parser("scene", help="check or render a scene file")
    scene_sub = scene.add_subparsers(dest="scene_command", metavar="ACTION", required=True)
    p = scene_sub.add_parser("list", help="list the example scene files shipped with the package")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_cmd_scene_list)
    p = scene_sub.add_parser("check", help="validate a scene file")
    p.add_argument("file")
    p.add_argument(
        "--robot",
        metavar="NAME",
        help="check it on this simulated robot's table: its workspace and reach (e.g. so101)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_cmd_scene_check)
    p = scene_sub.add_parser("render", help="render a scene file's main camera view to an image")
    p.add_argument("file")
    p.add_argument("--out", required=True, help="image file to write (.png)")
    p.set_defaults(handler=_cmd_scene_render)
    return parser


def main(argv: Sequence[str] | None = None) -> int:

    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return BAD_INPUT
    try:
        return handler(args)
    except (InputError, *PATH_ERRORS) as err:
        print(f"robot-llm: error: {first_line(err)}", file=sys.stderr)
        return BAD_INPUT
    except KeyboardInterrupt:
        print("robot-llm: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:  # the reader of stdout left (`robot-llm ... | head`): not a fault
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return OK
    except Exception as err:  # a fault or a bug: its traceback, unless asked for quiet
        if not args.no_traceback:
            raise
        print(f"robot-llm: fault: {type(err).__name__}: {first_line(err)}", file=sys.stderr)
        return FAILED


if __name__ == "__main__":
    sys.exit(main())
