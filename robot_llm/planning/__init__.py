"""Planning: a command and the perceived scene to a Plan, a Clarify question or a Refuse.

    from robot_llm.planning import History, get_planner, plan_command
    planner = get_planner("rule")
    history = History()
    result = plan_command(planner, "put the red block in the green bowl", scene, history)

Backends register by name (`register_planner`); `rule` is the default. `transformers`, `openai`
and `hybrid` are language-model backends (`robot_llm.planning.llm`, docs/llm-planners.md),
built lazily. Every result passes the `SafetyGate` inside `plan_command`. `evaluate_suite`
measures a backend on the labelled suite. See docs/commands.md for what the rule planner
understands.
"""

from robot_llm.planning.base import (
    History,
    Planner,
    PlannerError,
    Turn,
    get_planner,
    plan_command,
    planner_names,
    register_planner,
    replan_function,
)
from robot_llm.planning.llm import LLM_PLANNERS
from robot_llm.planning.rules import RulePlanner
from robot_llm.planning.safety import Limits, PolicyError, Rule, SafetyGate, SafetyPolicy
from robot_llm.planning.student import STUDENT_PLANNERS
from robot_llm.planning.suite_eval import SuiteReport, evaluate_suite

register_planner("rule", RulePlanner, replace_existing=True)
for _name, _factory in LLM_PLANNERS.items():  # built lazily: no torch until one is used
    register_planner(_name, _factory, replace_existing=True)
for _name, _factory in STUDENT_PLANNERS.items():  # the distilled student; torch when built
    register_planner(_name, _factory, replace_existing=True)

DEFAULT_PLANNER = "rule"

__all__ = [
    "DEFAULT_PLANNER",
    "History",
    "Limits",
    "Planner",
    "PlannerError",
    "PolicyError",
    "Rule",
    "RulePlanner",
    "SafetyGate",
    "SafetyPolicy",
    "SuiteReport",
    "Turn",
    "evaluate_suite",
    "get_planner",
    "plan_command",
    "planner_names",
    "register_planner",
    "replan_function",
]
