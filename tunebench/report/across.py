"""Conclusions across problems: mean ranks over the budget, a normalised score, a Friedman
test with Nemenyi's post-hoc (``scikit-posthocs``), bootstrap intervals of each strategy's
difference to random search, and the smallest effect the protocol could detect.

Pure functions over the ``Groups`` of each problem (``load_runs``). A **block** is one
(problem, seed) pair that every compared strategy ran; strategies are ranked within a block
by the best validation loss each had reached at a point of its epoch budget (a run with no
successful trial yet ranks last; ties share their rank). Problems are compared only with
problems of their own objective type (``describe()["type"]``: ``keras``, trained networks;
``function``, synthetic functions), so that cheap functions run with many seeds do not drown
the networks: ``group_statistics`` gives one set of statistics a type.

The **normalised score** of a loss on a problem (as Bayesmark's) is 0 at the best validation
loss any run found on that problem and 1 at random search's median final validation loss
there; a run with no successful trial (yet) scores as the worst loss any trial of that
problem reached, so that scores stay finite and a failure costs its strategy.

>>> scale = Scale(best=0.25, random_median=0.5, worst=1.25)
>>> scale.score([0.25, 0.375, 0.5, float("inf")]).tolist()
[0.0, 0.5, 1.0, 4.0]
>>> block_ranks(np.array([[0.3, 0.1, float("inf")], [0.2, 0.2, float("nan")]])).tolist()
[[2.0, 1.0, 3.0], [1.5, 1.5, 3.0]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .runs import Groups, Run
from .stats import (
    ALPHA,
    Interval,
    bootstrap_mean,
    common_seeds,
    detectable_effect_size,
    finite_median,
    paired_effects,
    seeds_needed,
    smallest_p,
    typical_sd,
    worst_trial_loss,
)

__all__ = [
    "FRACTIONS",
    "KIND_TITLES",
    "Detectable",
    "Friedman",
    "GroupStatistics",
    "ProblemRuns",
    "Scale",
    "ScoreDifference",
    "block_ranks",
    "blocks_of",
    "by_kind",
    "friedman",
    "group_statistics",
    "loss_at",
    "loss_matrix",
    "mean_ranks",
    "objective_kind",
    "scale_of",
    "shared_strategies",
]

#: Points of the epoch budget at which strategies are ranked.
FRACTIONS = (0.10, 0.25, 0.50, 1.00)
#: How the report names each objective type.
KIND_TITLES = {"keras": "trained networks", "function": "synthetic functions"}
BASELINE = "random"


@dataclass(frozen=True)
class ProblemRuns:
    """One problem's runs (``{strategy: {seed: Run}}``), its name, objective type and the
    name of its loss."""

    name: str
    groups: Groups
    kind: str = "unknown"
    loss_name: str = "loss"


def objective_kind(groups: Groups) -> str:
    """The objective type the runs' stored description records (``"keras"``,
    ``"function"``); a store written before types were recorded holds a Keras task."""
    kinds = set()
    for seeds in groups.values():
        for run in seeds.values():
            objective = run.study.objective or {}
            kinds.add(objective.get("type") or ("keras" if "task" in objective else "unknown"))
    return "+".join(sorted(kinds)) or "unknown"


def by_kind(problems: Sequence[ProblemRuns]) -> dict[str, list[ProblemRuns]]:
    """The problems by objective type, in the order the types first appear."""
    kinds: dict[str, list[ProblemRuns]] = {}
    for problem in problems:
        kinds.setdefault(problem.kind, []).append(problem)
    return kinds


def shared_strategies(problems: Sequence[ProblemRuns]) -> list[str]:
    """The strategies that ran on every problem: random search first, then by name."""
    if not problems:
        return []
    names = set.intersection(*(set(p.groups) for p in problems))
    return sorted(names, key=lambda name: (name != BASELINE, name))


def blocks_of(problems: Sequence[ProblemRuns], strategies: Sequence[str]) -> list[tuple[str, int]]:
    """The blocks: every (problem, seed) pair that each of ``strategies`` ran."""
    return [
        (p.name, seed)
        for p in problems
        if all(name in p.groups for name in strategies)
        for seed in common_seeds(p.groups, strategies)
    ]


def loss_at(run: Run, fraction: float) -> float:
    """The best validation loss ``run`` had reached once ``fraction`` of its epoch budget
    was spent; ``inf`` when it had no successful trial yet (or never had one)."""
    limit = run.budget_epochs or (float(run.epochs[-1]) if len(run.epochs) else 0.0)
    value = float(run.best_at(fraction * limit))
    return value if math.isfinite(value) else math.inf


def loss_matrix(
    problems: Sequence[ProblemRuns], strategies: Sequence[str], fraction: float = 1.0
) -> np.ndarray:
    """Best validation loss at ``fraction`` of the budget: one row a block (``blocks_of``),
    one column a strategy; ``inf`` for no successful trial yet."""
    by_name = {p.name: p for p in problems}
    rows = [
        [loss_at(by_name[problem].groups[name][seed], fraction) for name in strategies]
        for problem, seed in blocks_of(problems, strategies)
    ]
    return np.array(rows, dtype=float).reshape(len(rows), len(strategies))


def block_ranks(losses: np.ndarray) -> np.ndarray:
    """Ranks within each row (1 = lowest loss); ``inf`` and NaN rank last, ties share the
    mean of their ranks."""
    from scipy.stats import rankdata

    values = np.where(np.isfinite(losses), losses, math.inf)
    return rankdata(values, axis=1) if values.size else values


def mean_ranks(
    problems: Sequence[ProblemRuns],
    strategies: Sequence[str],
    fractions: Sequence[float] = FRACTIONS,
) -> np.ndarray:
    """Each strategy's mean rank over the blocks at each fraction of the budget: one row a
    strategy, one column a fraction (no rows' worth of blocks: an empty array)."""
    columns = [block_ranks(loss_matrix(problems, strategies, f)) for f in fractions]
    if not columns or not columns[0].shape[0]:
        return np.empty((len(strategies), 0))
    return np.array([c.mean(axis=0) for c in columns]).T


@dataclass(frozen=True)
class Scale:
    """A problem's normalised score: 0 at ``best`` (the best validation loss any run found),
    1 at ``random_median`` (random search's median final validation loss); a run with no
    successful trial scores as ``worst`` (the worst loss of any trial of the problem)."""

    best: float
    random_median: float
    worst: float

    @property
    def failed_score(self) -> float:
        return max(1.0, (self.worst - self.best) / (self.random_median - self.best))

    def score(self, losses: Sequence[float] | np.ndarray) -> np.ndarray:
        a = np.asarray(losses, dtype=float)
        scores = (np.where(np.isfinite(a), a, self.best) - self.best) / (
            self.random_median - self.best
        )
        return np.where(np.isfinite(a), scores, self.failed_score)


def scale_of(groups: Groups) -> tuple[Scale | None, str]:
    """The problem's score scale, or None and why it has none (no random search, every
    random run failed, or random's median is already the best loss found)."""
    if BASELINE not in groups:
        return None, "random search did not run on it"
    finals = [r.final_val for seeds in groups.values() for r in seeds.values()]
    finite = [v for v in finals if math.isfinite(v)]
    random_median = finite_median([r.final_val for r in groups[BASELINE].values()])
    if math.isnan(random_median):
        return None, "every random-search run failed"
    best = min(finite)
    if random_median <= best:
        return None, "random search's median is already the best loss found (nothing to scale)"
    return Scale(best, random_median, max(worst_trial_loss(groups), random_median)), ""


def _scored_problems(
    problems: Sequence[ProblemRuns],
) -> list[tuple[ProblemRuns, Scale]]:
    scored = []
    for p in problems:
        scale, _ = scale_of(p.groups)
        if scale is not None:
            scored.append((p, scale))
    return scored


def score_matrix(
    problems: Sequence[ProblemRuns], strategies: Sequence[str], fraction: float = 1.0
) -> tuple[np.ndarray, list[tuple[str, int]]]:
    """Normalised scores at ``fraction`` of the budget, one row a block of a problem that
    has a scale (``scale_of``), one column a strategy; and those blocks."""
    rows, blocks = [], []
    for p, scale in _scored_problems(problems):
        losses = loss_matrix([p], strategies, fraction)
        rows.extend(scale.score(losses))
        blocks += blocks_of([p], strategies)
    return np.array(rows, dtype=float).reshape(len(rows), len(strategies)), blocks


def problem_scores(
    problems: Sequence[ProblemRuns], strategies: Sequence[str], fraction: float = 1.0
) -> dict[str, np.ndarray]:
    """Each scored problem's mean normalised score of each strategy (over its blocks)."""
    scores = {}
    for p, _ in _scored_problems(problems):
        matrix, _ = score_matrix([p], strategies, fraction)
        if matrix.shape[0]:
            scores[p.name] = matrix.mean(axis=0)
    return scores


def anytime_scores(
    problems: Sequence[ProblemRuns], strategies: Sequence[str], fractions: Sequence[float]
) -> np.ndarray:
    """The mean over scored problems of each strategy's mean normalised score at each
    fraction of the budget (every problem weighs the same): one row a strategy."""
    columns = []
    for fraction in fractions:
        per_problem = list(problem_scores(problems, strategies, fraction).values())
        columns.append(
            np.mean(per_problem, axis=0) if per_problem else np.full(len(strategies), np.nan)
        )
    return np.array(columns).T if columns else np.empty((len(strategies), 0))


@dataclass
class Friedman:
    """Friedman's test of the final losses over the blocks, Nemenyi's post-hoc p-values
    (``scikit_posthocs.posthoc_nemenyi_friedman``) and the critical difference of mean
    ranks; ``reason`` says why the test could not run (then the rest is empty)."""

    strategies: list[str]
    n_blocks: int
    mean_ranks: dict[str, float]
    statistic: float = math.nan
    p: float = math.nan
    nemenyi: Any = None
    critical_difference: float = math.nan
    reason: str = ""


def friedman(problems: Sequence[ProblemRuns], strategies: Sequence[str]) -> Friedman:
    """Friedman's test (``scipy.stats.friedmanchisquare``) over the blocks of final
    validation losses, with Nemenyi's all-pairs post-hoc test from scikit-posthocs and
    Nemenyi's critical difference (Demšar 2006: q_alpha sqrt(k (k + 1) / 6N), q_alpha the
    studentized range quantile over sqrt 2). Needs 3 strategies and 2 blocks."""
    ranks = block_ranks(loss_matrix(problems, strategies, 1.0))
    k, n = len(strategies), ranks.shape[0]
    means = {name: float(ranks[:, i].mean()) for i, name in enumerate(strategies)} if n else {}
    result = Friedman(list(strategies), n, means)
    if k < 3:
        result.reason = (
            f"Friedman's test needs at least 3 strategies; {k} ran on every problem of the group"
        )
        return result
    if n < 2:
        result.reason = f"Friedman's test needs at least 2 blocks; there is {n}"
        return result
    if np.all(ranks == ranks[0]) and np.all(ranks[0] == ranks[0, 0]):
        result.reason = "every strategy tied in every block: there is nothing to test"
        return result
    import pandas as pd
    import scikit_posthocs
    from scipy.stats import friedmanchisquare, studentized_range

    statistic, p = friedmanchisquare(*ranks.T)
    result.statistic, result.p = float(statistic), float(p)
    nemenyi = scikit_posthocs.posthoc_nemenyi_friedman(pd.DataFrame(ranks, columns=strategies))
    result.nemenyi = nemenyi.loc[list(strategies), list(strategies)]
    q_alpha = float(studentized_range.ppf(1 - ALPHA, k, np.inf)) / math.sqrt(2)
    result.critical_difference = q_alpha * math.sqrt(k * (k + 1) / (6 * n))
    return result


@dataclass(frozen=True)
class ScoreDifference:
    """A strategy's normalised score minus random search's, block by block: the mean with
    its 95 % bootstrap interval (blocks resampled) and the SD of the differences."""

    name: str
    interval: Interval
    sd: float
    differences: tuple[float, ...]


def score_differences(
    problems: Sequence[ProblemRuns], strategies: Sequence[str], seed: int = 0
) -> list[ScoreDifference]:
    """Each strategy but random search against it, in final normalised score over the blocks
    of the scored problems (``stats.bootstrap_mean``)."""
    if BASELINE not in strategies:
        return []
    scores, _ = score_matrix(problems, strategies, 1.0)
    base = scores[:, list(strategies).index(BASELINE)]
    differences = []
    for i, name in enumerate(strategies):
        if name == BASELINE or not scores.shape[0]:
            continue
        diff = scores[:, i] - base
        differences.append(
            ScoreDifference(
                name,
                bootstrap_mean(diff, seed=seed),
                float(np.std(diff, ddof=1)) if len(diff) > 1 else math.nan,
                tuple(float(d) for d in diff),
            )
        )
    return differences


@dataclass(frozen=True)
class Detectable:
    """The smallest mean difference to random search a paired t-test on ``n`` pairs detects
    with 80 % power at 0.05 / ``m``: ``size`` standard deviations; times the typical SD
    ``sd`` of the observed paired differences (``stats.typical_sd``), ``smallest``, in the
    unit of ``where``'s differences (a problem's loss, or normalised score across problems)."""

    where: str
    n: int
    m: int
    size: float
    sd: float

    @property
    def smallest(self) -> float:
        """In the differences' unit; NaN when they have no spread (every pair tied)."""
        return self.size * self.sd if self.sd > 0 else math.nan

    @property
    def smallest_wilcoxon_p(self) -> float:
        return smallest_p(self.n)

    @property
    def seeds_needed(self) -> int:
        return seeds_needed(self.m)


def detectable_per_problem(problem: ProblemRuns, strategies: Sequence[str]) -> Detectable | None:
    """``Detectable`` for one problem, in its loss (None: no random search, or no pair)."""
    effects = paired_effects(problem.groups, [s for s in strategies if s != BASELINE])
    if not effects:
        return None
    n = min(e.interval.n for e in effects)
    m = len(effects)
    return Detectable(
        problem.name,
        n,
        m,
        detectable_effect_size(n, m),
        typical_sd([e.differences for e in effects]),
    )


def detectable_across(differences: Sequence[ScoreDifference], where: str) -> Detectable | None:
    """``Detectable`` across a group's blocks, in normalised score (None: no comparison)."""
    if not differences:
        return None
    n, m = len(differences[0].differences), len(differences)
    return Detectable(
        where, n, m, detectable_effect_size(n, m), typical_sd([d.differences for d in differences])
    )


@dataclass
class GroupStatistics:
    """Every cross-problem statistic of one group of problems (one objective type)."""

    kind: str
    problems: list[ProblemRuns]
    strategies: list[str]
    left_out: list[str]
    blocks: list[tuple[str, int]]
    fractions: tuple[float, ...]
    ranks: np.ndarray
    scales: dict[str, Scale | None]
    unscaled: dict[str, str]
    scores: dict[str, np.ndarray]
    curve_fractions: np.ndarray
    curve: np.ndarray
    friedman: Friedman
    differences: list[ScoreDifference]
    detectable: list[Detectable] = field(default_factory=list)

    @property
    def title(self) -> str:
        return KIND_TITLES.get(self.kind, f"{self.kind} objectives")


def group_statistics(
    kind: str,
    problems: Sequence[ProblemRuns],
    fractions: Sequence[float] = FRACTIONS,
    curve_points: int = 50,
) -> GroupStatistics:
    """Ranks, scores, the anytime score curve, Friedman and Nemenyi, the bootstrap intervals
    and the detectable effects of one group of problems, over the strategies every problem
    of the group ran (``left_out``: the others)."""
    problems = list(problems)
    strategies = shared_strategies(problems)
    every = sorted({name for p in problems for name in p.groups})
    scales, unscaled = {}, {}
    for p in problems:
        scales[p.name], why = scale_of(p.groups)
        if why:
            unscaled[p.name] = why
    curve_fractions = np.linspace(1.0 / curve_points, 1.0, curve_points)
    differences = score_differences(problems, strategies)
    detectable = [d for p in problems if (d := detectable_per_problem(p, strategies))]
    if (across := detectable_across(differences, "across the group")) is not None:
        detectable.append(across)
    return GroupStatistics(
        kind=kind,
        problems=problems,
        strategies=strategies,
        left_out=[name for name in every if name not in strategies],
        blocks=blocks_of(problems, strategies),
        fractions=tuple(fractions),
        ranks=mean_ranks(problems, strategies, fractions),
        scales=scales,
        unscaled=unscaled,
        scores=problem_scores(problems, strategies, 1.0),
        curve_fractions=curve_fractions,
        curve=anytime_scores(problems, strategies, curve_fractions),
        friedman=friedman(problems, strategies),
        differences=differences,
        detectable=detectable,
    )
