"""Perception under what real cameras add: colour casts, exposure, depth noise and holes.

One rendered scene of every palette colour (blocks, a stack, a bowl, a zone and a tray) is
perceived clean, then again after each degradation; objects must keep their colours, kinds
and positions, and nothing may appear that is not there. The colour-constancy pieces (the
table's gains, the palette fit, classification under gains, the light a camera keeps between
frames) and the ambiguity path (a colour the camera cannot tell apart makes the planner ask)
are tested on their own as well.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from robot_llm.envs.appearance import Appearance, kelvin_to_rgb
from robot_llm.envs.camera_effects import apply_depth_effects, apply_rgb_effects
from robot_llm.perception import CameraPerceiver, illumination
from robot_llm.perception.colors import ColorClassifier, codes_of, pack_rgba
from robot_llm.perception.depth import fill_holes, noise_level, prepare
from robot_llm.perception.illumination import (
    REFERENCE_TABLE_RGB,
    REFIT_EVERY,
    TableLook,
    estimate,
    estimate_with,
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


# A table the perceiver was not told of (its reference is beige): the light must be fitted to
# the palette, and is kept for the camera's next frames.
BEIGE_REFERENCE = (225.0, 200.0, 170.0)


def test_a_kept_light_is_dropped_when_the_light_changes(
    clean_frame: CameraFrame, clean_scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    fits = []
    real_fit = illumination.fit_gains

    def counted(*args: Any, **kwargs: Any) -> tuple[float, float, float]:
        fits.append(1)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(illumination, "fit_gains", counted)
    warm = degraded(clean_frame, Appearance(white_balance=kelvin_to_rgb(3000.0)))
    cool = degraded(clean_frame, Appearance(white_balance=kelvin_to_rgb(11000.0)))
    perceiver = CameraPerceiver(table_rgb=BEIGE_REFERENCE)
    first = perceiver.perceive(warm)
    assert len(fits) == 1  # the table does not explain the objects: fitted to the palette
    assert_same_objects(first, clean_scene)
    assert perceiver.perceive(warm).to_dict() == first.to_dict()
    assert len(fits) == 1  # the same light again: kept
    # The light changes (the table's colour moves): fitted anew, and the colours stay right.
    after_warm = perceiver.perceive(cool)
    assert len(fits) == 2
    assert_same_objects(after_warm, clean_scene)
    # Whatever came before, a frame gives what a fresh perceiver gives.
    assert (
        after_warm.to_dict() == CameraPerceiver(table_rgb=BEIGE_REFERENCE).perceive(cool).to_dict()
    )
    # Another camera, or a reset perceiver, keeps nothing.
    assert len(fits) == 3  # the fresh perceiver's own fit
    perceiver.perceive(replace(cool, camera="wrist"))
    assert len(fits) == 4
    perceiver.reset()
    assert perceiver.perceive(cool).to_dict() == after_warm.to_dict()
    assert len(fits) == 5


def _palette_pixels(
    colors: list[str], light: tuple[float, float, float], seed: int, n: int = 800
) -> np.ndarray:
    """`n` pixels of shaded palette colours seen under a per-channel `light`, with noise."""
    rng = np.random.default_rng(seed)
    refs = np.array([PALETTE[c] for c in colors]) * 255.0
    shade = rng.uniform(0.5, 1.0, size=(n, 1))
    pixels = refs[rng.integers(len(refs), size=n)] * shade * np.array(light)
    return np.clip(pixels + rng.normal(0, 1.5, pixels.shape), 0, 255).astype(np.uint8)


def test_a_kept_light_is_not_carried_into_another_scene() -> None:
    """Two scenes whose tables look alike under different lights (another table): the light
    kept from the first must not serve the second."""
    classifier = ColorClassifier(PALETTE)
    reference = REFERENCE_TABLE_RGB
    seen = np.array(reference) * np.array([0.6, 1.0, 1.1])  # no table the reference knows
    table = TableLook(seen, seen, seen)
    warm, cool = (0.9, 0.8, 0.62), (0.75, 0.83, 1.0)
    first = _palette_pixels(["red", "yellow", "blue", "green", "gray"], warm, seed=1)
    light, kept = estimate_with(table, first, classifier, reference, None)
    assert kept is not None and kept.illuminant == light
    ratio = np.array(light.gains) * warm
    assert np.allclose(ratio / ratio[1], 1.0, atol=0.05), ratio
    # The same light on the next frame (new noise): kept.
    again, kept_again = estimate_with(
        table, _palette_pixels(["red", "yellow", "blue"], warm, seed=2), classifier, reference, kept
    )
    assert again == light and kept_again is not None and kept_again.frames == 1
    # Another scene under another light, the table looking the same: fitted anew, exactly as
    # with nothing kept.
    other = _palette_pixels(["orange", "purple", "cyan", "pink", "brown"], cool, seed=3)
    light2, kept2 = estimate_with(table, other, classifier, reference, kept)
    assert light2 == estimate(table, other, classifier, reference)
    ratio = np.array(light2.gains) * cool
    assert np.allclose(ratio / ratio[1], 1.0, atol=0.05), ratio
    assert kept2 is not None and kept2.illuminant == light2 and kept2.frames == 0


def test_a_kept_light_is_fitted_anew_every_few_frames() -> None:
    classifier = ColorClassifier(PALETTE)
    seen = np.array(REFERENCE_TABLE_RGB) * np.array([0.6, 1.0, 1.1])
    table = TableLook(seen, seen, seen)
    warm = (0.9, 0.8, 0.62)
    colors = ["red", "yellow", "blue", "green"]
    first = _palette_pixels(colors, warm, 0)
    _, kept = estimate_with(table, first, classifier, REFERENCE_TABLE_RGB, None)
    served = 0
    for seed in range(1, 2 * REFIT_EVERY):
        frame = _palette_pixels(colors, warm, seed)
        _, kept = estimate_with(table, frame, classifier, REFERENCE_TABLE_RGB, kept)
        assert kept is not None
        served = max(served, kept.frames)
    assert served == REFIT_EVERY - 1


def test_colors_kept_per_light_are_those_of_a_fresh_classifier() -> None:
    classifier = ColorClassifier(PALETTE)
    codes = np.random.default_rng(0).integers(0, 32768, 5000)
    lights = [(np.array([1.2, 1.0, 0.8]), False), (np.array([0.9, 0.9, 0.9]), True)]
    for gains, overexposed in lights + lights[::-1] + lights:
        labels, alternatives = classifier.classify_codes(codes, gains, overexposed)
        fresh = ColorClassifier(PALETTE).classify_codes(codes, gains, overexposed)
        assert np.array_equal(labels, fresh[0]) and np.array_equal(alternatives, fresh[1])
    classifier.forget()
    labels, _ = classifier.classify_codes(codes[:10], *lights[0])
    assert np.array_equal(
        labels, ColorClassifier(PALETTE).classify_codes(codes[:10], *lights[0])[0]
    )


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
