"""Colour-only perception: rendered frames whose depth is the table plane's, as a USB camera or
a video delivers them, perceived from colour and known sizes against simulator truth."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from robot_llm.cameras import table_plane_depth
from robot_llm.envs.appearance import Appearance, kelvin_to_rgb
from robot_llm.envs.camera_effects import apply_rgb_effects
from robot_llm.envs.tasks import make_task
from robot_llm.envs.world import TabletopWorld
from robot_llm.perception import CameraPerceiver, ColourOnlyPerceiver, TruthPerceiver
from robot_llm.perception.colour_only import SOURCE
from robot_llm.tabletop.scene import parse_scene
from robot_llm.types import CameraFrame, Scene

MIN_VISIBLE_PIXELS = 40
POSITION_TOLERANCE = 0.005  # meters

SCENE = [
    {"id": "r", "kind": "block", "color": "red", "size": "small", "position": [0.36, -0.22]},
    {"id": "y", "kind": "block", "color": "yellow", "size": "large", "position": [0.56, -0.22],
     "yaw": 0.5},
    {"id": "g", "kind": "block", "color": "green", "size": "medium", "position": [0.36, -0.06],
     "yaw": -0.3},
    {"id": "zone", "kind": "zone", "color": "purple", "size": "medium",
     "position": [0.52, -0.05]},
    {"id": "c", "kind": "block", "color": "cyan", "size": "medium", "position": [0.66, -0.08]},
    {"id": "bowl", "kind": "bowl", "color": "blue", "size": "small", "position": [0.38, 0.18]},
    {"id": "tray", "kind": "tray", "color": "brown", "size": "small", "position": [0.58, 0.16]},
]  # fmt: skip


def colour_only(frame: CameraFrame) -> CameraFrame:
    """The frame with the table plane's depth instead of the measured one."""
    size = (frame.width, frame.height)
    return replace(frame, depth=table_plane_depth(frame.intrinsics, frame.extrinsics, size))


def render(world: TabletopWorld) -> tuple[CameraFrame, Scene, dict[str, int]]:
    """The colour-only frame, the truth, and how many pixels of each object show."""
    rendered = world.render_main(segmentation=True)
    seg = rendered.segmentation
    assert seg is not None
    pixels = {oid: int((seg == body).sum()) for oid, body in world.bodies.items()}
    return colour_only(rendered.to_camera_frame()), TruthPerceiver(world).perceive(), pixels


@pytest.fixture(scope="module")
def rendered() -> tuple[CameraFrame, Scene, dict[str, int]]:
    world = TabletopWorld()
    try:
        world.build(parse_scene(SCENE))
        return render(world)
    finally:
        world.close()


def assert_matches_truth(
    scene: Scene, truth: Scene, pixels: dict[str, int], tolerance: float = POSITION_TOLERANCE
) -> None:
    """Every visible object is found with its kind, colour and size, within `tolerance`, and
    nothing else is found."""
    for t in truth:
        if pixels[t.id] < MIN_VISIBLE_PIXELS:
            continue
        same = scene.find(t.kind, t.color)
        assert same, f"{t.id} ({t.color} {t.kind}) not perceived: {scene.ids}"
        p = min(same, key=lambda o: math.dist(o.position, t.position))
        error = math.dist(p.position, t.position)
        assert error < tolerance, f"{t.id}: {p.position} vs {t.position}"
        assert p.size == t.size, f"{t.id}: size {p.size}, truth {t.size}"
    assert len(scene) <= len(truth), f"extra objects: {scene.ids} for {truth.ids}"


def test_the_depth_path_sees_nothing_on_a_colour_only_frame(
    rendered: tuple[CameraFrame, Scene, dict[str, int]],
) -> None:
    frame, _, _ = rendered
    assert len(CameraPerceiver().perceive(frame)) == 0


def test_objects_are_placed_from_their_known_sizes(
    rendered: tuple[CameraFrame, Scene, dict[str, int]],
) -> None:
    frame, truth, pixels = rendered
    scene = ColourOnlyPerceiver().perceive(frame)
    assert scene.source == SOURCE
    assert len(scene) == len(SCENE), scene.ids
    assert_matches_truth(scene, truth, pixels)
    for t in truth:
        p = min(scene.find(t.kind, t.color), key=lambda o: math.dist(o.position, t.position))
        if t.kind == "block":  # mod 90 degrees
            d = (p.yaw - t.yaw) % (math.pi / 2)
            assert min(d, math.pi / 2 - d) < math.radians(4), (t.id, p.yaw, t.yaw)


def test_the_measured_depth_is_not_needed(
    rendered: tuple[CameraFrame, Scene, dict[str, int]],
) -> None:
    frame, _, _ = rendered
    perceiver = ColourOnlyPerceiver()
    zero = replace(frame, depth=np.zeros_like(frame.depth))
    assert perceiver.perceive(zero).to_dict() == perceiver.perceive(frame).to_dict()


def test_a_colour_cast_and_noise_keep_the_objects(
    rendered: tuple[CameraFrame, Scene, dict[str, int]],
) -> None:
    frame, truth, pixels = rendered
    look = Appearance(white_balance=kelvin_to_rgb(3500.0), exposure=0.8, read_noise=2.0)
    rgb = apply_rgb_effects(frame.rgb, look, np.random.default_rng(0))
    scene = ColourOnlyPerceiver().perceive(replace(frame, rgb=rgb))
    assert_matches_truth(scene, truth, pixels)
    assert len(scene) == len(SCENE), scene.ids


def test_a_bare_noisy_table_gives_an_empty_scene(
    rendered: tuple[CameraFrame, Scene, dict[str, int]],
) -> None:
    frame, _, _ = rendered
    table = np.empty_like(frame.rgb)
    table[:] = (225, 223, 218)
    look = Appearance(read_noise=3.0, white_balance=kelvin_to_rgb(4000.0))
    rgb = apply_rgb_effects(table, look, np.random.default_rng(1))
    assert len(ColourOnlyPerceiver().perceive(replace(frame, rgb=rgb))) == 0


@pytest.mark.parametrize(("task", "seed"), [("PutInBowl", 3), ("Clear", 4), ("Sort", 7)])
def test_task_scenes_match_the_truth(task: str, seed: int) -> None:
    world = TabletopWorld()
    try:
        world.build(make_task(task).reset(np.random.default_rng(seed)).scene)
        frame, truth, pixels = render(world)
    finally:
        world.close()
    assert_matches_truth(ColourOnlyPerceiver().perceive(frame), truth, pixels)
