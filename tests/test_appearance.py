"""Randomized rendering: the neutral look is today's render, sampled looks are reproducible, and
each light, table and camera effect does what it says."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pybullet as p
import pytest

from robot_llm.envs.appearance import (
    NEUTRAL,
    Appearance,
    appearance_for,
    kelvin_to_rgb,
)
from robot_llm.envs.camera import RenderedFrame, projection_matrix, view_matrix
from robot_llm.envs.camera_effects import (
    apply_depth_effects,
    apply_rgb_effects,
    hole_mask,
    light_gain,
)
from robot_llm.envs.world import TabletopWorld
from robot_llm.tabletop.scene import SceneSpec, parse_scene

SCENE = "sim_assets/scenes/blocks_and_bowls.yaml"
OBJECTS = [
    {"id": "r", "kind": "block", "color": "red", "position": [0.45, 0.12]},
    {"id": "b", "kind": "bowl", "color": "blue", "position": [0.55, -0.15]},
]
# A patch of bare table in the main camera's image (rows, columns), away from the objects.
TABLE_PATCH = (slice(20, 80), slice(260, 380))


@pytest.fixture(scope="module")
def spec() -> SceneSpec:
    return parse_scene(OBJECTS)


@pytest.fixture(scope="module")
def tiny(spec: SceneSpec) -> Iterator[TabletopWorld]:
    world = TabletopWorld(renderer="tiny")
    world.build(spec)
    yield world
    world.close()


def _egl_world() -> TabletopWorld | None:
    try:
        return TabletopWorld(renderer="egl")
    except RuntimeError:
        return None


def _render(world: TabletopWorld, look: Appearance) -> np.ndarray:
    world.appearance = look
    try:
        return world.render_main().rgb.astype(np.float64)
    finally:
        world.appearance = NEUTRAL


def _rb_ratio(rgb: np.ndarray) -> float:
    patch = rgb[TABLE_PATCH].reshape(-1, 3)
    return float(patch[:, 0].mean() / patch[:, 2].mean())


# -- the neutral look ------------------------------------------------------------------------------
def _render_as_before(world: TabletopWorld) -> tuple[np.ndarray, np.ndarray]:
    """The main camera as envs/camera.py rendered it before appearances existed."""
    spec = world.main_camera
    _, _, rgba, buf, _ = p.getCameraImage(
        spec.width,
        spec.height,
        viewMatrix=view_matrix(world.main_extrinsics),
        projectionMatrix=projection_matrix(spec),
        renderer=world.renderer,
        flags=p.ER_NO_SEGMENTATION_MASK,
        shadow=0,
        lightDirection=[0.4, 0.3, 1.0],
        physicsClientId=world.client,
    )
    rgb = np.asarray(rgba, dtype=np.uint8).reshape(spec.height, spec.width, 4)[:, :, :3]
    d = np.asarray(buf, dtype=np.float64).reshape(spec.height, spec.width)
    depth = (spec.far * spec.near / (spec.far - (spec.far - spec.near) * d)).astype(np.float32)
    return rgb, depth


@pytest.mark.parametrize("renderer", ["tiny", "egl"])
def test_the_neutral_look_renders_the_same_pixels_as_before(renderer: str, spec: SceneSpec) -> None:
    world = TabletopWorld(renderer="tiny") if renderer == "tiny" else _egl_world()
    if world is None:
        pytest.skip("PyBullet's EGL renderer does not load here (no libEGL)")
    try:
        world.build(spec)
        frame = world.render_main()
        rgb, depth = _render_as_before(world)
        assert NEUTRAL.is_neutral and world.appearance == Appearance()
        assert np.array_equal(frame.rgb, rgb) and np.array_equal(frame.depth, depth)
    finally:
        world.close()


def test_no_randomize_and_strength_zero_are_the_neutral_look() -> None:
    assert appearance_for(None, 7) is NEUTRAL
    assert Appearance.sample(np.random.default_rng(3), strength=0.0).is_neutral
    assert light_gain(NEUTRAL).tolist() == [1.0, 1.0, 1.0]
    rgb = np.full((4, 4, 3), 100, np.uint8)
    depth = np.ones((4, 4), np.float32)
    rng = np.random.default_rng(0)
    assert apply_rgb_effects(rgb, NEUTRAL, rng) is rgb
    assert apply_depth_effects(depth, NEUTRAL, rng) is depth


# -- sampling --------------------------------------------------------------------------------------
def test_sampled_looks_are_reproducible_from_a_seed_and_differ_across_seeds() -> None:
    a = Appearance.sample(np.random.default_rng(5))
    assert a == Appearance.sample(np.random.default_rng(5))
    assert a != Appearance.sample(np.random.default_rng(6))
    assert appearance_for(1, 4) == appearance_for(1, 4) != appearance_for(1, 5)
    stack = appearance_for(1, 4, task="Stack")
    assert stack == appearance_for(1, 4, task="robot_llm/Stack-v0") != appearance_for(1, 4)
    assert stack != appearance_for(1, 4, task="Sort")
    looks = [appearance_for(0, k) for k in range(30)]
    assert {lk.table_texture for lk in looks} == {None, "wood", "laminate"}
    assert all(0.7 <= lk.exposure <= 1.4 + 1e-9 for lk in looks)
    assert all(lk.jpeg_quality is not None and 60 <= lk.jpeg_quality <= 95 for lk in looks)
    assert all(0.0 <= lk.depth_holes <= 0.03 for lk in looks)
    assert Appearance.from_dict(json.loads(json.dumps(a.to_dict()))) == a


def test_a_weaker_strength_stays_closer_to_neutral() -> None:
    def departure(strength: float) -> float:
        look = Appearance.sample(np.random.default_rng(9), strength)
        return abs(np.log(look.exposure)) + float(np.ptp(look.light_color)) + look.read_noise

    assert departure(0.25) < departure(1.0)


def test_bad_appearances_are_refused() -> None:
    with pytest.raises(ValueError, match="table_texture"):
        Appearance(table_texture="marble")
    with pytest.raises(ValueError, match="jpeg_quality"):
        Appearance(jpeg_quality=0)
    with pytest.raises(ValueError, match="unknown appearance keys: glare"):
        Appearance.from_dict({"glare": 1.0})
    with pytest.raises(ValueError, match="strength"):
        Appearance.sample(np.random.default_rng(0), strength=-1.0)


def test_randomized_frames_replay_exactly(spec: SceneSpec) -> None:
    """The same seed renders the same frames, also after extra renders in between (a video
    recorder's), and another seed renders other frames."""
    frames: list[RenderedFrame] = []
    for seed in (2, 2, 3):
        world = TabletopWorld(appearance=appearance_for(seed, 0))
        try:
            world.build(spec)
            if len(frames) == 1:
                world.render_wrist()
                world.render_main()
            frames.append(world.render_main())
        finally:
            world.close()
    assert np.array_equal(frames[0].rgb, frames[1].rgb)
    assert np.array_equal(frames[0].depth, frames[1].depth, equal_nan=True)
    assert not np.array_equal(frames[0].rgb, frames[2].rgb)


# -- each effect -----------------------------------------------------------------------------------
def test_exposure_scales_brightness(tiny: TabletopWorld) -> None:
    clean = _render(tiny, NEUTRAL)
    dark = _render(tiny, Appearance(exposure=0.6))
    patch = clean[TABLE_PATCH]
    assert dark[TABLE_PATCH].mean() == pytest.approx(0.6 * patch.mean(), rel=0.01)
    flat = np.full((8, 8, 3), 100, np.uint8)
    bright = apply_rgb_effects(flat, Appearance(exposure=1.4), np.random.default_rng())
    assert (bright == 140).all()


def test_a_warm_light_raises_red_over_blue_on_the_table(tiny: TabletopWorld) -> None:
    neutral = _rb_ratio(_render(tiny, NEUTRAL))
    warm = _rb_ratio(_render(tiny, Appearance(light_color=kelvin_to_rgb(3000))))
    cool = _rb_ratio(_render(tiny, Appearance(light_color=kelvin_to_rgb(7500))))
    assert warm > 1.2 * neutral and cool < 0.97 * neutral
    assert kelvin_to_rgb(6500) == pytest.approx((1.0, 1.0, 1.0), abs=1e-9)


def test_the_egl_renderer_gets_the_light_colour_in_its_pixels(spec: SceneSpec) -> None:
    """PyBullet's OpenGL renderer ignores the light's colour: the pixels carry it instead."""
    world = _egl_world()
    if world is None:
        pytest.skip("PyBullet's EGL renderer does not load here (no libEGL)")
    try:
        world.build(spec)
        neutral = _rb_ratio(_render(world, NEUTRAL))
        warm = _rb_ratio(_render(world, Appearance(light_color=kelvin_to_rgb(3000))))
        assert warm > 1.2 * neutral
    finally:
        world.close()


def test_white_balance_is_a_gain_per_channel() -> None:
    rgb = np.full((8, 8, 3), 100, np.uint8)
    out = apply_rgb_effects(rgb, Appearance(white_balance=(1.1, 1.0, 0.8)), np.random.default_rng())
    assert out[0, 0].tolist() == [110, 100, 80]


def test_sensor_noise_raises_variance_on_a_flat_region(tiny: TabletopWorld) -> None:
    clean = _render(tiny, NEUTRAL)[TABLE_PATCH]
    noisy = _render(tiny, Appearance(read_noise=3.0, shot_noise=0.05))[TABLE_PATCH]
    assert clean.std(axis=(0, 1)).max() < 1.0
    # read 3 levels and shot 0.05 per level at a level of about 230: std about 4.5
    assert 3.5 < (noisy - clean).std() < 5.5
    assert abs((noisy - clean).mean()) < 0.3


def test_blur_smooths_edges_and_jpeg_stays_close(tiny: TabletopWorld) -> None:
    clean = _render(tiny, NEUTRAL)
    blurred = _render(tiny, Appearance(blur=1.5))
    gradient = np.abs(np.diff(clean.mean(axis=2), axis=1)).max()
    assert np.abs(np.diff(blurred.mean(axis=2), axis=1)).max() < 0.6 * gradient
    jpeg = _render(tiny, Appearance(jpeg_quality=50))
    diff = np.abs(jpeg - clean)
    assert 0.1 < diff.mean() < 3.0


def test_depth_noise_grows_with_distance_and_holes_come_at_the_asked_rate() -> None:
    rng = np.random.default_rng(1)
    depth = np.concatenate([np.full((240, 640), 0.5), np.full((240, 640), 1.5)]).astype(np.float32)
    noisy = apply_depth_effects(depth, Appearance(depth_noise=0.002), rng)
    near, far = (noisy - depth)[:240].std(), (noisy - depth)[240:].std()
    assert near == pytest.approx(0.001, rel=0.05) and far == pytest.approx(0.003, rel=0.05)
    holed = apply_depth_effects(depth, Appearance(depth_holes=0.02), rng)
    holes = holed == 0.0
    assert holes.mean() == pytest.approx(0.02, abs=0.002)
    assert np.array_equal(holed[~holes], depth[~holes])
    # in blobs: most holes have a hole beside them
    mask = hole_mask((480, 640), 0.02, rng)
    beside = mask[:, 1:] & mask[:, :-1]
    assert beside.sum() > 0.5 * mask.sum()


def test_rendered_depth_gets_holes_and_noise(tiny: TabletopWorld) -> None:
    tiny.appearance = Appearance(depth_noise=0.002, depth_holes=0.02)
    try:
        frame = tiny.render_main()
    finally:
        tiny.appearance = NEUTRAL
    clean = tiny.render_main().depth
    holes = frame.depth == 0.0
    assert holes.mean() == pytest.approx(0.02, abs=0.003)
    error = (frame.depth - clean)[~holes]
    assert 0.0015 < error.std() < 0.004  # 2 mm per meter at 1.1 - 1.3 m


@pytest.mark.parametrize("texture", ["wood", "laminate", None])
def test_the_table_takes_the_looks_colour_and_texture(spec: SceneSpec, texture: str | None) -> None:
    color = (0.70, 0.52, 0.34)
    world = TabletopWorld(appearance=Appearance(table_color=color, table_texture=texture))
    try:
        world.build(spec)
        patch = world.render_main().rgb[TABLE_PATCH].reshape(-1, 3).astype(float)
    finally:
        world.close()
    mean = patch.mean(axis=0) / 255.0
    assert np.abs(mean / mean.max() - np.array(color) / max(color)).max() < 0.08
    assert (patch.std(axis=0).mean() > 3.0) == (texture is not None)


# -- the stack -------------------------------------------------------------------------------------
def test_config_takes_randomize_strictly() -> None:
    from robot_llm.config import ConfigError, RobotConfig, StackConfig

    config = StackConfig.from_dict({"robot": {"randomize": 3, "randomize_strength": 0.5}})
    assert config.robot == RobotConfig(randomize=3, randomize_strength=0.5)
    assert StackConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match=r"stack.robot.randomize must be int \| None"):
        StackConfig.from_dict({"robot": {"randomize": "yes"}})
    with pytest.raises(ConfigError, match="randomize_strength must be at least 0"):
        RobotConfig(randomize=1, randomize_strength=-0.5)


def test_bench_episodes_carry_the_runs_randomize() -> None:
    from robot_llm.bench.episode import EpisodeSpec, episode_stack
    from robot_llm.config import RobotConfig, StackConfig

    run = StackConfig(robot=RobotConfig(randomize=4, randomize_strength=0.5))
    stack = episode_stack(EpisodeSpec("Stack/7", "Stack", "Stack", 7), run)
    assert stack.robot == RobotConfig(task="Stack", seed=7, randomize=4, randomize_strength=0.5)


def test_the_gym_env_randomizes_per_episode_and_keeps_the_scenes() -> None:
    import gymnasium as gym

    import robot_llm.envs  # noqa: F401  (registers the ids)

    plain = gym.make("robot_llm/PickPlace-v0", obs_mode="state")
    looks = gym.make("robot_llm/PickPlace-v0", obs_mode="state", randomize=1.0)
    try:
        a, _ = plain.reset(seed=11)
        b, _ = looks.reset(seed=11)
        first = looks.unwrapped.world.appearance  # type: ignore[attr-defined]
        assert np.array_equal(a["objects"], b["objects"]) and not first.is_neutral
        looks.reset()
        assert looks.unwrapped.world.appearance != first  # type: ignore[attr-defined]
        looks.reset(seed=11)
        assert looks.unwrapped.world.appearance == first  # type: ignore[attr-defined]
    finally:
        plain.close()
        looks.close()


def test_the_sim_driver_option_names_one_look_for_its_render_workers() -> None:
    from robot_llm.bridge.sim_driver import SimDriverError, _appearance

    assert _appearance(None, 0, 1.0) is None
    assert _appearance("3", 5, "0.5") == appearance_for(3, 5, 0.5).to_dict()
    assert _appearance("3", 5, "1", "Stack") == appearance_for(3, 5, task="Stack").to_dict()
    with pytest.raises(SimDriverError, match="randomize"):
        _appearance("x", 0, 1.0)


def test_randomize_is_refused_for_a_robot_behind_a_bridge() -> None:
    from robot_llm.config import RobotConfig, StackConfig
    from robot_llm.session import SessionInputError, open_session

    config = StackConfig(robot=RobotConfig(robot="tcp://127.0.0.1:1", randomize=1))
    with pytest.raises(SessionInputError, match="--driver-option randomize"):
        open_session(config)


def test_run_with_randomize_works_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    from robot_llm.cli import main

    command = "put the red block in the green bowl"
    code = main(["run", "--scene", SCENE, "--randomize", "3", command, "--json", "--quiet"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert json.loads(out.out)["status"] == "done"
