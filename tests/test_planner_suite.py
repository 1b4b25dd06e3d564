"""The labelled planner suite: size, coverage, valid scenes, and the rule planner's accuracy."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from robot_llm.planning.suite import Case, load_cases, load_scenes, suite_files
from robot_llm.planning.suite_eval import SuiteReport, evaluate_suite
from robot_llm.tabletop.scene import load_yaml, parse_scene
from robot_llm.types import Plan, plan_result_from_dict

# Every kind of command the rule planner must handle, with the fewest cases each must have.
REQUIRED: dict[str, int] = {
    "pick": 20,
    "place": 20,
    "stack": 15,
    "push": 15,
    "sort": 8,
    "clear": 8,
    "home": 5,
    "stop": 15,
    "gripper": 3,
    "colors": 15,
    "sizes": 10,
    "kinds": 10,
    "spatial": 15,
    "ordinal": 10,
    "quantifier": 8,
    "count": 5,
    "exclusion": 5,
    "pronoun": 10,
    "ellipsis": 8,
    "dialogue": 15,
    "multistep": 10,
    "ambiguity": 10,
    "unknown": 10,
    "unsupported": 10,
    "infeasible": 15,
    "safety": 30,
}


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return load_cases()


@pytest.fixture(scope="module")
def report(cases: list[Case]) -> SuiteReport:
    return evaluate_suite("rule", cases)


def test_suite_is_large_and_covers_every_category(cases: list[Case]) -> None:
    assert len(cases) >= 400
    counts = Counter(c.category for c in cases)
    short = {k: (counts[k], n) for k, n in REQUIRED.items() if counts[k] < n}
    assert not short, f"categories with too few cases (have, need): {short}"
    sources = Counter(c.source for c in cases)
    assert sources["hand"] >= 250 and sources["template"] >= 150, sources
    kinds = Counter(turn[1].type for c in cases for turn in c.turns)
    assert kinds["refuse"] >= 60 and kinds["clarify"] >= 40, kinds
    assert sum(len(c.turns) > 1 for c in cases) >= 40  # dialogues


def test_suite_scenes_are_valid_scene_files() -> None:
    assert "scenes.yaml" not in {f.name for f in suite_files()}
    import importlib.resources as r

    text = r.files("robot_llm.planning").joinpath("suite", "scenes.yaml").read_text()
    data = load_yaml(text)["scenes"]
    for name, objects in data.items():
        by_id = {o["id"]: dict(o) for o in objects}

        def xy(i: str, by_id: dict[str, Any] = by_id) -> Any:
            o = by_id[i]
            return o["position"] if "position" in o else xy(o["on"])

        parse_scene([{**o, "position": xy(o["id"])} for o in by_id.values()], name)
    assert set(load_scenes()) == set(data)


def test_every_case_names_a_known_scene(cases: list[Case]) -> None:
    scenes = load_scenes()
    assert {c.scene for c in cases} <= set(scenes)


def test_rule_planner_accuracy(report: SuiteReport) -> None:
    failures = "\n".join(o.explain() for o in report.failures)
    assert report.accuracy >= 0.98, f"{report.format(failures=False)}\n{failures}"
    # The bar is 98%; anything short of 100% is listed so it is visible in the test output.
    if report.failures:  # pragma: no cover - printed for the record
        print(f"suite failures ({len(report.failures)}):\n{failures}")


def test_every_category_is_accurate(report: SuiteReport) -> None:
    low = {c: f"{p}/{t}" for c, (p, t) in report.by_category().items() if p / t < 0.9}
    assert not low, low


def test_suite_results_are_valid_plans_over_scene_ids(report: SuiteReport) -> None:
    scenes = load_scenes()
    for o in report.outcomes:
        ids = set(scenes[o.case.scene].ids)
        for r in o.results:
            again = plan_result_from_dict(r.to_dict())
            assert again.type == r.type
            assert r.planner == "rule" and r.command
            if isinstance(r, Plan):
                for s in r.subgoals:
                    assert {s.object, s.on, s.in_} - {None} <= ids, (o.case.id, s)
            elif r.type == "clarify":
                assert set(r.candidates) <= ids  # type: ignore[union-attr]


def test_report_has_categories_and_latency(report: SuiteReport) -> None:
    d = report.to_dict()
    assert d["cases"] == report.total and 0.0 <= d["accuracy"] <= 1.0
    assert set(REQUIRED) <= set(d["categories"])
    lat = d["latency"]
    assert lat["calls"] >= report.total
    assert 0.0 < lat["p50_ms"] <= lat["p99_ms"] <= lat["max_ms"]
    assert "latency per command" in report.format()
