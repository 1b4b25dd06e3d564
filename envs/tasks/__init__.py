"""Task families of the tabletop suite, registered by name."""

from __future__ import annotations

from robot_llm.envs.tasks.base import DEFAULT_ROBOT, Episode, Task, TaskDoesNotFit
from robot_llm.envs.tasks.chain import Chain
from robot_llm.envs.tasks.clear import Clear
from robot_llm.envs.tasks.hanoi import TowersOfHanoi
from robot_llm.envs.tasks.pick_place import PickPlace
from robot_llm.envs.tasks.push import Push
from robot_llm.envs.tasks.put_in_bowl import PutInBowl
from robot_llm.envs.tasks.pyramid import Pyramid
from robot_llm.envs.tasks.sort import Sort
from robot_llm.envs.tasks.stack import Stack
from robot_llm.errors import InputError
from robot_llm.registry import Registry


class UnknownTask(InputError):
    """No task family of that name."""


TASKS: Registry[type[Task]] = Registry("task", UnknownTask)
for _cls in (PickPlace, Stack, PutInBowl, Sort, Push, Pyramid, TowersOfHanoi, Clear, Chain):
    TASKS.register(_cls.name, _cls)


def make_task(name: str, robot: str = DEFAULT_ROBOT) -> Task:
    """A fresh task instance by family name, sampling for `robot` (its table, reach and sizes:
    robot_llm.tabletop.setups); UnknownTask lists the known names, TaskDoesNotFit says why the
    robot cannot do the family."""
    task = TASKS.find(name)()
    return task.for_robot(robot) if robot != task.robot else task


__all__ = ["TASKS", "Episode", "Task", "TaskDoesNotFit", "UnknownTask", "make_task"]
