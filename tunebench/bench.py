"""The benchmark: every strategy on each problem under one epoch budget, over paired seeds.

``run_benchmark()`` tunes each problem (``tunebench.problems``; by default the book's MLP on
California housing: the book's splits and space, SGD, MSE, batch 32, at most 100 epochs a
trial, early stopping with patience 10) with each strategy and each seed — seed ``k`` is the
same for every strategy — under the same epoch budget, writes every trial of every run of a
problem into one SQLite store, then writes the problem's comparison report
(``tunebench.report``) and prints its verdict in a few lines. Several problems get a store and
report each, in a folder per problem, and a report across them. ``run_protocol`` runs a
protocol, a list of ``ProblemPlan``s giving each problem its own seeds, budget and settings:
``QUICK_PROTOCOL`` (``make bench``) and ``FULL_PROTOCOL`` (``make bench-full``, the
publication protocol). ``tunebench bench`` and ``benchmarks/suite.py`` call them.

Before the first run, every problem's objective is made once and checked against its space
(``Problem.checked_objective``): a factory that raises or a space its objective cannot take
stops the benchmark with the problem's name, before anything trains.

Rerunning the same call resumes: a run the store holds as finished is skipped without being
touched, an interrupted one continues where it stopped (``tune``'s own resume), a new one
starts; a rerun with nothing left to do writes nothing into the store. Each session of a run
that trains notes the executor and workers it used (``record_execution``), which the report's
protocol card shows.

>>> plan(["random", "tpe"], seeds=(0, 1))
[('random', 0), ('tpe', 0), ('random', 1), ('tpe', 1)]
>>> format_duration(754.0)
'about 13 min'
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .budget import Budget
from .problems import BOOK_PROBLEM, SETTINGS, Problem, check_problems
from .progress import BenchProgress, NullBenchProgress, make_bench_progress
from .store import Store, StudyBusyError, objective_differences

__all__ = [
    "DEFAULT_BUDGET_EPOCHS",
    "DEFAULT_SEEDS",
    "FULL_PROTOCOL",
    "FULL_PROTOCOL_PRUNED",
    "QUICK_PROTOCOL",
    "ProblemPlan",
    "epoch_seconds",
    "estimate_seconds",
    "full_protocol_strategies",
    "plan",
    "record_execution",
    "run_benchmark",
    "run_protocol",
    "study_name",
    "trial_lengths",
]

#: ``run_benchmark``'s seeds when none are given, and the budget of a run of a problem that
#: declares none (``Problem.budget_epochs``).
DEFAULT_SEEDS: tuple[int, ...] = (0, 1, 2)
DEFAULT_BUDGET_EPOCHS = 300

# The duration estimate printed before a benchmark starts. Measured on 2 cores (2026-11-30,
# the full protocol's runs, two at a time) with the fast training path (batch 32): an epoch
# costs about 8 ms plus 4.6 us a training row on TensorFlow's epoch (55-60 ms over the book's
# 11,610 rows; 9-19 ms on the suite's small problems, whose epochs are mostly fixed costs:
# the validation pass, early stopping's copy) and about 1 us a row on JAX's (19 ms on the
# book's rows, which take it: an epoch of at least ``JAX_MIN_BATCHES`` batches); a trial
# costs about 0.15 s more to start (build the model, trace its compiled epoch when its
# depth or optimizer is new, score the test split); a fresh single-fidelity trial trains
# about 50 epochs before early stopping (45-80 over the suite), a Hyperband trial about 4.6
# (most are first-rung trials), a pruned run's trial about 5 (asha 3, bohb 11: it depends
# on the pruner and its options); and the process needs about 10 s to import TensorFlow and
# load the data. A machine twice as fast takes about half.
EPOCH_SECONDS_PER_ROW = 0.053 / 11_610
JAX_EPOCH_SECONDS_PER_ROW = 0.011 / 11_610
EPOCH_SECONDS_FIXED = 0.008
TRIAL_START_SECONDS = 0.15
#: Epochs a trial trains, by how a run's trials end: ``full`` (early stopping or the limit),
#: ``rungs`` (Hyperband's schedule), ``pruned`` (under a pruner, ``asha``, ``bohb``).
EPOCHS_PER_TRIAL = {"full": 50.0, "rungs": 4.6, "pruned": 5.0}
STARTUP_SECONDS = 10.0
#: Starting the worker processes of a parallel executor, once a benchmark (each imports
#: TensorFlow; the workers are reused by every run).
WORKER_START_SECONDS = 20.0

#: Stop reasons after which a run is complete; ``interrupted`` (or none: killed) is resumed.
_UNFINISHED = (None, "interrupted")


def study_name(strategy: str, seed: int, problem: str = BOOK_PROBLEM) -> str:
    """The name of one run in the benchmark's store: prefixed by its problem, except for the
    book's (whose runs kept their names, so that older stores still resume).

    >>> study_name("optuna-tpe", 2), study_name("tpe", 0, "digits")
    ('optuna-tpe-seed2', 'digits/tpe-seed0')
    """
    name = f"{strategy}-seed{seed}"
    return name if problem == BOOK_PROBLEM else f"{problem}/{name}"


def plan(strategies: Sequence[str], seeds: Sequence[int]) -> list[tuple[str, int]]:
    """The runs in the order they are run: every strategy on seed 0, then on seed 1, ...

    Seed-major, so that an interrupted benchmark already holds complete paired seeds.
    """
    return [(name, seed) for seed in seeds for name in strategies]


def format_duration(seconds: float) -> str:
    """A rough human duration, as the estimate is rough."""
    if seconds < 90:
        return f"about {max(round(seconds / 10) * 10, 10):.0f} s"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60):.0f} min"
    return f"about {seconds / 3600:.1f} h"


def epoch_seconds(n_train: int, *, jax_epochs: bool = False) -> float:
    """Expected seconds of one epoch over ``n_train`` rows, on JAX's engine or TensorFlow's.

    >>> round(epoch_seconds(11_610), 3), round(epoch_seconds(11_610, jax_epochs=True), 3)
    (0.061, 0.019)
    """
    per_row = JAX_EPOCH_SECONDS_PER_ROW if jax_epochs else EPOCH_SECONDS_PER_ROW
    return EPOCH_SECONDS_FIXED + per_row * n_train


def estimate_seconds(
    epochs_left: Iterable[tuple[str, int]],
    *,
    n_train: int,
    max_epochs: int = 100,
    workers: int = 1,
    run_start: float = 0.0,
    jax_epochs: bool = False,
) -> float:
    """Expected wall time of the runs still to do, from the constants above (``jax_epochs``:
    the epochs run on JAX's engine).

    ``epochs_left`` holds ``(trials, epochs)`` for each run still to do, ``trials`` a key
    of ``EPOCHS_PER_TRIAL`` (``trial_lengths``): a run's epochs are the same whatever its
    trials, but short trials start more often. ``run_start`` is the fixed cost of a run
    (starting worker processes).

    >>> round(estimate_seconds([("full", 300)], n_train=11_610), 1)  # 10 s + 300 x 61 ms + 6 x 0.15
    29.2
    >>> round(estimate_seconds([("pruned", 300)], n_train=11_610), 1)  # ... + 60 x 0.15 s
    37.3
    >>> round(estimate_seconds([("full", 300)], n_train=11_610, jax_epochs=True), 1)
    16.6
    """
    epoch = epoch_seconds(n_train, jax_epochs=jax_epochs)
    total = starts = 0.0
    any_left = False
    for trials, epochs in epochs_left:
        if epochs <= 0:
            continue
        any_left = True
        per_trial = min(EPOCHS_PER_TRIAL[trials], max_epochs)
        total += epochs * epoch + math.ceil(epochs / per_trial) * TRIAL_START_SECONDS
        starts += run_start
    if not any_left:
        return 0.0
    return STARTUP_SECONDS + starts + total / max(1, min(workers, os.cpu_count() or 1))


def trial_lengths(label: str) -> str:
    """How the trials of a run of ``label`` end, as ``EPOCHS_PER_TRIAL`` counts them: at
    Hyperband's rungs, stopped by a pruner (``tpe+asha``, ``asha``, ``bohb``), or in full.

    >>> trial_lengths("tpe+asha"), trial_lengths("hyperband"), trial_lengths("tpe")
    ('pruned', 'rungs', 'full')
    """
    from .pruning import split_label
    from .strategy import strategy_class

    name, pruner = split_label(label)
    cls = strategy_class(name)
    if cls.multi_fidelity:
        return "rungs"
    return "pruned" if pruner != "none" or cls.pruner is not None else "full"


def _check_strategies(strategies: Sequence[str] | str | None, pruner: str = "none") -> list[str]:
    """The runs' strategies as the report names them: a registered name, or ``NAME+PRUNER``
    (``tpe+asha``: tpe under the ASHA pruner). ``pruner`` puts every strategy that can take
    one under it; those that schedule training lengths themselves (hyperband, asha, bohb)
    run as they are."""
    from .pruning import check_pruner_name, split_label, strategy_label
    from .strategy import available_strategies, strategy_class

    check_pruner_name(pruner)
    if strategies is None:
        strategies = available_strategies()
    elif isinstance(strategies, str):
        strategies = [s.strip() for s in strategies.split(",") if s.strip()]
    entries = list(dict.fromkeys(strategies))
    if not entries:
        raise ValueError(
            "strategies is empty; name at least one (see `tunebench strategies`) or pass None "
            "for all of them"
        )
    labels = []
    for entry in entries:
        name, own = split_label(entry)
        cls = strategy_class(name)  # an unknown name fails here, with the valid ones
        check_pruner_name(own)
        schedules = cls.pruner is not None or cls.multi_fidelity
        if own != "none" and schedules:
            raise ValueError(
                f"{entry!r}: strategy {name!r} schedules its trials' training lengths itself "
                "and takes no pruner; name it alone"
            )
        labels.append(strategy_label(name, own if own != "none" or schedules else pruner))
    return list(dict.fromkeys(labels))


def _run_description(
    label: str,
    description: dict[str, Any],
    max_epochs: Any,
    pruner_options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The objective description a run of ``label`` stores (``tune``'s): the problem's, and
    its ``pruner=`` with ``pruner_options`` (the defaults filled in)."""
    from .pruning import check_pruner, describe_pruner, split_label
    from .strategy import strategy_class

    name, pruner = split_label(label)
    cls = strategy_class(name)
    spec = check_pruner(pruner, pruner_options, max_epochs) if pruner != "none" else None
    return {**description, **describe_pruner(cls, spec)}


def _check_pruner_options(
    labels: list[str], objective: Any, pruner_options: Mapping[str, Any] | None
) -> None:
    """The pruners of ``labels`` (``tpe+asha``) checked as ``tune`` checks them
    (``runner.pruner_for``: the name, ``pruner_options``, an objective that reports after
    each epoch), before the first run. ``pruner_options`` go to every run under a pruner;
    given with none, they are refused."""
    from .options import InvalidOptionError
    from .pruning import split_label
    from .runner import pruner_for

    pruned = [label for label in labels if split_label(label)[1] != "none"]
    if pruner_options and not pruned:
        raise ValueError(
            f"pruner options {dict(pruner_options)} given, but no strategy runs under a pruner "
            f"({', '.join(labels)}): add pruner= (--pruner NAME) or name NAME+PRUNER entries "
            "(e.g. tpe+asha), or leave the options out (asha's and bohb's are strategy options)"
        )
    for label in pruned:
        name, pruner = split_label(label)
        try:
            pruner_for(name, {}, pruner, pruner_options, objective)
        except InvalidOptionError as exc:
            raise InvalidOptionError(
                f"{exc} (the pruner options go to every strategy run under a pruner: "
                f"{', '.join(pruned)})"
            ) from None


def _check_seeds(seeds: Sequence[int] | int) -> list[int]:
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds: the number of seeds must be at least 1, got {seeds}")
        return list(range(seeds))
    values = list(seeds)
    if not values or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in values):
        raise ValueError(
            f"seeds must be a number of seeds or a list of non-negative integers, got {seeds!r}"
        )
    if len(set(values)) != len(values):
        raise ValueError(f"seeds must not repeat (runs are paired by seed), got {values}")
    return values


def _runs_done(
    store: Store,
    runs: list[tuple[str, int]],
    objective: dict[str, Any],
    budget_epochs: int,
    problem: str = BOOK_PROBLEM,
    pruner_options: Mapping[str, Any] | None = None,
) -> dict[tuple[str, int], int | None]:
    """For each run: None when the store holds it finished, else the epochs it has spent.

    A run made with another objective (``objective_differences``: task, sizes, model,
    limits, pruner and its options) or budget is refused: the benchmark would compare
    unequal runs.
    """
    stored_problem = (store.get_meta("benchmark") or {}).get("problem", BOOK_PROBLEM)
    if store.study_names() and stored_problem != problem:
        raise ValueError(
            f"the store {store.path!r} holds a benchmark of the problem {stored_problem!r}, "
            f"not {problem!r}; pass another storage (or output folder) for {problem!r}"
        )
    from .pruning import split_label

    state: dict[tuple[str, int], int | None] = {}
    for name, seed in runs:
        record = store.get_study(study_name(name, seed, problem))
        if record is None:
            state[name, seed] = 0
            continue
        asked = _run_description(name, objective, objective.get("max_epochs"), pruner_options)
        differences = {
            f"objective {key}": pair
            for key, pair in objective_differences(record.objective, asked).items()
        }
        if record.budget.get("epochs") != budget_epochs:
            differences["budget_epochs"] = (record.budget.get("epochs"), budget_epochs)
        if record.strategy != split_label(name)[0] or record.seed != seed or differences:
            diff = "; ".join(
                f"{key}: stored {found!r}, asked {asked!r}"
                for key, (found, asked) in differences.items()
            )
            raise ValueError(
                f"the store {store.path!r} already holds the run "
                f"{study_name(name, seed, problem)!r} made differently "
                f"({diff or 'strategy or seed'}); "
                "pass another storage (or output folder) to start a separate benchmark"
            )
        _, epochs, _ = store.progress(record.name)
        state[name, seed] = None if record.stop_reason not in _UNFINISHED else epochs
    return state


def _note_plan(
    store: Store,
    strategies: list[str],
    seeds: list[int],
    budget_epochs: int,
    problem: Problem,
    settings: dict[str, Any],
) -> None:
    """Keep the benchmark's plan with the store (the report lists planned runs not yet
    started): the strategies and seeds of every command that ran into it, and the protocol
    (the problem's settings; for another problem than the book's, its name and what its
    report says). Written only when it changes, so that a rerun with nothing to do touches
    nothing."""
    old = store.get_meta("benchmark") or {}
    plan_ = {
        "strategies": list(dict.fromkeys([*old.get("strategies", []), *strategies])),
        "seeds": list(dict.fromkeys([*old.get("seeds", []), *seeds])),
        "budget_epochs": budget_epochs,
        **settings,
    }
    if problem.name != BOOK_PROBLEM:
        plan_["problem"] = problem.name
        plan_["problem_report"] = problem.report_notes()
    if plan_ != old:
        store.set_meta("benchmark", plan_)


def record_execution(
    storage: str | Path | Store,
    name: str,
    executor: str,
    workers: int,
    *,
    runs_at_once: int = 1,
    engine: str | None = None,
) -> None:
    """Note, with the store, that a session of run ``name`` ran its trials on ``executor``
    with ``workers`` trials at once, beside ``runs_at_once - 1`` other runs (``jobs``), with
    the fast path's ``engine`` (``engine_label()``: the one in effect; its float-level
    differences grow over long training, so runs resumed under another are shown as such).
    The report's protocol card shows what each run used.

    >>> store = Store(":memory:")
    >>> record_execution(store, "tpe-seed0", "processes", 2, engine="auto")
    >>> record_execution(store, "tpe-seed1", "inline", 1, runs_at_once=2, engine="tensorflow")
    >>> store.get_meta("executions")["tpe-seed1"]
    [{'executor': 'inline', 'workers': 1, 'engine': 'tensorflow', 'runs_at_once': 2}]
    """
    from .fast_training import engine_label
    from .report import EXECUTIONS_META

    store = storage if isinstance(storage, Store) else Store(storage)
    try:
        executions = store.get_meta(EXECUTIONS_META) or {}
        session: dict[str, Any] = {
            "executor": executor,
            "workers": int(workers),
            "engine": engine_label(engine),
        }
        if runs_at_once > 1:
            session["runs_at_once"] = int(runs_at_once)
        executions.setdefault(name, []).append(session)
        store.set_meta(EXECUTIONS_META, executions)
    finally:
        if store is not storage:
            store.close()


def _warm_up(objective: Any, space: Any) -> None:
    """One throw-away epoch of a Keras objective, so that TensorFlow's start-up (import,
    first trace) is not charged to the wall time of whichever run comes first: the builder's
    defaults where it has them (the book's: 1 layer of 30, rate 3e-3), else a point drawn
    from the space with seed 0."""
    import inspect

    import numpy as np

    from .objective import KerasObjective
    from .signature import parameters
    from .strategy import Suggestion

    if not isinstance(objective, KerasObjective):
        return  # no TensorFlow start-up to absorb
    drawn = space.sample(np.random.default_rng(0))
    taken = parameters(objective.build_model)
    params = {
        name: taken[name].default
        if name in taken and taken[name].default is not inspect.Parameter.empty
        else value
        for name, value in drawn.items()
    }
    objective.evaluate(Suggestion(id=0, params=params, epochs=1, seed=0))


def _warm_up_strategies(names: Sequence[str], space: Any) -> None:
    """Make (and close) each strategy once, so that importing its backend (optuna, hyperopt,
    scikit-optimize, keras-tuner and with it TensorFlow: up to ~10 s) is not charged to the
    wall time of its first run."""
    from .pruning import split_label
    from .strategy import strategy_class

    for name in names:
        strategy = strategy_class(split_label(name)[0])(space, seed=0)
        close = getattr(strategy, "close", None)
        if callable(close):
            close()


def _run_in_parallel(
    problem: Problem,
    settings: dict[str, Any],
    state: dict[tuple[str, int], int | None],
    runs: list[tuple[str, int]],
    budget: Budget,
    storage: Path,
    jobs: int,
    pruner_options: dict[str, Any] | None,
    display: NullBenchProgress,
) -> None:
    """The runs still to do, ``jobs`` at a time, each in a worker process (joblib's loky:
    it never re-imports the user's ``__main__``) running its trials inline; the display moves
    and a line is logged as each run finishes. The workers are kept for the next problem
    (loky reuses its executor)."""
    from joblib import Parallel, delayed

    todo = [(name, seed) for name, seed in runs if state[name, seed] is not None]
    names = list(dict.fromkeys(name for name, _ in todo))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    tasks = (
        delayed(_run_in_worker)(
            problem, settings, name, seed, budget, storage, pruner_options, threads, names
        )
        for name, seed in todo
    )
    parallel = Parallel(n_jobs=jobs, backend="loky", return_as="generator_unordered")
    for index, (name, seed, figures, text) in enumerate(parallel(tasks), 1):
        if budget.epochs - (state[name, seed] or 0) > 0:  # it trained, as _run_problem notes
            # noted by this process alone: workers would race on the store's meta
            record_execution(
                storage, study_name(name, seed, problem.name), "inline", 1, runs_at_once=jobs
            )
        display.start_run(name, seed)
        display.update(**figures)
        display.end_run()
        display.log(f"[{index}/{len(todo)}] {text}")


#: Problems a worker process of ``_run_in_parallel`` has warmed up (TensorFlow's start-up,
#: the strategies' imports), so that no run of that worker is charged for them.
_WARMED_UP: set[str] = set()


def _run_in_worker(
    problem: Problem,
    settings: dict[str, Any],
    name: str,
    seed: int,
    budget: Budget,
    storage: Path,
    pruner_options: dict[str, Any] | None,
    threads: int,
    names: list[str],
) -> tuple[str, int, dict[str, Any], str]:
    """One run of a benchmark in a worker process, its trials inline, exactly as
    ``_run_problem`` runs it alone; returns its strategy and seed, its figures for the
    display and its line for the log."""
    from .executors import pin_threads

    pin_threads(threads)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # as _run_problem: no retracing notes
    if problem.name not in _WARMED_UP:
        _warm_up_strategies(names, problem.space)
        _warm_up(problem.make_objective(**settings), problem.space)
        _WARMED_UP.add(problem.name)
    study = _tune_run(problem, settings, name, seed, budget, storage, pruner_options, "inline")
    return name, seed, _run_figures(study), _run_line(problem, name, seed, study, budget)


def _tune_run(
    problem: Problem,
    settings: dict[str, Any],
    name: str,
    seed: int,
    budget: Budget,
    storage: Path,
    pruner_options: dict[str, Any] | None,
    executor: Any,
) -> Any:
    """One run of a benchmark: strategy ``name`` (``NAME+PRUNER``) on seed ``seed``, on a
    fresh objective — no compiled training step is shared between runs, so that a run's wall
    time does not depend on the runs before it; returns its ``Study``."""
    from .pruning import split_label
    from .runner import tune

    base, pruner = split_label(name)
    return tune(
        problem.make_objective(**settings),
        problem.space,
        strategy=base,
        pruner=pruner,
        pruner_options=pruner_options if pruner != "none" else None,
        budget=budget,
        seed=seed,
        storage=storage,
        study_name=study_name(name, seed, problem.name),
        progress=False,
        executor=executor,
    )


def _run_figures(study: Any) -> dict[str, Any]:
    """A finished run's figures for the display (``update``'s keywords)."""
    return {
        "trials": len(study.finished_trials),
        "epochs": study.epochs_spent,
        "best": study.best_loss,
    }


def _run_line(problem: Problem, name: str, seed: int, study: Any, budget: Budget) -> str:
    """The log line of a finished run."""
    best = study.best_loss
    if not math.isfinite(best):
        return f"{name} seed {seed}: no trial succeeded"
    return (
        f"{name} seed {seed}: {len(study.finished_trials)} trials, "
        f"{study.epochs_spent}/{budget.epochs} epochs, best validation {problem.loss_name} "
        f"{best:.4f}, {study.seconds:.0f} s, stopped by {study.stop_reason}"
    )


class _Watcher(threading.Thread):
    """Reads a running study's progress from the store once a second, for the display."""

    def __init__(self, storage: Path, name: str, display: NullBenchProgress) -> None:
        super().__init__(daemon=True, name=f"tunebench-watch-{name}")
        self.storage, self.study, self.display = storage, name, display
        self._stop_event = threading.Event()

    def run(self) -> None:
        import sqlite3

        store = Store(self.storage)  # a connection of this thread's own
        try:
            while not self._stop_event.wait(1.0):
                try:
                    trials, epochs, best = store.progress(self.study)
                except sqlite3.Error:
                    continue
                self.display.update(trials=trials, epochs=epochs, best=best)
        finally:
            store.close()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


@dataclass(frozen=True)
class ProblemPlan:
    """How a benchmark protocol runs one problem: its seeds, the epoch budget of each run
    (None: the problem's own ``budget_epochs``) and the settings its factory gets.

    >>> ProblemPlan("california_housing", seeds=3, budget_epochs=400,
    ...             settings={"max_epochs": 20, "patience": 5}).describe()
    'california_housing: 3 seeds x 400 epochs, max_epochs=20, patience=5'
    """

    problem: str | Problem
    seeds: int | Sequence[int] = DEFAULT_SEEDS
    budget_epochs: int | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The problem's name, whether the plan holds the name or the ``Problem``."""
        return self.problem if isinstance(self.problem, str) else self.problem.name

    def describe(self) -> str:
        name = self.name
        seeds = self.seeds if isinstance(self.seeds, int) else len(self.seeds)
        budget = "its own budget" if self.budget_epochs is None else f"{self.budget_epochs} epochs"
        extra = "".join(f", {k}={v!r}" for k, v in self.settings.items())
        return f"{name}: {seeds} seeds x {budget}{extra}"


#: ``tunebench bench`` / ``make bench``: the book's problem sliced so that every strategy
#: leaves its start-up phase — trials of at most 15 epochs with patience 5 on the full data,
#: so that a 240-epoch run holds about 18 trials (the full protocol's 100-epoch trials give
#: 4-8 in 300 epochs, fewer than the 10 random start-up trials of tpe, gp, optuna-tpe and
#: evolution) — and the two synthetic fidelity problems with 5 seeds each at their budget:
#: about 8 minutes on 2 cores.
QUICK_PROTOCOL: tuple[ProblemPlan, ...] = (
    ProblemPlan(
        BOOK_PROBLEM, seeds=3, budget_epochs=240, settings={"max_epochs": 15, "patience": 5}
    ),
    ProblemPlan("branin", seeds=5),
    ProblemPlan("hartmann6", seeds=5),
)
#: ``tunebench bench --full`` / ``make bench-full``: the suite, every problem at its own budget
#: (``Problem.budget_epochs``) and protocol, 10 paired seeds on each real problem (enough for
#: a Holm-corrected Wilcoxon test against random search over 11 comparisons to pass), 50 on the
#: synthetic ones. ``friedman1`` is left out to keep the time (it is California housing's kind
#: of problem); run it with ``--problems friedman1 --seeds 10``.
FULL_PROTOCOL: tuple[ProblemPlan, ...] = (
    ProblemPlan(BOOK_PROBLEM, seeds=10),
    ProblemPlan("diabetes", seeds=10),
    ProblemPlan("digits", seeds=10),
    ProblemPlan("breast_cancer", seeds=10),
    ProblemPlan("branin", seeds=50),
    ProblemPlan("hartmann6", seeds=50),
)

#: What ``FULL_PROTOCOL`` runs besides every registered strategy: ``tpe`` under asynchronous
#: successive halving, beside ``asha`` (random sampling under it) and ``bohb``, so that the
#: report can say whether pruning pays for a strategy that learns. ``gp+asha`` is left out
#: for its cost: ASHA starts hundreds of short trials a run, and scikit-optimize's GP refits
#: and optimises its acquisition over all of them at each proposal (one ``diabetes`` run had
#: passed 199 trials after more than 5 minutes, against 39 s for ``tpe+asha``'s 378; 47 s a
#: ``branin`` run on average, against 5 s for ``gp``). Run it with ``--strategies gp+asha``.
FULL_PROTOCOL_PRUNED: tuple[str, ...] = ("tpe+asha",)


def full_protocol_strategies() -> list[str]:
    """The entries ``tunebench bench --full`` runs when none are named: every registered
    strategy, then ``FULL_PROTOCOL_PRUNED``."""
    from .strategy import available_strategies

    return [*available_strategies(), *FULL_PROTOCOL_PRUNED]


@dataclass
class _Prepared:
    """One problem of a benchmark, checked and ready: its runs and where they are kept."""

    problem: Problem
    seeds: list[int]
    budget: Budget
    settings: dict[str, Any]
    objective: Any
    storage: Path
    report_dir: Path
    state: dict[tuple[str, int], int | None] = field(default_factory=dict)


def run_benchmark(
    strategies: Sequence[str] | str | None = None,
    seeds: Sequence[int] | int = DEFAULT_SEEDS,
    budget_epochs: int | None = None,
    *,
    problems: Problem | str | Sequence[Problem | str] | None = None,
    storage: str | Path | None = None,
    out_dir: str | Path = "bench-report",
    subsample: int | None = None,
    max_epochs: int | None = None,
    patience: int | None = None,
    executor: str = "inline",
    workers: int | None = None,
    address: str | None = None,
    jobs: int = 1,
    progress: bool | None = None,
    pruner: str = "none",
    pruner_options: Mapping[str, Any] | None = None,
) -> Path:
    """Run every (strategy, seed) pair on each problem, write the report and print its
    verdict (``tunebench.report.verdict_lines``) on stdout; return the ``report.md`` path.

    Args:
        strategies: registered names (a list, or one comma-separated string); None runs
            every registered strategy (``tunebench.available_strategies()``). ``NAME+PRUNER``
            runs a strategy under a pruner (``"tpe+asha"``; ``tunebench.pruning``), reported
            under that name.
        seeds: the seeds (paired: seed k is the same for every strategy), or a number N for
            seeds 0 to N-1.
        budget_epochs: the epoch budget of every run; None gives each problem its own
            (``Problem.budget_epochs``, else 300).
        problems: ``tunebench.problems.Problem`` objects, registered names or import paths
            ``"package.module:attribute"`` (a list, or one comma-separated string); None is
            the book's ``california_housing``.
        storage: the SQLite store holding every trial of every run (default
            ``out_dir/runs.db``); rerun to resume. With several problems each has its own
            store and report in ``out_dir/PROBLEM/``, and ``report.md`` in ``out_dir``
            links them and compares the strategies across problems
            (``tunebench.report.suite_report``): ``storage`` must then be left out.
        out_dir: where the report is written (``report.md``, ``report.html``, PNGs, CSV).
        subsample, max_epochs, patience: protocol settings, handed to each problem's
            objective factory that takes them (the book's takes all three: train on
            ``subsample`` rows, at most ``max_epochs`` epochs a trial — 100 —, early-stopping
            ``patience`` — 10); None leaves each factory's default. A setting no problem
            takes is refused.
        executor, workers, address: where each run's trials run, as for ``tune``.
        jobs: how many runs at a time, each in a worker process of its own (joblib's loky)
            with its trials inline: each run's trials are the same as one run at a time,
            and two cores finish about twice as fast (``executor`` must stay ``"inline"``).
            A run's wall time is then measured beside ``jobs - 1`` others, the same for
            every strategy; the report's protocol card says so.
        progress: show the live display; None shows it only on a terminal.
        pruner: a pruner (``"median"``, ``"asha"``, ``"hyperband"``) for every strategy that
            can take one (reported as ``NAME+PRUNER``); ``hyperband``, ``asha`` and
            ``bohb``, which schedule training lengths themselves, run as they are.
        pruner_options: the options of every run's pruner (``tunebench.pruning.PRUNERS``,
            e.g. ``{"reduction_factor": 3}``), checked before the first run and kept with
            each run: a store's runs made with other options are refused.
    """
    problem_list = check_problems(problems)
    given = {"subsample": subsample, "max_epochs": max_epochs, "patience": patience}
    unused = set(given) - {s for s in SETTINGS if given[s] is None}
    for problem in problem_list:
        unused &= set(problem.settings(given)[1])
    if unused:
        flags = ", ".join(f"{name}={given[name]!r}" for name in SETTINGS if name in unused)
        raise ValueError(
            f"{flags}: no problem's make_objective takes "
            f"{'it' if len(unused) == 1 else 'them'} "
            f"({', '.join(p.name for p in problem_list)}); leave "
            f"{'it' if len(unused) == 1 else 'them'} out"
        )
    plans = [
        ProblemPlan(p, seeds, budget_epochs, {k: v for k, v in given.items() if v is not None})
        for p in problem_list
    ]
    return _run_plans(
        plans,
        strategies,
        storage=storage,
        out_dir=out_dir,
        executor=executor,
        workers=workers,
        address=address,
        jobs=jobs,
        progress=progress,
        lenient_settings=True,
        folder_per_problem=len(plans) > 1,
        pruner=pruner,
        pruner_options=pruner_options,
    )


def run_protocol(
    plans: Sequence[ProblemPlan],
    strategies: Sequence[str] | str | None = None,
    *,
    out_dir: str | Path = "bench-report",
    executor: str = "inline",
    workers: int | None = None,
    address: str | None = None,
    jobs: int = 1,
    progress: bool | None = None,
    pruner: str = "none",
    pruner_options: Mapping[str, Any] | None = None,
) -> Path:
    """Run a benchmark protocol — each problem with its own seeds, budget and settings
    (``QUICK_PROTOCOL``, ``FULL_PROTOCOL`` or a user's ``ProblemPlan`` list) — into
    ``out_dir/PROBLEM/`` (also for one problem: a part of a protocol resumes into the same
    stores as the whole) and write the summary over its problems in ``out_dir/report.md``.
    Rerun to resume. A plan's setting its problem's factory does not take is refused."""
    return _run_plans(
        list(plans),
        strategies,
        storage=None,
        out_dir=out_dir,
        executor=executor,
        workers=workers,
        address=address,
        jobs=jobs,
        progress=progress,
        lenient_settings=False,
        folder_per_problem=True,
        pruner=pruner,
        pruner_options=pruner_options,
    )


def _prepare(
    plans: list[ProblemPlan],
    storage: str | Path | None,
    out_dir: Path,
    lenient_settings: bool,
    folder_per_problem: bool,
) -> list[_Prepared]:
    """Every problem checked before the first run: found, its seeds and budget valid, its
    settings taken, its objective made once and checked against its space."""
    if not plans:
        raise ValueError("a benchmark needs at least one problem")
    problems = check_problems([plan.problem for plan in plans])
    if len(problems) > 1 and storage is not None:
        raise ValueError(
            "with several problems each has its own store, OUT/PROBLEM/runs.db; leave out "
            "storage (--storage) and give the output folder (--out) only"
        )
    prepared = []
    for plan, problem in zip(plans, problems, strict=True):
        settings, not_taken = problem.settings(plan.settings)
        if not_taken and not lenient_settings:
            raise ValueError(
                f"problem {problem.name!r}: its make_objective does not take "
                f"{', '.join(not_taken)}; leave {'it' if len(not_taken) == 1 else 'them'} out"
            )
        budget_epochs = plan.budget_epochs
        if budget_epochs is None:
            budget_epochs = getattr(problem, "budget_epochs", None) or DEFAULT_BUDGET_EPOCHS
        if not folder_per_problem:
            store_path, report_dir = (Path(storage) if storage else out_dir / "runs.db"), out_dir
        else:
            store_path, report_dir = out_dir / problem.name / "runs.db", out_dir / problem.name
        prepared.append(
            _Prepared(
                problem,
                _check_seeds(plan.seeds),
                Budget(epochs=budget_epochs),
                settings,
                problem.checked_objective(settings),
                store_path,
                report_dir,
            )
        )
    return prepared


def _run_plans(
    plans: list[ProblemPlan],
    strategies: Sequence[str] | str | None,
    *,
    storage: str | Path | None,
    out_dir: str | Path,
    executor: str,
    workers: int | None,
    address: str | None,
    jobs: int,
    progress: bool | None,
    lenient_settings: bool,
    folder_per_problem: bool,
    pruner: str = "none",
    pruner_options: Mapping[str, Any] | None = None,
) -> Path:
    from .executors import EXECUTORS, make_executor
    from .report import environment

    names = _check_strategies(strategies, pruner)
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a whole number of runs at a time, 1 or more, got {jobs!r}")
    if jobs > 1 and executor != "inline":
        raise ValueError(
            f"jobs={jobs} runs each run's trials inline in a worker of its own, so it cannot "
            f"be combined with executor={executor!r}: use one or the other"
        )
    out_dir = Path(out_dir)
    prepared = _prepare(plans, storage, out_dir, lenient_settings, folder_per_problem)
    pruner_options = dict(pruner_options or {})
    for item in prepared:
        _check_pruner_options(names, item.objective, pruner_options)
    for item in prepared:
        describe = getattr(item.objective, "describe", None)
        description = describe() if callable(describe) else {}
        item.storage.parent.mkdir(parents=True, exist_ok=True)
        with Store(item.storage) as store:
            runs = plan(names, item.seeds)
            item.state = _runs_done(
                store, runs, description, item.budget.epochs, item.problem.name, pruner_options
            )
    for item in prepared:
        with Store(item.storage) as store:
            _note_plan(store, names, item.seeds, item.budget.epochs, item.problem, item.settings)
            if any(spent is not None for spent in item.state.values()):
                sessions = store.get_meta("environment", [])
                store.set_meta("environment", [*sessions, environment()])

    reports = []
    pool_box: list[Any] = []
    try:
        for item in prepared:
            if len(prepared) > 1:
                print(f"problem {item.problem.name}:", file=sys.stderr)
            reports.append(
                _run_problem(
                    item.problem,
                    item.settings,
                    item.objective,
                    item.state,
                    names,
                    item.seeds,
                    item.budget,
                    item.storage,
                    item.report_dir,
                    executor=executor,
                    workers=workers,
                    jobs=jobs,
                    pool_box=pool_box,
                    pool_maker=lambda: make_executor(executor, workers=workers, address=address),
                    progress=progress,
                    pruner_options=pruner_options,
                )
            )
    finally:
        for pool in pool_box:
            pool.close()
    if not folder_per_problem:
        return reports[0]
    return _write_suite_report(out_dir, [item.storage for item in prepared])


def _write_suite_report(out_dir: Path, stores: list[Path]) -> Path:
    """``out_dir/report.md``: the report across problems, linking each problem's own."""
    from .report.suite_report import write_suite_report

    path = write_suite_report(stores, out_dir)
    print(f"report across the problems, linking each problem's: {path}", flush=True)
    return path


def _run_problem(
    problem: Problem,
    settings: dict[str, Any],
    objective: Any,
    state: dict[tuple[str, int], int | None],
    names: list[str],
    seed_list: list[int],
    budget: Budget,
    storage: Path,
    out_dir: Path,
    *,
    executor: str,
    workers: int | None,
    jobs: int = 1,
    pool_box: list[Any],
    pool_maker: Any,
    progress: bool | None,
    pruner_options: dict[str, Any] | None = None,
) -> Path:
    """The runs of one problem still to do, then its report; returns ``report.md``'s path.
    ``pool_box`` holds the worker pool, made on first need and shared by every problem."""
    from .report import verdict_lines, write_report

    runs = plan(names, seed_list)
    out_dir.mkdir(parents=True, exist_ok=True)
    done = sum(spent is None for spent in state.values())
    todo = [
        (trial_lengths(name), budget.epochs - (spent or 0))
        for (name, _), spent in state.items()
        if spent is not None
    ]
    pruned = sum(trials == "pruned" for trials, epochs in todo if epochs > 0)
    task = getattr(objective, "task", None)
    sizes = getattr(task, "sizes", None) or {}
    max_epochs = getattr(objective, "max_epochs", None)
    limits = (
        f"<= {max_epochs} epochs a trial"
        + (f", patience {objective.patience}" if hasattr(objective, "patience") else "")
        if max_epochs is not None
        else "one unit of budget a call"
    )
    where = (
        f"{task.name} ({sizes['train']:,} training rows, {limits})"
        if "train" in sizes
        else f"{problem.name} ({limits})"
    )
    print(
        f"benchmark: {len(names)} strategies x {len(seed_list)} seeds = {len(runs)} runs of "
        f"{budget.epochs} epochs on {where}, executor {executor}"
        + (f", {jobs} runs at a time" if jobs > 1 else "")
        + f"; store {storage}",
        file=sys.stderr,
    )
    if todo and "train" in sizes:
        from .fast_training import jax_engine_for

        jax_epochs = getattr(objective, "fast", False) and jax_engine_for(
            sizes["train"], getattr(objective, "batch_size", 32)
        )
        eta = estimate_seconds(
            todo,
            n_train=sizes["train"],
            max_epochs=max_epochs or 100,
            workers=jobs
            if jobs > 1
            else workers or (1 if executor == "inline" else os.cpu_count() or 1),
            jax_epochs=jax_epochs,
        ) + (WORKER_START_SECONDS if (executor != "inline" or jobs > 1) and not pool_box else 0.0)
        epoch_ms = 1e3 * epoch_seconds(sizes["train"], jax_epochs=jax_epochs)
        print(
            f"{done} runs already finished in the store, {len(todo)} to do: expected duration "
            f"{format_duration(eta)} (estimated from ~{epoch_ms:.0f} ms an epoch"
            f"{' on JAX' if jax_epochs else ''} and ~{TRIAL_START_SECONDS} s to start a trial, "
            "measured on 2 cores"
            + (
                f"; rough for the {pruned} run{'s' if pruned != 1 else ''} that prune"
                f"{'' if pruned != 1 else 's'}, whose trials' lengths depend on the pruner)"
                if pruned
                else ")"
            ),
            file=sys.stderr,
        )
    elif todo:
        print(
            f"{done} runs already finished in the store, {len(todo)} to do (no duration "
            "estimate: it is made only for a Keras objective on a Task)",
            file=sys.stderr,
        )
    else:
        print(
            f"all {len(runs)} runs are finished in the store; writing the report", file=sys.stderr
        )

    tf_logger = logging.getLogger("tensorflow")  # tf.function retracing notices
    tf_level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)
    started = time.monotonic()
    # One pool of workers for every run (and every problem): workers start (and import
    # TensorFlow) once; none when every run is finished already.
    if executor != "inline" and todo and not pool_box:
        pool_box.append(pool_maker())
    pool = pool_box[0] if pool_box else None
    try:
        if jobs > 1:
            with make_bench_progress(progress, len(runs), budget.epochs, done) as display:
                _run_in_parallel(
                    problem, settings, state, runs, budget, storage, jobs, pruner_options, display
                )
        else:
            if any(epochs > 0 for _, epochs in todo):
                _warm_up_strategies(names, problem.space)
                if executor == "inline":
                    _warm_up(problem.make_objective(**settings), problem.space)
            with make_bench_progress(progress, len(runs), budget.epochs, done) as display:
                for index, (name, seed) in enumerate(runs, start=1):
                    spent = state[name, seed]
                    if spent is None:
                        continue
                    run_name = study_name(name, seed, problem.name)
                    display.start_run(name, seed)
                    trains = budget.epochs - spent > 0  # trials will run: noted where, below
                    watcher = None
                    if isinstance(display, BenchProgress):
                        watcher = _Watcher(storage, run_name, display)
                        watcher.start()
                    try:
                        study = _tune_run(
                            problem,
                            settings,
                            name,
                            seed,
                            budget,
                            storage,
                            pruner_options,
                            pool or executor,
                        )
                    except StudyBusyError:
                        trains = False  # another process runs it: nothing ran here
                        raise
                    finally:
                        if watcher is not None:
                            watcher.stop()
                        if trains:  # also when interrupted: what ran, ran here
                            record_execution(
                                storage, run_name, executor, pool.capacity if pool else 1
                            )
                    display.update(**_run_figures(study))
                    display.end_run()
                    display.log(
                        f"[{index}/{len(runs)}] {_run_line(problem, name, seed, study, budget)}"
                    )
    finally:
        tf_logger.setLevel(tf_level)
    if todo:
        print(f"benchmark ran {time.monotonic() - started:.0f} s", file=sys.stderr)
    report = write_report(storage, out_dir)
    print("\n".join(verdict_lines(storage, report)), flush=True)
    return report
