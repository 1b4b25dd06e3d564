"""The launcher: start a whole stack of processes from one YAML launch file (docs/launch.md).

`load_launch_file` validates a file into a `LaunchSpec` (errors name file, line and field);
`run_launch` runs it; `add_launch_parser` adds `robot-llm launch` to a command line.
"""

from robot_llm.launcher.cli import add_launch_parser, cmd_launch
from robot_llm.launcher.model import LaunchSpec, ProcessSpec, Ready, Restart, ShutdownSpec
from robot_llm.launcher.nodes import LaunchFileError
from robot_llm.launcher.runner import run_launch
from robot_llm.launcher.spec import bundled_launch_files, find_launch_file, load_launch_file

__all__ = [
    "LaunchFileError",
    "LaunchSpec",
    "ProcessSpec",
    "Ready",
    "Restart",
    "ShutdownSpec",
    "add_launch_parser",
    "bundled_launch_files",
    "cmd_launch",
    "find_launch_file",
    "load_launch_file",
    "run_launch",
]
