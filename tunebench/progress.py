"""A live progress display for a running study (``rich``), or nothing.

Shows the trials finished, the budget spent (epochs when the budget counts epochs) and the
best validation loss so far. ``progress=None`` shows it only when stderr is a terminal.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from .budget import Budget


class NullProgress:
    """The display that shows nothing."""

    def __enter__(self) -> NullProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, *, trials: int, epochs: int, best: float) -> None:
        return None


class StudyProgress(NullProgress):
    """One rich progress bar: trials, epochs of the budget, best loss."""

    def __init__(self, title: str, budget: Budget) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._budget = budget
        if budget.epochs is not None:
            self._total, self._unit = budget.epochs, "epochs"
        elif budget.trials is not None:
            self._total, self._unit = budget.trials, "trials"
        else:
            self._total, self._unit = None, "trials"
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._task: Any = self._progress.add_task(title, total=self._total, status="starting")

    def __enter__(self) -> StudyProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, *, trials: int, epochs: int, best: float) -> None:
        done = epochs if self._unit == "epochs" else trials
        total = "" if self._total is None else f"/{self._total}"
        best_text = f"{best:.4f}" if math.isfinite(best) else "-"
        status = f"{trials} trials · {done}{total} {self._unit} · best {best_text}"
        self._progress.update(self._task, completed=done, status=status)


def make_progress(show: bool | None, title: str, budget: Budget) -> NullProgress:
    """The display ``tune(progress=...)`` asked for; None means: only on a terminal."""
    if show is None:
        show = sys.stderr.isatty()
    return StudyProgress(title, budget) if show else NullProgress()
