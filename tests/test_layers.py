"""The layers stay apart: the planner, perception, the executor and the skills learn what a bowl is
from `robot_llm.tabletop`, never from the simulator package."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Folders that must not import robot_llm.envs, and the modules allowed to, with why.
APART = (
    "robot_llm/planning",
    "robot_llm/perception",
    "robot_llm/execution",
    "robot_llm/tabletop",
    "robot_llm/cameras",  # real cameras: nothing of the simulator
)
ALLOWED = {
    # Ground-truth perception reads the simulator's poses (tests and ablations only), lazily.
    "robot_llm/perception/truth.py",
}


def envs_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        found += [n for n in names if n == "robot_llm.envs" or n.startswith("robot_llm.envs.")]
    return found


def test_planning_perception_execution_and_tabletop_never_import_the_simulator() -> None:
    offenders = {}
    for folder in APART:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel not in ALLOWED and (hits := envs_imports(path)):
                offenders[rel] = hits
    assert offenders == {}


def test_skills_read_the_tabletop_model_not_the_tasks() -> None:
    """Skills may drive the gym env (the privileged oracle does), but never borrow a task
    family's helpers for what the tabletop model should say."""
    for path in sorted((ROOT / "policies").rglob("*.py")):
        hits = [m for m in envs_imports(path) if m.startswith("robot_llm.envs.tasks")]
        assert hits == [], path.name


def test_importing_the_planner_perception_and_executor_loads_no_simulator() -> None:
    code = (
        "import json, sys\n"
        "import robot_llm.planning, robot_llm.perception, robot_llm.execution\n"
        "import robot_llm.tabletop.scene, robot_llm.tabletop.predicates\n"
        "print(json.dumps(sorted(m for m in ('pybullet', 'gymnasium', 'robot_llm.envs')"
        " if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_the_old_import_names_still_work() -> None:
    """Code written against robot_llm.envs.scene / .predicates / .palette keeps working."""
    from robot_llm.envs import palette, predicates, scene
    from robot_llm.tabletop import palette as palette2
    from robot_llm.tabletop import predicates as predicates2
    from robot_llm.tabletop import scene as scene2

    assert scene is scene2 and predicates is predicates2 and palette is palette2
    assert scene.load_scene is scene2.load_scene


def test_skills_never_import_the_layers_above_them() -> None:
    """Skills sit under the executor: the executor, the planner and the session use them."""
    above = ("robot_llm.execution", "robot_llm.planning", "robot_llm.session", "robot_llm.bench")
    for path in sorted((ROOT / "policies").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [m for m in names if m.startswith(above)], path.name
