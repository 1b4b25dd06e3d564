"""The tabletop model every layer shares: object kinds, palette and sizes, geometry and
footprints, predicates, scene specs and files, object state, slots, rotations, the reach box.

Pure Python and numpy: planning, perception, execution and policies import it without loading
the simulator (`robot_llm.envs`) or gymnasium.
"""
