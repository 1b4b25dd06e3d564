"""`robot-llm plan` and `robot-llm run`: a typed command to a plan, and to motion in simulation.

The scene comes from a scene file or a seeded task; the planner sees what the camera perceives
(ids associated to the scene file's ids), never the simulator's state.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any

EXIT_DONE = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_CLARIFY = 3
EXIT_REFUSED = 4


class CommandInputError(ValueError):
    """Bad command-line input (unknown task or planner, missing command)."""


@dataclass
class SimSession:
    """A world built from a scene file or a task, with its robot, perceiver and references."""

    world: Any
    robot: Any
    perceiver: Any
    reference: Any  # robot_llm.types.Scene from the scene file / task scene
    task: Any = None  # envs Task when --task was given
    source: str = ""

    def perceive(self) -> Any:
        from robot_llm.perception import associate

        return associate(self.perceiver.perceive(self.robot.capture("main")), self.reference)

    def close(self) -> None:
        self.world.close()


def open_session(args: argparse.Namespace) -> SimSession:
    from robot_llm.envs.scene import load_scene
    from robot_llm.envs.world import TabletopWorld
    from robot_llm.perception import scene_from_spec
    from robot_llm.robots.sim import SimRobot

    task = None
    if args.scene and args.task:
        raise CommandInputError("give either --scene or --task, not both")
    if args.scene:
        spec = load_scene(args.scene)
        source = args.scene
    elif args.task:
        from gymnasium.utils.seeding import np_random

        from robot_llm.envs import ENV_IDS, env_id
        from robot_llm.envs.tasks import make_task

        name = args.task.split("/")[-1].removesuffix("-v0")
        if env_id(name) not in ENV_IDS:
            raise CommandInputError(f"unknown task {args.task!r}; known: {', '.join(ENV_IDS)}")
        task = make_task(name)
        rng, _ = np_random(args.seed)
        spec = task.reset(rng).scene
        source = f"{env_id(name)} seed {args.seed}"
    else:
        raise CommandInputError("give a scene: --scene FILE or --task ID --seed N")
    world = TabletopWorld()
    world.build(spec)
    if getattr(args, "perception", "camera") == "truth":
        from robot_llm.perception import TruthPerceiver  # ablation: simulator ground truth

        perceiver: Any = TruthPerceiver(world)
    else:
        from robot_llm.perception import CameraPerceiver

        perceiver = CameraPerceiver()
    robot = SimRobot(world)
    return SimSession(world, robot, perceiver, scene_from_spec(spec), task, source)


def _command_text(args: argparse.Namespace, session: SimSession) -> str:
    if args.text:
        return str(args.text)
    if session.task is not None:
        return str(session.task.instruction)
    raise CommandInputError('give a command, e.g. "put the red block in the green bowl"')


def _planner(name: str) -> Any:
    from robot_llm.planning import PlannerError, get_planner

    try:
        return get_planner(name)
    except PlannerError as err:
        raise CommandInputError(str(err)) from None


def _result_fields(result: Any) -> dict[str, Any]:
    status = {"plan": "planned", "clarify": "clarify", "refuse": "refused"}[result.type]
    out: dict[str, Any] = {"status": status, "plan": result.to_dict()}
    if result.type == "clarify":
        out["question"] = result.question
        out["candidates"] = list(result.candidates)
    if result.type == "refuse":
        out["reason"] = result.reason
    return out


def _scene_objects(scene: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": o.id,
            "kind": o.kind,
            "color": o.color,
            "size": o.size,
            "position": [round(float(v), 4) for v in o.position],
        }
        for o in scene.objects
    ]


def _progress(args: argparse.Namespace, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr)


def _exit_for(status: str) -> int:
    return {
        "planned": EXIT_DONE,
        "done": EXIT_DONE,
        "clarify": EXIT_CLARIFY,
        "refused": EXIT_REFUSED,
    }.get(status, EXIT_FAILED)


def cmd_plan(args: argparse.Namespace) -> int:
    from robot_llm.planning import History, plan_command

    planner = _planner(args.planner)
    session = open_session(args)
    try:
        command = _command_text(args, session)
        t0 = time.perf_counter()
        scene = session.perceive()
        t1 = time.perf_counter()
        result = plan_command(planner, command, scene, History())
        t2 = time.perf_counter()
    finally:
        session.close()
    out = {
        "command": command,
        "source": session.source,
        **_result_fields(result),
        "scene": _scene_objects(scene),
        "timings": {"perception_s": round(t1 - t0, 4), "planning_s": round(t2 - t1, 4)},
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(_describe(result))
    return _exit_for(out["status"])


def cmd_run(args: argparse.Namespace) -> int:
    from robot_llm.execution import Executor
    from robot_llm.planning import History, plan_command, replan_function

    planner = _planner(args.planner)
    for path in (args.video, args.log):
        if path:
            from pathlib import Path

            if not Path(path).resolve().parent.is_dir():
                raise CommandInputError(f"{path}: folder {Path(path).resolve().parent} is missing")
    session = open_session(args)
    history = History()
    try:
        command = _command_text(args, session)
        t0 = time.perf_counter()
        scene = session.perceive()
        t1 = time.perf_counter()
        result = plan_command(planner, command, scene, history)
        t2 = time.perf_counter()
        out: dict[str, Any] = {"command": command, "source": session.source}
        out.update(_result_fields(result))
        timings = {"perception_s": round(t1 - t0, 4), "planning_s": round(t2 - t1, 4)}
        _progress(args, _describe(result))
        if result.type == "plan":
            executor = Executor(
                session.robot,
                session.perceiver,
                log_path=args.log,
                on_event=lambda e: _progress(args, e.summary()),
                video=args.video,
                replan=replan_function(planner, history=history),
            )
            previous = signal.signal(signal.SIGINT, lambda *_: executor.stop())
            try:
                run = executor.run(result, reference_scene=scene)
            finally:
                signal.signal(signal.SIGINT, previous)
            run_dict = run.to_dict()
            out["status"] = run.status
            out["subgoals"] = run_dict.get("subgoals", [])
            if run.reason:
                out["reason"] = run.reason
            timings["execution_s"] = round(time.perf_counter() - t2, 3)
            timings.update({f"executor_{k}": v for k, v in run.timings.items()})
            out["scene_after"] = _scene_objects(run.scene)  # tracked ids from the scene file
        else:
            out["scene_after"] = _scene_objects(scene)
        if session.task is not None:
            verdict = session.task.evaluate(session.world.object_states())
            out["task_success"] = bool(verdict["success"])
            out["task_progress"] = float(verdict["progress"])
        out["timings"] = timings
    finally:
        session.close()
    if args.json:
        print(json.dumps(out))
    else:
        tail = f": {out['reason']}" if out.get("reason") else ""
        print(f"{out['status']}{tail}")
    return _exit_for(out["status"])


def _describe(result: Any) -> str:
    if result.type == "plan":
        steps = "; ".join(_subgoal_text(s) for s in result.subgoals)
        return f"plan ({len(result.subgoals)} steps): {steps}"
    if result.type == "clarify":
        return f"question: {result.question}"
    return f"refused: {result.reason}"


def _subgoal_text(s: Any) -> str:
    parts = [s.skill]
    for key, value in s.to_dict().items():
        if key != "skill":
            parts.append(f"{key}={value}")
    return " ".join(parts)


def add_scene_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scene", metavar="FILE", help="scene file (.yaml or .json)")
    p.add_argument(
        "--task", metavar="ID", help="a task id; the command defaults to its instruction"
    )
    p.add_argument("--seed", type=int, default=0, help="task seed (with --task)")
    p.add_argument("--planner", default="rule", help="planner backend (default: rule)")
    p.add_argument(
        "--perception",
        choices=("camera", "truth"),
        default="camera",
        help="camera: perceive rendered RGB-D (default); truth: simulator poses (ablation)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("text", nargs="?", metavar="COMMAND", help="what to do, in plain English")
