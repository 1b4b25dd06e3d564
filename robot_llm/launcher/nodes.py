"""Reading launch files as YAML nodes, so that every error names its file, line and field.

`yaml.compose` keeps each node's position; `Reader` checks shapes and types on those nodes and
raises `LaunchFileError` with one line, `FILE:LINE: FIELD: what is wrong`. `Variables` resolves
`${NAME}` references from `--set`, the environment, the file's `vars:` and the built-ins.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from robot_llm.errors import InputError

_REF = re.compile(r"\$\$|\$\{([^}]*)\}")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class LaunchFileError(InputError):
    """A launch file, launch name or `--set` the launcher cannot use; the message is one line."""


def compose(text: str, source: str) -> yaml.Node | None:
    """Parse YAML text into nodes (with line marks); a syntax error becomes a LaunchFileError."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        line = f"{mark.line + 1}:" if mark is not None else ""
        parts = [getattr(err, "context", None), getattr(err, "problem", None)]
        detail = " ".join(", ".join(str(p) for p in parts if p).split()) or str(err)
        raise LaunchFileError(f"{source}:{line} not valid YAML: {detail}") from None


class Reader:
    """Shape and type checks on YAML nodes; every failure names file, line and field."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._constructor = SafeConstructor()

    def error(self, node: yaml.Node | None, field: str, message: str) -> LaunchFileError:
        line = node.start_mark.line + 1 if node is not None else 1
        return LaunchFileError(f"{self.source}:{line}: {field or 'top level'}: {message}")

    def mapping(
        self, node: yaml.Node, field: str, allowed: Iterable[str]
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """A mapping's entries, key -> (key node, value node); unknown or repeated keys fail."""
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, field, f"expected a mapping, got {self.kind(node)}")
        known = list(allowed)
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            name = f"{field}.{key}" if field and key is not None else str(key)
            if key is None or key not in known:
                hint = f"; known keys: {', '.join(known)}" if known else ""
                raise self.error(key_node, name, f"unknown key{hint}")
            if key in entries:
                raise self.error(key_node, name, "given twice")
            entries[key] = (key_node, value_node)
        return entries

    def names(self, node: yaml.Node, field: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """A mapping whose keys are free names (variables, environment variables)."""
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, field, f"expected a mapping, got {self.kind(node)}")
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else ""
            if not NAME.fullmatch(key):
                raise self.error(key_node, field, f"{key!r} is not a valid name")
            if key in entries:
                raise self.error(key_node, f"{field}.{key}", "given twice")
            entries[key] = (key_node, value_node)
        return entries

    def sequence(self, node: yaml.Node, field: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, field, f"expected a list, got {self.kind(node)}")
        return list(node.value)

    def text(self, node: yaml.Node, field: str) -> str:
        """A scalar as it is written (numbers and booleans too); null and collections fail."""
        if not isinstance(node, yaml.ScalarNode) or self.value(node) is None:
            raise self.error(node, field, f"expected a string, got {self.kind(node)}")
        return str(node.value)

    def flag(self, node: yaml.Node, field: str) -> bool:
        value = self.value(node)
        if not isinstance(value, bool):
            raise self.error(node, field, f"expected true or false, got {self.kind(node)}")
        return value

    def value(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self._constructor.construct_object(node)
        return node

    def kind(self, node: yaml.Node) -> str:
        if isinstance(node, yaml.MappingNode):
            return "a mapping"
        if isinstance(node, yaml.SequenceNode):
            return "a list"
        value = self.value(node)
        return "nothing" if value is None else f"{type(value).__name__} {node.value!r}"


class Variables:
    """`${NAME}` lookup: `--set`, then the environment, then the file's `vars:`, then built-ins.

    Defaults in `vars:` may refer to other variables; values from `--set` and the environment
    are taken as they are. `$$` stands for a literal `$`.
    """

    def __init__(
        self,
        reader: Reader,
        overrides: Mapping[str, str],
        environ: Mapping[str, str],
        defaults: Mapping[str, tuple[yaml.Node, str]],
        builtins: Mapping[str, str],
    ) -> None:
        self.reader = reader
        self.overrides = dict(overrides)
        self.environ = environ
        self.defaults = dict(defaults)
        self.builtins = dict(builtins)
        self._resolved: dict[str, str] = {}

    def source(self, name: str) -> str:
        """Where a name's value comes from: set, environment, default or built-in."""
        if name in self.overrides:
            return "set"
        if name in self.environ:
            return "environment"
        return "default" if name in self.defaults else "built-in"

    def get(self, name: str, node: yaml.Node, field: str, _stack: tuple[str, ...] = ()) -> str:
        if name in self._resolved:
            return self._resolved[name]
        if name in self.overrides:
            value = self.overrides[name]
        elif name in self.environ:
            value = self.environ[name]
        elif name in self.defaults:
            if name in _stack:
                cycle = " -> ".join((*_stack, name))
                raise self.reader.error(node, field, f"variables refer to each other: {cycle}")
            default_node, template = self.defaults[name]
            value = self.substitute(template, default_node, f"vars.{name}", (*_stack, name))
        elif name in self.builtins:
            value = self.builtins[name]
        else:
            raise self.reader.error(
                node, field, f"undefined variable ${{{name}}} (add it to vars: or use --set)"
            )
        self._resolved[name] = value
        return value

    def substitute(
        self,
        text: str,
        node: yaml.Node,
        field: str,
        _stack: tuple[str, ...] = (),
        escape: Callable[[str], str] = str,
    ) -> str:
        """`text` with its references replaced; `escape` is applied to each value."""

        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return escape("$")
            name = match.group(1)
            if not NAME.fullmatch(name):
                raise self.reader.error(node, field, f"bad variable reference ${{{name}}}")
            return escape(self.get(name, node, field, _stack))

        return _REF.sub(replace, text)
