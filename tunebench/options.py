"""Strategy options, declared once: their types and ranges, checked in one place.

A strategy states each keyword option's constraint in ``option_constraints`` (in the spirit
of scikit-learn's ``_parameter_constraints``); ``Strategy`` checks every construction against
it before the strategy's own ``__init__`` runs, converts numpy scalars to plain Python values,
and answers a misspelt option name with the close match and the list of options. Third-party
strategies get the same checks by declaring the same attribute.

>>> check_option("Evolution", "eta", 0, Real(0, inclusive=False))
Traceback (most recent call last):
...
tunebench.options.InvalidOptionError: Evolution option eta must be a number > 0, got 0
>>> check_option("SkoptGP", "liar", "mean", OneOf("min", "mean", "max"))
'mean'
>>> import numpy as np
>>> type(check_option("Hyperband", "factor", np.int64(3), Integer(2))).__name__
'int'
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Constraint",
    "Flag",
    "Integer",
    "InvalidOptionError",
    "OneOf",
    "Real",
    "check_option",
    "unknown_option_message",
]


class InvalidOptionError(ValueError, TypeError):
    """An option of the wrong type or out of range (both a ``ValueError`` and a ``TypeError``,
    as scikit-learn's ``InvalidParameterError`` is)."""


class Constraint:
    """What an option accepts: ``accepts(value)``, ``convert(value)`` and ``describe()``
    (the words after "must be" in the error message)."""

    none_ok: bool = False

    def accepts(self, value: Any) -> bool:
        raise NotImplementedError

    def convert(self, value: Any) -> Any:
        return value

    def describe(self) -> str:
        raise NotImplementedError

    def _or_none(self, text: str) -> str:
        return f"{text} or None" if self.none_ok else text


@dataclass(frozen=True)
class Integer(Constraint):
    """A whole number (Python or numpy, not bool) in ``[low, high]``; ``high=None``: no limit.

    >>> Integer(1).describe(), Integer(0, 10, none_ok=True).describe()
    ('an integer >= 1', 'an integer in [0, 10] or None')
    """

    low: int = 0
    high: int | None = None
    none_ok: bool = False

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            return False
        return value >= self.low and (self.high is None or value <= self.high)

    def convert(self, value: Any) -> int:
        return int(value)

    def describe(self) -> str:
        if self.high is None:
            return self._or_none(f"an integer >= {self.low}")
        return self._or_none(f"an integer in [{self.low}, {self.high}]")


@dataclass(frozen=True)
class Real(Constraint):
    """A finite number (not bool) between ``low`` and ``high``, each bound open or closed.

    >>> Real(0, inclusive=False).describe(), Real(0, 1).describe()
    ('a number > 0', 'a number in [0, 1]')
    """

    low: float = -math.inf
    high: float = math.inf
    inclusive: bool = True
    none_ok: bool = False

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        value = float(value)
        if not math.isfinite(value):
            return False
        if self.inclusive:
            return self.low <= value <= self.high
        return self.low < value < self.high

    def convert(self, value: Any) -> float:
        return float(value)

    def describe(self) -> str:
        if math.isinf(self.high):
            sign = ">=" if self.inclusive else ">"
            return self._or_none(f"a number {sign} {self.low:g}")
        left, right = ("[", "]") if self.inclusive else ("(", ")")
        return self._or_none(f"a number in {left}{self.low:g}, {self.high:g}{right}")


@dataclass(frozen=True)
class Flag(Constraint):
    """``True`` or ``False`` (numpy booleans too)."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool | np.bool_)

    def convert(self, value: Any) -> bool:
        return bool(value)

    def describe(self) -> str:
        return "True or False"


class OneOf(Constraint):
    """One of a fixed set of values (compared with ``==``).

    >>> OneOf("min", "mean").describe()
    "one of ('min', 'mean')"
    """

    def __init__(self, *values: Any, none_ok: bool = False) -> None:
        self.values = values
        self.none_ok = none_ok

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str | int | float) and value in self.values

    def convert(self, value: Any) -> Any:
        return value.item() if isinstance(value, np.generic) else value  # np.str_ -> str

    def describe(self) -> str:
        return self._or_none(f"one of {self.values}")


def check_option(owner: str, name: str, value: Any, constraint: Constraint) -> Any:
    """``value`` as a plain Python value if ``constraint`` accepts it; otherwise raise
    ``InvalidOptionError`` naming ``owner``, the option and the value."""
    if value is None and constraint.none_ok:
        return None
    if not constraint.accepts(value):
        raise InvalidOptionError(
            f"{owner} option {name} must be {constraint.describe()}, got {value!r}"
        )
    return constraint.convert(value)


def unknown_option_message(owner: str, name: str, known: Iterable[str]) -> str:
    """The message for an option ``owner`` does not take, with the closest known name.

    >>> print(unknown_option_message("TPE", "gama", ["n_startup_jobs", "gamma"]))
    TPE has no option 'gama' (did you mean 'gamma'?); its options: n_startup_jobs, gamma
    """
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    listed = ", ".join(known) if known else "none"
    return f"{owner} has no option {name!r}{hint}; its options: {listed}"
