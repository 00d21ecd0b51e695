"""The report's figures (matplotlib, imported when drawn): the anytime curves against epochs
or seconds, and every run's final validation and test loss. Each is saved as PNG and its
bytes returned, for the HTML page to embed.

The anytime figures plot regret: a run's best validation loss so far minus the best any run
of the store found, plus a small floor (``RegretScale``) so that the best run's 0 lies on
the log axis. Regret is >= 0 whatever the loss's sign, so a problem whose losses are
negative draws as well as one of mean squared errors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .reference import BOOK, ProblemText
from .runs import Groups, Run

__all__ = [
    "AnytimeBand",
    "RegretScale",
    "anytime_bands",
    "anytime_figure",
    "draw_anytime",
    "draw_final",
    "final_figure",
    "regret_scale",
]

#: Stand-in for "no successful trial yet" in the anytime figures' quartiles (never printed).
_WORST = 1e300
#: The floor is this fraction of the median run's first-trial regret.
FLOOR_FRACTION = 1e-3
#: The anytime figures' y axis spans at most this many floors.
_DECADES = 1e4


@dataclass(frozen=True)
class RegretScale:
    """The best validation loss of any run (``best``), and the ``floor`` added to every
    regret so that 0 can be drawn on a log axis: a thousandth of the median run's regret
    after its first successful trial (1e-3 of ``max(|best|, 1)`` when that is 0)."""

    best: float
    floor: float

    def regret(self, losses: np.ndarray) -> np.ndarray:
        """``losses - best + floor`` (``inf`` stays ``inf``: no successful trial yet)."""
        return np.asarray(losses, dtype=float) - self.best + self.floor


def regret_scale(groups: Groups) -> RegretScale:
    """The regret scale of a store's runs.

    >>> from tunebench import Budget, tune
    >>> runs = [Run(tune(lambda x: x - 3.0, {"x": [0.5, 0.25]}, strategy="grid",
    ...             budget=Budget(trials=2), seed=0))]
    >>> regret_scale({"grid": {0: runs[0]}})
    RegretScale(best=-2.75, floor=0.00025)
    """
    runs = [run for seeds in groups.values() for run in seeds.values()]
    finals = [r.final_val for r in runs if math.isfinite(r.final_val)]
    if not finals:
        return RegretScale(0.0, 1.0)
    best = min(finals)
    first = [
        float(r.best[np.isfinite(r.best)][0]) - best for r in runs if np.isfinite(r.best).any()
    ]
    spread = float(np.median(first))
    if not spread > 0:
        spread = max(abs(best), 1.0)
    return RegretScale(best, round(FLOOR_FRACTION * spread, 12))


@dataclass
class AnytimeBand:
    """One strategy's anytime curve: at each ``x``, the median and quartiles over its runs
    of the regret (NaN where not drawn), and where each run ended: ``(x, final regret)``."""

    x: np.ndarray
    q1: np.ndarray
    median: np.ndarray
    q3: np.ndarray
    ends: list[tuple[float, float]]


def _end(run: Run, axis: str) -> float:
    spent = run.epochs if axis == "epochs" else run.seconds
    return float(spent[-1]) if len(spent) else 0.0


def anytime_bands(
    groups: Groups, order: list[str], axis: str, scale: RegretScale, points: int = 400
) -> dict[str, AnytimeBand]:
    """Each strategy's regret curve against ``axis`` ("epochs" or "seconds").

    Against epochs, a run that ended before the budget (a finished grid) keeps its incumbent
    to the end. Against seconds, each run counts only while it was running: the median and
    quartiles at ``t`` are over the runs not yet ended at ``t``, and the curve stops once
    half of the strategy's runs have ended (more than half must be running).
    """
    runs = [run for seeds in groups.values() for run in seeds.values()]
    if axis == "epochs":
        end = max([r.budget_epochs or 0 for r in runs] + [_end(r, axis) for r in runs])
    else:
        end = max([_end(r, axis) for r in runs])
    xs = np.linspace(0, max(end, 1e-9), points)
    bands = {}
    for name in order:
        members = list(groups[name].values())
        curves = np.array([scale.regret(run.best_at(xs, axis)) for run in members])
        curves = np.where(np.isfinite(curves), curves, _WORST)
        if axis == "seconds":
            running = np.array([xs <= _end(run, axis) for run in members])
            curves = np.where(running, curves, np.nan)
            enough = running.sum(axis=0) > len(members) / 2
        else:
            enough = np.ones(len(xs), dtype=bool)
        with np.errstate(all="ignore"):
            q1, med, q3 = (
                np.nanpercentile(np.where(enough, curves, 0.0), q, axis=0) for q in (25, 50, 75)
            )
        med = np.where(enough & (med < _WORST / 2), med, np.nan)
        q1 = np.where(enough, np.minimum(q1, 1e6), np.nan)  # no trial yet: off the chart
        q3 = np.where(enough, np.minimum(q3, 1e6), np.nan)
        ends = [
            (_end(run, axis), float(scale.regret(np.array([run.final_val]))[0]))
            for run in members
            if math.isfinite(run.final_val)
        ]
        bands[name] = AnytimeBand(xs, q1, med, q3, ends)
    return bands


def _colors(strategies: Sequence[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    palette = colormaps["tab10"].colors
    others = [s for s in sorted(strategies) if s != "random"]
    colors = {name: palette[i % len(palette)] for i, name in enumerate(others)}
    colors["random"] = (0.1, 0.1, 0.1)
    return colors


def panel_grid(n: int, legend_height: float) -> tuple[Any, Any]:
    """A figure of ``n`` small panels on shared axes, three a row, and its axes (flat; the
    unused ones hidden, x labels only on the lowest of each column); ``legend_height``
    inches are left for the legend."""
    from matplotlib.figure import Figure as MplFigure

    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig = MplFigure(figsize=(3.4 * ncols + 0.6, 2.6 * nrows + legend_height), layout="constrained")
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
    for i, ax in enumerate(axes):
        ax.set_visible(i < n)
        ax.tick_params(labelbottom=i + ncols >= n)  # epoch labels where no panel is below
    return fig, axes


def _save(fig: Any, path: Path) -> bytes:
    fig.savefig(path, format="png", dpi=110, bbox_inches="tight")
    return path.read_bytes()


def _draw_band(ax: Any, band: AnytimeBand, color: Any, baseline: bool, axis: str) -> None:
    ax.fill_between(band.x, band.q1, band.q3, color=color, alpha=0.12 if baseline else 0.25, lw=0)
    ax.plot(
        band.x,
        band.median,
        color=color,
        lw=1.4 if baseline else 1.8,
        ls="--" if baseline else "-",
    )
    if band.ends:
        ends = np.array(band.ends)
        ax.scatter(
            ends[:, 0], ends[:, 1], color=color, marker="|", s=60, lw=1.2, zorder=3, clip_on=False
        )


def draw_anytime(groups: Groups, order: list[str], axis: str, problem: ProblemText = BOOK) -> Any:
    """The anytime figure as a matplotlib ``Figure``: one panel per strategy, its regret's
    median over seeds (line) and quartiles (band) drawn over random search's (dashed, grey
    band) when the benchmark has random search; log y axis, shared by every panel."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    scale = regret_scale(groups)
    bands = anytime_bands(groups, order, axis, scale)
    colors = _colors(order)
    baseline = "random" if "random" in groups and len(groups) > 1 else None
    panels = [name for name in order if name != baseline]
    fig, axes = panel_grid(len(panels), legend_height=0.7)
    tops = [float(np.nanmax(b.median)) for b in bands.values() if np.isfinite(b.median).any()]
    low, high = scale.floor * 0.7, scale.floor * _DECADES
    if tops:
        high = min(max(tops) * 1.5, high)
    high = max(high, scale.floor * 10)
    target = problem.target
    target_regret = None if target is None else target - scale.best + scale.floor
    for i, (ax, name) in enumerate(zip(axes, panels, strict=False)):
        if baseline is not None:
            _draw_band(ax, bands[baseline], (0.45, 0.45, 0.45), True, axis)
        _draw_band(ax, bands[name], colors[name], False, axis)
        n = len(groups[name])
        ax.set_title(f"{name} ({n} seed{'s' if n != 1 else ''})", fontsize=9)
        if target_regret is not None and scale.floor < target_regret < high:
            ax.axhline(target_regret, color="0.5", lw=1, ls=":")
            if i == 0:
                ax.text(
                    bands[name].x[-1],
                    target_regret,
                    "book's CV MSE 0.320" if problem.book else "reference",
                    ha="right",
                    va="bottom",
                    fontsize=7,
                    color="0.35",
                )
        ax.set_yscale("log")
        ax.set_ylim(low, high)
        ax.set_xlim(0, bands[name].x[-1])
        ax.grid(True, which="major", alpha=0.3)
        ax.tick_params(labelsize=7)
    axes[0].yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axes[0].yaxis.set_minor_formatter(NullFormatter())
    fig.supxlabel(
        "epochs trained (budget spent)" if axis == "epochs" else "wall-clock seconds",
        fontsize=9,
    )
    fig.supylabel(f"validation {problem.loss_name} − best found (log)", fontsize=9)
    if baseline is not None:
        from matplotlib.lines import Line2D

        handles = [
            Line2D([], [], color="0.2", lw=1.8, label="strategy: median over seeds"),
            Line2D([], [], color="0.45", lw=1.4, ls="--", label="random search: median"),
            Line2D([], [], color="0.2", ls="", marker="|", label="a run's end"),
        ]
        axes[0].legend(handles=handles, fontsize=7, loc="upper right")
    return fig


def anytime_figure(
    groups: Groups, order: list[str], axis: str, path: Path, problem: ProblemText = BOOK
) -> bytes:
    """``draw_anytime`` saved as PNG at ``path``; its bytes."""
    return _save(draw_anytime(groups, order, axis, problem), path)


def final_figure(
    groups: Groups, order: list[str], path: Path, problem: ProblemText = BOOK
) -> bytes:
    """``draw_final`` saved as PNG at ``path``; its bytes."""
    return _save(draw_final(groups, order, problem), path)


def draw_final(groups: Groups, order: list[str], problem: ProblemText = BOOK) -> Any:
    """Each run's incumbent: validation loss (circles) and test loss (crosses), one mark per
    seed and a bar at the median, beside the problem's references (the book's CV and test
    MSE), on a linear axis. Outliers far above the median are cut off when every loss is
    positive; with a loss <= 0 every mark is shown as it is."""
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
            ax.text(  # clipped: a reference off the axis would stretch the saved image
                len(order) - 0.5,
                value,
                label,
                fontsize=8,
                va=where,
                ha="right",
                color="0.35",
                clip_on=True,
            )
    ax.set_xticks(range(len(order)), order, rotation=20)
    ax.set_xlim(-0.6, len(order) - 0.4)
    if finite:
        low, high = min([*finite, *marks]), max(finite)
        pad = 0.05 * max(high - low, 0.01)
        top = high
        if min(finite) > 0:  # outliers are cut off
            top = min(high, max(1.0, 2.5 * float(np.median(finite))))
        ax.set_ylim(low - pad, top + pad)
    ax.set_ylabel(f"{problem.loss_name} of the incumbent")
    ax.scatter([], [], color="0.3", marker="o", label="validation (selected on)")
    ax.scatter([], [], color="0.3", marker="x", label="test (reported only)")
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    return fig
