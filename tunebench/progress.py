"""Live progress displays (``rich``): one for a running study, one for a whole benchmark.

A study's line shows the trials finished, the budget spent (epochs when the budget counts
epochs), the best validation loss so far and the time elapsed. The benchmark's two lines show
the runs done of the total with the time elapsed and left, then the current strategy and seed,
its trials, its epochs and its best loss. Every line fits the terminal (80 columns at least):
the bar shrinks or goes first, then the least useful fields, never the times. ``None`` shows a
display only when stderr is a terminal. The text comes from pure functions (``study_line``,
``bench_lines``) so that it can be read and tested without a terminal.
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from .budget import Budget

SEPARATOR = " · "


def clock(seconds: float | None) -> str:
    """``m:ss`` under an hour, ``h:mm:ss`` above; ``?`` when unknown.

    >>> clock(83), clock(3725), clock(None)
    ('1:23', '1:02:05', '?')
    """
    if seconds is None or not math.isfinite(seconds):
        return "?"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def count(n: int, noun: str) -> str:
    """``1 trial``, ``2 trials``.

    >>> count(1, "trial"), count(0, "trial"), count(3, "epoch")
    ('1 trial', '0 trials', '3 epochs')
    """
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def loss_text(best: float) -> str:
    """A loss to 4 decimals, or ``-`` when there is none (``inf``)."""
    return f"{best:.4f}" if math.isfinite(best) else "-"


def _bar(fraction: float, width: int) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "━" * filled + "─" * (width - filled)


def fit_line(
    label: str,
    fields: Sequence[str],
    keep: Sequence[str],
    fraction: float | None,
    width: int,
    drop_order: Sequence[int] = (),
) -> str:
    """``label [bar] fields · keep`` in at most ``width`` characters.

    What goes first when space is short: the bar shrinks (to 10 characters, then none), then
    ``fields[i]`` for ``i`` in ``drop_order``, then the label, then the fields are cut from the
    right. ``keep`` (the times) is always shown whole.

    >>> fit_line("s", ["2 trials"], ["elapsed 0:05"], 0.5, 40)
    's ━━━━━━━─────── 2 trials · elapsed 0:05'
    >>> fit_line("a-long-title", ["12 trials", "best 0.3"], ["left 4:00"], None, 24, [0])
    'best 0.3 · left 4:00'
    """
    shown = list(fields)
    dropped: set[int] = set()
    tail = SEPARATOR.join(keep)

    def text(with_label: bool, bar_width: int) -> str:
        body = SEPARATOR.join(
            [f for i, f in enumerate(shown) if i not in dropped] + ([tail] if tail else [])
        )
        head = [label] if with_label and label else []
        if bar_width:
            head.append(_bar(fraction or 0.0, bar_width))
        return " ".join([*head, body])

    if fraction is not None:
        bare = len(text(True, 0))
        room = width - bare - 1
        if room >= 10:
            return text(True, min(room, 30))
    for index in drop_order:
        if len(text(True, 0)) <= width:
            break
        dropped.add(index)
    for with_label in (True, False):
        line = text(with_label, 0)
        if len(line) <= width:
            return line
    # Still too long: cut the fields, keep the times.
    room = max(0, width - len(tail) - len(SEPARATOR) - 1)
    body = SEPARATOR.join(f for i, f in enumerate(shown) if i not in dropped)
    if not tail:
        return body[: width - 1] + "…"
    return (body[:room] + "…" + SEPARATOR + tail) if room else tail[:width]


def study_line(
    title: str,
    *,
    trials: int,
    done: int,
    total: int | None,
    unit: str,
    best: float,
    elapsed: float | None,
    width: int = 80,
) -> str:
    """The study's live line.

    >>> study_line("random-seed0", trials=1, done=7, total=20, unit="epochs", best=1.25,
    ...            elapsed=6.2, width=80)
    'random-seed0 ━━━━━━────────── 1 trial · 7/20 epochs · best 1.2500 · elapsed 0:06'
    """
    fields = [count(trials, "trial")]
    if unit == "epochs":
        fields.append(f"{done}/{total} epochs" if total is not None else count(done, "epoch"))
    elif total is not None:
        fields[0] = f"{trials}/{total} trials"
    fields.append(f"best {loss_text(best)}")
    fraction = None if not total else done / total
    drop = [0] if unit == "epochs" else []  # the trial count, when epochs measure progress
    return fit_line(title, fields, [f"elapsed {clock(elapsed)}"], fraction, width, drop)


def bench_lines(
    *,
    runs_done: int,
    runs: int,
    current: str,
    trials: int,
    epochs: int,
    epochs_per_run: int,
    best: float,
    elapsed: float | None,
    left: float | None,
    width: int = 80,
) -> tuple[str, str]:
    """The benchmark's two live lines: the whole benchmark, then the current run.

    >>> top, run = bench_lines(runs_done=3, runs=24, current="optuna-tpe seed 2", trials=136,
    ...                        epochs=150, epochs_per_run=300, best=0.30123, elapsed=83,
    ...                        left=240, width=80)
    >>> print(top); print(run)
    runs 3/24 ━━━━────────────────────────── elapsed 1:23 · left about 4:00
      optuna-tpe seed 2 · 136 trials · 150/300 epochs · best 0.3012
    """
    total = runs * epochs_per_run
    done = runs_done * epochs_per_run + min(epochs, epochs_per_run)
    times = [f"elapsed {clock(elapsed)}", f"left about {clock(left)}" if left else "left ?"]
    top = fit_line(f"runs {runs_done}/{runs}", [], times, done / total if total else 0.0, width)
    fields = [
        current,
        count(trials, "trial"),
        f"{min(epochs, epochs_per_run)}/{epochs_per_run} epochs",
        f"best {loss_text(best)}",
    ]
    run = fit_line("", fields, [], None, width - 2, [1, 0]) if current else ""
    return top, ("  " + run if run else "")


def _progress(render: Callable[[Any, int], str]) -> Any:
    """A rich ``Progress`` whose one column is ``render(task, width)``, one line a task."""
    from rich.console import Console
    from rich.progress import Progress, ProgressColumn
    from rich.text import Text

    console = Console(stderr=True)

    class LineColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            width = max(20, console.width - 1)
            return Text(render(task, width), no_wrap=True, overflow="crop")

    return Progress(LineColumn(), console=console, transient=False)


class NullProgress:
    """The display that shows nothing."""

    def __enter__(self) -> NullProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, *, trials: int, epochs: int, best: float) -> None:
        return None


class StudyProgress(NullProgress):
    """One live line: title, bar, trials, epochs of the budget, best loss, time elapsed."""

    def __init__(self, title: str, budget: Budget) -> None:
        self._title = title
        if budget.epochs is not None:
            self._total, self._unit = budget.epochs, "epochs"
        elif budget.trials is not None:
            self._total, self._unit = budget.trials, "trials"
        else:
            self._total, self._unit = None, "trials"
        self._state = {"trials": 0, "done": 0, "best": math.inf}
        self._progress = _progress(self._render)
        self._task: Any = self._progress.add_task(title, total=self._total)

    def _render(self, task: Any, width: int) -> str:
        return study_line(
            self._title,
            trials=int(self._state["trials"]),
            done=int(self._state["done"]),
            total=self._total,
            unit=self._unit,
            best=float(self._state["best"]),
            elapsed=task.elapsed,
            width=width,
        )

    def __enter__(self) -> StudyProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, *, trials: int, epochs: int, best: float) -> None:
        done = epochs if self._unit == "epochs" else trials
        self._state = {"trials": trials, "done": done, "best": best}
        self._progress.update(self._task, completed=done)


def make_progress(show: bool | None, title: str, budget: Budget) -> NullProgress:
    """The display ``tune(progress=...)`` asked for; None means: only on a terminal."""
    if show is None:
        show = sys.stderr.isatty()
    return StudyProgress(title, budget) if show else NullProgress()


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
    """Two live lines: the whole benchmark (runs done, time elapsed and left), the current run.

    ``update`` may be called from another thread (the benchmark watches the store).
    """

    def __init__(self, runs: int, epochs_per_run: int, runs_done: int = 0) -> None:
        super().__init__(runs, epochs_per_run, runs_done)
        self._lock = threading.RLock()
        self._current = ""
        self._run = {"trials": 0, "epochs": 0, "best": math.inf}
        self._progress = _progress(self._render)
        # The first row carries the timing (rich's elapsed time and speed-based estimate of
        # the time left, over epochs); the second the current run's figures.
        self._task: Any = self._progress.add_task(
            "benchmark",
            total=runs * epochs_per_run,
            completed=runs_done * epochs_per_run,
            row="top",
        )
        self._progress.add_task("run", total=None, row="run")

    def _lines(self, task: Any, width: int) -> tuple[str, str]:
        with self._lock:
            return bench_lines(
                runs_done=self.runs_done,
                runs=self.runs,
                current=self._current,
                trials=int(self._run["trials"]),
                epochs=int(self._run["epochs"]),
                epochs_per_run=self.epochs_per_run,
                best=float(self._run["best"]),
                elapsed=task.elapsed,
                left=task.time_remaining,
                width=width,
            )

    def _render(self, task: Any, width: int) -> str:
        # The timing lives on the first row.
        top_task = next(t for t in self._progress.tasks if t.id == self._task)
        top, run = self._lines(top_task, width)
        return top if task.fields.get("row") == "top" else run

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
            self._run = {"trials": trials, "epochs": epochs, "best": best}
            completed = self.runs_done * self.epochs_per_run + min(epochs, self.epochs_per_run)
            self._progress.update(self._task, completed=completed)

    def end_run(self) -> None:
        with self._lock:
            self.runs_done += 1
            self._progress.update(self._task, completed=self.runs_done * self.epochs_per_run)


def make_bench_progress(
    show: bool | None, runs: int, epochs_per_run: int, runs_done: int = 0
) -> NullBenchProgress:
    """The benchmark display asked for; None means: only on a terminal."""
    if show is None:
        show = sys.stderr.isatty()
    cls = BenchProgress if show else NullBenchProgress
    return cls(runs, epochs_per_run, runs_done)
