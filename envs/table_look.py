"""The table top's look: a plain colour, or a procedural wood or laminate texture.

A texture is an image made with numpy from the appearance's colour and seed, written with an
OBJ box whose top face maps the whole image, and loaded as the table's visual shape. (Both of
PyBullet's renderers draw a texture that an OBJ's material names; the OpenGL/EGL renderer
ignores one set later with changeVisualShape on a primitive box.) The files live only until
the table's body has taken the shape.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pybullet as p

from robot_llm.envs.appearance import Appearance

TEXELS_PER_METER = 700  # about the main camera's pixels per meter on the table
PLANK_WIDTH = (0.09, 0.18)  # meters


@contextmanager
def table_visual(
    client: int, half_extents: tuple[float, float, float], look: Appearance
) -> Iterator[int]:
    """A visual shape for the table box of `half_extents` in the appearance's colour/texture.

    Create the table's body inside the `with`: the renderers read a texture's files when a body
    takes the shape, not when the shape is made.
    """
    color = (*look.table_color, 1.0)
    if look.table_texture is None:
        yield int(
            p.createVisualShape(
                p.GEOM_BOX, halfExtents=half_extents, rgbaColor=color, physicsClientId=client
            )
        )
        return
    hx, hy, _ = half_extents
    size = (_texels(2 * hy), _texels(2 * hx))
    image = table_texture(look, size)
    with tempfile.TemporaryDirectory(prefix="robot-llm-table-") as tmp:
        folder = Path(tmp)
        _write_png(folder / "table.png", image)
        (folder / "table.mtl").write_text(
            "newmtl table\nKa 1 1 1\nKd 1 1 1\nKs 0 0 0\nmap_Kd table.png\n", encoding="ascii"
        )
        (folder / "table.obj").write_text(_box_obj(half_extents), encoding="ascii")
        yield int(
            p.createVisualShape(
                p.GEOM_MESH, fileName=str(folder / "table.obj"), physicsClientId=client
            )
        )


def table_texture(look: Appearance, size: tuple[int, int]) -> np.ndarray:
    """The rows x cols x 3 uint8 texture of a textured appearance (rows along the table's y)."""
    rng = np.random.default_rng(look.texture_seed)
    rows, cols = size
    make = _wood if look.table_texture == "wood" else _laminate
    shade = make(rng, rows, cols)
    base = np.asarray(look.table_color, dtype=np.float32)
    # Darker grain is also a little more saturated (less blue), as in real wood.
    tint = np.array([1.0, 0.97, 0.92], dtype=np.float32) if look.table_texture == "wood" else 1.0
    variation = look.texture_contrast * shade[..., None]
    rgb = base * (1.0 + variation * np.where(variation < 0, tint, 1.0))
    return np.clip(np.rint(255.0 * rgb), 0, 255).astype(np.uint8)


def _smooth_noise(
    rng: np.random.Generator, rows: int, cols: int, cell: tuple[int, int]
) -> np.ndarray:
    """Zero-mean, unit-scale noise varying over about `cell` (rows, cols) texels."""
    import cv2

    small = rng.standard_normal((rows // cell[0] + 2, cols // cell[1] + 2)).astype(np.float32)
    return np.asarray(cv2.resize(small, (cols, rows), interpolation=cv2.INTER_CUBIC))


def _wood(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """Relative brightness of floorboards: planks with their own tone, long grain streaks and
    growth rings along the planks, dark seams between them."""
    along_rows = bool(rng.integers(2))
    length, across = (rows, cols) if along_rows else (cols, rows)
    width = int(rng.uniform(*PLANK_WIDTH) * TEXELS_PER_METER)
    plank = np.arange(across) // width
    tone = rng.uniform(-0.10, 0.10, plank.max() + 1).astype(np.float32)
    streaks = 0.05 * _smooth_noise(rng, length, across, (120, 2))
    warp = 14.0 * _smooth_noise(rng, length, across, (200, 40))
    period = float(rng.uniform(10.0, 22.0))
    rings = 0.06 * np.sin(2 * np.pi * (np.arange(across)[None, :] + warp) / period)
    shade = tone[plank][None, :] + streaks + rings.astype(np.float32)
    seam = (np.arange(across) % width) < 2
    shade[:, seam] -= 0.25
    return np.asarray(shade if along_rows else shade.T, dtype=np.float32)


def _laminate(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """Relative brightness of a speckled laminate (a lab bench, an office desk): fine flecks
    over a faint cloudy variation."""
    clouds = 0.04 * _smooth_noise(rng, rows, cols, (60, 60))
    flecks = 0.05 * _smooth_noise(rng, rows, cols, (2, 2))
    return np.asarray(clouds + flecks, dtype=np.float32)


def _texels(meters: float) -> int:
    """Texels along a side: a multiple of 64, since OpenGL reads image rows 4-byte aligned
    (a 3-channel row of another width comes out skewed and discoloured under EGL)."""
    return max(64, 64 * round(meters * TEXELS_PER_METER / 64))


def _write_png(path: Path, rgb: np.ndarray) -> None:
    import cv2

    if not cv2.imwrite(str(path), np.ascontiguousarray(rgb[:, :, ::-1])):
        raise OSError(f"cannot write the table texture {path}")


def _box_obj(half_extents: tuple[float, float, float]) -> str:
    """An OBJ box of `half_extents` whose top face maps the whole texture (u along x, v along
    y) and whose sides and bottom take its edge colour."""
    hx, hy, hz = half_extents
    corners = [(x, y, z) for z in (-hz, hz) for y in (-hy, hy) for x in (-hx, hx)]
    lines = ["mtllib table.mtl", "usemtl table"]
    lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in corners]
    lines += ["vt 0 0", "vt 1 0", "vt 1 1", "vt 0 1"]
    lines += ["vn 0 0 1", "vn 0 0 -1", "vn 1 0 0", "vn -1 0 0", "vn 0 1 0", "vn 0 -1 0"]
    # Corners: index 1 + x_bit + 2 * y_bit + 4 * z_bit; faces counter-clockwise from outside.
    faces = [
        ((5, 6, 8, 7), 1, True),  # top: the whole texture
        ((1, 3, 4, 2), 2, False),
        ((2, 4, 8, 6), 3, False),
        ((1, 5, 7, 3), 4, False),
        ((3, 7, 8, 4), 5, False),
        ((1, 2, 6, 5), 6, False),
    ]
    for (a, b, c, d), normal, top in faces:
        uv = (1, 2, 3, 4) if top else (1, 1, 1, 1)
        quad = [f"{v}/{t}/{normal}" for v, t in zip((a, b, c, d), uv, strict=True)]
        lines.append(f"f {quad[0]} {quad[1]} {quad[2]}")
        lines.append(f"f {quad[0]} {quad[2]} {quad[3]}")
    return "\n".join(lines) + "\n"
