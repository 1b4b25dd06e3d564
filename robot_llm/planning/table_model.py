"""A symbolic model of the table that the rule planner updates step by step while it plans.

Built from a perceived `Scene`: which object rests on or in which (from positions and the shared
object geometry), which block is held, and where free table space is. Planning a step changes the
model (a picked block is held, a placed block rests on its target), so later steps of the same
command see the table as the earlier ones leave it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Final

import numpy as np

from robot_llm.planning.lexicon import BLOCK, BOWL, TRAY, ZONE
from robot_llm.tabletop.geometry import bowl_rim_radius, half_extents_xy, height, rest_height
from robot_llm.tabletop.palette import TRAY_INNER, ZONE_SIDE
from robot_llm.tabletop.scene import WORKSPACE, Workspace
from robot_llm.types import Scene

SUPPORT_TOLERANCE: Final = 0.015  # meters between a bottom face and the surface below it
HELD_HEIGHT: Final = 0.03  # a block with no support whose bottom is this high is in the hand
CLEARANCE: Final = 0.012  # free space kept between a placed block and its neighbours
GRID_STEP: Final = 0.01


def describe_workspace(ws: Workspace) -> str:
    return f"x {ws.x[0]:.2f} to {ws.x[1]:.2f} m, y {ws.y[0]:.2f} to {ws.y[1]:.2f} m"


@dataclass
class Thing:
    """One object of the model; `support` is the id it rests on or in (None: the table)."""

    id: str
    kind: str
    color: str
    size: str
    x: float
    y: float
    z: float
    yaw: float = 0.0
    support: str | None = None
    held: bool = False
    origin: tuple[float, float] = (0.0, 0.0)  # where it stood when planning began
    alt_colors: tuple[str, ...] = ()  # colors the camera could not rule out (SceneObject)

    @property
    def xy(self) -> tuple[float, float]:
        return (self.x, self.y)

    @property
    def bottom(self) -> float:
        return self.z - height(self.kind, self.size) / 2

    @property
    def top(self) -> float:
        return self.z + height(self.kind, self.size) / 2

    @property
    def rest_z(self) -> float:
        """Height of the surface something placed on or in this object rests on."""
        return self.bottom + rest_height(self.kind, self.size)

    @property
    def radius(self) -> float:
        """Radius of a circle around the footprint, for free-space checks."""
        hx, hy = half_extents_xy(self.kind, self.size)
        return hx if self.kind == BOWL else math.hypot(hx, hy)

    def contains_xy(self, x: float, y: float, margin: float = 0.0) -> bool:
        """Whether a point lies over this object's top (block) or inside it (containers)."""
        dx, dy = x - self.x, y - self.y
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        lx, ly = c * dx + s * dy, -s * dx + c * dy
        if self.kind == BOWL:
            return math.hypot(dx, dy) <= bowl_rim_radius(self.size) + margin
        if self.kind == TRAY:
            ix, iy = TRAY_INNER[self.size]
            return abs(lx) <= ix / 2 + margin and abs(ly) <= iy / 2 + margin
        half = ZONE_SIDE[self.size] / 2 if self.kind == ZONE else height(BLOCK, self.size) / 2
        return abs(lx) <= half + margin and abs(ly) <= half + margin


@dataclass
class TableModel:
    """The model: objects in scene order, the held block, the workspace."""

    things: dict[str, Thing]
    workspace: Workspace = WORKSPACE

    @classmethod
    def from_scene(
        cls, scene: Scene, workspace: Workspace | None = None, held: str | None = None
    ) -> TableModel:
        things = {
            o.id: Thing(
                o.id,
                o.kind,
                o.color,
                o.size,
                float(o.position[0]),
                float(o.position[1]),
                float(o.position[2]),
                yaw=float(o.yaw),
                origin=(float(o.position[0]), float(o.position[1])),
                alt_colors=tuple(o.color_alternatives),
            )
            for o in scene.objects
        }
        world = cls(things, workspace or WORKSPACE)
        world._infer_supports()
        if held in things and not any(t.held for t in things.values()):
            h = things[held]
            if h.kind == BLOCK and h.support is None and world.clear(held):
                h.held = True
        return world

    def copy(self) -> TableModel:
        return TableModel({k: replace(v) for k, v in self.things.items()}, self.workspace)

    def _infer_supports(self) -> None:
        blocks = sorted((t for t in self.things.values() if t.kind == BLOCK), key=lambda t: t.z)
        for b in blocks:
            best: Thing | None = None
            for o in self.things.values():
                if o.id == b.id or (o.kind == BLOCK and o.z >= b.z):
                    continue
                if not o.contains_xy(b.x, b.y, margin=0.01):
                    continue
                if o.kind == BLOCK:
                    ok = abs(b.bottom - o.top) <= SUPPORT_TOLERANCE
                else:  # resting in a bowl, tray or on a zone: bottom near its floor
                    ok = abs(b.bottom - o.rest_z) <= SUPPORT_TOLERANCE
                if ok and (best is None or o.top > best.top):
                    best = o
            if best is not None:
                b.support = best.id
            elif b.bottom > HELD_HEIGHT:
                b.held = True
        for o in self.things.values():  # a bowl standing on a zone
            if o.kind == BOWL:
                for z in self.things.values():
                    if z.kind == ZONE and z.contains_xy(o.x, o.y) and o.bottom < 0.01:
                        o.support = z.id

    # -- queries ---------------------------------------------------------------------------------
    def __getitem__(self, object_id: str) -> Thing:
        return self.things[object_id]

    def __contains__(self, object_id: object) -> bool:
        return object_id in self.things

    def __iter__(self) -> Iterator[Thing]:
        return iter(self.things.values())

    @property
    def held(self) -> str | None:
        for t in self.things.values():
            if t.held:
                return t.id
        return None

    def on_top(self, object_id: str) -> list[str]:
        """Blocks resting directly on this object (blocks in a container for containers)."""
        return [t.id for t in self.things.values() if t.support == object_id and not t.held]

    def blocks_on(self, object_id: str) -> list[str]:
        """Blocks resting directly on a block (empty for containers)."""
        if self.things[object_id].kind != BLOCK:
            return []
        return self.on_top(object_id)

    def clear(self, object_id: str) -> bool:
        """Nothing rests on this block."""
        return not self.blocks_on(object_id)

    def above(self, object_id: str) -> list[str]:
        """Every block stacked above this block, top first."""
        out: list[str] = []
        frontier = self.blocks_on(object_id)
        while frontier:
            out.extend(frontier)
            frontier = [b for f in frontier for b in self.blocks_on(f)]
        return list(reversed(out))

    def stack_top(self, object_id: str) -> str:
        """The highest block of the stack standing on this block (itself when clear)."""
        cur = object_id
        while True:
            up = self.blocks_on(cur)
            if not up:
                return cur
            cur = up[0]

    def base(self, object_id: str) -> Thing:
        """The lowest object under this one (itself on the table)."""
        t = self.things[object_id]
        while t.support is not None:
            t = self.things[t.support]
        return t

    def container_of(self, object_id: str) -> str | None:
        """The bowl, tray or zone this block is in, directly or under a stack."""
        t = self.things[object_id]
        while t.support is not None:
            s = self.things[t.support]
            if s.kind != BLOCK:
                return s.id
            t = s
        return None

    def on_table(self, object_id: str) -> bool:
        t = self.things[object_id]
        return t.support is None and not t.held

    # -- changes ---------------------------------------------------------------------------------
    def pick(self, object_id: str) -> None:
        t = self.things[object_id]
        t.support, t.held = None, True
        t.z = 0.25

    def place_on(self, object_id: str, target: str) -> None:
        t, s = self.things[object_id], self.things[target]
        t.held, t.support = False, target
        t.x, t.y = s.x, s.y
        t.z = (s.top if s.kind == BLOCK else s.rest_z) + height(t.kind, t.size) / 2

    def place_at(self, object_id: str, xy: tuple[float, float]) -> None:
        t = self.things[object_id]
        t.held, t.support = False, None
        t.x, t.y = xy
        t.z = height(t.kind, t.size) / 2

    def place_across(self, object_id: str, pair: tuple[str, str]) -> None:
        """Rest a block across two blocks side by side (it counts as on the first)."""
        t, a, b = self.things[object_id], self.things[pair[0]], self.things[pair[1]]
        t.held, t.support = False, a.id
        t.x, t.y = (a.x + b.x) / 2, (a.y + b.y) / 2
        t.z = max(a.top, b.top) + height(t.kind, t.size) / 2

    def move_xy(self, object_id: str, xy: tuple[float, float]) -> None:
        """A push: the object (and anything in or on it) slides to a new position."""
        t = self.things[object_id]
        dx, dy = xy[0] - t.x, xy[1] - t.y
        for o in self.things.values():
            if o.id == object_id or self._rests_on(o.id, object_id):
                o.x, o.y = o.x + dx, o.y + dy

    def _rests_on(self, object_id: str, base: str) -> bool:
        t = self.things[object_id]
        while t.support is not None:
            if t.support == base:
                return True
            t = self.things[t.support]
        return False

    # -- free space ------------------------------------------------------------------------------
    def is_free(
        self, xy: tuple[float, float], object_id: str, ignore: Iterable[str] = ()
    ) -> str | None:
        """None when the block fits at `xy` on the table, else the id of what is in the way."""
        me = self.things[object_id]
        skip = {object_id, *ignore}
        for o in self.things.values():
            if o.id in skip or o.held or o.support is not None:
                continue
            if math.hypot(o.x - xy[0], o.y - xy[1]) < o.radius + me.radius + CLEARANCE - 1e-9:
                return o.id
        return None

    def free_spot(
        self,
        object_id: str,
        near: tuple[float, float],
        box: tuple[tuple[float, float], tuple[float, float]] | None = None,
        avoid_self: bool = False,
    ) -> tuple[float, float] | None:
        """The free table point nearest `near` where the block fits, inside `box` if given;
        with `avoid_self`, away from where the block stands now (setting it aside)."""
        me = self.things[object_id]
        ws = self.workspace
        margin = me.radius + 0.005
        x0, x1 = ws.x[0] + margin, ws.x[1] - margin
        y0, y1 = ws.y[0] + margin, ws.y[1] - margin
        if box is not None:
            (bx0, bx1), (by0, by1) = box
            x0, x1, y0, y1 = max(x0, bx0), min(x1, bx1), max(y0, by0), min(y1, by1)
        if x0 > x1 or y0 > y1:
            return None
        # points are rounded to millimeters before testing, as plans carry them
        xs = np.round(np.arange(x0, x1 + 1e-9, GRID_STEP), 3)
        ys = np.round(np.arange(y0, y1 + 1e-9, GRID_STEP), 3)
        gx, gy = np.meshgrid(xs, ys, indexing="ij")
        px, py = gx.ravel(), gy.ravel()
        ok = np.ones(px.shape, dtype=bool)
        for o in self.things.values():
            if o.id == object_id and avoid_self and not o.held:
                ok &= np.hypot(px - o.x, py - o.y) >= 2 * me.radius + CLEARANCE + 1e-6
                continue
            if o.id == object_id or o.held or o.support is not None:
                continue
            d = np.hypot(px - o.x, py - o.y)
            ok &= d >= o.radius + me.radius + CLEARANCE + 1e-6
        if not ok.any():
            return None
        dist = np.hypot(px - near[0], py - near[1])
        dist[~ok] = np.inf
        i = int(np.argmin(dist))
        return (round(float(px[i]), 3), round(float(py[i]), 3))
