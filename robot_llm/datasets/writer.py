"""Turn the staged episodes of a recording into a LeRobot v3.0 dataset.

Data and video files come first, then `meta/tasks.parquet`, `meta/episodes/…`,
`meta/stats.json`, and `meta/info.json` last, replaced in one step: until it exists the folder
reads as unfinished, and a finalize that is cut short is simply run again (`--resume`).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from robot_llm.datasets import stats, video
from robot_llm.datasets.format import (
    DATA_FILES_SIZE_IN_MB,
    EPISODES_PATH,
    INFO_PATH,
    STATS_PATH,
    TASKS_PATH,
    VIDEO_FILES_SIZE_IN_MB,
    VIDEO_KEYS,
    data_file,
    make_features,
    make_info,
    next_file,
    video_file,
)
from robot_llm.datasets.staging import FRAMES, episode_dir, staging_dir, write_atomic

MB = 1024 * 1024


def finalize(out: Path, summaries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Write the dataset from the staged episodes (in index order, those with frames); its
    info. The staging area is removed once the dataset is whole."""
    episodes = [s for s in sorted(summaries, key=lambda s: s["index"]) if s["length"] > 0]
    if not episodes:
        raise ValueError("no episode has frames: nothing to write")
    first = episodes[0]
    fps = int(first["fps"])
    for folder in ("data", "videos", "meta"):
        shutil.rmtree(out / folder, ignore_errors=True)
    tables = [pq.read_table(episode_dir(out, s["index"]) / FRAMES) for s in episodes]
    n_objects = tables[0].schema.field("observation.environment_state").type.list_size // 7
    h, w = _video_size(out, first)
    features = make_features(first["joint_names"], n_objects, w, h, fps)
    tasks = list(dict.fromkeys(t for tb in tables for t in tb.column("task").to_pylist()))
    info = make_info(features, fps, first["robot_type"], len(episodes), 0, len(tasks))
    rows = _write_data(out, info, episodes, tables, {t: i for i, t in enumerate(tasks)})
    info["total_frames"] = sum(r["length"] for r in rows)
    for key in VIDEO_KEYS:
        _write_videos(out, info, key, episodes, rows)
    dataset_stats = _episode_stats(out, info, episodes, rows)
    _write_tasks(out / TASKS_PATH, tasks)
    episodes_path = out / EPISODES_PATH.format(chunk_index=0, file_index=0)
    episodes_path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(_episodes_table(rows), episodes_path)
    write_atomic(out / STATS_PATH, json.dumps(stats.to_json(dataset_stats), indent=2))
    write_atomic(out / INFO_PATH, json.dumps(info, indent=4))
    shutil.rmtree(staging_dir(out), ignore_errors=True)
    return info


def _video_size(out: Path, summary: Mapping[str, Any]) -> tuple[int, int]:
    p = video.probe(episode_dir(out, summary["index"]) / f"{VIDEO_KEYS[0]}.mp4")
    return p.height, p.width


def _write_data(
    out: Path,
    info: dict[str, Any],
    episodes: Sequence[Mapping[str, Any]],
    tables: Sequence[pa.Table],
    task_index: Mapping[str, int],
) -> list[dict[str, Any]]:
    """Frames into data files of at most DATA_FILES_SIZE_IN_MB; one row per episode."""
    rows: list[dict[str, Any]] = []
    chunk = file = 0
    pending: list[pa.Table] = []
    size = 0
    start = 0
    fps = int(info["fps"])
    for ep_index, (summary, table) in enumerate(zip(episodes, tables, strict=True)):
        n = table.num_rows
        staged_size = (episode_dir(out, summary["index"]) / FRAMES).stat().st_size
        if pending and size + staged_size > DATA_FILES_SIZE_IN_MB * MB:
            _flush(data_file(out, info, chunk, file), pending)
            chunk, file = next_file(chunk, file)
            pending, size = [], 0
        frame_index = np.arange(n, dtype=np.int64)
        full = table.drop_columns(["task"])
        for name, values in (
            ("timestamp", pa.array((frame_index / fps).astype(np.float32))),
            ("frame_index", pa.array(frame_index)),
            ("episode_index", pa.array(np.full(n, ep_index, dtype=np.int64))),
            ("index", pa.array(np.arange(start, start + n, dtype=np.int64))),
            (
                "task_index",
                pa.array([task_index[t] for t in table.column("task").to_pylist()], pa.int64()),
            ),
        ):
            full = full.append_column(name, values)
        pending.append(full)
        size += staged_size
        tasks = list(dict.fromkeys(table.column("task").to_pylist()))
        rows.append(
            {
                "episode_index": ep_index,
                "tasks": tasks,
                "length": n,
                "data/chunk_index": chunk,
                "data/file_index": file,
                "dataset_from_index": start,
                "dataset_to_index": start + n,
                "meta/episodes/chunk_index": 0,
                "meta/episodes/file_index": 0,
                "seed": int(summary["seed"]),
                "success": bool(summary["success"]),
                "subgoals": [str(g) for g in summary.get("subgoals", [])],
                "object_ids": [str(o) for o in summary.get("object_ids", [])],
            }
        )
        start += n
    _flush(data_file(out, info, chunk, file), pending)
    return rows


def _flush(path: Path, tables: list[pa.Table]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.concat_tables(tables), path)


def _write_videos(
    out: Path,
    info: dict[str, Any],
    key: str,
    episodes: Sequence[Mapping[str, Any]],
    rows: list[dict[str, Any]],
) -> None:
    """One camera's episodes joined into files of at most VIDEO_FILES_SIZE_IN_MB."""
    fps = int(info["fps"])
    groups: list[list[int]] = [[]]
    size = 0
    for i, summary in enumerate(episodes):
        part = (episode_dir(out, summary["index"]) / f"{key}.mp4").stat().st_size
        if groups[-1] and size + part > VIDEO_FILES_SIZE_IN_MB * MB:
            groups.append([])
            size = 0
        groups[-1].append(i)
        size += part
    chunk = file = 0
    for group in groups:
        path = video_file(out, info, key, chunk, file)
        path.parent.mkdir(parents=True, exist_ok=True)
        parts = [
            (episode_dir(out, episodes[i]["index"]) / f"{key}.mp4", rows[i]["length"])
            for i in group
        ]
        starts = video.join(parts, path, fps)
        for i, t in zip(group, starts, strict=True):
            rows[i][f"videos/{key}/chunk_index"] = chunk
            rows[i][f"videos/{key}/file_index"] = file
            rows[i][f"videos/{key}/from_timestamp"] = t
            rows[i][f"videos/{key}/to_timestamp"] = t + rows[i]["length"] / fps
        chunk, file = next_file(chunk, file)


def _episode_stats(
    out: Path,
    info: dict[str, Any],
    episodes: Sequence[Mapping[str, Any]],
    rows: list[dict[str, Any]],
) -> dict[str, stats.Stats]:
    """Each episode's statistics into its row (`stats/<feature>/<name>`); the dataset's."""
    features = info["features"]
    per_episode: list[dict[str, stats.Stats]] = []
    paths = sorted({(r["data/chunk_index"], r["data/file_index"]) for r in rows})
    frames = pa.concat_tables([pq.read_table(data_file(out, info, c, f)) for c, f in paths])
    for summary, row in zip(episodes, rows, strict=True):
        part = frames.slice(row["dataset_from_index"], row["length"])
        ep: dict[str, stats.Stats] = {}
        for key, ft in features.items():
            if ft["dtype"] == "video":
                ep[key] = stats.from_json({key: summary["image_stats"][key]})[key]
            else:
                ep[key] = stats.vector_stats(_column(part, key))
            for name, value in ep[key].items():
                row[f"stats/{key}/{name}"] = value.tolist()
        per_episode.append(ep)
    return stats.merge_all(per_episode)


def _column(table: pa.Table, key: str) -> np.ndarray:
    col = table.column(key).combine_chunks()
    if pa.types.is_fixed_size_list(col.type):
        return np.asarray(col.flatten().to_numpy(zero_copy_only=False)).reshape(len(col), -1)
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)


def _episodes_table(rows: list[dict[str, Any]]) -> pa.Table:
    table = pa.Table.from_pylist(rows)
    for name in ("subgoals", "object_ids"):  # lists of strings, also when all are empty
        if name in table.column_names:
            i = table.column_names.index(name)
            table = table.set_column(i, name, table.column(name).cast(pa.list_(pa.string())))
    return table


def _write_tasks(path: Path, tasks: Sequence[str]) -> None:
    """`task_index` with the task text as the pandas index, as LeRobot writes it with pandas."""
    pandas_meta = {
        "index_columns": ["task"],
        "column_indexes": [
            {
                "name": None,
                "field_name": None,
                "pandas_type": "unicode",
                "numpy_type": "object",
                "metadata": {"encoding": "UTF-8"},
            }
        ],
        "columns": [
            {
                "name": "task_index",
                "field_name": "task_index",
                "pandas_type": "int64",
                "numpy_type": "int64",
                "metadata": None,
            },
            {
                "name": "task",
                "field_name": "task",
                "pandas_type": "unicode",
                "numpy_type": "object",
                "metadata": None,
            },
        ],
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": "2.2.3",
    }
    table = pa.table(
        {
            "task_index": pa.array(range(len(tasks)), pa.int64()),
            "task": pa.array(list(tasks), pa.string()),
        }
    ).replace_schema_metadata({b"pandas": json.dumps(pandas_meta).encode()})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
