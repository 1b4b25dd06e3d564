"""Process names, `depends_on` and `interactive` checked across a launch file; the start order."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from robot_llm.launcher.nodes import Reader


@dataclass(frozen=True)
class Entry:
    """One process as the cross-checks see it, with the nodes its errors point at."""

    name: str
    name_node: yaml.Node
    depends_on: tuple[tuple[str, yaml.Node], ...]
    interactive_node: yaml.Node | None  # set only when `interactive: true`


def start_order(reader: Reader, entries: list[Entry]) -> list[int]:
    """Indices of `entries` in start order: dependencies first, otherwise as written.

    Fails on a repeated name, a `depends_on` naming an unknown process or forming a cycle, and a
    second interactive process.
    """
    index: dict[str, int] = {}
    interactive: Entry | None = None
    for i, entry in enumerate(entries):
        field = f"processes.{entry.name}"
        if entry.name in index:
            raise reader.error(entry.name_node, f"{field}.name", "two processes have this name")
        index[entry.name] = i
        if entry.interactive_node is not None:
            if interactive is not None:
                raise reader.error(
                    entry.interactive_node,
                    f"{field}.interactive",
                    f"only one process may be interactive, and {interactive.name!r} already is",
                )
            interactive = entry
    for entry in entries:
        for dep, node in entry.depends_on:
            field = f"processes.{entry.name}.depends_on"
            if dep not in index:
                known = ", ".join(index)
                raise reader.error(node, field, f"unknown process {dep!r} (known: {known})")
            if dep == entry.name:
                raise reader.error(node, field, "a process cannot depend on itself")
    order: list[int] = []
    placed: set[str] = set()
    while len(order) < len(entries):
        for i, entry in enumerate(entries):
            if entry.name not in placed and all(dep in placed for dep, _ in entry.depends_on):
                order.append(i)
                placed.add(entry.name)
                break
        else:
            _raise_cycle(reader, entries, index, placed)
    return order


def _raise_cycle(
    reader: Reader, entries: list[Entry], index: dict[str, int], placed: set[str]
) -> None:
    # Walk unplaced dependencies from the first unplaced process until a name repeats.
    path: list[str] = []
    name = next(e.name for e in entries if e.name not in placed)
    while name not in path:
        path.append(name)
        name = next(dep for dep, _ in entries[index[name]].depends_on if dep not in placed)
    cycle = [*path[path.index(name) :], name]
    last = entries[index[cycle[-2]]]
    node = next(n for dep, n in last.depends_on if dep == name)
    raise reader.error(
        node, f"processes.{last.name}.depends_on", f"forms a cycle: {' -> '.join(cycle)}"
    )
