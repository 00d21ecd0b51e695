"""Writing the report of a store: the sections put together in order, and the files —
``report.md``, the self-contained ``report.html``, the figures as PNG and ``trials.csv``."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from ..trial import SHOWN_COLUMNS, trial_row
from .curves import curve_panels, curves_figure
from .document import Block, Figure, Heading, Para, render_html, render_markdown
from .figures import FLOOR_FRACTION, anytime_figure, final_figure, regret_scale
from .protocol import protocol_table
from .reference import problem_text
from .runs import Groups, load_runs
from .sections import (
    CURVES_FILE,
    audit,
    best_configurations,
    final_table,
    learning_curves_figure,
    pruning_blocks,
    ranks_table,
    statistics_section,
    time_to_target_table,
)
from .stats import strategy_order
from .verdict import Findings, verdict_paragraph

__all__ = ["write_report", "write_trials_csv"]


def _cell(value: Any) -> Any:
    """A CSV cell: a curve as a JSON list (a non-finite value as null), the rest as it is.

    >>> _cell((0.5, float("nan"))), _cell(3)
    ('[0.5, null]', 3)
    """
    if isinstance(value, tuple):
        return json.dumps([v if math.isfinite(v) else None for v in value])
    return value


def write_trials_csv(groups: Groups, path: Path) -> int:
    """Every trial of every run, one row each: strategy, seed and study, then the columns of
    ``Study.to_dataframe()`` (an error only by its first line, the curve as a JSON list, test
    metrics as ``metric_*``); returns the number of rows."""
    runs = [groups[name][seed] for name in sorted(groups) for seed in sorted(groups[name])]
    params = sorted({p for r in runs for t in r.study.trials for p in t.params})
    metrics = sorted({m for r in runs for t in r.study.trials for m in t.metrics})
    columns = [
        *SHOWN_COLUMNS,
        *(f"param_{p}" for p in params),
        *(f"metric_{m}" for m in metrics),
    ]
    count = 0
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["strategy", "seed", "study", *columns])
        for run in runs:
            for t in run.study.trials:
                row = trial_row(t)
                values = [_cell(row.get(column)) for column in columns]
                writer.writerow([run.strategy, run.seed, run.study.name, *values])
                count += 1
    return count


def write_report(store: str | Path, out_dir: str | Path) -> Path:
    """Write the report of every study in ``store`` into ``out_dir``; return ``report.md``'s
    path. Also written: ``report.html`` (self-contained), ``anytime_epochs.png``,
    ``anytime_seconds.png``, ``final_mse.png``, ``trials.csv`` and, when a strategy stops
    trials early (a pruner, asha, bohb, hyperband), ``learning_curves.png``."""
    store, out = Path(store), Path(out_dir)
    groups, notes = load_runs(store)
    out.mkdir(parents=True, exist_ok=True)
    order = strategy_order(groups)  # by validation loss: the test split never orders
    problem = problem_text(notes)
    loss = problem.loss_name
    scale = regret_scale(groups)

    images = {
        "anytime_epochs.png": anytime_figure(
            groups, order, "epochs", out / "anytime_epochs.png", problem
        ),
        "anytime_seconds.png": anytime_figure(
            groups, order, "seconds", out / "anytime_seconds.png", problem
        ),
        "final_mse.png": final_figure(groups, order, out / "final_mse.png", problem),
    }
    panels = curve_panels(groups, order)
    curves = None
    if panels:
        images[CURVES_FILE] = curves_figure(panels, out / CURVES_FILE, loss)
        curves = learning_curves_figure(panels, loss)
    else:
        (out / CURVES_FILE).unlink(missing_ok=True)  # an earlier report's, of other runs
    n_trials = write_trials_csv(groups, out / "trials.csv")
    stats_blocks, comparisons, _ = statistics_section(groups, order, loss)
    audit_blocks, overruns, incomplete = audit(groups, order)
    ranks, ranked_seeds = ranks_table(groups, order, loss)
    to_target = time_to_target_table(groups, order, problem)

    runs = [r for seeds in groups.values() for r in seeds.values()]
    task = (runs[0].study.objective or {}).get("task", {}).get("name")
    subject = task or (problem.name if not problem.book else "the task")
    seeds = sorted({r.seed for r in runs})
    title = f"Benchmark report: {len(groups)} search strategies on {subject}"
    blocks: list[Block] = [
        Heading(title, 1),
        Para(
            f"{len(runs)} runs — {len(groups)} strategies x {len(seeds)} paired seed(s) — from "
            f"the store `{store.name}`, {n_trials} trials in all. Scores are "
            f"{problem.loss_description}."
        ),
    ]
    if overruns:
        blocks.append(Para(f"**⚠ BUDGET OVERRUN** in {len(overruns)} run(s): see the audit."))
    findings = Findings(groups, order, comparisons, overruns, problem)
    if findings.startup:
        options = sorted({f"`{s.option}`" for s in findings.startup if s.option})
        blocks.append(
            Para(
                "**⚠ Start-up only** — "
                + "; ".join(s.sentence() for s in findings.startup)
                + ". These runs ended before the strategy's model made a single suggestion: "
                "what they show is random search's luck, not the strategy's. Give a budget "
                "of more trials"
                + (f", or a smaller start-up ({', '.join(options)})" if options else "")
                + "."
            )
        )
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
        Para(verdict_paragraph(findings)),
        Heading("Protocol"),
        protocol_table(groups, order, notes, store, problem),
        Heading("Anytime performance"),
        Figure(
            "anytime_epochs.png",
            f"validation {loss} minus the best found, against epochs trained",
            f"Regret against the epochs trained: each run's best validation {loss} so far minus "
            f"the best any run found ({scale.best:.4g}), plus a floor of {scale.floor:.2g} — "
            f"{FLOOR_FRACTION:g} of the median run's regret after its first successful trial "
            "— so that the best run's 0 can be drawn on the log axis (regret is ≥ 0 whatever "
            f"the sign of the {loss}). One panel per strategy, on shared axes: its median over "
            "seeds (line) and the band between the first and third quartiles"
            + (
                ", over random search's median (dashed) and quartiles (grey band), so that "
                "bands never pile up"
                if "random" in groups and len(groups) > 1
                else ""
            )
            + ". Lower and further left is better; a gap of one grid line is a factor of ten. "
            "A step is a trial that beat the incumbent, drawn at the epoch count including "
            "that whole trial; a run that ended before the budget keeps its incumbent, and a "
            "tick marks where each run ended, at its final regret."
            + (
                " The dotted line is the book's cross-validated MSE (an external reference)."
                if problem.book
                else " The dotted line is the validation loss of the problem's first external "
                "reference."
                if problem.target is not None
                else ""
            ),
        ),
        Figure(
            "anytime_seconds.png",
            f"validation {loss} minus the best found, against wall-clock seconds",
            "The same regret against wall-clock seconds. A run counts only while it runs: the "
            "median and quartiles at time t are over the runs not yet ended at t, and a curve "
            "stops once half of its strategy's runs have ended; a tick marks where each run "
            "ended, at its final regret. A run's clock is its trials' own durations in the "
            "order they finished, rescaled so that they add up to the run's wall time (resume "
            "gaps excluded): the framework's overhead (strategy, store) is spread over the "
            "trials in proportion to their length. A strategy that needs many short trials or "
            "expensive proposals looks worse here than against epochs.",
        ),
        Heading("Average rank over the budget"),
        ranks,
        Heading("Final results"),
        final_table(groups, order, problem),
        *pruning_blocks(groups, order, curves),
        Figure(
            "final_mse.png",
            f"final validation and test {loss} per strategy and seed",
            f"Each run's incumbent: validation {loss} (circles, what the strategy selected on) "
            f"and test {loss} (crosses, reported only), one mark per seed, a bar at the median. "
            + (
                "The dotted and dashed lines are the book's RandomizedSearchCV CV and test MSE "
                "(external reference). "
                if problem.book
                else "The dotted and dashed lines are the problem's external references "
                "(validation and test). "
                if problem.references
                else ""
            )
            + "Marks above the plot's top are cut off; a run whose every "
            "trial failed has no mark (the final table counts those).",
        ),
        *best_configurations(groups, order, loss),
        *stats_blocks,
        *(
            [
                Heading("Time to the book's result" if problem.book else "Time to the reference"),
                to_target,
            ]
            if to_target is not None
            else []
        ),
        *audit_blocks,
        Heading("Files"),
        Para(
            "`trials.csv` holds every trial of every run (strategy, seed, status, validation "
            "loss `loss`, `test_loss`, epochs, fidelity, seconds, timestamps, parameters as "
            "`param_*` columns, test metrics as `metric_*`); the figures are "
            + (
                f"`anytime_epochs.png`, `anytime_seconds.png`, `final_mse.png` and `{CURVES_FILE}`"
                if curves
                else "`anytime_epochs.png`, `anytime_seconds.png` and `final_mse.png`"
            )
            + f". Regenerate this report with `tunebench report {store.name} "
            "-o DIR`."
        ),
    ]
    if ranked_seeds == 0:
        blocks.append(Para("No seed was run by every strategy, so no ranks were computed."))
    (out / "report.md").write_text(render_markdown(blocks), encoding="utf-8")
    (out / "report.html").write_text(render_html(blocks, images, title), encoding="utf-8")
    return out / "report.md"
