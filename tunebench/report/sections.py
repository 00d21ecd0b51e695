"""The report's sections after the verdict and the protocol card, as document blocks: the
average ranks over the budget, the final table, pruning (its table and the learning curves),
the best configurations, the tests against random search, time to the book's result and the
budget audit. Each table's caption says
how to read it."""

from __future__ import annotations

import math

from .curves import CurvePanel, log_scale
from .document import Block, Figure, Heading, Para, Table
from .formats import (
    best_run_sentence,
    fmt_median_iqr,
    fmt_p,
    fmt_param,
    fmt_value,
)
from .reference import BOOK, ProblemText
from .runs import Groups, Run
from .stats import (
    ALPHA,
    MIN_BOOTSTRAP,
    Comparison,
    average_ranks,
    compare_with_random,
    finite_median,
    median_failed_last,
    overall_best,
    smallest_p,
)

__all__ = [
    "FRACTIONS",
    "audit",
    "best_configurations",
    "final_table",
    "learning_curves_figure",
    "pruning_blocks",
    "ranks_table",
    "statistics_section",
    "time_to_target_table",
]

#: Points of the budget at which strategies are ranked.
FRACTIONS = (0.10, 0.25, 0.50, 1.00)


def ranks_table(groups: Groups, order: list[str], loss: str = "MSE") -> tuple[Table, int]:
    """The average ranks over the budget, and how many seeds they are over."""
    means, n_seeds = average_ranks(groups, order, FRACTIONS)
    rows = []
    for name in order:
        mean = means[name]
        if mean is not None:
            rows.append([name, *(f"{v:.2f}" for v in mean)])
        else:
            rows.append([name, *("—" for _ in FRACTIONS)])
    rows.sort(key=lambda r: float(r[-1]) if r[-1] != "—" else math.inf)
    caption = (
        f"Average rank (1 = best) of each strategy's best validation {loss} once 10 %, 25 %, 50 % "
        f"and 100 % of the epoch budget were spent, over the {n_seeds} seed(s) every "
        "strategy ran; ties share their rank, a run with no successful trial yet ranks last "
        "(several such runs share the last ranks). "
        "Read across a row to see whether a strategy starts fast or finishes strong."
    )
    headers = ["strategy", *(f"{round(100 * f)} % of budget" for f in FRACTIONS)]
    return Table(headers, rows, caption), n_seeds


def comparison_sentence(c: Comparison, loss: str = "MSE") -> str:
    """One strategy's paired test against random search, in a sentence."""
    direction = "lower" if c.median_diff < 0 else "higher"
    head = (
        f"**{c.name}** against random: lower final validation {loss} on {c.lower} of {c.n} "
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
        + f". Wilcoxon p = {fmt_p(c.p)}, Holm-adjusted {fmt_p(c.p_holm)}: "
    )
    if c.p_holm < ALPHA:
        return head + f"significantly {direction} than random search at the 5 % level."
    return head + "no significant difference from random search."


def statistics_section(
    groups: Groups, order: list[str], loss: str = "MSE"
) -> tuple[list[Block], list[Comparison], bool]:
    """The tests against random search: the section's blocks, the comparisons, and whether
    the seeds are enough for any test to pass."""
    comparisons = compare_with_random(groups, order)
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
    floor = min(1.0, m * smallest_p(n))
    claimable = n >= 5 and floor < ALPHA
    if n < 5:
        intro = (
            f"**With {n} paired seed(s), significance cannot be claimed**: the benchmark "
            "protocol asks for at least 5 seeds, and the smallest two-sided p-value a Wilcoxon "
            f"signed-rank test can give {n} pair{'s' if n != 1 else ''} is "
            f"{smallest_p(n):.3g}. The tests below are shown for completeness; read the "
            "differences as indicative only."
        )
    elif not claimable:
        intro = (
            f"**With {n} paired seeds and {m} comparisons, significance cannot be claimed**: "
            f"the smallest p-value {n} pairs can give is {smallest_p(n):.3g}, which Holm's "
            f"correction multiplies by {m} to {floor:.3g}, above 0.05. More seeds are needed "
            "for any test to pass; read the differences as indicative only."
        )
    else:
        intro = (
            f"Each strategy is compared with random search on the final validation {loss} of the "
            f"same seeds ({n} pairs), two-sided, with Holm's correction over the {m} "
            "comparisons; significant means Holm-adjusted p < 0.05."
        )
    blocks.append(Para(intro))
    rows = [
        [
            c.name,
            str(c.n),
            f"{c.lower} / {c.ties} / {c.higher}",
            fmt_value(c.median_diff) if math.isfinite(c.median_diff) else "—",
            f"{100 * c.median_rel:+.1f} %" if math.isfinite(c.median_rel) else "—",
            fmt_p(c.p),
            fmt_p(c.p_holm),
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
            f"Paired Wilcoxon signed-rank test of each strategy's final validation {loss} against "
            "random search's on the same seed. A negative difference means the strategy found "
            f"a better (lower) validation {loss} than random search; 'Holm p' is corrected for "
            "testing several strategies at once. A run whose every trial failed loses its "
            "pair (counted as higher, by more than any finite difference, or equal when both "
            "runs failed) and is left out of the median difference.",
        )
    )
    blocks += [Para(comparison_sentence(c, loss)) for c in comparisons]

    # Effect sizes: what the difference is and how sure, not only whether it is significant.
    from .stats import detectable_effect_size, paired_effects, seeds_needed, typical_sd

    effects = paired_effects(groups, [c.name for c in comparisons])
    size = detectable_effect_size(n, m)
    typical = typical_sd([e.differences for e in effects])
    effect_rows = []
    for e in effects:
        ci = e.interval
        detectable = size * e.sd
        effect_rows.append(
            [
                e.name,
                str(ci.n),
                f"{ci.mean:+.4f}",
                f"[{ci.low:+.4f}, {ci.high:+.4f}]" if math.isfinite(ci.low) else "— (one pair)",
                "too few seeds to tell"
                if n < MIN_BOOTSTRAP
                else "yes"
                if ci.excludes_zero
                else "no",
                f"{e.sd:.4f}" if math.isfinite(e.sd) else "—",
                f"{detectable:.4f}" if math.isfinite(detectable) and e.sd > 0 else "—",
            ]
        )
    blocks.append(
        Table(
            [
                "strategy",
                "paired seeds",
                f"mean difference in validation {loss}",
                "95 % bootstrap interval",
                "interval excludes 0",
                "SD of the differences",
                "smallest detectable difference",
            ],
            effect_rows,
            f"Each strategy's final validation {loss} minus random search's on the same seed: the "
            "mean over seeds with its 95 % bootstrap confidence interval (BCa, seeds "
            "resampled, scipy), the size of the effect with its uncertainty; an interval "
            "entirely below 0 means the strategy is better by at least its upper end. A run "
            f"whose every trial failed counts as the worst validation {loss} any trial of this "
            "benchmark reached. The smallest detectable difference is the mean difference a "
            f"paired t-test on {n} seed(s) at the level 0.05 / {m} (Holm's first step) finds "
            "with 80 % power (statsmodels' TTestPower), times the observed SD of the differences: "
            "a true difference smaller than it would usually go unnoticed with these seeds."
            + (
                f" With only {n} seed(s) a bootstrap interval is too narrow to trust (it "
                "resamples the few differences there are): it is shown, but not read as "
                "excluding 0 or not."
                if n < MIN_BOOTSTRAP
                else ""
            ),
        )
    )
    if math.isfinite(size):
        blocks.append(
            Para(
                f"**The smallest effect this protocol can detect**: with {n} paired seeds and "
                f"{m} comparison(s), a paired t-test reaches 80 % power only for a mean "
                f"difference of {size:.2f} standard deviations of the paired differences"
                + (
                    f"; with the SD of a typical strategy's differences (the median over "
                    f"strategies), {typical:.4f}, that is {size * typical:.4f} in validation "
                    f"{loss}"
                    if math.isfinite(typical) and typical > 0
                    else ""
                )
                + f". The Wilcoxon test cannot give p below {smallest_p(n):.3g} with {n} "
                + (
                    f"pairs; {seeds_needed(m)} seeds are needed before Holm's correction over "
                    f"{m} comparison(s) can pass at all."
                    if n < seeds_needed(m)
                    else f"pairs, low enough for Holm's correction over {m} comparison(s) to "
                    f"pass (from {seeds_needed(m)} seeds on)."
                )
            )
        )
    else:
        blocks.append(
            Para(
                f"With {n} paired seed(s) no effect size is detectable at 80 % power: the "
                "smallest detectable difference is undefined."
            )
        )
    return blocks, comparisons, claimable


def _median_metric(runs: list[Run], metric: str) -> str:
    """The median of the incumbents' test ``metric`` over runs that measured it, or "—"."""
    values = [v for r in runs if not math.isnan(v := r.final_metric(metric))]
    return f"{finite_median(values):.4f}" if values else "—"


def final_table(groups: Groups, order: list[str], problem: ProblemText = BOOK) -> Table:
    """Each strategy's incumbents (median and quartiles of validation and test loss, the
    median of each of the problem's test metrics), cost and failures, then the problem's
    external references (the book's search)."""
    loss = problem.loss_name
    rows = []
    for name in order:
        runs = list(groups[name].values())
        overheads = [r.overhead for r in runs if r.overhead is not None]
        seconds = finite_median([r.study.seconds for r in runs])
        overhead = finite_median(overheads) if overheads else math.nan
        share = f" ({100 * overhead / seconds:.0f} %)" if seconds > 0 and overheads else ""
        rows.append(
            [
                name,
                str(len(runs)),
                fmt_median_iqr([r.final_val for r in runs]),
                fmt_median_iqr([r.final_test for r in runs if not math.isnan(r.final_test)]),
                *(_median_metric(runs, metric) for metric in problem.metrics),
                f"{finite_median([len(r.study.finished_trials) for r in runs]):.0f}",
                f"{finite_median([r.study.epochs_spent for r in runs]):.0f}",
                f"{seconds:.0f}",
                f"{overhead:.2f}{share}" if overheads else "— (parallel)",
                str(sum(r.failures for r in runs)),
            ]
        )
    for reference in problem.references:
        validation, test = reference.get("validation"), reference.get("test")
        rows.append(
            [
                f"{reference['name']} — **external reference, not run here**",
                "—",
                "—" if validation is None else f"{validation:.3f}",
                "—" if test is None else f"{test:.3f}",
                *("—" for _ in problem.metrics),
                "—",
                "—",
                "—",
                "—",
                "—",
            ]
        )
        if problem.book:  # the book's search: cross-validated, 10 candidates
            rows[-1][2] += " (3-fold CV)"
            rows[-1][4 + len(problem.metrics)] = "10 (x 3 folds)"
    about_references = (
        "The last row is the book's own search on the same task, for orientation: it selected "
        "by 3-fold cross-validation, not on this validation split, and spent its own budget."
        if problem.book
        else "Rows marked external are the problem's references, for orientation: not run "
        "here, under budgets of their own."
        if problem.references
        else ""
    )
    return Table(
        [
            "strategy",
            "runs",
            f"validation {loss}, median [IQR]",
            f"test {loss}, median [IQR]",
            *(f"test {metric}, median" for metric in problem.metrics),
            "trials a run",
            "epochs charged a run",
            "wall s a run",
            "overhead s a run",
            "failures (all runs)",
        ],
        rows,
        f"The incumbent (best validation {loss}) each run ended with: its validation {loss}, "
        f"on which it was selected, and its test {loss}, which was never used to choose; median "
        f"over seeds with the interquartile range in brackets, sorted by median validation "
        f"{loss} (lower is better). A run whose every trial failed has no incumbent: it is "
        "left out of the median and quartiles, which say how many runs failed, and counts as "
        "worse than any loss in the order (a strategy with half its runs failed or more comes "
        "last). Trials, epochs and seconds are medians per run; overhead is the wall time not "
        "spent inside trials (strategy, store, resume replay), with its share of the wall time; "
        "failures counts failed and diverged trials. " + about_references,
    )


#: The learning-curve figure's file, beside the report.
CURVES_FILE = "learning_curves.png"


def learning_curves_figure(panels: list[CurvePanel], loss: str = "MSE") -> Figure:
    """The learning-curve figure (``curves.draw_curves``) with its caption."""
    seeds = sorted({p.seed for p in panels})
    which = f"seed {seeds[0]}" if len(seeds) == 1 else "each on its lowest seed"
    return Figure(
        CURVES_FILE,
        f"validation {loss} of each trial after each epoch, for the strategies that stop "
        "trials early",
        f"Learning curves of the strategies that stop trials early ({which}; one run each): "
        f"every trial's validation {loss} after each epoch it trained"
        + (" (log axis)" if log_scale(panels) else "")
        + ", ending with a dot where it stopped — in blue a trial trained to its end (its "
        "epoch limit, early stopping or the end of the budget), in red one stopped early (by "
        "a pruner, or a Hyperband trial left at its rung), in grey a failed or diverged one "
        "(its non-finite losses not drawn). A Hyperband continuation is drawn on from its "
        "parent's last point, and a parent takes the colour of how its lineage ended. A red "
        "line that ends above the blue ones at the same epoch was a right cut; one that ends "
        "among or below them stopped a configuration that was as good so far. "
        "Shared axes, epochs counted from the start of training.",
    )


def pruning_blocks(groups: Groups, order: list[str], curves: Figure | None = None) -> list[Block]:
    """Where pruning spent the budget: per strategy with a pruned trial, the trials a run,
    the pruned ones and the epochs charged to them, then the ``curves`` figure (nothing
    when no trial was pruned and there is no figure)."""
    rows = []
    for name in order:
        runs = list(groups[name].values())
        if not any(r.pruned_trials for r in runs):
            continue
        spent = [r.study.epochs_spent for r in runs]
        share = [r.pruned_epochs / s for r, s in zip(runs, spent, strict=True) if s > 0]
        rows.append(
            [
                name,
                f"{finite_median([len(r.study.finished_trials) for r in runs]):.0f}",
                f"{finite_median([r.pruned_trials for r in runs]):.0f}",
                f"{finite_median([r.pruned_epochs for r in runs]):.0f}",
                f"{100 * finite_median(share):.0f} %" if share else "—",
            ]
        )
    blocks: list[Block] = []
    if rows:
        blocks.append(
            Table(
                [
                    "strategy",
                    "trials a run",
                    "pruned trials a run",
                    "epochs on pruned trials a run",
                    "share of the epochs",
                ],
                rows,
                "Strategies whose trials a pruner stopped (`NAME+PRUNER`, asha, bohb): medians "
                "per run. A pruned trial is charged the epochs it trained before it was "
                "stopped; it is never an incumbent, and its best loss so far is what its "
                "strategy learnt.",
            )
        )
    if curves is not None:
        blocks.append(curves)
    return [Heading("Pruning"), *blocks] if blocks else []


def best_configurations(groups: Groups, order: list[str], loss: str = "MSE") -> list[Block]:
    """The best configuration overall, then each run's incumbent with its parameters."""
    blocks: list[Block] = [Heading("Best configurations")]
    best = overall_best(groups)
    if best is None:
        blocks.append(Para("No run has a successful trial, so there is no best configuration."))
        return blocks
    blocks.append(
        Para(
            f"**The best configuration overall** (the lowest validation {loss} of any run; chosen "
            f"on validation, its test {loss} only reported): {best_run_sentence(best, loss=loss)}."
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
                    fmt_value(run.final_val),
                    fmt_value(run.final_test),
                    *(fmt_param(trial.params[p]) if p in trial.params else "—" for p in names),
                    str(trial.id),
                ]
            )
    blocks.append(
        Table(
            [
                "strategy",
                "seed",
                f"validation {loss}",
                f"test {loss}",
                *(f"`{p}`" for p in names),
                "trial",
            ],
            rows,
            f"Each run's incumbent — the configuration with the lowest validation {loss} it found "
            f"— with its validation and test {loss} and the trial that found it; strategies in the "
            "order of the final table, seeds in order. Integers are shown as integers, reals to "
            "4 significant digits; 'failed' marks a run with no successful trial.",
        )
    )
    return blocks


def time_to_target_table(
    groups: Groups, order: list[str], problem: ProblemText = BOOK
) -> Table | None:
    """How much budget each strategy spent before reaching the problem's target (the book's
    CV MSE); None when the problem has no reference validation loss."""
    target, reference = problem.target, problem.target_reference
    if target is None or reference is None:
        return None
    rows = []
    for name in order:
        hits = [run.time_to(target) for run in groups[name].values()]
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
    what = (
        "the cross-validated MSE of the book's RandomizedSearchCV"
        if problem.book
        else f"the validation {problem.loss_name} of {reference['name']}"
    )
    return Table(
        ["strategy", "median epochs to target", "median seconds to target", "seeds reaching it"],
        rows,
        f"How much budget each strategy spent before its best validation {problem.loss_name} "
        f"first reached {target:.3f}, {what}; the count "
        "includes the whole trial that reached it. Median over seeds, a seed that never reached "
        "it counting as never; 'never' means most seeds did not reach it within the budget.",
    )


def audit(groups: Groups, order: list[str]) -> tuple[list[Block], list[str], list[str]]:
    """The budget audit: its blocks, the overruns found and the studies not finished."""
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
            finite_median([r.promoted_epochs for r in groups[name].values()]),
            finite_median([r.study.epochs_spent for r in groups[name].values()]),
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
