"""The verdict generated from the numbers: the strategy with the lowest median validation
loss, and which strategies are tied with it (``TIE_RULE``: a difference is a tie unless its
Holm-corrected paired test is significant), so that one winner is named only when it is
ahead beyond the noise; runs that never left a strategy's start-up phase; the difference
from random search and the best configuration — as the report's paragraph
(``verdict_paragraph``) and as a few console lines (``verdict_lines``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from .formats import best_run_sentence, fmt_difference, fmt_p, fmt_value, relative
from .reference import BOOK, ProblemText, problem_text
from .runs import Groups, Run, load_runs
from .sections import audit
from .startup import StartupOnly, startup_only
from .stats import (
    ALPHA,
    Comparison,
    compare_with_leader,
    compare_with_random,
    failed_runs,
    finite_median,
    overall_best,
    seeds_needed,
    smallest_p,
    strategy_order,
)

__all__ = ["TIE_RULE", "Findings", "verdict_lines", "verdict_paragraph"]


#: How the report decides that two strategies differ, in its own words.
TIE_RULE = (
    "a difference is called a tie unless a paired Wilcoxon signed-rank test over the seeds "
    "both ran, Holm-corrected over the comparisons with the leader, is significant at 5 %"
)


def join_names(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``.

    >>> join_names(["tpe"]), join_names(["tpe", "gp", "random"])
    ('tpe', 'tpe, gp and random')
    """
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@dataclass
class Findings:
    """What the verdict says, computed once for the report and for the console.

    ``winner`` is the leader, the strategy with the lowest median validation loss (None when
    every run failed); ``tied`` the leader and every strategy whose difference from it is a
    tie by ``TIE_RULE`` (a strategy whose every run failed is never at the top); the verdict
    names one winner only when ``tied`` is the leader alone. ``startup`` lists the strategies
    with runs that never left their start-up phase."""

    groups: Groups
    order: list[str]
    comparisons: list[Comparison]
    overruns: list[str]
    problem: ProblemText = BOOK
    winner: str | None = field(init=False)
    runner_up: str | None = field(init=False)
    versus_leader: list[Comparison] = field(init=False)
    tied: list[str] = field(init=False)
    startup: list[StartupOnly] = field(init=False)
    best: Run | None = field(init=False)

    def __post_init__(self) -> None:
        first = self.order[0]
        self.winner = first if math.isfinite(self.median(first)) else None
        self.runner_up = self.order[1] if self.winner and len(self.order) > 1 else None
        self.versus_leader = compare_with_leader(self.groups, self.order) if self.winner else []
        beaten = {c.name for c in self.versus_leader if c.p_holm < ALPHA}
        self.tied = (
            [name for name in self.order if name not in beaten and math.isfinite(self.median(name))]
            if self.winner
            else []
        )
        self.startup = startup_only(self.groups, self.order)
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

    def versus(self, name: str) -> Comparison | None:
        """``name``'s paired comparison with the leader (None: not compared)."""
        return next((c for c in self.versus_leader if c.name == name), None)

    @property
    def alone(self) -> bool:
        """Whether the leader is the only strategy of several with a successful run."""
        others = [name for name in self.order if name != self.winner]
        return bool(others) and not any(math.isfinite(self.median(n)) for n in others)

    @property
    def crowned(self) -> bool:
        """Whether one strategy is ahead of every other beyond the noise."""
        return len(self.tied) == 1 and len(self.groups) > 1 and not self.alone

    @property
    def caveats(self) -> list[StartupOnly]:
        """Start-up-only strategies among those at the top."""
        return [s for s in self.startup if s.strategy in self.tied]

    def no_test_can_pass(self) -> str | None:
        """Why no comparison with the leader can be significant, or None when one can."""
        tested = self.versus_leader
        if not tested:
            return "no other strategy shares a seed with it, so nothing is tested"
        n, m = min(c.n for c in tested), len(tested)
        if m * smallest_p(n) < ALPHA:
            return None
        return (
            f"with {n} paired seed{'s' if n != 1 else ''} and {m} comparison"
            f"{'s' if m != 1 else ''} no test can be significant (the smallest p-value {n} pair"
            f"{'s' if n != 1 else ''} can give is {smallest_p(n):.3g}; a Holm-corrected test "
            f"over {m} can pass from {seeds_needed(m)} seeds on)"
        )

    def tie_reason(self) -> str:
        """Why the strategies tied with the leader are tied."""
        cannot = self.no_test_can_pass()
        if cannot is not None:
            return cannot
        tested = [c for name in self.tied[1:] if (c := self.versus(name))]
        untested = [name for name in self.tied[1:] if self.versus(name) is None]
        parts = []
        if tested:
            p = min(c.p_holm for c in tested)
            parts.append(f"the smallest Holm-adjusted p among them is {fmt_p(p)}")
        if untested:
            parts.append(f"{join_names(untested)} shares no seed with {self.winner}")
        return "; ".join(parts)

    def against_random(self) -> Comparison | None:
        """The leader's comparison with random search as the statistics section tests it
        (Holm over every strategy against random search), so that the verdict and that
        table never disagree."""
        return next((c for c in self.comparisons if c.name == self.winner), None)

    def random_phrase(self) -> str:
        """Whether the winner's difference from random search is beyond the noise."""
        c = self.against_random()
        if c is None:
            return "is not tested (no seed in common)"
        if c.p_holm < ALPHA:
            return (
                f"is significant (paired Wilcoxon over {c.n} seeds, Holm-adjusted p = "
                f"{fmt_p(c.p_holm)})"
            )
        cannot = self.no_test_can_pass()
        if cannot is not None:
            return f"counts as a tie, however consistent: {cannot}"
        return f"counts as a tie, within the noise (Holm-adjusted p = {fmt_p(c.p_holm)})"


def top_sentences(f: Findings) -> list[str]:
    """Who is at the top: one winner, or the group tied with the leader, and the rule."""
    winner, loss = f.winner, f.problem.loss_name
    assert winner is not None
    val, test = f.median(winner), f.median(winner, test=True)
    tested = "" if math.isnan(test) else f" (its incumbents' median test {loss} {fmt_value(test)})"
    own = f"{val:.4f}{tested}, over {f.seeds_text(winner)}"
    if len(f.groups) == 1:
        return [f"**{winner}** found the lowest median validation {loss}, {own}."]
    if f.alone:
        return [
            f"**{winner}** found the lowest median validation {loss}, {own}: the only strategy "
            "with a successful run."
        ]
    if f.crowned:
        c = f.versus(f.runner_up) if f.runner_up else None
        runner_up = (
            f" The runner-up, {f.runner_up}, reached {fmt_value(f.median(f.runner_up))} over "
            f"{f.seeds_text(f.runner_up)} ({winner}'s margin "
            f"{fmt_difference(val, f.median(f.runner_up))}; Holm-adjusted p = {fmt_p(c.p_holm)})."
            if c is not None and f.runner_up and math.isfinite(f.median(f.runner_up))
            else ""
        )
        return [
            f"**{winner}** found the lowest median validation {loss}, {own}, and is ahead of "
            f"every other strategy beyond the noise (the rule: {TIE_RULE}).{runner_up}"
        ]
    others = ", ".join(
        f"{name} {f.median(name):.4f} ({fmt_difference(f.median(name), val)})"
        for name in f.tied[1:]
    )
    parts = [
        f"**{join_names(f.tied)} are tied at the top** on median validation {loss}: {winner} "
        f"has the lowest, {own}; then {others}. The report's rule: {TIE_RULE}; here "
        f"{f.tie_reason()}."
    ]
    beaten = [c for c in f.versus_leader if c.p_holm < ALPHA]
    if beaten:
        parts.append(
            f"Significantly behind {winner}: "
            + ", ".join(f"{c.name} (Holm-adjusted p = {fmt_p(c.p_holm)})" for c in beaten)
            + "."
        )
    return parts


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
    parts = top_sentences(f)
    parts += [
        f"**Caveat — {s.sentence()}**: its place at the top says nothing of its model."
        for s in f.caveats
    ]
    if len(groups) == 1:
        parts.append(
            "Random search is the only strategy in this benchmark, so nothing is compared with it."
            if winner == "random"
            else "It is the only strategy in this benchmark, so it is compared with nothing "
            "(there is no random-search baseline either)."
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
        if math.isfinite(base):
            parts.append(f"{winner}'s difference from random search {f.random_phrase()}.")
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
            f"{winner}'s median test MSE is {relation} the book's RandomizedSearchCV "
            f"({reference['test']:.3f}, an external reference with its own budget and "
            "cross-validation)."
            if f.problem.book
            else f"{winner}'s median test {loss} is {relation} {reference['name']}'s "
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
        caveat = " (caveat: start-up only, below)" if f.caveats else ""
        if len(f.groups) == 1:
            lines.append(
                f"verdict: {winner}, the only strategy benchmarked: median validation {loss} "
                f"{val:.4f} over {f.seeds_text(winner)} (test {fmt_value(test)}); nothing to "
                f"compare it with{caveat}"
            )
        elif f.alone:
            lines.append(
                f"verdict: {winner} has the lowest median validation {loss}, {val:.4f} over "
                f"{f.seeds_text(winner)} (test {fmt_value(test)}), the only strategy with a "
                f"successful run{caveat}"
            )
        elif f.crowned:
            lines.append(
                f"verdict: {winner} has the lowest median validation {loss}, {val:.4f} over "
                f"{f.seeds_text(winner)} (test {fmt_value(test)}), beyond the noise: paired "
                f"Wilcoxon against every other strategy, Holm-corrected, p < 0.05{caveat}"
            )
        else:
            medians = ", ".join(f"{name} {f.median(name):.4f}" for name in f.tied)
            cannot = f.no_test_can_pass()
            lines.append(
                f"verdict: {join_names(f.tied)} are tied at the top (median validation {loss} "
                f"{medians}): a difference is a tie unless its paired Wilcoxon test, "
                f"Holm-corrected, has p < 0.05"
                + ("; none can with these seeds" if cannot is not None else "")
                + caveat
            )
            lines.append(
                f"  lowest median: {winner}, {val:.4f} over {f.seeds_text(winner)} "
                f"(test {fmt_value(test)})"
            )
        lines += [f"  START-UP ONLY: {s.sentence()}" for s in f.startup]
        c = f.versus(f.runner_up) if f.runner_up else None
        if f.crowned and f.runner_up is not None and c is not None:
            other = f.median(f.runner_up)
            margin = f" (margin {fmt_difference(val, other)})" if math.isfinite(other) else ""
            lines.append(
                f"  runner-up: {f.runner_up}, {fmt_value(other)}{margin}: Holm-adjusted p = "
                f"{fmt_p(c.p_holm)}"
            )
        if "random" in f.groups and winner != "random":
            base = f.median("random")
            r = f.against_random()
            seeds = f", lower on {r.lower} of {r.n} seeds" if r is not None else ""
            lines.append(
                f"  {winner} vs random search ({fmt_value(base)}): {val - base:+.4f} "
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
