"""Perception: CameraPerceiver on rendered frames against simulator truth, ids, and JSON."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from robot_llm.envs.tasks import TASKS, make_task
from robot_llm.envs.world import TabletopWorld
from robot_llm.perception import CameraPerceiver, TruthPerceiver, associate, scene_from_spec
from robot_llm.perception.colors import ColorClassifier
from robot_llm.tabletop.palette import PALETTE
from robot_llm.tabletop.scene import SceneSpec, load_scene, parse_scene
from robot_llm.types import Scene, SceneObject

MIN_VISIBLE_PIXELS = 40
POSITION_TOLERANCE = 0.01


@pytest.fixture(scope="module")
def perceiver() -> CameraPerceiver:
    return CameraPerceiver()


def perceive(world: TabletopWorld, perceiver: CameraPerceiver) -> tuple[Scene, dict[str, int]]:
    """Perception of the main camera, and how many pixels of each object the camera sees."""
    rendered = world.render_main(segmentation=True)
    seg = rendered.segmentation
    assert seg is not None
    pixels = {oid: int((seg == body).sum()) for oid, body in world.bodies.items()}
    return perceiver.perceive(rendered.to_camera_frame()), pixels


def assert_matches_truth(world: TabletopWorld, scene: Scene, pixels: dict[str, int]) -> None:
    """Every visible object is perceived with its kind, color and size, within 1 cm."""
    truth = TruthPerceiver(world).perceive()
    for t in truth:
        if pixels[t.id] < MIN_VISIBLE_PIXELS:
            continue
        same = [p for p in scene.find(t.kind, t.color)]
        assert same, f"{t.id} ({t.color} {t.kind}) not perceived: {scene.ids}"
        p = min(same, key=lambda o: math.dist(o.position, t.position))
        error = math.dist(p.position, t.position)
        assert error < POSITION_TOLERANCE, f"{t.id}: {p.position} vs {t.position}"
        assert p.size == t.size, f"{t.id}: size {p.size}, truth {t.size}"
    assert len(scene) <= len(truth), f"extra objects: {scene.ids} for {truth.ids}"


# -- pure logic -----------------------------------------------------------------------------------
def test_color_classifier_labels_shaded_palette_colors() -> None:
    classifier = ColorClassifier(PALETTE)
    for i, (name, rgb) in enumerate(PALETTE.items()):
        for shade in (0.6, 0.8, 0.95):
            pixel = np.array([[[round(255 * c * shade) for c in rgb]]], np.uint8)
            assert classifier.name(int(classifier.classify(pixel)[0, 0])) == name
            assert int(classifier.classify(pixel)[0, 0]) == i + 1
    table = np.array([[[221, 219, 214]]], np.uint8)  # the table's color, lit
    assert int(classifier.classify(table)[0, 0]) == 0


def _obj(oid: str, kind: str, color: str, x: float, y: float, size: str = "medium") -> SceneObject:
    return SceneObject(oid, kind, color, size, (x, y, 0.02))


def test_associate_matches_kind_color_and_position_with_a_gate() -> None:
    reference = Scene(
        (
            _obj("left", "block", "red", 0.4, 0.2),
            _obj("right", "block", "red", 0.4, -0.2),
            _obj("cup", "bowl", "blue", 0.6, 0.0),
            _obj("gone", "block", "green", 0.5, 0.0),
        )
    )
    perceived = Scene(
        (
            _obj("red_block", "block", "red", 0.41, -0.19),
            _obj("red_block_2", "block", "red", 0.39, 0.21),
            _obj("blue_bowl", "bowl", "blue", 0.61, 0.0),
            _obj("blue_block", "block", "blue", 0.6, 0.0),  # a bowl's color, not its kind
            _obj("green_block", "block", "green", 0.5, 0.25),  # beyond the gate
        )
    )
    ids = [o.id for o in associate(perceived, reference).objects]
    assert ids[:3] == ["right", "left", "cup"]
    assert ids[3] == "blue_block"
    assert ids[4] == "green_block" and "gone" not in ids


def test_associate_gives_unmatched_objects_fresh_ids() -> None:
    reference = Scene((_obj("red_block", "block", "red", 0.4, 0.2),))
    perceived = Scene(
        (
            _obj("red_block", "block", "red", 0.6, -0.2),  # too far: a new block
            _obj("red_block_2", "block", "red", 0.4, 0.21),
        )
    )
    ids = [o.id for o in associate(perceived, reference).objects]
    assert ids[1] == "red_block"
    assert ids[0] not in ("red_block",) and ids[0].startswith("red_block_")
    assert len(set(ids)) == 2


# -- rendered scenes ------------------------------------------------------------------------------
@pytest.mark.parametrize("family", sorted(TASKS))
def test_perception_matches_truth_on_task_scenes(
    family: str, make_world: Any, perceiver: CameraPerceiver
) -> None:
    task = make_task(family)
    for seed in (3, 11):
        world = make_world(task.reset(np.random.default_rng(seed)).scene)
        scene, pixels = perceive(world, perceiver)
        assert_matches_truth(world, scene, pixels)
        assert scene.source == "camera"
        assert all(0.0 <= o.confidence <= 1.0 for o in scene)


@pytest.mark.parametrize(("lower", "upper"), [("red", "blue"), ("green", "green")])
def test_stacked_pair_is_two_blocks_at_their_heights(
    lower: str, upper: str, make_world: Any, perceiver: CameraPerceiver
) -> None:
    world = make_world(
        [
            {"id": "base", "kind": "block", "color": lower, "size": "large",
             "position": [0.5, 0.05], "yaw": 10},
            {"id": "top", "kind": "block", "color": upper, "size": "medium",
             "position": [0.5, 0.05], "yaw": 30, "on": "base"},
        ]
    )  # fmt: skip
    scene, pixels = perceive(world, perceiver)
    assert len(scene) == 2
    assert_matches_truth(world, scene, pixels)
    low, high = sorted(scene, key=lambda o: o.position[2])
    assert low.position[2] == pytest.approx(0.025, abs=0.003)
    assert high.position[2] == pytest.approx(0.07, abs=0.003)
    assert (low.size, high.size) == ("large", "medium")


def test_block_in_bowl_is_found_with_the_bowl(make_world: Any, perceiver: CameraPerceiver) -> None:
    world = make_world(
        [
            {"id": "bowl", "kind": "bowl", "color": "cyan", "position": [0.55, -0.1]},
            {"id": "in", "kind": "block", "color": "pink", "size": "small",
             "position": [0.55, -0.1], "on": "bowl"},
            {"id": "same", "kind": "bowl", "color": "orange", "position": [0.45, 0.15]},
            {"id": "in_same", "kind": "block", "color": "orange", "size": "medium",
             "position": [0.45, 0.15], "yaw": 20, "on": "same"},
        ]
    )  # fmt: skip
    scene, pixels = perceive(world, perceiver)
    assert sorted((o.kind, o.color) for o in scene) == [
        ("block", "orange"),
        ("block", "pink"),
        ("bowl", "cyan"),
        ("bowl", "orange"),
    ]
    assert_matches_truth(world, scene, pixels)


def test_touching_blocks_of_one_color_are_two_blocks(
    make_world: Any, perceiver: CameraPerceiver
) -> None:
    yaw = math.radians(25)
    gap = 0.0405  # a medium block's edge, and half a millimeter
    x2, y2 = 0.45 + gap * math.cos(yaw), -0.05 + gap * math.sin(yaw)
    world = make_world(
        [
            {"kind": "block", "color": "purple", "position": [0.45, -0.05], "yaw": 25},
            {"kind": "block", "color": "purple", "position": [x2, y2], "yaw": 25},
        ]
    )
    scene, pixels = perceive(world, perceiver)
    assert [o.id for o in scene] == ["purple_block", "purple_block_2"]
    assert_matches_truth(world, scene, pixels)
    for o in scene:
        assert math.degrees(o.yaw) == pytest.approx(25, abs=2)


def test_blocks_on_a_zone_and_in_a_tray(make_world: Any, perceiver: CameraPerceiver) -> None:
    world = make_world(
        [
            {"id": "zone", "kind": "zone", "color": "yellow", "size": "large",
             "position": [0.4, -0.15]},
            {"id": "on_zone", "kind": "block", "color": "yellow", "size": "small",
             "position": [0.4, -0.15], "on": "zone"},
            {"id": "tray", "kind": "tray", "color": "brown", "position": [0.56, 0.15]},
            {"id": "in_tray", "kind": "block", "color": "gray", "position": [0.56, 0.15],
             "on": "tray"},
        ]
    )  # fmt: skip
    scene, pixels = perceive(world, perceiver)
    assert len(scene) == 4
    assert_matches_truth(world, scene, pixels)


def test_empty_table_gives_an_empty_scene(make_world: Any, perceiver: CameraPerceiver) -> None:
    world = make_world(SceneSpec(()))
    scene, _ = perceive(world, perceiver)
    assert scene.objects == ()


def test_associate_maps_ids_back_to_the_scene_file(
    make_world: Any, perceiver: CameraPerceiver
) -> None:
    from robot_llm.tabletop.scene import bundled_scenes

    spec = load_scene(bundled_scenes()["stacked"])
    world = make_world(spec)
    scene, _ = perceive(world, perceiver)
    named = associate(scene, scene_from_spec(spec))
    assert sorted(named.ids) == sorted(spec.ids)
    for o in named:
        ref = spec.get(o.id)
        assert (o.kind, o.color, o.size) == (ref.kind, ref.color, ref.size)
        assert math.dist(o.position[:2], ref.position) < 0.01
    # The previous perception works as a reference too: ids stay put.
    again = associate(perceiver.perceive(world.render_main().to_camera_frame()), named)
    assert again.ids == named.ids


def test_scene_json_round_trip(make_world: Any, perceiver: CameraPerceiver) -> None:
    world = make_world(make_task("PutInBowl").reset(np.random.default_rng(5)).scene)
    scene, _ = perceive(world, perceiver)
    assert len(scene) > 0
    assert Scene.from_dict(json.loads(json.dumps(scene.to_dict()))) == scene


def test_camera_and_truth_perceivers_agree(make_world: Any, perceiver: CameraPerceiver) -> None:
    """Ablation check: swapping TruthPerceiver for CameraPerceiver changes ids only."""
    world = make_world(
        parse_scene(
            [
                {"kind": "block", "color": "red", "position": [0.4, 0.1], "yaw": 15},
                {"kind": "block", "color": "gray", "size": "small", "position": [0.6, 0.2]},
                {"kind": "bowl", "color": "green", "size": "large", "position": [0.55, -0.12]},
                {"kind": "zone", "color": "blue", "position": [0.38, -0.15], "yaw": 90},
            ]
        )
    )
    truth = TruthPerceiver(world).perceive()
    camera = associate(perceiver.perceive(world.render_main().to_camera_frame()), truth)
    assert sorted(camera.ids) == sorted(truth.ids)
    for t in truth:
        c = camera.get(t.id)
        assert (c.kind, c.color, c.size) == (t.kind, t.color, t.size)
        assert math.dist(c.position, t.position) < POSITION_TOLERANCE
        if t.kind == "block":
            assert abs(c.yaw - t.yaw) < math.radians(3)
