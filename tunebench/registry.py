"""Named plug-ins found through an entry-point group, plus names added at run time: the one
registry behind strategies (``tunebench.strategies``) and benchmark problems
(``tunebench.problems``).

A registry knows three sources of names: the entry points of its group (another installed
package ships its own), ``builtins`` (tunebench's own, as ``"module:attribute"``, so that they
are found even from a source tree whose install metadata is stale), and ``register`` (tests,
notebooks). An unknown name is refused with the valid ones and the closest match.

>>> registry = Registry("tunebench.nothing", "widget", builtins={"plain": "builtins:dict"})
>>> registry.load("plain") is dict, registry.names()
(True, ['plain'])
>>> registry.load("plian")
Traceback (most recent call last):
...
tunebench.registry.UnknownNameError: unknown widget 'plian' (did you mean 'plain'?). Valid names: plain
"""  # noqa: E501

from __future__ import annotations

import difflib
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

__all__ = ["Registry", "UnknownNameError"]


class UnknownNameError(KeyError, ValueError):
    """A name no registry source knows (a ``KeyError`` and a ``ValueError``)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class Registry:
    """The names of one kind of plug-in (``kind``: how messages call it) and where each is."""

    def __init__(self, group: str, kind: str, *, builtins: Mapping[str, str] | None = None) -> None:
        self.group, self.kind = group, kind
        self._builtins = dict(builtins or {})
        self._registered: dict[str, Any] = {}
        self._entry_points: dict[str, EntryPoint] | None = None

    def discovered(self) -> dict[str, EntryPoint]:
        """The entry points of the group and the built-ins, by name (read once)."""
        if self._entry_points is None:
            found = {
                name: EntryPoint(name, value, self.group) for name, value in self._builtins.items()
            }
            for ep in entry_points(group=self.group):
                if ep.name in found and found[ep.name].value != ep.value:
                    raise RuntimeError(
                        f"two installed packages register the {self.kind} {ep.name!r}: "
                        f"{found[ep.name].value} and {ep.value}; uninstall one of them"
                    )
                found[ep.name] = ep
            self._entry_points = found
        return self._entry_points

    def check_free(self, name: str) -> None:
        """Refuse a name that is not a non-empty string or that is already taken."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} name must be a non-empty string, got {name!r}")
        if name in self._registered or name in self.discovered():
            raise ValueError(
                f"a {self.kind} named {name!r} is already registered; pick another name"
            )

    def register(self, name: str, value: Any) -> None:
        """Add ``value`` under ``name`` at run time; a name already taken is refused."""
        self.check_free(name)
        self._registered[name] = value

    def unregister(self, name: str) -> None:
        """Remove a name added with ``register`` (entry points cannot be removed)."""
        self._registered.pop(name, None)

    def names(self) -> list[str]:
        """Every known name, sorted."""
        return sorted({*self.discovered(), *self._registered})

    def unknown_message(self, name: str) -> str:
        """``unknown KIND 'name' (did you mean ...?). Valid names: ...``."""
        valid = self.names()
        close = difflib.get_close_matches(str(name), valid, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown {self.kind} {name!r}{hint}. Valid names: {', '.join(valid)}"

    def entry_point(self, name: str) -> EntryPoint | None:
        """Where ``name`` is declared (None for a name added with ``register``)."""
        return self.discovered().get(name)

    def load(self, name: str) -> Any:
        """The object registered under ``name``; its module is imported only now."""
        if name in self._registered:
            return self._registered[name]
        ep = self.discovered().get(name)
        if ep is None:
            raise UnknownNameError(self.unknown_message(name))
        return ep.load()
