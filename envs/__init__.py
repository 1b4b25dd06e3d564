"""The simulated tabletop world and its gymnasium task suite.

Importing this package registers every id in ENV_IDS with gymnasium:

    import gymnasium as gym
    import robot_llm.envs
    env = gym.make("robot_llm/PickPlace-v0", render_mode="rgb_array")
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

from robot_llm.envs.tasks import TASKS

ENTRY_POINT = "robot_llm.envs.tabletop_env:TabletopEnv"


def env_id(task: str) -> str:
    return f"robot_llm/{task}-v0"


ENV_IDS: tuple[str, ...] = tuple(env_id(name) for name in TASKS)

for _name, _cls in TASKS.items():
    if env_id(_name) not in registry:
        register(
            id=env_id(_name),
            entry_point=ENTRY_POINT,
            kwargs={"task": _name},
            max_episode_steps=_cls.max_episode_steps,
        )

__all__ = ["ENV_IDS", "env_id"]
