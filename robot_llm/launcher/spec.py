"""Launch files: parsing and validation into a `LaunchSpec` (schema in docs/launch.md).

Everything is checked before anything starts: unknown keys, wrong types, missing commands,
unknown or cyclic `depends_on`, two interactive processes, unknown restart policies, undefined
`${VAR}`s and programs that cannot be found. Each failure is one `LaunchFileError` line naming
the file, the line and the field.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import yaml

from robot_llm.launcher import fields
from robot_llm.launcher.model import LaunchSpec, ProcessSpec, Ready, Restart, ShutdownSpec
from robot_llm.launcher.nodes import LaunchFileError, Reader, Variables, compose
from robot_llm.launcher.order import Entry, start_order

TOP_KEYS = ("description", "vars", "processes", "shutdown")
PROCESS_KEYS = (
    "name",
    "command",
    "env",
    "cwd",
    "ready",
    "depends_on",
    "restart",
    "interactive",
    "required",
    "stop_signal",
)
SHUTDOWN_KEYS = ("command", "timeout", "needs", "grace")
STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
PROCESS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def bundled_launch_files() -> dict[str, Path]:
    """Launch files shipped in the package (the `launch/` folder), by name."""
    folder = resources.files("robot_llm.launch")
    return {
        Path(str(f)).stem: Path(str(f))
        for f in folder.iterdir()
        if f.name.endswith((".yaml", ".yml"))
    }


def find_launch_file(target: str) -> Path:
    """A launch file by path, or by the name of a bundled one (`sim`, `sim.yaml`)."""
    path = Path(target)
    if path.is_file():
        return path
    bundled = bundled_launch_files()
    name = target.removesuffix(".yaml").removesuffix(".yml")
    if name in bundled and os.sep not in target:
        return bundled[name]
    known = ", ".join(sorted(bundled)) or "none"
    raise LaunchFileError(
        f"{target}: no such file and no bundled launch file of that name ({known})"
    )


def builtin_variables(path: Path) -> dict[str, str]:
    assets = Path(str(resources.files("robot_llm.sim_assets")))
    return {
        "python": sys.executable,
        "sim_assets": str(assets),
        "launch_dir": str(path.resolve().parent),
    }


def load_launch_file(
    path: str | Path,
    overrides: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> LaunchSpec:
    """Read and validate a launch file; `overrides` are `--set` values."""
    p = Path(path)
    source = str(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise LaunchFileError(f"{source}: cannot read: {err.strerror or err}") from None
    return parse_launch(
        text, source, p, overrides or {}, os.environ if environ is None else environ
    )


def parse_launch(
    text: str, source: str, path: Path, overrides: Mapping[str, str], environ: Mapping[str, str]
) -> LaunchSpec:
    reader = Reader(source)
    root = compose(text, source)
    if root is None:
        raise LaunchFileError(f"{source}:1: processes: the file is empty")
    top = reader.mapping(root, "", TOP_KEYS)
    description = reader.text(top["description"][1], "description") if "description" in top else ""
    defaults = {}
    if "vars" in top:
        for name, (_, value) in reader.names(top["vars"][1], "vars").items():
            defaults[name] = (value, reader.text(value, f"vars.{name}"))
    for name in overrides:
        if name not in defaults:
            declared = ", ".join(defaults) or "none"
            raise LaunchFileError(
                f"{source}: --set {name}: not a variable of this file (declared: {declared})"
            )
    variables = Variables(reader, overrides, environ, defaults, builtin_variables(path))
    resolved = {
        name: (variables.get(name, node, f"vars.{name}"), variables.source(name))
        for name, (node, _) in defaults.items()
    }
    if "processes" not in top:
        raise reader.error(root, "processes", "missing: a launch file declares its processes")
    nodes = reader.sequence(top["processes"][1], "processes")
    if not nodes:
        raise reader.error(top["processes"][1], "processes", "the list is empty")
    parsed = [_process(reader, variables, node, f"processes[{i}]") for i, node in enumerate(nodes)]
    order = start_order(reader, [entry for _, entry in parsed])
    processes = tuple(parsed[i][0] for i in order)
    shutdown_node = top["shutdown"][1] if "shutdown" in top else None
    shutdown = _shutdown(reader, variables, shutdown_node, {p.name for p in processes})
    return LaunchSpec(source, description, resolved, processes, shutdown)


def _process(
    reader: Reader, variables: Variables, node: yaml.Node, field: str
) -> tuple[ProcessSpec, Entry]:
    field = _label(node, field)
    entries = reader.mapping(node, field, PROCESS_KEYS)
    if "name" not in entries:
        raise reader.error(node, f"{field}.name", "missing")
    name = reader.text(entries["name"][1], f"{field}.name")
    if not PROCESS_NAME.fullmatch(name):
        raise reader.error(entries["name"][1], f"{field}.name", f"{name!r} is not a valid name")
    if "command" not in entries:
        raise reader.error(node, f"{field}.command", "missing: what does this process run?")
    env_node = entries.get("env", (None, None))[1]
    env = {}
    if env_node is not None:
        for key, (_, value) in reader.names(env_node, f"{field}.env").items():
            text = reader.text(value, f"{field}.env.{key}")
            env[key] = variables.substitute(text, value, f"{field}.env.{key}")
    argv = fields.command(
        reader, variables, entries["command"][1], f"{field}.command", {**variables.environ, **env}
    )
    cwd = None
    if "cwd" in entries:
        cwd_node = entries["cwd"][1]
        cwd = variables.substitute(reader.text(cwd_node, f"{field}.cwd"), cwd_node, f"{field}.cwd")
    ready = (
        fields.ready(reader, variables, entries["ready"][1], f"{field}.ready")
        if "ready" in entries
        else None
    )
    depends: list[tuple[str, yaml.Node]] = []
    if "depends_on" in entries:
        items = fields.name_list(reader, entries["depends_on"][1], f"{field}.depends_on")
        depends = [(reader.text(item, f"{field}.depends_on"), item) for item in items]
    restart = (
        fields.restart(reader, variables, entries["restart"][1], f"{field}.restart")
        if "restart" in entries
        else Restart()
    )
    flags = {
        key: reader.flag(entries[key][1], f"{field}.{key}") if key in entries else default
        for key, default in (("interactive", False), ("required", True))
    }
    stop = signal.SIGTERM
    if "stop_signal" in entries:
        sig_node = entries["stop_signal"][1]
        sig_name = reader.text(sig_node, f"{field}.stop_signal").upper()
        sig_name = sig_name if sig_name.startswith("SIG") else f"SIG{sig_name}"
        if sig_name not in STOP_SIGNALS:
            raise reader.error(
                sig_node, f"{field}.stop_signal", f"expected one of {', '.join(STOP_SIGNALS)}"
            )
        stop = signal.Signals[sig_name]
    spec = ProcessSpec(
        name, argv, env, cwd, ready, tuple(dep for dep, _ in depends), restart,
        flags["interactive"], flags["required"], stop, node.start_mark.line + 1,
    )  # fmt: skip
    interactive_node = entries["interactive"][1] if flags["interactive"] else None
    if interactive_node is not None and ready is not None and ready.kind == "log":
        raise reader.error(
            entries["ready"][1], f"{field}.ready.log", "an interactive process's output is not read"
        )
    return spec, Entry(name, entries["name"][1], tuple(depends), interactive_node)


def _label(node: yaml.Node, field: str) -> str:
    """`processes.NAME` for errors, once the process has a valid name; else `processes[i]`."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            named = key.value == "name" and isinstance(value, yaml.ScalarNode)
            if named and PROCESS_NAME.fullmatch(value.value):
                return f"processes.{value.value}"
    return field


def _shutdown(
    reader: Reader, variables: Variables, node: yaml.Node | None, names: set[str]
) -> ShutdownSpec:
    if node is None:
        return ShutdownSpec(None)
    entries = reader.mapping(node, "shutdown", SHUTDOWN_KEYS)
    argv = None
    if "command" in entries:
        argv = fields.command(
            reader, variables, entries["command"][1], "shutdown.command", variables.environ
        )
    needs: list[str] = []
    if "needs" in entries:
        for item in fields.name_list(reader, entries["needs"][1], "shutdown.needs"):
            needs.append(reader.text(item, "shutdown.needs"))
            if needs[-1] not in names:
                raise reader.error(item, "shutdown.needs", f"unknown process {needs[-1]!r}")
    times = {
        key: fields.number(reader, variables, entries[key][1], f"shutdown.{key}")
        if key in entries
        else default
        for key, default in (("timeout", ShutdownSpec.timeout), ("grace", ShutdownSpec.grace))
    }
    return ShutdownSpec(argv, times["timeout"], tuple(needs), times["grace"])


__all__ = [
    "LaunchFileError",
    "LaunchSpec",
    "ProcessSpec",
    "Ready",
    "Restart",
    "ShutdownSpec",
    "bundled_launch_files",
    "find_launch_file",
    "load_launch_file",
]
