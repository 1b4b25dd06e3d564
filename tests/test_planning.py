"""Planning layer: backend registry, dialogue history, pipeline, safety gate, color lexicon."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from robot_llm.planning import (
    History,
    PlannerError,
    PolicyError,
    RulePlanner,
    SafetyGate,
    SafetyPolicy,
    get_planner,
    plan_command,
    planner_names,
    register_planner,
    replan_function,
)
from robot_llm.planning.colors import check_palette, color_lexicon, palette_color
from robot_llm.planning.suite import load_scenes, scene_from_data
from robot_llm.types import Clarify, Plan, PlanResult, Refuse, Scene, Subgoal

SCENES = load_scenes()
MAIN = SCENES["main"]


def plan(command: str, scene: Scene = MAIN, history: History | None = None) -> PlanResult:
    return plan_command(get_planner("rule"), command, scene, history)


def steps(result: PlanResult) -> list[tuple[str, ...]]:
    assert isinstance(result, Plan), result
    out = []
    for s in result.subgoals:
        out.append(tuple(str(v) for v in (s.skill, s.object, s.on, s.in_) if v is not None))
    return out


class FixedPlanner:
    """A backend that answers every command with the same result (for pipeline tests)."""

    def __init__(self, result: PlanResult, name: str = "fixed") -> None:
        self.result = result
        self.name = name
        self.calls = 0

    def plan(self, command: str, scene: Scene, history: History) -> PlanResult:
        self.calls += 1
        return self.result


# -- registry --------------------------------------------------------------------------------------
def test_rule_is_registered_and_is_a_planner() -> None:
    from robot_llm.planning import Planner

    assert "rule" in planner_names()
    p = get_planner("rule")
    assert isinstance(p, RulePlanner) and isinstance(p, Planner) and p.name == "rule"


def test_unknown_planner_names_the_known_ones() -> None:
    with pytest.raises(PlannerError, match=r"unknown planner 'llm'; known: rule, "):
        get_planner("llm")


def test_register_a_backend_by_name() -> None:
    register_planner("test-fixed", lambda **kw: FixedPlanner(Plan((Subgoal("home"),)), **kw))
    try:
        p = get_planner("test-fixed", name="test-fixed")
        assert plan_command(p, "anything", MAIN).type == "plan"
        with pytest.raises(PlannerError, match="already registered"):
            register_planner("test-fixed", FixedPlanner)
        with pytest.raises(PlannerError, match="must be letters"):
            register_planner("bad name!", FixedPlanner)
    finally:
        from robot_llm.planning.base import PLANNERS

        PLANNERS.unregister("test-fixed")


# -- pipeline and gate -----------------------------------------------------------------------------
def test_stop_words_win_without_asking_the_backend() -> None:
    backend = FixedPlanner(Plan((Subgoal("pick", object="red_block"),)))
    for command in ("stop", "wait, stop!", "put the block in the bowl... halt", "FREEZE"):
        r = plan_command(backend, command, MAIN)
        assert isinstance(r, Plan) and [s.skill for s in r.subgoals] == ["stop"]
    assert backend.calls == 0
    # not stop commands: the backend plans them (and the gate refuses disabling the e-stop)
    assert plan_command(backend, "turn off the e-stop", MAIN).type == "refuse"
    assert plan_command(backend, "don't stop", MAIN).type == "plan"
    assert backend.calls == 2


def test_gate_checks_every_backend_plan() -> None:
    def gated(result: PlanResult, command: str = "do it") -> PlanResult:
        return plan_command(FixedPlanner(result), command, MAIN)

    ok = Plan(
        (
            Subgoal("pick", object="green_block"),
            Subgoal("place", object="green_block", at=(0.5, 0.0)),
        )
    )
    assert gated(ok) == Plan(ok.subgoals, "do it", "fixed")
    cases: dict[str, Plan] = {
        "outside the workspace": Plan((Subgoal("place", object="green_block", at=(0.9, 0.0)),)),
        "no object 'purple_block'": Plan((Subgoal("pick", object="purple_block"),)),
        "'pick' acts on blocks only, not a bowl": Plan((Subgoal("pick", object="green_bowl"),)),
        "'push' acts on blocks, bowls and trays only, not a zone": Plan(
            (Subgoal("push", object="yellow_zone", direction="left"),)
        ),
        "longer than the limit": Plan(
            (Subgoal("push", object="green_block", direction="left", distance=0.5),)
        ),
        "would take it outside": Plan(
            (Subgoal("push", object="blue_block", direction="right", distance=0.1),)
        ),
        "z 0.00 to 0.45": Plan((Subgoal("move_to", pose=(0.5, 0.0, 0.9)),)),
    }
    for why, bad in cases.items():
        r = gated(bad)
        assert isinstance(r, Refuse) and why in r.reason, (why, r)
    # pushes are followed along the plan: two 10 cm pushes right leave the workspace
    twice = Plan(
        (
            Subgoal("push", object="green_block", direction="right", distance=0.1),
            Subgoal("push", object="green_block", direction="right", distance=0.1),
        )
    )
    assert gated(twice).type == "refuse"
    # the command text is checked whatever the backend answered
    assert gated(ok, "throw the green block").type == "refuse"
    assert gated(Clarify("which?", ("red_block", "ghost")), "pick it up") == Clarify(
        "which?", ("red_block",), "pick it up", "fixed"
    )


def test_gate_refusal_names_the_rule() -> None:
    r = plan("hurl the green block at the wall")
    assert isinstance(r, Refuse) and "safety rule 'throw'" in r.reason
    assert "throwing" in r.reason.lower()
    for text in ("toss it", "he threw it", "flinging blocks", "go at 3 m/s", "push at 500 mm/s"):
        assert plan(text).type == "refuse", text
    assert plan("go home at 0.2 m/s").type == "plan"


def test_operator_policy_adds_rules_and_tightens_limits(write_file: Callable[..., Path]) -> None:
    path = write_file(
        "site.yaml",
        """
version: 1
limits:
  workspace: {x: [0.30, 0.60]}
  max_speed: 0.1
rules:
  - id: no-pink
    reason: Pink blocks are fragile here; leave them alone.
    keywords: [pink]
""",
    )
    policy = SafetyPolicy.load(path)
    assert [r.id for r in policy.rules][-1] == "no-pink"
    assert len(policy.rules) == len(SafetyPolicy.default().rules) + 1
    assert policy.limits.x == (0.30, 0.60) and policy.limits.y == (-0.30, 0.30)
    gate = SafetyGate(policy)
    planner = get_planner("rule")
    r = plan_command(planner, "put the pink block in the tray", SCENES["stacked"], gate=gate)
    assert isinstance(r, Refuse) and "fragile" in r.reason and "no-pink" in r.reason
    # x 0.65 was fine under the default policy and is outside the site's workspace
    r = plan_command(planner, "push the green block to the far side", MAIN, gate=gate)
    assert isinstance(r, Refuse) and "outside the workspace" in r.reason
    assert plan_command(planner, "go home at 0.2 m/s", MAIN, gate=gate).type == "refuse"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("limits: {max_speed: 2.0}", "only tighten"),
        ("limits: {workspace: {x: [0.2, 0.7]}}", "only tighten"),
        ("rules: [{id: throw, reason: again, keywords: [x]}]", "already defined"),
        ("rules: [{id: r, reason: why, patterns: ['(']}]", "not a valid regex"),
        ("rules: [{id: r, reason: why}]", "at least one keyword"),
        ("rules: [{id: r, reason: why, keywords: [x], severity: 3}]", "unknown field 'severity'"),
        ("limitz: {}", "unknown field 'limitz'"),
        ("version: 2", "version 2 is not 1"),
        ("limits: {max_speed: -1}", "positive number"),
    ],
)
def test_bad_operator_policies_are_one_line_errors(
    write_file: Callable[..., Path], text: str, error: str
) -> None:
    path = write_file("bad.yaml", text)
    with pytest.raises(PolicyError, match=error) as err:
        SafetyPolicy.load(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_missing_policy_file() -> None:
    with pytest.raises(PolicyError, match="file not found"):
        SafetyPolicy.load("/nonexistent/policy.yaml")


def test_default_policy_matches_the_world_workspace() -> None:
    from robot_llm.tabletop.scene import WORKSPACE

    limits = SafetyPolicy.default().limits
    assert (limits.x, limits.y) == (WORKSPACE.x, WORKSPACE.y)


# -- history and dialogue --------------------------------------------------------------------------
def test_history_tracks_mentions_questions_and_the_held_block() -> None:
    h = History()
    plan("pick up the green block", history=h)
    assert h.mentioned == ("green_block",) and h.held == "green_block" and h.pending is None
    plan("go home", history=h)
    assert h.mentioned == ("green_block",) and h.held == "green_block"
    assert steps(plan("put it in the blue bowl", history=h)) == [
        ("place", "green_block", "blue_bowl")
    ]
    assert h.held is None
    q = plan("pick up the red block", history=h)
    assert isinstance(q, Clarify) and h.pending == q
    assert q.candidates == ("red_block", "red_block_2")
    assert q.question == "Which red block: the large one or the small one?"
    r = plan("the small one", history=h)
    assert steps(r) == [("pick", "red_block_2")] and r.command == "pick up the red block"
    assert h.commands[-1] == "the small one" and len(h) == 5


def test_history_is_bounded() -> None:
    h = History(max_turns=3)
    for _ in range(5):
        plan("go home", history=h)
    assert len(h) == 3
    h.clear()
    assert len(h) == 0 and h.mentioned == ()


def test_a_new_command_replaces_an_open_question() -> None:
    h = History()
    assert plan("put the red block in the bowl", history=h).type == "clarify"
    assert steps(plan("push the blue block forward", history=h)) == [("push", "blue_block")]


def test_nothing_moves_while_asking() -> None:
    r = plan("put the green block in the bowl")
    assert isinstance(r, Clarify) and r.candidates == ("green_bowl", "blue_bowl")


# -- planning --------------------------------------------------------------------------------------
def test_plans_are_deterministic() -> None:
    commands = ["stack the blocks", "sort the blocks by color", "put the pink block on the table"]
    for scene in (MAIN, SCENES["sorting"], SCENES["stacked"]):
        for c in commands:
            assert plan(c, scene) == plan(c, scene)


def test_places_are_inside_the_workspace_and_free() -> None:
    from robot_llm.planning.table_model import TableModel

    for command in (
        "put the pink block on the table",
        "unstack the tower",
        "stack the blocks",
        "empty the cyan bowl",
    ):
        r = plan(command, SCENES["stacked"])
        assert isinstance(r, Plan)
        world = TableModel.from_scene(SCENES["stacked"])
        for s in r.subgoals:
            if s.at is not None:
                assert world.workspace.contains(*s.at)


def test_zone_targets_use_in_and_blocks_use_on() -> None:
    assert steps(plan("put the green block on the yellow zone")) == [
        ("pick", "green_block"),
        ("place", "green_block", "yellow_zone"),
    ]
    r = plan("put the green block on the yellow zone")
    assert isinstance(r, Plan) and r.subgoals[1].in_ == "yellow_zone"
    r = plan("put the green block on the blue block")
    assert isinstance(r, Plan) and r.subgoals[1].on == "blue_block"


def test_region_pushes_take_the_shortest_way_into_the_region() -> None:
    from robot_llm.tabletop.predicates import REGIONS

    green = MAIN.get("green_block").position
    for region, phrase in (
        ("far left", "far left corner"),
        ("left", "left side"),
        ("near", "front"),
    ):
        r = plan(f"push the green block to the {phrase}")
        assert isinstance(r, Plan)
        (s,) = r.subgoals
        assert s.to is not None
        (x0, x1), (y0, y1) = REGIONS[region]
        margin = 0.04 - 1e-9
        assert x0 + margin <= s.to[0] <= x1 - margin and y0 + margin <= s.to[1] <= y1 - margin
        # The region's nearest point: no other point inside the shrunk box is closer.
        nearest = (
            min(max(green[0], x0 + 0.04), x1 - 0.04),
            min(max(green[1], y0 + 0.04), y1 - 0.04),
        )
        assert s.to == pytest.approx(nearest, abs=1e-3)
    r = plan("slide the green block to the center")
    assert isinstance(r, Plan) and r.subgoals[0].to == pytest.approx((0.5, 0.0))


def test_replan_function_plans_through_the_pipeline() -> None:
    replan = replan_function(get_planner("rule"))
    assert steps(replan("put the green block in the blue bowl", MAIN, [])) == [
        ("pick", "green_block"),
        ("place", "green_block", "blue_bowl"),
    ]
    assert replan("throw the green block", MAIN, []).type == "refuse"


def test_scene_from_data_stacks_objects() -> None:
    scene = scene_from_data(
        [
            {"id": "a", "kind": "block", "color": "red", "size": "large", "position": [0.5, 0.0]},
            {"id": "b", "kind": "block", "color": "blue", "size": "small", "on": "a"},
        ]
    )
    a, b = scene.objects
    assert b.position[:2] == a.position[:2]
    assert b.position[2] == pytest.approx(0.05 + 0.015)


# -- colors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("word", "color"),
    [
        ("crimson", "red"),
        ("maroon", "red"),
        ("navy", "blue"),
        ("royal blue", "blue"),
        ("violet", "purple"),
        ("indigo", "purple"),
        ("teal", "cyan"),
        ("turquoise", "cyan"),
        ("tan", "brown"),
        ("chocolate", "brown"),
        ("sienna", "brown"),
        ("silver", "gray"),
        ("white", "gray"),
        ("black", "gray"),
        ("grey", "gray"),
        ("gold", "yellow"),
        ("khaki", "yellow"),
        ("lime", "green"),
        ("olive drab", "green"),
        ("hot pink", "pink"),
        ("salmon", "pink"),
        ("coral", "orange"),
        ("dark orange", "orange"),
        ("light blue", "blue"),
        ("lightblue", "cyan"),
        ("navy blue", "blue"),
    ],
)
def test_color_words_map_to_the_palette(word: str, color: str) -> None:
    assert palette_color(word) == color


def test_color_lexicon_is_the_css_list_plus_the_palette() -> None:
    import webcolors

    from robot_llm.tabletop.palette import COLORS

    lex = color_lexicon()
    assert set(webcolors.names("css3")) <= set(lex) and set(COLORS) <= set(lex)
    assert set(lex.values()) == set(COLORS)
    check_palette()
    for word in ("block", "large", "light", "large red block", "scarlet", ""):
        assert palette_color(word) is None, word


# -- layering and packaging ------------------------------------------------------------------------
def test_planning_imports_neither_pybullet_nor_the_world() -> None:
    code = (
        "import sys; import robot_llm.planning, robot_llm.planning.suite;"
        "from robot_llm.planning.suite_eval import evaluate_suite;"
        "bad = [m for m in ('pybullet', 'robot_llm.envs.world', 'torch', 'transformers') "
        "if m in sys.modules]; print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[]"


def test_policy_and_suite_ship_as_package_data() -> None:
    from importlib import resources

    root = resources.files("robot_llm.planning")
    assert root.joinpath("safety_policy.yaml").is_file()
    assert root.joinpath("suite", "scenes.yaml").is_file()
    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    data = pyproject["tool"]["setuptools"]["package-data"]
    assert "*.yaml" in data["robot_llm.planning"] and "*.yaml" in data["robot_llm.planning.suite"]
    packages = pyproject["tool"]["setuptools"]["packages"]
    assert {"robot_llm.planning", "robot_llm.planning.suite"} <= set(packages)


def test_a_replan_keeps_the_answers_of_the_dialogue() -> None:
    h = History()
    plan("put the red block in the bowl", history=h)
    plan("the small one", history=h)
    done = plan("the blue one", history=h)
    assert steps(done) == [("pick", "red_block_2"), ("place", "red_block_2", "blue_bowl")]
    replan = replan_function(get_planner("rule"), history=h)
    assert replan("put the red block in the bowl", MAIN, []) == done
    assert len(h) == 3  # replans are not turns of the operator's dialogue
    # without the dialogue the command is ambiguous again
    assert replan_function(get_planner("rule"))("put the red block in the bowl", MAIN, []).type == (
        "clarify"
    )


def test_a_tower_move_planned_again_part_way_picks_up_a_fallen_block() -> None:
    command = "move the tower from the red zone to the green zone, one block at a time"
    history = History()
    first = plan(command, SCENES["hanoi"], history)
    assert isinstance(first, Plan) and len(first.subgoals) == 14
    # Part way: the small block fell off and lies on the table; the other two are on zones.
    midway = scene_from_data(
        [
            {"id": "red_zone", "kind": "zone", "color": "red", "position": [0.40, 0.18]},
            {"id": "green_zone", "kind": "zone", "color": "green", "position": [0.60, 0.00]},
            {"id": "blue_zone", "kind": "zone", "color": "blue", "position": [0.40, -0.18]},
            {
                "id": "yellow_block",
                "kind": "block",
                "color": "yellow",
                "size": "large",
                "on": "red_zone",
            },
            {
                "id": "purple_block",
                "kind": "block",
                "color": "purple",
                "size": "medium",
                "on": "blue_zone",
            },
            {
                "id": "orange_block",
                "kind": "block",
                "color": "orange",
                "size": "small",
                "position": [0.52, 0.20],
            },
        ]
    )
    again = replan_function(get_planner("rule"), history=history)(command, midway, [])
    assert isinstance(again, Plan)
    moves = [(s.object, s.on or s.in_) for s in again.subgoals if s.skill == "place"]
    assert moves == [  # the fewest moves from here, the small block last
        ("yellow_block", "green_zone"),
        ("purple_block", "yellow_block"),
        ("orange_block", "purple_block"),
    ]
    # Without the dialogue the loose block is not known to belong to the tower.
    alone = plan(command, midway)
    assert isinstance(alone, Plan)
    assert "orange_block" not in {s.object for s in alone.subgoals}


def test_a_pyramid_base_row_runs_away_from_the_robot_square_and_free() -> None:
    from robot_llm.planning.pyramid import BASE_GAP
    from robot_llm.planning.table_model import TableModel

    scene = SCENES["pyramid"]
    r = plan(
        "build a pyramid: red, green and blue on the bottom, orange and purple in the "
        "middle, yellow on top",
        scene,
    )
    assert isinstance(r, Plan), r
    slots = [(s.object, s.at) for s in r.subgoals if s.at is not None]
    assert [o for o, _ in slots] == ["red_block", "green_block", "blue_block"]
    xs = [at[0] for _, at in slots]
    ys = [at[1] for _, at in slots]
    # One line along x (the fingers open across it, so no block turns in the hand), first
    # named farthest, spaced by a block's edge plus the gap.
    assert ys[0] == ys[1] == ys[2]
    assert xs[0] > xs[1] > xs[2]
    edge = 0.04
    for a, b in itertools.pairwise(xs):
        assert a - b == pytest.approx(edge + BASE_GAP, abs=1e-3)
    world = TableModel.from_scene(scene)
    for _, at in slots:
        assert world.workspace.contains(*at)
        for o in scene.objects:
            if o.id not in {"red_block", "green_block", "blue_block"}:
                assert ((o.position[0] - at[0]) ** 2 + (o.position[1] - at[1]) ** 2) ** 0.5 > edge


def test_every_action_of_the_verb_table_has_one_handler() -> None:
    """A verb synonym is one row in VERBS; the action it names must be planned by a handler."""
    from robot_llm.planning.verb_words import VERBS
    from robot_llm.planning.verbs import HANDLERS

    actions = {action for _, action in VERBS}
    assert actions <= set(HANDLERS), sorted(actions - set(HANDLERS))


def test_repl_completion_reads_the_planner_tables() -> None:
    from robot_llm.planning.verb_words import VERBS, completion_words

    words = completion_words()
    assert {"pick up", "grab", "bowl", "cubes", "left", "then"} <= words
    assert "undo" not in words  # a verb the planner only refuses is not offered
    assert all(" ".join(w) in words for w, action in VERBS if action != "unsupported")
