"""Time limits of a running trial: ``tune(trial_timeout=...)`` and ``Budget(seconds=...)``.

The runner gives every trial a ``TrialLimit``: the moment it must stop and why (its own
``trial_timeout``, or the study's time budget running out, whichever comes first). An
executor hands it to the trial through ``running_under``; an objective that trains in epochs
reads ``current_limit()`` and stops between epochs (``KerasObjective`` does). Executors that
can stop a trial from outside (worker processes, Ray) also stop one that overruns its limit.

A limit travels between processes as the seconds it has left, so it keeps its meaning on a
clock that started elsewhere:

>>> import pickle
>>> limit = TrialLimit.within(60, "exceeded trial_timeout=60s")
>>> copy = pickle.loads(pickle.dumps(limit))
>>> 59 < copy.remaining() <= 60, copy.reason, copy.expired()
(True, 'exceeded trial_timeout=60s', False)
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import numbers
import time
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["TrialLimit", "check_trial_timeout", "current_limit", "running_under"]


@dataclass(frozen=True)
class TrialLimit:
    """When a trial must stop (a ``time.monotonic()`` value of this process), and why."""

    deadline: float
    reason: str

    @classmethod
    def within(cls, seconds: float, reason: str) -> TrialLimit:
        """A limit ``seconds`` from now."""
        return cls(time.monotonic() + seconds, reason)

    def remaining(self) -> float:
        """Seconds left (negative once past)."""
        return self.deadline - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0

    def __reduce__(self) -> tuple:
        # Monotonic clocks of two processes (or machines) need not share an origin.
        return (TrialLimit.within, (self.remaining(), self.reason))


_CURRENT: contextvars.ContextVar[TrialLimit | None] = contextvars.ContextVar(
    "tunebench_trial_limit", default=None
)


def current_limit() -> TrialLimit | None:
    """The limit of the trial running in this thread, or None."""
    return _CURRENT.get()


@contextlib.contextmanager
def running_under(limit: TrialLimit | None) -> Iterator[None]:
    """Run a trial under ``limit`` (None: no limit)."""
    token = _CURRENT.set(limit)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def check_trial_timeout(value: float | None) -> float | None:
    """``tune``'s ``trial_timeout``: a positive number of seconds, or None.

    >>> check_trial_timeout(2)
    2.0
    >>> check_trial_timeout(0)
    Traceback (most recent call last):
    ...
    ValueError: trial_timeout must be a positive number of seconds or None, got 0
    """
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(
            f"trial_timeout must be a positive number of seconds or None, got {value!r}"
        )
    return float(value)
