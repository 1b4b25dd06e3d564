"""Learned skills: features shared by training and run time, the skill that runs a policy, the
`learned` policies of the registry, and training from a recorded dataset."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from robot_llm.errors import InputError
from robot_llm.policies.base import EECommand, Observation, SkillResult
from robot_llm.policies.learned.checkpoint import save_policy
from robot_llm.policies.learned.chunking_mlp import ChunkingMLPPolicy
from robot_llm.policies.learned.config import PolicyConfig, PolicyFeature
from robot_llm.policies.learned.features import (
    ACTION_SIZE,
    ENV_SIZE,
    STATE_SIZE,
    FeatureError,
    ObjectPose,
    decode_action,
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
from robot_llm.policies.learned.samples import _runs, demonstration
from robot_llm.policies.learned.skill import LearnedSkill, grip_opening, load_skill_policies
from robot_llm.policies.motion import GRIP_SQUEEZE
from robot_llm.policies.registry import PolicyError, get_policy
from robot_llm.robots.base import RobotInfo
from robot_llm.tabletop.rotations import tool_orientation
from robot_llm.types import RobotState, Scene, SceneObject, Subgoal

DOWN = np.array([1.0, 0.0, 0.0, 0.0])


def block(x: float, y: float, yaw: float = 0.0) -> ObjectPose:
    return ObjectPose((x, y, 0.02), yaw, "block", 0.04)


def test_env_features_are_relative_to_the_hand_and_fold_symmetric_yaw() -> None:
    hand = (0.4, 0.1, 0.3)
    a = env_features("pick", hand, 0.0, block(0.5, 0.0, 0.1), None)
    assert a.shape == (ENV_SIZE,) and a.dtype == np.float32
    np.testing.assert_allclose(a[0:3], [0.1, -0.1, -0.28], atol=1e-6)
    assert a[3] == pytest.approx(0.1) and a[6] == pytest.approx(0.04)
    assert not a[7:].any()  # a pick has no target
    # A cube turned by 90 degrees more looks the same; so does the same scene shifted with the
    # hand.
    b = env_features("pick", hand, 0.0, block(0.5, 0.0, 0.1 + math.pi / 2), None)
    np.testing.assert_allclose(a, b, atol=1e-5)
    shifted = env_features("pick", (0.3, 0.2, 0.3), 0.0, block(0.4, 0.1, 0.1), None)
    np.testing.assert_allclose(a, shifted, atol=1e-6)
    bowl = ObjectPose((0.3, -0.2, 0.01), 0.0, "bowl", 0.008)
    p = env_features("place", hand, 0.2, block(0.4, 0.1), bowl)
    assert not p[0:6].any() and p[6] == pytest.approx(0.04)  # the held object: its height only
    np.testing.assert_allclose(p[7:10], [-0.1, -0.3, -0.29], atol=1e-6)
    assert p[10] == 0.0 and p[12:15].tolist() == [0.0, 1.0, 0.0]
    with pytest.raises(FeatureError, match="no learned features for skill 'home'"):
        env_features("home", hand, 0.0, None, None)


def test_actions_round_trip_through_the_hand_frame() -> None:
    hand, yaw = np.array([0.4, 0.1, 0.3]), 3.0
    a = encode_action([0.41, 0.09, 0.25], -3.0, 0.8, 1.0, hand, yaw)
    assert a.shape == (ACTION_SIZE,)
    assert a[3] == pytest.approx(2 * math.pi - 6.0)  # the short way round
    position, cmd_yaw, gripper, done = decode_action(a, hand, yaw)
    np.testing.assert_allclose(position, [0.41, 0.09, 0.25], atol=1e-6)
    assert math.remainder(cmd_yaw - -3.0, 2 * math.pi) == pytest.approx(0.0, abs=1e-6)
    assert gripper == pytest.approx(0.8) and done is True
    assert decode_action(np.array([0, 0, 0, 0, 1.7, 0.2]), hand, yaw)[2:] == (1.0, False)
    assert state_features(hand, yaw, 0.05, 1.5).tolist() == pytest.approx(
        [0.3, math.sin(3.0), math.cos(3.0), 0.05, 1.5]
    )
    assert STATE_SIZE == 5


def test_a_push_is_learned_in_the_frame_of_its_direction() -> None:
    """Two pushes that differ only in direction have the same features and actions."""
    hand = np.array([0.40, 0.00, 0.10])
    obj = ObjectPose((0.45, 0.00, 0.02), 0.0, "block", 0.04)
    goal = ObjectPose((0.55, 0.00, 0.02), 0.0, "point", 0.0)
    assert frame_yaw("push", obj, goal) == 0.0 and frame_yaw("pick", obj, None) == 0.0
    turn = math.pi / 2  # the same push, turned a quarter about the object's start

    def turned(p: tuple[float, float, float] | np.ndarray) -> np.ndarray:
        dx, dy = p[0] - 0.45, p[1] - 0.0
        return np.array([0.45 - dy, dx, p[2]])

    obj2 = ObjectPose(tuple(turned(obj.position)), turn, "block", 0.04)
    goal2 = ObjectPose(tuple(turned(goal.position)), 0.0, "point", 0.0)
    frame = frame_yaw("push", obj2, goal2)
    assert frame == pytest.approx(turn)
    a = env_features("push", hand, 0.0, obj, goal)
    b = env_features("push", turned(hand), turn, obj2, goal2, frame)
    np.testing.assert_allclose(a, b, atol=1e-6)
    command = np.array([0.50, 0.01, 0.03])
    act = encode_action(command, 0.2, 0.0, 0.0, obj.position, 0.1)
    act2 = encode_action(turned(command), 0.2 + turn, 0.0, 0.0, obj2.position, 0.1 + turn, frame)
    np.testing.assert_allclose(act, act2, atol=1e-6)
    position = decode_action(act2, obj2.position, 0.1 + turn, frame)[0]
    np.testing.assert_allclose(position, turned(command), atol=1e-6)


def test_yaws_heights_and_kinds_from_recorded_values() -> None:
    assert hand_yaw(tool_orientation(0.7, DOWN)) == pytest.approx(0.7)
    assert quat_yaw([0.0, 0.0, math.sin(0.3), math.cos(0.3)]) == pytest.approx(0.6)
    assert kind_of("red_bowl") == "bowl" and kind_of("b3") == "block"
    assert height_from_rest("block", 0.0201) in (0.04, pytest.approx(0.04))
    push = Subgoal("push", object="a", to=(0.5, 0.1))
    assert target_of(push, {"a": block(0.4, 0.0)}).position == (0.5, 0.1, 0.02)  # type: ignore[union-attr]
    with pytest.raises(FeatureError, match="not in the scene"):
        target_of(Subgoal("place", object="a", in_="bowl"), {"a": block(0.4, 0.0)})


def test_a_demonstration_is_the_last_run_of_its_subgoal_with_done_at_the_end() -> None:
    labels = np.array([-1, 0, 0, -1, 0, 0, 0, 0, 0, 0, 1, 1])
    assert _runs(labels, 0) == [(1, 3), (4, 10)]
    n = len(labels)
    ee = np.zeros((n, 7), dtype=np.float32)
    ee[:, :3] = [0.4, 0.0, 0.3]
    ee[:, 2] -= np.arange(n) * 0.01  # the hand goes down
    ee[:, 3:] = tool_orientation(0.0, DOWN)
    env = np.zeros((n, 14), dtype=np.float32)
    env[:, 0:3] = [0.45, 0.05, 0.02]
    env[:, 6] = 1.0
    env[:, 7:10] = [0.3, -0.2, 0.001]
    env[:, 13] = 1.0
    action = np.zeros((n, 5), dtype=np.float32)
    action[:, :3] = ee[:, :3] - [0.0, 0.0, 0.01]
    action[:, 4] = 1.0
    frames = {
        "observation.ee_pose": ee,
        "observation.environment_state": env,
        "observation.state": np.full((n, 8), 0.08, dtype=np.float32),
        "action": action,
    }
    state, feats, chunks, pad = demonstration(
        frames, 4, 10, Subgoal("pick", object="a"), ["a", "z_zone"], chunk=4, fps=12
    )
    assert state.shape == (6, STATE_SIZE) and feats.shape == (6, ENV_SIZE)
    assert chunks.shape == (6, 4, ACTION_SIZE) and pad.shape == (6, 4)
    # Actions relative to the block (the pick's anchor): the commanded target 1 cm below the
    # hand, which goes down 1 cm a frame from 0.26 m at frame 4.
    np.testing.assert_allclose(chunks[0, :, 0:2], [[-0.05, -0.05]] * 4, atol=1e-6)
    np.testing.assert_allclose(chunks[0, :, 2], [0.23, 0.22, 0.21, 0.20], atol=1e-6)
    assert chunks[:, 0, 5].tolist() == [0, 0, 0, 1, 1, 1]  # done on the last 3 frames
    # Past the end a chunk holds the last command, done (trained, not padding).
    assert not pad.any() and chunks[-1, :, 5].tolist() == [1, 1, 1, 1]
    np.testing.assert_allclose(chunks[-1, :, 2], [0.18] * 4, atol=1e-6)
    np.testing.assert_allclose(state[:, 4], np.arange(6) / 12)  # seconds into the skill
    np.testing.assert_allclose(feats[0, 0:3], [0.05, 0.05, 0.02 - 0.26], atol=1e-6)


def _policy(done_bias: float) -> ChunkingMLPPolicy:
    """A real policy whose output is its last layer's bias (weights zero): 1 cm beyond the
    object along +x, open, with `done` = done_bias."""
    config = PolicyConfig(
        input_features={
            "observation.state": PolicyFeature("STATE", (STATE_SIZE,)),
            "observation.environment_state": PolicyFeature("ENV", (ENV_SIZE,)),
        },
        output_features={"action": PolicyFeature("ACTION", (ACTION_SIZE,))},
        chunk_size=3,
        n_action_steps=2,
        hidden=(8,),
        normalization_mapping={"STATE": "IDENTITY", "ENV": "IDENTITY", "ACTION": "IDENTITY"},
        skill="pick",
    )
    policy = ChunkingMLPPolicy(config)
    last = policy.net[-1]
    with torch.no_grad():
        last.weight.zero_()
        bias = torch.tensor([0.01, 0.0, 0.0, 0.0, 1.0, done_bias]).repeat(3)
        last.bias.copy_(bias)
    return policy.eval()


def _observation(x: float) -> Observation:
    state = RobotState(
        (0.0,) * 7, (0.0,) * 7, (x, 0.0, 0.3), tuple(tool_orientation(0.0, DOWN)), 0.08
    )
    scene = Scene((SceneObject("red_block", "block", "red", "small", (0.5, 0.0, 0.015)),))
    return Observation(state, scene)


def test_learned_skill_streams_commands_relative_to_the_chunks_hand_and_stops() -> None:
    skill = LearnedSkill("pick", _policy(done_bias=0.0), max_steps=5)
    gen = skill.run(Subgoal("pick", object="red_block"), _observation(0.40))
    commands = [next(gen)]
    xs = [0.40, 0.40, 0.45, 0.45, 0.45]  # the hand moves, also within a chunk
    with pytest.raises(StopIteration) as stop:
        for x in xs:
            commands.append(gen.send(_observation(x)))
    result = stop.value.value
    assert isinstance(result, SkillResult) and not result.success
    assert "not done after 5 control periods" in result.reason
    assert all(isinstance(c, EECommand) for c in commands)
    # Positions relative to the block (the anchor, read once), wherever the hand is.
    assert [round(float(c.position[0]), 4) for c in commands] == [0.51] * 5
    assert commands[0].gripper == 1.0
    done = LearnedSkill("pick", _policy(done_bias=1.0), max_steps=50)
    gen = done.run(Subgoal("pick", object="red_block"), _observation(0.4))
    n = 0
    with pytest.raises(StopIteration) as stop:
        next(gen)
        while True:
            n += 1
            gen.send(_observation(0.4))
    assert stop.value.value == SkillResult(True) and n == 4  # not before MIN_STEPS
    missing = LearnedSkill("pick", _policy(0.0)).run(
        Subgoal("pick", object="blue_block"), _observation(0.4)
    )
    with pytest.raises(StopIteration) as stop:
        next(missing)
    assert "'blue_block' is not in the scene" in stop.value.value.reason


def test_learned_policies_by_name(tmp_path: Path) -> None:
    save_policy(_policy(0.0), tmp_path / "ckpt" / "pick")
    assert set(load_skill_policies(tmp_path / "ckpt")) == {"pick"}
    skills = get_policy(f"learned:{tmp_path / 'ckpt'}")(_Robot())
    assert isinstance(skills["pick"](), LearnedSkill)
    assert not isinstance(skills["place"](), LearnedSkill)  # no checkpoint: scripted
    with pytest.raises(InputError, match="has no checkpoint"):
        get_policy(f"learned:{tmp_path}")
    with pytest.raises(InputError, match="is not a folder"):
        get_policy(f"learned:{tmp_path / 'nowhere'}")
    with pytest.raises(PolicyError, match="needs a folder"):
        get_policy("learned:")
    assert callable(get_policy("scripted"))


def test_the_shipped_learned_policy(monkeypatch, tmp_path: Path) -> None:
    """`--policy learned` is the checkpoints in the package (pick, place and push are shipped,
    push in the frame of its direction); a one-line error names the folder when they are
    missing."""
    from robot_llm.policies import registry

    skills = get_policy("learned")(_Robot())
    for name in ("pick", "place", "push"):
        skill = skills[name]()
        assert isinstance(skill, LearnedSkill) and skill.policy.config.skill == name
        assert skill.max_gripper_width == _Robot.info.max_gripper_width
        assert skill.policy.config.extra["features"].endswith("features v2")
    assert not isinstance(skills["move_to"](), LearnedSkill)
    monkeypatch.setattr(registry, "shipped_checkpoints", lambda: tmp_path / "none")
    with pytest.raises(PolicyError, match=r"no shipped checkpoints .*learned:DIR"):
        get_policy("learned")


class _Robot:
    """What the scripted skills' factories read of a robot: its description."""

    info = RobotInfo(
        "panda",
        tuple(f"j{i}" for i in range(7)),
        (-3.0,) * 7,
        (3.0,) * 7,
        24.0,
        0.08,
        (0.0,) * 7,
    )


def _synthetic_dataset(out: Path, episodes: int = 3) -> Path:
    """A small dataset written by the recorder's own staging and writer: each episode a pick
    (the hand goes down to a block, closes) then a place, labelled as the scripted source
    labels them."""
    import json

    from robot_llm.datasets.episodes import EpisodeRecord
    from robot_llm.datasets.staging import stage_episode
    from robot_llm.datasets.writer import finalize

    summaries = []
    quat = tool_orientation(0.0, DOWN)
    for e in range(episodes):
        r = EpisodeRecord(e, 12, "panda", tuple(f"j{i}" for i in range(7)))
        r.subgoals = [
            Subgoal("pick", object="red_block").to_dict(),
            Subgoal("place", object="red_block", in_="blue_bowl").to_dict(),
        ]
        r.object_ids = ["red_block", "blue_bowl"]
        block_xy = np.array([0.45 + 0.02 * e, 0.05])
        for t in range(40):
            hand = np.array([0.4, 0.0, 0.3 - 0.004 * min(t, 20)])
            table = np.zeros((16, 7), dtype=np.float32)
            table[0] = [*block_xy, 0.02, 0, 0, 0, 1]
            table[1] = [0.3, -0.2, 0.01, 0, 0, 0, 1]
            r.state.append(np.array([0.0] * 7 + [0.08], dtype=np.float32))
            r.ee_pose.append(np.array([*hand, *quat], dtype=np.float32))
            r.environment.append(table.reshape(-1))
            r.main.append(np.zeros((16, 16, 3), dtype=np.uint8))
            r.wrist.append(np.zeros((16, 16, 3), dtype=np.uint8))
            r.tasks.append("put the red block in the blue bowl")
            r.subgoal_index.append(-1 if t < 2 else (0 if t < 22 else 1))
            r.action.append(np.array([*(hand - [0, 0, 0.004]), 0.0, 1.0], dtype=np.float32))
            r.success.append(t == 39)
        r.outcome = True
        summaries.append(stage_episode(out, e, r))
    finalize(out, summaries)
    assert json.loads((out / "meta/info.json").read_text())["total_episodes"] == episodes
    return out


def test_train_policy_from_a_labelled_dataset(tmp_path: Path, capsys) -> None:
    from robot_llm.cli import main
    from robot_llm.datasets import check_dataset
    from robot_llm.errors import BAD_INPUT, OK
    from robot_llm.policies.learned.checkpoint import load_policy

    data = _synthetic_dataset(tmp_path / "demos")
    assert check_dataset(data) == []
    out = tmp_path / "pick"
    args = ["train-policy", str(data), "--skill", "pick", "--out", str(out), "--quiet"]
    assert main([*args, "--steps", "30", "--checkpoint-every", "20", "--holdout", "0.34"]) == OK
    table = capsys.readouterr().out
    assert "pick: 3 demonstrations, 30 steps" in table and "held_out" in table
    policy = load_policy(out)
    assert policy.config.skill == "pick" and policy.config.extra["demos"] == 3
    assert (out / "loss.csv").read_text().count("\n") == 31
    # Resume to more steps; a second run into the same folder must say --resume.
    assert main([*args, "--steps", "40", "--resume", "--json"]) == OK
    assert '"steps": 40' in capsys.readouterr().out
    assert main([*args, "--steps", "40"]) == BAD_INPUT
    assert "continue it with --resume" in capsys.readouterr().err
    assert main([*args.copy()[:-3], "--skill", "push", "--out", str(tmp_path / "p")]) == BAD_INPUT
    assert "no demonstrations of 'push'" in capsys.readouterr().err


def test_subgoals_the_policy_cannot_describe_run_the_fallback(tmp_path: Path) -> None:
    """A place `at` a point has no target object for the features: the registry's learned
    place hands it to the scripted place; without a fallback it fails with the reason."""
    at = Subgoal("place", object="red_block", at=(0.4, 0.1))
    bare = LearnedSkill("place", _policy(0.0))
    assert not bare.supports(at) and bare.supports(Subgoal("place", object="a", in_="b"))
    gen = bare.run(at, _observation(0.4))
    with pytest.raises(StopIteration) as stop:
        next(gen)
    assert "needs `on` or `in`" in stop.value.value.reason
    save_policy(_policy(0.0), tmp_path / "ckpt" / "place")
    skills = get_policy(f"learned:{tmp_path / 'ckpt'}")(_Robot())
    learned = skills["place"]()
    assert isinstance(learned, LearnedSkill) and learned.fallback is not None
    scripted = type(learned.fallback())
    assert scripted is not LearnedSkill and scripted.name == "place"


def test_the_fallback_runs_in_place_of_the_policy() -> None:
    from robot_llm.policies.scripted import make_skill

    skill = LearnedSkill("place", _policy(1.0), fallback=lambda: make_skill("open_gripper"))
    gen = skill.run(Subgoal("place", object="red_block", at=(0.4, 0.1)), _observation(0.4))
    first = next(gen)
    assert isinstance(first, EECommand) and first.gripper == 1.0  # the scripted opening
    np.testing.assert_allclose(first.position, [0.4, 0.0, 0.3], atol=1e-6)  # where the hand is


def test_scenes_the_demonstrations_never_showed_go_to_the_fallback() -> None:
    from robot_llm.policies.scripted import make_skill

    skill = LearnedSkill("pick", _policy(1.0), fallback=lambda: make_skill("open_gripper"))
    on_table = ObjectPose((0.5, 0.0, 0.015), 0.0, "block", 0.03)
    on_tower = ObjectPose((0.5, 0.0, 0.045), 0.0, "block", 0.03)
    pick, seen = Subgoal("pick", object="red_block"), _observation(0.4)
    assert skill._unseen(on_table, None, pick, seen) == ""
    assert "on top of" in skill._unseen(on_tower, None, pick, seen)
    tray = ObjectPose((0.3, 0.2, 0.003), 0.0, "tray", 0.006)
    place = LearnedSkill("place", _policy(1.0))
    onto = Subgoal("place", object="red_block", on="blue_block")
    assert "tray" in place._unseen(on_table, tray, onto, seen)
    assert place._unseen(on_table, block(0.3, 0.2), onto, seen) == ""
    # A bowl: empty and for this block alone (as demonstrated), for two blocks, or holding one.
    state = seen.state
    bowl = SceneObject("green_bowl", "bowl", "green", "medium", (0.3, 0.2, 0.02))
    into = Subgoal("place", object="red_block", in_="green_bowl")
    then = (Subgoal("pick", object="blue_block"), replace(into, object="blue_block"))
    bowl_pose = ObjectPose((0.3, 0.2, 0.02), 0.0, "bowl", 0.006)
    empty = Observation(state, Scene((bowl,)))
    assert place._unseen(on_table, bowl_pose, into, empty) == ""
    assert "more than one" in place._unseen(
        on_table, bowl_pose, into, replace(empty, upcoming=then)
    )
    inside = SceneObject("blue_block", "block", "blue", "small", (0.31, 0.21, 0.03))
    full = Observation(state, Scene((bowl, inside)))
    assert "already holds" in place._unseen(on_table, bowl_pose, into, full)
    tower = Scene((SceneObject("red_block", "block", "red", "small", (0.5, 0.0, 0.045)),))
    first = next(skill.run(Subgoal("pick", object="red_block"), Observation(state, tower)))
    assert isinstance(first, EECommand) and first.gripper == 1.0
    np.testing.assert_allclose(first.position, [0.4, 0.0, 0.3], atol=1e-6)  # scripted: stays


def test_a_closing_hand_holds_the_block_as_firmly_as_the_scripted_grip() -> None:
    """A prediction that closes on the block is held GRIP_SQUEEZE inside its edge, however
    wide the regression left it; an opening wider than the block passes unchanged."""
    width, edge = 0.08, 0.04
    squeezed = (edge - GRIP_SQUEEZE) / width
    assert grip_opening(0.49, edge, width) == pytest.approx(squeezed)  # 0.6 mm inside: weak
    assert grip_opening(0.3, edge, width) == pytest.approx(0.3)  # tighter stays tighter
    assert grip_opening(0.51, edge, width) == pytest.approx(0.51)  # wider than the block
    assert grip_opening(1.0, edge, width) == 1.0
    assert grip_opening(0.2, 0.0, width) == 0.2  # no size known: the prediction
