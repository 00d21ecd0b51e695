"""Reading a benchmark store into runs: one ``Run`` per study, grouped by strategy and seed.

A run holds its study and its anytime curve (epochs, seconds and best validation loss after
each finished trial), and answers what the report asks of one run: its incumbent's losses,
its overhead, whether it is complete, the best loss at a point of the budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..pruning import strategy_label
from ..store import Store
from ..study import Study

__all__ = ["EXECUTIONS_META", "Groups", "Run", "load_runs"]

#: The store's note of where each run's trials ran, one entry a session that ran trials
#: (``tunebench bench`` writes it): ``{study name: [{"executor": ..., "workers": ...}]}``.
EXECUTIONS_META = "executions"


@dataclass
class Run:
    """One study of the store, reduced to what the report needs.

    The anytime curve has one point per finished trial, in the order the trials finished
    (``tell_seq``): epochs charged so far, wall seconds so far and the best validation loss
    so far. Wall seconds: the trials' own durations, rescaled so that they add up to the
    study's wall time (``Study.seconds``, which counts every session and no gap between them),
    i.e. the framework's overhead is spread over the trials in proportion to their length.
    """

    study: Study
    epochs: np.ndarray = field(init=False)
    seconds: np.ndarray = field(init=False)
    best: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        finished = sorted(
            self.study.finished_trials,
            key=lambda t: (t.tell_seq if t.tell_seq is not None else math.inf, t.id),
        )
        self.epochs = np.cumsum([t.epochs_run for t in finished], dtype=float)
        seconds = np.cumsum([t.seconds for t in finished], dtype=float)
        if len(seconds) and seconds[-1] > 0 and self.study.seconds > 0:
            seconds *= self.study.seconds / seconds[-1]
        self.seconds = seconds
        losses = [t.loss if t.status == "ok" else math.inf for t in finished]
        self.best = np.minimum.accumulate(losses) if losses else np.array([])

    @property
    def strategy(self) -> str:
        """The strategy as the report names it: ``tpe+asha`` for ``tpe`` under a pruner."""
        return strategy_label(self.study.strategy, self.study.objective.get("pruner"))

    @property
    def seed(self) -> int:
        return -1 if self.study.seed is None else self.study.seed

    @property
    def budget_epochs(self) -> int | None:
        return None if self.study.budget is None else self.study.budget.epochs

    @property
    def final_val(self) -> float:
        return self.study.best_loss

    @property
    def final_test(self) -> float:
        best = self.study.best_trial
        if best is None:
            return math.inf
        return math.nan if best.test_loss is None else float(best.test_loss)

    def final_metric(self, name: str) -> float:
        """The test metric ``name`` of the incumbent (NaN: no incumbent, or not measured)."""
        best = self.study.best_trial
        return math.nan if best is None else float(best.metrics.get(name, math.nan))

    @property
    def train_seconds(self) -> float:
        return float(sum(t.seconds for t in self.study.finished_trials))

    @property
    def parallel(self) -> bool:
        """Whether trials overlapped in time (parallel workers): one started before an
        earlier-started one had finished."""
        spans = sorted(
            (t.started, t.finished) for t in self.study.trials if t.started and t.finished
        )
        latest = -math.inf
        for started, finished in spans:
            if started < latest - 1e-3:
                return True
            latest = max(latest, finished)
        return False

    @property
    def overhead(self) -> float | None:
        """Wall seconds not spent inside trials (None when trials overlapped in parallel)."""
        if self.parallel:
            return None
        return max(self.study.seconds - self.train_seconds, 0.0)

    @property
    def failures(self) -> int:
        return sum(t.status in ("failed", "diverged") for t in self.study.trials)

    @property
    def promoted_trials(self) -> int:
        return sum(t.initial_epoch > 0 for t in self.study.finished_trials)

    @property
    def promoted_epochs(self) -> int:
        return sum(t.epochs_run for t in self.study.finished_trials if t.initial_epoch > 0)

    @property
    def pruned_trials(self) -> int:
        return sum(t.status == "pruned" for t in self.study.trials)

    @property
    def pruned_epochs(self) -> int:
        """Epochs charged to trials a pruner stopped."""
        return sum(t.epochs_run for t in self.study.trials if t.status == "pruned")

    @property
    def complete(self) -> bool:
        return self.study.stop_reason not in (None, "interrupted") and all(
            t.is_finished for t in self.study.trials
        )

    def best_at(self, x: np.ndarray | float, axis: str = "epochs") -> np.ndarray:
        """Best validation loss known once ``x`` epochs (or seconds) are spent; inf before
        the first success. After the run's end the incumbent stays."""
        spent = self.epochs if axis == "epochs" else self.seconds
        index = np.searchsorted(spent, np.asarray(x, dtype=float), side="right") - 1
        values = np.concatenate([[math.inf], self.best]) if len(self.best) else np.array([np.inf])
        return values[np.clip(index + 1, 0, len(values) - 1)]

    def time_to(self, target: float) -> tuple[float, float]:
        """Epochs and seconds spent when the best loss first reached ``target`` (inf: never)."""
        hits = np.nonzero(self.best <= target)[0]
        if not len(hits):
            return math.inf, math.inf
        return float(self.epochs[hits[0]]), float(self.seconds[hits[0]])


#: The runs of a store: ``{strategy: {seed: Run}}``.
Groups = dict[str, dict[int, Run]]


def load_runs(store_path: str | Path) -> tuple[Groups, dict[str, Any]]:
    """Every study of the store as ``{strategy: {seed: Run}}``, and the store's notes."""
    path = Path(store_path)
    if not path.is_file():
        raise FileNotFoundError(f"no store at {str(store_path)!r}; run `tunebench bench` first")
    groups: Groups = {}
    notes: dict[str, Any] = {"duplicates": []}
    with Store(path) as store:
        for name in store.study_names():
            run = Run(store.load_study(name))
            seeds = groups.setdefault(run.strategy, {})
            if run.seed in seeds:  # keep the first study of a (strategy, seed) pair
                notes["duplicates"].append(name)
                continue
            seeds[run.seed] = run
        notes["benchmark"] = store.get_meta("benchmark")
        notes["executions"] = store.get_meta(EXECUTIONS_META) or {}
        notes["environment"] = store.get_meta("environment")
    if not groups:
        raise ValueError(
            f"the store {str(store_path)!r} holds no studies; run a benchmark into it first "
            "(tunebench bench --storage ...)"
        )
    return groups, notes
