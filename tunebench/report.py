"""The comparison report of a benchmark store: Markdown, one self-contained HTML, PNG, CSV.

``write_report(store, out_dir)`` reads every study in a store, groups them by the strategy and
seed their records hold, and writes ``report.md``, ``report.html`` (the figures embedded as
``data:`` URIs), the figures as PNG and ``trials.csv`` with every trial. The report holds the
protocol card, anytime curves, average ranks over the budget, the final table, paired
Wilcoxon tests against random search, each run's best configuration, time-to-target, a
budget audit and a verdict generated from the numbers; every figure and table has a caption
saying how to read it. ``verdict_lines(store)`` gives the verdict in a few console lines.

Strategies are ordered, and the winner chosen, by validation MSE only; the test split is
reported, never used to order or choose. A run whose every trial failed has no incumbent: it
is shown as failed, ranks last, is left out of medians and quartiles (which say how many runs
failed) and loses its pair in a paired test.

>>> holm([0.01, 0.04, 0.03])
[0.03, 0.06, 0.06]
>>> median_iqr([1.0, 2.0, 3.0, 4.0])
(2.5, 1.75, 3.25)
"""

from __future__ import annotations

import csv
import math
import os
import platform
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from .document import Block, Figure, Heading, Para, Table, render_html, render_markdown
from .store import Store
from .study import Study

__all__ = [
    "REFERENCE",
    "TARGET_MSE",
    "environment",
    "format_params",
    "holm",
    "median_iqr",
    "paired_differences",
    "verdict_lines",
    "write_report",
]

#: The book's ``RandomizedSearchCV`` (n_iter=10, cv=3) on the same task: an external
#: reference, not run here.
REFERENCE = {
    "name": "book RandomizedSearchCV (n_iter=10, cv=3)",
    "cv_mse": 0.320,
    "test_mse": 0.303,
}
#: The validation MSE a strategy must reach for time-to-target: the book's CV MSE.
TARGET_MSE = REFERENCE["cv_mse"]
#: Points of the budget at which strategies are ranked.
FRACTIONS = (0.10, 0.25, 0.50, 1.00)
ALPHA = 0.05
#: Stand-in for "no successful trial yet" in the anytime figures' quartiles (never printed).
_WORST = 1e300

#: Packages on the protocol card: (shown name, distribution names to try).
PACKAGES = (
    ("tensorflow", ("tensorflow", "tensorflow-cpu")),
    ("keras", ("keras",)),
    ("keras-tuner", ("keras-tuner", "keras_tuner")),
    ("hyperopt", ("hyperopt",)),
    ("scikit-optimize", ("scikit-optimize",)),
    ("optuna", ("optuna",)),
    ("deap", ("deap",)),
    ("scikit-learn", ("scikit-learn",)),
    ("numpy", ("numpy",)),
    ("scipy", ("scipy",)),
    ("tunebench", ("tunebench",)),
)


# --------------------------------------------------------------------------- small numerics


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the order given.

    A NaN p-value (a comparison that could not be tested) stays NaN and is left out of the
    family size. R's ``p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05), "holm")`` gives
    0.05 0.08 0.09 0.09 0.09:

    >>> holm([0.01, 0.02, 0.03, 0.04, 0.05])
    [0.05, 0.08, 0.09, 0.09, 0.09]
    >>> holm([0.04, float("nan"), 0.01])
    [0.04, nan, 0.02]
    """
    tested = [i for i, p in enumerate(pvalues) if not math.isnan(p)]
    m = len(tested)
    adjusted = [math.nan] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(sorted(tested, key=lambda i: pvalues[i])):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = round(running, 12)
    return adjusted


def median_iqr(values: Sequence[float]) -> tuple[float, float, float]:
    """Median, first and third quartile of the finite values; NaN when there is none.

    A run that failed (no successful trial: loss ``inf`` or NaN) has no loss to summarise:
    it is left out here and counted separately (see ``failed_runs``).

    >>> median_iqr([0.5, float("inf"), 0.25, 1.0])
    (0.5, 0.375, 0.75)
    """
    a = np.asarray(values, dtype=float)
    a = a[np.isfinite(a)]
    if not a.size:
        return math.nan, math.nan, math.nan
    q1, med, q3 = (float(v) for v in np.percentile(a, [25, 50, 75]))
    return med, q1, q3


def failed_runs(values: Sequence[float]) -> int:
    """How many of the values are a failed run's (``inf`` or NaN).

    >>> failed_runs([0.3, float("inf"), float("nan")])
    2
    """
    return sum(not math.isfinite(v) for v in values)


def median_failed_last(values: Sequence[float]) -> float:
    """The median counting a failed run (``inf`` or NaN) as worse than any loss: ``inf``
    once half the runs or more failed. What strategies are ordered by.

    >>> median_failed_last([0.2, float("nan"), 0.3]), median_failed_last([0.2, float("inf")])
    (0.3, inf)
    """
    a = np.asarray(values, dtype=float)
    if not a.size:
        return math.nan
    return float(np.median(np.where(np.isnan(a), math.inf, a)))


def paired_differences(x: Sequence[float], y: Sequence[float]) -> np.ndarray:
    """``x - y`` seed by seed, for a paired test; a failed run loses its pair.

    A run that failed (``inf`` or NaN) against one that did not counts as worse by more
    than any finite difference (it takes the largest rank in a signed-rank test); two failed
    runs tie (difference 0).

    >>> inf = float("inf")
    >>> paired_differences([0.2, inf, inf, 0.5], [0.3, 0.2, inf, inf]).round(3).tolist()
    [-0.1, 1.1, 0.0, -1.1]
    """
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    a_failed, b_failed = ~np.isfinite(a), ~np.isfinite(b)
    both = ~a_failed & ~b_failed
    diff = np.zeros(len(a))
    diff[both] = a[both] - b[both]
    worst = 1.0 + (float(np.abs(diff[both]).max()) if both.any() else 0.0)
    diff[a_failed & ~b_failed] = worst
    diff[b_failed & ~a_failed] = -worst
    return diff


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if math.isinf(value):
        return "failed"
    return f"{value:.{digits}f}"


def _fmt_miqr(values: Sequence[float], digits: int = 4) -> str:
    """``median [q1–q3]`` of the runs that did not fail, and how many did."""
    values = list(values)
    if not values:
        return "—"
    failed = failed_runs(values)
    if failed == len(values):
        return f"failed ({failed} of {failed} runs)"
    med, q1, q3 = median_iqr(values)
    text = f"{_fmt(med, digits)} [{_fmt(q1, digits)}–{_fmt(q3, digits)}]"
    return text + (f"; {failed} of {len(values)} runs failed" if failed else "")


def _median(values: Sequence[float]) -> float:
    """The median of the finite values (NaN when none)."""
    return median_iqr(values)[0] if len(values) else math.nan


def format_params(params: dict[str, Any] | None) -> str:
    """A configuration, compactly: integers as integers, reals to 4 significant digits.

    >>> format_params({"n_hidden": 2, "n_neurons": 78, "learning_rate": 0.0123456})
    'n_hidden=2, n_neurons=78, learning_rate=0.01235'
    """
    if params is None:
        return "—"
    return ", ".join(f"{key}={_fmt_param(value)}" for key, value in params.items())


def _fmt_param(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def environment() -> dict[str, Any]:
    """Python, package versions, cores and date of this process (for the protocol card)."""
    packages = {}
    for shown, dists in PACKAGES:
        for dist in dists:
            try:
                packages[shown] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
        else:
            packages[shown] = "not installed"
    return {
        "python": platform.python_version(),
        "packages": packages,
        "cores": os.cpu_count(),
        "machine": f"{platform.system()} {platform.machine()}",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


# --------------------------------------------------------------------------- runs

#: The store's note of where each run's trials ran, one entry a session that ran trials
#: (``tunebench bench`` writes it): ``{study name: [{"executor": ..., "workers": ...}]}``.
EXECUTIONS_META = "executions"


def executor_label(executor: str, workers: int | None) -> str:
    """How the card names an executor and its workers.

    >>> executor_label("inline", 1), executor_label("processes", 2)
    ('inline', 'processes ×2')
    """
    return "inline" if executor == "inline" else f"{executor} ×{workers or '?'}"


def executors_text(runs: Sequence[Run], executions: dict[str, list[dict[str, Any]]]) -> str:
    """What the runs actually ran on, e.g. ``inline (20 runs); processes ×2 (4 runs)``; a
    run resumed elsewhere shows each in turn (``inline, then processes ×2``)."""
    counts: dict[str, int] = {}
    for run in runs:
        sessions = executions.get(run.study.name) or []
        labels = dict.fromkeys(executor_label(s["executor"], s.get("workers")) for s in sessions)
        label = ", then ".join(labels) or "not recorded"
        counts[label] = counts.get(label, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return "; ".join(f"{label} ({n} run{'s' if n != 1 else ''})" for label, n in ordered)


@dataclass
class Run:
    """One study of the store, reduced to what the report needs.

    The anytime curve has one point per finished trial, in the order the trials finished
    (``tell_seq``): epochs charged so far, wall seconds so far and the best validation loss
    so far. Wall seconds: the trials' own durations, rescaled so that they add up to the
    study's wall time (``Study.seconds``, which counts every session and no gap between them),
    i.e. the framework's overhead is spread over the trials in proportion to their length.
    """

    study: Study
    epochs: np.ndarray = field(init=False)
    seconds: np.ndarray = field(init=False)
    best: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        finished = sorted(
            self.study.finished_trials,
            key=lambda t: (t.tell_seq if t.tell_seq is not None else math.inf, t.id),
        )
        self.epochs = np.cumsum([t.epochs_run for t in finished], dtype=float)
        seconds = np.cumsum([t.seconds for t in finished], dtype=float)
        if len(seconds) and seconds[-1] > 0 and self.study.seconds > 0:
            seconds *= self.study.seconds / seconds[-1]
        self.seconds = seconds
        losses = [t.loss if t.status == "ok" else math.inf for t in finished]
        self.best = np.minimum.accumulate(losses) if losses else np.array([])

    @property
    def strategy(self) -> str:
        return self.study.strategy

    @property
    def seed(self) -> int:
        return -1 if self.study.seed is None else self.study.seed

    @property
    def budget_epochs(self) -> int | None:
        return None if self.study.budget is None else self.study.budget.epochs

    @property
    def final_val(self) -> float:
        return self.study.best_loss

    @property
    def final_test(self) -> float:
        best = self.study.best_trial
        if best is None:
            return math.inf
        return math.nan if best.test_loss is None else float(best.test_loss)

    @property
    def train_seconds(self) -> float:
        return float(sum(t.seconds for t in self.study.finished_trials))

    @property
    def parallel(self) -> bool:
        """Whether trials overlapped in time (parallel workers): one started before an
        earlier-started one had finished."""
        spans = sorted(
            (t.started, t.finished) for t in self.study.trials if t.started and t.finished
        )
        latest = -math.inf
        for started, finished in spans:
            if started < latest - 1e-3:
                return True
            latest = max(latest, finished)
        return False

    @property
    def overhead(self) -> float | None:
        """Wall seconds not spent inside trials (None when trials overlapped in parallel)."""
        if self.parallel:
            return None
        return max(self.study.seconds - self.train_seconds, 0.0)

    @property
    def failures(self) -> int:
        return sum(t.status in ("failed", "diverged") for t in self.study.trials)

    @property
    def promoted_trials(self) -> int:
        return sum(t.initial_epoch > 0 for t in self.study.finished_trials)

    @property
    def promoted_epochs(self) -> int:
        return sum(t.epochs_run for t in self.study.finished_trials if t.initial_epoch > 0)

    @property
    def complete(self) -> bool:
        return self.study.stop_reason not in (None, "interrupted") and all(
            t.is_finished for t in self.study.trials
        )

    def best_at(self, x: np.ndarray | float, axis: str = "epochs") -> np.ndarray:
        """Best validation loss known once ``x`` epochs (or seconds) are spent; inf before
        the first success. After the run's end the incumbent stays."""
        spent = self.epochs if axis == "epochs" else self.seconds
        index = np.searchsorted(spent, np.asarray(x, dtype=float), side="right") - 1
        values = np.concatenate([[math.inf], self.best]) if len(self.best) else np.array([np.inf])
        return values[np.clip(index + 1, 0, len(values) - 1)]

    def time_to(self, target: float) -> tuple[float, float]:
        """Epochs and seconds spent when the best loss first reached ``target`` (inf: never)."""
        hits = np.nonzero(self.best <= target)[0]
        if not len(hits):
            return math.inf, math.inf
        return float(self.epochs[hits[0]]), float(self.seconds[hits[0]])


def load_runs(store_path: str | Path) -> tuple[dict[str, dict[int, Run]], dict[str, Any]]:
    """Every study of the store as ``{strategy: {seed: Run}}``, and the store's notes."""
    path = Path(store_path)
    if not path.is_file():
        raise FileNotFoundError(f"no store at {str(store_path)!r}; run `tunebench bench` first")
    groups: dict[str, dict[int, Run]] = {}
    notes: dict[str, Any] = {"duplicates": []}
    with Store(path) as store:
        for name in store.study_names():
            run = Run(store.load_study(name))
            seeds = groups.setdefault(run.strategy, {})
            if run.seed in seeds:  # keep the first study of a (strategy, seed) pair
                notes["duplicates"].append(name)
                continue
            seeds[run.seed] = run
        notes["benchmark"] = store.get_meta("benchmark")
        notes["executions"] = store.get_meta(EXECUTIONS_META) or {}
        notes["environment"] = store.get_meta("environment")
    if not groups:
        raise ValueError(
            f"the store {str(store_path)!r} holds no studies; run a benchmark into it first "
            "(tunebench bench --storage ...)"
        )
    return groups, notes


# --------------------------------------------------------------------------- figures


def _colors(strategies: Sequence[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    palette = colormaps["tab10"].colors
    others = [s for s in sorted(strategies) if s != "random"]
    colors = {name: palette[i % len(palette)] for i, name in enumerate(others)}
    colors["random"] = (0.1, 0.1, 0.1)
    return colors


def _save(fig: Any, path: Path) -> bytes:
    fig.savefig(path, format="png", dpi=110, bbox_inches="tight")
    return path.read_bytes()


def _figure_anytime(
    groups: dict[str, dict[int, Run]], order: list[str], axis: str, path: Path
) -> bytes:
    from matplotlib.figure import Figure as MplFigure
    from matplotlib.ticker import FormatStrFormatter

    runs = [run for seeds in groups.values() for run in seeds.values()]
    if axis == "epochs":
        end = max(
            [r.budget_epochs or 0 for r in runs] + [r.epochs[-1] for r in runs if len(r.epochs)]
        )
        xs = np.linspace(0, max(end, 1), 400)
    else:
        end = max([r.seconds[-1] for r in runs if len(r.seconds)] + [1.0])
        xs = np.linspace(0, end, 400)
    colors = _colors(order)
    fig = MplFigure(figsize=(8.5, 5.0))
    ax = fig.add_subplot()
    lows, highs = [], []
    for name in order:
        curves = np.array([run.best_at(xs, axis) for run in groups[name].values()])
        curves = np.where(np.isfinite(curves), curves, _WORST)
        q1, med, q3 = np.percentile(curves, [25, 50, 75], axis=0)
        med = np.where(med >= _WORST / 2, np.nan, med)
        ax.plot(
            xs,
            med,
            color=colors[name],
            lw=2 if name == "random" else 1.6,
            label=name,
            ls="--" if name == "random" else "-",
        )
        q1, q3 = np.minimum(q1, 1e6), np.minimum(q3, 1e6)  # no trial yet: off the chart
        ax.fill_between(xs, q1, q3, color=colors[name], alpha=0.15, lw=0)
        if np.isfinite(med).any():
            lows.append(np.nanmin(q1))
            highs.append(np.nanmax(med))
    ax.axhline(TARGET_MSE, color="0.5", lw=1, ls=":")
    ax.text(
        xs[-1],
        TARGET_MSE,
        "book RandomizedSearchCV, CV MSE 0.320 (external)",
        ha="right",
        va="bottom",
        fontsize=8,
        color="0.35",
    )
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FormatStrFormatter("%.2f"))
    ax.yaxis.set_minor_formatter(FormatStrFormatter("%.2f"))
    ax.tick_params(axis="y", which="minor", labelsize=7)
    if lows:
        low = min(min(lows), TARGET_MSE) * 0.97
        high = max(min(max(highs), 4 * low), TARGET_MSE * 1.3, low * 1.3)
        ax.set_ylim(low, high)
    ax.set_xlim(0, xs[-1])
    ax.set_xlabel("epochs spent (the budget unit)" if axis == "epochs" else "wall-clock seconds")
    ax.set_ylabel("best validation MSE so far")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    return _save(fig, path)


def _figure_final(groups: dict[str, dict[int, Run]], order: list[str], path: Path) -> bytes:
    from matplotlib.figure import Figure as MplFigure

    colors = _colors(order)
    fig = MplFigure(figsize=(8.5, 4.2))
    ax = fig.add_subplot()
    finite: list[float] = []
    for i, name in enumerate(order):
        runs = list(groups[name].values())
        val = np.array([r.final_val for r in runs])
        test = np.array([r.final_test for r in runs])
        jitter = np.linspace(-0.08, 0.08, len(runs)) if len(runs) > 1 else np.zeros(1)
        ax.scatter(i - 0.15 + jitter, val, color=colors[name], marker="o", s=22)
        ax.scatter(i + 0.15 + jitter, test, color=colors[name], marker="x", s=26)
        for offset, values in ((-0.15, val), (0.15, test)):
            ok = values[np.isfinite(values)]
            finite.extend(ok)
            if len(ok):
                ax.hlines(np.median(ok), i + offset - 0.12, i + offset + 0.12, color="k", lw=1.2)
    ax.axhline(REFERENCE["cv_mse"], color="0.5", ls=":", lw=1)
    ax.axhline(REFERENCE["test_mse"], color="0.5", ls="--", lw=1)
    ax.text(
        len(order) - 0.5,
        REFERENCE["cv_mse"],
        "book CV 0.320",
        fontsize=8,
        va="bottom",
        ha="right",
        color="0.35",
    )
    ax.text(
        len(order) - 0.5,
        REFERENCE["test_mse"],
        "book test 0.303",
        fontsize=8,
        va="top",
        ha="right",
        color="0.35",
    )
    ax.set_xticks(range(len(order)), order, rotation=20)
    ax.set_xlim(-0.6, len(order) - 0.4)
    if finite:
        low, high = min([*finite, REFERENCE["test_mse"]]), max(finite)
        pad = 0.05 * max(high - low, 0.01)
        top = min(high, max(1.0, 2.5 * float(np.median(finite))))  # outliers are cut off
        ax.set_ylim(low - pad, top + pad)
    ax.set_ylabel("MSE of the incumbent")
    ax.scatter([], [], color="0.3", marker="o", label="validation (selected on)")
    ax.scatter([], [], color="0.3", marker="x", label="test (reported only)")
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    return _save(fig, path)


# --------------------------------------------------------------------------- sections


def _common_seeds(groups: dict[str, dict[int, Run]], names: Sequence[str]) -> list[int]:
    seeds = None
    for name in names:
        own = set(groups[name])
        seeds = own if seeds is None else seeds & own
    return sorted(seeds or ())


def _ranks(groups: dict[str, dict[int, Run]], order: list[str]) -> tuple[Table, int]:
    from scipy.stats import rankdata

    seeds = _common_seeds(groups, order)
    rows = []
    ranks: dict[str, list[list[float]]] = {name: [] for name in order}
    for seed in seeds:
        per_fraction = []
        for fraction in FRACTIONS:
            values = []
            for name in order:
                run = groups[name][seed]
                limit = run.budget_epochs or (run.epochs[-1] if len(run.epochs) else 0)
                value = float(run.best_at(fraction * limit))
                values.append(value if math.isfinite(value) else math.inf)  # failed: last
            per_fraction.append(rankdata(values))
        for i, name in enumerate(order):
            ranks[name].append([r[i] for r in per_fraction])
    for name in order:
        if ranks[name]:
            mean = np.mean(np.array(ranks[name]), axis=0)
            rows.append([name, *(f"{v:.2f}" for v in mean)])
        else:
            rows.append([name, *("—" for _ in FRACTIONS)])
    rows.sort(key=lambda r: float(r[-1]) if r[-1] != "—" else math.inf)
    caption = (
        f"Average rank (1 = best) of each strategy's best validation MSE once 10 %, 25 %, 50 % "
        f"and 100 % of the epoch budget were spent, over the {len(seeds)} seed(s) every "
        "strategy ran; ties share their rank, a run with no successful trial yet ranks last "
        "(several such runs share the last ranks). "
        "Read across a row to see whether a strategy starts fast or finishes strong."
    )
    headers = ["strategy", *(f"{round(100 * f)} % of budget" for f in FRACTIONS)]
    return Table(headers, rows, caption), len(seeds)


@dataclass
class Comparison:
    """A paired comparison of ``name`` with ``baseline`` on the seeds both ran."""

    name: str
    n: int
    lower: int
    ties: int
    higher: int
    median_diff: float
    median_rel: float
    p: float
    p_holm: float = math.nan
    baseline: str = "random"
    failed_pairs: int = 0


def _compare(groups: dict[str, dict[int, Run]], name: str, baseline: str) -> Comparison | None:
    """Paired Wilcoxon signed-rank test of ``name``'s final validation MSE against
    ``baseline``'s over their common seeds (two-sided; zero differences dropped, scipy's
    ``zero_method="wilcox"``). A run whose every trial failed loses its pair by more than
    any finite difference; two failed runs tie (``paired_differences``). None: no common
    seed."""
    from scipy.stats import wilcoxon

    seeds = _common_seeds(groups, [name, baseline])
    if not seeds:
        return None
    x = np.array([groups[name][s].final_val for s in seeds])
    y = np.array([groups[baseline][s].final_val for s in seeds])
    diff = paired_differences(x, y)
    if np.all(diff == 0):
        p = 1.0
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = float(wilcoxon(diff, alternative="two-sided").pvalue)
    ok = np.isfinite(x) & np.isfinite(y)
    return Comparison(
        name=name,
        n=len(seeds),
        lower=int(np.sum(diff < 0)),
        ties=int(np.sum(diff == 0)),
        higher=int(np.sum(diff > 0)),
        median_diff=float(np.median(diff[ok])) if ok.any() else math.nan,
        median_rel=float(np.median(diff[ok]) / np.median(y[ok])) if ok.any() else math.nan,
        p=p,
        baseline=baseline,
        failed_pairs=int(np.sum(~ok)),
    )


def _compare_with_random(groups: dict[str, dict[int, Run]], order: list[str]) -> list[Comparison]:
    """Every other strategy against random search, Holm-corrected over the comparisons."""
    if "random" not in groups:
        return []
    comparisons = [
        c for name in order if name != "random" and (c := _compare(groups, name, "random"))
    ]
    for comparison, adjusted in zip(comparisons, holm([c.p for c in comparisons]), strict=True):
        comparison.p_holm = adjusted
    return comparisons


def _smallest_p(n: int) -> float:
    """The smallest two-sided p-value an exact Wilcoxon signed-rank test can give n pairs."""
    return min(1.0, 2.0 / 2**n) if n > 0 else 1.0


def _seeds_needed(m: int) -> int:
    """Paired seeds from which a Holm-corrected test over ``m`` comparisons can pass."""
    return next(n for n in range(2, 64) if _smallest_p(n) * max(m, 1) < ALPHA)


def _comparison_sentence(c: Comparison) -> str:
    direction = "lower" if c.median_diff < 0 else "higher"
    head = (
        f"**{c.name}** against random: lower final validation MSE on {c.lower} of {c.n} "
        f"seed(s), higher on {c.higher}"
        + (f", equal on {c.ties}" if c.ties else "")
        + (
            f" ({c.failed_pairs} pair(s) with a failed run, which loses its pair)"
            if c.failed_pairs
            else ""
        )
        + (
            f"; the median paired difference is {c.median_diff:+.4f} ({100 * c.median_rel:+.1f} %)"
            if math.isfinite(c.median_diff)
            else ""
        )
        + f". Wilcoxon p = {_fmt_p(c.p)}, Holm-adjusted {_fmt_p(c.p_holm)}: "
    )
    if c.p_holm < ALPHA:
        return head + f"significantly {direction} than random search at the 5 % level."
    return head + "no significant difference from random search."


def _fmt_p(p: float) -> str:
    return "—" if math.isnan(p) else f"{p:.3g}"


def _statistics(
    groups: dict[str, dict[int, Run]], order: list[str]
) -> tuple[list[Block], list[Comparison], bool]:
    comparisons = _compare_with_random(groups, order)
    blocks: list[Block] = [Heading("Statistics: each strategy against random search")]
    if len(groups) == 1:
        blocks.append(
            Para(
                f"Only one strategy, {order[0]}, is in this benchmark: there is nothing to "
                "compare it with, so no test is run."
            )
        )
        return blocks, comparisons, False
    if "random" not in groups:
        blocks.append(
            Para(
                "There is no random-search baseline in this benchmark (its strategies: "
                f"{', '.join(order)}), so no strategy is tested against one; the verdict "
                "compares the winner with the runner-up instead. Add `random` to the "
                "benchmark's strategies for these tests."
            )
        )
        return blocks, comparisons, False
    if not comparisons:
        blocks.append(
            Para(
                "Random search shares no seed with any other strategy in this store, so no "
                "strategy is tested against it; rerun the benchmark to complete its seeds."
            )
        )
        return blocks, comparisons, False
    n = min(c.n for c in comparisons)
    m = len(comparisons)
    floor = min(1.0, m * _smallest_p(n))
    claimable = n >= 5 and floor < ALPHA
    if n < 5:
        intro = (
            f"**With {n} paired seed(s), significance cannot be claimed**: the benchmark "
            "protocol asks for at least 5 seeds, and the smallest two-sided p-value a Wilcoxon "
            f"signed-rank test can give {n} pair{'s' if n != 1 else ''} is "
            f"{_smallest_p(n):.3g}. The tests below are shown for completeness; read the "
            "differences as indicative only."
        )
    elif not claimable:
        intro = (
            f"**With {n} paired seeds and {m} comparisons, significance cannot be claimed**: "
            f"the smallest p-value {n} pairs can give is {_smallest_p(n):.3g}, which Holm's "
            f"correction multiplies by {m} to {floor:.3g}, above 0.05. More seeds are needed "
            "for any test to pass; read the differences as indicative only."
        )
    else:
        intro = (
            f"Each strategy is compared with random search on the final validation MSE of the "
            f"same seeds ({n} pairs), two-sided, with Holm's correction over the {m} "
            "comparisons; significant means Holm-adjusted p < 0.05."
        )
    blocks.append(Para(intro))
    rows = [
        [
            c.name,
            str(c.n),
            f"{c.lower} / {c.ties} / {c.higher}",
            _fmt(c.median_diff) if math.isfinite(c.median_diff) else "—",
            f"{100 * c.median_rel:+.1f} %" if math.isfinite(c.median_rel) else "—",
            _fmt_p(c.p),
            _fmt_p(c.p_holm),
            "yes" if c.p_holm < ALPHA else "no",
        ]
        for c in comparisons
    ]
    blocks.append(
        Table(
            [
                "strategy",
                "paired seeds",
                "seeds lower / equal / higher than random",
                "median difference",
                "relative to random's median",
                "Wilcoxon p",
                "Holm p",
                "significant",
            ],
            rows,
            "Paired Wilcoxon signed-rank test of each strategy's final validation MSE against "
            "random search's on the same seed. A negative difference means the strategy found "
            "a better (lower) validation MSE than random search; 'Holm p' is corrected for "
            "testing several strategies at once. A run whose every trial failed loses its "
            "pair (counted as higher, by more than any finite difference, or equal when both "
            "runs failed) and is left out of the median difference.",
        )
    )
    blocks += [Para(_comparison_sentence(c)) for c in comparisons]
    return blocks, comparisons, claimable


def _final_table(groups: dict[str, dict[int, Run]], order: list[str]) -> Table:
    rows = []
    for name in order:
        runs = list(groups[name].values())
        overheads = [r.overhead for r in runs if r.overhead is not None]
        seconds = _median([r.study.seconds for r in runs])
        overhead = _median(overheads) if overheads else math.nan
        share = f" ({100 * overhead / seconds:.0f} %)" if seconds > 0 and overheads else ""
        rows.append(
            [
                name,
                str(len(runs)),
                _fmt_miqr([r.final_val for r in runs]),
                _fmt_miqr([r.final_test for r in runs if not math.isnan(r.final_test)]),
                f"{_median([len(r.study.finished_trials) for r in runs]):.0f}",
                f"{_median([r.study.epochs_spent for r in runs]):.0f}",
                f"{seconds:.0f}",
                f"{overhead:.2f}{share}" if overheads else "— (parallel)",
                str(sum(r.failures for r in runs)),
            ]
        )
    rows.append(
        [
            f"{REFERENCE['name']} — **external reference, not run here**",
            "—",
            f"{REFERENCE['cv_mse']:.3f} (3-fold CV)",
            f"{REFERENCE['test_mse']:.3f}",
            "10 (x 3 folds)",
            "—",
            "—",
            "—",
            "—",
        ]
    )
    return Table(
        [
            "strategy",
            "runs",
            "validation MSE, median [IQR]",
            "test MSE, median [IQR]",
            "trials a run",
            "epochs charged a run",
            "wall s a run",
            "overhead s a run",
            "failures (all runs)",
        ],
        rows,
        "The incumbent (best validation MSE) each run ended with: its validation MSE, on which "
        "it was selected, and its test MSE, which was never used to choose; median over seeds "
        "with the interquartile range in brackets, sorted by median validation MSE (lower is "
        "better). A run whose every trial failed has no incumbent: it is left out of the median "
        "and quartiles, which say how many runs failed, and counts as worse than any loss in "
        "the order (a strategy with half its runs failed or more comes last). "
        "Trials, epochs and seconds are medians per run; overhead is the wall time not spent "
        "inside trials (strategy, store, resume replay), with its share of the wall time; "
        "failures counts failed and diverged trials. The last row is the book's own search on "
        "the same task, for orientation: it selected by 3-fold cross-validation, not on this "
        "validation split, and spent its own budget.",
    )


def _overall_best(groups: dict[str, dict[int, Run]]) -> Run | None:
    """The run whose incumbent has the lowest validation MSE of all (ties: strategy, seed)."""
    runs = [r for seeds in groups.values() for r in seeds.values() if math.isfinite(r.final_val)]
    return min(runs, key=lambda r: (r.final_val, r.strategy, r.seed), default=None)


def _overall_best_sentence(run: Run, code: bool = True) -> str:
    trial = run.study.best_trial
    assert trial is not None
    quote = "`" if code else ""
    return (
        f"{quote}{format_params(trial.params)}{quote}, found by {run.strategy} on seed {run.seed} "
        f"(trial {trial.id}): validation MSE {_fmt(run.final_val)}, test MSE "
        f"{_fmt(run.final_test)}"
    )


def _best_configurations(groups: dict[str, dict[int, Run]], order: list[str]) -> list[Block]:
    blocks: list[Block] = [Heading("Best configurations")]
    best = _overall_best(groups)
    if best is None:
        blocks.append(Para("No run has a successful trial, so there is no best configuration."))
        return blocks
    blocks.append(
        Para(
            "**The best configuration overall** (the lowest validation MSE of any run; chosen "
            f"on validation, its test MSE only reported): {_overall_best_sentence(best)}."
        )
    )
    names: list[str] = []
    for name in order:
        for run in groups[name].values():
            if run.study.space is not None:
                names += [p for p in run.study.space.to_json() if p not in names]
            trial = run.study.best_trial
            names += [p for p in (trial.params if trial else {}) if p not in names]
    rows = []
    for name in order:
        for seed, run in sorted(groups[name].items()):
            trial = run.study.best_trial
            if trial is None:
                rows.append([name, str(seed), "failed", "—", *("—" for _ in names), "—"])
                continue
            rows.append(
                [
                    name,
                    str(seed),
                    _fmt(run.final_val),
                    _fmt(run.final_test),
                    *(_fmt_param(trial.params[p]) if p in trial.params else "—" for p in names),
                    str(trial.id),
                ]
            )
    blocks.append(
        Table(
            ["strategy", "seed", "validation MSE", "test MSE", *(f"`{p}`" for p in names), "trial"],
            rows,
            "Each run's incumbent — the configuration with the lowest validation MSE it found "
            "— with its validation and test MSE and the trial that found it; strategies in the "
            "order of the final table, seeds in order. Integers are shown as integers, reals to "
            "4 significant digits; 'failed' marks a run with no successful trial.",
        )
    )
    return blocks


def _time_to_target(groups: dict[str, dict[int, Run]], order: list[str]) -> Table:
    rows = []
    for name in order:
        hits = [run.time_to(TARGET_MSE) for run in groups[name].values()]
        reached = sum(math.isfinite(e) for e, _ in hits)
        epochs = median_failed_last([e for e, _ in hits])
        seconds = median_failed_last([s for _, s in hits])
        rows.append(
            [
                name,
                "never" if math.isinf(epochs) else f"{epochs:.0f}",
                "never" if math.isinf(seconds) else f"{seconds:.0f}",
                f"{reached} of {len(hits)}",
            ]
        )
    rows.sort(key=lambda r: (math.inf if r[1] == "never" else float(r[1]), order.index(r[0])))
    return Table(
        ["strategy", "median epochs to target", "median seconds to target", "seeds reaching it"],
        rows,
        f"How much budget each strategy spent before its best validation MSE first reached "
        f"{TARGET_MSE:.3f}, the cross-validated MSE of the book's RandomizedSearchCV; the count "
        "includes the whole trial that reached it. Median over seeds, a seed that never reached "
        "it counting as never; 'never' means most seeds did not reach it within the budget.",
    )


def _audit(
    groups: dict[str, dict[int, Run]], order: list[str]
) -> tuple[list[Block], list[str], list[str]]:
    rows = []
    overruns: list[str] = []
    incomplete: list[str] = []
    for name in order:
        for seed, run in sorted(groups[name].items()):
            study = run.study
            budget = run.budget_epochs
            spent = study.epochs_spent
            limit = study.objective.get("max_epochs")
            long_trials = (
                sum(t.epochs_run > limit for t in study.trials) if isinstance(limit, int) else 0
            )
            flags = []
            if budget is not None and spent > budget:
                flags.append(f"**OVER BUDGET by {spent - budget} epochs**")
                overruns.append(f"{study.name} ({spent} of {budget} epochs)")
            if long_trials:
                flags.append(f"**{long_trials} trial(s) over the {limit}-epoch trial limit**")
                overruns.append(f"{study.name} ({long_trials} trial(s) over {limit} epochs)")
            if not run.complete:
                flags.append("incomplete: rerun the benchmark to resume")
                incomplete.append(study.name)
            rows.append(
                [
                    name,
                    str(seed),
                    "—" if budget is None else str(budget),
                    str(spent),
                    "—" if budget is None else str(budget - spent),
                    str(len(study.finished_trials)),
                    str(study.stop_reason or "not finished"),
                    str(run.promoted_trials),
                    str(run.promoted_epochs),
                    "; ".join(flags) or "ok",
                ]
            )
    if overruns:
        headline = (
            f"**⚠ BUDGET OVERRUN: {len(overruns)} problem(s) — {'; '.join(overruns)}.** The "
            "comparison is not fair until this is explained."
        )
    else:
        headline = (
            f"All {len(rows)} runs stayed within their epoch budget and every trial within the "
            "per-trial limit."
        )
    blocks: list[Block] = [Heading("Budget audit"), Para(headline)]
    promoted = [
        (
            name,
            _median([r.promoted_epochs for r in groups[name].values()]),
            _median([r.study.epochs_spent for r in groups[name].values()]),
        )
        for name in order
        if any(r.promoted_trials for r in groups[name].values())
    ]
    for name, epochs, total in promoted:
        share = f" ({100 * epochs / total:.0f} %)" if total else ""
        blocks.append(
            Para(
                f"{name} spent a median of {epochs:.0f} of its {total:.0f} epochs a run{share} "
                "continuing promoted trials (trials that resume an earlier one's weights, "
                "charged only their new epochs)."
            )
        )
    blocks.append(
        Table(
            [
                "strategy",
                "seed",
                "budget",
                "epochs charged",
                "left",
                "trials",
                "stopped by",
                "promoted trials",
                "epochs on promoted trials",
                "check",
            ],
            rows,
            "Every run's epochs charged against its budget: a run may never charge more than "
            "its budget ('left' never negative). 'Stopped by' says which limit ended it "
            "(epochs: the budget was spent; strategy_done: the strategy had nothing left to "
            "try). Promoted trials are multi-fidelity continuations (initial epoch > 0), "
            "charged only the epochs they added.",
        )
    )
    return blocks, overruns, incomplete


def _space_text(study: Study) -> str:
    if study.space is None:
        return "—"
    parts = []
    for name, param in study.space.to_json().items():
        if param["type"] == "choice":
            parts.append(f"`{name}` one of {param['options']}")
        else:
            kind = "integer" if param["type"] == "int" else "real"
            scale = ", log-uniform" if param.get("log") else ""
            parts.append(f"`{name}` {kind} {param['low']:g}–{param['high']:g}{scale}")
    return "; ".join(parts)


def _protocol(
    groups: dict[str, dict[int, Run]], order: list[str], notes: dict[str, Any], store: Path
) -> Table:
    runs = [run for name in order for run in groups[name].values()]
    first = runs[0].study
    objective = first.objective or {}
    task = objective.get("task", {})
    sizes = task.get("sizes", {})
    if sizes:
        splits = (
            f"{sizes.get('train', 0):,} train / {sizes.get('valid', 0):,} validation / "
            f"{sizes.get('test', 0):,} test"
        )
        if "subsample" in task:
            splits += " (a subsample of the book's 11,610 / 3,870 / 5,160)"
    else:
        splits = "—"
    model = objective.get("build_model", "—")
    if model == "build_mlp":
        model = (
            "`build_mlp`, the book's MLP: `n_hidden` ReLU layers of `n_neurons`, one linear "
            "output, SGD at `learning_rate`, MSE loss"
        )
    budgets = sorted({r.budget_epochs for r in runs if r.budget_epochs is not None})
    seeds = sorted({r.seed for r in runs})
    environments = notes.get("environment") or []
    env = environments[-1] if environments else environment()
    env_note = (
        "" if environments else " (of the machine writing this report: the store has no record)"
    )
    if len({str(e.get("packages")) for e in environments}) > 1:
        env_note = f" (the last of {len(environments)} sessions; earlier ones differed)"
    packages = ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items())
    started = [t.started for r in runs for t in r.study.trials if t.started]
    finished = [t.finished for r in runs for t in r.study.trials if t.finished]

    def utc(stamp: float) -> str:
        return datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    dates = f"{utc(min(started))} to {utc(max(finished))}" if started and finished else "—"
    bench = notes.get("benchmark") or {}
    executor = executors_text(runs, notes.get("executions") or {})
    options = {
        name: groups[name][next(iter(groups[name]))].study.options
        for name in order
        if groups[name][next(iter(groups[name]))].study.options
    }
    rows = [
        ["task", f"{task.get('name', '—')}, loss {task.get('loss', 'mse').upper()}"],
        ["splits", splits],
        ["model", model],
        ["search space", _space_text(first)],
        [
            "budget unit",
            "one epoch over the training split; a trial is charged the epochs it trained "
            "(early-stopped trials cost less, continuations only their new epochs)",
        ],
        ["budget a run", ", ".join(f"{b:,} epochs" for b in budgets) or "—"],
        [
            "per-trial limits",
            f"at most {objective.get('max_epochs', '—')} epochs, early stopping on validation "
            f"loss with patience {objective.get('patience', '—')} (best weights restored), "
            f"batch {objective.get('batch_size', '—')}, a NaN loss stops the trial",
        ],
        ["strategies", ", ".join(order)],
        [
            "strategy options",
            "; ".join(f"{k}: {v}" for k, v in options.items()) or "defaults",
        ],
        ["seeds", f"{', '.join(map(str, seeds))} (paired: the same seeds for every strategy)"],
        ["store", f"`{store.name}`, {len(runs)} runs"],
        ["executor", executor],
        [
            "timing",
            "wall seconds per run (`Study.seconds`: every session, no gap between them); "
            + (
                "each run had a fresh objective (no compiled training step shared between "
                "runs) and a warm-up epoch before the first run absorbed TensorFlow's start-up"
                if bench
                else "runs not made by `tunebench bench`"
            ),
        ],
        ["packages", packages + env_note],
        ["Python", env.get("python", "—")],
        ["machine", f"{env.get('cores', '?')} cores, {env.get('machine', '—')}"],
        ["dates", f"runs {dates}; report {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}"],
    ]
    return Table(
        ["", "protocol"],
        rows,
        "What was run and how: every strategy searched the same space on the same splits, "
        "under the same epoch budget, with the same seeds; selection used the validation split "
        "only and the test split was only reported.",
    )


def strategy_order(groups: dict[str, dict[int, Run]]) -> list[str]:
    """Strategies by median validation MSE, a failed run counting as worse than any loss
    (then by the median of the runs that did not fail, then by name). The test split plays
    no part."""

    def key(name: str) -> tuple[float, float, str]:
        values = [r.final_val for r in groups[name].values()]
        finite = _median(values)
        return median_failed_last(values), math.inf if math.isnan(finite) else finite, name

    return sorted(groups, key=key)


@dataclass
class Findings:
    """What the verdict says, computed once for the report and for the console."""

    groups: dict[str, dict[int, Run]]
    order: list[str]
    comparisons: list[Comparison]
    overruns: list[str]
    winner: str | None = field(init=False)
    runner_up: str | None = field(init=False)
    versus_runner_up: Comparison | None = field(init=False)
    best: Run | None = field(init=False)

    def __post_init__(self) -> None:
        first = self.order[0]
        self.winner = first if math.isfinite(self.median(first)) else None
        self.runner_up = self.order[1] if self.winner and len(self.order) > 1 else None
        self.versus_runner_up = (
            _compare(self.groups, self.winner, self.runner_up)
            if self.winner and self.runner_up
            else None
        )
        self.best = _overall_best(self.groups)

    def values(self, name: str, test: bool = False) -> list[float]:
        runs = self.groups[name].values()
        if test:  # a successful incumbent without a test loss (NaN) is not a failure
            return [r.final_test for r in runs if not math.isnan(r.final_test)]
        return [r.final_val for r in runs]

    def median(self, name: str, test: bool = False) -> float:
        """Median over the runs that did not fail (NaN when all did)."""
        return _median(self.values(name, test))

    def failed(self, name: str) -> int:
        return failed_runs(self.values(name))

    def seeds_text(self, name: str) -> str:
        n, failed = len(self.groups[name]), self.failed(name)
        return f"{n} seed{'s' if n != 1 else ''}" + (
            f", {failed} of {n} runs failed" if failed else ""
        )

    @property
    def random_comparison(self) -> Comparison | None:
        return next((c for c in self.comparisons if c.name == self.winner), None)

    def tie_phrase(self) -> str:
        """Whether the winner's margin over the runner-up is beyond the seeds' noise."""
        c = self.versus_runner_up
        if c is None:
            return "they share no seed, so the margin is not tested"
        if c.p < ALPHA:
            return (
                f"{c.name} was lower on {c.lower} of {c.n} paired seeds (Wilcoxon p = "
                f"{_fmt_p(c.p)}, uncorrected for picking the winner: indicative)"
            )
        return (
            f"a tie, within the noise across seeds (paired Wilcoxon p = {_fmt_p(c.p)} over "
            f"{c.n} seed{'s' if c.n != 1 else ''})"
        )

    def random_phrase(self) -> str:
        """Whether the winner's difference from random search is significant."""
        c = self.random_comparison
        if c is None:
            return "not tested (no seed in common)"
        m = len(self.comparisons)
        if not (c.n >= 5 and m * _smallest_p(c.n) < ALPHA):
            return (
                f"cannot be called significant with {c.n} paired seed{'s' if c.n != 1 else ''} "
                f"and {m} comparison{'s' if m != 1 else ''}, however consistent: indicative "
                f"only (a Holm-corrected test over {m} can pass from {max(5, _seeds_needed(m))} "
                "seeds on)"
            )
        if c.p_holm < ALPHA:
            return f"significant (Wilcoxon, Holm-adjusted p = {_fmt_p(c.p_holm)})"
        return (
            f"not significant (Holm-adjusted p = {_fmt_p(c.p_holm)}): a tie with random "
            "search on this evidence"
        )


def _verdict(findings: Findings) -> str:
    f, groups = findings, findings.groups
    winner = f.winner
    if winner is None:
        total = sum(len(seeds) for seeds in groups.values())
        return (
            f"No run has a successful trial ({total} of {total} runs failed), so there is no "
            "winner."
        )
    runs = list(groups[winner].values())
    val, test = f.median(winner), f.median(winner, test=True)
    seconds = _median([r.study.seconds for r in runs])
    parts = [
        f"**{winner}** found the lowest median validation MSE, {val:.4f} (its incumbents' "
        f"median test MSE {_fmt(test)}), over {f.seeds_text(winner)}."
    ]
    if len(groups) == 1:
        parts.append(
            "Random search is the only strategy in this benchmark, so nothing is compared with it."
            if winner == "random"
            else "It is the only strategy in this benchmark, so it is compared with nothing "
            "(there is no random-search baseline either)."
        )
    if f.runner_up is not None and f.runner_up != "random":  # random: compared below
        other = f.median(f.runner_up)
        margin = (
            f" ({winner}'s margin {val - other:+.4f}, {100 * (val / other - 1):+.1f} %)"
            if math.isfinite(other)
            else ""
        )
        parts.append(
            f"The runner-up, {f.runner_up}, reached {_fmt(other)} over "
            f"{f.seeds_text(f.runner_up)}{margin}: {f.tie_phrase()}."
        )
    if winner == "random" and len(groups) > 1:
        parts.append("No strategy beat random search.")
    elif "random" in groups and winner != "random":
        base = f.median("random")
        base_runs = list(groups["random"].values())
        base_test = f.median("random", test=True)
        base_seconds = _median([r.study.seconds for r in base_runs])
        parts.append(
            f"Random search reached {base:.4f} (test {_fmt(base_test)}): a difference of "
            f"{val - base:+.4f} in validation MSE ({100 * (val / base - 1):+.1f} %)"
            f" and {test - base_test:+.4f} in test MSE."
            if math.isfinite(base) and math.isfinite(test) and math.isfinite(base_test)
            else "Random search has no successful run to compare with."
        )
        overhead = _median([r.overhead for r in runs if r.overhead is not None] or [math.nan])
        parts.append(
            f"The cost: {seconds:.0f} s of wall time a run against random's {base_seconds:.0f} s"
            + (f", of which {overhead:.1f} s outside training" if math.isfinite(overhead) else "")
            + "; both spent the same epoch budget."
        )
        parts.append(f"The difference from random search {f.random_phrase()}.")
    elif len(groups) > 1:
        parts.append(
            "There is no random-search baseline in this benchmark, so no strategy is measured "
            "against one."
        )
    by_test = {name: f.median(name, test=True) for name in groups}
    finite_test = [n for n in f.order if math.isfinite(by_test[n])]
    best_test = min(finite_test, key=lambda n: by_test[n], default=None)
    if best_test is not None and best_test != winner:
        parts.append(
            f"On the test split, which no strategy selected on, {best_test} has the lowest "
            f"median MSE ({by_test[best_test]:.4f})."
        )
    if math.isfinite(test):
        relation = "below" if test < REFERENCE["test_mse"] else "above"
        parts.append(
            f"The winner's median test MSE is {relation} the book's RandomizedSearchCV "
            f"({REFERENCE['test_mse']:.3f}, an external reference with its own budget and "
            "cross-validation)."
        )
    if f.best is not None:
        parts.append(f"The best configuration of any run: {_overall_best_sentence(f.best)}.")
    if f.overruns:
        parts.append("**A budget overrun was found (see the audit): this verdict is unsafe.**")
    return " ".join(parts)


def _verdict_lines(findings: Findings, report: Path | None) -> list[str]:
    f = findings
    winner = f.winner
    lines: list[str] = []
    if winner is None:
        total = sum(len(seeds) for seeds in f.groups.values())
        lines.append(f"verdict: no run has a successful trial ({total} of {total} failed)")
    else:
        val, test = f.median(winner), f.median(winner, test=True)
        if len(f.groups) == 1:
            lines.append(
                f"verdict: {winner}, the only strategy benchmarked: median validation MSE "
                f"{val:.4f} over {f.seeds_text(winner)} (test {_fmt(test)}); nothing to "
                "compare it with"
            )
        else:
            lines.append(
                f"verdict: {winner} has the lowest median validation MSE, {val:.4f} over "
                f"{f.seeds_text(winner)} (test {_fmt(test)})"
            )
        if f.runner_up is not None and f.runner_up != "random":  # random: the next line
            other = f.median(f.runner_up)
            margin = (
                f" (margin {val - other:+.4f}, {100 * (val / other - 1):+.1f} %)"
                if math.isfinite(other)
                else ""
            )
            lines.append(f"  runner-up: {f.runner_up}, {_fmt(other)}{margin}: {f.tie_phrase()}")
        if "random" in f.groups and winner != "random":
            base = f.median("random")
            c = f.random_comparison
            seeds = f", lower on {c.lower} of {c.n} seeds" if c is not None else ""
            lines.append(
                f"  vs random search ({_fmt(base)}): {val - base:+.4f} "
                f"({100 * (val / base - 1):+.1f} %){seeds}; {f.random_phrase()}"
                if math.isfinite(base)
                else "  vs random search: random search has no successful run"
            )
        elif winner == "random" and len(f.groups) > 1:
            lines.append("  no strategy beat random search")
        elif len(f.groups) > 1:
            lines.append("  no random-search baseline in this benchmark")
        if f.best is not None:
            lines.append(f"  best configuration: {_overall_best_sentence(f.best, code=False)}")
    if f.overruns:
        lines.append("  BUDGET OVERRUN found (see the report's audit): this verdict is unsafe")
    if report is not None:
        lines.append(f"  report: {report} and {report.with_suffix('.html').name} beside it")
    return lines


def verdict_lines(store: str | Path, report: str | Path | None = None) -> list[str]:
    """The verdict of a benchmark store in a few console lines: the winner (by median
    validation MSE), its margin over the runner-up and whether that is a tie, its difference
    from random search and whether it is significant, the best configuration, and where
    the report is (``report``: its ``report.md``)."""
    groups, _ = load_runs(store)
    order = strategy_order(groups)
    _, overruns, _ = _audit(groups, order)
    findings = Findings(groups, order, _compare_with_random(groups, order), overruns)
    return _verdict_lines(findings, None if report is None else Path(report))


# --------------------------------------------------------------------------- CSV and the whole


#: The trial fields in ``trials.csv``, after strategy, seed and study, before the parameters.
TRIAL_FIELDS = [
    "id",
    "status",
    "loss",
    "test_loss",
    "epochs_run",
    "epochs",
    "initial_epoch",
    "resume_from",
    "seconds",
    "started",
    "finished",
    "worker",
    "error",
]


def write_trials_csv(groups: dict[str, dict[int, Run]], path: Path) -> int:
    """Every trial of every run, one row each (an error only by its first line); returns the
    number of rows."""
    runs = [groups[name][seed] for name in sorted(groups) for seed in sorted(groups[name])]
    params = sorted({p for r in runs for t in r.study.trials for p in t.params})
    count = 0
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "strategy",
                "seed",
                "study",
                "trial",
                *TRIAL_FIELDS[1:],
                *(f"param_{p}" for p in params),
            ]
        )
        for run in runs:
            for t in run.study.trials:
                values = [getattr(t, name) for name in TRIAL_FIELDS]
                if t.error is not None:
                    values[-1] = t.error.splitlines()[0]
                params_row = [t.params.get(p) for p in params]
                writer.writerow([run.strategy, run.seed, run.study.name, *values, *params_row])
                count += 1
    return count


def write_report(store: str | Path, out_dir: str | Path) -> Path:
    """Write the report of every study in ``store`` into ``out_dir``; return ``report.md``'s
    path. Also written: ``report.html`` (self-contained), ``anytime_epochs.png``,
    ``anytime_seconds.png``, ``final_mse.png`` and ``trials.csv``."""
    store, out = Path(store), Path(out_dir)
    groups, notes = load_runs(store)
    out.mkdir(parents=True, exist_ok=True)
    order = strategy_order(groups)  # by validation MSE: the test split never orders

    images = {
        "anytime_epochs.png": _figure_anytime(groups, order, "epochs", out / "anytime_epochs.png"),
        "anytime_seconds.png": _figure_anytime(
            groups, order, "seconds", out / "anytime_seconds.png"
        ),
        "final_mse.png": _figure_final(groups, order, out / "final_mse.png"),
    }
    n_trials = write_trials_csv(groups, out / "trials.csv")
    stats_blocks, comparisons, _ = _statistics(groups, order)
    audit_blocks, overruns, incomplete = _audit(groups, order)
    ranks, ranked_seeds = _ranks(groups, order)

    runs = [r for seeds in groups.values() for r in seeds.values()]
    task = (runs[0].study.objective or {}).get("task", {}).get("name", "the task")
    seeds = sorted({r.seed for r in runs})
    title = f"Benchmark report: {len(groups)} search strategies on {task}"
    blocks: list[Block] = [
        Heading(title, 1),
        Para(
            f"{len(runs)} runs — {len(groups)} strategies x {len(seeds)} paired seed(s) — from "
            f"the store `{store.name}`, {n_trials} trials in all. Scores are mean squared errors "
            "(MSE, lower is better) of the median house value in units of 100,000 US dollars."
        ),
    ]
    if overruns:
        blocks.append(Para(f"**⚠ BUDGET OVERRUN** in {len(overruns)} run(s): see the audit."))
    planned = notes.get("benchmark") or {}
    missing = [
        f"{s}-seed{k}"
        for k in planned.get("seeds", [])
        for s in planned.get("strategies", [])
        if k not in groups.get(s, {})
    ]
    if incomplete or missing:
        blocks.append(
            Para(
                f"**Incomplete benchmark**: {len(incomplete)} run(s) unfinished"
                + (f", {len(missing)} planned run(s) not started" if missing else "")
                + ". Rerun the same benchmark command to finish them; until then the numbers "
                "below compare unequal sets of runs."
            )
        )
    if notes["duplicates"]:
        blocks.append(
            Para(
                "Studies left out (another study of the same strategy and seed came first): "
                + ", ".join(notes["duplicates"])
            )
        )
    blocks += [
        Heading("Verdict"),
        Para(_verdict(Findings(groups, order, comparisons, overruns))),
        Heading("Protocol"),
        _protocol(groups, order, notes, store),
        Heading("Anytime performance"),
        Figure(
            "anytime_epochs.png",
            "best validation MSE so far against epochs spent",
            "Best validation MSE found so far (log scale) against the epochs spent, one line "
            "per strategy: the median over seeds, with the band between the first and third "
            "quartiles. Lower and further left is better: a line that drops early finds good "
            "models with little budget. A step happens when a trial that beats the incumbent "
            "finishes, and is drawn at the epoch count including that whole trial. The dotted "
            "line is the book's cross-validated MSE (an external reference).",
        ),
        Figure(
            "anytime_seconds.png",
            "best validation MSE so far against wall-clock seconds",
            "The same against wall-clock seconds. A run's clock is its trials' own durations in "
            "the order they finished, rescaled so that they add up to the run's wall time "
            "(resume gaps excluded): the framework's overhead (strategy, store) is spread over "
            "the trials in proportion to their length. A strategy that needs many short trials "
            "or expensive proposals looks worse here than against epochs.",
        ),
        Heading("Average rank over the budget"),
        ranks,
        Heading("Final results"),
        _final_table(groups, order),
        Figure(
            "final_mse.png",
            "final validation and test MSE per strategy and seed",
            "Each run's incumbent: validation MSE (circles, what the strategy selected on) and "
            "test MSE (crosses, reported only), one mark per seed, a bar at the median. The "
            "dotted and dashed lines are the book's RandomizedSearchCV CV and test MSE "
            "(external reference). Marks above the plot's top are cut off; a run whose every "
            "trial failed has no mark (the final table counts those).",
        ),
        *_best_configurations(groups, order),
        *stats_blocks,
        Heading("Time to the book's result"),
        _time_to_target(groups, order),
        *audit_blocks,
        Heading("Files"),
        Para(
            "`trials.csv` holds every trial of every run (strategy, seed, status, validation "
            "loss `loss`, `test_loss`, epochs, fidelity, seconds, timestamps, parameters as "
            "`param_*` columns); the figures are `anytime_epochs.png`, `anytime_seconds.png` "
            f"and `final_mse.png`. Regenerate this report with `tunebench report {store.name} "
            "-o DIR`."
        ),
    ]
    if ranked_seeds == 0:
        blocks.append(Para("No seed was run by every strategy, so no ranks were computed."))
    (out / "report.md").write_text(render_markdown(blocks), encoding="utf-8")
    (out / "report.html").write_text(render_html(blocks, images, title), encoding="utf-8")
    return out / "report.md"
