"""Read a LeRobot v3.0 dataset back: its info, tasks, episodes, frames, video frames, stats.

    ds = open_dataset("out/pick")
    frames = ds.episode_frames(0)          # {"action": (T, 5), "observation.state": ..., ...}
    images = ds.video_frames("observation.images.main", 0)   # (T, H, W, 3) uint8
    image = ds.frame_at("observation.images.main", 0, 0.5)   # the frame at 0.5 s

Only pyarrow and PyAV: no LeRobot, torch or pandas needed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from robot_llm.datasets import stats as stats_mod
from robot_llm.datasets import video
from robot_llm.datasets.format import (
    INFO_PATH,
    STATS_PATH,
    TASKS_PATH,
    DatasetError,
    data_file,
    video_file,
    video_keys,
)


def unfinished_reason(root: Path) -> str:
    """The one line for a folder without `meta/info.json`."""
    if (root / ".staging").is_dir():
        return (
            f"{root}: {INFO_PATH} missing: an unfinished recording "
            "(continue it with `robot-llm record ... --resume`)"
        )
    return f"{root}: {INFO_PATH} missing: not a dataset, or an unfinished one"


def load_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DatasetError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None


def read_table(path: Path) -> pa.Table:
    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        raise DatasetError(f"{path}: cannot be read as parquet ({err})") from None


@dataclass
class Dataset:
    """A dataset folder, its metadata loaded; frames and videos read on demand."""

    root: Path
    info: dict[str, Any]
    tasks: list[str]
    episodes: list[dict[str, Any]]
    stats: dict[str, stats_mod.Stats]

    @property
    def fps(self) -> int:
        return int(self.info["fps"])

    @property
    def features(self) -> dict[str, dict[str, Any]]:
        return dict(self.info["features"])

    @property
    def video_keys(self) -> list[str]:
        return video_keys(self.features)

    def __len__(self) -> int:
        return int(self.info["total_frames"])

    def episode(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self.episodes):
            raise DatasetError(
                f"{self.root}: no episode {index}; "
                f"it has {len(self.episodes)} (0..{len(self.episodes) - 1})"
            )
        return self.episodes[index]

    def episode_table(self, index: int) -> pa.Table:
        """The episode's rows of its data file."""
        ep = self.episode(index)
        path = data_file(self.root, self.info, ep["data/chunk_index"], ep["data/file_index"])
        table = read_table(path)
        mask = pc.equal(table.column("episode_index"), index)
        return table.filter(mask)

    def episode_frames(self, index: int) -> dict[str, np.ndarray]:
        """The episode's non-video columns as arrays, one row per frame."""
        return table_arrays(self.episode_table(index))

    def video_frames(self, key: str, index: int) -> np.ndarray:
        """All of an episode's frames of camera `key`, decoded: (length, H, W, 3) uint8."""
        ep = self.episode(index)
        return video.decode(
            self._video_path(key, ep),
            float(ep[f"videos/{key}/from_timestamp"]),
            int(ep["length"]),
            self.fps,
        )

    def frame_at(self, key: str, index: int, timestamp: float) -> np.ndarray:
        """Camera `key`'s frame at `timestamp` seconds into episode `index`."""
        ep = self.episode(index)
        start = float(ep[f"videos/{key}/from_timestamp"])
        return video.decode(self._video_path(key, ep), start + timestamp, 1, self.fps)[0]

    def _video_path(self, key: str, ep: dict[str, Any]) -> Path:
        if key not in self.video_keys:
            raise DatasetError(
                f"{self.root}: no camera {key!r}; cameras: {', '.join(self.video_keys)}"
            )
        chunk, file = ep[f"videos/{key}/chunk_index"], ep[f"videos/{key}/file_index"]
        return video_file(self.root, self.info, key, chunk, file)


def table_arrays(table: pa.Table) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name in table.column_names:
        col = table.column(name).combine_chunks()
        if pa.types.is_fixed_size_list(col.type):
            flat = col.flatten().to_numpy(zero_copy_only=False)
            out[name] = np.asarray(flat).reshape(len(col), col.type.list_size)
        elif pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
            out[name] = np.asarray(col.to_pylist())
        else:
            out[name] = np.asarray(col.to_numpy(zero_copy_only=False))
    return out


def read_tasks(root: Path) -> list[str]:
    """Task texts by task_index (the text is a column, or the pandas index LeRobot writes)."""
    table = read_table(root / TASKS_PATH)
    rows = table.to_pylist()
    if not rows or "task" not in rows[0] or "task_index" not in rows[0]:
        raise DatasetError(f"{root / TASKS_PATH}: needs the columns task and task_index")
    by_index = {int(r["task_index"]): str(r["task"]) for r in rows}
    if sorted(by_index) != list(range(len(rows))):
        raise DatasetError(f"{root / TASKS_PATH}: task_index must be 0..{len(rows) - 1}")
    return [by_index[i] for i in range(len(rows))]


def read_episodes(root: Path) -> list[dict[str, Any]]:
    paths = sorted((root / "meta" / "episodes").glob("chunk-*/file-*.parquet"))
    if not paths:
        raise DatasetError(f"{root}: no meta/episodes/chunk-*/file-*.parquet")
    rows = [r for p in paths for r in read_table(p).to_pylist()]
    return sorted(rows, key=lambda r: int(r.get("episode_index", -1)))


def open_dataset(root: str | Path) -> Dataset:
    """Load a dataset's metadata; DatasetError (one line) for a folder that is not whole."""
    path = Path(root)
    if not path.is_dir():
        raise DatasetError(f"{path}: no such folder")
    if not (path / INFO_PATH).is_file():
        raise DatasetError(unfinished_reason(path))
    info = load_json(path / INFO_PATH, "info")
    if not isinstance(info, dict) or not isinstance(info.get("features"), dict):
        raise DatasetError(f"{path / INFO_PATH}: needs a features map")
    stats_path = path / STATS_PATH
    stats = stats_mod.from_json(load_json(stats_path, "stats")) if stats_path.is_file() else {}
    return Dataset(path, info, read_tasks(path), read_episodes(path), stats)
