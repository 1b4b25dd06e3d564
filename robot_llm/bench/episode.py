"""One benchmark episode through the whole stack: camera, perception, planner, executor.

`run_episode` is what a worker process (or a Ray task) runs: it opens a `Session` on the
seeded task, gives the task's instruction to `Session.turn` (for Chain, each of the five
instructions in turn, in the same session, until one is not achieved), judges the result with
the task's own `evaluate()`, and returns one JSON-ready row. Nothing in it reads the simulator's
state for the stack: `--perception truth` is the only (ablation) exception.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robot_llm.config import RobotConfig, StackConfig
from robot_llm.execution.budget import StepBudget

if TYPE_CHECKING:
    from robot_llm.turn import TurnResult

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class EpisodeSpec:
    """One episode of a suite: `key` is unique within a run ("PickPlace/12")."""

    key: str
    entry: str
    family: str
    seed: int
    split: str = "all"
    options: dict[str, Any] = field(default_factory=dict)


def episode_stack(spec: EpisodeSpec, stack: StackConfig) -> StackConfig:
    """The stack of one episode: the run's, on the episode's task and seed (and the run's
    randomized rendering, if any, which draws each episode's look from that seed), with the
    suite entry's executor limits."""
    options = spec.options
    run = stack.robot
    return replace(
        stack,
        robot=RobotConfig(
            task=spec.family,
            seed=spec.seed,
            randomize=run.randomize,
            randomize_strength=run.randomize_strength,
        ),
        executor=replace(
            stack.executor,
            max_retries=options.get("max_retries"),
            max_replans=options.get("max_replans"),
            skill_timeout=options.get("skill_timeout"),
            max_steps=int(options["max_steps"]) if options.get("max_steps") else None,
        ),
    )


def limit_threads() -> None:
    """One thread per worker for OpenCV and BLAS, so that K workers use K cores (the results do
    not depend on it)."""
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover - opencv is a dependency
        pass


def run_episode(
    spec: EpisodeSpec, stack: StackConfig, video_dir: str | None = None
) -> dict[str, Any]:
    """Run one episode and return its row (see docs/bench.md for the fields). With `video_dir`,
    each instruction's execution is recorded to `video_dir/turn-K.mp4`."""
    from robot_llm.session import open_session

    limit_threads()
    t0 = time.perf_counter()
    row: dict[str, Any] = {
        "key": spec.key,
        "entry": spec.entry,
        "family": spec.family,
        "task": f"robot_llm/{spec.family}-v0",
        "seed": spec.seed,
        "split": spec.split,
    }
    try:
        session = open_session(episode_stack(spec, stack))
    except Exception as err:  # a sampler or world that cannot be built is a failed episode
        return _error(row, err, t0)
    setup_s = time.perf_counter() - t0
    chain = spec.family == "Chain"
    try:
        turns = _play(session, chain, video_dir)
        verdict = session.task_verdict()
        row.update(_summarize(turns, verdict, session.budget, chain))
    except Exception as err:  # a crash in the stack is this episode's failure, not the run's
        return _error(row, err, t0)
    finally:
        session.close()
    timings = row["timings"]
    timings["setup_s"] = round(setup_s, 4)
    timings["wall_s"] = round(time.perf_counter() - t0, 4)
    return row


def _play(session: Any, chain: bool, video_dir: str | None) -> list[TurnResult]:
    """Give the task's instructions to the session; each turn's result."""
    turns: list[TurnResult] = []
    task = session.task
    while True:
        if video_dir is not None:
            session.executor.video = Path(video_dir) / f"turn-{len(turns)}.mp4"
        turns.append(session.turn(task.instruction))
        verdict = session.task_verdict()
        done = bool(verdict.get("subtask_done", verdict["success"]))
        if not chain or not done or not task.advance(verdict) or session.stopped:
            return turns


def _summarize(
    turns: list[TurnResult], verdict: Mapping[str, Any], budget: StepBudget | None, chain: bool
) -> dict[str, Any]:
    last = turns[-1]
    success = bool(verdict["success"])
    status = "done" if success else str(last.status)
    if budget is not None and budget.exhausted and not success:
        status = "truncated"
    reason = None
    if not success:
        if status == "truncated":
            reason = f"step limit of {budget.limit if budget else 0} control periods reached"
        else:
            reason = last.reason or last.question
            if not reason:
                reason = f"task not achieved (progress {float(verdict['progress']):.2f})"
    timings = {"perception_s": 0.0, "planner_s": 0.0, "executor_s": 0.0}
    steps = 0
    sim_s = 0.0
    for t in turns:
        tm, run = t.timings, t.timings.executor
        run_perception = run.perception if run is not None else 0.0
        timings["perception_s"] += tm.perception_s + run_perception
        timings["planner_s"] += tm.planning_s
        timings["executor_s"] += (tm.execution_s or 0.0) - run_perception
        if run is not None:
            steps += run.periods
            sim_s += run.sim_seconds
    attempts = [s.attempts for t in turns for s in t.subgoals or ()]
    row: dict[str, Any] = {
        "instruction": turns[0].command,
        "plan": [t.plan.to_dict() for t in turns] if chain else last.plan.to_dict(),
        "status": status,
        "success": success,
        "progress": round(float(verdict["progress"]), 4),
        "steps": steps,
        "sim_s": round(sim_s, 4),
        "subgoals": len(attempts),
        "retries": sum(a - 1 for a in attempts),
        "reason": reason,
        "timings": {k: round(v, 4) for k, v in timings.items()},
    }
    if chain:
        from robot_llm.envs.tasks.chain import N_SUBTASKS

        row["instructions"] = [t.command for t in turns]
        row["chain"] = {
            "completed": int(verdict["completed_in_a_row"]),
            "length": N_SUBTASKS,
            "statuses": [t.status for t in turns],
        }
    return row


def _error(row: dict[str, Any], err: BaseException, t0: float) -> dict[str, Any]:
    where = traceback.extract_tb(err.__traceback__)[-1:]
    place = f" at {Path(where[0].filename).name}:{where[0].lineno}" if where else ""
    row.update(
        status="error",
        success=False,
        progress=0.0,
        steps=0,
        sim_s=0.0,
        reason=f"{type(err).__name__}: {err}{place}",
        timings={"wall_s": round(time.perf_counter() - t0, 4)},
    )
    return row
