"""Discover a define-by-run space: call the user's code with values forced, see what it asks.

Keras Tuner's ``build_model(hp)`` and Optuna's ``objective(trial)`` declare their parameters
as they run, and which ones they declare may depend on the values they got (a layer's units
only when there are that many layers). ``explore`` calls such code several times with chosen
values and records, in order, the parameters each call asked for; ``infer_space`` turns those
records into a ``Space`` whose conditions reproduce them.

The rule (what is found, and its limits):

- The first call gets every parameter's default (its low end, its first option, or the
  code's own default). Then, for each parameter in the order first seen, calls force each of
  its other probe values, keeping the values that made it appear: every value of a ``Choice``
  or ``Int`` with at most ``PROBE_ALL`` values, otherwise its two ends and its middle. Each
  parameter is probed once, in the first call where it appears.
- A parameter's condition is inferred as "active when P takes these values" for the nearest
  earlier ``Int`` / ``Choice`` P whose values, over every call, switch it exactly; a declared
  condition (keras-tuner's ``conditional_scope``) is taken as written instead.
- Not found: a parameter asked only under a combination of two parameters that do not
  depend on each other, or only for values between the probes; a condition on a ``Float``.
  Such a parameter met at trial time fails that trial with a message saying so.

>>> def code(forced):  # n layers; units_i asked for each layer after the first
...     n = forced.get("n", 1)
...     asked = [("n", Int(1, 3), n)]
...     for i in range(2, n + 1):
...         asked.append((f"units_{i}", Int(8, 64), forced.get(f"units_{i}", 8)))
...     return asked, []
>>> infer_space(explore(code))  # doctest: +NORMALIZE_WHITESPACE
Space(n=Int(low=1, high=3, log=False),
      units_2=Int(low=8, high=64, log=False, when={'n': [2, 3]}),
      units_3=Int(low=8, high=64, log=False, when={'n': [3]}))
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .space import Choice, Float, Int, Param, PlainValue, Space

__all__ = ["Exploration", "explore", "infer_space"]

#: A parameter with at most this many values is probed at every value.
PROBE_ALL = 8
#: Calls after which exploration gives up (a space too large to explore by probing).
MAX_CALLS = 300

#: One parameter a call asked for: its name, its definition (without condition), its value,
#: and optionally the condition the code declared for it.
Asked = tuple  # (name, Param, value) or (name, Param, value, {parent: values})


@dataclass
class Exploration:
    """What the calls asked: each parameter's definition (in the order first seen), its
    declared condition if any, and the values each call used (its active parameters)."""

    definitions: dict[str, Param] = field(default_factory=dict)
    declared: dict[str, dict[str, list[PlainValue]]] = field(default_factory=dict)
    calls: list[dict[str, PlainValue]] = field(default_factory=list)


def probe_values(param: Param) -> list[PlainValue]:
    """The values a parameter is tried at: all of a small discrete one, else ends and middle.

    >>> probe_values(Int(1, 3)), probe_values(Int(1, 99)), probe_values(Float(0.0, 1.0))
    ([1, 2, 3], [1, 50, 99], [0.0, 0.5, 1.0])
    """
    values = getattr(param, "values", None)
    if values is not None and len(values) <= PROBE_ALL:
        return list(values)
    probes = [param.from_unit(0.0), param.from_unit(0.5), param.from_unit(1.0)]
    return list(dict.fromkeys(probes))


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _record(found: Exploration, asked: Asked, what: str) -> None:
    name, param = asked[0], asked[1]
    known = found.definitions.get(name)
    if known is None:
        found.definitions[name] = param
    elif known != param:
        raise ValueError(
            f"{what} defines {name!r} in two ways: {known!r} and {param!r}; give one "
            "definition a name (or rename one of them)"
        )
    declared = asked[3] if len(asked) > 3 else None
    if declared:
        before = found.declared.get(name)
        if before is None:
            found.declared[name] = {p: list(v) for p, v in declared.items()}
        elif before.keys() == declared.keys() and len(before) == 1:
            (parent,) = before
            for value in declared[parent]:  # the same name under several values: their union
                if not any(_same(value, v) for v in before[parent]):
                    before[parent].append(value)
        elif before != declared:
            raise ValueError(
                f"{what} declares {name!r} under two conditions, {before} and {declared}; "
                "tunebench gives each parameter one condition: use two names"
            )


def explore(
    run: Callable[[dict[str, Any]], tuple[list[Asked], list[dict[str, Any]]]],
    what: str = "the code",
) -> Exploration:
    """Call ``run(forced)`` until every parameter has been probed (the module's rule).

    ``run`` calls the user's code with the ``forced`` values (a parameter not forced gets its
    default) and returns what it asked, in order, and contexts worth trying (keras-tuner's
    never-active conditional scopes).
    """
    found = Exploration()
    queue: deque[dict[str, Any]] = deque([{}])
    tried: list[dict[str, Any]] = []
    probed: set[str] = set()
    while queue:
        forced = queue.popleft()
        if any(forced == before for before in tried):
            continue
        if len(tried) >= MAX_CALLS:
            raise ValueError(
                f"exploring {what} took more than {MAX_CALLS} calls; give the space "
                "explicitly (space=...)"
            )
        tried.append(forced)
        asked, hints = run(forced)
        values: dict[str, PlainValue] = {}
        for item in asked:
            _record(found, item, what)
            values[item[0]] = item[2]
        found.calls.append(values)
        for item in asked:
            name = item[0]
            if name in probed:
                continue
            probed.add(name)
            for value in probe_values(found.definitions[name]):
                if not _same(value, values[name]):
                    queue.append({**forced, name: value})
        queue.extend({**forced, **hint} for hint in hints)
    return found


def _switches(found: Exploration, child: str, parent: str) -> list[PlainValue] | None:
    """The values of ``parent`` under which ``child`` was asked, when they switch it exactly."""
    with_child = [call for call in found.calls if child in call]
    if any(parent not in call for call in with_child):
        return None
    values: list[PlainValue] = []
    for call in with_child:
        if not any(_same(call[parent], v) for v in values):
            values.append(call[parent])
    for call in found.calls:
        if parent in call and (child in call) != any(_same(call[parent], v) for v in values):
            return None
    return values


def infer_space(found: Exploration, what: str = "the code") -> Space:
    """The ``Space`` of an exploration: its definitions, with the conditions the calls show
    (or the code declared), checked against every call."""
    names = list(found.definitions)
    params: dict[str, Param] = {}
    for position, name in enumerate(names):
        param = found.definitions[name]
        when: Mapping[str, Any] | None = found.declared.get(name)
        if when is None and any(name not in call for call in found.calls):
            for parent in reversed(names[:position]):
                if isinstance(found.definitions[parent], Float):
                    continue
                values = _switches(found, name, parent)
                if values is not None:
                    when = {parent: values}
                    break
            else:
                raise ValueError(
                    f"{what} asks for {name!r} only in some calls, and no single earlier "
                    "integer or categorical parameter decides when; give the space explicitly "
                    "(space=...) with a condition, when={...}"
                )
        params[name] = dataclasses.replace(param, when=when or {})
    space = Space(params)
    for call in found.calls:
        for name in names:
            active = all(
                parent in call and any(_same(call[parent], v) for v in values)
                for parent, values in space[name].when
            )
            if active != (name in call):
                raise ValueError(
                    f"{what} asked for {name!r} {'without' if active else 'with'} its "
                    f"condition {dict(space[name].when)} holding (values {call}); give the "
                    "space explicitly (space=...)"
                )
    return space


def choice_or_int(values: list[PlainValue]) -> Param:
    """A parameter over a list of values: ``Int`` when they are consecutive integers."""
    if len(values) >= 2 and all(type(v) is int for v in values):
        ints = sorted(values)  # type: ignore[type-var]
        if ints == list(range(ints[0], ints[-1] + 1)):  # type: ignore[operator]
            return Int(ints[0], ints[-1])  # type: ignore[arg-type]
    return Choice(values)
