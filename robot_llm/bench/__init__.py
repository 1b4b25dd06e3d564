"""Benchmarks: many seeded task episodes through the whole stack, reported as tables and plots.

    from robot_llm.bench import RunRequest, StackConfig, load_suite, run_suite
    report = run_suite(RunRequest(load_suite("quick"), StackConfig(), Path("out/bench/quick")))

`robot-llm bench` is the command line (robot_llm.bench.cli); docs/bench.md has the suites, the
episode rows, the metrics, the generalization splits and how to run on a Ray cluster.
"""

from robot_llm.bench.episode import EpisodeSpec, run_episode
from robot_llm.bench.metrics import chain_metrics, summarize, wilson
from robot_llm.bench.runner import RunDirError, RunRequest, plan_episodes, run_suite
from robot_llm.bench.splits import SPLITS, Holdout, episode_features, split_of
from robot_llm.bench.suite import Suite, SuiteError, bundled_suites, load_suite, parse_suite
from robot_llm.config import StackConfig
from robot_llm.policies.registry import PolicyError, get_policy, register_policy

__all__ = [
    "SPLITS",
    "EpisodeSpec",
    "Holdout",
    "PolicyError",
    "RunDirError",
    "RunRequest",
    "StackConfig",
    "Suite",
    "SuiteError",
    "bundled_suites",
    "chain_metrics",
    "episode_features",
    "get_policy",
    "load_suite",
    "parse_suite",
    "plan_episodes",
    "register_policy",
    "run_episode",
    "run_suite",
    "split_of",
    "summarize",
    "wilson",
]
