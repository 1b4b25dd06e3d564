"""Failure videos: a failed episode run again with the executor recording the main camera.

Each instruction gets a title card (family, seed, status, the instruction, the plan, the reason
it failed) and then the executor's recording, whose frames carry the running subgoal at the
bottom and the instruction at the top. A Chain's instructions follow one another in one file.
"""

from __future__ import annotations

import tempfile
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from robot_llm.bench.episode import EpisodeSpec, run_episode
from robot_llm.config import StackConfig

TITLE_SECONDS = 2.5
DEFAULT_SIZE = (480, 640)  # frame height, width when nothing was recorded
DEFAULT_FPS = 3.0


def record_failure(spec: EpisodeSpec, stack: StackConfig, path: str) -> dict[str, Any]:
    """Re-run `spec` with video and write the captioned mp4 to `path`.

    Returns {"key", "video", "status", "success"}: the status of the re-run, so the report can
    say whether it reproduced the failure (episodes are deterministic, so it should).
    """
    with tempfile.TemporaryDirectory(prefix="bench-video-") as tmp:
        row = run_episode(spec, stack, video_dir=tmp)
        plans = row.get("plan")
        plans = plans if isinstance(plans, list) else [plans]
        instructions = row.get("instructions") or [row.get("instruction", "")]
        frames: list[np.ndarray] = []
        fps = DEFAULT_FPS
        for k, text in enumerate(instructions):
            clip, clip_fps = read_frames(Path(tmp) / f"turn-{k}.mp4")
            fps = clip_fps or fps
            size = clip[0].shape[:2] if clip else (frames[0].shape[:2] if frames else DEFAULT_SIZE)
            last = k == len(instructions) - 1
            lines = _title_lines(
                spec, row, k, str(text), plans[k] if k < len(plans) else None, last
            )
            frames += [title_card(lines, size)] * max(1, round(TITLE_SECONDS * fps))
            frames += [caption_top(f, f"{k + 1}. {text}") for f in clip]
        from robot_llm.media import write_mp4

        write_mp4(path, frames, fps=fps)
    return {
        "key": spec.key,
        "video": path,
        "status": row.get("status"),
        "success": bool(row.get("success")),
    }


def video_job(spec: EpisodeSpec, stack: StackConfig, name: str) -> dict[str, Any]:
    """`record_failure` for a worker, local or on another machine: the mp4 comes back as bytes
    in `data` (the caller writes it), and an error as `error`, not as an exception."""
    with tempfile.TemporaryDirectory(prefix="bench-video-") as tmp:
        target = Path(tmp) / "failure.mp4"
        try:
            result = record_failure(spec, stack, str(target))
            result["data"] = target.read_bytes()
        except Exception as err:
            return {"key": spec.key, "video": name, "error": f"{type(err).__name__}: {err}"}
    result["video"] = name
    return result


def read_frames(path: Path) -> tuple[list[np.ndarray], float]:
    """RGB frames and frame rate of an mp4 file; ([], 0.0) when there is none."""
    import cv2

    if not path.is_file():
        return [], 0.0
    cap = cv2.VideoCapture(str(path))
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    cap.release()
    return frames, fps


def plan_lines(plan: dict[str, Any] | None) -> list[str]:
    """A plan result as numbered steps, or the question or refusal it was instead."""
    if not plan:
        return ["(no plan)"]
    kind = plan.get("type")
    if kind == "clarify":
        return [f"the planner asks: {plan.get('question', '')}"]
    if kind == "refuse":
        return [f"the planner refused: {plan.get('reason', '')}"]
    steps = []
    for i, s in enumerate(plan.get("subgoals", []), 1):
        args = " ".join(f"{k}={v}" for k, v in s.items() if k != "skill")
        steps.append(f"{i}. {s.get('skill')} {args}".rstrip())
    return steps or ["(empty plan)"]


def _title_lines(
    spec: EpisodeSpec,
    row: dict[str, Any],
    k: int,
    text: str,
    plan: dict[str, Any] | None,
    last: bool,
) -> list[str]:
    head = f"{spec.family} seed {spec.seed} ({spec.split})"
    if row.get("instructions"):
        head += f" - instruction {k + 1} of {len(row['instructions'])}"
    lines = [head, f'"{text}"', "plan:", *plan_lines(plan)]
    if last:
        lines += ["", f"result: {row.get('status')} - {row.get('reason') or 'success'}"]
    return lines


def title_card(lines: list[str], size: tuple[int, int]) -> np.ndarray:
    """A dark frame of `size` (height, width) with wrapped lines of white text."""
    import cv2

    h, w = size
    card = np.full((h, w, 3), 24, dtype=np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = w / 1100.0
    (ten, text_h), _ = cv2.getTextSize("abcdefghij", font, scale, 1)
    step = int(text_h * 1.8)
    width = max(20, int((w - 24) / (ten / 10)))
    y = step + 6
    for line in lines:
        for part in textwrap.wrap(line, width) or [""]:
            if y > h - 6:
                return card
            cv2.putText(card, part, (12, y), font, scale, (255, 255, 255), 1, cv2.LINE_AA)
            y += step
    return card


def caption_top(frame: np.ndarray, text: str) -> np.ndarray:
    """A copy of an RGB frame with `text` on a dark band along the top edge."""
    import cv2

    out = np.ascontiguousarray(frame.copy())
    h, w = out.shape[:2]
    band = max(18, h // 18)
    out[:band] = (out[:band] * 0.35).astype(np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = band / 34.0
    (ten, _), _ = cv2.getTextSize("abcdefghij", font, scale, 1)
    limit = max(10, int((w - 12) / (ten / 10)))
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    cv2.putText(out, text, (6, band - band // 4 - 2), font, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out
