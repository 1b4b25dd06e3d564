"""The distilled student planner: all-MiniLM-L6-v2 with structured heads, grounded by the rules.

    planner = get_planner("learned")    # the student alone (shipped weights in weights/)
    planner = get_planner("distilled")  # the rule planner first, the student where it gives up

The student predicts an intent (act, object references, direction, ...; `schema`), renders it
as the canonical wording the rule planner reads, and lets the rules ground it in the scene, so
its plans pass the same schema and safety gate. Importing this package is cheap: torch and
transformers load when a backend is built. `robot-llm train-planner` trains it (`train`);
docs/distill.md describes the design and its numbers.
"""

from __future__ import annotations

from typing import Any

from robot_llm.planning.base import Planner


def student_planner(**options: Any) -> Planner:
    """The student alone (`weights=DIR`, `threshold=`, `int8=1`, `threads=`)."""
    from robot_llm.planning.student.planner import StudentPlanner

    return StudentPlanner.from_options(**options)


def distilled_planner(**options: Any) -> Planner:
    """The rule planner, and the student for the commands the rules cannot read."""
    from robot_llm.planning.student.planner import DistilledPlanner

    return DistilledPlanner.from_options(**options)


STUDENT_PLANNERS = {"learned": student_planner, "distilled": distilled_planner}

__all__ = ["STUDENT_PLANNERS", "distilled_planner", "student_planner"]
