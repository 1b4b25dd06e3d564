"""The teacher-data generator (robot_llm.planning.distill): determinism, the train / held-out
wording split, labels equal to the rule planner's answer on the canonical text, schema-valid
labels, and `robot-llm eval-planner` on teacher data."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from robot_llm.cli import main as robot_llm_main
from robot_llm.plan_schema import PLAN_SCHEMA
from robot_llm.planning.base import History, plan_command
from robot_llm.planning.colors import palette_color
from robot_llm.planning.distill import GENERATOR_VERSION, templates_heldout, templates_train
from robot_llm.planning.distill.evaluate import expect_of
from robot_llm.planning.distill.generate import dumps, example, generate, main, write
from robot_llm.planning.distill.intents import EXPECTED, FAMILIES
from robot_llm.planning.distill.label import label_of
from robot_llm.planning.distill.render import (
    SHARED_WORDS,
    TYPO_OPS,
    contains_phrase,
    signatures,
    words,
)
from robot_llm.planning.distill.scenes import SCENE_FILES, file_scene
from robot_llm.planning.rules import RulePlanner
from robot_llm.planning.safety import SafetyGate
from robot_llm.types import Plan, Scene, plan_result_from_dict

ROOT = Path(__file__).resolve().parents[1]
DISTILL = ROOT / "robot_llm" / "planning" / "distill"
TRAIN, HELDOUT = templates_train.GRAMMAR, templates_heldout.GRAMMAR


@cache
def data(split: str, n: int) -> tuple[dict[str, Any], ...]:
    return tuple(generate(split, n, seed=0))


def test_generation_is_deterministic_and_prefix_stable() -> None:
    a = [dumps(r) for r in generate("train", 8, seed=7)]
    assert a == [dumps(r) for r in generate("train", 8, seed=7)]
    assert dumps(example("train", 7, 7)) == a[7]  # example i does not depend on n
    assert [dumps(r) for r in generate("train", 8, seed=8)] != a
    assert {r["generator"] for r in data("train", 300)[:150]} == {GENERATOR_VERSION}
    families = [r["family"] for r in data("heldout", 150)]
    assert {f: families.count(f) for f in FAMILIES} == dict.fromkeys(FAMILIES, 10)


def test_the_split_modules_never_import_each_other() -> None:
    for mine, other in (
        ("templates_train", "templates_heldout"),
        ("templates_heldout", "templates_train"),
    ):
        tree = ast.parse((DISTILL / f"{mine}.py").read_text(encoding="utf-8"))
        names = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        names += [
            a.name
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom | ast.Import)
            for a in n.names
        ]
        assert not [m for m in names if other in m], mine


def test_no_heldout_surface_pattern_appears_in_training_data() -> None:
    held = signatures(HELDOUT)
    assert len(held) > 100  # every frame, template and synonym of the held-out split
    train_strings = [" ".join(words(s)) for s in TRAIN.strings()]
    leaks = sorted(p for p in held for s in train_strings if contains_phrase(s, p))
    assert leaks == []
    # ... and none in generated training commands (every template and noise of the split)
    commands = [r["command"] for r in data("train", 300)]
    leaks = sorted({p for p in held for c in commands if contains_phrase(c, p)})
    assert leaks == []
    # the held-out data does use its own wording
    heldout = [r["command"] for r in data("heldout", 150)]
    assert sum(any(contains_phrase(c, p) for p in held) for c in heldout) > 0.9 * len(heldout)


def test_the_grammars_name_colors_by_their_palette_color_and_have_known_noise() -> None:
    for g in (TRAIN, HELDOUT):
        for color, names in g.colors.items():
            assert all(palette_color(n) == color for n in names), (g.name, color)
        assert set(g.typo_ops) <= set(TYPO_OPS)
        assert set(g.clauses) >= {"pick", "put", "push", "stack", "home", "throw"}
    assert not set(TRAIN.typo_ops) & set(HELDOUT.typo_ops)
    # the shared words are the canonical vocabulary and function words, no paraphrase
    assert {"crimson", "cube", "grab", "please", "piece", "kindly"}.isdisjoint(SHARED_WORDS)


def test_labels_are_the_rule_planners_answer_on_the_canonical_text() -> None:
    planner, gate = RulePlanner(), SafetyGate.default()
    for r in data("train", 300)[:60] + data("heldout", 150)[:60]:
        scene = Scene.from_dict(json.loads(json.dumps(r["scene"])))  # as read back from JSONL
        got = plan_command(planner, r["canonical"], scene, History(), gate)
        assert label_of(got) == r["label"], r["id"]
        assert r["label"]["type"] == EXPECTED[r["family"]]
        assert r["command"] != "" and r["canonical"] != ""


def test_every_label_is_schema_valid_and_grounded() -> None:
    validator = jsonschema.Draft202012Validator(PLAN_SCHEMA)
    for r in data("train", 300)[:150] + data("heldout", 150):
        validator.validate(r["label"])
        result = plan_result_from_dict(r["label"])
        ids = {o["id"] for o in r["scene"]["objects"]}
        if isinstance(result, Plan):
            named = {s.object for s in result.subgoals if s.object} | {
                x for s in result.subgoals for x in (s.on, s.in_) if x
            }
            assert named <= ids, r["id"]
        assert expect_of(r["label"]).type == result.type
        assert set(r) >= {"id", "split", "family", "scene", "command", "canonical", "label"}


def test_scenes_are_what_perception_reports_for_a_scene_file() -> None:
    from robot_llm.perception import scene_from_spec
    from robot_llm.tabletop.scene import bundled_scenes, load_scene

    for name in SCENE_FILES:
        assert file_scene(name) == scene_from_spec(load_scene(bundled_scenes()[name]))
    sources = {r["scene_source"].split(":")[0] for r in data("train", 300)[:150]}
    assert sources == {"file", "sampled"}


def test_eval_planner_on_teacher_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "heldout.jsonl"
    write(path, "heldout", 15, seed=0)
    assert robot_llm_main(["eval-planner", "--data", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cases"] == 15 and out["invalid"] == 0 and set(out["categories"]) == set(FAMILIES)
    assert out["splits"] == ["heldout"] and out["generator"] == [GENERATOR_VERSION]
    # the canonical wording is what the labels were made from: the rules get all of it right
    canonical = tmp_path / "canonical.jsonl"
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    canonical.write_text("".join(dumps({**r, "command": r["canonical"]}) + "\n" for r in lines))
    assert robot_llm_main(["eval-planner", "--data", str(canonical), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == 1.0
    argv = ["eval-planner", "--split", "heldout", "--n", "15", "--categories", "pick,push"]
    assert robot_llm_main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cases"] == 2 and out["data"] == "heldout n=15 seed=0"
    assert robot_llm_main(["eval-planner", "--data", str(tmp_path / "none.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err
    (tmp_path / "bad.jsonl").write_text('{"id": "x"}\n')
    assert robot_llm_main(["eval-planner", "--data", str(tmp_path / "bad.jsonl")]) == 2
    assert "missing field 'family'" in capsys.readouterr().err


def test_generate_cli_writes_jsonl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.jsonl"
    assert main(["--split", "train", "--n", "3", "--seed", "2", "--out", str(out)]) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["train-2-000000", "train-2-000001", "train-2-000002"]
    assert all(r["generator"] == GENERATOR_VERSION and r["split"] == "train" for r in rows)
    assert "wrote 3 train examples" in capsys.readouterr().err


def test_importing_the_generator_loads_no_simulator() -> None:
    code = (
        "import json, sys\n"
        "import robot_llm.planning.distill.generate, robot_llm.planning.distill.evaluate\n"
        "print(json.dumps(sorted(m for m in ('pybullet', 'gymnasium', 'robot_llm.envs', 'torch')"
        " if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
