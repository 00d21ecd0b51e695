"""How the report writes numbers, p-values, configurations and a run's incumbent.

>>> fmt_value(0.123456), fmt_value(float("inf")), fmt_value(float("nan"))
('0.1235', 'failed', '—')
>>> fmt_median_iqr([0.5, float("inf"), 0.25, 1.0])
'0.5000 [0.3750–0.7500]; 1 of 4 runs failed'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .runs import Run
from .stats import failed_runs, median_iqr

__all__ = [
    "best_run_sentence",
    "fmt_difference",
    "fmt_median_iqr",
    "fmt_p",
    "fmt_param",
    "fmt_value",
    "format_params",
]


def fmt_value(value: float | None, digits: int = 4) -> str:
    """A loss to ``digits`` decimals; ``failed`` for a failed run's (inf), ``—`` for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if math.isinf(value):
        return "failed"
    return f"{value:.{digits}f}"


def relative(value: float, reference: float) -> float:
    """``value - reference`` as a share of ``reference``'s size: negative when ``value`` is
    lower, for negative losses too (NaN against 0).

    >>> round(relative(0.27, 0.30), 6), relative(-3.0, -2.0)
    (-0.1, -0.5)
    """
    return (value - reference) / abs(reference) if reference != 0 else math.nan


def fmt_difference(value: float, reference: float) -> str:
    """How far ``value`` lies from ``reference``: absolute, then relative (``relative``).

    >>> fmt_difference(0.27, 0.30), fmt_difference(-3.0, -2.0)
    ('-0.0300, -10.0 %', '-1.0000, -50.0 %')
    """
    return f"{value - reference:+.4f}, {100 * relative(value, reference):+.1f} %"


def fmt_median_iqr(values: Sequence[float], digits: int = 4) -> str:
    """``median [q1–q3]`` of the runs that did not fail, and how many did."""
    values = list(values)
    if not values:
        return "—"
    failed = failed_runs(values)
    if failed == len(values):
        return f"failed ({failed} of {failed} runs)"
    med, q1, q3 = median_iqr(values)
    text = f"{fmt_value(med, digits)} [{fmt_value(q1, digits)}–{fmt_value(q3, digits)}]"
    return text + (f"; {failed} of {len(values)} runs failed" if failed else "")


def fmt_p(p: float) -> str:
    """A p-value to 3 significant digits (``—``: not tested).

    >>> fmt_p(0.015625), fmt_p(float("nan"))
    ('0.0156', '—')
    """
    return "—" if math.isnan(p) else f"{p:.3g}"


def format_params(params: dict[str, Any] | None) -> str:
    """A configuration, compactly: integers as integers, reals to 4 significant digits.

    >>> format_params({"n_hidden": 2, "n_neurons": 78, "learning_rate": 0.0123456})
    'n_hidden=2, n_neurons=78, learning_rate=0.01235'
    """
    if params is None:
        return "—"
    return ", ".join(f"{key}={fmt_param(value)}" for key, value in params.items())


def fmt_param(value: Any) -> str:
    """One parameter's value: a real to 4 significant digits, anything else as is."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def best_run_sentence(run: Run, code: bool = True, loss: str = "MSE") -> str:
    """A run's incumbent: its configuration (a code span unless ``code`` is false), who
    found it and its validation and test loss (``loss``: its name)."""
    trial = run.study.best_trial
    assert trial is not None
    quote = "`" if code else ""
    return (
        f"{quote}{format_params(trial.params)}{quote}, found by {run.strategy} on seed {run.seed} "
        f"(trial {trial.id}): validation {loss} {fmt_value(run.final_val)}, test {loss} "
        f"{fmt_value(run.final_test)}"
    )
