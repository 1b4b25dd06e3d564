"""`robot-llm dataset check`: a folder against LeRobot's dataset format v3.0, field by field.

`check_dataset` returns one line per problem, each naming the file and the field ("meta/info.json:
features.action.shape ..."); none means the folder is a whole dataset: its info, tasks,
episodes, frames, videos and statistics agree with each other.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from robot_llm.datasets import video
from robot_llm.datasets.format import (
    CODEBASE_VERSION,
    EPISODE_COLUMNS,
    INDEX_FEATURES,
    INFO_PATH,
    POSE_NAMES,
    STAT_NAMES,
    STATS_PATH,
    SUBGOAL_INDEX,
    VIDEO_COLUMNS,
    DatasetError,
    data_file,
    video_file,
    video_keys,
)
from robot_llm.datasets.reader import (
    load_json,
    read_episodes,
    read_table,
    read_tasks,
    unfinished_reason,
)

ARROW_TYPES = {
    "float32": pa.float32(),
    "float64": pa.float64(),
    "int64": pa.int64(),
    "int32": pa.int32(),
    "int16": pa.int16(),
    "int8": pa.int8(),
    "uint8": pa.uint8(),
    "bool": pa.bool_(),
    "string": pa.string(),
}
DTYPES = (*ARROW_TYPES, "video", "image")


class Problems(list[str]):
    """Problem lines, each starting with the file or folder it is about, under `root`."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def add(self, where: str | Path, message: str) -> None:
        self.append(f"{self.root / where}: {message}")


def check_dataset(root: str | Path) -> list[str]:
    """Every problem found, one line each; an empty list for a whole, consistent dataset."""
    root = Path(root)
    if not root.is_dir():
        return [f"{root}: no such folder"]
    if not (root / INFO_PATH).is_file():
        return [unfinished_reason(root)]
    out = Problems(root)
    try:
        info = load_json(root / INFO_PATH, "info")
    except DatasetError as err:
        return [str(err)]
    _check_info(info, root / INFO_PATH, out)
    if out:
        return out  # the rest is read through info: stop at its first problems
    try:
        tasks = read_tasks(root)
        episodes = read_episodes(root)
    except DatasetError as err:
        return [*out, str(err)]
    if len(tasks) != info["total_tasks"]:
        out.add(
            root / "meta/tasks.parquet",
            f"{len(tasks)} tasks, info.total_tasks says {info['total_tasks']}",
        )
    _check_episodes(root, info, episodes, tasks, out)
    if not out:
        _check_data(root, info, episodes, tasks, out)
        _check_videos(root, info, episodes, out)
    _check_stats(root, info, out)
    return out


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_info(info: Any, where: Path, out: Problems) -> None:
    if not isinstance(info, dict):
        out.add(where, "must be a JSON object")
        return
    if info.get("codebase_version") != CODEBASE_VERSION:
        out.add(
            where,
            f"codebase_version is {info.get('codebase_version')!r}, expected {CODEBASE_VERSION!r}",
        )
    for key, minimum in (
        ("fps", 1),
        ("total_episodes", 0),
        ("total_frames", 0),
        ("total_tasks", 0),
        ("chunks_size", 1),
    ):
        if not _is_int(info.get(key)) or info[key] < minimum:
            out.add(where, f"{key} must be an integer of at least {minimum}, got {info.get(key)!r}")
    for key in ("data_files_size_in_mb", "video_files_size_in_mb"):
        v = info.get(key)
        if not isinstance(v, int | float) or isinstance(v, bool) or v <= 0:
            out.add(where, f"{key} must be a positive number, got {v!r}")
    if info.get("robot_type") is not None and not isinstance(info["robot_type"], str):
        out.add(where, f"robot_type must be a string or null, got {info['robot_type']!r}")
    data_path = info.get("data_path")
    if (
        not isinstance(data_path, str)
        or "{chunk_index" not in data_path
        or "{file_index" not in data_path
    ):
        out.add(
            where,
            "data_path must be a template with {chunk_index} and {file_index}, "
            f"got {data_path!r}",
        )
    splits = info.get("splits")
    if not isinstance(splits, dict) or not all(
        isinstance(v, str) and v.count(":") == 1 for v in splits.values()
    ):
        out.add(where, f"splits must map split names to 'FROM:TO', got {splits!r}")
    features = info.get("features")
    if not isinstance(features, dict) or not features:
        out.add(where, "features must be a non-empty map")
        return
    for key, ft in features.items():
        _check_feature(key, ft, info, where, out)
    for key, want in INDEX_FEATURES.items():
        ft = features.get(key)
        if not isinstance(ft, dict):
            out.add(where, f"features.{key} missing (every LeRobot dataset has it)")
        elif ft.get("dtype") != want["dtype"]:
            out.add(
                where, f"features.{key}.dtype is {ft.get('dtype')!r}, expected {want['dtype']!r}"
            )
    video_path = info.get("video_path")
    if video_keys(features) and (
        not isinstance(video_path, str) or "{video_key}" not in video_path
    ):
        out.add(where, f"video_path must be a template with {{video_key}}, got {video_path!r}")
    total = info.get("total_episodes")
    train = splits.get("train") if isinstance(splits, dict) else None
    if _is_int(total) and train is not None and train != f"0:{total}":
        out.add(where, f"splits.train is {train!r}, expected '0:{total}'")


def _check_feature(key: str, ft: Any, info: dict[str, Any], where: Path, out: Problems) -> None:
    name = f"features.{key}"
    if not isinstance(ft, dict):
        out.add(where, f"{name} must be a map with dtype, shape and names")
        return
    dtype, shape, names = ft.get("dtype"), ft.get("shape"), ft.get("names")
    if dtype not in DTYPES:
        out.add(where, f"{name}.dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    if not isinstance(shape, list) or not shape or not all(_is_int(s) and s > 0 for s in shape):
        out.add(where, f"{name}.shape must be a list of positive integers, got {shape!r}")
        return
    if dtype in ("video", "image"):
        if len(shape) != 3 or shape[2] != 3:
            out.add(where, f"{name}.shape must be [height, width, 3], got {shape}")
        if names != ["height", "width", "channels"]:
            out.add(where, f"{name}.names must be ['height', 'width', 'channels'], got {names!r}")
        vinfo = ft.get("info")
        if dtype == "video" and isinstance(vinfo, dict):
            for field, want in (
                ("video.fps", info.get("fps")),
                ("video.height", shape[0]),
                ("video.width", shape[1]),
            ):
                if field in vinfo and vinfo[field] != want:
                    out.add(where, f"{name}.info.{field} is {vinfo[field]!r}, expected {want!r}")
    elif isinstance(names, list) and len(shape) == 1 and len(names) != shape[0]:
        out.add(where, f"{name}.names has {len(names)} entries for shape {shape}")
    elif names is not None and not isinstance(names, list | dict):
        out.add(where, f"{name}.names must be a list, a map or null, got {names!r}")


def _check_episodes(
    root: Path,
    info: dict[str, Any],
    episodes: list[dict[str, Any]],
    tasks: list[str],
    out: Problems,
) -> None:
    where = root / "meta/episodes"
    if len(episodes) != info["total_episodes"]:
        out.add(
            where, f"{len(episodes)} episodes, info.total_episodes says {info['total_episodes']}"
        )
    columns = [*EPISODE_COLUMNS] + [
        f"videos/{k}/{c}" for k in video_keys(info["features"]) for c in VIDEO_COLUMNS
    ]
    fps = info["fps"]
    start = 0
    for i, ep in enumerate(episodes):
        missing = [c for c in columns if ep.get(c) is None]
        if missing:
            out.add(where, f"episode row {i}: column {missing[0]!r} missing")
            return
        label = f"episode {ep['episode_index']}"
        if ep["episode_index"] != i:
            out.add(
                where,
                f"episode_index {ep['episode_index']} where {i} was expected "
                f"(0..{len(episodes) - 1})",
            )
        length = ep["length"]
        if not _is_int(length) or length < 1:
            out.add(where, f"{label}: length must be a positive integer, got {length!r}")
            continue
        if ep["dataset_from_index"] != start or ep["dataset_to_index"] != start + length:
            out.add(
                where,
                f"{label}: dataset_from_index/dataset_to_index are "
                f"{ep['dataset_from_index']}/{ep['dataset_to_index']}, "
                f"expected {start}/{start + length}",
            )
        start += length
        _check_labels(ep, label, info, where, out)
        unknown = [t for t in ep["tasks"] if t not in tasks]
        if unknown:
            out.add(where, f"{label}: task {unknown[0]!r} is not in meta/tasks.parquet")
        for key in video_keys(info["features"]):
            span = ep[f"videos/{key}/to_timestamp"] - ep[f"videos/{key}/from_timestamp"]
            if abs(span - length / fps) > 0.5 / fps:
                out.add(
                    where,
                    f"{label}: videos/{key} spans {span:.3f} s, "
                    f"its {length} frames take {length / fps:.3f} s",
                )
    if not out and start != info["total_frames"]:
        out.add(
            where,
            f"the episodes' lengths add up to {start}, "
            f"info.total_frames says {info['total_frames']}",
        )


def _check_labels(
    ep: dict[str, Any], label: str, info: dict[str, Any], where: Path, out: Problems
) -> None:
    """The skill labels of an episode row, where the dataset has them: `subgoals` JSON
    objects with a skill, `object_ids` distinct strings, at most one per object row."""
    subgoals, ids = ep.get("subgoals"), ep.get("object_ids")
    if subgoals is not None:
        if not isinstance(subgoals, list | tuple | np.ndarray):
            out.add(where, f"{label}: subgoals must be a list of JSON strings")
        else:
            for i, text in enumerate(subgoals):
                try:
                    goal = json.loads(text)
                except (TypeError, ValueError):
                    goal = None
                if not isinstance(goal, dict) or not isinstance(goal.get("skill"), str):
                    out.add(where, f"{label}: subgoals[{i}] is not a subgoal as JSON: {text!r}")
                    break
    if ids is not None:
        env = info["features"].get("observation.environment_state")
        rows = env["shape"][0] // len(POSE_NAMES) if env else 0
        if not isinstance(ids, list | tuple | np.ndarray) or not all(
            isinstance(o, str) for o in ids
        ):
            out.add(where, f"{label}: object_ids must be a list of strings")
        elif len(ids) > rows:
            out.add(where, f"{label}: {len(ids)} object_ids for {rows} object rows")
        elif len(set(ids)) != len(ids):
            out.add(where, f"{label}: object_ids repeat an id")


def _check_data(
    root: Path,
    info: dict[str, Any],
    episodes: list[dict[str, Any]],
    tasks: list[str],
    out: Problems,
) -> None:
    features = {k: f for k, f in info["features"].items() if f["dtype"] not in ("video", "image")}
    files = sorted({(ep["data/chunk_index"], ep["data/file_index"]) for ep in episodes})
    tables = []
    for chunk, file in files:
        path = data_file(root, info, chunk, file)
        if not path.is_file():
            out.add(path.relative_to(root), "missing (named by meta/episodes)")
            continue
        table = read_table(path)
        where = path.relative_to(root)
        for key, ft in features.items():
            if key not in table.column_names:
                out.add(where, f"column {key!r} missing (features.{key})")
                continue
            problem = _column_problem(table.column(key), ft)
            if problem:
                out.add(where, f"column {key!r} {problem} (features.{key})")
        keep = [*INDEX_FEATURES, SUBGOAL_INDEX]
        tables.append(table.select([k for k in keep if k in table.column_names]))
    if out:
        return
    frames = pa.concat_tables(tables)
    if frames.num_rows != info["total_frames"]:
        out.add("data", f"{frames.num_rows} frames, info.total_frames says {info['total_frames']}")
        return
    cols = {k: frames.column(k).to_numpy() for k in INDEX_FEATURES}
    if not np.array_equal(cols["index"], np.arange(frames.num_rows)):
        out.add("data", "column 'index' must count the frames 0, 1, 2, ... in file order")
    fps = info["fps"]
    for ep in episodes:
        a, b, label = (
            ep["dataset_from_index"],
            ep["dataset_to_index"],
            f"episode {ep['episode_index']}",
        )
        frame_index = cols["frame_index"][a:b]
        if not (cols["episode_index"][a:b] == ep["episode_index"]).all():
            out.add("data", f"{label}: rows {a}..{b - 1} have another episode_index")
        if not np.array_equal(frame_index, np.arange(b - a)):
            out.add("data", f"{label}: frame_index must run 0..{b - a - 1}")
        elif not np.allclose(cols["timestamp"][a:b], frame_index / fps, atol=1e-4):
            out.add("data", f"{label}: timestamp must be frame_index / fps ({fps})")
        if SUBGOAL_INDEX in frames.column_names:
            sub = frames.column(SUBGOAL_INDEX).slice(a, b - a).to_numpy()
            n_sub = len(ep.get("subgoals") or [])
            if len(sub) and (sub.min() < -1 or sub.max() >= n_sub):
                out.add(
                    "data",
                    f"{label}: subgoal_index outside -1..{n_sub - 1} (its episode has "
                    f"{n_sub} subgoals)",
                )
        task_index = cols["task_index"][a:b]
        if task_index.min() < 0 or task_index.max() >= len(tasks):
            out.add("data", f"{label}: task_index outside 0..{len(tasks) - 1}")
        elif {tasks[t] for t in set(task_index.tolist())} - set(ep["tasks"]):
            out.add("data", f"{label}: task_index names a task not in its episode's tasks")


def _column_problem(column: pa.ChunkedArray, ft: dict[str, Any]) -> str:
    want = ARROW_TYPES[ft["dtype"]]
    shape = ft["shape"]
    col = column.type
    if shape == [1] and not (pa.types.is_list(col) or pa.types.is_fixed_size_list(col)):
        return "" if col == want else f"is {col}, expected {want}"
    if not (pa.types.is_list(col) or pa.types.is_fixed_size_list(col)):
        return f"is {col}, expected lists of {shape[0]} {want}"
    if col.value_type != want:
        return f"holds {col.value_type}, expected {want}"
    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
    n = math.prod(shape)
    if len(lengths) and (lengths.min() != n or lengths.max() != n):
        return f"has {int(lengths.min())} values a row, shape {shape} needs {n}"
    return ""


def _check_videos(
    root: Path, info: dict[str, Any], episodes: list[dict[str, Any]], out: Problems
) -> None:
    fps = info["fps"]
    for key in video_keys(info["features"]):
        ft = info["features"][key]
        ends: dict[tuple[int, int], float] = {}
        for ep in episodes:
            f = (ep[f"videos/{key}/chunk_index"], ep[f"videos/{key}/file_index"])
            ends[f] = max(ends.get(f, 0.0), ep[f"videos/{key}/to_timestamp"])
        for (chunk, file), end in sorted(ends.items()):
            path = video_file(root, info, key, chunk, file)
            where = path.relative_to(root)
            if not path.is_file():
                out.add(where, f"missing (named by meta/episodes videos/{key})")
                continue
            try:
                p = video.probe(path)
            except Exception as err:  # PyAV raises its own errors for a broken file
                out.add(where, f"cannot be read as video ({type(err).__name__})")
                continue
            if [p.height, p.width] != ft["shape"][:2]:
                out.add(
                    where,
                    f"frames are {p.height}x{p.width}, features.{key}.shape says {ft['shape'][:2]}",
                )
            codec = ft.get("info", {}).get("video.codec")
            if codec and codec != p.codec:
                out.add(where, f"codec is {p.codec}, features.{key}.info.video.codec says {codec}")
            if p.frames < round(end * fps):
                out.add(where, f"{p.frames} frames; the episodes need {round(end * fps)}")


def _check_stats(root: Path, info: dict[str, Any], out: Problems) -> None:
    path = root / STATS_PATH
    if not path.is_file():
        out.add(STATS_PATH, "missing")
        return
    try:
        data = load_json(path, "stats")
    except DatasetError as err:
        out.append(str(err))
        return
    for key, ft in info["features"].items():
        if ft.get("dtype") == "string":
            continue
        s = data.get(key) if isinstance(data, dict) else None
        if not isinstance(s, dict):
            out.add(STATS_PATH, f"{key} missing")
            continue
        want = (3, 1, 1) if ft["dtype"] in ("video", "image") else tuple(ft["shape"])
        for name in STAT_NAMES:
            if name not in s:
                out.add(STATS_PATH, f"{key}.{name} missing")
                continue
            got = np.shape(s[name])
            expected = (1,) if name == "count" else want
            if got != expected:
                out.add(
                    STATS_PATH, f"{key}.{name} has shape {list(got)}, expected {list(expected)}"
                )
