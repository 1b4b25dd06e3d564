"""Language-model planner backends: the same protocol, plan schema and safety gate as `rule`.

    planner = get_planner("transformers", model="path/to/model-or.gguf")  # a local LLM or VLM
    planner = get_planner("openai", base_url="http://127.0.0.1:8080/v1", model="name")
    planner = get_planner("hybrid")  # the rule planner, and the model where the rules give up

Importing this package is cheap: the factories import torch, transformers or the HTTP client
only when a backend is built. Options come as keyword arguments or ROBOT_LLM_* environment
variables (docs/llm-planners.md). `robot-llm eval-planner` measures a backend on the suite.
"""

from __future__ import annotations

from typing import Any

from robot_llm.planning.base import Planner


def transformers_planner(**options: Any) -> Planner:
    """A local Hugging Face chat LLM or VLM (`model=PATH`, a folder or a GGUF file)."""
    from robot_llm.planning.llm.local import TransformersPlanner

    return TransformersPlanner.from_options(**options)


def openai_planner(**options: Any) -> Planner:
    """Any OpenAI-compatible chat-completions endpoint (`base_url=`, `model=`)."""
    from robot_llm.planning.llm.remote import OpenAIPlanner

    return OpenAIPlanner.from_options(**options)


def hybrid_planner(**options: Any) -> Planner:
    """The rule planner first, a language model (`llm=transformers|openai`) where it gives up."""
    from robot_llm.planning.llm.hybrid import HybridPlanner

    return HybridPlanner.from_options(**options)


LLM_PLANNERS = {
    "transformers": transformers_planner,
    "openai": openai_planner,
    "hybrid": hybrid_planner,
}

__all__ = ["LLM_PLANNERS", "hybrid_planner", "openai_planner", "transformers_planner"]
