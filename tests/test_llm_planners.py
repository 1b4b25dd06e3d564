"""Language-model planner backends without model weights: answers checked against the scene,
one retry, safe fallbacks, the `openai` client against a loopback server, `hybrid`, replan
feedback, eval-planner. The model-backed tests are in tests/test_llm_models.py."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from llm_support import RESULTS, ChatServer

from robot_llm.cli import main as robot_llm_main
from robot_llm.plan_schema import PLAN_SCHEMA
from robot_llm.planning import (
    History,
    PlannerError,
    get_planner,
    plan_command,
    planner_names,
    replan_function,
)
from robot_llm.planning.base import execution_feedback
from robot_llm.planning.llm import prompt
from robot_llm.planning.llm.backend import BackendError, LanguagePlanner
from robot_llm.planning.llm.evaluate import invalid_reason, select_cases
from robot_llm.planning.llm.grounding import AnswerError, answer_schema, read_answer
from robot_llm.planning.llm.hybrid import HybridPlanner, rules_gave_up
from robot_llm.planning.llm.remote import OpenAIPlanner
from robot_llm.planning.suite import load_cases, load_scenes
from robot_llm.types import SKILLS, CameraFrame, Clarify, Plan, Refuse, Scene, Subgoal

SCENES = load_scenes()
MAIN = SCENES["main"]
PICK_RED = '{"type":"plan","subgoals":[{"skill":"pick","object":"red_block"}]}'
PUT_GREEN = (
    '{"type":"plan","subgoals":[{"skill":"pick","object":"green_block"},'
    '{"skill":"place","object":"green_block","in":"blue_bowl"}]}'
)
PURPLE = (
    '{"type":"plan","subgoals":[{"skill":"pick","object":"green_block"},'
    '{"skill":"place","object":"green_block","in":"purple_bowl"}]}'
)


class Scripted(LanguagePlanner):
    """A backend whose model answers from a script (texts, or exceptions to raise)."""

    name = "scripted"

    def __init__(self, *answers: str | Exception) -> None:
        super().__init__()
        self.answers = list(answers)
        self.chats: list[list[prompt.Message]] = []

    def complete(self, chat: list[prompt.Message], schema: dict[str, Any]) -> str:
        self.chats.append(chat)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def run(planner: Any, command: str, scene: Scene = MAIN, history: History | None = None) -> Any:
    return plan_command(planner, command, scene, history or History())


# -- registry and schema --------------------------------------------------------------------------
def test_backends_are_registered_and_importing_planning_loads_no_model_library() -> None:
    assert {"rule", "transformers", "openai", "hybrid"} <= set(planner_names())
    code = (
        "import sys, robot_llm.planning as p; p.get_planner('openai'); "
        "print(sorted(m for m in ('torch', 'transformers', 'xgrammar') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_answer_schema_admits_only_the_scenes_ids_and_narrows_the_plan_schema() -> None:
    schema = answer_schema(MAIN)
    narrow = jsonschema.Draft202012Validator(schema)
    wide = jsonschema.Draft202012Validator(PLAN_SCHEMA)
    good = [
        json.loads(PUT_GREEN),
        {
            "type": "plan",
            "subgoals": [{"skill": "push", "object": "blue_bowl", "direction": "left"}],
        },
        {"type": "plan", "subgoals": [{"skill": "move_to", "pose": [0.5, 0.0, 0.2]}]},
        {"type": "clarify", "question": "Which one?", "candidates": ["red_block", "red_block_2"]},
        {"type": "refuse", "reason": "no"},
    ]
    for answer in good:
        narrow.validate(answer)
        wide.validate(answer)
        read_answer(json.dumps(answer), MAIN)
    bad = [
        json.loads(PURPLE),  # not in the scene
        {"type": "plan", "subgoals": [{"skill": "pick", "object": "green_bowl"}]},  # not a block
        {"type": "plan", "subgoals": [{"skill": "push", "object": "yellow_zone", "to": [0.5, 0]}]},
        {"type": "plan", "subgoals": [{"skill": "grab", "object": "red_block"}]},
        {"type": "maybe"},
    ]
    for answer in bad:
        assert not narrow.is_valid(answer), answer


def test_read_answer_says_what_is_wrong_on_one_line() -> None:
    with pytest.raises(AnswerError, match="not JSON"):
        read_answer("Sure! Here is the plan", MAIN)
    with pytest.raises(AnswerError, match="needs field 'object'"):
        read_answer('{"type":"plan","subgoals":[{"skill":"pick"}]}', MAIN)
    with pytest.raises(AnswerError, match="'purple_bowl', not in the scene") as err:
        read_answer(PURPLE, MAIN)
    assert err.value.unknown == ("purple_bowl",)


def test_prompt_carries_command_scene_skills_and_dialogue() -> None:
    history = History()
    history.record("pick up the red block", Plan((Subgoal("pick", "red_block_2"),)), MAIN)
    chat = prompt.messages("put it in the green bowl", MAIN, history)
    system, last = chat[0]["content"], chat[-1]["content"]
    assert all(f"- {skill}:" in system for skill in SKILLS)
    assert "- red_block_2: small red block at x 0.52, y -0.02" in last
    assert "Operator: pick up the red block" in last
    assert '"object":"red_block_2"' in last
    assert last.endswith("Command: put it in the green bowl")
    with_image = prompt.messages("go home", MAIN, History(), image=True)[-1]["content"]
    assert with_image[0] == {"type": "image"}


# -- answers, retries, fallbacks -------------------------------------------------------------------
def test_a_valid_answer_is_a_plan_that_passed_the_gate() -> None:
    result = run(Scripted(PUT_GREEN), "put the green block in the blue bowl")
    assert isinstance(result, Plan) and result.planner == "scripted"
    assert [s.skill for s in result.subgoals] == ["pick", "place"]
    assert result.command == "put the green block in the blue bowl"


def test_an_unknown_id_is_retried_once_with_the_scenes_ids() -> None:
    planner = Scripted(PURPLE, PUT_GREEN)
    result = run(planner, "put the green block in the bowl")
    assert isinstance(result, Plan)
    assert planner.stats["retries"] == 1 and planner.stats["bad_answers"] == 1
    correction = planner.chats[1][-1]["content"]
    assert "'purple_bowl', not in the scene" in correction and "blue_bowl" in correction


def test_an_unknown_id_twice_ends_in_a_question_naming_what_is_visible() -> None:
    result = run(Scripted(PURPLE, PURPLE), "put the green block in the purple bowl")
    assert isinstance(result, Clarify)
    assert result.question.startswith("I don't see 'purple_bowl'. I see: red_block, red_block_2")
    assert set(result.candidates) == set(MAIN.ids)


def test_a_model_that_keeps_answering_nonsense_ends_in_a_question() -> None:
    planner = Scripted("Sure, I'll do that!", '{"type":"plan","subgoals":[{"skill":"fly"}]}')
    result = run(planner, "put the green block in the blue bowl")
    assert isinstance(result, Clarify) and "\n" not in result.question
    assert "unknown skill 'fly'" in result.question and "say it another way" in result.question
    assert planner.stats["fallbacks"] == 1


def test_a_backend_that_cannot_answer_refuses_with_one_line() -> None:
    result = run(Scripted(BackendError("cannot reach http://x/v1: refused")), "go home")
    assert isinstance(result, Refuse)
    assert result.reason == "the scripted planner cannot answer: cannot reach http://x/v1: refused"


def test_the_safety_gate_checks_model_plans() -> None:
    far = '{"type":"plan","subgoals":[{"skill":"pick","object":"red_block"},{"skill":"place","object":"red_block","at":[0.95,0.0]}]}'  # noqa: E501
    result = run(Scripted(far), "put the red block over there")
    assert isinstance(result, Refuse) and "outside the workspace" in result.reason
    stop = Scripted()  # a stop word never reaches the model
    assert run(stop, "stop!").subgoals == (Subgoal("stop"),) and not stop.chats


# -- closed loop -----------------------------------------------------------------------------------


def test_replan_feedback_reaches_the_model_prompt() -> None:
    assert execution_feedback(RESULTS) == (
        "done: pick green_block",
        "FAILED after 2 attempts: place green_block in blue_bowl (the block fell beside the bowl)",
    )
    planner = Scripted(PUT_GREEN)
    history = History()
    replan = replan_function(planner, history=history)
    assert isinstance(replan("put the green block in the blue bowl", MAIN, RESULTS), Plan)
    text = planner.chats[0][-1]["content"]
    assert "- FAILED after 2 attempts: place green_block in blue_bowl" in text
    assert "plan what is left of the command" in text
    assert len(history) == 0  # a replan is not a turn of the operator's dialogue


def test_the_rule_planner_replans_as_before_with_feedback() -> None:
    rule = get_planner("rule")
    command = "put the green block in the blue bowl"
    plain = run(rule, command)
    assert replan_function(rule)(command, MAIN, RESULTS) == plain


# -- hybrid ----------------------------------------------------------------------------------------
def test_hybrid_asks_the_model_only_where_the_rules_give_up() -> None:
    model = Scripted(PUT_GREEN)
    hybrid = HybridPlanner(model)
    known = run(hybrid, "put the green block in the blue bowl")
    assert isinstance(known, Plan) and known.planner == "hybrid:rule" and not model.chats
    asked = run(hybrid, "pick up the red block")  # ambiguous: the rules' own question
    assert isinstance(asked, Clarify) and asked.planner == "hybrid:rule"
    refused = run(hybrid, "rotate the green block")
    assert isinstance(refused, Refuse) and refused.planner == "hybrid:rule"
    odd = run(hybrid, "could you kindly relocate the green block to the blue bowl")
    assert isinstance(odd, Plan) and odd.planner == "hybrid:scripted"
    assert len(model.chats) == 1 and hybrid.stats == {"rule": 3, "model_asked": 1, "model": 1}


def test_hybrid_keeps_the_rules_question_when_the_model_has_no_better_one() -> None:
    hybrid = HybridPlanner(Scripted('{"type":"clarify","question":"Eh?","candidates":[]}'))
    result = run(hybrid, "blorp the flibber")
    assert isinstance(result, Clarify) and result.question.startswith("I didn't understand")
    assert result.planner == "hybrid:rule"
    assert rules_gave_up(result) and not rules_gave_up(Clarify("Which one?", ("a",)))


# -- openai ----------------------------------------------------------------------------------------
def openai(url: str, **options: Any) -> Any:
    return get_planner("openai", base_url=url, backoff=0.01, **options)


def test_openai_asks_for_the_scene_schema_with_the_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ROBOT_LLM_API_KEY", "secret-1")
    with ChatServer(lambda body: PICK_RED) as server:
        result = run(openai(server.url, model="tiny"), "pick up the large red block")
    assert isinstance(result, Plan) and result.planner == "openai"
    body, headers = server.requests[0]
    assert body["model"] == "tiny" and body["temperature"] == 0
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"] == answer_schema(MAIN)
    assert headers["Authorization"] == "Bearer secret-1"


def test_openai_sends_the_camera_image_to_a_vision_model() -> None:
    rgb = np.zeros((24, 32, 3), np.uint8)
    frame = CameraFrame(rgb, np.ones((24, 32), np.float32), np.eye(3), np.eye(4))
    with ChatServer(lambda body: PICK_RED) as server:
        planner = openai(server.url, vision=1)
        planner.frame = frame
        assert isinstance(run(planner, "pick up the large red block"), Plan)
    image, text = server.requests[0][0]["messages"][-1]["content"]
    assert image["type"] == "image_url"
    assert image["image_url"]["url"].startswith("data:image/png;base64,iVBOR")
    assert text["text"].endswith("Command: pick up the large red block")


def test_openai_retries_busy_servers_with_backoff_but_not_bad_requests() -> None:
    replies: list[Any] = [(503, "busy"), (429, "slow down"), PICK_RED]
    with ChatServer(lambda body: replies.pop(0)) as server:
        planner = openai(server.url, retries=2)
        assert isinstance(run(planner, "pick up the large red block"), Plan)
    assert planner.stats["request_failures"] == 2
    with ChatServer(lambda body: (400, "model 'x' not found")) as server:
        result = run(openai(server.url, retries=3), "go home")
    assert isinstance(result, Refuse) and len(server.requests) == 1
    assert "HTTP 400" in result.reason and "model 'x' not found" in result.reason


def test_openai_schema_formats_for_servers_without_json_schema() -> None:
    def strict(body: dict[str, Any]) -> str | tuple[int, str]:
        if body["response_format"]["type"] != "json_object":
            return 500, "validation error: response_format.type must be 'text' or 'json_object'"
        return PICK_RED

    with ChatServer(strict) as server:
        refused = run(openai(server.url), "pick up the large red block")
        planner = openai(server.url, schema_format="json_object")
        result = run(planner, "pick up the large red block")
    assert isinstance(refused, Refuse) and "schema_format=json_object" in refused.reason
    assert len(server.requests) == 2  # a schema the server rejects is not retried
    assert isinstance(result, Plan)
    assert server.requests[1][0]["response_format"] == {
        "type": "json_object",
        "schema": answer_schema(MAIN),
    }
    none = OpenAIPlanner(schema_format="none").request_body([], answer_schema(MAIN))
    assert "response_format" not in none


def test_openai_unreachable_endpoint_refuses_after_bounded_retries() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    t0 = time.perf_counter()
    result = run(openai(f"http://127.0.0.1:{port}/v1", retries=2), "go home")
    assert isinstance(result, Refuse) and time.perf_counter() - t0 < 5
    assert f"cannot reach http://127.0.0.1:{port}/v1/chat/completions" in result.reason
    assert "(3 attempts)" in result.reason and "\n" not in result.reason


def test_openai_timeout_refuses() -> None:
    def slow(body: dict[str, Any]) -> str:
        time.sleep(1.0)
        return PICK_RED

    with ChatServer(slow) as server:
        result = run(openai(server.url, timeout=0.2, retries=1), "pick up the large red block")
    assert (
        isinstance(result, Refuse) and "did not answer within 0.2 s (2 attempts)" in result.reason
    )


def test_openai_nonsense_answers_end_in_a_question() -> None:
    with ChatServer(lambda body: "I am a helpful assistant.") as server:
        result = run(openai(server.url), "pick up the large red block")
    assert isinstance(result, Clarify) and "not JSON" in result.question
    assert len(server.requests) == 2  # the answer and one correction


def test_backend_options_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PlannerError, match="takes no option 'colour'"):
        get_planner("openai", colour="red")
    with pytest.raises(PlannerError, match="must start with http"):
        get_planner("openai", base_url="ftp://x")
    with pytest.raises(PlannerError, match="timeout='soon' is not a float"):
        get_planner("openai", timeout="soon")
    monkeypatch.setenv("ROBOT_LLM_MODEL", "/no/such/model.gguf")
    with pytest.raises(PlannerError, match=r"'/no/such/model\.gguf' does not exist"):
        get_planner("transformers")
    with pytest.raises(PlannerError, match="must be a language-model backend"):
        get_planner("hybrid", llm="rule")
    monkeypatch.setenv("ROBOT_LLM_TIMEOUT", "7.5")
    planner = get_planner("openai")
    assert isinstance(planner, OpenAIPlanner) and planner.timeout == 7.5


# -- evaluation ------------------------------------------------------------------------------------
def test_select_cases_spreads_a_limit_over_categories() -> None:
    cases = load_cases()
    picked = select_cases(cases, limit=10)
    assert len(picked) == 10 and len({c.category for c in picked}) == 10
    only = select_cases(cases, ["push", "stack"], limit=4)
    assert [c.category for c in only].count("push") == 2
    assert (
        invalid_reason(Plan((Subgoal("pick", "ghost"),)), MAIN) == "names ghost, not in the scene"
    )


def test_eval_planner_reports_accuracy_invalid_outputs_and_latency(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert robot_llm_main(["eval-planner", "--planner", "rule", "--limit", "12", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cases"] == 12 and out["accuracy"] == 1.0 and out["invalid"] == 0
    assert set(out["latency"]) >= {"p50_ms", "p99_ms"} and sum(out["answers"].values()) >= 12
    assert robot_llm_main(["eval-planner", "--planner", "rule", "--categories", "push,nope"]) == 2
    categories = ", ".join(sorted({c.category for c in load_cases()}))
    err = capsys.readouterr().err
    assert err.strip().endswith(f"unknown category 'nope'; categories are {categories}")
    argv = ["eval-planner", "--planner", "transformers", "--model", "/no/model.gguf"]
    assert robot_llm_main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'/no/model.gguf' does not exist" in err


def test_plan_and_run_take_the_model_and_backend_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`robot-llm plan --planner NAME --model PATH --planner-option KEY=VALUE`: options reach
    the backend; a missing model and a malformed option are one line and exit code 2."""
    root = Path(__file__).resolve().parents[1]
    scene = str(root / "sim_assets" / "scenes" / "blocks_and_bowls.yaml")
    base = ["plan", "--scene", scene, "--quiet", "--json"]
    argv = [*base, "--planner", "hybrid", "--planner-option", "llm=openai"]
    argv += ["--planner-option", "base_url=http://127.0.0.1:9/v1", "pick up the red block"]
    assert robot_llm_main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["plan"]["planner"] == "hybrid:rule"
    assert out["plan"]["subgoals"] == [{"skill": "pick", "object": "red_block"}]
    argv = [*base, "--planner", "openai", "--planner-option", "base_url=http://127.0.0.1:9/v1"]
    assert robot_llm_main([*argv, "--planner-option", "timeout=2", "pick up the red block"]) == 4
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "refused" and "cannot reach http://127.0.0.1:9/v1" in out["reason"]
    argv = [*base, "--planner", "transformers", "--model", "/no/model.gguf", "go home"]
    assert robot_llm_main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (
        "robot-llm: error: model '/no/model.gguf' does not exist "
        "(give a model folder or a .gguf file)"
    )
    assert robot_llm_main([*base, "--planner-option", "nonsense", "go home"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "robot-llm: error: --planner-option 'nonsense' must be KEY=VALUE"
