"""The learning curves of the trials of strategies that stop trials early: a pruner's
(``tpe+asha``), ``asha`` and ``bohb`` (which prune by themselves) and ``hyperband`` (whose
rungs train short). One panel a strategy, one seed: each trial's validation loss after each
epoch it trained, ending where it stopped, coloured by its fate — trained to its end,
stopped early, or failed — so that the reader sees where trials were cut and whether the cut
ones were bad. matplotlib is imported when drawn.

A Hyperband continuation (``resume_from``) is drawn from its parent's last point, and a
trial's fate is its lineage's: a rung trial whose continuation trained to the end is
``complete``; one never continued after a rung below the objective's ``max_epochs`` is
``stopped``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..pruning import split_label
from ..trial import Trial
from .figures import _save, panel_grid
from .runs import Groups, Run
from .startup import _strategy_class

__all__ = ["CurveLine", "CurvePanel", "curve_panels", "curves_figure", "draw_curves"]

#: A trial's fate, in the order they are drawn (the last on top), and its colour and label.
FATES = {
    "failed": ((0.55, 0.55, 0.55), "failed or diverged"),
    "stopped": ((0.84, 0.15, 0.16), "stopped early"),
    "complete": ((0.12, 0.47, 0.71), "trained to its end"),
}
#: A linear axis is used when the losses span fewer decades than this (or are not all > 0).
LOG_SPAN = 100.0


@dataclass(frozen=True)
class CurveLine:
    """One trial's curve: the trial's id, the epochs (counted from the start of training)
    and the losses after them (NaN where not finite), its ``fate`` (a key of ``FATES``), and
    whether a later trial ``continued`` it (its lineage then ends elsewhere)."""

    trial: int
    epochs: np.ndarray
    losses: np.ndarray
    fate: str
    continued: bool = False


@dataclass(frozen=True)
class CurvePanel:
    """The curves of one run: a strategy's trials on one seed."""

    strategy: str
    seed: int
    lines: list[CurveLine]


def stops_trials_early(name: str, runs: Sequence[Run]) -> bool:
    """Whether strategy ``name`` stops trials before their end: a pruner's entry
    (``tpe+asha``), a strategy with its own pruner or schedule of training lengths, or (a
    strategy not installed here) runs holding pruned or continued trials.

    >>> stops_trials_early("tpe+asha", []), stops_trials_early("random", [])
    (True, False)
    """
    if split_label(name)[1] != "none":
        return True
    cls = _strategy_class(name)
    if cls is not None:
        return cls.pruner is not None or bool(cls.multi_fidelity)
    return any(r.pruned_trials or r.promoted_trials for r in runs)


def _own_fate(trial: Trial, rungs: bool, max_epochs: Any) -> str:
    """A trial's fate, its continuations aside."""
    if trial.status in ("failed", "diverged"):
        return "failed"
    if trial.status == "pruned":
        return "stopped"
    granted = None if trial.epochs is None else trial.epochs - trial.initial_epoch
    if (
        rungs
        and isinstance(max_epochs, int)
        and trial.epochs is not None
        and trial.epochs < max_epochs
        and trial.epochs_run == granted
    ):
        return "stopped"  # trained its rung in full, and was not promoted
    return "complete"


def _trains_rungs(run: Run) -> bool:
    """Whether ``run``'s strategy trains trials to rungs and continues the best (Hyperband);
    for a strategy not installed here, whether the run holds a continued trial."""
    cls = _strategy_class(run.strategy)
    if cls is not None:
        return bool(cls.multi_fidelity)
    return run.promoted_trials > 0


def run_lines(run: Run) -> list[CurveLine]:
    """The curve of each finished trial of ``run`` that reported one, in trial order."""
    trials = [t for t in run.study.trials if t.is_finished]
    by_id = {t.id: t for t in trials}
    children: dict[int, list[Trial]] = {}
    for t in trials:
        if t.resume_from is not None:
            children.setdefault(t.resume_from, []).append(t)
    rungs = _trains_rungs(run)
    max_epochs = (run.study.objective or {}).get("max_epochs")
    rank = {fate: i for i, fate in enumerate(FATES)}
    fates: dict[int, str] = {}

    def fate(t: Trial) -> str:  # its lineage's: the best of its continuations' fates
        if t.id not in fates:
            below = [fate(c) for c in children.get(t.id, ())]
            fates[t.id] = (
                max(below, key=rank.__getitem__) if below else _own_fate(t, rungs, max_epochs)
            )
        return fates[t.id]

    lines = []
    for t in trials:
        if not t.curve:
            continue
        epochs = np.arange(t.initial_epoch + 1, t.initial_epoch + len(t.curve) + 1, dtype=float)
        losses = np.array(t.curve, dtype=float)
        parent = by_id.get(t.resume_from) if t.resume_from is not None else None
        if parent is not None and parent.curve and t.initial_epoch > 0:
            epochs = np.concatenate([[float(t.initial_epoch)], epochs])
            losses = np.concatenate([[parent.curve[-1]], losses])
        losses[~np.isfinite(losses)] = np.nan
        lines.append(CurveLine(t.id, epochs, losses, fate(t), t.id in children))
    return lines


def curve_panels(groups: Groups, order: list[str]) -> list[CurvePanel]:
    """One panel per strategy in ``order`` that stops trials early and has curves: its runs
    on the lowest seed every such strategy ran (else its own lowest seed). Empty when no
    strategy of the report stops trials early."""
    names = [n for n in order if stops_trials_early(n, list(groups[n].values()))]
    common = set.intersection(*(set(groups[n]) for n in names)) if names else set()
    panels = []
    for name in names:
        seed = min(common) if common else min(groups[name])
        lines = run_lines(groups[name][seed])
        if any(np.isfinite(line.losses).any() for line in lines):
            panels.append(CurvePanel(name, seed, lines))
    return panels


def _segments(line: CurveLine) -> list[np.ndarray]:
    """The line's stretches of finite points, as ``(n, 2)`` arrays (n >= 2)."""
    points = np.column_stack([line.epochs, line.losses])
    finite = np.isfinite(line.losses)
    breaks = np.flatnonzero(np.diff(finite.astype(int)) != 0) + 1
    return [
        part for part in np.split(points, breaks) if len(part) > 1 and np.isfinite(part[:, 1]).all()
    ]


def log_scale(panels: Sequence[CurvePanel]) -> bool:
    """Whether the losses are drawn on a log axis: all > 0 and spanning ``LOG_SPAN``."""
    values = np.concatenate([line.losses for p in panels for line in p.lines] or [np.ones(1)])
    values = values[np.isfinite(values)]
    return bool(len(values) and values.min() > 0 and values.max() / values.min() >= LOG_SPAN)


def draw_curves(panels: Sequence[CurvePanel], loss_name: str = "MSE") -> Any:
    """The learning-curve figure as a matplotlib ``Figure``: a panel per strategy on shared
    axes, each trial's curve coloured by its fate, a dot where its lineage ended."""
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    fig, axes = panel_grid(len(panels), legend_height=1.0)
    log = log_scale(panels)
    drawn: set[str] = set()
    for ax, panel in zip(axes, panels, strict=False):
        for fate, (color, _) in FATES.items():
            lines = [line for line in panel.lines if line.fate == fate]
            if not lines:
                continue
            drawn.add(fate)
            alpha = 0.45 if fate == "failed" else 0.6
            segments = [s for line in lines for s in _segments(line)]
            ax.add_collection(LineCollection(segments, colors=[color], linewidths=0.9, alpha=alpha))
            ends = np.array(
                [
                    (line.epochs[k], line.losses[k])
                    for line in lines
                    if not line.continued
                    for k in np.flatnonzero(np.isfinite(line.losses))[-1:]
                ]
            )
            if len(ends):
                ax.scatter(ends[:, 0], ends[:, 1], color=[color], s=7, alpha=alpha, lw=0)
        n = len(panel.lines)
        ax.set_title(f"{panel.strategy} (seed {panel.seed}, {n} trials)", fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=7)
    epochs = np.concatenate([line.epochs for p in panels for line in p.lines])
    values = np.concatenate([line.losses for p in panels for line in p.lines])
    values = values[np.isfinite(values)]
    low, high = float(values.min()), float(values.max())
    if log:
        axes[0].set_yscale("log")
        axes[0].set_ylim(low / 1.3, high * 1.3)
    else:
        pad = 0.05 * (high - low) or 0.05 * max(abs(high), 1.0)
        axes[0].set_ylim(low - pad, high + pad)
    axes[0].set_xlim(0, float(epochs.max()) + 0.5)
    fig.supxlabel("epoch", fontsize=9)
    fig.supylabel(f"validation {loss_name}" + (" (log)" if log else ""), fontsize=9)
    handles = [
        Line2D([], [], color=color, lw=1.5, label=label)
        for fate, (color, label) in FATES.items()
        if fate in drawn
    ]
    fig.legend(handles=handles[::-1], fontsize=7, loc="outside upper center", ncols=3)
    return fig


def curves_figure(panels: Sequence[CurvePanel], path: Path, loss_name: str = "MSE") -> bytes:
    """``draw_curves`` saved as PNG at ``path``; its bytes."""
    return _save(draw_curves(panels, loss_name), path)
