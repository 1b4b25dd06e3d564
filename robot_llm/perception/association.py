"""Keeping ids stable: give perceived objects the ids of a reference scene.

The reference is a scene file's objects (`scene_from_spec`) or the previous perception. Objects
match only within one kind and color, by nearest position on the table, with an optimal
assignment and a distance gate; an unmatched object keeps a fresh "<color>_<kind>_N" id that no
reference object uses.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from robot_llm.perception.naming import object_id
from robot_llm.types import Scene, SceneObject

DEFAULT_GATE = 0.08  # meters: farther apart than this, two objects are not the same one
SIZE_MISMATCH_COST = 0.01  # meters added when the size classes differ (ties go to the same size)


def associate(perceived: Scene, reference: Scene, gate: float = DEFAULT_GATE) -> Scene:
    """`perceived` with its objects renamed to the ids of matching `reference` objects.

    A match needs the same kind and color and a horizontal distance within `gate`; among those
    the assignment minimizes the total distance. Objects without a match get an id
    "<color>_<kind>[_N]" used by no reference object and no other perceived object.
    """
    new_ids: dict[int, str] = {}
    groups: dict[tuple[str, str], tuple[list[int], list[int]]] = {}
    for i, o in enumerate(perceived.objects):
        groups.setdefault((o.kind, o.color), ([], []))[0].append(i)
    for j, r in enumerate(reference.objects):
        if (r.kind, r.color) in groups:
            groups[(r.kind, r.color)][1].append(j)
    for ps, rs in groups.values():
        if not rs:
            continue
        cost = np.array(
            [[_distance(perceived.objects[i], reference.objects[j]) for j in rs] for i in ps]
        )
        for a, b in assign(cost, gate):
            new_ids[ps[a]] = reference.objects[rs[b]].id
    taken = set(reference.ids) | set(new_ids.values())
    objects = []
    for i, o in enumerate(perceived.objects):
        oid = new_ids.get(i)
        if oid is None:
            oid = o.id
            n = 1
            while oid in taken:
                n += 1
                oid = object_id(o.color, o.kind, n)
            taken.add(oid)
        objects.append(replace(o, id=oid))
    return replace(perceived, objects=tuple(objects))


def _distance(a: SceneObject, b: SceneObject) -> float:
    d = math.hypot(a.position[0] - b.position[0], a.position[1] - b.position[1])
    return d + (SIZE_MISMATCH_COST if a.size != b.size else 0.0)


def assign(cost: np.ndarray, gate: float) -> list[tuple[int, int]]:
    """Pairs (row, col) of a minimum-cost assignment, dropping pairs that cost more than gate."""
    n_rows, n_cols = cost.shape
    if n_rows == 0 or n_cols == 0:
        return []
    big = gate * 10 + float(np.max(cost, initial=0.0)) + 1.0
    gated = np.where(cost <= gate, cost, big)
    transpose = n_rows > n_cols
    matrix = gated.T if transpose else gated
    pairs = _hungarian(matrix)
    if transpose:
        pairs = [(r, c) for c, r in pairs]
    return [(r, c) for r, c in pairs if cost[r, c] <= gate]


def _hungarian(a: np.ndarray) -> list[tuple[int, int]]:
    """Minimum-cost assignment of every row of an n x m matrix (n <= m) to a distinct column."""
    n, m = a.shape
    inf = float("inf")
    u, v = np.zeros(n + 1), np.zeros(m + 1)
    match = np.zeros(m + 1, dtype=int)  # column -> row (1-based), 0 for none
    way = np.zeros(m + 1, dtype=int)
    for row in range(1, n + 1):
        match[0] = row
        col0 = 0
        minv = np.full(m + 1, inf)
        used = np.zeros(m + 1, dtype=bool)
        while True:
            used[col0] = True
            r0 = match[col0]
            delta, col1 = inf, 0
            for col in range(1, m + 1):
                if used[col]:
                    continue
                cur = a[r0 - 1, col - 1] - u[r0] - v[col]
                if cur < minv[col]:
                    minv[col], way[col] = cur, col0
                if minv[col] < delta:
                    delta, col1 = minv[col], col
            for col in range(m + 1):
                if used[col]:
                    u[match[col]] += delta
                    v[col] -= delta
                else:
                    minv[col] -= delta
            col0 = col1
            if match[col0] == 0:
                break
        while col0:
            col1 = way[col0]
            match[col0] = match[col1]
            col0 = col1
    return [(int(match[c]) - 1, c - 1) for c in range(1, m + 1) if match[c]]
