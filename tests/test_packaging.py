"""Packaging: the wheel maps envs/ and policies/ under robot_llm and ships data files."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = out.glob("robot_llm-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def test_wheel_maps_envs_and_policies_under_robot_llm(wheel_names: set[str]) -> None:
    assert "robot_llm/envs/world.py" in wheel_names
    assert "robot_llm/envs/tasks/base.py" in wheel_names
    assert "robot_llm/policies/oracle.py" in wheel_names
    top_level = {name.split("/")[0] for name in wheel_names}
    assert not top_level & {"envs", "policies", "sim_assets", "launch", "tests"}


def test_wheel_holds_every_subpackage_of_the_tree(wheel_names: set[str]) -> None:
    for init in [
        *ROOT.glob("robot_llm/**/__init__.py"),
        *ROOT.glob("envs/**/__init__.py"),
        *ROOT.glob("policies/**/__init__.py"),
    ]:
        rel = init.relative_to(ROOT).as_posix()
        if not rel.startswith("robot_llm/"):
            rel = f"robot_llm/{rel}"
        assert rel in wheel_names, f"{rel} is missing from the wheel: list it in pyproject.toml"


def test_wheel_ships_scene_files(wheel_names: set[str]) -> None:
    assert "robot_llm/sim_assets/scenes/blocks_and_bowls.yaml" in wheel_names


def test_data_is_found_through_importlib_resources() -> None:
    scenes = resources.files("robot_llm.sim_assets").joinpath("scenes")
    assert scenes.joinpath("stacked.yaml").is_file()
    assert resources.files("robot_llm.launch").is_dir()


def test_envs_import_as_robot_llm_envs_only() -> None:
    import robot_llm.envs

    assert Path(robot_llm.envs.__file__).parent == ROOT / "envs"
    code = "import importlib.util as u; print(u.find_spec('envs'), u.find_spec('policies'))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd="/", timeout=60
    )
    assert out.stdout.strip() == "None None"
