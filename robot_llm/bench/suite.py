"""Benchmark suites: YAML files naming task families, episodes, seeds, splits and options.

    name: quick
    description: a few minutes on a laptop
    seed: 0            # first seed (default 0)
    episodes: 3        # per task entry, and per split of an entry (default 10)
    videos: 2          # failure videos per family (default 2)
    holdout: {colors: [pink], sizes: [small], block_counts: [5], templates: [-1]}
    options: {max_steps: 400, skill_timeout: 30, max_retries: 2, max_replans: 3}
    tasks:
      - PickPlace                      # a family name alone, or a mapping:
      - {task: Chain, episodes: 1, splits: [seen, paraphrase], name: chain-short, options: {}}

Entries inherit `seed`, `episodes`, `holdout` and `options` from the top level. Every error is
one `SuiteError` line naming the file, the line and the field. docs/bench.md documents the keys.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from robot_llm.bench.nodes import Reader, SuiteError
from robot_llm.bench.splits import SPLITS, Holdout

TOP_KEYS = ("name", "description", "seed", "episodes", "videos", "holdout", "options", "tasks")
ENTRY_KEYS = ("task", "name", "seed", "episodes", "splits", "holdout", "options")
HOLDOUT_KEYS = ("colors", "sizes", "block_counts", "templates")
OPTION_KEYS = ("max_steps", "skill_timeout", "max_retries", "max_replans")
DEFAULT_EPISODES = 10
DEFAULT_VIDEOS = 2


@dataclass(frozen=True)
class Options:
    """Executor settings for a suite's episodes; None keeps the executor's default.

    max_steps: control periods an episode may command before it is cut off ("truncated").
    skill_timeout: seconds of robot time one skill run may take. max_retries, max_replans: the
    executor's retry and replan budgets.
    """

    max_steps: int | None = None
    skill_timeout: float | None = None
    max_retries: int | None = None
    max_replans: int | None = None


@dataclass(frozen=True)
class Entry:
    """One task entry: a family, its seeds (per split) and options."""

    name: str
    family: str
    episodes: int
    seed: int
    splits: tuple[str, ...] = ("all",)
    holdout: Holdout = field(default_factory=Holdout)
    options: Options = field(default_factory=Options)


@dataclass(frozen=True)
class Suite:
    name: str
    entries: tuple[Entry, ...]
    description: str = ""
    videos: int = DEFAULT_VIDEOS
    source: str = ""

    def with_overrides(self, episodes: int | None = None, seed: int | None = None) -> Suite:
        """The suite with every entry's episode count and/or first seed replaced."""
        entries = tuple(
            dataclasses.replace(
                e,
                episodes=e.episodes if episodes is None else episodes,
                seed=e.seed if seed is None else seed,
            )
            for e in self.entries
        )
        return dataclasses.replace(self, entries=entries)

    def to_dict(self) -> dict[str, Any]:
        """Everything that decides which episodes run and how (not where the file was)."""
        out = dataclasses.asdict(self)
        out.pop("source")
        return out


def bundled_suites() -> dict[str, Path]:
    folder = resources.files("robot_llm.bench").joinpath("suites")
    return {Path(f.name).stem: Path(str(f)) for f in folder.iterdir() if f.name.endswith(".yaml")}


def find_suite(target: str) -> Path:
    """A suite file by path, or a bundled suite by name (`quick`, `standard.yaml`)."""
    path = Path(target)
    if path.is_file():
        return path
    bundled = bundled_suites()
    name = target.removesuffix(".yaml")
    if name in bundled:
        return bundled[name]
    known = ", ".join(sorted(bundled))
    raise SuiteError(f"unknown suite {target!r}: not a file, and not a bundled suite ({known})")


def load_suite(target: str) -> Suite:
    path = find_suite(target)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SuiteError(f"{path}: cannot read: {err}") from None
    return parse_suite(text, str(path))


def parse_suite(text: str, source: str = "<suite>") -> Suite:
    """Parse and check a suite's YAML text; `source` names it in errors."""
    from robot_llm.envs.tasks import TASKS
    from robot_llm.tabletop.palette import COLORS, SIZES

    r = Reader(source)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f"{mark.line + 1}:" if mark is not None else ""
        problem = " ".join(str(getattr(err, "problem", "") or err).split())
        raise SuiteError(f"{source}:{line} not valid YAML: {problem}") from None
    if root is None:
        raise SuiteError(f"{source}:1: top level: the file is empty")
    top = r.mapping(root, "", TOP_KEYS)
    if "tasks" not in top:
        raise r.error(root, "tasks", "missing: list the task families to run")
    name = r.text(top["name"], "name") if "name" in top else Path(source).stem
    seed = r.integer(top["seed"], "seed") if "seed" in top else 0
    episodes = r.integer(top["episodes"], "episodes", 1) if "episodes" in top else DEFAULT_EPISODES
    holdout = _holdout(r, top.get("holdout"), "holdout", Holdout(), COLORS, SIZES)
    options = _options(r, top.get("options"), "options", Options())
    entries: list[Entry] = []
    items = r.sequence(top["tasks"], "tasks")
    if not items:
        raise r.error(top["tasks"], "tasks", "the list is empty")
    for i, item in enumerate(items):
        where = f"tasks[{i}]"
        fields: dict[str, yaml.Node]
        if isinstance(item, yaml.ScalarNode):
            fields = {"task": item}
        else:
            fields = r.mapping(item, where, ENTRY_KEYS)
            if "task" not in fields:
                raise r.error(item, f"{where}.task", "missing: name a task family")
        family = _family(r, fields["task"], f"{where}.task")
        entry = Entry(
            name=r.text(fields["name"], f"{where}.name") if "name" in fields else family,
            family=family,
            episodes=(
                r.integer(fields["episodes"], f"{where}.episodes", 1)
                if "episodes" in fields
                else episodes
            ),
            seed=r.integer(fields["seed"], f"{where}.seed") if "seed" in fields else seed,
            splits=(
                r.choices(fields["splits"], f"{where}.splits", SPLITS)
                if "splits" in fields
                else ("all",)
            ),
            holdout=_holdout(r, fields.get("holdout"), f"{where}.holdout", holdout, COLORS, SIZES),
            options=_options(r, fields.get("options"), f"{where}.options", options),
        )
        if any(e.name == entry.name for e in entries):
            node = fields.get("name", fields["task"])
            raise r.error(node, f"{where}.name", f"{entry.name!r} is used twice: give a name:")
        if len(set(entry.splits)) != len(entry.splits) or not entry.splits:
            raise r.error(fields.get("splits"), f"{where}.splits", "empty or repeated split")
        if "all" in entry.splits and len(entry.splits) > 1:
            raise r.error(fields.get("splits"), f"{where}.splits", "all goes alone")
        if any(s != "all" for s in entry.splits) and entry.holdout.empty:
            raise r.error(fields.get("splits"), f"{where}.splits", "splits need a holdout")
        n_templates = len(TASKS[family].templates)
        if any(not -n_templates <= t < n_templates for t in entry.holdout.templates):
            held = fields.get("holdout") or top.get("holdout")
            problem = f"a template index is out of range: {family} has {n_templates} templates"
            raise r.error(held, f"{where}.holdout.templates", problem)
        entries.append(entry)
    videos = r.integer(top["videos"], "videos") if "videos" in top else DEFAULT_VIDEOS
    description = r.text(top["description"], "description") if "description" in top else ""
    return Suite(name, tuple(entries), description, videos, source)


def _family(r: Reader, node: yaml.Node, where: str) -> str:
    from robot_llm.envs.tasks import TASKS

    value = r.text(node, where)
    name = value.split("/")[-1].removesuffix("-v0")
    if name not in TASKS:
        raise r.error(node, where, f"unknown task {value!r}; known: {', '.join(TASKS)}")
    return name


def _holdout(
    r: Reader,
    node: yaml.Node | None,
    where: str,
    base: Holdout,
    colors: tuple[str, ...],
    sizes: tuple[str, ...],
) -> Holdout:
    if node is None:
        return base
    fields = r.mapping(node, where, HOLDOUT_KEYS)
    out = base
    if "colors" in fields:
        out = dataclasses.replace(
            out, colors=r.choices(fields["colors"], f"{where}.colors", colors)
        )
    if "sizes" in fields:
        out = dataclasses.replace(out, sizes=r.choices(fields["sizes"], f"{where}.sizes", sizes))
    for key in ("block_counts", "templates"):
        if key in fields:
            items = r.sequence(fields[key], f"{where}.{key}")
            minimum = 0 if key == "block_counts" else None
            values = tuple(
                r.integer(n, f"{where}.{key}[{i}]", minimum) for i, n in enumerate(items)
            )
            changes: dict[str, Any] = {key: values}
            out = dataclasses.replace(out, **changes)
    return out


def _options(r: Reader, node: yaml.Node | None, where: str, base: Options) -> Options:
    if node is None:
        return base
    fields = r.mapping(node, where, OPTION_KEYS)
    changes: dict[str, Any] = {}
    for key, value in fields.items():
        if key == "skill_timeout":
            changes[key] = r.number(value, f"{where}.{key}")
        else:
            changes[key] = r.integer(value, f"{where}.{key}", 1 if key == "max_steps" else 0)
    return dataclasses.replace(base, **changes)
