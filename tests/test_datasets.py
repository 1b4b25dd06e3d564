"""Recorded datasets in LeRobot's format v3.0: a recording read back, checked, corrupted, resumed.

Two short oracle episodes of PickPlace at 128x96 are recorded once for the module (a few
seconds); the tests read them back, compare them with the same seeded episodes run again, and
check that `dataset check` names what a corrupted copy gets wrong.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from robot_llm.cli import main
from robot_llm.datasets import (
    DatasetError,
    RecordConfig,
    RecordResult,
    check_dataset,
    open_dataset,
    record,
)
from robot_llm.datasets.episodes import run_episode
from robot_llm.datasets.recording import _record_one, prepare
from robot_llm.errors import BAD_INPUT, OK

CONFIG = RecordConfig(task="robot_llm/PickPlace-v0", source="oracle", seed=3, width=128, height=96)
MAIN = "observation.images.main"
WRIST = "observation.images.wrist"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RecordResult, list[str]]:
    out = tmp_path_factory.mktemp("datasets") / "pick"
    lines: list[str] = []
    result = record(out, CONFIG, episodes=2, workers=1, progress=lines.append)
    return out, result, lines


def test_a_recording_is_a_whole_dataset_in_lerobot_layout(recorded) -> None:
    out, result, lines = recorded
    assert result.episodes == 2 and result.recorded_now == 2 and result.succeeded == 2
    assert [line.startswith("record: 1/2 episodes, seed 3:") for line in lines[:1]] == [True]
    for rel in (
        "meta/info.json",
        "meta/stats.json",
        "meta/tasks.parquet",
        "meta/episodes/chunk-000/file-000.parquet",
        "data/chunk-000/file-000.parquet",
        f"videos/{MAIN}/chunk-000/file-000.mp4",
        f"videos/{WRIST}/chunk-000/file-000.mp4",
    ):
        assert (out / rel).is_file(), rel
    assert not (out / ".staging").exists()
    info = json.loads((out / "meta/info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["fps"] == 12
    assert info["robot_type"] == "panda" and info["total_episodes"] == 2
    assert info["total_frames"] == result.frames and info["splits"] == {"train": "0:2"}
    features = info["features"]
    assert features["observation.state"]["shape"] == [8]
    assert features["observation.state"]["names"][-1] == "gripper_width"
    assert features["action"]["names"] == ["ee_x", "ee_y", "ee_z", "ee_yaw", "gripper"]
    assert features[MAIN]["dtype"] == "video" and features[MAIN]["shape"] == [96, 128, 3]
    assert features["observation.environment_state"]["shape"] == [16 * 7]
    for key in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
        assert features[key]["shape"] == [1]
    # LeRobot reads tasks with pandas: the task text is the index.
    tasks = pq.read_table(out / "meta/tasks.parquet")
    assert json.loads(tasks.schema.metadata[b"pandas"])["index_columns"] == ["task"]
    assert check_dataset(out) == []


def test_frames_read_back_equal_the_same_seeded_episode_run_again(recorded) -> None:
    out, _, _ = recorded
    ds = open_dataset(out)
    again = run_episode(CONFIG, CONFIG.seed + 1)  # episode 1
    frames = ds.episode_frames(1)
    n = len(again)
    assert ds.episodes[1]["length"] == n and ds.episodes[1]["seed"] == CONFIG.seed + 1
    np.testing.assert_array_equal(frames["observation.state"], np.stack(again.state))
    np.testing.assert_array_equal(frames["action"], np.stack(again.action))
    np.testing.assert_array_equal(frames["observation.environment_state"][0], again.environment[0])
    np.testing.assert_array_equal(frames["frame_index"], np.arange(n))
    np.testing.assert_allclose(frames["timestamp"], np.arange(n) / 12, atol=1e-6)
    assert frames["index"][0] == ds.episodes[0]["length"]
    assert frames["next.done"].tolist() == [False] * (n - 1) + [True]
    assert bool(frames["next.success"][-1]) is again.outcome is True
    assert ds.tasks[int(frames["task_index"][0])] == again.tasks[0]
    for key, raw in ((MAIN, again.main), (WRIST, again.wrist)):
        decoded = ds.video_frames(key, 1)
        assert decoded.shape == (n, 96, 128, 3)
        error = np.abs(decoded.astype(int) - np.stack(raw).astype(int)).mean(axis=(1, 2, 3))
        assert error.max() < 4.0, key  # H.264 at crf 23: a few levels of 255 on average
    one = ds.frame_at(MAIN, 1, 5 / 12)
    assert np.abs(one.astype(int) - raw_frame(again.main, 5)).mean() < 4.0


def raw_frame(frames: list[np.ndarray], i: int) -> np.ndarray:
    return frames[i].astype(int)


def test_stats_describe_the_frames(recorded) -> None:
    out, _, _ = recorded
    ds = open_dataset(out)
    data = pq.read_table(out / "data/chunk-000/file-000.parquet")
    action = np.asarray(data.column("action").to_pylist())
    s = ds.stats["action"]
    np.testing.assert_allclose(s["mean"], action.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s["std"], action.std(axis=0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(s["max"], action.max(axis=0), rtol=1e-6)
    assert s["count"].tolist() == [len(action)]
    image = ds.stats[MAIN]
    assert image["mean"].shape == (3, 1, 1) and image["std"].shape == (3, 1, 1)
    assert 0.0 <= image["min"].min() <= image["mean"].min() <= image["max"].max() <= 1.0
    episodes = pq.read_table(out / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert np.shape(episodes[0][f"stats/{MAIN}/mean"]) == (3, 1, 1)
    assert episodes[1]["dataset_from_index"] == episodes[0]["dataset_to_index"]
    assert episodes[1][f"videos/{MAIN}/from_timestamp"] == pytest.approx(episodes[0]["length"] / 12)


@pytest.mark.parametrize(
    ("corrupt", "named"),
    [
        (lambda info: info["features"]["action"].update(shape=[4]), "features.action"),
        (lambda info: info.update(total_frames=info["total_frames"] + 1), "total_frames"),
        (lambda info: info.update(codebase_version="v2.1"), "codebase_version"),
        (lambda info: info["features"][MAIN].update(shape=[48, 64, 3]), MAIN),
        (lambda info: info["features"].pop("frame_index"), "features.frame_index"),
    ],
)
def test_check_names_a_corrupted_info_field(recorded, tmp_path: Path, corrupt, named) -> None:
    copy = shutil.copytree(recorded[0], tmp_path / "copy")
    info = json.loads((copy / "meta/info.json").read_text())
    corrupt(info)
    (copy / "meta/info.json").write_text(json.dumps(info))
    problems = check_dataset(copy)
    assert problems and any(named in line for line in problems), problems
    assert all("\n" not in line for line in problems)


def test_check_names_corrupted_files(recorded, tmp_path: Path, capsys) -> None:
    copy = shutil.copytree(recorded[0], tmp_path / "copy")
    stats = json.loads((copy / "meta/stats.json").read_text())
    del stats["action"]["std"]
    (copy / "meta/stats.json").write_text(json.dumps(stats))
    video = copy / f"videos/{WRIST}/chunk-000/file-000.mp4"
    video.write_bytes(video.read_bytes()[:300])
    assert main(["dataset", "check", str(copy)]) == BAD_INPUT
    err = capsys.readouterr().err.splitlines()
    assert any("meta/stats.json: action.std missing" in line for line in err), err
    assert any(f"videos/{WRIST}/chunk-000/file-000.mp4" in line for line in err), err


def test_an_interrupted_recording_fails_check_and_resumes(recorded, tmp_path: Path, capsys) -> None:
    out = tmp_path / "pick"
    prepare(out, CONFIG, 2, resume=False)
    _record_one(str(out), CONFIG.to_dict(), 0)  # episode 0 staged, then "interrupted"
    (out / ".staging" / "tmp-000001-999").mkdir()  # the episode that was in flight
    assert main(["dataset", "check", str(out)]) == BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "meta/info.json missing: an unfinished recording" in err[0]
    with pytest.raises(DatasetError, match="unfinished recording; continue it with --resume"):
        record(out, CONFIG, 2)
    with pytest.raises(DatasetError, match="differs in seed"):
        record(out, RecordConfig(**{**CONFIG.to_dict(), "seed": 4}), 2, resume=True)
    result = record(out, CONFIG, 2, resume=True)
    assert result.recorded_now == 1 and result.episodes == 2
    assert check_dataset(out) == []
    # The same seeds give the same dataset, however it was recorded.
    for rel in ("data/chunk-000/file-000.parquet", f"videos/{MAIN}/chunk-000/file-000.mp4"):
        assert (out / rel).read_bytes() == (recorded[0] / rel).read_bytes(), rel


def test_record_refuses_bad_input_with_one_line(recorded, tmp_path: Path, capsys) -> None:
    cases = [
        (["--task", "Nope"], "unknown task 'Nope'"),
        (["--task", "PickPlace", "--image-size", "127x96"], "both sides must be even"),
        (["--scene", "x.yaml", "--command", "hi"], "the oracle needs a task"),
        (["--task", "PickPlace", "--episodes", "0"], "--episodes must be at least 1"),
        (["--task", "PickPlace", "--command", "hi"], "--scene needs --command TEXT"),
        (["--drill", "fly", "--source", "scripted"], "drills are place, push"),
        (["--drill", "push"], "the oracle needs a task"),
        (["--drill", "push", "--task", "PickPlace", "--source", "scripted"], "give one of"),
        (["--task", "PickPlace", "--source", "operator", "--workers", "2"], "one terminal"),
        (["--drill", "push", "--source", "operator"], "drop --drill and --command"),
    ]
    for extra, message in cases:
        args = ["record", "--episodes", "1", "--out", str(tmp_path / "new"), *extra]
        assert main(args) == BAD_INPUT, extra
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
        assert not (tmp_path / "new").exists()
    args = ["record", "--task", "PickPlace", "--episodes", "1", "--out", str(recorded[0])]
    assert main(args) == BAD_INPUT
    assert "already holds a finished dataset" in capsys.readouterr().err


def test_scripted_source_plans_the_command_and_stages_nothing_when_it_cannot(
    tmp_path: Path,
) -> None:
    """The scripted source goes through the planner: a command it must ask about moves nothing
    (a whole scripted episode is exercised by benchmarks/record.py)."""
    scene = Path(__file__).resolve().parents[1] / "sim_assets/scenes/blocks_and_bowls.yaml"
    config = RecordConfig(
        scene=str(scene),
        command="put the red block in the blue bowl",  # no blue bowl: the planner asks
        source="scripted",
        width=64,
        height=48,
    )
    with pytest.raises(DatasetError, match=r"no episode moved the robot .*clarify"):
        record(tmp_path / "scripted", config, 1)


def test_a_push_drill_records_a_labelled_push_that_checks(tmp_path: Path) -> None:
    """A skill drill through the scripted source: the rule planner reads the drill's
    instruction, the push runs under the executor and its frames carry the push subgoal."""
    from robot_llm.envs.drills import drill_episode

    config = RecordConfig(drill="push", source="scripted", seed=2, width=64, height=48)
    result = record(tmp_path / "push", config, 1)
    assert result.succeeded == 1
    assert check_dataset(tmp_path / "push") == []
    ds = open_dataset(tmp_path / "push")
    scene, text = drill_episode("push", 2)
    subgoal = json.loads(ds.episodes[0]["subgoals"][0])  # then the executor's move to view
    assert subgoal["skill"] == "push" and subgoal["object"] == scene.objects[0].id
    assert text.endswith(f"({subgoal['to'][0]:.3f}, {subgoal['to'][1]:.3f})")
    assert ds.tasks == [text]
    labels = ds.episode_frames(0)["subgoal_index"].reshape(-1)
    assert (labels == 0).sum() > 50 and labels[0] in (-1, 0)


def test_an_operator_session_records_the_typed_commands(tmp_path: Path, monkeypatch) -> None:
    """`--source operator`: commands typed at the prompt run through the stack; the planner's
    question is answered at the prompt, and the frames carry the command with its answer."""
    import io

    scene = Path(__file__).resolve().parents[1] / "sim_assets/scenes/blocks_and_bowls.yaml"
    typed = "put the block in the green bowl\nthe red one\n\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(typed))
    config = RecordConfig(scene=str(scene), source="operator", width=64, height=48)
    result = record(tmp_path / "op", config, 1)
    assert result.succeeded == 1 and check_dataset(tmp_path / "op") == []
    ds = open_dataset(tmp_path / "op")
    assert ds.tasks == ["put the block in the green bowl; the red one"]
    skills = [json.loads(g) for g in ds.episodes[0]["subgoals"]]
    assert {"skill": "pick", "object": "red_block"} in skills
    assert {"skill": "place", "object": "red_block", "in": "green_bowl"} in skills


def test_open_dataset_names_what_is_missing(recorded, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such folder"):
        open_dataset(tmp_path / "nothing")
    ds = open_dataset(recorded[0])
    with pytest.raises(DatasetError, match="no episode 7"):
        ds.episode_frames(7)
    with pytest.raises(DatasetError, match=r"no camera 'observation\.images\.top'"):
        ds.video_frames("observation.images.top", 0)
    assert main(["dataset", "check", str(recorded[0])]) == OK


def test_recordings_carry_skill_labels_and_the_hand_pose(recorded) -> None:
    """Every frame has `subgoal_index` (-1: the oracle runs no subgoals) and the hand pose;
    every episode names the ids of its object rows, in the env's order."""
    out, _, _ = recorded
    ds = open_dataset(out)
    assert ds.features["subgoal_index"] == {"dtype": "int64", "shape": [1], "names": None}
    assert ds.features["observation.ee_pose"]["shape"] == [7]
    again = run_episode(CONFIG, CONFIG.seed)
    ep = ds.episodes[0]
    assert ep["object_ids"] == again.object_ids and len(ep["object_ids"]) >= 2
    assert ep["subgoals"] == []
    frames = ds.episode_frames(0)
    assert frames["subgoal_index"].tolist() == [-1] * ep["length"]
    np.testing.assert_array_equal(frames["observation.ee_pose"], np.stack(again.ee_pose))
    # The hand starts above the table, tool down (a unit quaternion).
    assert frames["observation.ee_pose"][0, 2] > 0.1
    assert np.allclose(np.linalg.norm(frames["observation.ee_pose"][:, 3:], axis=1), 1, atol=1e-4)


def _rewrite_parquet(path: Path, column: str, values: list) -> None:
    import pyarrow as pa

    table = pq.read_table(path)
    i = table.column_names.index(column)
    pq.write_table(table.set_column(i, column, pa.array(values, table.schema.field(i).type)), path)


def test_check_names_bad_skill_labels(recorded, tmp_path: Path) -> None:
    copy = shutil.copytree(recorded[0], tmp_path / "copy")
    data = copy / "data/chunk-000/file-000.parquet"
    n = pq.read_table(data).num_rows
    _rewrite_parquet(data, "subgoal_index", [0] * n)  # the episodes have no subgoals
    episodes = copy / "meta/episodes/chunk-000/file-000.parquet"
    _rewrite_parquet(episodes, "subgoals", [["not json"], []])
    _rewrite_parquet(episodes, "object_ids", [[], ["a", "a"]])
    problems = check_dataset(copy)
    assert any("episode 0: subgoals[0] is not a subgoal as JSON" in p for p in problems), problems
    assert any("episode 1: object_ids repeat an id" in p for p in problems), problems
    # Data checks run once the metadata is sound: fix it and the frames' labels are named.
    _rewrite_parquet(episodes, "subgoals", [[], []])
    _rewrite_parquet(episodes, "object_ids", [[], []])
    problems = check_dataset(copy)
    assert any("subgoal_index outside -1..-1" in p for p in problems), problems
