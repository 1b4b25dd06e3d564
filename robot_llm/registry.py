"""One pattern for everything chosen by name: planners, policies, drivers, recognizers, tasks and
robots.

A `Registry` maps names to entries (a factory, a class, a description). It is a read-only
mapping, so `registry[name]`, `name in registry` and iteration work as on a dict; `find(name)`
is the lookup for names a user typed: an unknown name raises the registry's `InputError`
subclass with one line that lists the known names. Two optional sources of entries:

- `import_paths`: a name of the form `package.module:attribute` is imported (how worker
  processes and Ray workers find a policy nobody registered in their process);
- `entry_points`: an entry point group, so an installed package adds entries by name (how a
  real arm's driver ships).

`register_path(name, "package.module:attribute")` adds an entry that is imported only when it
is found, for entries whose modules are heavy (a simulator's driver).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from importlib.metadata import entry_points as installed_entry_points
from typing import Generic, TypeVar

from robot_llm.errors import InputError

T = TypeVar("T")


def import_path(target: str) -> object:
    """The object `package.module:attribute.path` names; ImportError or AttributeError."""
    module, _, attr = target.partition(":")
    obj: object = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


class Registry(Mapping[str, T], Generic[T]):
    """Entries of one kind by name; see the module docstring."""

    def __init__(
        self,
        kind: str,
        error: type[InputError] = InputError,
        *,
        import_paths: bool = False,
        entry_points: str | None = None,
    ) -> None:
        self.kind = kind
        self.error = error
        self.import_paths = import_paths
        self.entry_points = entry_points
        self._entries: dict[str, T] = {}
        self._paths: dict[str, str] = {}

    def register(self, name: str, entry: T, *, replace_existing: bool = False) -> T:
        """Add `entry` as `name` (letters, digits, '-' and '_'); the entry, so this works as a
        decorator's last step."""
        if not name or not name.replace("-", "").replace("_", "").isalnum():
            raise self.error(f"{self.kind} name {name!r} must be letters, digits, '-' or '_'")
        if name in self._entries and not replace_existing:
            raise self.error(f"a {self.kind} named {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> None:
        """Remove a registered entry (a plugin unloading, a test cleaning up); absent is fine."""
        self._entries.pop(name, None)
        self._paths.pop(name, None)

    def register_path(self, name: str, target: str) -> None:
        """Add an entry by import path, imported when it is first found."""
        if name in self._entries or name in self._paths:
            raise self.error(f"a {self.kind} named {name!r} is already registered")
        self._paths[name] = target

    def names(self) -> tuple[str, ...]:
        """Registered names in the order they were registered, then installed ones, sorted."""
        return tuple(dict.fromkeys([*self._entries, *self._paths, *sorted(self._installed())]))

    def find(self, name: str) -> T:
        """The entry a user named: registered, installed, or (with import paths) imported."""
        if name in self._entries:
            return self._entries[name]
        target = self._installed().get(name) or self._paths.get(name)
        if target is None and self.import_paths and ":" in name:
            target = name
        if target is None:
            known = ", ".join(self.names()) or "none"
            paths = " (or give package.module:function)" if self.import_paths else ""
            raise self.error(f"unknown {self.kind} {name!r}; known: {known}{paths}")
        try:
            entry = import_path(target)
        except (ImportError, AttributeError) as err:
            raise self.error(f"{self.kind} {name!r} cannot be imported: {err}") from None
        if not callable(entry):
            raise self.error(f"{self.kind} {name!r} ({target}) is not callable")
        return entry  # type: ignore[return-value]  # an imported factory, checked callable

    def _installed(self) -> dict[str, str]:
        if self.entry_points is None:
            return {}
        return {ep.name: ep.value for ep in installed_entry_points(group=self.entry_points)}

    # -- Mapping: the registered entries ---------------------------------------------------------
    def __getitem__(self, name: str) -> T:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
