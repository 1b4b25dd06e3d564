"""PyBullet bodies for the objects of a scene: blocks, bowls, flat zones and trays.

Bowls and trays are compounds of boxes and a floor, so their collision shape is really concave
and holds what is dropped in them.
"""

from __future__ import annotations

import math

import numpy as np
import pybullet as p

from robot_llm.tabletop.geometry import (
    BOWL_FLARE,
    BOWL_FLOOR,
    BOWL_HEIGHT,
    BOWL_SEGMENTS,
    BOWL_WALL,
    TRAY_FLOOR,
    TRAY_HEIGHT,
    TRAY_WALL,
    ZONE_THICKNESS,
)
from robot_llm.tabletop.palette import BLOCK_EDGE, BOWL_RADIUS, TRAY_INNER, ZONE_SIDE, rgba
from robot_llm.tabletop.scene import ObjectSpec

BLOCK_DENSITY = 500.0  # kg/m^3, a wooden block
BOWL_MASS = 0.4
TRAY_MASS = 0.8

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]
# A compound part: half extents (boxes) or (radius, radius, half length) for cylinders,
# local position, local orientation and whether it is a cylinder.
Part = tuple[Vec3, Vec3, Quat, bool]
IDENTITY: Quat = (0.0, 0.0, 0.0, 1.0)


def _yaw_quat(yaw: float) -> tuple[float, float, float, float]:
    return (0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2))


def _compound(
    client: int,
    parts: list[Part],
    color: tuple[float, float, float, float],
    mass: float,
    position: tuple[float, float, float],
    yaw: float,
) -> int:
    """A single rigid body made of boxes and cylinders (see `Part`)."""
    types = [p.GEOM_CYLINDER if cyl else p.GEOM_BOX for _, _, _, cyl in parts]
    halves = [list(h) for h, _, _, _ in parts]
    radii = [h[0] for h, _, _, _ in parts]
    lengths = [2 * h[2] for h, _, _, _ in parts]
    positions = [list(pos) for _, pos, _, _ in parts]
    orientations = [list(q) for _, _, q, _ in parts]
    col = p.createCollisionShapeArray(
        shapeTypes=types,
        halfExtents=halves,
        radii=radii,
        lengths=lengths,
        collisionFramePositions=positions,
        collisionFrameOrientations=orientations,
        physicsClientId=client,
    )
    vis = p.createVisualShapeArray(
        shapeTypes=types,
        halfExtents=halves,
        radii=radii,
        lengths=lengths,
        visualFramePositions=positions,
        visualFrameOrientations=orientations,
        physicsClientId=client,
    )
    body = p.createMultiBody(
        baseMass=mass,
        baseCollisionShapeIndex=col,
        baseVisualShapeIndex=vis,
        basePosition=position,
        baseOrientation=_yaw_quat(yaw),
        physicsClientId=client,
    )
    p.changeVisualShape(body, -1, rgbaColor=color, physicsClientId=client)
    return body


def _bowl_parts(size: str) -> list[Part]:
    r0 = BOWL_RADIUS[size]
    wall_len = BOWL_HEIGHT / math.cos(BOWL_FLARE)
    mid_r = r0 + BOWL_WALL / 2 + (BOWL_HEIGHT / 2) * math.tan(BOWL_FLARE)
    # Segment width covers the circumference at the rim so neighbouring walls leave no gaps.
    rim_r = r0 + BOWL_HEIGHT * math.tan(BOWL_FLARE) + BOWL_WALL
    seg_half = rim_r * math.tan(math.pi / BOWL_SEGMENTS) + 0.002
    floor_r = r0 + BOWL_WALL / 2
    parts: list[Part] = [
        (
            (floor_r, floor_r, BOWL_FLOOR / 2),
            (0.0, 0.0, BOWL_FLOOR / 2 - BOWL_HEIGHT / 2),
            IDENTITY,
            True,
        )
    ]
    for i in range(BOWL_SEGMENTS):
        a = 2 * math.pi * i / BOWL_SEGMENTS
        # Wall slab: rotate about its tangent (local y) by the flare, then about z by `a`.
        q = p.multiplyTransforms(
            [0, 0, 0],
            p.getQuaternionFromEuler([0.0, 0.0, a]),
            [0, 0, 0],
            p.getQuaternionFromEuler([0.0, BOWL_FLARE, 0.0]),
        )[1]
        parts.append(
            (
                (BOWL_WALL / 2, seg_half, wall_len / 2),
                (mid_r * math.cos(a), mid_r * math.sin(a), 0.0),
                (q[0], q[1], q[2], q[3]),
                False,
            )
        )
    return parts


def _tray_parts(size: str) -> list[Part]:
    ix, iy = TRAY_INNER[size]
    hx, hy, h = ix / 2 + TRAY_WALL, iy / 2 + TRAY_WALL, TRAY_HEIGHT / 2
    wall_h = (TRAY_HEIGHT - TRAY_FLOOR) / 2
    wall_z = TRAY_FLOOR / 2
    return [
        ((hx, hy, TRAY_FLOOR / 2), (0.0, 0.0, TRAY_FLOOR / 2 - h), IDENTITY, False),
        ((TRAY_WALL / 2, hy, wall_h), (hx - TRAY_WALL / 2, 0.0, wall_z), IDENTITY, False),
        ((TRAY_WALL / 2, hy, wall_h), (-hx + TRAY_WALL / 2, 0.0, wall_z), IDENTITY, False),
        ((hx, TRAY_WALL / 2, wall_h), (0.0, hy - TRAY_WALL / 2, wall_z), IDENTITY, False),
        ((hx, TRAY_WALL / 2, wall_h), (0.0, -hy + TRAY_WALL / 2, wall_z), IDENTITY, False),
    ]


def spawn_object(client: int, spec: ObjectSpec, base_z: float) -> int:
    """Create the body for `spec` resting with its bottom at height `base_z`; returns its id."""
    color = rgba(spec.color)
    x, y = spec.position
    if spec.kind == "block":
        e = BLOCK_EDGE[spec.size]
        half = [e / 2] * 3
        col = p.createCollisionShape(p.GEOM_BOX, halfExtents=half, physicsClientId=client)
        vis = p.createVisualShape(
            p.GEOM_BOX, halfExtents=half, rgbaColor=color, physicsClientId=client
        )
        body = p.createMultiBody(
            baseMass=BLOCK_DENSITY * e**3,
            baseCollisionShapeIndex=col,
            baseVisualShapeIndex=vis,
            basePosition=(x, y, base_z + e / 2),
            baseOrientation=_yaw_quat(spec.yaw),
            physicsClientId=client,
        )
        p.changeDynamics(
            body,
            -1,
            lateralFriction=0.9,
            spinningFriction=0.001,
            rollingFriction=0.0001,
            physicsClientId=client,
        )
        return int(body)
    if spec.kind == "zone":
        s = ZONE_SIDE[spec.size] / 2
        half = [s, s, ZONE_THICKNESS / 2]
        col = p.createCollisionShape(p.GEOM_BOX, halfExtents=half, physicsClientId=client)
        vis = p.createVisualShape(
            p.GEOM_BOX, halfExtents=half, rgbaColor=color, physicsClientId=client
        )
        return int(
            p.createMultiBody(
                baseMass=0.0,  # zones are markings on the table: static
                baseCollisionShapeIndex=col,
                baseVisualShapeIndex=vis,
                basePosition=(x, y, base_z + ZONE_THICKNESS / 2),
                baseOrientation=_yaw_quat(spec.yaw),
                physicsClientId=client,
            )
        )
    if spec.kind == "bowl":
        return _compound(
            client,
            _bowl_parts(spec.size),
            color,
            BOWL_MASS,
            (x, y, base_z + BOWL_HEIGHT / 2),
            spec.yaw,
        )
    if spec.kind == "tray":
        return _compound(
            client,
            _tray_parts(spec.size),
            color,
            TRAY_MASS,
            (x, y, base_z + TRAY_HEIGHT / 2),
            spec.yaw,
        )
    raise ValueError(f"object {spec.id!r}: unknown kind {spec.kind!r}")


def body_pose(client: int, body: int) -> tuple[np.ndarray, np.ndarray]:
    pos, quat = p.getBasePositionAndOrientation(body, physicsClientId=client)
    return np.asarray(pos), np.asarray(quat)
