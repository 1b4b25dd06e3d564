"""Per-control-step inference time of the learned skills, float and int8 (dynamic quantization
of the Linear layers), on one CPU thread.

A step is the policy call `LearnedSkill` makes each control period, `select_action`, on
features built beforehand (building them is plain numpy, tens of microseconds). Two numbers
per checkpoint: the mean over all steps (most steps pop a queued action) and the mean of a
forward pass (a new chunk, every `n_action_steps`), plus the largest action difference int8
makes on the same inputs.

Run: `.venv/bin/python benchmarks/learned_inference.py [DIR] [--steps 2000] [--json]`
(DIR: a folder of pick/ place/ push/ checkpoints, default the shipped ones).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


def _inputs(rng: np.random.Generator, skill: str, n: int) -> list[dict[str, Any]]:
    import torch

    from robot_llm.policies.learned.features import (
        ObjectPose,
        env_features,
        frame_yaw,
        state_features,
    )

    out = []
    for _ in range(n):
        hand = rng.uniform([0.3, -0.2, 0.05], [0.6, 0.2, 0.4])
        yaw = float(rng.uniform(-1.0, 1.0))
        obj = ObjectPose((*rng.uniform([0.3, -0.2], [0.6, 0.2]), 0.02), 0.3, "block", 0.04)
        xy = rng.uniform([0.3, -0.2], [0.6, 0.2])
        target = (
            ObjectPose((*xy, 0.02), 0.0, "point", 0.0)  # a push goes to a point
            if skill == "push"
            else ObjectPose((*xy, 0.01), 0.0, "bowl", 0.008)
        )
        if skill == "pick":
            target = None
        frame = frame_yaw(skill, obj, target)
        out.append(
            {
                "observation.state": torch.from_numpy(
                    state_features(hand, yaw, 0.05, float(rng.uniform(0, 5)), frame)
                )[None],
                "observation.environment_state": torch.from_numpy(
                    env_features(skill, hand, yaw, obj, target, frame)
                )[None],
            }
        )
    return out


def time_policy(policy: Any, inputs: list[dict[str, Any]]) -> dict[str, float]:
    """Mean ms per select_action over the inputs (chunks as they come), and per predicted chunk."""
    import torch

    policy.reset()
    for batch in inputs[:50]:  # warm up
        policy.select_action(batch)
    policy.reset()
    t0 = time.perf_counter()
    for batch in inputs:
        policy.select_action(batch)
    per_step = (time.perf_counter() - t0) / len(inputs) * 1000
    t0 = time.perf_counter()
    with torch.no_grad():
        for batch in inputs:
            policy.predict_action_chunk(batch)
    per_chunk = (time.perf_counter() - t0) / len(inputs) * 1000
    return {"ms_per_step": per_step, "ms_per_chunk": per_chunk}


def quantized(policy: Any) -> Any:
    import torch
    from torch.ao.quantization import quantize_dynamic

    return quantize_dynamic(copy.deepcopy(policy), {torch.nn.Linear}, dtype=torch.qint8)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", nargs="?", default=None, help="checkpoints folder")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    import torch

    from robot_llm.policies.learned.skill import load_skill_policies
    from robot_llm.policies.registry import shipped_checkpoints

    torch.set_num_threads(1)
    folder = Path(args.folder) if args.folder else shipped_checkpoints()
    rows = {}
    for skill, policy in load_skill_policies(folder).items():
        inputs = _inputs(np.random.default_rng(0), skill, args.steps)
        q = quantized(policy)
        with torch.no_grad():
            diff = max(
                float((policy.predict_action_chunk(b) - q.predict_action_chunk(b)).abs().max())
                for b in inputs[:200]
            )
        params = sum(p.numel() for p in policy.parameters())
        rows[skill] = {
            "parameters": params,
            "float": time_policy(policy, inputs),
            "int8": time_policy(q, inputs),
            "max_action_diff": diff,
        }
    if args.json:
        print(json.dumps({"folder": str(folder), "threads": 1, "skills": rows}))
        return 0
    print(f"learned skills in {folder}, 1 thread, {args.steps} steps")
    print(
        f"{'skill':<7}{'params':>8}{'float ms/step':>15}{'int8 ms/step':>14}"
        f"{'float ms/chunk':>16}{'int8 ms/chunk':>15}{'max diff':>10}"
    )
    for skill, r in rows.items():
        print(
            f"{skill:<7}{r['parameters']:>8}{r['float']['ms_per_step']:>15.3f}"
            f"{r['int8']['ms_per_step']:>14.3f}{r['float']['ms_per_chunk']:>16.3f}"
            f"{r['int8']['ms_per_chunk']:>15.3f}{r['max_action_diff']:>10.4f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
