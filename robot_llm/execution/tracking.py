"""Scene tracking for the executor: perceive, and keep object ids stable from one look to the next.

Plans name objects by id, so every perception must give the same object the same id, even after
a skill carried it across the table or the arm hid it for a while. The tracker remembers the
last sighting of every object, expects a just-moved object under the hand, associates each new
perception with that memory (`robot_llm.perception.associate`), then matches whatever is left
by kind and color at any distance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Final, Protocol

import numpy as np

from robot_llm.execution.verify import is_held
from robot_llm.policies.scene_geometry import block_edge, bottom, top
from robot_llm.robots.base import Robot
from robot_llm.types import CameraFrame, Scene, SceneObject

# After association within its gate, objects still unmatched are matched to lost ones of the
# same kind and color up to this far apart, meters.
REFIND_GATE: Final = 1.0
# A sighting below this confidence is mostly hidden (a block under others in a pyramid, a
# block behind a taller one): its pose is a guess from a sliver of pixels.
OCCLUDED_CONFIDENCE: Final = 0.4
# Such a sighting within this distance of the last confident one, of an object no skill has
# moved since, keeps the confident pose, meters.
OCCLUDED_GATE: Final = 0.05
# An object seen under a new id this close to where a skill just put an object of its kind and
# size is that object, whatever its colour reads (meters).
PUT_GATE: Final = 0.025
PUT_MARGIN: Final = 0.01  # ... and the next such object at least this much farther
# A block seen resting this close to the level of a lost block's top (meters), over its
# footprint, covers it: the lost block stays where it was last seen.
COVER_LEVEL_TOLERANCE: Final = 0.012
# A block no longer seen, that nothing moved, stays where it was while the frame's depth still
# shows its top there: the median depth of a patch of pixels (PATCH either side) around its top's
# center within this of the depth its top would have, meters.
STANDING_TOLERANCE: Final = 0.006
PATCH: Final = 2

PerceiveFn = Callable[[CameraFrame], Scene]


class Perceiver(Protocol):
    def perceive(self, frame: CameraFrame) -> Scene: ...


class AssociateFn(Protocol):
    """Rename perceived objects to the ids of matching reference objects within `gate` meters
    (`robot_llm.perception.associate`)."""

    def __call__(self, perceived: Scene, reference: Scene, gate: float = ...) -> Scene: ...


class SceneTracker:
    """The latest perceived scene, with ids kept stable across perceptions."""

    def __init__(
        self,
        robot: Robot,
        perceive: PerceiveFn | Perceiver,
        associate: AssociateFn | None = None,
        camera: str = "main",
    ) -> None:
        self.robot = robot
        method = getattr(perceive, "perceive", None)
        self._perceive: PerceiveFn = method if callable(method) else perceive  # type: ignore[assignment]
        self._associate = associate
        self.camera = camera
        self.scene = Scene()
        self.known: dict[str, SceneObject] = {}  # last sighting of every id
        self.view_clear = True  # whether the latest scene was seen with nothing in the way
        self.moved: set[str] = set()  # ids a skill moved since the latest perception
        self.put: set[str] = set()  # ... of which a skill left these on the table

    def perceive(self, reference: Scene | None = None, clear_view: bool = True) -> Scene:
        """Capture the camera and perceive.

        Ids follow `reference` when given (a scene file, the planner's scene), else the last
        sighting of every object so far. `clear_view=False` says the arm may hide objects or
        look like one: objects first seen then are not remembered.
        """
        frame = self.robot.capture(self.camera)
        perceived = self._perceive(frame)
        if reference is not None:
            self.known = {o.id: o for o in reference.objects}
        if self.known:
            perceived = self._keep_ids(perceived)
            perceived = self._keep_confident(perceived)
            perceived = self._keep_covered(perceived)
            perceived = self._keep_standing(perceived, frame)
        self.moved.clear()
        self.put.clear()
        for o in perceived.objects:
            if clear_view or o.id in self.known:
                self.known[o.id] = o
        self.scene = perceived
        self.view_clear = clear_view
        return perceived

    def expect_at_hand(self, object_id: str | None, put: bool = False) -> None:
        """After a skill moved an object, expect it under the hand (where it was grasped,
        released or pushed to), so the next perception finds it under the same id. `put`: the
        skill left it there (a place or a push, not a pick), so the object seen there is it
        (`_where_put`)."""
        known = self.known.get(object_id or "")
        if known is None:
            return
        self.moved.add(known.id)
        if put:
            self.put.add(known.id)
        x, y, _ = self.robot.state().ee_position
        self.known[known.id] = replace(known, position=(x, y, known.position[2]))

    def holds(self, object_id: str | None) -> bool:
        """Whether the gripper holds this object now (see `verify.is_held`)."""
        if object_id is None:
            return False
        return is_held(object_id, self.scene, self.robot.state(), self.known)

    def _keep_confident(self, perceived: Scene) -> Scene:
        """A mostly hidden object that nothing moved keeps its last confident pose."""

        def steady(o: SceneObject) -> SceneObject:
            prev = self.known.get(o.id)
            if (
                prev is None
                or o.confidence >= OCCLUDED_CONFIDENCE
                or prev.confidence < OCCLUDED_CONFIDENCE
                or o.id in self.moved
                or prev.kind != o.kind
            ):
                return o
            dx, dy = o.position[0] - prev.position[0], o.position[1] - prev.position[1]
            if (dx * dx + dy * dy) ** 0.5 > OCCLUDED_GATE:
                return o
            return prev

        return replace(perceived, objects=tuple(steady(o) for o in perceived.objects))

    def _keep_covered(self, perceived: Scene) -> Scene:
        """A block no longer seen that nothing moved stays at its last pose while a block seen
        now rests on it (the middle block of a pyramid's base, hidden by the two over it)."""
        seen = set(perceived.ids)
        blocks = [o for o in perceived.objects if o.kind == "block"]
        kept = [
            o
            for o in self.known.values()
            if o.id not in seen
            and o.id not in self.moved
            and o.kind == "block"
            and any(_rests_on(b, o) for b in blocks)
        ]
        if not kept:
            return perceived
        return replace(perceived, objects=(*perceived.objects, *kept))

    def _keep_standing(self, perceived: Scene, frame: CameraFrame) -> Scene:
        """A block no longer seen that nothing moved stays at its last pose while the frame's
        depth still shows its top there and nothing seen now stands in its place: one look can
        miss a block whose colour the light confuses, and a plan must not forget it."""
        seen = set(perceived.ids)
        kept = [
            o
            for o in self.known.values()
            if o.id not in seen
            and o.id not in self.moved
            and o.kind == "block"
            and not any(_overlaps(o, p) for p in perceived.objects if p.kind == "block")
            and depth_shows_top(o, frame)
        ]
        if not kept:
            return perceived
        return replace(perceived, objects=(*perceived.objects, *kept))

    def _keep_ids(self, perceived: Scene) -> Scene:
        put = self._where_put(perceived)
        rest = Scene(tuple(o for i, o in enumerate(perceived.objects) if i not in put))
        taken = {o.id for o in put.values()}
        associate = self._association()
        reference = Scene(tuple(o for o in self.known.values() if o.id not in taken))
        first = associate(replace(perceived, objects=rest.objects), reference)
        known = set(reference.ids)
        matched = {o.id for o in first.objects if o.id in known}
        lost = [o for o in reference.objects if o.id not in matched]
        # Where a lost object stood first, then by kind and colour at any distance.
        renamed = self._where_it_stood(list(first.objects), known, lost)
        found = {o.id for o in renamed}
        new = [o for o in renamed if o.id not in known]
        lost = [o for o in lost if o.id not in found]
        rename: dict[str, str] = {}
        if new and lost:
            second = associate(Scene(tuple(new)), Scene(tuple(lost)), REFIND_GATE)
            lost_ids = {o.id for o in lost}
            rename = {
                a.id: b.id for a, b in zip(new, second.objects, strict=True) if b.id in lost_ids
            }
        renamed = [replace(o, id=rename.get(o.id, o.id)) for o in renamed]
        # A fresh id must not be one the put objects keep.
        from robot_llm.perception.naming import object_id  # perception loads OpenCV

        used = taken | {o.id for o in renamed}
        for k, o in enumerate(renamed):
            if o.id in taken:
                n = 2
                while object_id(o.color, o.kind, n) in used:
                    n += 1
                renamed[k] = replace(o, id=object_id(o.color, o.kind, n))
                used.add(renamed[k].id)
        rest_objects = iter(renamed)
        objects = tuple(
            put[i] if i in put else next(rest_objects) for i in range(len(perceived.objects))
        )
        return replace(first, objects=objects)

    def _where_put(self, perceived: Scene) -> dict[int, SceneObject]:
        """The objects seen now that are an object a skill just put down: of its kind and size
        within PUT_GATE of where the hand left it, the one of its colour, else the one clearly
        nearest (PUT_MARGIN), whatever colour the camera gives it (a yellow block in a shaded
        bowl under a warm light can read orange). The act names the object: it keeps its id
        and colour, with the colour seen as an alternative. By index in `perceived`, the
        object as renamed."""
        out: dict[int, SceneObject] = {}
        for oid in sorted(self.put):
            m = self.known.get(oid)
            if m is None:
                continue
            near = sorted(
                (_apart(o, m), i)
                for i, o in enumerate(perceived.objects)
                if i not in out
                and o.kind == m.kind
                and o.size == m.size
                and _apart(o, m) <= PUT_GATE
                and not self._already_there(o)
            )
            # One of its own colour there is it; otherwise the one clearly nearest.
            own = [(d, i) for d, i in near if perceived.objects[i].color == m.color]
            if len(own) == 1:
                near = own
            if not near:
                continue
            if len(near) > 1 and near[1][0] < near[0][0] + PUT_MARGIN:
                continue  # two about as near (a block put on one of its size): not sure
            index = near[0][1]
            out[index] = _as(perceived.objects[index], m)
        return out

    def _where_it_stood(
        self, objects: list[SceneObject], known: set[str], lost: list[SceneObject]
    ) -> list[SceneObject]:
        """Objects seen under new ids where a lost object that nothing moved stood (its kind
        and size, within PUT_MARGIN across and in height) are that object: objects do not
        change colour, the light they are seen in does. It keeps its id and colour, with the
        colour seen as an alternative."""
        out = list(objects)
        for k in lost:
            if k.id in self.moved:
                continue
            here = [
                i
                for i, o in enumerate(out)
                if o.id not in known
                and o.kind == k.kind
                and o.size == k.size
                and _apart(o, k) <= PUT_MARGIN
                and abs(o.position[2] - k.position[2]) <= PUT_MARGIN
            ]
            if len(here) == 1:
                out[here[0]] = _as(out[here[0]], k)
        return out

    def _already_there(self, seen: SceneObject) -> bool:
        """Whether a seen object is one known before, that nothing moved, where it was: a block
        under the one just put on it is that block, whatever lies on it now."""
        return any(
            k.id not in self.moved
            and k.kind == seen.kind
            and k.color == seen.color
            and _apart(k, seen) <= PUT_MARGIN
            and abs(k.position[2] - seen.position[2]) <= PUT_MARGIN
            for k in self.known.values()
        )

    def _association(self) -> AssociateFn:
        if self._associate is None:
            from robot_llm.perception import associate

            self._associate = associate
        return self._associate


def _rests_on(upper: SceneObject, lower: SceneObject) -> bool:
    """Whether `upper` sits at the level of `lower`'s top with their footprints overlapping."""
    if abs(bottom(upper) - top(lower)) > COVER_LEVEL_TOLERANCE:
        return False
    dx, dy = upper.position[0] - lower.position[0], upper.position[1] - lower.position[1]
    return (dx * dx + dy * dy) ** 0.5 < (block_edge(upper) + block_edge(lower)) / 2


def _as(seen: SceneObject, known: SceneObject) -> SceneObject:
    """An object seen now, named as the known object it is: that object's id and colour, with
    the colour seen (and its alternatives) as alternatives."""
    alternatives = tuple(
        c for c in dict.fromkeys((*seen.color_alternatives, seen.color)) if c != known.color
    )
    return replace(seen, id=known.id, color=known.color, color_alternatives=alternatives)


def _apart(a: SceneObject, b: SceneObject) -> float:
    return float(np.hypot(a.position[0] - b.position[0], a.position[1] - b.position[1]))


def _overlaps(a: SceneObject, b: SceneObject) -> bool:
    """Whether two blocks' footprints overlap, by their centers and edges."""
    dx, dy = a.position[0] - b.position[0], a.position[1] - b.position[1]
    return (dx * dx + dy * dy) ** 0.5 < (block_edge(a) + block_edge(b)) / 2


def depth_shows_top(obj: SceneObject, frame: CameraFrame) -> bool:
    """Whether the frame's depth around the image of an object's top center is the depth that
    top would have (STANDING_TOLERANCE): something of its height stands there, in view."""
    from robot_llm.perception.pixels import project_points  # perception loads OpenCV

    depth = getattr(frame, "depth", None)
    if depth is None:
        return False
    point = np.array([[obj.position[0], obj.position[1], top(obj)]], dtype=float)
    uv, in_front = project_points(point, frame.intrinsics, frame.extrinsics)
    if not in_front[0]:
        return False
    u, v = (round(float(c)) for c in uv[0])
    h, w = depth.shape[:2]
    if not (PATCH <= u < w - PATCH and PATCH <= v < h - PATCH):
        return False
    patch = np.asarray(depth[v - PATCH : v + PATCH + 1, u - PATCH : u + PATCH + 1], float)
    valid = patch[np.isfinite(patch) & (patch > 0)]
    if valid.size * 2 < patch.size:  # mostly holes: the depth says nothing
        return False
    pose = np.asarray(frame.extrinsics, dtype=float)
    expected = float(((point[0] - pose[:3, 3]) @ pose[:3, :3])[2])
    return abs(float(np.median(valid)) - expected) <= STANDING_TOLERANCE
