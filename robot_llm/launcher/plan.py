"""The process plan of a launch spec, as text for operators and as JSON for scripts."""

from __future__ import annotations

import shlex
from dataclasses import asdict
from typing import Any

from robot_llm.launcher.model import LaunchSpec, ProcessSpec, Restart


def plan_dict(spec: LaunchSpec) -> dict[str, Any]:
    return {
        "file": spec.path,
        "description": spec.description,
        "variables": {
            name: {"value": value, "source": source}
            for name, (value, source) in spec.variables.items()
        },
        "processes": [_process_dict(p) for p in spec.processes],
        "shutdown": {
            "command": list(spec.shutdown.argv) if spec.shutdown.argv else None,
            "timeout": spec.shutdown.timeout,
            "needs": list(spec.shutdown.needs),
            "grace": spec.shutdown.grace,
            "stop_order": [p.name for p in reversed(spec.processes)],
        },
    }


def _process_dict(p: ProcessSpec) -> dict[str, Any]:
    return {
        "name": p.name,
        "command": list(p.argv),
        "env": dict(p.env),
        "cwd": p.cwd,
        "ready": asdict(p.ready) if p.ready else None,
        "depends_on": list(p.depends_on),
        "restart": asdict(p.restart),
        "interactive": p.interactive,
        "required": p.required,
        "stop_signal": p.stop_signal.name,
    }


def plan_lines(spec: LaunchSpec) -> list[str]:
    lines = [f"{spec.path}: {spec.description}" if spec.description else spec.path]
    if spec.variables:
        lines.append("variables:")
        for name, (value, source) in spec.variables.items():
            lines.append(f"  {name}={value}  ({source})")
    lines.append("processes, in start order:")
    for i, p in enumerate(spec.processes, 1):
        tags = [t for t, on in (("interactive", p.interactive), ("optional", not p.required)) if on]
        lines.append(f"  {i}. {p.name}" + (f"  ({', '.join(tags)})" if tags else ""))
        lines.append(f"     command: {shlex.join(p.argv)}")
        if p.env:
            lines.append(f"     env:     {' '.join(f'{k}={v}' for k, v in p.env.items())}")
        if p.cwd:
            lines.append(f"     cwd:     {p.cwd}")
        if p.depends_on:
            lines.append(f"     after:   {', '.join(p.depends_on)} ready")
        if p.ready:
            within = f", within {p.ready.timeout:g} s" if p.ready.kind != "delay" else ""
            lines.append(f"     ready:   {p.ready.describe()}{within}")
        lines.append(f"     restart: {_restart_text(p.restart)}")
    lines.append("on Ctrl-C, SIGTERM or when a required process ends:")
    shutdown, step = spec.shutdown, 1
    if shutdown.argv:
        needs = f", if {', '.join(shutdown.needs)} is running" if shutdown.needs else ""
        lines.append(
            f"  {step}. {shlex.join(shutdown.argv)}  (within {shutdown.timeout:g} s{needs})"
        )
        step += 1
    for p in reversed(spec.processes):
        lines.append(
            f"  {step}. stop {p.name}: {p.stop_signal.name}, SIGKILL after {shutdown.grace:g} s"
        )
        step += 1
    return lines


def _restart_text(restart: Restart) -> str:
    if restart.policy == "never":
        return "never"
    limit = "no limit" if restart.max_restarts is None else f"at most {restart.max_restarts}"
    return (
        f"{restart.policy}, {limit}, backoff {restart.backoff:g} s doubling "
        f"to {restart.max_backoff:g} s"
    )
