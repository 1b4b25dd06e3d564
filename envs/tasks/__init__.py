"""Task families of the tabletop suite, registered by name."""

from __future__ import annotations

from robot_llm.envs.tasks.base import Episode, Task
from robot_llm.envs.tasks.pick_place import PickPlace

TASKS: dict[str, type[Task]] = {cls.name: cls for cls in (PickPlace,)}


def make_task(name: str) -> Task:
    """A fresh task instance by family name; ValueError lists the known names."""
    try:
        return TASKS[name]()
    except KeyError:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}") from None


__all__ = ["TASKS", "Episode", "Task", "make_task"]
