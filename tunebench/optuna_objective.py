"""Optuna code as it is: ``OptunaObjective(objective)``.

An Optuna objective, ``def objective(trial): x = trial.suggest_float(...); ...; return loss``,
is searched by any tunebench strategy. Its space is defined by running, so it is discovered
by running it: ``OptunaObjective`` calls the objective with a recording trial that answers
each ``suggest_*`` with a chosen value and notes its distribution, several times with values
forced, until every parameter has been probed (``tunebench.explore``: the rule, and what it
cannot find). Parameters suggested only in some branches get a condition (``when``).

Cost: each exploration call runs the whole objective, training included -- one call, plus
one for each other probe value of each parameter (all values of a categorical or integer with
at most 8, else its two ends and middle; a float's two ends and middle). The exploration's
results are not kept as trials. To skip it, pass the space yourself: ``space=Space(...)``.

At trial time the objective gets a trial that replays the suggestion's values: each
``suggest_*`` returns its parameter's value, after checking it asks for a parameter of the
space, active at these values, with the distribution it had. ``trial.report`` keeps the
values and, under a pruner (``tune(pruner=...)``, ``asha``, ``bohb``), hands each to it
(the k-th report as epoch k); ``trial.should_prune()`` says what it decided;
``trial.set_user_attr`` and ``trial.number`` work; anything else raises an error naming it.

Mapping: ``suggest_float(low, high, log=)`` → ``Float``; with ``step``, a ``Choice`` of its
values; ``suggest_int(low, high, step=, log=)`` → ``Int``;
``suggest_categorical(choices)`` → ``Choice``. ``direction="maximize"`` (an accuracy) is
minimised as its negative.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from .explore import explore, infer_space
from .objective import _loss_of, callable_identity, describe_error
from .pruning import current_pruner, pruned_loss
from .space import Choice, Float, Int, Param, Space, plain
from .strategy import Result, Suggestion

__all__ = ["OptunaObjective", "optuna_space"]

_DIRECTIONS = ("minimize", "maximize")


def _float_param(low: float, high: float, step: float | None, log: bool) -> Param:
    if step is None and low < high:
        return Float(low, high, log=log)
    step = step or 1.0
    count = math.floor((high - low) / step + 1e-9) + 1
    return Choice([float(f"{low + i * step:.12g}") for i in range(count)])


def _int_param(low: int, high: int, step: int, log: bool) -> Param:
    if step == 1:
        return Int(low, high, log=log)
    return Int(low, low + (high - low) // step * step, step=step)


class _Trial:
    """The part of ``optuna.trial.Trial`` an objective uses: ``suggest_*``, ``report``,
    ``should_prune``, ``set_user_attr``, ``number``, ``params``, ``user_attrs``."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.params: dict[str, Any] = {}
        self.user_attrs: dict[str, Any] = {}
        self.reported: dict[int, float] = {}
        self._asked_as: dict[str, Param] = {}

    def _value(self, name: str, param: Param) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _ask(self, name: str, param: Param) -> Any:
        if name in self.params:  # asked again in one call: the same value, as optuna does
            if self._asked_as[name] != param:
                raise ValueError(
                    f"the objective suggested {name!r} as {self._asked_as[name]!r} and then "
                    f"as {param!r}; suggest each name with one distribution"
                )
            return self.params[name]
        value = self._value(name, param)
        self.params[name] = value
        self._asked_as[name] = param
        return value

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        return self._ask(name, _float_param(float(low), float(high), step, log))

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int:
        return self._ask(name, _int_param(int(low), int(high), int(step), log))

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        return self._ask(name, Choice(list(choices)))

    def suggest_uniform(self, name: str, low: float, high: float) -> float:
        return self.suggest_float(name, low, high)

    def suggest_loguniform(self, name: str, low: float, high: float) -> float:
        return self.suggest_float(name, low, high, log=True)

    def suggest_discrete_uniform(self, name: str, low: float, high: float, q: float) -> float:
        return self.suggest_float(name, low, high, step=q)

    def report(self, value: float, step: int) -> None:
        self.reported[int(step)] = float(value)

    def should_prune(self) -> bool:
        return False

    def set_user_attr(self, key: str, value: Any) -> None:
        self.user_attrs[key] = value

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"tunebench's Optuna trial has no {name!r}: it offers suggest_float, suggest_int, "
            "suggest_categorical, report, should_prune, set_user_attr, number, params and "
            "user_attrs"
        )


class _RecordingTrial(_Trial):
    """Answers with the forced value, else the parameter's low end or first option."""

    def __init__(self, forced: dict[str, Any]) -> None:
        super().__init__(number=-1)
        self.forced = forced
        self.asked: list[tuple[str, Param, Any]] = []

    def _value(self, name: str, param: Param) -> Any:
        value = self.forced[name] if name in self.forced else param.from_unit(0.0)
        if not param.contains(value):  # forced for another definition of the name
            value = param.from_unit(0.0)
        self.asked.append((name, param, value))
        return value


class _ReplayTrial(_Trial):
    """Answers with the suggestion's values, refusing what the space does not hold."""

    def __init__(self, number: int, params: dict[str, Any], space: Space, sign: float) -> None:
        super().__init__(number)
        self.given = params
        self.space = space
        self.sign = sign  # -1 for direction="maximize": tunebench minimises
        self.curve: list[float] = []  # the reports as tunebench's losses, in order
        self.pruner = current_pruner()
        self.prune = False

    def report(self, value: float, step: int) -> None:
        """Keep the value; the k-th report is the trial's epoch k for tunebench's pruner,
        whatever its step (optuna's steps may start at 0 or skip)."""
        if int(step) in self.reported:
            return  # optuna ignores a step reported twice
        super().report(value, step)
        loss = self.sign * float(value)
        self.curve.append(loss)
        if self.pruner is not None and self.pruner.should_prune(len(self.curve), loss):
            self.prune = True

    def should_prune(self) -> bool:
        """Whether tunebench's pruner (``tune(pruner=...)``, ``asha``, ``bohb``) stops this
        trial after its last report; raise ``optuna.TrialPruned()`` when it does."""
        return self.prune

    def _value(self, name: str, param: Param) -> Any:
        if name not in self.space:
            raise ValueError(
                f"the objective suggested {name!r}, which exploring it did not find (it is "
                f"not in the space {list(self.space)}); pass the space to "
                "OptunaObjective(objective, space=...)"
            )
        known = self.space[name]
        if param != _unconditional(known):
            raise ValueError(
                f"the objective suggested {name!r} as {param!r}, where it was "
                f"{_unconditional(known)!r}; suggest each name with one distribution"
            )
        if name not in self.given:
            raise ValueError(
                f"the objective suggested {name!r} with {self.params}, where its condition "
                f"{dict(known.when)} leaves it inactive; pass the space to "
                "OptunaObjective(objective, space=...)"
            )
        return self.given[name]


def _unconditional(param: Param) -> Param:
    import dataclasses

    return dataclasses.replace(param, when={})


def optuna_space(objective: Callable[[Any], Any]) -> Space:
    """The space an Optuna objective suggests from, found by running it (module docstring).

    >>> def objective(trial):
    ...     kind = trial.suggest_categorical("kind", ["svc", "forest"])
    ...     if kind == "svc":
    ...         return trial.suggest_float("c", 1e-3, 1e3, log=True)
    ...     return trial.suggest_int("depth", 2, 8)
    >>> optuna_space(objective)  # doctest: +NORMALIZE_WHITESPACE
    Space(kind=Choice(options=('svc', 'forest')),
          c=Float(low=0.001, high=1000.0, log=True, when={'kind': ['svc']}),
          depth=Int(low=2, high=8, log=False, when={'kind': ['forest']}))
    """
    what = f"the Optuna objective {getattr(objective, '__qualname__', objective)!r}"

    def run(forced: dict[str, Any]) -> tuple[list[tuple], list]:
        trial = _RecordingTrial(forced)
        try:
            objective(trial)
        except Exception as exc:  # what was suggested before it raised still counts
            if not trial.asked:
                raise ValueError(
                    f"{what} raised before suggesting anything while its space was explored: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
        return trial.asked, []

    return infer_space(explore(run, what), what)


class OptunaObjective:
    """An Optuna ``objective(trial)`` as a tunebench objective (one call: one unit of budget).

    ``space`` (explored from the objective unless given) is what ``tune`` searches when its
    ``space`` argument is left out. ``direction="maximize"`` minimises the negative.

    >>> objective = OptunaObjective(lambda trial: (trial.suggest_float("x", -10, 10) - 2) ** 2)
    >>> objective.space, objective.evaluate(Suggestion(id=0, params={"x": 4.0})).loss
    (Space(x=Float(low=-10.0, high=10.0, log=False)), 4.0)
    """

    max_epochs = None
    #: ``trial.report`` feeds tunebench's pruner and ``trial.should_prune()`` reads it.
    reports_intermediate = True

    def __init__(
        self,
        objective: Callable[[Any], Any],
        *,
        space: Space | None = None,
        direction: str = "minimize",
    ) -> None:
        if not callable(objective):
            raise TypeError(f"OptunaObjective needs a function objective(trial), got {objective!r}")
        if direction not in _DIRECTIONS:
            raise ValueError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
        self.objective = objective
        self.direction = direction
        self.space = optuna_space(objective) if space is None else Space.from_dict(space)

    def evaluate(self, suggestion: Suggestion, state: dict[str, Any] | None = None) -> Result:
        start = time.perf_counter()
        sign = -1.0 if self.direction == "maximize" else 1.0
        trial = _ReplayTrial(suggestion.id, dict(suggestion.params), self.space, sign)
        try:
            value = self.objective(trial)
        except Exception as exc:
            if type(exc).__name__ == "TrialPruned" and trial.curve:
                return Result(
                    loss=pruned_loss(trial.curve),
                    status="pruned",
                    seconds=time.perf_counter() - start,
                    curve=tuple(trial.curve),
                )
            return Result.failure(describe_error(exc), seconds=time.perf_counter() - start)
        seconds = time.perf_counter() - start
        try:
            loss = sign * _loss_of(plain(value))
        except TypeError as exc:
            return Result.failure(f"TypeError: {exc}", seconds=seconds, epochs_run=1)
        return Result(loss=loss, seconds=seconds, curve=tuple(trial.curve))

    def describe(self) -> dict[str, Any]:
        return {
            "type": "optuna",
            **callable_identity(self.objective, "fn"),
            "direction": self.direction,
            "max_epochs": None,
        }
