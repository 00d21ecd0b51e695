"""Live progress displays (``rich``): one for a running study, one for a whole benchmark.

A study's display shows the trials finished, the budget spent (epochs when the budget counts
epochs) and the best validation loss so far. The benchmark's shows the runs done of the total,
the current strategy and seed, the epochs it has spent and its best loss, and an estimate of
the time left. ``None`` shows a display only when stderr is a terminal.
"""

from __future__ import annotations

import math
import sys
import threading
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


def _best_text(best: float) -> str:
    return f"{best:.4f}" if math.isfinite(best) else "-"


class NullBenchProgress:
    """The benchmark display that shows no bar; ``log`` lines still go to stderr.

    >>> with NullBenchProgress(runs=2, epochs_per_run=10) as display:
    ...     display.start_run("random", 0)
    ...     display.update(trials=1, epochs=10, best=0.5)
    ...     display.end_run()
    """

    def __init__(self, runs: int, epochs_per_run: int, runs_done: int = 0) -> None:
        self.runs = runs
        self.epochs_per_run = epochs_per_run
        self.runs_done = runs_done

    def __enter__(self) -> NullBenchProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def log(self, line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    def start_run(self, strategy: str, seed: int) -> None:
        return None

    def update(self, *, trials: int, epochs: int, best: float) -> None:
        return None

    def end_run(self) -> None:
        self.runs_done += 1


class BenchProgress(NullBenchProgress):
    """One rich bar over every epoch of the benchmark: runs done, current run, time left.

    ``update`` may be called from another thread (the benchmark watches the store).
    """

    def __init__(self, runs: int, epochs_per_run: int, runs_done: int = 0) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        super().__init__(runs, epochs_per_run, runs_done)
        self._lock = threading.RLock()
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._task: Any = self._progress.add_task(
            self._description(),
            total=runs * epochs_per_run,
            completed=runs_done * epochs_per_run,
            status="starting",
        )
        self._current = ""

    def _description(self) -> str:
        return f"runs {self.runs_done}/{self.runs}"

    def __enter__(self) -> BenchProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def log(self, line: str) -> None:
        self._progress.console.print(line, highlight=False, markup=False, soft_wrap=True)

    def start_run(self, strategy: str, seed: int) -> None:
        with self._lock:
            self._current = f"{strategy} seed {seed}"
            self.update(trials=0, epochs=0, best=math.inf)

    def update(self, *, trials: int, epochs: int, best: float) -> None:
        with self._lock:
            status = (
                f"{self._current} · {trials} trials · {epochs}/{self.epochs_per_run} epochs"
                f" · best {_best_text(best)}"
            )
            completed = self.runs_done * self.epochs_per_run + min(epochs, self.epochs_per_run)
            self._progress.update(
                self._task, completed=completed, status=status, description=self._description()
            )

    def end_run(self) -> None:
        with self._lock:
            self.runs_done += 1
            self._progress.update(
                self._task,
                completed=self.runs_done * self.epochs_per_run,
                description=self._description(),
            )


def make_bench_progress(
    show: bool | None, runs: int, epochs_per_run: int, runs_done: int = 0
) -> NullBenchProgress:
    """The benchmark display asked for; None means: only on a terminal."""
    if show is None:
        show = sys.stderr.isatty()
    cls = BenchProgress if show else NullBenchProgress
    return cls(runs, epochs_per_run, runs_done)
