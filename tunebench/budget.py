"""The compute budget and the ledger that charges it.

The unit is one epoch over the task's training split, counted the same way for every
strategy: a fresh trial that early-stops after 23 epochs costs 23, a continuation from epoch 9
to 27 costs 18. For objectives without epochs, one evaluation costs one unit.

>>> ledger = Ledger(Budget(epochs=50))
>>> ledger.grant(30), ledger.charge(23, granted=30), ledger.epochs_spent
(30, None, 23)
>>> ledger.grant(30)  # only 27 are left: the runner clips the next trial
27
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass
from typing import Any

from .space import plain

__all__ = ["Budget", "Ledger", "budget_changes"]


def _check_limit(name: str, value: Any, whole: bool) -> int | float | None:
    """``value`` as a plain ``int`` (``whole``) or ``float`` > 0, or an error naming it.

    numpy numbers are accepted (``Budget(epochs=np.int64(5))``); ``True`` is not a count.
    """
    if value is None:
        return None
    value = plain(value)
    kind = "whole number" if whole else "number"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Budget {name} must be a positive {kind} or None, got {value!r}")
    if not math.isfinite(value):
        raise TypeError(f"Budget {name} must be a finite positive {kind} or None, got {value!r}")
    if whole and int(value) != value:
        raise TypeError(f"Budget {name} must be a whole number, got {value!r}")
    if value <= 0:
        raise ValueError(f"Budget {name} must be positive, got {value!r}")
    return int(value) if whole else float(value)


@dataclass(frozen=True)
class Budget:
    """How much a study may spend: epochs, trials and/or wall-clock seconds.

    The runner stops on whichever limit is reached first and records why.

    >>> Budget(epochs=300)
    Budget(epochs=300, trials=None, seconds=None)
    >>> Budget()
    Traceback (most recent call last):
    ...
    ValueError: Budget needs at least one limit: epochs=, trials= or seconds=
    """

    epochs: int | None = None
    trials: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        for name, whole in (("epochs", True), ("trials", True), ("seconds", False)):
            object.__setattr__(self, name, _check_limit(name, getattr(self, name), whole))
        if self.epochs is None and self.trials is None and self.seconds is None:
            raise ValueError("Budget needs at least one limit: epochs=, trials= or seconds=")

    def __str__(self) -> str:
        """Only the limits given: ``Budget(epochs=300)``."""
        limits = ", ".join(f"{k}={v:g}" for k, v in self.to_json().items() if v is not None)
        return f"Budget({limits})"

    def to_json(self) -> dict[str, float | None]:
        return {"epochs": self.epochs, "trials": self.trials, "seconds": self.seconds}

    @classmethod
    def from_json(cls, data: dict) -> Budget:
        return cls(
            epochs=data.get("epochs"), trials=data.get("trials"), seconds=data.get("seconds")
        )


def budget_changes(
    stored: Budget, asked: Budget
) -> tuple[dict[str, tuple[float | None, float | None]], dict[str, tuple]]:
    """The limits ``asked`` lowers and those it raises against ``stored``, each as
    ``{limit: (stored, asked)}``; a limit left out (None) is no limit.

    A resumed study may be given a larger budget (an extension), never a smaller one.

    >>> budget_changes(Budget(epochs=300), Budget(epochs=600))
    ({}, {'epochs': (300, 600)})
    >>> budget_changes(Budget(epochs=300), Budget(epochs=300, seconds=60))
    ({'seconds': (None, 60.0)}, {})
    """
    lowered: dict[str, tuple] = {}
    raised: dict[str, tuple] = {}
    for name in ("epochs", "trials", "seconds"):
        before, after = getattr(stored, name), getattr(asked, name)
        old = math.inf if before is None else before
        new = math.inf if after is None else after
        if new < old:
            lowered[name] = (before, after)
        elif new > old:
            raised[name] = (before, after)
    return lowered, raised


class Ledger:
    """What a study has spent of its budget, and what it has reserved for running trials.

    ``grant(n)`` reserves up to ``n`` epochs for a trial about to start (fewer when less is
    left); ``charge(used, granted)`` records what the trial really used and releases the rest.
    A resumed study starts its ledger from what the store says was already spent.
    """

    def __init__(
        self,
        budget: Budget,
        *,
        epochs_spent: int = 0,
        trials_done: int = 0,
        seconds_before: float = 0.0,
    ) -> None:
        self.budget = budget
        self.epochs_spent = int(epochs_spent)
        self.trials_done = int(trials_done)
        self.seconds_before = float(seconds_before)
        self.epochs_reserved = 0
        self.trials_running = 0
        self._started = time.monotonic()

    @property
    def seconds_spent(self) -> float:
        """Wall-clock seconds over every session of the study, this one included."""
        return self.seconds_before + (time.monotonic() - self._started)

    @property
    def epochs_left(self) -> float:
        if self.budget.epochs is None:
            return math.inf
        return self.budget.epochs - self.epochs_spent - self.epochs_reserved

    def stop_reason(self) -> str | None:
        """Why no new trial may start, or None while the budget lasts."""
        if self.budget.epochs is not None and self.epochs_left <= 0:
            return "epochs"
        if (
            self.budget.trials is not None
            and self.trials_done + self.trials_running >= self.budget.trials
        ):
            return "trials"
        if self.budget.seconds is not None and self.seconds_spent >= self.budget.seconds:
            return "seconds"
        return None

    def grant(self, wanted: int) -> int:
        """Reserve epochs for a trial that wants ``wanted``; return how many it may use."""
        granted = int(min(wanted, self.epochs_left))
        if granted <= 0 or self.stop_reason() is not None:
            return 0
        self.epochs_reserved += granted
        self.trials_running += 1
        return granted

    def charge(self, used: int, granted: int | None = None) -> None:
        """Record the epochs a finished trial used; release what it was granted."""
        if granted is not None:
            self.epochs_reserved -= granted
            self.trials_running -= 1
        self.epochs_spent += int(used)
        self.trials_done += 1

    def release(self, granted: int) -> None:
        """Give back a grant whose trial will be run again later (interrupted)."""
        self.epochs_reserved -= granted
        self.trials_running -= 1
