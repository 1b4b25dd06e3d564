"""Episodes staged while a recording runs, before they become one dataset.

Each finished episode is written to `OUT/.staging/tmp-…` and renamed to
`OUT/.staging/episode-NNNNNN/` in one step, so a staged episode is always whole: its frames
(`frames.parquet`), one mp4 per camera, and `episode.json` (seed, length, outcome, image
statistics). An interrupted recording loses only the episodes in flight; `--resume` records
the missing ones. `recording.json` holds what the recording is of.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from robot_llm.datasets import stats, video
from robot_llm.datasets.episodes import EpisodeRecord
from robot_llm.datasets.format import EE_POSE, MAIN_IMAGE, WRIST_IMAGE

STAGING = ".staging"
RECORDING = "recording.json"
EPISODE = "episode.json"
FRAMES = "frames.parquet"


def staging_dir(out: Path) -> Path:
    return out / STAGING


def episode_dir(out: Path, index: int) -> Path:
    return staging_dir(out) / f"episode-{index:06d}"


def vectors(rows: list[np.ndarray]) -> pa.FixedSizeListArray:
    x = np.stack(rows).astype(np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), x.shape[1])


def stage_episode(out: Path, index: int, record: EpisodeRecord) -> dict[str, Any]:
    """Write one episode into the staging area, whole or not at all; its summary."""
    final = episode_dir(out, index)
    tmp = staging_dir(out) / f"tmp-{index:06d}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    n = len(record)
    summary: dict[str, Any] = {
        "index": index,
        "seed": record.seed,
        "length": n,
        "success": record.outcome,
        "fps": record.fps,
        "robot_type": record.robot_type,
        "joint_names": list(record.joint_names),
        "note": record.note,
        "subgoals": [json.dumps(g, sort_keys=True) for g in record.subgoals],
        "object_ids": list(record.object_ids),
        "image_stats": {},
    }
    if n:
        done = np.zeros(n, dtype=bool)
        done[-1] = True
        table = pa.table(
            {
                "observation.state": vectors(record.state),
                "observation.environment_state": vectors(record.environment),
                EE_POSE: vectors(record.ee_pose or [np.zeros(7)] * n),
                "action": vectors(record.action),
                "next.reward": pa.array(np.asarray(record.success, dtype=np.float32)),
                "next.success": pa.array(np.asarray(record.success, dtype=bool)),
                "next.done": pa.array(done),
                "subgoal_index": pa.array(
                    np.asarray(record.subgoal_index or [-1] * n, dtype=np.int64)
                ),
                "task": pa.array(record.tasks, type=pa.string()),
            }
        )
        pq.write_table(table, tmp / FRAMES)
        for key, frames in ((MAIN_IMAGE, record.main), (WRIST_IMAGE, record.wrist)):
            video.encode(tmp / f"{key}.mp4", frames, record.fps)
            summary["image_stats"][key] = stats.to_json({key: stats.image_stats(np.stack(frames))})[
                key
            ]
    (tmp / EPISODE).write_text(json.dumps(summary), encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)  # a rerun of the same episode replaces it
    os.replace(tmp, final)
    return summary


def staged(out: Path) -> dict[int, dict[str, Any]]:
    """The whole staged episodes by index (leftovers of episodes in flight are removed)."""
    found: dict[int, dict[str, Any]] = {}
    root = staging_dir(out)
    if not root.is_dir():
        return found
    for path in sorted(root.iterdir()):
        if path.name.startswith("tmp-"):
            shutil.rmtree(path, ignore_errors=True)
        elif path.name.startswith("episode-") and (path / EPISODE).is_file():
            summary = json.loads((path / EPISODE).read_text(encoding="utf-8"))
            found[int(summary["index"])] = summary
    return found


def read_recording(out: Path) -> dict[str, Any] | None:
    path = staging_dir(out) / RECORDING
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def write_recording(out: Path, recording: dict[str, Any]) -> None:
    staging_dir(out).mkdir(parents=True, exist_ok=True)
    write_atomic(staging_dir(out) / RECORDING, json.dumps(recording, indent=2))


def write_atomic(path: Path, text: str) -> None:
    """Write a text file so that it is either absent or whole."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
