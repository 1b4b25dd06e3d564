"""Task families of the tabletop suite, registered by name."""

from __future__ import annotations

from robot_llm.envs.tasks.base import Episode, Task
from robot_llm.envs.tasks.chain import Chain
from robot_llm.envs.tasks.clear import Clear
from robot_llm.envs.tasks.hanoi import TowersOfHanoi
from robot_llm.envs.tasks.pick_place import PickPlace
from robot_llm.envs.tasks.push import Push
from robot_llm.envs.tasks.put_in_bowl import PutInBowl
from robot_llm.envs.tasks.pyramid import Pyramid
from robot_llm.envs.tasks.sort import Sort
from robot_llm.envs.tasks.stack import Stack

TASKS: dict[str, type[Task]] = {
    cls.name: cls
    for cls in (
        PickPlace,
        Stack,
        PutInBowl,
        Sort,
        Push,
        Pyramid,
        TowersOfHanoi,
        Clear,
        Chain,
    )
}


def make_task(name: str) -> Task:
    """A fresh task instance by family name; ValueError lists the known names."""
    try:
        return TASKS[name]()
    except KeyError:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}") from None


__all__ = ["TASKS", "Episode", "Task", "make_task"]
