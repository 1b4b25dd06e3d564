"""Recorded datasets in LeRobot's format v3.0: recording (`record`), reading (`open_dataset`)
and checking (`check_dataset`) them; docs/datasets.md.

The names load on first use, so that `robot-llm --help` imports neither pyarrow nor PyAV.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from robot_llm.datasets.check import check_dataset
    from robot_llm.datasets.episodes import RecordConfig
    from robot_llm.datasets.format import CODEBASE_VERSION, DatasetError
    from robot_llm.datasets.reader import Dataset, open_dataset
    from robot_llm.datasets.recording import RecordResult, record

_WHERE = {
    "check_dataset": "check",
    "RecordConfig": "episodes",
    "CODEBASE_VERSION": "format",
    "DatasetError": "format",
    "Dataset": "reader",
    "open_dataset": "reader",
    "RecordResult": "recording",
    "record": "recording",
}

__all__ = [
    "CODEBASE_VERSION",
    "Dataset",
    "DatasetError",
    "RecordConfig",
    "RecordResult",
    "check_dataset",
    "open_dataset",
    "record",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'robot_llm.datasets' has no attribute {name!r}")
    return getattr(import_module(f"robot_llm.datasets.{_WHERE[name]}"), name)
