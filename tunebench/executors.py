"""Where trials run: an executor takes trials from the runner and hands back their results.

The runner owns the loop; an executor only runs what it is given. Its interface:

- ``capacity``: how many trials may run at once;
- ``running``: how many are submitted and not yet collected;
- ``submit(objective, suggestion, state)``: start one trial;
- ``wait()``: block until at least one trial is finished, return the finished
  ``(suggestion, result)`` pairs;
- ``close()``: stop everything still running.

>>> pool = make_executor("inline")
>>> pool.capacity
1
"""

from __future__ import annotations

import dataclasses
import os
import socket
from typing import Any, Protocol

from .objective import Objective, describe_error
from .strategy import Result, Suggestion

__all__ = ["EXECUTORS", "Executor", "InlineExecutor", "evaluate_safely", "make_executor"]

#: The executor names ``tune(executor=...)`` accepts.
EXECUTORS = ("inline",)


class Executor(Protocol):
    capacity: int

    @property
    def running(self) -> int: ...

    def submit(
        self, objective: Objective, suggestion: Suggestion, state: dict[str, Any] | None
    ) -> None: ...

    def wait(self) -> list[tuple[Suggestion, Result]]: ...

    def close(self) -> None: ...


def worker_name() -> str:
    """``host:pid`` of the process running a trial (stored with every trial)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def evaluate_safely(
    objective: Objective, suggestion: Suggestion, state: dict[str, Any] | None
) -> Result:
    """Run one trial; an exception in user code becomes a ``failed`` result."""
    try:
        result = objective.evaluate(suggestion, state)
        if not isinstance(result, Result):
            raise TypeError(f"{type(objective).__name__}.evaluate must return a Result")
    except Exception as exc:
        result = Result.failure(describe_error(exc))
    if result.worker is None:
        result = dataclasses.replace(result, worker=worker_name())
    return result


class InlineExecutor:
    """Runs each trial in the calling process, one at a time."""

    capacity = 1

    def __init__(self) -> None:
        self._finished: list[tuple[Suggestion, Result]] = []

    @property
    def running(self) -> int:
        return len(self._finished)

    def submit(
        self, objective: Objective, suggestion: Suggestion, state: dict[str, Any] | None
    ) -> None:
        self._finished.append((suggestion, evaluate_safely(objective, suggestion, state)))

    def wait(self) -> list[tuple[Suggestion, Result]]:
        finished, self._finished = self._finished, []
        return finished

    def close(self) -> None:
        self._finished.clear()


def make_executor(
    name: str = "inline", *, workers: int | None = None, address: str | None = None
) -> Executor:
    """The executor called ``name``; see ``tune`` for ``workers`` and ``address``."""
    if name == "inline":
        if workers not in (None, 1):
            raise ValueError(
                f"executor='inline' runs one trial at a time, got workers={workers!r}; "
                "use executor='processes' (or 'ray') for parallel trials"
            )
        return InlineExecutor()
    raise ValueError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")
