"""The simulated SO-101: typed commands over seeded tables sized for it, perceived by camera.

Each episode samples a table in the SO-101's workspace (robot_llm.tabletop.setups: objects'
centers 11-21 cm from its base at x = 0.20) with small blocks of different colors and the
family's target, writes it to a scene file, opens the session that
`robot-llm run --robot so101 --scene FILE "COMMAND"` opens (camera perception, the rule planner,
the scripted skills; nothing patched), gives the family's command and judges success from
simulator truth with robot_llm.tabletop.predicates.

Families (`--family`, comma-separated):
  bowl   "put the red block in the green bowl"   two blocks, one small bowl      in_bowl
  zone   "put the red block in the green zone"   two blocks, one small zone      in_zone
  stack  "put the red block on the blue block"   two or three blocks             on_block
  both   "put the red block and the blue block in the green bowl"
                                                 two blocks, one small bowl      both in_bowl
  push   "push the red block 5 cm to the left"   two blocks; a direction that stays in reach
                                                 moved >= 2.5 cm that way, upright on the table

Tuning used seeds 0-19; measured seeds start at 1000 (`--seed 1000 --episodes 100`).

Run: `.venv/bin/python benchmarks/so101_sim.py [--family bowl] [--episodes 100] [--seed 1000]
[--json]`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robot_llm.config import RobotConfig, StackConfig
from robot_llm.tabletop.directions import DIRECTION_VECTORS
from robot_llm.tabletop.layout import LayoutError, place_objects
from robot_llm.tabletop.object_state import ObjectState
from robot_llm.tabletop.palette import COLORS
from robot_llm.tabletop.predicates import in_bowl, in_zone, on_block, on_table
from robot_llm.tabletop.scene import ObjectSpec, SceneSpec, save_scene
from robot_llm.tabletop.setups import SO101_SETUP

WORKSPACE = SO101_SETUP.workspace
PUSH_DISTANCE = 0.05  # meters; the table is small, so pushes are short
# The hand comes down this far behind a small block's center to push it (half the block, the
# skill's back-off and the fixed jaw's back), meters.
PUSH_HAND_BEHIND = 0.015 + 0.035 + 0.028

States = Mapping[str, ObjectState]


@dataclass(frozen=True)
class Episode:
    scene: SceneSpec
    command: str
    judge: Callable[[States, States], bool]  # (before, after) -> success


def _blocks(rng: np.random.Generator, colors: list[str], n: int) -> list[ObjectSpec]:
    return [ObjectSpec(f"{c}_block", "block", c, "small") for c in colors[:n]]


def _layout(rng: np.random.Generator, objects: list[ObjectSpec]) -> list[ObjectSpec]:
    """A collision-free layout; the small table sometimes needs a few fresh tries."""
    for _ in range(20):
        try:
            return place_objects(rng, objects, workspace=WORKSPACE)
        except LayoutError:
            continue
    raise LayoutError(f"no layout of {len(objects)} objects on the SO-101's table")


def sample(family: str, seed: int) -> Episode:
    """The family's seeded table and command."""
    rng = np.random.default_rng([seed, sorted(FAMILIES).index(family)])
    colors = [str(c) for c in rng.permutation(COLORS)]
    if family in ("bowl", "zone", "both"):
        kind = "zone" if family == "zone" else "bowl"
        blocks = _blocks(rng, colors, 2)
        target = ObjectSpec(f"{colors[2]}_{kind}", kind, colors[2], "small")
        placed = _layout(rng, [*blocks, target])
        contained = in_zone if kind == "zone" else in_bowl
        if family == "both":
            a, b = blocks
            command = f"put the {a.color} block and the {b.color} block in the {target.color} bowl"
            ids = [a.id, b.id]
        else:
            a = blocks[int(rng.integers(0, 2))]
            command = f"put the {a.color} block in the {target.color} {kind}"
            ids = [a.id]

        def judge(before: States, after: States) -> bool:
            return all(contained(after[i], after[target.id]) for i in ids)

        return Episode(_scene(placed, family, seed), command, judge)
    if family == "stack":
        blocks = _blocks(rng, colors, int(rng.integers(2, 4)))
        placed = _layout(rng, blocks)
        top, bottom = blocks[0], blocks[1]
        return Episode(
            _scene(placed, family, seed),
            f"put the {top.color} block on the {bottom.color} block",
            lambda before, after: on_block(after[top.id], after[bottom.id]),
        )
    if family == "push":
        blocks = _blocks(rng, colors, 2)
        for _ in range(50):
            placed = _layout(rng, blocks)
            block = placed[0]
            x, y = block.position
            ways = [  # the block's goal and the hand's start behind it both in reach
                d
                for d, (ux, uy) in DIRECTION_VECTORS.items()
                if WORKSPACE.contains(x + PUSH_DISTANCE * ux, y + PUSH_DISTANCE * uy, margin=0.02)
                and WORKSPACE.reaches(x - PUSH_HAND_BEHIND * ux, y - PUSH_HAND_BEHIND * uy)
                and _clear(placed[1:], (x - PUSH_HAND_BEHIND * ux, y - PUSH_HAND_BEHIND * uy))
                and _clear(placed[1:], (x + PUSH_DISTANCE * ux, y + PUSH_DISTANCE * uy))
            ]
            if ways:
                break
        else:
            raise LayoutError("no pushable layout")
        way = ways[int(rng.integers(0, len(ways)))]
        u = np.asarray(DIRECTION_VECTORS[way])
        phrase = {"left": "to the left", "right": "to the right"}.get(way, way)

        def pushed(before: States, after: States) -> bool:
            moved = float((after[block.id].position[:2] - before[block.id].position[:2]) @ u)
            return moved >= 0.5 * PUSH_DISTANCE and on_table(after[block.id])

        return Episode(
            _scene(placed, family, seed),
            f"push the {block.color} block {round(PUSH_DISTANCE * 100)} cm {phrase}",
            pushed,
        )
    raise ValueError(f"unknown family {family!r}; families are {', '.join(FAMILIES)}")


FAMILIES = ("bowl", "zone", "stack", "both", "push")


def _clear(others: list[ObjectSpec], xy: tuple[float, float], room: float = 0.06) -> bool:
    """Nothing else stands within `room` of a point (where the hand or the block goes)."""
    return all(np.hypot(o.position[0] - xy[0], o.position[1] - xy[1]) > room for o in others)


def _scene(objects: list[ObjectSpec], family: str, seed: int) -> SceneSpec:
    return SceneSpec(tuple(objects), name=f"so101 {family} seed {seed}", workspace=WORKSPACE)


def run_episode(family: str, seed: int, folder: Path) -> dict[str, Any]:
    from robot_llm.session import open_session

    episode = sample(family, seed)
    path = folder / f"so101_{family}_{seed}.yaml"
    save_scene(episode.scene, path)
    t0 = time.monotonic()
    session = open_session(StackConfig(robot=RobotConfig(robot="so101", scene=str(path))))
    try:
        assert session.world is not None
        before = session.world.object_states()
        result = session.turn(episode.command).to_dict()
        after = session.world.object_states()
        ok = episode.judge(before, after)
    finally:
        session.close()
    return {
        "family": family,
        "seed": seed,
        "command": episode.command,
        "success": bool(ok),
        "reason": "" if ok else _reason(result),
        "seconds": round(time.monotonic() - t0, 2),
    }


def _reason(result: Mapping[str, Any]) -> str:
    execution = result.get("execution")
    if isinstance(execution, Mapping) and execution.get("reason"):
        return str(execution["reason"])
    plan = result.get("plan")
    if isinstance(plan, Mapping) and plan.get("type") in ("clarify", "refuse"):
        return str(plan.get("question") or plan.get("reason"))
    return "the judge says no"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--family", default="bowl", help=f"comma-separated: {', '.join(FAMILIES)}")
    ap.add_argument("--episodes", type=int, default=100, help="per family")
    ap.add_argument("--seed", type=int, default=1000, help="first seed (tuning used 0-19)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    families = [f.strip() for f in args.family.split(",") if f.strip()]
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        print(f"so101_sim: unknown family {unknown[0]!r}; families are {', '.join(FAMILIES)}")
        return 2
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for family in families:
            for seed in range(args.seed, args.seed + args.episodes):
                row = run_episode(family, seed, Path(tmp))
                rows.append(row)
                if args.json:  # progress on stderr, the report alone on stdout
                    print(json.dumps(row), file=sys.stderr, flush=True)
                else:
                    mark = "ok  " if row["success"] else "FAIL"
                    print(
                        f"{mark} {family} seed {seed}: {row['command']} ({row['seconds']} s) "
                        f"{row['reason']}",
                        flush=True,
                    )
    summary = {}
    for family in families:
        mine = [r for r in rows if r["family"] == family]
        wins = sum(r["success"] for r in mine)
        summary[family] = {
            "episodes": len(mine),
            "successes": wins,
            "success_rate": round(wins / max(len(mine), 1), 4),
            "failures": dict(Counter(r["reason"] for r in mine if not r["success"])),
            "mean_seconds": round(sum(r["seconds"] for r in mine) / max(len(mine), 1), 2),
        }
    report = {"robot": "so101", "perception": "camera", "seed": args.seed, "families": summary}
    if args.json:
        report["episodes"] = rows
    print(json.dumps(report, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
