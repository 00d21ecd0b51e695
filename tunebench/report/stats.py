"""The report's statistics: medians and quartiles that leave failed runs out, paired Wilcoxon
tests (``scipy.stats``) with Holm's correction (``statsmodels``), average ranks, and the
order of strategies and the best run, all by validation MSE (the test split never orders).

A run whose every trial failed has no incumbent (loss ``inf`` or NaN): it is left out of
medians and quartiles, ranks last and loses its pair in a paired test.

>>> holm([0.01, 0.04, 0.03])
[0.03, 0.06, 0.06]
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .runs import Groups, Run

__all__ = [
    "ALPHA",
    "Comparison",
    "average_ranks",
    "common_seeds",
    "compare",
    "compare_with_random",
    "failed_runs",
    "finite_median",
    "holm",
    "median_failed_last",
    "median_iqr",
    "overall_best",
    "paired_differences",
    "seeds_needed",
    "smallest_p",
    "strategy_order",
]

#: The significance level of every test in the report.
ALPHA = 0.05


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the order given (``statsmodels``'
    ``multipletests(method="holm")``, rounded to 12 decimals).

    A NaN p-value (a comparison that could not be tested) stays NaN and is left out of the
    family size. R's ``p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05), "holm")`` gives
    0.05 0.08 0.09 0.09 0.09:

    >>> holm([0.01, 0.02, 0.03, 0.04, 0.05])
    [0.05, 0.08, 0.09, 0.09, 0.09]
    >>> holm([0.04, float("nan"), 0.01])
    [0.04, nan, 0.02]
    """
    adjusted = [math.nan] * len(pvalues)
    tested = [i for i, p in enumerate(pvalues) if not math.isnan(p)]
    if not tested:
        return adjusted
    from statsmodels.stats.multitest import multipletests

    corrected = multipletests([pvalues[i] for i in tested], method="holm")[1]
    for i, p in zip(tested, corrected, strict=True):
        adjusted[i] = round(float(p), 12)
    return adjusted


def median_iqr(values: Sequence[float]) -> tuple[float, float, float]:
    """Median, first and third quartile of the finite values; NaN when there is none.

    A run that failed (no successful trial: loss ``inf`` or NaN) has no loss to summarise:
    it is left out here and counted separately (see ``failed_runs``).

    >>> median_iqr([0.5, float("inf"), 0.25, 1.0])
    (0.5, 0.375, 0.75)
    >>> median_iqr([1.0, 2.0, 3.0, 4.0])
    (2.5, 1.75, 3.25)
    """
    a = np.asarray(values, dtype=float)
    a = a[np.isfinite(a)]
    if not a.size:
        return math.nan, math.nan, math.nan
    q1, med, q3 = (float(v) for v in np.percentile(a, [25, 50, 75]))
    return med, q1, q3


def finite_median(values: Sequence[float]) -> float:
    """The median of the finite values (NaN when none).

    >>> finite_median([0.2, float("inf"), 0.3, 0.4]), finite_median([])
    (0.3, nan)
    """
    return median_iqr(values)[0] if len(values) else math.nan


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


def smallest_p(n: int) -> float:
    """The smallest two-sided p-value an exact Wilcoxon signed-rank test can give n pairs.

    >>> smallest_p(5)
    0.0625
    """
    return min(1.0, 2.0 / 2**n) if n > 0 else 1.0


def seeds_needed(m: int) -> int:
    """Paired seeds from which a Holm-corrected test over ``m`` comparisons can pass.

    >>> seeds_needed(1), seeds_needed(7)
    (6, 9)
    """
    return next(n for n in range(2, 64) if smallest_p(n) * max(m, 1) < ALPHA)


def common_seeds(groups: Groups, names: Sequence[str]) -> list[int]:
    """The seeds every one of the strategies ``names`` ran, in order."""
    seeds = None
    for name in names:
        own = set(groups[name])
        seeds = own if seeds is None else seeds & own
    return sorted(seeds or ())


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


def compare(groups: Groups, name: str, baseline: str) -> Comparison | None:
    """Paired Wilcoxon signed-rank test of ``name``'s final validation MSE against
    ``baseline``'s over their common seeds (two-sided; zero differences dropped, scipy's
    ``zero_method="wilcox"``). A run whose every trial failed loses its pair by more than
    any finite difference; two failed runs tie (``paired_differences``). None: no common
    seed."""
    from scipy.stats import wilcoxon

    seeds = common_seeds(groups, [name, baseline])
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
        # A share of the baseline's size, so that lower stays negative for negative losses.
        median_rel=float(np.median(diff[ok]) / abs(np.median(y[ok]))) if ok.any() else math.nan,
        p=p,
        baseline=baseline,
        failed_pairs=int(np.sum(~ok)),
    )


def compare_with_random(groups: Groups, order: list[str]) -> list[Comparison]:
    """Every other strategy against random search, Holm-corrected over the comparisons."""
    if "random" not in groups:
        return []
    comparisons = [
        c for name in order if name != "random" and (c := compare(groups, name, "random"))
    ]
    for comparison, adjusted in zip(comparisons, holm([c.p for c in comparisons]), strict=True):
        comparison.p_holm = adjusted
    return comparisons


def average_ranks(
    groups: Groups, order: list[str], fractions: Sequence[float]
) -> tuple[dict[str, np.ndarray | None], int]:
    """Each strategy's mean rank (1 = best) of its best validation MSE once each fraction
    of its epoch budget was spent, over the seeds every strategy ran (None: no such seed),
    and how many seeds that is. Ties share their rank; a run with no successful trial yet
    ranks last."""
    from scipy.stats import rankdata

    seeds = common_seeds(groups, order)
    ranks: dict[str, list[list[float]]] = {name: [] for name in order}
    for seed in seeds:
        per_fraction = []
        for fraction in fractions:
            values = []
            for name in order:
                run = groups[name][seed]
                limit = run.budget_epochs or (run.epochs[-1] if len(run.epochs) else 0)
                value = float(run.best_at(fraction * limit))
                values.append(value if math.isfinite(value) else math.inf)  # failed: last
            per_fraction.append(rankdata(values))
        for i, name in enumerate(order):
            ranks[name].append([r[i] for r in per_fraction])
    means = {
        name: np.mean(np.array(ranks[name]), axis=0) if ranks[name] else None for name in order
    }
    return means, len(seeds)


def strategy_order(groups: Groups) -> list[str]:
    """Strategies by median validation MSE, a failed run counting as worse than any loss
    (then by the median of the runs that did not fail, then by name). The test split plays
    no part."""

    def key(name: str) -> tuple[float, float, str]:
        values = [r.final_val for r in groups[name].values()]
        finite = finite_median(values)
        return median_failed_last(values), math.inf if math.isnan(finite) else finite, name

    return sorted(groups, key=key)


def overall_best(groups: Groups) -> Run | None:
    """The run whose incumbent has the lowest validation MSE of all (ties: strategy, seed)."""
    runs = [r for seeds in groups.values() for r in seeds.values() if math.isfinite(r.final_val)]
    return min(runs, key=lambda r: (r.final_val, r.strategy, r.seed), default=None)
