"""Perception under what real cameras add: colour casts, exposure, depth noise and holes.

One rendered scene of every palette colour (blocks, a stack, a bowl, a zone and a tray) is
perceived clean, then again after each degradation; objects must keep their colours, kinds
and positions, and nothing may appear that is not there. The colour-constancy pieces (the
table's gains, the palette fit, classification under gains) and the ambiguity path (a colour
the camera cannot tell apart makes the planner ask) are tested on their own as well.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from robot_llm.envs.appearance import Appearance, kelvin_to_rgb
from robot_llm.envs.camera_effects import apply_depth_effects, apply_rgb_effects
from robot_llm.perception import CameraPerceiver
from robot_llm.perception.colors import ColorClassifier, codes_of, pack_rgba
from robot_llm.perception.depth import fill_holes, noise_level, prepare
from robot_llm.perception.illumination import (
    REFERENCE_TABLE_RGB,
    fit_gains,
    illuminant_from_table,
)
from robot_llm.planning import History, RulePlanner
from robot_llm.tabletop.palette import PALETTE
from robot_llm.types import CameraFrame, Clarify, Scene, SceneObject

POSITION_TOLERANCE = 0.004  # meters between a degraded frame's object and the clean one's

SCENE = [
    {"id": "r", "kind": "block", "color": "red", "size": "medium", "position": [0.36, -0.22]},
    {"id": "o", "kind": "block", "color": "orange", "size": "small", "position": [0.46, -0.22]},
    {"id": "y", "kind": "block", "color": "yellow", "size": "large", "position": [0.56, -0.22]},
    {"id": "p", "kind": "block", "color": "pink", "size": "medium", "position": [0.65, -0.22]},
    {"id": "g", "kind": "block", "color": "green", "size": "medium", "position": [0.36, -0.08]},
    {"id": "zone", "kind": "zone", "color": "yellow", "size": "medium",
     "position": [0.50, -0.08]},
    {"id": "c", "kind": "block", "color": "cyan", "size": "small", "position": [0.65, -0.08]},
    {"id": "b", "kind": "block", "color": "blue", "size": "medium", "position": [0.36, 0.05]},
    {"id": "b2", "kind": "block", "color": "purple", "size": "small", "position": [0.36, 0.05],
     "on": "b"},
    {"id": "k", "kind": "block", "color": "gray", "size": "medium", "position": [0.48, 0.05]},
    {"id": "bowl", "kind": "bowl", "color": "green", "size": "small",
     "position": [0.38, 0.215]},
    {"id": "w", "kind": "block", "color": "brown", "size": "medium", "position": [0.50, 0.20]},
    {"id": "tray", "kind": "tray", "color": "brown", "size": "small", "position": [0.62, 0.19]},
]  # fmt: skip


@pytest.fixture(scope="module")
def clean_frame() -> CameraFrame:
    from robot_llm.envs.world import TabletopWorld
    from robot_llm.tabletop.scene import parse_scene

    world = TabletopWorld()
    try:
        world.build(parse_scene(SCENE))
        return world.render_main().to_camera_frame()
    finally:
        world.close()


@pytest.fixture(scope="module")
def perceiver() -> CameraPerceiver:
    return CameraPerceiver()


@pytest.fixture(scope="module")
def clean_scene(clean_frame: CameraFrame, perceiver: CameraPerceiver) -> Scene:
    scene = perceiver.perceive(clean_frame)
    assert len(scene) == len(SCENE), scene.ids
    return scene


def degraded(frame: CameraFrame, look: Appearance, seed: int = 0) -> CameraFrame:
    rng = np.random.default_rng(seed)
    rgb = apply_rgb_effects(frame.rgb, look, rng)
    depth = apply_depth_effects(frame.depth, look, rng)
    return replace(frame, rgb=rgb, depth=depth)


def assert_same_objects(scene: Scene, clean: Scene) -> None:
    """Every clean object is seen again with its kind, color and size, within
    POSITION_TOLERANCE, and nothing else is seen."""
    for o in clean:
        same = scene.find(o.kind, o.color)
        assert same, f"{o.id} lost: {scene.ids}"
        p = min(same, key=lambda s: math.dist(s.position, o.position))
        assert math.dist(p.position, o.position) < POSITION_TOLERANCE, (o.id, p.position)
        assert p.size == o.size, (o.id, p.size)
    assert len(scene) == len(clean), f"{scene.ids} vs {clean.ids}"


# -- rendered scenes ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "look",
    [
        Appearance(white_balance=kelvin_to_rgb(3000.0)),  # warm light, camera set for daylight
        Appearance(white_balance=kelvin_to_rgb(11000.0)),  # cool
        Appearance(exposure=0.6),
        Appearance(exposure=1.4),  # the table clips: overexposed
        Appearance(exposure=0.7, white_balance=kelvin_to_rgb(3500.0), read_noise=2.0),
    ],
    ids=["warm", "cool", "gain0.6", "gain1.4", "dark-warm-noisy"],
)
def test_light_and_exposure_keep_colors_and_positions(
    clean_frame: CameraFrame, clean_scene: Scene, perceiver: CameraPerceiver, look: Appearance
) -> None:
    assert_same_objects(perceiver.perceive(degraded(clean_frame, look)), clean_scene)


def test_noise_blur_and_jpeg_keep_the_objects(
    clean_frame: CameraFrame, clean_scene: Scene, perceiver: CameraPerceiver
) -> None:
    look = Appearance(read_noise=2.5, shot_noise=0.15, blur=1.0, jpeg_quality=50)
    assert_same_objects(perceiver.perceive(degraded(clean_frame, look)), clean_scene)


@pytest.mark.parametrize("hole_value", [0.0, np.nan], ids=["zero", "nan"])
def test_depth_holes_and_noise_make_no_false_objects(
    clean_frame: CameraFrame, clean_scene: Scene, perceiver: CameraPerceiver, hole_value: float
) -> None:
    frame = degraded(clean_frame, Appearance(depth_noise=0.002, depth_holes=0.03))
    depth = np.where(frame.depth == 0.0, np.float32(hole_value), frame.depth).astype(np.float32)
    assert_same_objects(perceiver.perceive(replace(frame, depth=depth)), clean_scene)


def test_a_frame_without_depth_gives_an_empty_scene(
    clean_frame: CameraFrame, perceiver: CameraPerceiver
) -> None:
    frame = replace(clean_frame, depth=np.zeros_like(clean_frame.depth))
    assert len(perceiver.perceive(frame)) == 0


def test_a_clean_frame_is_classified_as_before(
    clean_frame: CameraFrame, clean_scene: Scene
) -> None:
    """Colour constancy off (table_rgb=None) and on agree exactly on a reference-light frame."""
    plain = CameraPerceiver(table_rgb=None).perceive(clean_frame)
    assert plain.to_dict() == clean_scene.to_dict()
    assert all(not o.color_alternatives for o in clean_scene)


# -- colour constancy -----------------------------------------------------------------------------
def test_table_gains_undo_a_cast_and_mark_a_clipped_table() -> None:
    ref = np.array(REFERENCE_TABLE_RGB)
    cast = np.array([1.0, 0.7, 0.45])
    light = illuminant_from_table(ref * cast)
    assert np.allclose(np.array(light.gains) * cast, 1.0, atol=1e-6)
    assert not light.overexposed and not light.neutral
    assert illuminant_from_table(ref).neutral
    assert illuminant_from_table(np.array([255.0, 255.0, 255.0])).overexposed


def test_palette_fit_finds_a_cast_from_object_pixels_alone() -> None:
    classifier = ColorClassifier(PALETTE)
    rng = np.random.default_rng(3)
    refs = np.array(list(PALETTE.values())) * 255.0
    shade = rng.uniform(0.5, 1.0, size=(600, 1))
    pixels = refs[rng.integers(len(refs), size=600)] * shade
    cast = np.array([0.9, 0.8, 0.62])  # a warm light the table cannot tell (unknown table)
    observed = np.clip(pixels * cast + rng.normal(0, 1.5, pixels.shape), 0, 255).astype(np.uint8)
    gains = np.array(fit_gains(observed, classifier))
    ratio = gains * cast
    assert np.allclose(ratio / ratio[1], 1.0, atol=0.05), ratio  # the cast is undone
    labels, _ = classifier.classify_codes(codes_of(pack_rgba(observed[None])).ravel(), gains)
    truth = np.argmin(np.abs(pixels[:, None, :] / shade[:, :, None] - refs[None]).sum(2), 1)
    assert np.mean(labels == truth + 1) > 0.97


def test_classification_under_neutral_gains_matches_the_lookup_table() -> None:
    classifier = ColorClassifier(PALETTE)
    codes = np.arange(32768)
    labels, _ = classifier.classify_codes(codes, np.ones(3))
    top = ((codes >> 10) == 31) | (((codes >> 5) & 31) == 31) | ((codes & 31) == 31)
    assert np.array_equal(labels[~top], classifier.table[~top])  # the top level may clip


# -- depth ----------------------------------------------------------------------------------------
def test_depth_holes_take_the_nearest_measurement_and_noise_is_measured() -> None:
    rng = np.random.default_rng(0)
    depth = np.full((60, 80), 1.2, np.float32) + np.linspace(0, 0.05, 80, dtype=np.float32)
    assert noise_level(depth) < 1e-5
    noisy = depth + rng.normal(0, 0.002, depth.shape).astype(np.float32)
    assert 0.0015 < noise_level(noisy) < 0.0025
    holes = np.zeros(depth.shape, bool)
    holes[20:24, 30:34] = True
    filled = fill_holes(np.where(holes, 0.0, depth).astype(np.float32), holes)
    assert np.abs(filled - depth).max() < 0.002
    prepared = prepare(np.where(holes, np.nan, noisy).astype(np.float32))
    assert prepared.holes == 16 and prepared.measured is not None
    assert not prepared.measured[holes].any()
    assert np.isfinite(prepared.depth).all()
    assert np.abs(prepared.depth - depth)[5:-5, 5:-5].std() < 0.001  # smoothed


# -- ambiguity ------------------------------------------------------------------------------------
def test_a_color_between_two_palette_colors_is_marked_ambiguous() -> None:
    """Brown is dark orange: a bright brown or dark orange face fits both."""
    classifier = ColorClassifier(PALETTE)
    between = [107, 59, 19]
    clear = [int(255 * v) for v in PALETTE["red"]]
    packed = pack_rgba(np.array([[between, clear]], np.uint8)).ravel()
    labels = classifier.classify_packed(packed)
    alternatives = classifier.alternatives_of(packed)
    names = {classifier.name(int(labels[0])), classifier.name(int(alternatives[0]))}
    assert names == {"brown", "orange"}
    assert classifier.name(int(labels[1])) == "red" and alternatives[1] == 0


def test_scene_object_color_alternatives_round_trip_and_stay_optional() -> None:
    plain = SceneObject("a", "block", "orange", "medium", (0.4, 0.0, 0.02))
    assert "color_alternatives" not in plain.to_dict()
    unsure = replace(plain, color_alternatives=("yellow",))
    data: dict[str, Any] = unsure.to_dict()
    assert data["color_alternatives"] == ["yellow"]
    assert SceneObject.from_dict(data) == unsure
    assert SceneObject.from_dict(plain.to_dict()) == plain


def test_the_planner_asks_when_only_an_ambiguous_object_has_the_color() -> None:
    scene = Scene(
        (
            SceneObject("orange_block", "block", "orange", "medium", (0.45, 0.1, 0.02),
                        color_alternatives=("yellow",)),
            SceneObject("blue_block", "block", "blue", "medium", (0.5, -0.1, 0.02)),
            SceneObject("yellow_bowl", "bowl", "yellow", "medium", (0.55, 0.2, 0.0225)),
        )
    )  # fmt: skip
    planner = RulePlanner()
    asked = planner.plan("pick up the yellow block", scene, History())
    assert isinstance(asked, Clarify)
    assert asked.candidates == ("orange_block",)
    assert "yellow" in asked.question
    sure = planner.plan("pick up the orange block", scene, History())
    assert not isinstance(sure, Clarify)
    into = planner.plan("put the blue block in the yellow bowl", scene, History())
    assert not isinstance(into, Clarify)  # an exact match is never second-guessed
