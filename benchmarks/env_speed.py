"""Environment speed: steps per second with obs_mode="state", overhead over physics, render cost.

Overhead is total `step()` wall time divided by the wall time spent inside the env's own
`stepSimulation()` calls during those same steps (physics cost depends on the state, so it is
timed in place). Run: `.venv/bin/python benchmarks/env_speed.py [--steps N] [--repeats R]`.
Optionally compares panda-gym's PandaPickAndPlace-v3 in the same run when it is importable
(see docs/benchmarks.md for the environment that installs it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import gymnasium as gym
import numpy as np


def measure_ours(env_id: str, steps: int, seed: int, control_hz: int) -> dict[str, float]:
    import robot_llm.envs  # noqa: F401  (registers the ids)

    env = gym.make(env_id, obs_mode="state", control_hz=control_hz)
    env.reset(seed=seed)
    world = env.unwrapped.world  # type: ignore[attr-defined]
    rng = np.random.default_rng(seed)
    actions = rng.uniform(-1, 1, size=(steps, 5)).astype(np.float32)
    world.physics_seconds = 0.0
    total = 0.0
    for a in actions:
        t0 = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(a)
        total += time.perf_counter() - t0
        if terminated or truncated:
            physics = world.physics_seconds
            env.reset()
            world.physics_seconds = physics
    physics = world.physics_seconds
    env.close()
    return {
        "steps_per_s": steps / total,
        "overhead": total / physics,
        "substeps": 240 // control_hz,
    }


def measure_panda_gym(steps: int, seed: int) -> dict[str, float] | None:
    """Same measurement on panda-gym, timing its stepSimulation calls in place."""
    try:
        import panda_gym  # noqa: F401
        import pybullet
    except ImportError:
        return None
    env = gym.make("PandaPickAndPlace-v3")
    env.reset(seed=seed)
    sim = env.unwrapped.sim  # type: ignore[attr-defined]
    physics = [0.0]
    client = sim.physics_client
    original = client.stepSimulation

    def timed_step(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        out = original(*args, **kwargs)
        physics[0] += time.perf_counter() - t0
        return out

    client.stepSimulation = timed_step
    rng = np.random.default_rng(seed)
    actions = rng.uniform(-1, 1, size=(steps, 4)).astype(np.float32)
    total = 0.0
    for a in actions:
        t0 = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(a)
        total += time.perf_counter() - t0
        if terminated or truncated:
            saved = physics[0]
            env.reset()
            physics[0] = saved
    env.close()
    del pybullet
    return {
        "steps_per_s": steps / total,
        "overhead": total / physics[0],
        "substeps": sim.n_substeps,
    }


def measure_render(repeats: int) -> dict[str, float]:
    from robot_llm.envs.tasks import make_task
    from robot_llm.envs.world import TabletopWorld

    out = {}
    world = TabletopWorld()
    world.build(make_task("PickPlace").reset(np.random.default_rng(0)).scene)
    for name, fn in (
        ("main_640x480_ms", world.render_main),
        ("wrist_320x240_ms", world.render_wrist),
    ):
        fn()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        out[name] = 1000 * statistics.median(times)
    world.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="robot_llm/PickPlace-v0")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3, help="runs per configuration; best is kept")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    results: dict[str, Any] = {}
    for hz in (12, 20):
        runs = [measure_ours(args.env, args.steps, args.seed + r, hz) for r in range(args.repeats)]
        results[f"robot_llm_{hz}hz"] = {
            "steps_per_s": max(r["steps_per_s"] for r in runs),
            "overhead": statistics.median(r["overhead"] for r in runs),
            "overhead_runs": [round(r["overhead"], 3) for r in runs],
            "substeps": runs[0]["substeps"],
        }
    pg = [measure_panda_gym(args.steps, args.seed + r) for r in range(args.repeats)]
    if all(r is not None for r in pg):
        runs_pg = [r for r in pg if r is not None]
        results["panda_gym_PandaPickAndPlace_v3"] = {
            "steps_per_s": max(r["steps_per_s"] for r in runs_pg),
            "overhead": statistics.median(r["overhead"] for r in runs_pg),
            "overhead_runs": [round(r["overhead"], 3) for r in runs_pg],
            "substeps": runs_pg[0]["substeps"],
        }
    results["render"] = measure_render(repeats=10)
    if args.json:
        print(json.dumps(results))
        return
    print(f"{'configuration':34s} {'steps/s':>9s} {'substeps':>9s} {'overhead':>9s}")
    for name, r in results.items():
        if name == "render":
            continue
        print(f"{name:34s} {r['steps_per_s']:9.0f} {r['substeps']:9d} {r['overhead']:9.3f}")
    for name, ms in results["render"].items():
        print(f"render {name}: {ms:.1f}")


if __name__ == "__main__":
    main()
