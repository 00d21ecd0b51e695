"""The cross-problem report's figures (matplotlib, imported when drawn): the anytime curve of
the mean normalised score, the critical-difference diagram (scikit-posthocs) and the forest
plot of bootstrap intervals. Each is saved as PNG and its bytes returned, for the HTML page
to embed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .across import BASELINE, GroupStatistics

__all__ = ["critical_difference_figure", "forest_figure", "score_curve_figure"]


def _colors(strategies: list[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    palette = colormaps["tab10"].colors
    others = [s for s in sorted(strategies) if s != BASELINE]
    colors = {name: palette[i % len(palette)] for i, name in enumerate(others)}
    colors[BASELINE] = (0.1, 0.1, 0.1)
    return colors


def _save(fig: Any, path: Path) -> bytes:
    fig.savefig(path, format="png", dpi=110, bbox_inches="tight")
    return path.read_bytes()


def score_curve_figure(stats: GroupStatistics, path: Path) -> bytes:
    """Mean normalised score against the fraction of the epoch budget spent, one line a
    strategy; a log y axis when every value is positive and they span more than 20x."""
    from matplotlib.figure import Figure as MplFigure

    colors = _colors(stats.strategies)
    fig = MplFigure(figsize=(8.5, 4.8))
    ax = fig.add_subplot()
    x = 100 * stats.curve_fractions
    for i, name in enumerate(stats.strategies):
        ax.plot(
            x,
            stats.curve[i],
            color=colors[name],
            lw=2 if name == BASELINE else 1.6,
            ls="--" if name == BASELINE else "-",
            label=name,
        )
    values = stats.curve[np.isfinite(stats.curve)]
    if values.size and values.min() > 0 and values.max() / values.min() > 20:
        ax.set_yscale("log")
    ax.axhline(1.0, color="0.5", lw=1, ls=":")
    ax.axhline(0.0, color="0.5", lw=1, ls=":")
    ax.set_xlim(0, 100)
    ax.set_xlabel("epochs spent (% of each run's epoch budget)")
    ax.set_ylabel("mean normalised score (0 = best found, 1 = random's median)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    return _save(fig, path)


def critical_difference_figure(stats: GroupStatistics, path: Path) -> bytes:
    """The critical-difference diagram of the group's mean final ranks
    (``scikit_posthocs.critical_difference_diagram``): strategies joined by a bar are not
    significantly different by Nemenyi's test; the CD bar is the critical difference."""
    import scikit_posthocs
    from matplotlib.figure import Figure as MplFigure

    result = stats.friedman
    fig = MplFigure(figsize=(8.5, 1.2 + 0.35 * len(result.strategies)))
    ax = fig.add_subplot()
    scikit_posthocs.critical_difference_diagram(
        result.mean_ranks,
        result.nemenyi,
        cd=result.critical_difference,
        ax=ax,
        label_fmt_left="{label} ({rank:.2f})",
        label_fmt_right="({rank:.2f}) {label}",
    )
    return _save(fig, path)


def forest_figure(stats: GroupStatistics, path: Path) -> bytes:
    """Each strategy's mean difference to random search in final normalised score with its
    95 % bootstrap interval, a vertical line at 0."""
    from matplotlib.figure import Figure as MplFigure

    shown = [d for d in stats.differences if np.isfinite(d.interval.low)]
    colors = _colors(stats.strategies)
    fig = MplFigure(figsize=(7.5, 0.9 + 0.4 * max(len(shown), 1)))
    ax = fig.add_subplot()
    for row, d in enumerate(shown):
        ci = d.interval
        ax.plot([ci.low, ci.high], [row, row], color=colors[d.name], lw=2)
        ax.plot([ci.mean], [row], "o", color=colors[d.name])
    ax.axvline(0.0, color="0.4", lw=1, ls="--")
    label = "normalised score minus random search's (negative = better than random)"
    reach = max((max(abs(d.interval.low), abs(d.interval.high)) for d in shown), default=0.0)
    if reach > 10:  # a failing strategy far off: keep the small differences readable
        ax.set_xscale("symlog", linthresh=1.0)
        label += ", symmetric log scale beyond ±1"
    ax.set_yticks(range(len(shown)), [d.name for d in shown])
    ax.set_ylim(-0.7, len(shown) - 0.3)
    ax.invert_yaxis()
    ax.set_xlabel(label)
    ax.grid(True, axis="x", alpha=0.3)
    return _save(fig, path)
