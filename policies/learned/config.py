"""A learned policy's configuration: what it reads, what it writes, and how it is shaped.

The fields follow LeRobot's policy configs: `input_features` and `output_features` map a
dataset key ("observation.state", "observation.environment_state", "action") to its type and
shape; `normalization_mapping` says how each type is normalized with the dataset's stats;
`chunk_size` actions are predicted at once and the first `n_action_steps` of them are executed
before the policy looks again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Final

from robot_llm.errors import InputError

FEATURE_TYPES: Final = ("STATE", "ENV", "VISUAL", "ACTION")
NORMALIZATIONS: Final = ("MEAN_STD", "MIN_MAX", "IDENTITY")


class PolicyConfigError(InputError):
    """A policy config that cannot be used; the message names the field."""


@dataclass(frozen=True)
class PolicyFeature:
    type: str  # one of FEATURE_TYPES
    shape: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.type not in FEATURE_TYPES:
            raise PolicyConfigError(f"feature type {self.type!r} is not one of {FEATURE_TYPES}")
        if not self.shape or any(not isinstance(n, int) or n < 1 for n in self.shape):
            raise PolicyConfigError(f"feature shape {self.shape!r} must be positive integers")

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass(frozen=True)
class PolicyConfig:
    """A chunking policy over flat features (state, object poses)."""

    input_features: dict[str, PolicyFeature]
    output_features: dict[str, PolicyFeature]
    type: str = "chunking_mlp"
    chunk_size: int = 10
    n_action_steps: int = 5
    hidden: tuple[int, ...] = (256, 256)
    dropout: float = 0.0
    normalization_mapping: dict[str, str] = field(
        default_factory=lambda: {"STATE": "MEAN_STD", "ENV": "MEAN_STD", "ACTION": "MEAN_STD"}
    )
    skill: str = ""  # the plan skill this policy performs ("pick", "place", "push"), if one
    extra: dict[str, Any] = field(default_factory=dict)  # training provenance, free form

    def __post_init__(self) -> None:
        if not self.input_features:
            raise PolicyConfigError("input_features is empty")
        actions = [k for k, f in self.output_features.items() if f.type == "ACTION"]
        if actions != ["action"]:
            raise PolicyConfigError("output_features must be exactly one ACTION named 'action'")
        if not 1 <= self.n_action_steps <= self.chunk_size:
            raise PolicyConfigError(
                f"n_action_steps {self.n_action_steps} must be within 1..chunk_size "
                f"{self.chunk_size}"
            )
        for kind, mode in self.normalization_mapping.items():
            if kind not in FEATURE_TYPES or mode not in NORMALIZATIONS:
                raise PolicyConfigError(f"normalization_mapping {kind}: {mode} is not known")

    @property
    def action_size(self) -> int:
        return self.output_features["action"].size

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("input_features", "output_features"):
            out[key] = {
                k: {"type": f.type, "shape": list(f.shape)} for k, f in getattr(self, key).items()
            }
        out["hidden"] = list(self.hidden)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "config") -> PolicyConfig:
        if not isinstance(data, dict):
            raise PolicyConfigError(f"{where}: a policy config is a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise PolicyConfigError(f"{where}: unknown field {unknown[0]!r}")
        try:
            args = dict(data)
            for key in ("input_features", "output_features"):
                args[key] = {
                    k: PolicyFeature(str(v["type"]), tuple(int(n) for n in v["shape"]))
                    for k, v in data[key].items()
                }
            if "hidden" in args:
                args["hidden"] = tuple(int(n) for n in args["hidden"])
            return cls(**args)
        except PolicyConfigError as err:
            raise PolicyConfigError(f"{where}: {err}") from None
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise PolicyConfigError(f"{where}: malformed policy config ({err})") from None
