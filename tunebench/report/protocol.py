"""The report's protocol card: what was run and how — task, splits, model, space, budget,
seeds, executors, package versions, machine and dates.

>>> executor_label("inline", 1), executor_label("processes", 2), executor_label("inline", 1, 2)
('inline', 'processes ×2', 'inline, 2 runs at a time')
"""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from ..study import Study
from .document import Table
from .reference import BOOK, ProblemText
from .runs import Groups, Run

__all__ = ["PACKAGES", "environment", "executor_label", "executors_text", "protocol_table"]

#: Packages on the protocol card: (shown name, distribution names to try).
PACKAGES = (
    ("tensorflow", ("tensorflow", "tensorflow-cpu")),
    ("keras", ("keras",)),
    ("keras-tuner", ("keras-tuner", "keras_tuner")),
    ("hyperopt", ("hyperopt",)),
    ("scikit-optimize", ("scikit-optimize",)),
    ("optuna", ("optuna",)),
    ("deap", ("deap",)),
    ("scikit-learn", ("scikit-learn",)),
    ("numpy", ("numpy",)),
    ("scipy", ("scipy",)),
    ("tunebench", ("tunebench",)),
)


def environment() -> dict[str, Any]:
    """Python, package versions, cores and date of this process (for the protocol card)."""
    packages = {}
    for shown, dists in PACKAGES:
        for dist in dists:
            try:
                packages[shown] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
        else:
            packages[shown] = "not installed"
    return {
        "python": platform.python_version(),
        "packages": packages,
        "cores": os.cpu_count(),
        "load": _load_average(),
        "machine": f"{platform.system()} {platform.machine()}",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _load_average() -> float | None:
    """The machine's load over the last minute (None where unknown): other work sharing the
    cores slows the wall-clock figures of the runs of that session."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def load_text(environments: list[dict[str, Any]], cores: int | None) -> str:
    """The load at each session's start, and a warning when it exceeded the cores.

    >>> load_text([{"load": 0.4}, {"load": 3.5}], 2)
    '; load at session starts 0.4, 3.5: higher than the 2 cores in 1 of 2 sessions, whose wall-clock figures are slower than the machine alone gives'
    """  # noqa: E501
    loads = [e["load"] for e in environments if e.get("load") is not None]
    if not loads:
        return ""
    text = f"; load at session starts {', '.join(f'{x:g}' for x in loads)}"
    busy = [x for x in loads if cores and x > cores]
    if busy:
        text += (
            f": higher than the {cores} cores in {len(busy)} of {len(loads)} sessions, whose "
            "wall-clock figures are slower than the machine alone gives"
        )
    return text


def executor_label(
    executor: str,
    workers: int | None,
    runs_at_once: int | None = None,
    engine: str | None = None,
) -> str:
    """How the card names an executor and its workers, the runs beside it (``jobs``) and
    the fast path's engine when it is not the default (``auto``).

    >>> executor_label("inline", 1, 2, "tensorflow")
    'inline, 2 runs at a time, fast path: tensorflow'
    """
    label = "inline" if executor == "inline" else f"{executor} ×{workers or '?'}"
    label += f", {runs_at_once} runs at a time" if runs_at_once else ""
    return label + (f", fast path: {engine}" if engine and engine != "auto" else "")


def executors_text(runs: Sequence[Run], executions: dict[str, list[dict[str, Any]]]) -> str:
    """What the runs actually ran on, e.g. ``inline (20 runs); processes ×2 (4 runs)`` or
    ``inline, 2 runs at a time (40 runs)`` (``jobs``); a run resumed elsewhere shows each in
    turn (``inline, then processes ×2``)."""
    counts: dict[str, int] = {}
    for run in runs:
        sessions = executions.get(run.study.name) or []
        labels = dict.fromkeys(
            executor_label(s["executor"], s.get("workers"), s.get("runs_at_once"), s.get("engine"))
            for s in sessions
        )
        label = ", then ".join(labels) or "not recorded"
        counts[label] = counts.get(label, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return "; ".join(f"{label} ({n} run{'s' if n != 1 else ''})" for label, n in ordered)


def space_text(study: Study) -> str:
    """The search space in one line: each parameter's kind, range or options, scale."""
    if study.space is None:
        return "—"
    parts = []
    for name, param in study.space.to_json().items():
        if param["type"] == "choice":
            parts.append(f"`{name}` one of {param['options']}")
        else:
            kind = "integer" if param["type"] == "int" else "real"
            scale = ", log-uniform" if param.get("log") else ""
            parts.append(f"`{name}` {kind} {param['low']:g}–{param['high']:g}{scale}")
    return "; ".join(parts)


def protocol_table(
    groups: Groups,
    order: list[str],
    notes: dict[str, Any],
    store: Path,
    problem: ProblemText = BOOK,
) -> Table:
    """The protocol card of the runs ``groups`` read from ``store`` (``notes``: its notes)
    on ``problem``."""
    runs = [run for name in order for run in groups[name].values()]
    first = runs[0].study
    objective = first.objective or {}
    task = objective.get("task", {})
    sizes = task.get("sizes", {})
    if sizes:
        splits = (
            f"{sizes.get('train', 0):,} train / {sizes.get('valid', 0):,} validation / "
            f"{sizes.get('test', 0):,} test"
        )
        if "subsample" in task:
            splits += " (a subsample of the book's 11,610 / 3,870 / 5,160)"
    else:
        splits = "—"
    model = objective.get("build_model", "—")
    if model == "build_mlp":
        model = (
            "`build_mlp`, the book's MLP: `n_hidden` ReLU layers of `n_neurons`, one linear "
            "output, SGD at `learning_rate`, MSE loss"
        )
    budgets = sorted({r.budget_epochs for r in runs if r.budget_epochs is not None})
    seeds = sorted({r.seed for r in runs})
    environments = notes.get("environment") or []
    env = environments[-1] if environments else environment()
    env_note = (
        "" if environments else " (of the machine writing this report: the store has no record)"
    )
    if len({str(e.get("packages")) for e in environments}) > 1:
        env_note = f" (the last of {len(environments)} sessions; earlier ones differed)"
    packages = ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items())
    started = [t.started for r in runs for t in r.study.trials if t.started]
    finished = [t.finished for r in runs for t in r.study.trials if t.finished]

    def utc(stamp: float) -> str:
        return datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    dates = f"{utc(min(started))} to {utc(max(finished))}" if started and finished else "—"
    bench = notes.get("benchmark") or {}
    executor = executors_text(runs, notes.get("executions") or {})
    options = {
        name: groups[name][next(iter(groups[name]))].study.options
        for name in order
        if groups[name][next(iter(groups[name]))].study.options
    }
    pruners = {
        name: groups[name][next(iter(groups[name]))].study.objective.get("pruner_options")
        for name in order
    }
    pruners = {name: given for name, given in pruners.items() if given}
    keras = objective.get("type", "keras") == "keras"
    limits = (
        f"at most {objective.get('max_epochs', '—')} epochs, early stopping on validation "
        f"loss with patience {objective.get('patience', '—')} (best weights restored), "
        f"batch {objective.get('batch_size', '—')}, a NaN loss stops the trial"
        if keras
        else f"at most {objective.get('max_epochs', '—')} epochs (the objective's own limit)"
    )
    rows = [
        [
            "task",
            f"{task.get('name', '—')}, loss {task.get('loss', 'mse').upper()}"
            if problem.book or task
            else f"problem {problem.name}, loss {problem.loss_name}",
        ],
        ["splits", splits],
        ["model", model],
        ["search space", space_text(first)],
        [
            "budget unit",
            "one epoch over the training split; a trial is charged the epochs it trained "
            "(early-stopped trials cost less, continuations only their new epochs)",
        ],
        ["budget a run", ", ".join(f"{b:,} epochs" for b in budgets) or "—"],
        ["per-trial limits", limits],
        ["strategies", ", ".join(order)],
        [
            "strategy options",
            "; ".join(f"{k}: {v}" for k, v in options.items()) or "defaults",
        ],
        *(
            [["pruner options", "; ".join(f"{k}: {v}" for k, v in pruners.items())]]
            if pruners
            else []
        ),
        ["seeds", f"{', '.join(map(str, seeds))} (paired: the same seeds for every strategy)"],
        ["store", f"`{store.name}`, {len(runs)} runs"],
        ["executor", executor],
        [
            "timing",
            "wall seconds per run (`Study.seconds`: every session, no gap between them); "
            + (
                "each run had a fresh objective (no compiled training step shared between "
                "runs) and a warm-up epoch before the first run absorbed TensorFlow's start-up"
                if bench and keras
                else "each run had a fresh objective"
                if bench
                else "runs not made by `tunebench bench`"
            ),
        ],
        ["packages", packages + env_note],
        ["Python", env.get("python", "—")],
        [
            "machine",
            f"{env.get('cores', '?')} cores, {env.get('machine', '—')}"
            + load_text(environments, env.get("cores")),
        ],
        ["dates", f"runs {dates}; report {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}"],
    ]
    return Table(
        ["", "protocol"],
        rows,
        "What was run and how: every strategy searched the same space on the same splits, "
        "under the same epoch budget, with the same seeds; selection used the validation split "
        "only and the test split was only reported.",
    )
