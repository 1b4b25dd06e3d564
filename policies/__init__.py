"""Skills: controllers that turn one subgoal into robot commands (installs as robot_llm.policies).

- `base`: the skill interface (generators of EECommand / JointCommand / HoldCommand).
- `scripted`: one scripted skill per plan-schema skill, `SKILLS` and `make_skill(name)`.
- `motion`, `scene_geometry`, `placement`, `manipulation`: what the scripted skills are made of.
- `runner`: `run_skill`, the executor-free control loop for tests and benchmarks.
- `oracle`: a privileged expert for the gymnasium tasks (reads simulator truth).
"""
