"""One registry pattern for everything chosen by name."""

from __future__ import annotations

import pytest

from robot_llm.errors import InputError
from robot_llm.registry import Registry


class NoSuchThing(InputError):
    pass


def test_find_lists_the_known_names_in_one_line() -> None:
    things: Registry[int] = Registry("thing", NoSuchThing)
    things.register("one", 1)
    things.register("two", 2)
    assert things.find("two") == 2 and things["one"] == 1 and list(things) == ["one", "two"]
    with pytest.raises(NoSuchThing, match=r"^unknown thing 'three'; known: one, two$"):
        things.find("three")
    with pytest.raises(NoSuchThing, match="already registered"):
        things.register("one", 3)
    things.register("one", 3, replace_existing=True)
    with pytest.raises(NoSuchThing, match="letters, digits"):
        things.register("a:b", 4)


def test_import_paths_and_lazy_entries_are_imported_when_found() -> None:
    factories: Registry[object] = Registry("factory", NoSuchThing, import_paths=True)
    factories.register_path("lazy", "json:dumps")
    import json

    assert factories.find("lazy") is json.dumps and factories.find("json:loads") is json.loads
    assert factories.names() == ("lazy",)
    with pytest.raises(NoSuchThing, match="cannot be imported"):
        factories.find("no_module_here:f")
    with pytest.raises(NoSuchThing, match="not callable"):
        factories.find("json:__name__")
    plain: Registry[object] = Registry("factory", NoSuchThing)
    with pytest.raises(NoSuchThing, match="unknown factory 'json:dumps'"):
        plain.find("json:dumps")  # import paths only where the registry allows them


def test_planners_policies_drivers_recognizers_tasks_and_robots_share_it() -> None:
    from robot_llm.bridge.driver import DRIVERS
    from robot_llm.envs.robots import ROBOTS
    from robot_llm.envs.tasks import TASKS
    from robot_llm.planning.base import PLANNERS
    from robot_llm.policies.registry import POLICIES
    from robot_llm.speech.base import RECOGNIZERS

    for registry in (DRIVERS, ROBOTS, TASKS, PLANNERS, POLICIES, RECOGNIZERS):
        assert isinstance(registry, Registry)
        with pytest.raises(InputError, match=f"unknown {registry.kind} 'nope'"):
            registry.find("nope")
    assert {"sim", "mock"} <= set(DRIVERS.names()) and "panda" in ROBOTS and "Stack" in TASKS
