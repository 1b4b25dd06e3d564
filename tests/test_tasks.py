"""Task families: evaluate() on hand-built poses, seeded sampling, and the oracle in physics.

Tiers: pure logic (no simulator) for every family's success rules, then sampling checks over
many seeds, then one short PyBullet episode per family solved by the privileged oracle.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pytest

from robot_llm.envs.tasks import TASKS, make_task
from robot_llm.envs.tasks.base import (
    INSTRUCTION_CHARSET,
    INSTRUCTION_MAX_LENGTH,
    Episode,
    Task,
    block,
    container,
)
from robot_llm.envs.tasks.chain import Chain
from robot_llm.tabletop.geometry import height, rest_height
from robot_llm.tabletop.object_state import ObjectState
from robot_llm.tabletop.predicates import REGIONS
from robot_llm.tabletop.scene import ObjectSpec, SceneSpec

FAMILIES = (
    "PickPlace",
    "Stack",
    "PutInBowl",
    "Sort",
    "Push",
    "Pyramid",
    "TowersOfHanoi",
    "Clear",
    "Chain",
)
SAMPLE_SEEDS = range(20)
DETERMINISM_SEEDS = 5  # seeds sampled twice to check reproducibility


# -- helpers ------------------------------------------------------------------------------------
def pose(
    spec: ObjectSpec,
    x: float,
    y: float,
    bottom: float = 0.0,
    yaw: float = 0.0,
    roll: float = 0.0,
) -> ObjectState:
    """An ObjectState with the object's bottom at `bottom` (upright unless rolled)."""
    z = bottom + height(spec.kind, spec.size) / 2
    q_yaw = np.array([0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)])
    q_roll = np.array([math.sin(roll / 2), 0.0, 0.0, math.cos(roll / 2)])
    # yaw after roll: q = q_yaw * q_roll
    ax, ay, az, aw = q_yaw
    bx, by, bz, bw = q_roll
    quat = np.array(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ]
    )
    return ObjectState(spec, np.array([x, y, z]), quat)


def on(spec: ObjectSpec, support: ObjectState, dx: float = 0.0, dy: float = 0.0) -> ObjectState:
    """`spec` resting on or in `support` (block top, bowl or tray floor, zone surface)."""
    base = float(support.position[2]) - height(support.spec.kind, support.spec.size) / 2
    level = base + rest_height(support.spec.kind, support.spec.size)
    return pose(spec, float(support.position[0]) + dx, float(support.position[1]) + dy, level)


def states_of(*states: ObjectState) -> dict[str, ObjectState]:
    return {s.spec.id: s for s in states}


def with_goal(name: str, goal: dict[str, Any], text: str = "test") -> Task:
    """A task of this family holding a hand-made episode (the scene is not needed)."""
    task = make_task(name)
    task.episode = Episode(SceneSpec(()), text, goal)
    return task


def resting_states(scene: SceneSpec) -> dict[str, ObjectState]:
    """Object states as a freshly built scene has them: on the table or on their support."""
    bottoms: dict[str, float] = {}
    out: dict[str, ObjectState] = {}
    pending = list(scene.objects)
    while pending:
        for o in list(pending):
            if o.on is not None and o.on not in bottoms:
                continue
            if o.on is None:
                z = 0.0
            else:
                sup = scene.get(o.on)
                z = bottoms[o.on] + rest_height(sup.kind, sup.size)
            bottoms[o.id] = z
            out[o.id] = pose(o, o.position[0], o.position[1], z, o.yaw)
            pending.remove(o)
    return out


def check_keys(result: Mapping[str, Any]) -> None:
    assert isinstance(result["success"], bool)
    assert 0.0 <= float(result["progress"]) <= 1.0


# -- registry -----------------------------------------------------------------------------------
def test_all_families_are_registered() -> None:
    import robot_llm.envs

    assert set(TASKS) == set(FAMILIES)
    for name in FAMILIES:
        assert f"robot_llm/{name}-v0" in robot_llm.envs.ENV_IDS


@pytest.mark.parametrize("name", FAMILIES)
def test_family_declares_templates_and_step_limit(name: str) -> None:
    cls = TASKS[name]
    assert cls.name == name
    assert cls.max_episode_steps >= 100
    assert len(cls.templates) >= 3
    for template in cls.templates:
        literal = template.replace("{", "").replace("}", "").replace("_", "")
        assert set(literal) <= set(INSTRUCTION_CHARSET), template


# -- Stack --------------------------------------------------------------------------------------
RED, GREEN, BLUE, YELLOW = (block(c) for c in ("red", "green", "blue", "yellow"))


def test_stack_success_in_the_named_order() -> None:
    task = with_goal("Stack", {"order": [RED.id, GREEN.id, BLUE.id]})
    r = pose(RED, 0.5, 0.0)
    g = on(GREEN, r)
    b = on(BLUE, g, dx=0.004)
    result = task.evaluate(states_of(r, g, b))
    check_keys(result)
    assert result["success"] and result["progress"] == 1.0
    assert result["layers_correct"] == 2


def test_stack_wrong_order_is_not_success() -> None:
    task = with_goal("Stack", {"order": [RED.id, GREEN.id, BLUE.id]})
    r = pose(RED, 0.5, 0.0)
    b = on(BLUE, r)
    g = on(GREEN, b)
    result = task.evaluate(states_of(r, g, b))
    assert not result["success"] and result["progress"] == 0.0


def test_stack_counts_correct_layers_from_the_bottom() -> None:
    task = with_goal("Stack", {"order": [RED.id, GREEN.id, BLUE.id, YELLOW.id]})
    r = pose(RED, 0.5, 0.0)
    g = on(GREEN, r)
    b = pose(BLUE, 0.4, 0.2)
    y = on(YELLOW, b)
    result = task.evaluate(states_of(r, g, b, y))
    assert not result["success"]
    assert result["layers_correct"] == 1
    assert result["progress"] == pytest.approx(1 / 3)


def test_stack_bottom_must_stand_on_the_table() -> None:
    task = with_goal("Stack", {"order": [RED.id, GREEN.id]})
    y = pose(YELLOW, 0.5, 0.0)
    r = on(RED, y)
    g = on(GREEN, r)
    result = task.evaluate(states_of(y, r, g))
    assert not result["success"] and not result["base_on_table"]


def test_stack_knocked_over_block_is_not_a_layer() -> None:
    task = with_goal("Stack", {"order": [RED.id, GREEN.id]})
    r = pose(RED, 0.5, 0.0)
    g = pose(GREEN, 0.5, 0.0, bottom=0.04, roll=math.radians(40))
    assert not task.evaluate(states_of(r, g))["success"]


# -- PutInBowl ----------------------------------------------------------------------------------
def put_in_bowl_goal(blocks: Iterable[ObjectSpec], bowl: ObjectSpec) -> dict[str, Any]:
    ids = [b.id for b in blocks]
    return {"blocks": ids, "bowls": [bowl.id], "color": "red", "bowl_color": bowl.color}


def test_put_in_bowl_inside_versus_beside() -> None:
    red2 = block("red", suffix="_2")
    bowl = container("bowl", "green", "large")
    other = container("bowl", "blue")
    task = with_goal("PutInBowl", put_in_bowl_goal([RED, red2], bowl))
    w = pose(bowl, 0.5, 0.0)
    o = pose(other, 0.5, 0.25)
    inside = on(RED, w, dx=0.03)
    beside = pose(red2, 0.5, -0.12)  # just outside the rim
    result = task.evaluate(states_of(w, o, inside, beside))
    check_keys(result)
    assert not result["success"] and result["progress"] == 0.5
    in_wrong_bowl = on(red2, o)
    assert not task.evaluate(states_of(w, o, inside, in_wrong_bowl))["success"]
    both = on(red2, w, dx=-0.03)
    result = task.evaluate(states_of(w, o, inside, both))
    assert result["success"] and result["blocks_in_bowl"] == 2


def test_put_in_bowl_reports_distractors_in_the_bowl() -> None:
    bowl = container("bowl", "green", "large")
    task = with_goal("PutInBowl", put_in_bowl_goal([RED], bowl))
    w = pose(bowl, 0.5, 0.0)
    result = task.evaluate(states_of(w, on(RED, w, dx=0.03), on(BLUE, w, dx=-0.03)))
    assert result["success"] and result["distractors_in_bowl"] == 1


def test_put_in_bowl_block_on_the_rim_is_not_inside() -> None:
    bowl = container("bowl", "green")
    task = with_goal("PutInBowl", put_in_bowl_goal([RED], bowl))
    w = pose(bowl, 0.5, 0.0)
    floating = pose(RED, 0.5, 0.0, bottom=0.06)  # above the rim, e.g. still in the hand
    assert not task.evaluate(states_of(w, floating))["success"]


# -- Sort ---------------------------------------------------------------------------------------
def test_sort_every_block_in_its_color() -> None:
    red_bowl = container("bowl", "red")
    blue_zone = container("zone", "blue", "large")
    blue2 = block("blue", suffix="_2")
    goal = {"containers": {red_bowl.id: [RED.id], blue_zone.id: [BLUE.id, blue2.id]}}
    task = with_goal("Sort", goal)
    w = pose(red_bowl, 0.4, 0.1)
    z = pose(blue_zone, 0.6, -0.1)
    good = states_of(w, z, on(RED, w), on(BLUE, z, dx=-0.03), on(blue2, z, dx=0.03))
    result = task.evaluate(good)
    check_keys(result)
    assert result["success"] and result["blocks_sorted"] == 3
    swapped = states_of(w, z, on(RED, z, dx=0.03), on(BLUE, w), on(blue2, z, dx=-0.03))
    result = task.evaluate(swapped)
    assert not result["success"] and result["progress"] == pytest.approx(1 / 3)


# -- Push ---------------------------------------------------------------------------------------
def test_push_region_goal() -> None:
    goal = {"relation": "region", "object": RED.id, "region": "left", "start_distance": 0.2}
    task = with_goal("Push", goal)
    (x0, x1), (y0, y1) = REGIONS["left"]
    inside = task.evaluate(states_of(pose(RED, (x0 + x1) / 2, (y0 + y1) / 2)))
    check_keys(inside)
    assert inside["success"] and inside["distance_to_goal"] == 0.0
    halfway = task.evaluate(states_of(pose(RED, 0.5, y0 - 0.1)))
    assert not halfway["success"]
    assert halfway["progress"] == pytest.approx(0.5)
    lifted = task.evaluate(states_of(pose(RED, (x0 + x1) / 2, (y0 + y1) / 2, bottom=0.05)))
    assert not lifted["success"]  # a push task: the block must stay on the table


def test_push_next_to_goal() -> None:
    goal = {"relation": "next_to", "object": RED.id, "target": GREEN.id, "start_distance": 0.1}
    task = with_goal("Push", goal)
    g = pose(GREEN, 0.5, 0.0)
    assert task.evaluate(states_of(g, pose(RED, 0.5, 0.055)))["success"]
    far = task.evaluate(states_of(g, pose(RED, 0.5, 0.2)))
    assert not far["success"] and far["distance_to_goal"] > 0.0


# -- Pyramid ------------------------------------------------------------------------------------
PYR = [block(c) for c in ("red", "green", "blue", "yellow", "orange", "purple")]
PYR_GOAL = {
    "base": [b.id for b in PYR[:3]],
    "middle": [b.id for b in PYR[3:5]],
    "top": PYR[5].id,
    "site": [0.5, 0.0],
}
SPACING = 0.045


def pyramid_states(base_order: tuple[int, int, int] = (0, 1, 2)) -> dict[str, ObjectState]:
    base = [pose(PYR[i], 0.5, (k - 1) * SPACING) for k, i in enumerate(base_order)]
    mid = [pose(PYR[3 + k], 0.5, (k - 0.5) * SPACING, bottom=0.04) for k in range(2)]
    top = pose(PYR[5], 0.5, 0.0, bottom=0.08)
    return states_of(*base, *mid, top)


def test_pyramid_success() -> None:
    task = with_goal("Pyramid", PYR_GOAL)
    result = task.evaluate(pyramid_states())
    check_keys(result)
    assert result["success"] and result["blocks_placed"] == 6


def test_pyramid_base_blocks_in_any_order() -> None:
    task = with_goal("Pyramid", PYR_GOAL)
    assert task.evaluate(pyramid_states((2, 0, 1)))["success"]


def test_pyramid_missing_top_gives_partial_progress() -> None:
    task = with_goal("Pyramid", PYR_GOAL)
    states = pyramid_states()
    states[PYR[5].id] = pose(PYR[5], 0.4, 0.2)
    result = task.evaluate(states)
    assert not result["success"] and result["progress"] == pytest.approx(5 / 6)
    assert result["middle_done"] and not result["top_done"]


def test_pyramid_middle_block_off_center_fails() -> None:
    task = with_goal("Pyramid", PYR_GOAL)
    states = pyramid_states()
    mid = PYR[3]
    states[mid.id] = pose(mid, 0.5 + 0.02, -0.5 * SPACING, bottom=0.04)  # beyond 1.5 cm
    result = task.evaluate(states)
    assert not result["success"] and not result["middle_done"]


def test_pyramid_base_not_in_a_row_fails() -> None:
    task = with_goal("Pyramid", PYR_GOAL)
    states = pyramid_states()
    states[PYR[2].id] = pose(PYR[2], 0.5, 0.2)  # third base block far away
    result = task.evaluate(states)
    assert not result["success"] and not result["base_done"]
    assert result["blocks_placed"] < 6


def test_pyramid_wrong_blocks_on_the_wrong_level_fail() -> None:
    task = with_goal("Pyramid", PYR_GOAL)
    states = pyramid_states()
    # swap a base block with the top one
    a, t = PYR[0], PYR[5]
    sa, st = states[a.id], states[t.id]
    states[a.id] = ObjectState(a, st.position, st.orientation)
    states[t.id] = ObjectState(t, sa.position, sa.orientation)
    assert not task.evaluate(states)["success"]


# -- TowersOfHanoi ------------------------------------------------------------------------------
ZONES = [container("zone", c) for c in ("red", "green", "blue")]
DISKS = [block("cyan", "large"), block("pink", "medium"), block("gray", "small")]
HANOI_GOAL = {
    "source": ZONES[0].id,
    "target": ZONES[2].id,
    "spare": ZONES[1].id,
    "blocks": [d.id for d in DISKS],
}


def hanoi_tower(zone_index: int) -> dict[str, ObjectState]:
    zones = [pose(z, 0.5, -0.2 + 0.2 * i) for i, z in enumerate(ZONES)]
    large = on(DISKS[0], zones[zone_index])
    medium = on(DISKS[1], large)
    small = on(DISKS[2], medium)
    return states_of(*zones, large, medium, small)


def test_hanoi_start_and_goal() -> None:
    task = with_goal("TowersOfHanoi", HANOI_GOAL)
    start = task.evaluate(hanoi_tower(0))
    check_keys(start)
    assert not start["success"] and start["progress"] == 0.0 and not start["rule_violated"]
    done = task.evaluate(hanoi_tower(2))
    assert done["success"] and not done["rule_violated"]
    assert not task.evaluate(hanoi_tower(1))["success"]  # the spare zone is not the target


def test_hanoi_rule_violation_is_reported() -> None:
    task = with_goal("TowersOfHanoi", HANOI_GOAL)
    states = hanoi_tower(0)
    zones = [states[z.id] for z in ZONES]
    small = on(DISKS[2], zones[1])
    medium = on(DISKS[1], small)  # medium on small: against the rules
    states.update(states_of(small, medium))
    result = task.evaluate(states)
    assert result["rule_violated"] and not result["success"]


def test_hanoi_wrong_order_on_target_fails() -> None:
    task = with_goal("TowersOfHanoi", HANOI_GOAL)
    states = hanoi_tower(0)
    target = states[ZONES[2].id]
    medium = on(DISKS[1], target)
    large = on(DISKS[0], medium)
    small = on(DISKS[2], large)
    states.update(states_of(medium, large, small))
    result = task.evaluate(states)
    assert not result["success"] and result["rule_violated"]


def test_hanoi_oracle_plans_the_seven_classic_moves() -> None:
    task = with_goal("TowersOfHanoi", HANOI_GOAL)
    plan = task.oracle_plan(hanoi_tower(0))
    assert len(plan) == 7
    assert [op["object"] for op in plan] == [
        DISKS[i].id for i in (2, 1, 2, 0, 2, 1, 2)
    ]  # small, medium, small, large, small, medium, small
    assert task.oracle_plan(hanoi_tower(2)) == []


# -- Clear --------------------------------------------------------------------------------------
def test_clear_all_blocks_in_the_tray() -> None:
    tray = container("tray", "brown", "large")
    task = with_goal("Clear", {"tray": tray.id, "blocks": [RED.id, GREEN.id, BLUE.id]})
    t = pose(tray, 0.5, 0.0)
    inside = [on(b, t, dy=dy) for b, dy in ((RED, -0.06), (GREEN, 0.0), (BLUE, 0.06))]
    result = task.evaluate(states_of(t, *inside))
    check_keys(result)
    assert result["success"] and result["blocks_in_tray"] == 3
    outside = pose(BLUE, 0.5, 0.25)
    result = task.evaluate(states_of(t, inside[0], inside[1], outside))
    assert not result["success"] and result["progress"] == pytest.approx(2 / 3)


def test_clear_oracle_slots_do_not_overlap() -> None:
    tray = container("tray", "brown", "large")
    blocks = [block(c) for c in ("red", "green", "blue", "yellow", "pink")]
    task = with_goal("Clear", {"tray": tray.id, "blocks": [b.id for b in blocks]})
    t = pose(tray, 0.5, 0.0, yaw=math.pi / 2)
    outside = [pose(b, 0.35, -0.25 + 0.1 * i) for i, b in enumerate(blocks)]
    plan = task.oracle_plan(states_of(t, *outside))
    targets = np.array([op["target"][:2] for op in plan])
    assert len(plan) == 5
    gaps = [np.linalg.norm(a - b) for i, a in enumerate(targets) for b in targets[i + 1 :]]
    assert min(gaps) >= 0.05  # a medium block plus a centimeter
    placed = states_of(
        t,
        *[
            pose(b, op["target"][0], op["target"][1], op["target"][2])
            for b, op in zip(blocks, plan, strict=True)
        ],
    )
    assert task.evaluate(placed)["success"]


# -- Chain --------------------------------------------------------------------------------------
def chain_task() -> tuple[Chain, dict[str, ObjectState]]:
    bowl, zone = container("bowl", "pink"), container("zone", "gray")
    subtasks = [
        {"relation": "in", "object": RED.id, "target": bowl.id, "text": "put the red block in"},
        {"relation": "on", "object": GREEN.id, "target": zone.id, "text": "green on zone"},
        {"relation": "on", "object": BLUE.id, "target": GREEN.id, "text": "blue on green"},
        {"relation": "region", "object": YELLOW.id, "region": "left", "text": "yellow left"},
        {"relation": "on", "object": RED.id, "target": BLUE.id, "text": "red on blue"},
    ]
    task = with_goal("Chain", {"subtasks": subtasks}, subtasks[0]["text"])
    assert isinstance(task, Chain)
    states = states_of(
        pose(bowl, 0.4, -0.2),
        pose(zone, 0.6, -0.2),
        pose(RED, 0.5, 0.0),
        pose(GREEN, 0.5, 0.1),
        pose(BLUE, 0.4, 0.0),
        pose(YELLOW, 0.6, 0.0),
    )
    return task, states


def test_chain_checks_only_the_current_subtask() -> None:
    task, states = chain_task()
    # the second subtask already holds, but the first does not: nothing is completed yet
    states[GREEN.id] = on(GREEN, states["gray_zone"])
    result = task.evaluate(states)
    check_keys(result)
    assert result["stage"] == 0 and result["completed_in_a_row"] == 0
    assert not task.advance(result)
    assert task.instruction == "put the red block in"


def test_chain_advances_through_five_subtasks() -> None:
    task, states = chain_task()
    moves = [
        lambda s: {RED.id: on(RED, s["pink_bowl"])},
        lambda s: {GREEN.id: on(GREEN, s["gray_zone"])},
        lambda s: {BLUE.id: on(BLUE, s[GREEN.id])},
        lambda s: {YELLOW.id: pose(YELLOW, 0.5, 0.24)},
        lambda s: {RED.id: on(RED, s[BLUE.id])},
    ]
    texts = []
    for k, move in enumerate(moves):
        texts.append(task.instruction)
        assert task.evaluate(states)["completed_in_a_row"] == k
        states.update(move(states))
        result = task.evaluate(states)
        assert result["completed_in_a_row"] == k + 1
        changed = task.advance(result)
        assert changed == (k < 4)
    assert len(set(texts)) == 5
    final = task.evaluate(states)
    assert final["success"] and final["progress"] == 1.0 and final["stage"] == 4


def test_chain_reset_starts_from_the_first_subtask() -> None:
    task = Chain()
    episode = task.reset(np.random.default_rng(3))
    task.stage = 3
    again = task.reset(np.random.default_rng(3))
    assert task.stage == 0 and again == episode
    assert task.instruction == episode.goal["subtasks"][0]["text"] == episode.instruction


def check_chain_subtasks(episode: Episode) -> None:
    """Five subtasks, none of which moves a block that has another on top of it."""
    subtasks = episode.goal["subtasks"]
    assert len(subtasks) == 5
    support: dict[str, str | None] = {}
    for sub in subtasks:
        obj = sub["object"]
        assert obj not in support.values(), f"{obj} has a block on top"
        if sub["relation"] == "region":
            assert support.get(obj) is None, f"{obj} is pushed off a support"
        else:
            support[obj] = sub["target"]


# -- sampling -----------------------------------------------------------------------------------
def check_unambiguous(name: str, episode: Episode) -> None:
    """Distinct colors per kind, except the same-colored blocks PutInBowl and Sort ask for."""
    seen: dict[tuple[str, str], int] = {}
    for o in episode.scene:
        seen[(o.kind, o.color)] = seen.get((o.kind, o.color), 0) + 1
    repeated = {k for k, n in seen.items() if n > 1}
    if name == "PutInBowl":  # "put the red blocks in a green bowl"
        assert all(k == ("block", episode.goal["color"]) for k in repeated), repeated
    elif name == "Sort":  # every block goes to the container of its color
        assert all(kind == "block" for kind, _ in repeated), repeated
    else:
        assert not repeated, repeated


@pytest.mark.parametrize("name", FAMILIES)
def test_sampling_is_valid_seeded_and_unsolved(name: str) -> None:
    task = make_task(name)
    instructions = set()
    for seed in SAMPLE_SEEDS:
        episode = task.reset(np.random.default_rng(seed))
        scene = episode.scene
        assert isinstance(scene, SceneSpec) and len(scene) >= 2
        assert len(set(scene.ids)) == len(scene)
        for text in [episode.instruction, task.instruction]:
            assert 0 < len(text) <= INSTRUCTION_MAX_LENGTH
            assert set(text) <= set(INSTRUCTION_CHARSET), text
        instructions.add(episode.instruction)
        check_unambiguous(name, episode)
        if name == "Chain":
            check_chain_subtasks(episode)
        states = resting_states(scene)
        result = task.evaluate(states)
        check_keys(result)
        assert not result["success"], f"{name} seed {seed} is solved before it starts"
        assert task.oracle_plan(states), f"{name} seed {seed}: the oracle has nothing to do"
        if seed < DETERMINISM_SEEDS:
            same = make_task(name).reset(np.random.default_rng(seed))
            assert same == episode, f"{name} seed {seed} is not reproducible"
    assert len(instructions) >= 5  # phrasings and objects vary


def test_push_never_starts_at_its_goal_and_has_a_free_path() -> None:
    task = make_task("Push")
    for seed in range(50):
        episode = task.reset(np.random.default_rng(seed))
        assert episode.goal["start_distance"] >= 0.02
        result = task.evaluate(resting_states(episode.scene))
        assert result["progress"] == 0.0


# -- physics ------------------------------------------------------------------------------------
# One fixed seed per family; the oracle must solve it in the simulator.
PHYSICS_SEEDS = {name: 0 for name in FAMILIES}


@pytest.mark.parametrize("name", FAMILIES)
def test_oracle_solves_family_in_simulation(name: str) -> None:
    import gymnasium as gym

    import robot_llm.envs  # noqa: F401  (registers the ids)
    from robot_llm.envs.tabletop_env import TabletopEnv
    from robot_llm.policies.oracle import Oracle

    env = gym.make(f"robot_llm/{name}-v0", obs_mode="state")
    try:
        _, info = env.reset(seed=PHYSICS_SEEDS[name])
        assert not info["is_success"]
        unwrapped = env.unwrapped
        assert isinstance(unwrapped, TabletopEnv)
        result = Oracle(unwrapped).run()
        assert result.success, f"{name}: oracle failed: {unwrapped.evaluation}"
        assert result.steps <= TASKS[name].max_episode_steps
    finally:
        env.close()
