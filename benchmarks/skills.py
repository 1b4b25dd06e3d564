"""Skills on random layouts: pick + place onto a block, into a bowl, into a zone, and push.

Each trial builds a random layout of the skill drills (robot_llm.envs.drills: random positions
and yaws, block sizes small / medium / large, 1-3 distractor blocks and, for a place, one
distractor container; the benchmark's generator is seeded from (seed, case), the drills that
demonstrations are recorded on from (DRILL_STREAM, seed), so they never share a layout). A
place case runs `pick(object)` then `place(object, on= | in_=target)`, the push case
`push(object, to=[x, y])`, through `policies.runner.run_skill` on a SimRobot, lets the scene
settle with the arm retreated, and judges success from simulator truth with
tabletop.predicates (on_block / in_bowl / in_zone; for a push, the block upright on the table
within PUSH_TOLERANCE of the point). Failure reasons are the skill's own, or "landed off
target" when the skills reported success.

Perception: `truth` (simulator poses, perceived every control period) or `camera` (the main
camera through robot_llm.perception.CameraPerceiver at the start of each skill, ids kept with
`associate`, objects out of sight remembered where last seen; as the executor does, the hand
and the block in it go to a viewing pose near home before the place is perceived).

Policy: `--policy scripted` (default) or a learned one (`learned`, `learned:DIR`, as `robot-llm
run --policy` takes): its pick and place replace the scripted ones; the rest stays scripted.

Run: `.venv/bin/python benchmarks/skills.py [--trials 200] [--workers 2] [--perception truth]
[--cases block,bowl,zone,push] [--seed 0] [--policy scripted] [--json]`.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from robot_llm.envs.drills import PLACE_CASES, PUSH_TOLERANCE, place_layout, push_layout
from robot_llm.envs.world import TabletopWorld
from robot_llm.policies.motion import MotionLimits
from robot_llm.policies.runner import run_skill
from robot_llm.policies.scripted import make_skill
from robot_llm.robots.sim import SimRobot
from robot_llm.tabletop.predicates import at_point, in_bowl, in_zone, on_block
from robot_llm.tabletop.scene import SceneSpec
from robot_llm.types import Scene, SceneObject, Subgoal

CASES = (*PLACE_CASES, "push")
SETTLE_STEPS = 12  # control periods with the arm holding still before judging
# Camera mode: where the hand goes before perceiving (robot_llm.execution's default view pose).
VIEW_POSE = (0.15, 0.0, 0.37, 0.0)

_world: TabletopWorld | None = None
_policies: dict[str, Any] = {}  # policy factories by name, loaded once per worker


def _skill(
    policy: str, name: str, robot: SimRobot, limits: MotionLimits, int8: bool = False
) -> Any:
    """The skill `name` of `policy`: scripted skills with the benchmark's motion limits, a
    learned policy's own pick / place / push (with `int8`, its Linear layers dynamically
    quantized, as benchmarks/learned_inference.py times them)."""
    if policy == "scripted" or name not in ("pick", "place", "push"):
        return make_skill(name, limits)
    from robot_llm.policies.registry import get_policy

    if policy not in _policies:
        _policies[policy] = get_policy(policy)
    skill = _policies[policy](robot)[name]()
    if int8 and hasattr(skill, "policy"):
        key = f"{policy}#{name}#int8"
        if key not in _policies:
            import torch

            _policies[key] = torch.ao.quantization.quantize_dynamic(
                skill.policy, {torch.nn.Linear}, dtype=torch.qint8
            )
        skill.policy = _policies[key]
    return skill


def sample_scene(rng: np.random.Generator, case: str) -> tuple[SceneSpec, str, Any]:
    """A random layout for one trial: (scene, object id, target id or push point)."""
    if case == "push":
        return push_layout(rng)
    return place_layout(rng, case)


def judge(world: TabletopWorld, obj: str, target: Any, case: str) -> bool:
    states = world.object_states()
    if case == "push":
        return at_point(states[obj], target, PUSH_TOLERANCE)
    a, b = states[obj], states[target]
    if case == "block":
        return on_block(a, b)
    if case == "bowl":
        return in_bowl(a, b)
    return in_zone(a, b)


def _truth_perceiver(world: TabletopWorld, robot: SimRobot) -> Callable[[], Scene]:
    from robot_llm.perception import TruthPerceiver

    truth = TruthPerceiver(world)
    return lambda: replace(truth.perceive(), timestamp=robot.sim_time)


class CameraMemory:
    """Camera perception with stable ids: associate with what was seen so far; objects out of
    sight stay where they were last seen (except the one the hand holds)."""

    def __init__(self, robot: SimRobot, reference: Scene) -> None:
        from robot_llm.perception import CameraPerceiver

        self.robot = robot
        self.perceiver = CameraPerceiver()
        self.known: dict[str, SceneObject] = {o.id: o for o in reference}
        self.held: str | None = None

    def __call__(self) -> Scene:
        """Perceive (call it with the hand out of the camera's view)."""
        from robot_llm.perception import associate

        frame = self.robot.capture("main")
        seen = associate(self.perceiver.perceive(frame), Scene(tuple(self.known.values())))
        for o in seen:
            self.known[o.id] = o
        seen_ids = set(seen.ids)
        rest = tuple(o for i, o in self.known.items() if i not in seen_ids and i != self.held)
        return Scene(seen.objects + rest, frame.timestamp, "camera")

    def remembered(self) -> Scene:
        """What was seen so far, without perceiving (the hand may be in the way)."""
        objects = tuple(o for i, o in self.known.items() if i != self.held)
        return Scene(objects, self.robot.sim_time, "camera")


def trial(args: tuple[Any, ...]) -> dict[str, Any]:
    """One trial: (seed, case, perception[, policy[, int8]])."""
    seed, case, perception = args[:3]
    policy = str(args[3]) if len(args) > 3 else "scripted"
    int8 = bool(args[4]) if len(args) > 4 else False
    global _world
    if _world is None:
        _world = TabletopWorld()
    world = _world
    rng = np.random.default_rng([seed, CASES.index(case)])
    spec, obj, target = sample_scene(rng, case)
    world.build(spec)
    robot = SimRobot(world)
    limits = MotionLimits.from_robot(robot.info, home_pose=(*robot.ee_target()[0], 0.0))
    clips: Counter[str] = Counter()

    def count(_c: Any, applied: Any, _o: Any) -> None:
        clips.update(applied.clipped)

    t0 = time.perf_counter()
    sim0 = robot.sim_time
    if perception == "camera":
        from robot_llm.perception import scene_from_spec

        memory: CameraMemory | None = CameraMemory(robot, scene_from_spec(spec))
        perceive: Callable[[], Scene] = memory  # type: ignore[assignment]
        every = 0
    else:
        memory = None
        perceive = _truth_perceiver(world, robot)
        every = 1
    reason = ""

    def run(sub: Subgoal, see: Callable[[], Scene] | None = None) -> Any:
        return run_skill(
            _skill(policy, sub.skill, robot, limits, int8),
            sub,
            robot,
            see or perceive,
            perceive_every=every,
            on_step=count,
        )

    if case == "push":
        result = run(Subgoal("push", object=obj, to=(float(target[0]), float(target[1]))))
        if not result.success:
            reason = f"push: {result.reason}"
    else:
        reason = pick_and_place(run, memory, obj, target, case)
    for _ in range(SETTLE_STEPS):
        robot.hold()
    ok = judge(world, obj, target, case)
    if not ok and not reason:
        reason = "landed off target"
    states = world.object_states()
    goal = np.asarray(target if case == "push" else states[target].position[:2], dtype=float)
    offset = float(math.hypot(*(states[obj].position[:2] - goal[:2])))
    return {
        "seed": seed,
        "case": case,
        "success": ok,
        "reason": "" if ok else _generalize(reason),
        "detail": reason,
        "offset": offset,
        "sim_seconds": robot.sim_time - sim0,
        "wall_seconds": time.perf_counter() - t0,
        "clips": dict(clips),
    }


def pick_and_place(
    run: Callable[..., Any], memory: CameraMemory | None, obj: str, target: str, case: str
) -> str:
    """pick(obj), then place it on / in the target; the failure reason ("" when both ran)."""
    result = run(Subgoal("pick", object=obj))
    if not result.success:
        return f"pick: {result.reason}"
    if memory is not None:
        # As the executor does: the hand (and the block in it) out of the camera's way before
        # perceiving for the next skill.
        memory.held = obj
        run(Subgoal("move_to", pose=VIEW_POSE), memory.remembered)
    sub = (
        Subgoal("place", object=obj, on=target)
        if case == "block"
        else Subgoal("place", object=obj, in_=target)
    )
    result = run(sub)
    return f"place: {result.reason}" if not result.success else ""


def _generalize(reason: str) -> str:
    """Failure reasons without numbers and ids, so they can be counted."""
    out = []
    for word in reason.replace(",", " ,").split():
        w = word.strip("'\"[]()")
        if any(ch.isdigit() for ch in w) or word.startswith("'"):
            out.append("_")
        else:
            out.append(word)
    return " ".join(out).replace(" ,", ",")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=200, help="trials per case (default 200)")
    ap.add_argument("--workers", type=int, default=2, help="processes, one world each")
    ap.add_argument("--perception", choices=("truth", "camera"), default="truth")
    ap.add_argument(
        "--cases", default=",".join(CASES), help="comma-separated: block,bowl,zone,push"
    )
    ap.add_argument("--seed", type=int, default=0, help="first seed")
    ap.add_argument(
        "--policy",
        default="scripted",
        help="scripted (default), learned (the shipped checkpoints) or learned:DIR",
    )
    ap.add_argument(
        "--int8",
        action="store_true",
        help="learned policies with int8 dynamic quantization of their Linear layers",
    )
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--show-failures", action="store_true", help="list failed seeds")
    args = ap.parse_args(argv)
    cases = [c for c in args.cases.split(",") if c]
    for c in cases:
        if c not in CASES:
            ap.error(f"unknown case {c!r}; cases are {', '.join(CASES)}")
    if args.policy != "scripted":
        from robot_llm.errors import InputError
        from robot_llm.policies.registry import get_policy

        try:
            get_policy(args.policy)  # a bad name or checkpoint: one line, before any trial
        except InputError as err:
            ap.error(str(err))
    jobs = [
        (args.seed + i, c, args.perception, args.policy, args.int8)
        for c in cases
        for i in range(args.trials)
    ]
    t0 = time.perf_counter()
    if args.workers > 1:
        with mp.get_context("spawn").Pool(args.workers) as pool:
            rows = pool.map(trial, jobs, chunksize=4)
    else:
        rows = [trial(j) for j in jobs]
    wall = time.perf_counter() - t0
    summary: dict[str, Any] = {
        "policy": args.policy,
        "int8": args.int8,
        "perception": args.perception,
        "trials_per_case": args.trials,
        "wall_seconds": wall,
        "cases": {},
    }
    for c in cases:
        mine = [r for r in rows if r["case"] == c]
        ok = [r for r in mine if r["success"]]
        clips: Counter[str] = Counter()
        for r in mine:
            clips.update(r["clips"])
        summary["cases"][c] = {
            "trials": len(mine),
            "success": len(ok),
            "success_rate": len(ok) / len(mine) if mine else 0.0,
            "failures": dict(Counter(r["reason"] for r in mine if not r["success"])),
            "failed_seeds": [r["seed"] for r in mine if not r["success"]],
            "mean_sim_seconds": float(np.mean([r["sim_seconds"] for r in mine])),
            "mean_wall_seconds": float(np.mean([r["wall_seconds"] for r in mine])),
            "clipped": dict(clips),
        }
    if args.json:
        print(json.dumps(summary))
        return 0
    print(
        f"skills, {args.trials} trials per case, perception: {args.perception}, "
        f"policy: {args.policy}{' (int8)' if args.int8 else ''}"
    )
    print(f"{'case':<7}{'success':>10}{'rate':>9}{'sim s':>8}{'wall s':>8}  failures")
    for c, s in summary["cases"].items():
        fails = "; ".join(f"{n}x {why}" for why, n in s["failures"].items()) or "-"
        print(
            f"{c:<7}{s['success']:>5}/{s['trials']:<4}{100 * s['success_rate']:>8.1f}%"
            f"{s['mean_sim_seconds']:>8.2f}{s['mean_wall_seconds']:>8.2f}  {fails}"
        )
        if args.show_failures and s["failed_seeds"]:
            for r in rows:
                if r["case"] == c and not r["success"]:
                    print(
                        f"    seed {r['seed']}: {r['detail'] or 'landed off target'}"
                        f" (offset {r['offset']:.3f} m)"
                    )
    for c, s in summary["cases"].items():
        clipped = ", ".join(f"{k} {n}x" for k, n in s["clipped"].items()) or "none"
        print(f"{c}: commands clipped by the robot: {clipped}")
    print(f"total wall time {wall:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
