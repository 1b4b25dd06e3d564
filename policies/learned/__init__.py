"""Learned policies with LeRobot's shape: a config with input and output features, normalization
from a dataset's stats, `reset()`, `select_action(observation)` over action chunks, and
checkpoints as safetensors plus JSON (docs/policies.md).

    policy = load_policy("path/to/checkpoint")        # config.json + model.safetensors
    policy.reset()
    action = policy.select_action({"observation.state": state, ...})

torch is imported by the modules here, never by `robot_llm.policies` itself.
"""
