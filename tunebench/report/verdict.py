"""The verdict generated from the numbers: who won on validation MSE, whether its margin
over the runner-up is beyond the seeds' noise, its difference from random search and
whether that is significant, and the best configuration — as the report's paragraph
(``verdict_paragraph``) and as a few console lines (``verdict_lines``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from .formats import best_run_sentence, fmt_difference, fmt_p, fmt_value, relative
from .reference import BOOK, ProblemText, problem_text
from .runs import Groups, Run, load_runs
from .sections import audit
from .stats import (
    ALPHA,
    Comparison,
    compare,
    compare_with_random,
    failed_runs,
    finite_median,
    overall_best,
    seeds_needed,
    smallest_p,
    strategy_order,
)

__all__ = ["Findings", "verdict_lines", "verdict_paragraph"]


@dataclass
class Findings:
    """What the verdict says, computed once for the report and for the console."""

    groups: Groups
    order: list[str]
    comparisons: list[Comparison]
    overruns: list[str]
    problem: ProblemText = BOOK
    winner: str | None = field(init=False)
    runner_up: str | None = field(init=False)
    versus_runner_up: Comparison | None = field(init=False)
    best: Run | None = field(init=False)

    def __post_init__(self) -> None:
        first = self.order[0]
        self.winner = first if math.isfinite(self.median(first)) else None
        self.runner_up = self.order[1] if self.winner and len(self.order) > 1 else None
        self.versus_runner_up = (
            compare(self.groups, self.winner, self.runner_up)
            if self.winner and self.runner_up
            else None
        )
        self.best = overall_best(self.groups)

    def values(self, name: str, test: bool = False) -> list[float]:
        runs = self.groups[name].values()
        if test:  # a successful incumbent without a test loss (NaN) is not a failure
            return [r.final_test for r in runs if not math.isnan(r.final_test)]
        return [r.final_val for r in runs]

    def median(self, name: str, test: bool = False) -> float:
        """Median over the runs that did not fail (NaN when all did)."""
        return finite_median(self.values(name, test))

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
                f"{fmt_p(c.p)}, uncorrected for picking the winner: indicative)"
            )
        return (
            f"a tie, within the noise across seeds (paired Wilcoxon p = {fmt_p(c.p)} over "
            f"{c.n} seed{'s' if c.n != 1 else ''})"
        )

    def random_phrase(self) -> str:
        """Whether the winner's difference from random search is significant."""
        c = self.random_comparison
        if c is None:
            return "not tested (no seed in common)"
        m = len(self.comparisons)
        if not (c.n >= 5 and m * smallest_p(c.n) < ALPHA):
            return (
                f"cannot be called significant with {c.n} paired seed{'s' if c.n != 1 else ''} "
                f"and {m} comparison{'s' if m != 1 else ''}, however consistent: indicative "
                f"only (a Holm-corrected test over {m} can pass from {max(5, seeds_needed(m))} "
                "seeds on)"
            )
        if c.p_holm < ALPHA:
            return f"significant (Wilcoxon, Holm-adjusted p = {fmt_p(c.p_holm)})"
        return (
            f"not significant (Holm-adjusted p = {fmt_p(c.p_holm)}): a tie with random "
            "search on this evidence"
        )


def verdict_paragraph(findings: Findings) -> str:
    """The report's verdict, one paragraph of Markdown."""
    f, groups = findings, findings.groups
    winner, loss = f.winner, findings.problem.loss_name
    if winner is None:
        total = sum(len(seeds) for seeds in groups.values())
        return (
            f"No run has a successful trial ({total} of {total} runs failed), so there is no "
            "winner."
        )
    runs = list(groups[winner].values())
    val, test = f.median(winner), f.median(winner, test=True)
    seconds = finite_median([r.study.seconds for r in runs])
    parts = [
        f"**{winner}** found the lowest median validation {loss}, {val:.4f} (its incumbents' "
        f"median test {loss} {fmt_value(test)}), over {f.seeds_text(winner)}."
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
            f" ({winner}'s margin {fmt_difference(val, other)})" if math.isfinite(other) else ""
        )
        parts.append(
            f"The runner-up, {f.runner_up}, reached {fmt_value(other)} over "
            f"{f.seeds_text(f.runner_up)}{margin}: {f.tie_phrase()}."
        )
    if winner == "random" and len(groups) > 1:
        parts.append("No strategy beat random search.")
    elif "random" in groups and winner != "random":
        base = f.median("random")
        base_runs = list(groups["random"].values())
        base_test = f.median("random", test=True)
        base_seconds = finite_median([r.study.seconds for r in base_runs])
        tested = math.isfinite(test) and math.isfinite(base_test)
        parts.append(
            f"Random search reached {base:.4f} (test {fmt_value(base_test)}): a difference of "
            f"{val - base:+.4f} in validation {loss} ({100 * relative(val, base):+.1f} %)"
            + (f" and {test - base_test:+.4f} in test {loss}." if tested else ".")
            if math.isfinite(base)
            else "Random search has no successful run to compare with."
        )
        overhead = finite_median([r.overhead for r in runs if r.overhead is not None] or [math.nan])
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
            f"median {loss} ({by_test[best_test]:.4f})."
        )
    reference = next((r for r in f.problem.references if r.get("test") is not None), None)
    if math.isfinite(test) and reference is not None:
        relation = "below" if test < reference["test"] else "above"
        parts.append(
            f"The winner's median test MSE is {relation} the book's RandomizedSearchCV "
            f"({reference['test']:.3f}, an external reference with its own budget and "
            "cross-validation)."
            if f.problem.book
            else f"The winner's median test {loss} is {relation} {reference['name']}'s "
            f"({reference['test']:.3f}, an external reference)."
        )
    if f.best is not None:
        parts.append(f"The best configuration of any run: {best_run_sentence(f.best, loss=loss)}.")
    if f.overruns:
        parts.append("**A budget overrun was found (see the audit): this verdict is unsafe.**")
    return " ".join(parts)


def console_lines(findings: Findings, report: Path | None) -> list[str]:
    """The verdict in a few plain lines (no Markdown), then where the report is."""
    f = findings
    winner, loss = f.winner, findings.problem.loss_name
    lines: list[str] = []
    if winner is None:
        total = sum(len(seeds) for seeds in f.groups.values())
        lines.append(f"verdict: no run has a successful trial ({total} of {total} failed)")
    else:
        val, test = f.median(winner), f.median(winner, test=True)
        if len(f.groups) == 1:
            lines.append(
                f"verdict: {winner}, the only strategy benchmarked: median validation {loss} "
                f"{val:.4f} over {f.seeds_text(winner)} (test {fmt_value(test)}); nothing to "
                "compare it with"
            )
        else:
            lines.append(
                f"verdict: {winner} has the lowest median validation {loss}, {val:.4f} over "
                f"{f.seeds_text(winner)} (test {fmt_value(test)})"
            )
        if f.runner_up is not None and f.runner_up != "random":  # random: the next line
            other = f.median(f.runner_up)
            margin = f" (margin {fmt_difference(val, other)})" if math.isfinite(other) else ""
            lines.append(
                f"  runner-up: {f.runner_up}, {fmt_value(other)}{margin}: {f.tie_phrase()}"
            )
        if "random" in f.groups and winner != "random":
            base = f.median("random")
            c = f.random_comparison
            seeds = f", lower on {c.lower} of {c.n} seeds" if c is not None else ""
            lines.append(
                f"  vs random search ({fmt_value(base)}): {val - base:+.4f} "
                f"({100 * relative(val, base):+.1f} %){seeds}; {f.random_phrase()}"
                if math.isfinite(base)
                else "  vs random search: random search has no successful run"
            )
        elif winner == "random" and len(f.groups) > 1:
            lines.append("  no strategy beat random search")
        elif len(f.groups) > 1:
            lines.append("  no random-search baseline in this benchmark")
        if f.best is not None:
            lines.append(
                f"  best configuration: {best_run_sentence(f.best, code=False, loss=loss)}"
            )
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
    groups, notes = load_runs(store)
    order = strategy_order(groups)
    _, overruns, _ = audit(groups, order)
    comparisons = compare_with_random(groups, order)
    findings = Findings(groups, order, comparisons, overruns, problem_text(notes))
    return console_lines(findings, None if report is None else Path(report))
