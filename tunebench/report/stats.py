"""The report's statistics: medians and quartiles that leave failed runs out, paired Wilcoxon
tests (``scipy.stats``) with Holm's correction (``statsmodels``), average ranks, and the
order of strategies and the best run, all by validation MSE (the test split never orders).

A run whose every trial failed has no incumbent (loss ``inf`` or NaN): it is left out of
medians and quartiles, ranks last and loses its pair in a paired test. Where a number must
stand for it (a bootstrap interval of mean differences), it counts as the worst loss any trial
of the problem reached (``worst_trial_loss``, ``failed_as``).

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
    "MIN_BOOTSTRAP",
    "Comparison",
    "Interval",
    "PairedEffect",
    "average_ranks",
    "bootstrap_mean",
    "common_seeds",
    "compare",
    "compare_with_leader",
    "compare_with_random",
    "detectable_effect_size",
    "failed_as",
    "failed_runs",
    "finite_median",
    "holm",
    "median_failed_last",
    "median_iqr",
    "overall_best",
    "paired_differences",
    "paired_effects",
    "seeds_needed",
    "smallest_p",
    "strategy_order",
    "typical_sd",
    "worst_trial_loss",
]

#: The significance level of every test in the report.
ALPHA = 0.05

#: Fewer paired seeds (or blocks) than this, and a bootstrap interval is too narrow to trust:
#: it resamples the few differences there are. The report shows it but draws no conclusion.
MIN_BOOTSTRAP = 5


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


def worst_trial_loss(groups: Groups) -> float:
    """The worst (highest) finite validation loss of any successful trial of any run: what a
    run with no successful trial counts as where a number must stand for it (NaN: no trial
    succeeded anywhere)."""
    losses = [
        t.loss
        for seeds in groups.values()
        for run in seeds.values()
        for t in run.study.finished_trials
        if t.status == "ok" and t.loss is not None and math.isfinite(t.loss)
    ]
    return float(max(losses)) if losses else math.nan


def failed_as(values: Sequence[float], penalty: float) -> np.ndarray:
    """The values with each failed run's (``inf`` or NaN) replaced by ``penalty``, and
    ``penalty`` by 0 when it is NaN itself (nothing succeeded: every value ties).

    >>> failed_as([0.2, float("inf"), float("nan")], 0.9).tolist()
    [0.2, 0.9, 0.9]
    """
    a = np.asarray(values, dtype=float)
    return np.where(np.isfinite(a), a, 0.0 if math.isnan(penalty) else penalty)


@dataclass(frozen=True)
class Interval:
    """A mean with its bootstrap confidence interval (NaN bounds: fewer than 2 values)."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def bootstrap_mean(
    values: Sequence[float], confidence: float = 0.95, seed: int = 0, n_resamples: int = 9999
) -> Interval:
    """The mean of ``values`` (paired differences: one a block) and its bootstrap confidence
    interval (``scipy.stats.bootstrap``, BCa; the blocks are resampled). The same values give
    the same interval (a private generator seeded by ``seed``). Identical values give a
    zero-width interval; fewer than two, NaN bounds.

    >>> bootstrap_mean([-0.3, -0.2, -0.25, -0.1, -0.2]).high < 0
    True
    >>> bootstrap_mean([0.1, 0.1, 0.1])
    Interval(mean=0.1, low=0.1, high=0.1, n=3)
    """
    a = np.asarray(values, dtype=float)
    if not a.size:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(np.mean(a))
    if a.size < 2:
        return Interval(mean, math.nan, math.nan, 1)
    if np.all(a == a[0]):  # no spread: the bootstrap distribution is one point
        return Interval(float(a[0]), float(a[0]), float(a[0]), int(a.size))
    from scipy.stats import bootstrap

    low = high = math.nan
    for method in ("BCa", "percentile"):  # BCa can be undefined on tiny, lumpy samples
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = bootstrap(
                (a,),
                np.mean,
                confidence_level=confidence,
                n_resamples=n_resamples,
                method=method,
                rng=np.random.default_rng(seed),
            )
        low, high = (float(v) for v in result.confidence_interval)
        if math.isfinite(low) and math.isfinite(high):
            break
    return Interval(mean, low, high, int(a.size))


def detectable_effect_size(n: int, m: int = 1, power: float = 0.8) -> float:
    """The smallest mean paired difference, in standard deviations of the differences, that
    a two-sided paired t-test on ``n`` pairs detects with probability ``power`` at the level
    0.05 / ``m`` (Bonferroni: the first step of Holm's correction over ``m`` comparisons);
    ``inf`` when no effect up to 1,000 SD is (fewer than 2 pairs). The power is statsmodels'
    ``TTestPower``; the root is found by bisection, since its ``solve_power`` stops short of
    the target with few pairs (10 SD for 2 pairs at 0.05 / 3, whose power is 0.29).

    >>> round(detectable_effect_size(10, 1), 3), round(detectable_effect_size(5, 3), 3)
    (0.996, 2.292)
    >>> detectable_effect_size(1)
    inf
    """
    if n < 2:
        return math.inf
    from statsmodels.stats.power import TTestPower

    analysis = TTestPower()
    alpha = ALPHA / max(m, 1)

    def reaches(effect: float) -> bool:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = float(analysis.power(effect, nobs=n, alpha=alpha, alternative="two-sided"))
            if math.isnan(value):  # scipy's nct.cdf of the negligible lower tail gave NaN
                value = float(analysis.power(effect, nobs=n, alpha=alpha / 2, alternative="larger"))
        return value >= power

    low, high = 0.0, 1.0
    while not reaches(high):
        low, high = high, 2 * high
        if high > 1000:
            return math.inf
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (low, middle) if reaches(middle) else (middle, high)
    return round(high, 6)


def typical_sd(samples: Sequence[Sequence[float]]) -> float:
    """The median, over several samples of paired differences (one a strategy), of their
    standard deviations (ddof 1): the spread of a typical comparison, which a strategy whose
    every run failed does not inflate. Samples of fewer than two values are left out (NaN:
    none left).

    >>> typical_sd([[1.0, 3.0], [2.0, 2.0, 2.0], [0.0, 100.0], [5.0]])
    1.4142135623730951
    """
    sds = [float(np.std(a, ddof=1)) for a in map(np.asarray, samples) if a.size >= 2]
    return float(np.median(sds)) if sds else math.nan


@dataclass(frozen=True)
class PairedEffect:
    """``name``'s final validation loss minus ``baseline``'s, seed by seed: the mean with its
    bootstrap interval, the standard deviation of the differences, and how many pairs held a
    failed run (counted as the problem's worst trial loss)."""

    name: str
    interval: Interval
    sd: float
    failed_pairs: int
    differences: tuple[float, ...] = ()
    baseline: str = "random"


def paired_effects(
    groups: Groups, names: Sequence[str], baseline: str = "random", seed: int = 0
) -> list[PairedEffect]:
    """Each strategy of ``names`` (but the baseline) against ``baseline`` on the seeds both
    ran: the mean paired difference of final validation loss with its 95 % bootstrap
    interval (``bootstrap_mean``). A failed run counts as the worst loss any trial of the
    problem reached (``worst_trial_loss``), so that it costs its strategy without making the
    mean infinite. A strategy sharing no seed with the baseline is left out."""
    if baseline not in groups:
        return []
    penalty = worst_trial_loss(groups)
    effects = []
    for name in names:
        seeds = common_seeds(groups, [name, baseline]) if name != baseline else []
        if not seeds:
            continue
        x = np.array([groups[name][s].final_val for s in seeds])
        y = np.array([groups[baseline][s].final_val for s in seeds])
        diff = failed_as(x, penalty) - failed_as(y, penalty)
        effects.append(
            PairedEffect(
                name=name,
                interval=bootstrap_mean(diff, seed=seed),
                sd=float(np.std(diff, ddof=1)) if len(diff) > 1 else math.nan,
                failed_pairs=int(np.sum(~np.isfinite(x) | ~np.isfinite(y))),
                differences=tuple(float(d) for d in diff),
                baseline=baseline,
            )
        )
    return effects


def compare_with_leader(groups: Groups, order: list[str]) -> list[Comparison]:
    """Every other strategy against the leader (``order[0]``, the lowest median validation
    loss) — the same paired Wilcoxon test as ``compare`` — Holm-corrected over these
    comparisons; each ``Comparison`` has the leader as its ``baseline``. Empty when there is
    one strategy."""
    if len(order) < 2:
        return []
    leader = order[0]
    comparisons = [c for name in order[1:] if (c := compare(groups, name, leader))]
    for comparison, adjusted in zip(comparisons, holm([c.p for c in comparisons]), strict=True):
        comparison.p_holm = adjusted
    return comparisons
