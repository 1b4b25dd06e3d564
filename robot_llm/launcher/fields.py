"""Readers for the fields of a launch file: commands, numbers, `ready` and `restart`."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

import yaml

from robot_llm.launcher.model import Ready, Restart
from robot_llm.launcher.nodes import Reader, Variables

READY_KEYS = ("log", "stream", "port", "host", "delay", "timeout")
RESTART_KEYS = ("policy", "max_restarts", "backoff", "max_backoff")
POLICIES = ("never", "on-failure", "always")
STREAMS = ("stdout", "stderr", "both")


def name_list(reader: Reader, node: yaml.Node, field: str) -> list[yaml.Node]:
    """One name or a list of names."""
    return [node] if isinstance(node, yaml.ScalarNode) else reader.sequence(node, field)


def command(
    reader: Reader, variables: Variables, node: yaml.Node, field: str, environ: Mapping[str, str]
) -> tuple[str, ...]:
    """A command, list or string (split like a shell, without one), with `${VAR}`s replaced."""
    if isinstance(node, yaml.SequenceNode):
        words = [(reader.text(item, field), item) for item in reader.sequence(node, field)]
    else:
        raw = reader.text(node, field)
        try:
            words = [(word, node) for word in shlex.split(raw)]
        except ValueError as err:
            raise reader.error(node, field, f"cannot split the command: {err}") from None
    argv = [variables.substitute(word, item, field) for word, item in words]
    if not argv or not argv[0]:
        raise reader.error(node, field, "the command is empty")
    if os.sep not in argv[0]:
        found = shutil.which(argv[0], path=environ.get("PATH")) or shutil.which(
            argv[0], path=str(Path(sys.executable).parent)
        )
        if found is None:
            raise reader.error(
                node, field, f"program {argv[0]!r} not found on PATH or next to {sys.executable}"
            )
        argv[0] = found
    return tuple(argv)


def number(
    reader: Reader, variables: Variables, node: yaml.Node, field: str, *, integer: bool = False
) -> float:
    """A non-negative number; a string (such as "${PORT}") is substituted and then read."""
    value = reader.value(node)
    if isinstance(value, str):
        text = variables.substitute(value, node, field)
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            value = text
    want = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise reader.error(node, field, f"expected {want}, got {reader.kind(node)}")
    if value < 0:
        raise reader.error(node, field, f"expected {want} >= 0, got {value}")
    return value


def ready(reader: Reader, variables: Variables, node: yaml.Node, field: str) -> Ready:
    """Exactly one of `log` (a regex, on `stream`), `port` (on `host`) or `delay`; a timeout."""
    entries = reader.mapping(node, field, READY_KEYS)
    kinds = [k for k in ("log", "port", "delay") if k in entries]
    if len(kinds) != 1:
        raise reader.error(node, field, "give exactly one of log, port or delay")
    timeout = (
        number(reader, variables, entries["timeout"][1], f"{field}.timeout")
        if "timeout" in entries
        else 30.0
    )
    kind = kinds[0]
    for key, owner in (("stream", "log"), ("host", "port")):
        if key in entries and kind != owner:
            raise reader.error(entries[key][0], f"{field}.{key}", f"goes with {owner}, not {kind}")
    value_node = entries[kind][1]
    if kind == "delay":
        delay = number(reader, variables, value_node, f"{field}.delay")
        return Ready("delay", delay, delay=delay)  # a delay cannot time out
    if kind == "port":
        port = int(number(reader, variables, value_node, f"{field}.port", integer=True))
        if not 0 < port < 65536:
            raise reader.error(value_node, f"{field}.port", f"{port} is not a TCP port")
        host = "127.0.0.1"
        if "host" in entries:
            host_node = entries["host"][1]
            host = variables.substitute(
                reader.text(host_node, f"{field}.host"), host_node, f"{field}.host"
            )
        return Ready("port", timeout, host=host, port=port)
    # A variable in a pattern matches its value literally (an address's dots, a `*`).
    raw = reader.text(value_node, f"{field}.log")
    pattern = variables.substitute(raw, value_node, f"{field}.log", escape=re.escape)
    try:
        re.compile(pattern)
    except re.error as err:
        raise reader.error(
            value_node, f"{field}.log", f"not a valid regular expression: {err}"
        ) from None
    stream = "both"
    if "stream" in entries:
        stream_node = entries["stream"][1]
        stream = reader.text(stream_node, f"{field}.stream")
        if stream not in STREAMS:
            raise reader.error(
                stream_node, f"{field}.stream", f"expected one of {', '.join(STREAMS)}"
            )
    return Ready("log", timeout, pattern=pattern, stream=stream)


def restart(reader: Reader, variables: Variables, node: yaml.Node, field: str) -> Restart:
    """`restart: POLICY`, or a mapping: policy, max_restarts (null: no limit), backoff."""
    entries: dict[str, tuple[yaml.Node, yaml.Node]] = (
        {"policy": (node, node)}
        if isinstance(node, yaml.ScalarNode)
        else reader.mapping(node, field, RESTART_KEYS)
    )
    if "policy" not in entries:
        raise reader.error(node, f"{field}.policy", f"missing: one of {', '.join(POLICIES)}")
    policy_node = entries["policy"][1]
    policy = reader.text(policy_node, f"{field}.policy")
    if policy not in POLICIES:
        raise reader.error(
            policy_node,
            f"{field}.policy",
            f"unknown policy {policy!r}; expected one of {', '.join(POLICIES)}",
        )
    values: dict[str, float | None] = {}
    for key in RESTART_KEYS[1:]:
        if key in entries:
            value_node = entries[key][1]
            unlimited = key == "max_restarts" and reader.value(value_node) is None
            values[key] = None if unlimited else number(
                reader, variables, value_node, f"{field}.{key}", integer=key == "max_restarts"
            )  # fmt: skip
    defaults = Restart()
    max_restarts = values.get("max_restarts", defaults.max_restarts)
    return Restart(
        policy,
        None if max_restarts is None else int(max_restarts),
        float(values.get("backoff", defaults.backoff) or 0.0),
        float(values.get("max_backoff", defaults.max_backoff) or 0.0),
    )
