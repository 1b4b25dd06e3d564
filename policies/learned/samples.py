"""Training samples of one skill from recorded datasets: (features, action chunk, padding).

A demonstration of a skill is the last run of frames labelled with one of its subgoals
(`subgoal_index`; a retried subgoal keeps only its final attempt) in an episode that has the
skill labels (`subgoals`, `object_ids`, `observation.ee_pose`: `robot-llm record --source
scripted`). The objects are read as they were on the run's first frame, as the executor
perceives once per skill. Pure numpy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from robot_llm.datasets import open_dataset
from robot_llm.datasets.format import DatasetError
from robot_llm.policies.learned.features import (
    ACTION_SIZE,
    DONE_FRAMES,
    SKILLS,
    FeatureError,
    ObjectPose,
    anchor_of,
    encode_action,
    env_features,
    frame_yaw,
    hand_yaw,
    height_from_rest,
    kind_of,
    quat_yaw,
    state_features,
    target_of,
)
from robot_llm.types import Subgoal

MIN_FRAMES = 5  # shorter runs are not demonstrations


@dataclass
class Samples:
    """Arrays of one skill's frames; `episode[i]` names the demonstration frame i came from."""

    state: np.ndarray  # (N, STATE_SIZE)
    env: np.ndarray  # (N, ENV_SIZE)
    action: np.ndarray  # (N, chunk, ACTION_SIZE)
    is_pad: np.ndarray  # (N, chunk) bool
    episode: np.ndarray  # (N,) int: demonstration number
    demos: list[str] = field(default_factory=list)  # "dataset#episode: subgoal" per demo

    def __len__(self) -> int:
        return len(self.state)

    def select(self, mask: np.ndarray) -> Samples:
        return Samples(
            self.state[mask],
            self.env[mask],
            self.action[mask],
            self.is_pad[mask],
            self.episode[mask],
            self.demos,
        )


def _poses(env_row: np.ndarray, ids: list[str], rest: np.ndarray) -> dict[str, ObjectPose]:
    """Object poses by id from one frame's object table (`rest`: the episode's first frame,
    for heights of objects at rest)."""
    table = env_row.reshape(-1, 7)
    first = rest.reshape(-1, 7)
    out = {}
    for i, oid in enumerate(ids):
        kind = kind_of(oid)
        row = table[i]
        out[oid] = ObjectPose(
            (float(row[0]), float(row[1]), float(row[2])),
            quat_yaw(row[3:7]),
            kind,
            height_from_rest(kind, float(first[i][2])),
        )
    return out


def _runs(labels: np.ndarray, index: int) -> list[tuple[int, int]]:
    """[start, end) runs of frames labelled `index`."""
    hit = np.flatnonzero(labels == index)
    if not len(hit):
        return []
    breaks = np.flatnonzero(np.diff(hit) > 1)
    starts = [hit[0], *hit[breaks + 1]]
    ends = [*(hit[breaks] + 1), hit[-1] + 1]
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def demonstration(
    frames: dict[str, np.ndarray],
    start: int,
    end: int,
    subgoal: Subgoal,
    ids: list[str],
    chunk: int,
    fps: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Features, action chunks and padding of frames [start, end) performing `subgoal`
    (no step is padding: past the end a chunk repeats the last command, done)."""
    ee = frames["observation.ee_pose"]
    env = frames["observation.environment_state"]
    width = frames["observation.state"][:, -1]
    act = frames["action"]
    poses = _poses(env[start], ids, env[0])
    obj = poses.get(subgoal.object or "")
    if obj is None:
        raise FeatureError(f"object {subgoal.object!r} is not among the recorded objects")
    target = target_of(subgoal, poses)
    anchor = anchor_of(subgoal.skill, obj, target)
    frame = frame_yaw(subgoal.skill, obj, target)
    n = end - start
    states, envs = [], []
    actions = np.zeros((n, chunk, ACTION_SIZE), dtype=np.float32)
    pad = np.zeros((n, chunk), dtype=bool)
    yaws = [hand_yaw(ee[t, 3:7]) for t in range(start, end)]
    for k, t in enumerate(range(start, end)):
        hand, yaw = ee[t, :3], yaws[k]
        states.append(state_features(hand, yaw, float(width[t]), k / fps, frame))
        envs.append(env_features(subgoal.skill, hand, yaw, obj, target, frame))
        for j in range(chunk):
            # Past the end the chunk holds the last command with `done` set (and is trained,
            # not masked): the policy learns to say done ahead of time, not only on the last
            # few frames, which look much like the frames before them.
            u = min(t + j, end - 1)
            done = 1.0 if t + j >= end - DONE_FRAMES else 0.0
            a = act[u]
            actions[k, j] = encode_action(a[:3], float(a[3]), float(a[4]), done, anchor, yaw, frame)
    return np.stack(states), np.stack(envs), actions, pad


def load_samples(datasets: list[str], skill: str, chunk: int) -> Samples:
    """All demonstrations of `skill` in the datasets (folders); DatasetError when none."""
    if skill not in SKILLS:
        raise DatasetError(f"--skill {skill!r} is not one of {', '.join(SKILLS)}")
    parts: list[tuple[np.ndarray, ...]] = []
    demos: list[str] = []
    for root in datasets:
        ds = open_dataset(root)
        for key in ("observation.ee_pose", "subgoal_index", "observation.environment_state"):
            if key not in ds.features:
                raise DatasetError(
                    f"{root}: no {key!r} column; record it again with this version "
                    "(robot-llm record --source scripted)"
                )
        for i, ep in enumerate(ds.episodes):
            if not ep.get("success") or not ep.get("subgoals"):
                continue
            subgoals = [Subgoal.from_dict(json.loads(s)) for s in ep["subgoals"]]
            ids = [str(o) for o in ep.get("object_ids") or []]
            frames: dict[str, Any] | None = None
            for g, subgoal in enumerate(subgoals):
                if subgoal.skill != skill:
                    continue
                if frames is None:
                    frames = ds.episode_frames(i)
                runs = _runs(np.asarray(frames["subgoal_index"]).reshape(-1), g)
                if not runs or runs[-1][1] - runs[-1][0] < MIN_FRAMES:
                    continue
                a, b = runs[-1]
                try:
                    s, e, act, pad = demonstration(frames, a, b, subgoal, ids, chunk, ds.fps)
                except FeatureError:
                    continue
                number = len(demos)
                demos.append(f"{Path(root).name}#{i}: {json.dumps(subgoal.to_dict())}")
                parts.append((s, e, act, pad, np.full(len(s), number)))
    if not parts:
        raise DatasetError(
            f"no demonstrations of {skill!r} in {', '.join(datasets)} (successful episodes "
            "with skill labels)"
        )
    state, env, action, pad, episode = (np.concatenate([p[k] for p in parts]) for k in range(5))
    return Samples(state, env, action, pad, episode, demos)


def feature_stats(x: np.ndarray) -> dict[str, np.ndarray]:
    """mean, std, min, max over the leading axes (std floored so constant features pass)."""
    flat = x.reshape(-1, x.shape[-1]).astype(np.float64)
    return {
        "mean": flat.mean(0),
        "std": np.maximum(flat.std(0), 1e-3),
        "min": flat.min(0),
        "max": flat.max(0),
    }
