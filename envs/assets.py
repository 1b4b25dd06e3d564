"""Locating data files: URDFs from pybullet_data and this package's `sim_assets`.

Paths are resolved through `importlib.resources`, never relative to a source checkout.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def resolve_asset(ref: str) -> str:
    """Turn "pybullet_data:<path>" or "sim_assets:<path>" (or a plain path) into a file path."""
    scheme, sep, rel = ref.partition(":")
    if sep and scheme == "pybullet_data":
        import pybullet_data

        path = Path(pybullet_data.getDataPath()) / rel
    elif sep and scheme == "sim_assets":
        path = Path(str(resources.files("robot_llm.sim_assets").joinpath(rel)))
    else:
        path = Path(ref)
    if not path.is_file():
        raise FileNotFoundError(f"asset {ref!r} not found at {path}")
    return str(path)
