"""The report's figures (matplotlib, imported when drawn): the anytime curves against epochs
or seconds, and every run's final validation and test MSE. Each is saved as PNG and its
bytes returned, for the HTML page to embed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .reference import BOOK, ProblemText
from .runs import Groups

__all__ = ["anytime_figure", "final_figure"]

#: Stand-in for "no successful trial yet" in the anytime figures' quartiles (never printed).
_WORST = 1e300


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


def anytime_figure(
    groups: Groups, order: list[str], axis: str, path: Path, problem: ProblemText = BOOK
) -> bytes:
    """Best validation loss so far against ``axis`` ("epochs" or "seconds"): per strategy the
    median over seeds and the band between the quartiles; the problem's target as a line."""
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
    target, reference = problem.target, problem.target_reference
    if target is not None and reference is not None:
        ax.axhline(target, color="0.5", lw=1, ls=":")
        ax.text(
            xs[-1],
            target,
            "book RandomizedSearchCV, CV MSE 0.320 (external)"
            if problem.book
            else f"{reference['name']}, validation {problem.loss_name} {target:.3g} (external)",
            ha="right",
            va="bottom",
            fontsize=8,
            color="0.35",
        )
    marks = [] if target is None else [target]
    positive = not lows or min([*lows, *marks]) > 0  # else a loss that can be negative: linear
    ax.yaxis.set_major_formatter(FormatStrFormatter("%.2f"))
    if positive:
        ax.set_yscale("log")
        ax.yaxis.set_minor_formatter(FormatStrFormatter("%.2f"))
        ax.tick_params(axis="y", which="minor", labelsize=7)
    if lows:
        low = min([min(lows), *marks])
        if positive:
            low *= 0.97
            high = max(min(max(highs), 4 * low), *(m * 1.3 for m in marks), low * 1.3)
        else:
            top = max([*highs, *marks])
            pad = 0.05 * (top - low) or 0.1
            low, high = low - pad, top + pad
        ax.set_ylim(low, high)
    ax.set_xlim(0, xs[-1])
    ax.set_xlabel("epochs spent (the budget unit)" if axis == "epochs" else "wall-clock seconds")
    ax.set_ylabel(f"best validation {problem.loss_name} so far")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    return _save(fig, path)


def final_figure(
    groups: Groups, order: list[str], path: Path, problem: ProblemText = BOOK
) -> bytes:
    """Each run's incumbent: validation loss (circles) and test loss (crosses), one mark per
    seed and a bar at the median, beside the problem's references (the book's CV and test
    MSE)."""
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
    marks = []
    for reference in problem.references:
        for key, style, where, short in (
            ("validation", ":", "bottom", "CV"),
            ("test", "--", "top", "test"),
        ):
            value = reference.get(key)
            if value is None:
                continue
            marks.append(value)
            ax.axhline(value, color="0.5", ls=style, lw=1)
            label = f"book {short} {value:.3f}" if problem.book else f"{reference['name']} {key}"
            ax.text(len(order) - 0.5, value, label, fontsize=8, va=where, ha="right", color="0.35")
    ax.set_xticks(range(len(order)), order, rotation=20)
    ax.set_xlim(-0.6, len(order) - 0.4)
    if finite:
        low, high = min([*finite, *marks]), max(finite)
        pad = 0.05 * max(high - low, 0.01)
        top = min(high, max(1.0, 2.5 * float(np.median(finite))))  # outliers are cut off
        ax.set_ylim(low - pad, top + pad)
    ax.set_ylabel(f"{problem.loss_name} of the incumbent")
    ax.scatter([], [], color="0.3", marker="o", label="validation (selected on)")
    ax.scatter([], [], color="0.3", marker="x", label="test (reported only)")
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    return _save(fig, path)
