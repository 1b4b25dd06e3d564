"""Reading suite files as YAML nodes, so that every error names its file, line and field."""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from robot_llm.errors import InputError


class SuiteError(InputError):
    """A suite file or name the runner cannot use; the message is one line."""


class Reader:
    """Shape and type checks on YAML nodes; each failure is `FILE:LINE: FIELD: problem`."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, node: yaml.Node | None, where: str, problem: str) -> SuiteError:
        line = node.start_mark.line + 1 if node is not None else 1
        return SuiteError(f"{self.source}:{line}: {where or 'top level'}: {problem}")

    def mapping(self, node: yaml.Node, where: str, keys: tuple[str, ...]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, where, f"expected a mapping, got {self.kind(node)}")
        out: dict[str, yaml.Node] = {}
        for key_node, value in node.value:
            key = str(key_node.value)
            name = f"{where}.{key}" if where else key
            if key not in keys:
                raise self.error(key_node, name, f"unknown key; known keys: {', '.join(keys)}")
            if key in out:
                raise self.error(key_node, name, "given twice")
            out[key] = value
        return out

    def sequence(self, node: yaml.Node, where: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, where, f"expected a list, got {self.kind(node)}")
        return list(node.value)

    def value(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            return node
        return SafeConstructor().construct_object(node)

    def kind(self, node: yaml.Node) -> str:
        if isinstance(node, yaml.MappingNode):
            return "a mapping"
        if isinstance(node, yaml.SequenceNode):
            return "a list"
        value = self.value(node)
        return "nothing" if value is None else f"{type(value).__name__} {node.value!r}"

    def integer(self, node: yaml.Node, where: str, minimum: int | None = 0) -> int:
        value = self.value(node)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(node, where, f"expected an integer, got {self.kind(node)}")
        if minimum is not None and value < minimum:
            raise self.error(node, where, f"must be at least {minimum}, got {value}")
        return value

    def number(self, node: yaml.Node, where: str) -> float:
        value = self.value(node)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.error(node, where, f"expected a positive number, got {self.kind(node)}")
        return float(value)

    def text(self, node: yaml.Node, where: str) -> str:
        value = self.value(node)
        if not isinstance(node, yaml.ScalarNode) or value is None:
            raise self.error(node, where, f"expected a string, got {self.kind(node)}")
        return str(node.value)

    def choices(self, node: yaml.Node, where: str, known: tuple[str, ...]) -> tuple[str, ...]:
        out = []
        for i, item in enumerate(self.sequence(node, where)):
            value = self.text(item, f"{where}[{i}]")
            if value not in known:
                raise self.error(item, f"{where}[{i}]", f"unknown {value!r}; known: {known}")
            out.append(value)
        return tuple(out)
