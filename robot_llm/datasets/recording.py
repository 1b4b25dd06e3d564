"""`robot-llm record`: seeded episodes recorded by parallel worker processes into a dataset.

Episode i has seed `seed + i` whatever the number of workers, so a recording is the same with
one worker or eight. Workers stage each finished episode (`staging.py`); when all are staged
the dataset is written (`writer.py`), `meta/info.json` last. Ctrl-C loses the episodes in
flight only; `resume=True` records the missing ones and writes the dataset.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from robot_llm.datasets.episodes import RecordConfig, run_episode
from robot_llm.datasets.format import INFO_PATH, DatasetError
from robot_llm.datasets.staging import (
    read_recording,
    stage_episode,
    staged,
    staging_dir,
    write_recording,
)
from robot_llm.datasets.writer import finalize

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RecordResult:
    out: Path
    episodes: int  # in the dataset (episodes without frames are left out)
    frames: int
    succeeded: int
    recorded_now: int  # episodes this call recorded (the rest were staged before)
    wall_seconds: float
    skipped: tuple[str, ...]  # "seed N: why" for episodes without frames


def _record_one(out: str, config: dict[str, Any], index: int) -> dict[str, Any]:
    """A worker's job: one episode, staged."""
    from robot_llm.bench.episode import limit_threads

    limit_threads()
    cfg = RecordConfig(**config)
    return stage_episode(Path(out), index, run_episode(cfg, cfg.seed + index))


def prepare(out: Path, config: RecordConfig, episodes: int, resume: bool) -> None:
    """Check the output folder and save what the recording is of; bad input is DatasetError."""
    config.check()
    if episodes < 1:
        raise DatasetError(f"--episodes must be at least 1, got {episodes}")
    if out.exists() and not out.is_dir():
        raise DatasetError(f"{out}: not a folder")
    if (out / INFO_PATH).is_file():
        raise DatasetError(f"{out}: already holds a finished dataset; record into a new folder")
    saved = read_recording(out)
    if saved is None:
        if resume:
            raise DatasetError(f"{out}: no unfinished recording to resume")
        if out.exists() and any(out.iterdir()):
            raise DatasetError(f"{out}: folder is not empty; record into a new folder")
    else:
        if not resume:
            raise DatasetError(f"{out}: holds an unfinished recording; continue it with --resume")
        if saved["config"] != config.to_dict():
            diff = [k for k, v in config.to_dict().items() if saved["config"].get(k) != v]
            raise DatasetError(
                f"{out}: the unfinished recording differs in {', '.join(diff)}; "
                "resume it with the same options"
            )
    write_recording(out, {"config": config.to_dict(), "episodes": episodes})


def record(
    out: Path,
    config: RecordConfig,
    episodes: int,
    workers: int = 1,
    resume: bool = False,
    progress: Progress | None = None,
) -> RecordResult:
    """Record `episodes` episodes into the dataset folder `out`."""
    if workers < 1:
        raise DatasetError(f"--workers must be at least 1, got {workers}")
    if config.source == "operator" and workers > 1:
        raise DatasetError("--source operator reads one terminal: record it with --workers 1")
    prepare(out, config, episodes, resume)
    t0 = time.perf_counter()
    say = progress or (lambda _: None)
    done = {i: s for i, s in staged(out).items() if i < episodes}
    todo = [i for i in range(episodes) if i not in done]
    if done:
        say(f"record: {len(done)} of {episodes} episodes already staged; recording {len(todo)}")
    _run(out, config, todo, workers, done, episodes, say, t0)
    summaries = [done[i] for i in range(episodes)]
    skipped = tuple(f"seed {s['seed']}: {s['note']}" for s in summaries if not s["length"])
    if len(skipped) == len(summaries):
        raise DatasetError(f"no episode moved the robot ({skipped[0]}); nothing to write")
    say(f"record: writing the dataset to {out}")
    info = finalize(out, summaries)
    return RecordResult(
        out,
        int(info["total_episodes"]),
        int(info["total_frames"]),
        sum(bool(s["success"]) for s in summaries if s["length"]),
        len(todo),
        round(time.perf_counter() - t0, 3),
        skipped,
    )


def _run(
    out: Path,
    config: RecordConfig,
    todo: list[int],
    workers: int,
    done: dict[int, dict[str, Any]],
    total: int,
    say: Progress,
    t0: float,
) -> None:
    if not todo:
        return
    cfg = config.to_dict()
    if workers == 1:
        for i in todo:
            done[i] = _record_one(str(out), cfg, i)
            _report(done[i], len(done), total, len(done) - (total - len(todo)), say, t0)
        return
    pool = ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=get_context("spawn"))
    try:
        pending: set[Future[dict[str, Any]]] = {
            pool.submit(_record_one, str(out), cfg, i) for i in todo
        }
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in finished:
                s = f.result()
                done[int(s["index"])] = s
                _report(s, len(done), total, len(done) - (total - len(todo)), say, t0)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _report(
    summary: dict[str, Any], n_done: int, total: int, n_now: int, say: Progress, t0: float
) -> None:
    elapsed = time.perf_counter() - t0
    rate = n_now / elapsed * 60 if elapsed > 0 else 0.0
    outcome = "success" if summary["success"] else "failed"
    if not summary["length"]:
        outcome = f"no frames ({summary['note']})"
    say(
        f"record: {n_done}/{total} episodes, seed {summary['seed']}: {summary['length']} frames,"
        f" {outcome} ({rate:.1f} episodes/min)"
    )


def unfinished(out: Path) -> bool:
    """Whether `out` holds a recording that was never written out as a dataset."""
    return staging_dir(out).is_dir() and not (out / INFO_PATH).is_file()
