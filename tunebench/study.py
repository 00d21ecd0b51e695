"""What a search produced: the ``Study`` that holds its ``Trial`` records.

>>> study = Study(name="s", strategy="random", seed=0, trials=[
...     Trial(id=0, params={"x": 0.5}, status="ok", loss=0.2, epochs_run=3),
...     Trial(id=1, params={"x": 0.1}, status="failed", loss=float("inf"), epochs_run=0)])
>>> study.best_params, study.best_loss, study.epochs_spent
({'x': 0.5}, 0.2, 3)
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .budget import Budget
from .progress import count
from .space import Space
from .trial import Trial, trial_row

__all__ = ["Study", "Trial"]


@dataclass
class Study:
    """The trials of one search and how it ended.

    ``stop_reason`` says what ended the search: a limit of the budget (``epochs``,
    ``trials``, ``seconds``), ``strategy_done`` (e.g. a finished grid), ``strategy_idle`` (the
    strategy had nothing to propose), ``failures`` (25 trials in a row failed or diverged:
    ``summary()`` and ``common_failure()`` name the most common error), ``interrupted``;
    None while it has not ended (or when its process was killed).
    """

    name: str
    strategy: str
    seed: int | None
    trials: list[Trial]
    space: Space | None = None
    budget: Budget | None = None
    stop_reason: str | None = None
    seconds: float = 0.0
    options: dict[str, Any] = field(default_factory=dict)
    objective: dict[str, Any] = field(default_factory=dict)

    @property
    def finished_trials(self) -> list[Trial]:
        return [t for t in self.trials if t.is_finished]

    @property
    def best_trial(self) -> Trial | None:
        """The finished ``ok`` trial with the lowest validation loss (ties: the earliest)."""
        ok = [t for t in self.trials if t.status == "ok" and math.isfinite(t.loss)]
        return min(ok, key=lambda t: (t.loss, t.id)) if ok else None

    @property
    def best_params(self) -> dict[str, Any] | None:
        best = self.best_trial
        return None if best is None else dict(best.params)

    @property
    def best_loss(self) -> float:
        best = self.best_trial
        return math.inf if best is None else best.loss

    @property
    def epochs_spent(self) -> int:
        """Epochs charged to the budget: the sum over finished trials of the epochs they ran."""
        return sum(t.epochs_run for t in self.finished_trials)

    def common_failure(self) -> tuple[str, int, int] | None:
        """The most common error among failed and diverged trials (its first line), how many
        trials had it and how many failed or diverged in all; None when none did.

        >>> study = Study(name="s", strategy="random", seed=0, trials=[
        ...     Trial(id=i, params={}, status="failed", error=f"{e}\\n  traceback...")
        ...     for i, e in enumerate(["OSError: no GPU", "ValueError: x", "OSError: no GPU"])])
        >>> study.common_failure()
        ('OSError: no GPU', 2, 3)
        """
        errors = [
            t.error.splitlines()[0] if t.error else "diverged: the loss became NaN or infinite"
            for t in self.trials
            if t.status in ("failed", "diverged")
        ]
        if not errors:
            return None
        message, times = Counter(errors).most_common(1)[0]
        return message, times, len(errors)

    def to_dataframe(self) -> Any:
        """One row a trial (``trial.SHOWN_COLUMNS``); parameters as ``param_<name>`` columns,
        test metrics (``Result.metrics``) as ``metric_<name>`` columns (pandas)."""
        import pandas as pd

        return pd.DataFrame([trial_row(t) for t in self.trials])

    def summary(self, *, errors_hint: str = "study.to_dataframe()['error'] has them") -> str:
        """A few lines for the console: budget spent, why it stopped, the best trial.

        ``errors_hint`` says where to read the errors of failed trials (the CLI names its
        ``tunebench show`` command there).
        """
        lines = [
            f"study {self.name!r} ({self.strategy}, seed {self.seed}): "
            f"{count(len(self.finished_trials), 'trial')}, "
            f"{count(self.epochs_spent, 'epoch')}, {self.seconds:.1f} s; "
            f"stopped: {_stop_text(self.stop_reason)}"
        ]
        pruned = [t for t in self.trials if t.status == "pruned"]
        if pruned:
            spent = sum(t.epochs_run for t in pruned)
            lines.append(f"{count(len(pruned), 'trial')} pruned, charged {count(spent, 'epoch')}")
        best = self.best_trial
        if best is None:
            lines.append("no trial succeeded")
        else:
            test = "" if best.test_loss is None else f", test loss {best.test_loss:.4f}"
            lines.append(f"best trial #{best.id}: validation loss {best.loss:.4f}{test}")
            lines.append("  " + _params_text(best.params))
        failure = self.common_failure()
        if failure is not None:
            message, times, failed = failure
            lines.append(
                f"{count(failed, 'trial')} failed or diverged; most common ({times} of them): "
                f"{message}; {errors_hint}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        """One line, however many trials: name, strategy, seed, trials, best.

        >>> Study(name="s", strategy="tpe", seed=1, trials=[
        ...     Trial(id=0, params={"x": 0.5}, status="ok", loss=0.2, curve=(0.3, 0.2))])
        <Study 's': tpe, seed 1, 1 trial, best 0.2 (x=0.5)>
        """
        best = self.best_trial
        best_text = (
            "no successful trial"
            if best is None
            else (f"best {best.loss:.4g} ({_params_text(best.params)})")
        )
        return (
            f"<Study {self.name!r}: {self.strategy}, seed {self.seed}, "
            f"{count(len(self.finished_trials), 'trial')}, {best_text}>"
        )

    def _repr_html_(self) -> str:
        """A small table for notebooks: the study, its budget and stop, the best trial."""
        from html import escape

        best = self.best_trial
        rows = [
            ("study", self.name),
            ("strategy", f"{self.strategy} (seed {self.seed})"),
            (
                "trials",
                f"{len(self.finished_trials)} finished, {self.epochs_spent} epochs, "
                f"{self.seconds:.1f} s",
            ),
            ("stopped", _stop_text(self.stop_reason)),
            (
                "best",
                "no successful trial"
                if best is None
                else f"#{best.id}: validation loss {best.loss:.4f} ({_params_text(best.params)})",
            ),
        ]
        body = "".join(
            f"<tr><th style='text-align:left'>{escape(k)}</th>"
            f"<td style='text-align:left'>{escape(v)}</td></tr>"
            for k, v in rows
        )
        return f"<table>{body}</table>"


_STOPS = {
    "epochs": "the epoch budget is spent",
    "trials": "the trial budget is spent",
    "seconds": "the time budget is spent",
    "strategy_done": "the strategy has nothing more to try",
    "strategy_idle": "the strategy waited for results no running trial would give",
    "failures": "too many trials in a row failed",
    "interrupted": "interrupted",
}


def _stop_text(reason: str | None) -> str:
    return "not yet" if reason is None else _STOPS.get(reason, reason)


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in params.items())


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else repr(value)
