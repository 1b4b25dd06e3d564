"""The facts of LeRobot's dataset format v3.0 that this package writes and checks.

A dataset is a folder: `meta/info.json` (what the features are, the counts, the path
templates), `meta/stats.json`, `meta/tasks.parquet`, `meta/episodes/chunk-XXX/file-XXX.parquet`
(one row per episode: where its frames and video segments are), `data/chunk-XXX/file-XXX.parquet`
(one row per frame) and one mp4 per camera under `videos/<key>/chunk-XXX/file-XXX.mp4`, each
holding many episodes one after the other. `meta/info.json` is written last: a folder without
it is an unfinished recording.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from robot_llm.errors import InputError

CODEBASE_VERSION: Final = "v3.0"
CHUNKS_SIZE: Final = 1000  # files per chunk folder
DATA_FILES_SIZE_IN_MB: Final = 100  # a data file is closed once it is this large
VIDEO_FILES_SIZE_IN_MB: Final = 200  # likewise a video file
DATA_PATH: Final = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH: Final = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH: Final = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
INFO_PATH: Final = "meta/info.json"
STATS_PATH: Final = "meta/stats.json"
TASKS_PATH: Final = "meta/tasks.parquet"

MAIN_IMAGE: Final = "observation.images.main"
WRIST_IMAGE: Final = "observation.images.wrist"
VIDEO_KEYS: Final = (MAIN_IMAGE, WRIST_IMAGE)
VIDEO_CODEC: Final = "h264"  # what LeRobot's decoders (torchcodec, pyav) read; libx264 writes it
VIDEO_PIX_FMT: Final = "yuv420p"
STAT_NAMES: Final = ("min", "max", "mean", "std", "count")
# Columns every LeRobot dataset has, besides its own features.
INDEX_FEATURES: Final[dict[str, dict[str, Any]]] = {
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}
# One row of the object table of `observation.environment_state`: position and quaternion.
POSE_NAMES: Final = ("x", "y", "z", "qx", "qy", "qz", "qw")
# The action: the end-effector target the robot was sent after its limits (table frame, tool
# down, yaw about +z) and the gripper opening (0 closed, 1 open): a `Robot.command_ee` call.
ACTION_NAMES: Final = ("ee_x", "ee_y", "ee_z", "ee_yaw", "gripper")
EPISODE_COLUMNS: Final = (
    "episode_index",
    "tasks",
    "length",
    "data/chunk_index",
    "data/file_index",
    "dataset_from_index",
    "dataset_to_index",
    "meta/episodes/chunk_index",
    "meta/episodes/file_index",
)
# Per-episode skill labels (meta/episodes): the subgoals run, as JSON objects (Subgoal.to_dict(),
# `subgoal_index` indexes them), and the object ids of `observation.environment_state`'s rows.
SUBGOAL_INDEX: Final = "subgoal_index"
EE_POSE: Final = "observation.ee_pose"
LABEL_COLUMNS: Final = ("subgoals", "object_ids")
VIDEO_COLUMNS: Final = ("chunk_index", "file_index", "from_timestamp", "to_timestamp")


class DatasetError(InputError):
    """A folder that is not a whole dataset of this format; the message names what and where."""


def vector(names: Sequence[str], dtype: str = "float32") -> dict[str, Any]:
    return {"dtype": dtype, "shape": [len(names)], "names": list(names)}


def scalar(dtype: str) -> dict[str, Any]:
    return {"dtype": dtype, "shape": [1], "names": None}


def video_feature(width: int, height: int, fps: int) -> dict[str, Any]:
    return {
        "dtype": "video",
        "shape": [height, width, 3],
        "names": ["height", "width", "channels"],
        "info": {
            "video.height": height,
            "video.width": width,
            "video.codec": VIDEO_CODEC,
            "video.pix_fmt": VIDEO_PIX_FMT,
            "video.is_depth_map": False,
            "video.fps": fps,
            "video.channels": 3,
            "has_audio": False,
        },
    }


def make_features(
    joint_names: Sequence[str], n_objects: int, width: int, height: int, fps: int
) -> dict[str, dict[str, Any]]:
    """The features of a recording, in column order (index columns last, as LeRobot does)."""
    objects = [f"object{i}.{p}" for i in range(n_objects) for p in POSE_NAMES]
    features: dict[str, dict[str, Any]] = {
        "observation.state": vector([*joint_names, "gripper_width"]),
        # The hand (end-effector) pose in the table frame, for state policies over the hand.
        EE_POSE: vector(POSE_NAMES),
        MAIN_IMAGE: video_feature(width, height, fps),
        WRIST_IMAGE: video_feature(width, height, fps),
        "action": vector(ACTION_NAMES),
        "next.reward": scalar("float32"),
        "next.success": scalar("bool"),
        "next.done": scalar("bool"),
        # The subgoal in force: an index into the episode's `subgoals` (meta/episodes), or -1.
        SUBGOAL_INDEX: scalar("int64"),
    }
    if n_objects:
        features["observation.environment_state"] = vector(objects)
    return {**features, **INDEX_FEATURES}


def make_info(
    features: dict[str, dict[str, Any]],
    fps: int,
    robot_type: str,
    total_episodes: int,
    total_frames: int,
    total_tasks: int,
) -> dict[str, Any]:
    return {
        "codebase_version": CODEBASE_VERSION,
        "robot_type": robot_type,
        "total_episodes": total_episodes,
        "total_frames": total_frames,
        "total_tasks": total_tasks,
        "chunks_size": CHUNKS_SIZE,
        "data_files_size_in_mb": DATA_FILES_SIZE_IN_MB,
        "video_files_size_in_mb": VIDEO_FILES_SIZE_IN_MB,
        "fps": fps,
        "splits": {"train": f"0:{total_episodes}"},
        "data_path": DATA_PATH,
        "video_path": VIDEO_PATH,
        "features": features,
    }


def video_keys(features: dict[str, dict[str, Any]]) -> list[str]:
    return [k for k, f in features.items() if f.get("dtype") == "video"]


def data_file(root: Path, info: dict[str, Any], chunk: int, file: int) -> Path:
    return root / str(info["data_path"]).format(chunk_index=chunk, file_index=file)


def video_file(root: Path, info: dict[str, Any], key: str, chunk: int, file: int) -> Path:
    return root / str(info["video_path"]).format(video_key=key, chunk_index=chunk, file_index=file)


def next_file(chunk: int, file: int) -> tuple[int, int]:
    """The chunk and file index after (chunk, file): CHUNKS_SIZE files to a chunk."""
    return (chunk + 1, 0) if file + 1 >= CHUNKS_SIZE else (chunk, file + 1)
