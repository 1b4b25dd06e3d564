"""Shared fixtures: PyBullet worlds (DIRECT mode) that are always closed, and scene files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from robot_llm.envs.world import TabletopWorld
from robot_llm.tabletop.scene import SceneSpec, parse_scene

WorldFactory = Callable[..., TabletopWorld]


@pytest.fixture
def make_world() -> Iterator[WorldFactory]:
    """Build DIRECT-mode worlds from a scene (a SceneSpec or parse_scene data); closed after."""
    worlds: list[TabletopWorld] = []

    def make(scene: SceneSpec | list[dict[str, Any]], robot: Any = "panda") -> TabletopWorld:
        spec = scene if isinstance(scene, SceneSpec) else parse_scene(scene)
        world = TabletopWorld(robot)
        worlds.append(world)
        world.build(spec)
        return world

    yield make
    for world in worlds:
        world.close()


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """Write text (or bytes) to a file under the test's tmp_path and return its path."""

    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return write
