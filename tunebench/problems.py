"""Benchmark problems: what ``run_benchmark`` tunes, and the registry that finds them by name.

A ``Problem`` is a name, a ``Space``, a factory that makes a fresh objective for each run (a
module-level function, so that it pickles for worker processes and Ray), the external results
the report shows beside the strategies' (``Reference``) and how the report names the loss.
The factory takes any of the protocol settings it needs as keyword arguments — ``subsample``,
``max_epochs``, ``patience`` (``tunebench bench --subsample/--max-epochs/--patience``) — and
gets its own defaults for the ones not given.

Problems are found like strategies: through the entry-point group ``tunebench.problems``
(tunebench's own suite — ``tunebench.suite`` and ``tunebench.synthetic`` — is declared in its
``pyproject.toml``; another package can ship a suite), by ``register``, or by an import path
``"package.module:attribute"`` naming a ``Problem`` of the user's own.

>>> from tunebench import Float, FunctionObjective, Space
>>> def make_objective(max_epochs=20):
...     return FunctionObjective(lambda x, epochs: (x - 0.3) ** 2 + 1 / epochs,
...                              max_epochs=max_epochs)
>>> problem = Problem("parabola", Space(x=Float(0, 1)), make_objective)
>>> problem.settings({"max_epochs": None, "patience": 5})
({'max_epochs': 20}, ['patience'])
>>> problem.checked_objective({"max_epochs": 5}).max_epochs
5
>>> get_problem("california_housng")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
tunebench.problems.UnknownProblemError: unknown problem 'california_housng' (did you mean 'california_housing'?). Valid names: branin, breast_cancer, california_housing, ...
"""  # noqa: E501

from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .registry import Registry, UnknownNameError
from .signature import parameters
from .space import Space

__all__ = [
    "BOOK_PROBLEM",
    "SETTINGS",
    "Problem",
    "ProblemError",
    "Reference",
    "UnknownProblemError",
    "available_problems",
    "get_problem",
    "register",
    "unregister",
]

ENTRY_POINT_GROUP = "tunebench.problems"
#: The protocol settings a problem's factory may take (``tunebench bench`` flags of the same
#: names); each factory gets only those it names, with its own defaults for the others.
SETTINGS = ("subsample", "max_epochs", "patience")
#: The book's problem: what ``tunebench bench`` runs when no problem is named.
BOOK_PROBLEM = "california_housing"
_NAME = re.compile(r"[A-Za-z0-9_.-]+")


class ProblemError(ValueError):
    """A problem cannot be run: its factory raised, or its objective refuses its space."""


class UnknownProblemError(UnknownNameError):
    """A problem name that is not registered."""


@dataclass(frozen=True)
class Reference:
    """An external result shown beside the strategies' in the report (not run here): its
    validation (or cross-validated) and test loss."""

    name: str
    validation: float | None = None
    test: float | None = None


@dataclass(frozen=True)
class Problem:
    """One benchmark problem.

    Args:
        name: its name in study names, folders and the report (letters, digits, ``_.-``).
        space: the search space (a ``Space``, or a dict for ``Space.from_dict``).
        make_objective: returns a fresh objective each call; takes any of ``SETTINGS`` it
            needs as keywords. A module-level function, so that it pickles.
        references: external results for the report (e.g. the book's own search).
        loss_name: the loss as the report names it (``"MSE"``).
        loss_description: what the loss measures, its units, that lower is better (and
            what any ``metrics`` are, which way is better).
        metrics: the names of test-split metrics its objective reports
            (``Result.metrics``, e.g. ``("accuracy",)``): the report shows each incumbent's.
        budget_epochs: the epoch budget of one run of this problem in the suite protocol when
            the caller gives none (None: the benchmark's default); enough for every strategy
            to get well past its random start-up trials.
    """

    name: str
    space: Space
    make_objective: Callable[..., Any]
    references: tuple[Reference, ...] = ()
    loss_name: str = "loss"
    loss_description: str = "the objective's validation loss (lower is better)"
    metrics: tuple[str, ...] = ()
    budget_epochs: int | None = None
    settings_taken: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ValueError(
                f"a problem name must be letters, digits, '_', '.' or '-', got {self.name!r}"
            )
        if isinstance(self.space, Mapping) and not isinstance(self.space, Space):
            object.__setattr__(self, "space", Space.from_dict(self.space))
        if not isinstance(self.space, Space):
            raise TypeError(
                f"problem {self.name!r}: space must be a tunebench Space, got "
                f"{type(self.space).__name__}"
            )
        if not callable(self.make_objective):
            raise TypeError(
                f"problem {self.name!r}: make_objective must be a callable returning an "
                f"objective, got {self.make_objective!r}"
            )
        references = tuple(self.references)
        for reference in references:
            if not isinstance(reference, Reference):
                raise TypeError(
                    f"problem {self.name!r}: references must be tunebench.problems.Reference "
                    f"objects, got {reference!r}"
                )
        object.__setattr__(self, "references", references)
        metrics = (self.metrics,) if isinstance(self.metrics, str) else tuple(self.metrics)
        if not all(isinstance(m, str) and m.isidentifier() for m in metrics):
            raise ValueError(
                f"problem {self.name!r}: metrics must be names (identifiers) of the test "
                f"metrics its objective reports, e.g. ('accuracy',), got {self.metrics!r}"
            )
        object.__setattr__(self, "metrics", metrics)
        budget = self.budget_epochs
        if budget is not None and (
            isinstance(budget, bool) or not isinstance(budget, int) or budget < 1
        ):
            raise ValueError(
                f"problem {self.name!r}: budget_epochs must be a positive integer or None, "
                f"got {budget!r}"
            )
        taken = parameters(self.make_objective)
        any_keyword = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in taken.values())
        names = tuple(s for s in SETTINGS if any_keyword or s in taken)
        object.__setattr__(self, "settings_taken", names)

    def settings(self, given: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """The keywords the factory will get — the given (non-None) settings it takes, and
        its defaults for the others it names — and the given settings it does not take."""
        taken = parameters(self.make_objective)
        values: dict[str, Any] = {}
        for name in self.settings_taken:
            if given.get(name) is not None:
                values[name] = given[name]
            elif name in taken and taken[name].default is not inspect.Parameter.empty:
                values[name] = taken[name].default
        unused = [n for n, v in given.items() if v is not None and n not in self.settings_taken]
        return values, unused

    def checked_objective(self, settings: Mapping[str, Any]) -> Any:
        """A fresh objective, checked against the space (``check_space``); any failure is a
        ``ProblemError`` naming this problem."""
        try:
            objective = self.make_objective(**settings)
        except Exception as exc:
            raise ProblemError(
                f"problem {self.name!r}: its make_objective({_call_text(settings)}) raised "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if not callable(getattr(objective, "evaluate", None)):
            raise ProblemError(
                f"problem {self.name!r}: make_objective returned {type(objective).__name__}, "
                "not an objective (anything with evaluate(suggestion) and max_epochs, e.g. "
                "tunebench.FunctionObjective or KerasObjective)"
            )
        check_space = getattr(objective, "check_space", None)
        if callable(check_space):
            try:
                check_space(self.space)
            except Exception as exc:
                raise ProblemError(f"problem {self.name!r}: {exc}") from exc
        return objective

    def report_notes(self) -> dict[str, Any]:
        """What the report says of this problem, as plain JSON values (kept in the store);
        ``metrics`` only when it has some."""
        notes: dict[str, Any] = {
            "loss_name": self.loss_name,
            "loss_description": self.loss_description,
            "references": [
                {"name": r.name, "validation": r.validation, "test": r.test}
                for r in self.references
            ],
        }
        if self.metrics:
            notes["metrics"] = list(self.metrics)
        return notes


def _call_text(settings: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in settings.items())


#: tunebench's own problems (also declared in its ``pyproject.toml``), by module.
_BUILTINS = {
    "tunebench.suite": (BOOK_PROBLEM, "diabetes", "digits", "breast_cancer", "friedman1"),
    "tunebench.synthetic": ("branin", "hartmann6"),
}
_registry = Registry(
    ENTRY_POINT_GROUP,
    "problem",
    builtins={name: f"{module}:{name}" for module, names in _BUILTINS.items() for name in names},
)


def register(problem: Problem) -> None:
    """Add a problem at run time under its name (tests, notebooks); names already taken are
    refused."""
    if not isinstance(problem, Problem):
        raise TypeError(f"register needs a tunebench.problems.Problem, got {problem!r}")
    _registry.register(problem.name, problem)


def unregister(name: str) -> None:
    """Remove a problem added with ``register``."""
    _registry.unregister(name)


def available_problems() -> list[str]:
    """Names of every registered problem, sorted.

    >>> "california_housing" in available_problems()
    True
    """
    return _registry.names()


def get_problem(spec: Problem | str) -> Problem:
    """A problem: itself, a registered name, or an import path ``"package.module:attribute"``
    (the current folder is importable, as for ``python -m``)."""
    if isinstance(spec, Problem):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(
            f"a problem is a tunebench.problems.Problem, a registered name or "
            f"'package.module:attribute', got {spec!r}"
        )
    spec = spec.strip()
    if ":" in spec:
        return _import_problem(spec)
    try:
        problem = _registry.load(spec)
    except UnknownNameError as exc:
        raise UnknownProblemError(
            f"{exc}; or give a problem of your own as 'package.module:attribute'"
        ) from None
    if not isinstance(problem, Problem):
        where = _registry.entry_point(spec)
        raise TypeError(
            f"the problem entry point {spec!r} ({where.value if where else '?'}) is "
            f"{type(problem).__name__}, not a tunebench.problems.Problem"
        )
    if problem.name != spec:
        raise ValueError(
            f"the problem entry point {spec!r} holds a problem named {problem.name!r}; "
            "the two names must be the same"
        )
    return problem


def _import_problem(path: str) -> Problem:
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"a problem path is 'package.module:attribute', got {path!r}")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(
            f"cannot import the module {module_name!r} of the problem {path!r}: {exc} "
            "(run from the folder holding it, or add that folder to PYTHONPATH)"
        ) from exc
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            found = [n for n, v in vars(module).items() if isinstance(v, Problem)]
            raise ValueError(
                f"the module {module_name!r} has no attribute {attribute!r} for the problem "
                f"{path!r}; its problems: {', '.join(found) or 'none'}"
            )
        target = getattr(target, part)
    if not isinstance(target, Problem):
        raise ValueError(
            f"{path!r} is a {type(target).__name__}, not a tunebench.problems.Problem; "
            "define it as Problem(name, space, make_objective, ...)"
        )
    return target


def check_problems(problems: Problem | str | Iterable[Problem | str] | None) -> list[Problem]:
    """The problems of a benchmark (a comma-separated string, a list, or None for the book's
    problem), each found (``get_problem``), their names distinct."""
    if problems is None:
        return [get_problem(BOOK_PROBLEM)]
    if isinstance(problems, (str, Problem)):
        specs: Sequence[Problem | str] = (
            [p for p in problems.split(",") if p.strip()]
            if isinstance(problems, str)
            else [problems]
        )
    else:
        specs = list(problems)
    if not specs:
        raise ValueError(
            "problems is empty; name at least one (e.g. california_housing) or pass None"
        )
    found = [get_problem(spec) for spec in specs]
    names = [p.name for p in found]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"problems must have distinct names, {', '.join(repeated)} repeats")
    return found
