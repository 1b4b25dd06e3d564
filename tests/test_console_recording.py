"""The console's episode recording: the JSON-lines event log and the clip-by-clip mp4 video."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from robot_llm.console.recording import EpisodeRecorder, RecordingError
from robot_llm.errors import InputError
from robot_llm.types import Scene, SceneObject

RED, BLUE = (220, 30, 30), (30, 30, 220)


class Clock:
    """A settable clock, so the frame-rate limit is tested without sleeping."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def frame(rgb: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> np.ndarray:
    w, h = size
    return np.full((h, w, 3), rgb, np.uint8)


def read_video(path: Path) -> list[np.ndarray]:
    """The frames of a video as RGB."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    ok, bgr = capture.read()
    while ok:
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        ok, bgr = capture.read()
    capture.release()
    return frames


def feed(recorder: EpisodeRecorder, clock: Clock, image: np.ndarray, n: int, dt: float) -> int:
    """Offer n frames dt seconds apart; how many were written."""
    written = 0
    for _ in range(n):
        written += recorder.add_frame(image)
        clock.now += dt
    return written


# -- the event log --------------------------------------------------------------------------------
def test_events_are_json_lines_with_a_time(tmp_path: Path) -> None:
    recorder = EpisodeRecorder(tmp_path / "episode")
    log = recorder.log_path()
    assert log == tmp_path / "episode" / "episode.jsonl"
    assert log.exists() and log.read_text() == ""

    block = SceneObject("red_block", "block", "red", "medium", (0.4, 0.1, 0.02))
    recorder.add_event({"type": "turn", "command": "pick up the red block"})
    recorder.add_event({"type": "state", "time": 12.5, "gripper": np.float32(0.5)})
    recorder.add_event({"type": "done", "scene": Scene((block,)), "where": np.array([1, 2])})
    lines = log.read_text(encoding="utf-8").splitlines()  # readable before close: flushed

    events = [json.loads(line) for line in lines]
    assert events[0]["command"] == "pick up the red block" and events[0]["time"] > 1e9
    assert events[1] == {"type": "state", "time": 12.5, "gripper": 0.5}
    assert events[2]["scene"]["objects"][0]["id"] == "red_block"
    assert events[2]["where"] == [1, 2]
    recorder.close()


def test_events_from_many_threads_stay_whole_lines(tmp_path: Path) -> None:
    recorder = EpisodeRecorder(tmp_path)

    def write(k: int) -> None:
        for i in range(50):
            recorder.add_event({"type": "log", "text": f"thread {k} line {i} " + "x" * 200})

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    recorder.close()

    events = [json.loads(line) for line in recorder.log_path().read_text().splitlines()]
    assert len(events) == 200
    assert len({e["text"] for e in events}) == 200


# -- the video ------------------------------------------------------------------------------------
def test_only_frames_inside_a_clip_are_recorded(tmp_path: Path) -> None:
    clock = Clock()
    recorder = EpisodeRecorder(tmp_path, fps=10, clock=clock)

    assert feed(recorder, clock, frame(RED), 5, 0.1) == 0
    assert recorder.video_path() is None  # nothing recorded yet
    recorder.start_clip()
    assert recorder.recording
    recorder.end_clip()  # an empty clip leaves no file
    assert recorder.video_path() is None
    assert not list(tmp_path.glob("*.mp4"))
    recorder.close()


def test_video_joins_the_clips_in_order_at_one_size(tmp_path: Path) -> None:
    clock = Clock()
    recorder = EpisodeRecorder(tmp_path, fps=10, clock=clock)

    recorder.start_clip()
    assert feed(recorder, clock, frame(RED), 5, 0.1) == 5
    assert (tmp_path / "clip-001.mp4").exists()  # frames go to disk as they come
    recorder.end_clip()
    assert feed(recorder, clock, frame(RED), 5, 0.1) == 0  # between clips
    recorder.start_clip()
    assert feed(recorder, clock, frame(BLUE, size=(80, 60)), 3, 0.1) == 3  # resized
    recorder.end_clip()

    path = recorder.video_path()
    assert path == tmp_path / "episode.mp4"
    frames = read_video(path)
    assert len(frames) == 8 == recorder.frames
    assert {f.shape for f in frames} == {(48, 64, 3)}
    first, last = frames[0][24, 32].astype(int), frames[-1][24, 32].astype(int)
    assert first[0] > 150 and first[2] < 80  # red clip first
    assert last[2] > 150 and last[0] < 80  # then blue
    recorder.close()


def test_frames_faster_than_fps_are_dropped(tmp_path: Path) -> None:
    clock = Clock()
    recorder = EpisodeRecorder(tmp_path, fps=10, clock=clock)
    recorder.start_clip()

    written = feed(recorder, clock, frame(RED), 60, 1 / 30)  # 2 s at 30 fps
    clock.now += 0.5
    slow = feed(recorder, clock, frame(RED), 5, 0.5)  # slower than fps: all kept

    assert 19 <= written <= 21
    assert slow == 5
    path = recorder.video_path()
    assert path is not None and len(read_video(path)) == written + slow
    recorder.close()


def test_a_jittery_feed_at_fps_keeps_nearly_every_frame(tmp_path: Path) -> None:
    clock = Clock()
    recorder = EpisodeRecorder(tmp_path, fps=10, clock=clock)
    recorder.start_clip()
    jitter = np.random.default_rng(3).uniform(-0.02, 0.02, 50)
    written = 0
    for k, e in enumerate(jitter):
        clock.now = 100.0 + k / 10 + e
        written += recorder.add_frame(frame(RED))
    assert written >= 45
    recorder.close()


def test_asking_for_the_video_while_recording_goes_on_recording(tmp_path: Path) -> None:
    clock = Clock()
    recorder = EpisodeRecorder(tmp_path, fps=10, clock=clock)
    recorder.start_clip()
    feed(recorder, clock, frame(RED), 4, 0.1)

    first = recorder.video_path()
    assert first is not None and len(read_video(first)) == 4
    assert recorder.recording
    stamp = first.stat().st_mtime_ns
    assert recorder.video_path() == first and first.stat().st_mtime_ns == stamp  # not rebuilt

    feed(recorder, clock, frame(BLUE), 3, 0.1)
    recorder.end_clip()
    second = recorder.video_path()
    assert second is not None and len(read_video(second)) == 7
    assert sorted(p.name for p in tmp_path.glob("clip-*.mp4")) == ["clip-001.mp4", "clip-002.mp4"]
    recorder.close()


def test_close_finishes_the_clip_and_keeps_the_video(tmp_path: Path) -> None:
    clock = Clock()
    recorder = EpisodeRecorder(tmp_path, fps=10, clock=clock)
    recorder.start_clip()
    feed(recorder, clock, frame(RED), 3, 0.1)

    recorder.close()
    recorder.close()  # idempotent

    assert not recorder.recording
    assert not recorder.add_frame(frame(RED))
    with pytest.raises(RuntimeError, match="closed"):
        recorder.add_event({"type": "log"})
    with pytest.raises(RuntimeError, match="closed"):
        recorder.start_clip()
    path = recorder.video_path()
    assert path is not None and len(read_video(path)) == 3


def test_a_new_recorder_replaces_an_old_episode(tmp_path: Path) -> None:
    clock = Clock()
    old = EpisodeRecorder(tmp_path, fps=10, clock=clock)
    old.add_event({"type": "log"})
    old.start_clip()
    feed(old, clock, frame(RED), 3, 0.1)
    assert old.video_path() is not None
    old.close()

    new = EpisodeRecorder(tmp_path)
    assert new.log_path().read_text() == ""
    assert new.video_path() is None and not list(tmp_path.glob("*.mp4"))
    new.close()


def test_bad_folders_and_frames_are_clear_errors(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    with pytest.raises(
        RecordingError, match=r"notes\.txt: cannot record the episode here: not a folder"
    ):
        EpisodeRecorder(a_file)
    with pytest.raises(InputError, match="cannot record"):
        EpisodeRecorder(a_file / "episode")
    with pytest.raises(ValueError, match="fps"):
        EpisodeRecorder(tmp_path, fps=0)

    recorder = EpisodeRecorder(tmp_path)
    recorder.start_clip()
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        recorder.add_frame(np.zeros((48, 64), np.uint8))
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        recorder.add_frame(np.zeros((48, 64, 3), np.float32))
    recorder.close()
