"""The report across problems: ``write_suite_report(stores, out_dir)`` reads each problem's
store, links each problem's own report, and writes the cross-problem statistics
(``across``) for each group of problems of one objective type — mean ranks over the budget,
normalised scores and their anytime curve, Friedman's test with a critical-difference
diagram, bootstrap intervals against random search, the smallest detectable effect — as
``report.md``, a self-contained ``report.html`` and the figures as PNG."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from pathlib import Path

from .across import (
    KIND_TITLES,
    GroupStatistics,
    ProblemRuns,
    by_kind,
    group_statistics,
    objective_kind,
)
from .across_figures import critical_difference_figure, forest_figure, score_curve_figure
from .document import Block, Figure, Heading, Para, Table, render_html, render_markdown
from .formats import fmt_p
from .reference import problem_text
from .runs import load_runs
from .stats import ALPHA, MIN_BOOTSTRAP, finite_median

__all__ = ["write_suite_report"]


def _fmt(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else "—"


def _load(stores: Sequence[str | Path]) -> tuple[list[ProblemRuns], list[Path]]:
    problems, paths = [], []
    for store in stores:
        path = Path(store)
        groups, notes = load_runs(path)
        text = problem_text(notes)
        # a store the benchmark did not note a problem in: named by its folder
        name = text.name if "problem" in (notes.get("benchmark") or {}) else path.parent.name
        if any(p.name == name for p in problems):  # the same problem twice: name by folder
            name = f"{name} ({path.parent.name})"
        problems.append(ProblemRuns(name, groups, objective_kind(groups), text.loss_name))
        paths.append(path)
    return problems, paths


def _problems_table(problems: list[ProblemRuns], paths: list[Path], out: Path) -> Table:
    rows = []
    for problem, path in zip(problems, paths, strict=True):
        report = path.parent / "report.md"
        link = os.path.relpath(report, out).replace(os.sep, "/")
        runs = [r for seeds in problem.groups.values() for r in seeds.values()]
        failed = sum(not math.isfinite(r.final_val) for r in runs)
        seeds = sorted({r.seed for r in runs})
        rows.append(
            [
                f"[{problem.name}]({link})" if report.is_file() else problem.name,
                f"`{problem.kind}`",
                ", ".join(sorted(problem.groups)),
                str(len(seeds)),
                str(len(runs)),
                str(failed),
                _fmt(
                    finite_median([r.final_val for r in problem.groups.get("random", {}).values()]),
                    4,
                ),
                _fmt(min((r.final_val for r in runs), default=math.inf), 4),
            ]
        )
    return Table(
        [
            "problem (its report)",
            "objective type",
            "strategies",
            "seeds",
            "runs",
            "failed runs",
            "random's median final validation loss",
            "best validation loss found",
        ],
        rows,
        "Every problem of the benchmark, linked to its own report (anytime curves, final "
        "table, paired tests, best configurations, budget audit). Losses are in each problem's "
        "own unit; a failed run is one whose every trial failed. Normalised scores below run "
        "from 0 at the best loss found to 1 at random search's median.",
    )


def _ranks_table(stats: GroupStatistics) -> Table:
    rows = [
        [name, *(f"{v:.2f}" for v in stats.ranks[i])] for i, name in enumerate(stats.strategies)
    ]
    rows.sort(key=lambda row: float(row[-1]))
    return Table(
        ["strategy", *(f"{round(100 * f)} % of budget" for f in stats.fractions)],
        rows,
        f"Mean rank (1 = best of {len(stats.strategies)}) of each strategy's best validation "
        "loss once 10 %, 25 %, 50 % and 100 % of its epoch budget were spent, over the "
        f"{len(stats.blocks)} blocks (problem, seed); within a block ties share their rank "
        "and a run with no successful trial yet (failed) ranks last. Read across a row to see "
        "whether a strategy starts fast or finishes strong.",
    )


def _scores_blocks(stats: GroupStatistics, figure: str) -> list[Block]:
    blocks: list[Block] = [Heading("Normalised score", 3)]
    scored = list(stats.scores)
    if stats.unscaled:
        blocks.append(
            Para(
                "Left out of the scores: "
                + "; ".join(f"{name} ({why})" for name, why in stats.unscaled.items())
                + "."
            )
        )
    if not scored:
        blocks.append(Para("No problem of this group can be scored, so there is no score."))
        return blocks
    rows = []
    for i, name in enumerate(stats.strategies):
        values = [float(stats.scores[p][i]) for p in scored]
        rows.append([name, *(f"{v:.3f}" for v in values), f"{sum(values) / len(values):.3f}"])
    rows.sort(key=lambda row: float(row[-1]))
    blocks += [
        Table(
            ["strategy", *scored, f"mean over {len(scored)} problem(s)"],
            rows,
            "Each strategy's final validation loss as a normalised score (as Bayesmark's): 0 is "
            "the best validation loss any run found on the problem, 1 is random search's median "
            "final validation loss there; lower is better, and a score above 1 is worse than "
            "random search's typical run. Mean over the problem's seeds, then over problems, "
            "each problem weighing the same. A run whose every trial failed scores as the worst "
            "loss any trial of its problem reached.",
        ),
        Figure(
            figure,
            "mean normalised score against the fraction of the epoch budget spent",
            "Mean normalised score (0 = best validation loss found on the problem, 1 = random "
            "search's median final validation loss) of each strategy's best-so-far validation "
            "loss against the share of its epoch budget spent, averaged over seeds and then "
            "problems. A run with no successful trial yet scores as the problem's worst trial, "
            "so curves start high. Lower and further left is better.",
        ),
    ]
    return blocks


def _friedman_blocks(stats: GroupStatistics, figure: str) -> tuple[list[Block], bool]:
    result = stats.friedman
    blocks: list[Block] = [Heading("Friedman test and critical differences", 3)]
    if result.reason:
        blocks.append(Para(f"No Friedman test: {result.reason}."))
        return blocks, False
    verdict = (
        "the strategies' ranks differ significantly"
        if result.p < ALPHA
        else "no significant difference between the strategies' ranks"
    )
    blocks.append(
        Para(
            f"Friedman's test of the final validation losses over {result.n_blocks} blocks "
            f"(problem, seed) and {len(result.strategies)} strategies: chi² = "
            f"{result.statistic:.2f}, p = {fmt_p(result.p)} — {verdict} at the 5 % level. "
            "Nemenyi's post-hoc test (scikit-posthocs) compares every pair: two strategies "
            f"whose mean ranks differ by less than the critical difference, "
            f"{result.critical_difference:.2f}, are not significantly different."
        )
    )
    names = result.strategies
    blocks.append(
        Figure(
            figure,
            "critical-difference diagram of the mean final ranks",
            "Critical-difference diagram: each strategy at its mean rank of the final validation "
            "loss over the blocks (1 = best, on the left); a thick bar joins strategies that "
            "Nemenyi's test does not tell apart at the 5 % level, and the bar marked CD is the "
            "critical difference of mean ranks.",
        )
    )
    blocks.append(
        Table(
            ["", *names],
            [
                [a, *("—" if a == b else fmt_p(float(result.nemenyi.loc[a, b])) for b in names)]
                for a in names
            ],
            "Nemenyi's post-hoc p-values for every pair of strategies (already corrected for "
            "the number of pairs); below 0.05 means the pair's mean ranks differ significantly.",
        )
    )
    return blocks, True


def _differences_blocks(stats: GroupStatistics, figure: str) -> tuple[list[Block], bool]:
    blocks: list[Block] = [Heading("Each strategy against random search", 3)]
    if not stats.differences:
        why = (
            "random search did not run on every problem of the group"
            if "random" not in stats.strategies
            else "no problem of the group can be scored"
        )
        blocks.append(Para(f"No interval: {why}."))
        return blocks, False
    rows = []
    for d in stats.differences:
        ci = d.interval
        rows.append(
            [
                d.name,
                str(ci.n),
                f"{ci.mean:+.3f}",
                f"[{ci.low:+.3f}, {ci.high:+.3f}]" if math.isfinite(ci.low) else "— (one block)",
                "too few blocks to tell"
                if ci.n < MIN_BOOTSTRAP
                else "better"
                if ci.high < 0
                else "worse"
                if ci.low > 0
                else "cannot tell",
            ]
        )
    blocks.append(
        Table(
            [
                "strategy",
                "blocks",
                "mean difference in normalised score",
                "95 % bootstrap interval",
                "than random search",
            ],
            rows,
            "Each strategy's final normalised score minus random search's in the same block "
            "(problem, seed): the mean, and its 95 % bootstrap confidence interval (BCa, "
            "scipy.stats.bootstrap, blocks resampled with their pairs). Negative is better than "
            "random search; an interval that excludes 0 says so with 95 % confidence, one that "
            "contains it cannot tell. The width shows how much the seeds leave uncertain."
            + (
                f" With fewer than {MIN_BOOTSTRAP} blocks a bootstrap interval is too narrow to "
                "trust (it resamples the few differences there are): it is shown, but not read "
                "as better or worse."
                if min(d.interval.n for d in stats.differences) < MIN_BOOTSTRAP
                else ""
            ),
        )
    )
    drawable = any(math.isfinite(d.interval.low) for d in stats.differences)
    if drawable:
        blocks.append(
            Figure(
                figure,
                "mean difference to random search with 95 % bootstrap intervals",
                "The table's intervals: a dot at the mean difference in normalised score, a line "
                "across the 95 % bootstrap interval; left of the dashed line is better than "
                "random search. When a strategy lies more than 10 from 0 (one whose runs "
                "failed), the axis is logarithmic beyond ±1.",
            )
        )
    return blocks, drawable


def _detectable_blocks(stats: GroupStatistics) -> list[Block]:
    blocks: list[Block] = [Heading("The smallest effect the protocol could detect", 3)]
    if not stats.detectable:
        blocks.append(Para("Nothing is compared with random search, so no effect is tested."))
        return blocks
    loss_names = {p.name: p.loss_name for p in stats.problems}
    rows = []
    for d in stats.detectable:
        across = d.where == "across the group"
        rows.append(
            [
                f"**{d.where}**" if across else d.where,
                str(d.n),
                str(d.m),
                _fmt(d.size, 2),
                _fmt(d.sd, 4),
                _fmt(d.smallest, 4),
                "normalised score" if across else f"validation {loss_names[d.where]}",
                "—" if across else f"{d.smallest_wilcoxon_p:.3g} (x {d.m} by Holm)",
                "—" if across else str(d.seeds_needed),
            ]
        )
    blocks.append(
        Table(
            [
                "where",
                "pairs",
                "comparisons",
                "detectable effect (SD)",
                "typical SD of paired differences",
                "smallest detectable difference",
                "unit",
                "smallest Wilcoxon p",
                "seeds for Holm to pass",
            ],
            rows,
            "The mean difference to random search that a paired t-test on the given pairs "
            "(seeds of one problem; blocks across the group) detects with 80 % power at "
            "0.05 / comparisons (statsmodels' TTestPower; the first step of Holm's correction), "
            "in standard deviations of the paired differences and, times their observed SD (the "
            "median over strategies, so that a strategy whose runs all failed does not inflate "
            "it), in the problem's loss (across the group: in normalised score); '—' when every "
            "pair tied. A true "
            "difference smaller than that would usually be missed. The exact Wilcoxon test of "
            "each problem's report cannot give p below 2 / 2^n with n seeds; the last column is "
            "how many seeds let Holm's correction over the comparisons pass at all.",
        )
    )
    return blocks


def _group_blocks(stats: GroupStatistics, out: Path, images: dict[str, bytes]) -> list[Block]:
    kind = re.sub(r"\W+", "_", stats.kind)
    n = len(stats.problems)
    blocks: list[Block] = [
        Heading(f"{stats.title.capitalize()} (`{stats.kind}`): {n} problem{'s' * (n != 1)}")
    ]
    per_problem = {}
    for name, seed in stats.blocks:
        per_problem.setdefault(name, []).append(seed)
    if len(stats.strategies) < 2:
        blocks.append(
            Para(
                f"Only {len(stats.strategies)} strategy ran on every problem of this group "
                f"({', '.join(stats.strategies) or 'none'}): there is nothing to compare."
            )
        )
        return blocks
    described = "; ".join(
        f"{p.name}: {len(per_problem.get(p.name, []))} seed(s)" for p in stats.problems
    )
    blocks.append(
        Para(
            f"{n} problem(s), {len(stats.strategies)} strategies ({', '.join(stats.strategies)})"
            f", **{len(stats.blocks)} blocks** — a block is one (problem, seed) pair that every "
            f"one of these strategies ran ({described}). Ranks, the Friedman test and the "
            "bootstrap intervals are over the blocks, so a problem with more seeds weighs more "
            "there; the mean normalised score gives every problem the same weight. Only problems "
            "of this objective type are pooled here."
            + (
                " Left out (not run on every problem of the group): "
                + ", ".join(stats.left_out)
                + "."
                if stats.left_out
                else ""
            )
        )
    )
    if not stats.blocks:
        blocks.append(Para("No seed was run by every strategy, so nothing is compared."))
        return blocks
    blocks += [Heading("Mean rank over the budget", 3), _ranks_table(stats)]

    curve = f"score_curve_{kind}.png"
    score_blocks = _scores_blocks(stats, curve)
    if any(isinstance(b, Figure) for b in score_blocks):
        images[curve] = score_curve_figure(stats, out / curve)
    blocks += score_blocks

    cd = f"critical_difference_{kind}.png"
    friedman_blocks, drawn = _friedman_blocks(stats, cd)
    if drawn:
        images[cd] = critical_difference_figure(stats, out / cd)
    blocks += friedman_blocks

    forest = f"bootstrap_{kind}.png"
    difference_blocks, drawn = _differences_blocks(stats, forest)
    if drawn:
        images[forest] = forest_figure(stats, out / forest)
    blocks += difference_blocks
    blocks += _detectable_blocks(stats)
    return blocks


def write_suite_report(stores: Sequence[str | Path], out_dir: str | Path) -> Path:
    """Write the report across the problems whose stores are given (one store a problem,
    each problem's own report next to its store) into ``out_dir``; return ``report.md``'s
    path. Also written: ``report.html`` (self-contained) and the figures as PNG."""
    if not stores:
        raise ValueError("no store given: pass the runs.db of each problem")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    problems, paths = _load(stores)
    kinds = by_kind(problems)
    runs = sum(len(seeds) for p in problems for seeds in p.groups.values())
    title = f"Benchmark across {len(problems)} problem{'s' * (len(problems) != 1)}"
    groups_text = ", ".join(
        f"{KIND_TITLES.get(kind, kind)} (`{kind}`, {len(members)})"
        for kind, members in kinds.items()
    )
    blocks: list[Block] = [
        Heading(title, 1),
        Para(
            f"{runs} runs over {len(problems)} problem(s), each in its own store and with its "
            "own report (linked below). Problems are pooled only with problems of the same "
            f"objective type: {groups_text}. Strategies are compared by validation loss; test "
            "losses play no part here."
        ),
        Heading("Problems"),
        _problems_table(problems, paths, out),
    ]
    images: dict[str, bytes] = {}
    for kind, members in kinds.items():
        blocks += _group_blocks(group_statistics(kind, members), out, images)
    blocks += [
        Heading("Files"),
        Para(
            "The figures are "
            + (", ".join(f"`{name}`" for name in images) or "none")
            + "; each problem's folder holds its store (`runs.db`), its report and its "
            "`trials.csv`."
        ),
    ]
    (out / "report.md").write_text(render_markdown(blocks), encoding="utf-8")
    (out / "report.html").write_text(render_html(blocks, images, title), encoding="utf-8")
    return out / "report.md"
