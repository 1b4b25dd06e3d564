"""How the simulated world looks: lights, the table's surface and the camera's imperfections.

An `Appearance` is one draw of everything that changes a camera image but not the physics:
the light's direction, colour and shading coefficients, the table's colour and texture, and what
a real camera adds to the pixels (exposure, white-balance error, sensor noise, blur, JPEG) and to
the depth (noise that grows with distance, holes). `Appearance()` is the neutral look: the
world renders exactly the pixels it always has. `Appearance.sample(rng, strength)` draws a
plausible random look, so benchmark results can be shown under conditions like a real camera's
(docs/perception.md, "Randomized rendering").

The world applies it: the table's look at `TabletopWorld.build`, lights and camera effects in
every render (`robot_llm.envs.camera.render`, `robot_llm.envs.camera_effects`).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import asdict, dataclass, fields
from typing import Any, Final

import numpy as np

Rgb = tuple[float, float, float]
Vec3 = tuple[float, float, float]

# The neutral look: the renderer's defaults (TinyRenderer's ambient, diffuse and specular
# coefficients; passing them explicitly renders the same pixels as leaving them out).
DEFAULT_LIGHT_DIRECTION: Final[Vec3] = (0.4, 0.3, 1.0)
DEFAULT_AMBIENT: Final = 0.6
DEFAULT_DIFFUSE: Final = 0.35
DEFAULT_SPECULAR: Final = 0.05
DEFAULT_TABLE_COLOR: Final[Rgb] = (0.93, 0.92, 0.90)
TABLE_TEXTURES: Final = ("wood", "laminate")
NEUTRAL_KELVIN: Final = 6500.0  # the light colour (1, 1, 1): daylight, white-balanced

# Ranges at strength 1 (docs/perception.md says why each is what it is).
KELVIN_RANGE: Final = (3000.0, 7500.0)  # warm-white LED / halogen to overcast daylight
ELEVATION_RANGE_DEG: Final = (40.0, 85.0)  # the light's height above the horizon
AMBIENT_SPREAD: Final = 0.12
DIFFUSE_SPREAD: Final = 0.12
SPECULAR_RANGE: Final = (0.02, 0.12)
EXPOSURE_RATIO: Final = 1.4  # auto-exposure lands within x/1.4 .. x1.4
WHITE_BALANCE_SPREAD: Final = 0.08  # red and blue gains within +-8 %
READ_NOISE_RANGE: Final = (0.5, 3.0)  # 8-bit levels, std
SHOT_NOISE_RANGE: Final = (0.0, 0.08)  # variance per level of signal
BLUR_RANGE: Final = (0.0, 1.0)  # Gaussian sigma, pixels
JPEG_QUALITY_RANGE: Final = (60, 95)
DEPTH_NOISE_RANGE: Final = (0.0005, 0.002)  # std per meter of depth (0.6 - 2.4 mm at 1.2 m)
DEPTH_HOLES_RANGE: Final = (0.0, 0.03)  # fraction of pixels without depth


def kelvin_to_rgb(kelvin: float) -> Rgb:
    """The colour of a black-body light at `kelvin`, white-balanced for 6500 K and scaled so
    its brightest channel is 1 (Tanner Helland's fit of the Planckian locus, 1000 - 40000 K)."""

    def raw(k: float) -> np.ndarray:
        t = min(max(k, 1000.0), 40000.0) / 100.0
        if t <= 66:
            r = 255.0
            g = 99.4708025861 * math.log(t) - 161.1195681661
        else:
            r = 329.698727446 * (t - 60) ** -0.1332047592
            g = 288.1221695283 * (t - 60) ** -0.0755148492
        if t >= 66:
            b = 255.0
        elif t <= 19:
            b = 0.0
        else:
            b = 138.5177312231 * math.log(t - 10) - 305.0447927307
        return np.clip(np.array([r, g, b]), 0.0, 255.0)

    rgb = raw(kelvin) / raw(NEUTRAL_KELVIN)
    rgb = rgb / rgb.max()
    return (float(rgb[0]), float(rgb[1]), float(rgb[2]))


@dataclass(frozen=True)
class Appearance:
    """One look of the world; `Appearance()` is the neutral one (today's exact pixels).

    Light (the renderer): `light_direction` points from the scene towards the light (table
    frame); `light_color` is the light's RGB in [0, 1]; `ambient`, `diffuse`, `specular` are
    TinyRenderer's shading coefficients. The OpenGL (EGL) renderer honours only the direction,
    so for it the colour and the ambient + diffuse level are applied to the pixels instead.

    Table: `table_color` (RGB in [0, 1]) and `table_texture` (None, "wood" or "laminate": a
    procedural image in that colour, `texture_seed` and `texture_contrast` in [0, 1] decide it).

    Camera, on the rendered pixels in this order: `blur` (Gaussian sigma, pixels), `exposure`
    (a gain on every channel) and `white_balance` (per-channel RGB gains), sensor noise with
    variance `shot_noise * level + read_noise**2` (8-bit levels), then JPEG re-compression at
    `jpeg_quality` (None: none). Depth: Gaussian noise of std `depth_noise * depth` and a
    fraction `depth_holes` of pixels in small blobs set to 0 (no measurement, as RGB-D cameras
    report it). `seed` seeds the noise; each frame's draw also depends on the frame's pixels,
    so the same scene state gives the same frame however many other frames were taken.
    """

    light_direction: Vec3 = DEFAULT_LIGHT_DIRECTION
    light_color: Rgb = (1.0, 1.0, 1.0)
    ambient: float = DEFAULT_AMBIENT
    diffuse: float = DEFAULT_DIFFUSE
    specular: float = DEFAULT_SPECULAR
    table_color: Rgb = DEFAULT_TABLE_COLOR
    table_texture: str | None = None
    texture_seed: int = 0
    texture_contrast: float = 1.0
    exposure: float = 1.0
    white_balance: Rgb = (1.0, 1.0, 1.0)
    read_noise: float = 0.0
    shot_noise: float = 0.0
    blur: float = 0.0
    jpeg_quality: int | None = None
    depth_noise: float = 0.0
    depth_holes: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.table_texture is not None and self.table_texture not in TABLE_TEXTURES:
            raise ValueError(
                f"table_texture {self.table_texture!r} is not one of {', '.join(TABLE_TEXTURES)}"
            )
        if self.jpeg_quality is not None and not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in 1..100, got {self.jpeg_quality}")
        if not 0.0 <= self.depth_holes < 1.0:
            raise ValueError(f"depth_holes must be in [0, 1), got {self.depth_holes}")
        for name in ("exposure", "read_noise", "shot_noise", "blur", "depth_noise"):
            if not getattr(self, name) >= 0.0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    # -- what differs from neutral --------------------------------------------------------------
    @property
    def neutral_light(self) -> bool:
        """Whether the light's colour and its ambient + diffuse level are the default ones (the
        part of the light that the OpenGL renderer ignores and the pixels then carry)."""
        return (
            self.light_color == (1.0, 1.0, 1.0)
            and self.ambient == DEFAULT_AMBIENT
            and self.diffuse == DEFAULT_DIFFUSE
        )

    @property
    def neutral_table(self) -> bool:
        return self.table_texture is None and self.table_color == DEFAULT_TABLE_COLOR

    @property
    def neutral_camera(self) -> bool:
        """Whether rendered pixels and depth come out of the camera untouched."""
        return (
            self.exposure == 1.0
            and self.white_balance == (1.0, 1.0, 1.0)
            and self.read_noise == 0.0
            and self.shot_noise == 0.0
            and self.blur == 0.0
            and self.jpeg_quality is None
            and self.depth_noise == 0.0
            and self.depth_holes == 0.0
        )

    @property
    def is_neutral(self) -> bool:
        """Whether this look renders exactly the world's default pixels."""
        return (
            self.neutral_light
            and self.neutral_table
            and self.neutral_camera
            and self.light_direction == DEFAULT_LIGHT_DIRECTION
            and self.specular == DEFAULT_SPECULAR
        )

    # -- plain data -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (tuples as lists), e.g. for a benchmark's record of its conditions."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Appearance:
        """The inverse of `to_dict`; an unknown key is a ValueError that names it."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown appearance keys: {', '.join(unknown)}")
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        return cls(**values)

    # -- sampling -------------------------------------------------------------------------------
    @classmethod
    def sample(cls, rng: np.random.Generator, strength: float = 1.0) -> Appearance:
        """A random plausible look. `strength` scales every departure from neutral: 0 is the
        neutral look, 1 the ranges above (a real camera in an ordinary room), more goes
        beyond them. The same generator state gives the same look."""
        s = float(strength)
        if s < 0:
            raise ValueError(f"strength must be >= 0, got {strength}")
        if s == 0:
            return cls(seed=int(rng.integers(2**31)))

        def spread(low: float, high: float) -> float:
            return s * float(rng.uniform(low, high))

        def log_gain(ratio: float) -> float:
            return math.exp(s * float(rng.uniform(-math.log(ratio), math.log(ratio))))

        # Light: a random direction mixed into the default one, its colour by temperature in
        # mireds (perceptually even steps), shading a little softer or harder.
        azimuth = float(rng.uniform(0.0, 2.0 * math.pi))
        elevation = math.radians(float(rng.uniform(*ELEVATION_RANGE_DEG)))
        away = np.array(
            [
                math.cos(elevation) * math.cos(azimuth),
                math.cos(elevation) * math.sin(azimuth),
                math.sin(elevation),
            ]
        )
        base = np.asarray(DEFAULT_LIGHT_DIRECTION) / np.linalg.norm(DEFAULT_LIGHT_DIRECTION)
        direction = (1.0 - min(s, 1.0)) * base + min(s, 1.0) * away
        direction /= np.linalg.norm(direction)
        neutral_mired = 1e6 / NEUTRAL_KELVIN
        mired = neutral_mired + s * (
            float(rng.uniform(1e6 / KELVIN_RANGE[1], 1e6 / KELVIN_RANGE[0])) - neutral_mired
        )
        light = kelvin_to_rgb(1e6 / max(mired, 1e6 / 40000.0))
        ambient = DEFAULT_AMBIENT + spread(-AMBIENT_SPREAD, AMBIENT_SPREAD)
        diffuse = DEFAULT_DIFFUSE + spread(-DIFFUSE_SPREAD, DIFFUSE_SPREAD)
        specular = DEFAULT_SPECULAR + s * (float(rng.uniform(*SPECULAR_RANGE)) - DEFAULT_SPECULAR)

        texture_kind = rng.integers(3)  # plain, wood or laminate, equally often
        texture = None if texture_kind == 0 else TABLE_TEXTURES[int(texture_kind) - 1]
        table = _table_color(rng, texture)
        mix = min(s, 1.0)
        table_color = tuple(
            float((1 - mix) * d + mix * t) for d, t in zip(DEFAULT_TABLE_COLOR, table, strict=True)
        )

        wb = (log_gain(1 + WHITE_BALANCE_SPREAD), 1.0, log_gain(1 + WHITE_BALANCE_SPREAD))
        quality = float(rng.uniform(*JPEG_QUALITY_RANGE))
        return cls(
            light_direction=(float(direction[0]), float(direction[1]), float(direction[2])),
            light_color=light,
            ambient=max(ambient, 0.0),
            diffuse=max(diffuse, 0.0),
            specular=max(specular, 0.0),
            table_color=(table_color[0], table_color[1], table_color[2]),
            table_texture=texture,
            texture_seed=int(rng.integers(2**31)),
            texture_contrast=mix,
            exposure=log_gain(EXPOSURE_RATIO),
            white_balance=wb,
            read_noise=spread(*READ_NOISE_RANGE),
            shot_noise=spread(*SHOT_NOISE_RANGE),
            blur=spread(*BLUR_RANGE),
            jpeg_quality=max(1, min(100, round(100 - s * (100 - quality)))),
            depth_noise=spread(*DEPTH_NOISE_RANGE),
            depth_holes=min(spread(*DEPTH_HOLES_RANGE), 0.5),
            seed=int(rng.integers(2**31)),
        )


NEUTRAL: Final = Appearance()


def _table_color(rng: np.random.Generator, texture: str | None) -> Rgb:
    """A table top's base colour: light to medium wood for wood, else white, grey or beige
    (office desks, lab benches, painted tables)."""
    if texture == "wood":
        light, medium = np.array([0.86, 0.72, 0.54]), np.array([0.60, 0.44, 0.28])
        rgb = light + float(rng.uniform(0.0, 1.0)) * (medium - light)
    else:
        lightness = float(rng.uniform(0.55, 0.95))
        warmth = float(rng.uniform(0.0, 0.07))
        rgb = lightness * np.array([1.0, 1.0 - warmth, 1.0 - 2.0 * warmth])
    return (float(rgb[0]), float(rgb[1]), float(rgb[2]))


def appearance_for(
    seed: int | None, episode: int = 0, strength: float = 1.0, task: str = ""
) -> Appearance:
    """The look of one episode of a randomized run: `seed` is the run's (--randomize); the
    episode's own seed and its task family's name (when it has one) make each episode differ,
    so a benchmark's families do not share their looks. None is the neutral look."""
    if seed is None:
        return NEUTRAL
    words = [int(seed) % 2**63, int(episode) % 2**63]  # SeedSequence takes non-negative words
    if task:
        words.append(zlib.crc32(task.split("/")[-1].removesuffix("-v0").encode()))
    return Appearance.sample(np.random.default_rng(words), strength)
