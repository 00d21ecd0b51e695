"""``tune()``: the ask → evaluate → tell loop, the budget, the store and resume.

The strategy only proposes. The runner asks it, grants each trial the epochs it may train
(clipping the last one so the budget is never passed), runs the trial through an executor,
charges the epochs it really trained, writes the trial to the store, and tells the strategy.

Resume: with ``storage=`` a rerun of the same call finds the study in the store, replays
every stored ask and tell, in their recorded order, into a fresh strategy with the same seed
(checking that it proposes the same trials), redoes the trials that were running when the
run stopped, and continues with what is left of the budget. The store must hold the study
with the same strategy, options, space and objective (``StudyMismatchError`` otherwise), and
the study must not be running elsewhere (``StudyBusyError``: its lease in the store).

>>> from tunebench import Space, Float, Budget
>>> study = tune(lambda x: abs(x - 0.5), Space(x=Float(0, 1)), strategy="grid",
...              budget=Budget(epochs=100), seed=0, progress=False)
>>> len(study.trials), study.stop_reason  # a 5-point grid is done after 5 trials
(5, 'strategy_done')
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import warm_start as warm_start_module
from .budget import Budget, Ledger, budget_changes
from .executors import Executor, make_executor, worker_name
from .limits import TrialLimit, check_trial_timeout
from .objective import FunctionObjective, Objective
from .progress import NullProgress, make_progress
from .pruning import (
    PrunerSpec,
    PruningMirror,
    check_pruner,
    check_pruner_name,
    describe_pruner,
)
from .signature import names_parameter
from .space import Space, plain
from .store import Store, StudyRecord
from .strategy import Result, Strategy, Suggestion, check_seed, get_strategy, strategy_class
from .study import Study, Trial
from .tensorboard_log import TrialLog
from .warm_start import StudyNotice, WarmStart, check_enqueue, warm_start_from

__all__ = [
    "MaxEpochsError",
    "PrunerError",
    "ResumeMismatchError",
    "fidelity_options",
    "pruner_for",
    "run_in_memory",
    "trial_seed",
    "tune",
]

#: Consecutive failed trials after which a study stops (stop_reason "failures").
MAX_CONSECUTIVE_FAILURES = 25


class ResumeMismatchError(RuntimeError):
    """A resumed strategy proposed something other than what the store recorded."""


def trial_seed(study_seed: int, trial_id: int) -> int:
    """The seed of one trial's own randomness (weights, shuffling), from the study's seed.

    >>> trial_seed(0, 1) == trial_seed(0, 1) != trial_seed(0, 2)
    True
    """
    return int(np.random.SeedSequence([study_seed, trial_id]).generate_state(1)[0])


def _same_params(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    for key, x in a.items():
        y = b[key]
        if isinstance(x, float) and isinstance(y, (int, float)) and not isinstance(y, bool):
            if not math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-300):
                return False
        elif type(x) is not type(y) or x != y:
            return False
    return True


class _Run:
    """One session of one study: the loop, with its ledger, store and strategy."""

    def __init__(
        self,
        objective: Objective,
        strategy: Strategy,
        strategy_name: str,
        record: StudyRecord,
        store: Store,
        budget: Budget,
        executor: Executor,
        trial_timeout: float | None = None,
        max_failures: int | None = MAX_CONSECUTIVE_FAILURES,
        enqueued: list[dict[str, Any]] | None = None,
        warm: WarmStart | None = None,
        log: TrialLog | None = None,
        pruner: PrunerSpec | None = None,
    ) -> None:
        self.objective = objective
        # The other trials' reports, mirrored for the pruner (None: no pruning).
        self.pruning = PruningMirror(pruner) if pruner is not None and pruner.active else None
        self.trial_timeout = trial_timeout
        self.max_failures = max_failures  # None: failed trials never stop the study
        self.strategy = strategy
        self.strategy_name = strategy_name
        self.record = record
        self.store = store
        self.executor = executor
        self.unit_cost = objective.max_epochs is None
        self.keep_state = strategy.multi_fidelity
        self.best = math.inf
        self.consecutive_failures = 0
        self.granted: dict[int, int] = {}
        self.unfinished_parents: set[int] = set()  # trials that left no model to continue
        self.rerun: deque[Suggestion] = deque()
        self.enqueued: deque[dict[str, Any]] = deque(enqueued or ())
        self.log = log
        trials = store.trials(record.id)
        finished = [t for t in trials if t.is_finished]
        self.ledger = Ledger(
            budget,
            epochs_spent=sum(t.epochs_run for t in finished),
            trials_done=len(finished),
            seconds_before=record.seconds,
        )
        self.seq = 1 + max((t.tell_seq or t.ask_seq for t in trials), default=-1)
        for suggestion, result in warm.told if warm is not None else ():
            self.strategy.tell(suggestion, result)  # before any ask, on every resume too
        self._replay(trials)
        if self.log is not None:
            self.log.catch_up(finished)  # trials of earlier sessions not logged yet

    # ------------------------------------------------------------------ resume

    def _replay(self, trials: list[Trial]) -> None:
        events = sorted(
            [(t.ask_seq, 0, t) for t in trials]
            + [(t.tell_seq, 1, t) for t in trials if t.is_finished and t.tell_seq is not None]
        )
        asked: dict[int, Suggestion] = {}
        for _, kind, trial in events:
            if kind == 0:
                suggestion = self._ask()
                if (
                    suggestion is None
                    or suggestion.id != trial.id
                    or not _same_params(suggestion.params, trial.params)
                ):
                    proposed = None if suggestion is None else (suggestion.id, suggestion.params)
                    raise ResumeMismatchError(
                        f"resuming study {self.record.name!r}: strategy {self.strategy_name!r} "
                        f"proposed {proposed} where the store holds trial {trial.id} "
                        f"{trial.params}; the backend did not replay deterministically for "
                        "this seed, or the store comes from another version. Start a new study "
                        "(pass another study name)."
                    )
                asked[trial.id] = suggestion
            else:
                self.strategy.tell(trial.suggestion(), trial.result())
                if self.pruning is not None:
                    self.pruning.finish(trial.id, trial.initial_epoch, trial.result())
                if trial.status != "ok":
                    self.unfinished_parents.add(trial.id)
                if trial.status == "ok":
                    self.best = min(self.best, trial.loss)
        for trial in trials:
            if not trial.is_finished:
                self.rerun.append(asked[trial.id])

    # ------------------------------------------------------------------ loop

    def _ask(self) -> Suggestion | None:
        """The next enqueued configuration, or else the strategy's next suggestion."""
        if self.enqueued:
            return self.strategy.given(self.enqueued.popleft(), meta={"enqueued": True})
        return self.strategy.ask()

    def _next_suggestion(self) -> Suggestion | None:
        if self.rerun:
            return self.rerun.popleft()
        return self._ask()

    def _start(self, suggestion: Suggestion) -> bool:
        """Grant the trial its epochs (clipped to the budget) and submit it."""
        if self.unit_cost:
            granted = self.ledger.grant(1)
            fields: dict[str, Any] = {}
        else:
            limit = int(self.objective.max_epochs)  # type: ignore[arg-type]
            fixed = self._fixed_epochs(suggestion)
            target = min(int(suggestion.epochs or limit), limit) if fixed is None else fixed
            whole = fixed is not None  # a trial of fixed length is never clipped
            granted = self._grant(max(target - suggestion.initial_epoch, 0), whole)
            fields = {"epochs": suggestion.initial_epoch + granted}
        if granted <= 0:
            self.rerun.appendleft(suggestion)  # asked, not run: it is redone on resume
            return False
        state = None
        if suggestion.resume_from is not None:
            if suggestion.resume_from not in self.unfinished_parents:
                state = self.store.load_state(self.record.id, suggestion.resume_from)
            elif not self.unit_cost:
                # The parent failed or diverged: there is no model to continue. Train this
                # configuration from scratch, granting the epochs the parent would have had.
                self.ledger.release(granted)
                granted = self._grant(target, whole)
                if granted <= 0:
                    self.rerun.appendleft(suggestion)
                    return False
                fields = {"epochs": granted, "initial_epoch": 0, "resume_from": None}
        suggestion = dataclasses.replace(
            suggestion,
            params=self.strategy.space.validate(suggestion.params),  # plain values, in range
            seed=trial_seed(self.record.seed, suggestion.id),
            **fields,
        )
        self.granted[suggestion.id] = granted
        self.store.record_start(self.record.id, suggestion, self.seq, worker_name())
        self.seq += 1
        if self.pruning is None:
            self.executor.submit(self.objective, suggestion, state, self._trial_limit())
        else:  # the trial decides in its worker, against the trials finished by now
            pruner = self.pruning.trial_pruner(suggestion.id)
            self.executor.submit(self.objective, suggestion, state, self._trial_limit(), pruner)
        return True

    def _fixed_epochs(self, suggestion: Suggestion) -> int | None:
        """The epoch a trial trains up to when its objective sets that itself, or None.

        An objective may have ``fixed_epochs(suggestion) -> int | None`` for trials whose
        length the runner cannot change (``TuneSearchCV``: an estimator's own ``epochs``).
        Such a trial is not clipped: it starts only when the budget has all its epochs.
        """
        fixed = getattr(self.objective, "fixed_epochs", None)
        return None if fixed is None else fixed(suggestion)

    def _grant(self, wanted: int, whole: bool) -> int:
        """Reserve up to ``wanted`` epochs (all of them or none when ``whole``)."""
        granted = self.ledger.grant(wanted)
        if whole and 0 < granted < wanted:
            self.ledger.release(granted)  # never start a trial that would pass the budget
            return 0
        return granted

    def _trial_limit(self) -> TrialLimit | None:
        """When the trial about to start must stop: its own timeout, or the study's time
        budget running out, whichever comes first.

        A trial stopped by the time budget is recorded ``failed`` with that reason, charged
        what it trained (its grant when that is unknown): the time was spent on it, and a
        resumed study with the same budget would have no time left to redo it.
        """
        limits = []
        if self.trial_timeout is not None:
            reason = f"exceeded trial_timeout={self.trial_timeout:g}s"
            limits.append(TrialLimit.within(self.trial_timeout, reason))
        seconds = self.ledger.budget.seconds
        if seconds is not None:
            reason = f"stopped by the study's time budget, Budget(seconds={seconds:g})"
            limits.append(TrialLimit.within(seconds - self.ledger.seconds_spent, reason))
        return min(limits, key=lambda limit: limit.deadline, default=None)

    def _finish(self, suggestion: Suggestion, result: Result) -> None:
        granted = self.granted.pop(suggestion.id)
        if self.unit_cost:
            result = dataclasses.replace(result, epochs_run=1)
        elif not 0 <= result.epochs_run <= granted:
            # An objective cannot train more than it was granted: the budget is never passed,
            # and what the store says a trial ran is what the ledger charged.
            result = dataclasses.replace(result, epochs_run=min(max(result.epochs_run, 0), granted))
        self.ledger.charge(result.epochs_run, granted)
        self.store.record_result(
            self.record.id,
            suggestion,
            result,
            tell_seq=self.seq,
            study_seconds=self.ledger.seconds_spent,
            keep_state=self.keep_state,
        )
        self.seq += 1
        if self.log is not None:
            self.log.write(Trial.start(suggestion).finish(result))
        self.strategy.tell(suggestion, result)
        if self.pruning is not None:
            self.pruning.finish(suggestion.id, suggestion.initial_epoch, result)
        if result.status != "ok":
            self.unfinished_parents.add(suggestion.id)
        if result.status == "ok":
            self.best = min(self.best, result.loss)
            self.consecutive_failures = 0
        elif result.status in ("failed", "diverged"):
            self.consecutive_failures += 1

    def run(self, progress: Any) -> str:
        """Run until the budget or the strategy is spent; return the stop reason."""
        progress.update(
            trials=self.ledger.trials_done, epochs=self.ledger.epochs_spent, best=self.best
        )
        while True:
            # Recomputed each round: epochs refunded by a finished trial may start another.
            reason: str | None = None
            while self.executor.running < self.executor.capacity:
                reason = self.ledger.stop_reason()
                if reason is not None:
                    break
                if self.max_failures is not None and self.consecutive_failures >= self.max_failures:
                    reason = "failures"
                    break
                if self.strategy.done and not self.rerun and not self.enqueued:
                    reason = "strategy_done"
                    break
                suggestion = self._next_suggestion()
                if suggestion is None or not self._start(suggestion):
                    break
            if self.executor.running == 0:
                if reason is None and self.rerun:
                    reason = "epochs"  # the next trial needs more epochs than are left
                return reason or ("strategy_done" if self.strategy.done else "strategy_idle")
            for suggestion, result in self.executor.wait():
                self._finish(suggestion, result)
                progress.update(
                    trials=self.ledger.trials_done,
                    epochs=self.ledger.epochs_spent,
                    best=self.best,
                )


def run_in_memory(
    objective: Objective,
    strategy: Strategy,
    budget: Budget,
    executor: Executor,
    *,
    seed: int,
    max_failures: int | None = MAX_CONSECUTIVE_FAILURES,
    pruner: PrunerSpec | None = None,
) -> str:
    """``tune()``'s loop over a strategy already made, with a throw-away store: no file, no
    resume, no progress line. Returns the stop reason; the executor is left open.

    For a caller that evaluates the trials its own way through ``executor`` (``TuneSearchCV``
    hands them to scikit-learn in batches): the loop still grants, clips and charges the
    epochs, and trains a continuation whose parent failed from scratch. ``max_failures``
    consecutive failed trials stop it (None: never). ``pruner`` (``pruner_for``) prunes
    trials from their reports.
    """
    name = strategy.name or type(strategy).__name__
    if pruner is None and getattr(strategy, "pruner", None) is not None:
        raise PrunerError(f"strategy {name!r} prunes by itself: run_in_memory needs its pruner")
    store = Store(":memory:")
    try:
        record = store.open_study(
            name,
            strategy=name,
            seed=seed,
            space=strategy.space.to_json(),
            budget=budget.to_json(),
            objective=_describe(objective),
        )
        run = _Run(
            objective,
            strategy,
            name,
            record,
            store,
            budget,
            executor,
            max_failures=max_failures,
            pruner=pruner,
        )
        return run.run(NullProgress())
    finally:
        store.close()


class MaxEpochsError(ValueError):
    """A multi-fidelity strategy asked for trials longer than the objective may train."""

    def __init__(self, wanted: int, limit: int) -> None:
        super().__init__(
            f"strategy option max_epochs={wanted} exceeds the objective's max_epochs={limit}: "
            f"the longest trials could not be trained. Lower the option, or build the "
            f"objective with max_epochs={wanted}."
        )
        self.wanted, self.limit = wanted, limit


def fidelity_options(name: str, options: Mapping[str, Any], limit: int | None) -> dict[str, Any]:
    """``options`` with a multi-fidelity strategy's ``max_epochs`` defaulting to ``limit``,
    the most a trial may train (the objective's ``max_epochs``).

    A larger ``max_epochs`` raises ``MaxEpochsError``: its longest rungs could never be
    trained. Strategies without epochs, or without a ``max_epochs`` option, are left alone.

    >>> fidelity_options("hyperband", {"factor": 3}, 27)
    {'factor': 3, 'max_epochs': 27}
    >>> fidelity_options("tpe", {}, 27)
    {}
    """
    cls = strategy_class(name)
    options = dict(options)
    if limit is None or not getattr(cls, "multi_fidelity", False):
        return options
    if not names_parameter(cls, "max_epochs"):
        return options
    wanted = options.setdefault("max_epochs", int(limit))
    if isinstance(wanted, numbers.Integral) and not isinstance(wanted, bool) and wanted > limit:
        raise MaxEpochsError(int(wanted), int(limit))
    return options


class PrunerError(ValueError):
    """A pruner that cannot run with this strategy or objective."""


def pruner_for(
    strategy: str,
    strategy_options: Mapping[str, Any],
    pruner: str | None,
    pruner_options: Mapping[str, Any] | None,
    objective: Any,
) -> PrunerSpec | None:
    """The pruner a study runs with, checked before any trial (None: no pruning).

    ``pruner=`` combines with any strategy that trains each trial to its end. A strategy
    that schedules training lengths itself refuses it: ``hyperband`` (keras-tuner's brackets
    of continued trials), and ``asha`` / ``bohb``, whose own pruner is part of their
    definition (its options are theirs: ``strategy_options``). A pruner needs an objective
    that reports a loss after each epoch (``KerasObjective``, a function naming ``report``).

    >>> pruner_for("tpe", {}, "asha", None, FunctionObjective(lambda x, report: x)).name
    'asha'
    >>> pruner_for("tpe", {}, "median", None, FunctionObjective(lambda x: x))
    Traceback (most recent call last):
    ...
    tunebench.runner.PrunerError: pruner='median' decides from the loss a trial reports after each epoch, but the objective <lambda> never reports one: give the function a `report` parameter and call report(epoch, loss) after each epoch (KerasObjective reports by itself)
    """  # noqa: E501
    cls = strategy_class(strategy)
    own = getattr(cls, "pruner", None)
    given = "none" if pruner is None else pruner
    if own is not None:
        if given != "none" or pruner_options:
            raise PrunerError(
                f"strategy {strategy!r} prunes by itself ({own}): leave out pruner= and "
                f"pruner_options= (set its pruner's options as strategy options: "
                f"{', '.join(cls.pruner_option_names()) or 'none'}), or run another strategy "
                f"with pruner={given!r}"
            )
        name, options = own, cls.pruner_options_from(strategy_options)
    else:
        check_pruner_name(given)  # an unknown name first, with the valid ones
        if given != "none" and getattr(cls, "multi_fidelity", False):
            raise PrunerError(
                f"strategy {strategy!r} schedules its trials' training lengths itself, so "
                f"pruner={given!r} cannot apply; pick a strategy that trains each trial to its "
                "end (e.g. tpe), or 'asha' / 'bohb', which prune by themselves"
            )
        name, options = given, pruner_options
    spec = check_pruner(name, options, getattr(objective, "max_epochs", None))
    if not spec.active:
        return None
    if not getattr(objective, "reports_intermediate", False):
        fn = getattr(objective, "fn", None)
        what = (
            f"the objective {getattr(fn, '__qualname__', type(fn).__name__)}"
            if fn is not None
            else f"the objective {type(objective).__name__}"
        )
        how = (
            "give the function a `report` parameter and call report(epoch, loss) after each "
            "epoch (KerasObjective reports by itself)"
            if fn is not None
            else "give it reports_intermediate = True and report through "
            "tunebench.pruning.current_pruner() after each epoch"
        )
        asked = f"strategy {strategy!r}" if own is not None else f"pruner={name!r}"
        raise PrunerError(
            f"{asked} decides from the loss a trial reports after each epoch, but {what} "
            f"never reports one: {how}"
        )
    return spec


def _draw_seed() -> int:
    return int(np.random.SeedSequence().generate_state(1)[0])


def _as_objective(objective: Objective | Callable[..., float]) -> Objective:
    if hasattr(objective, "evaluate") and hasattr(objective, "max_epochs"):
        return objective  # type: ignore[return-value]
    if callable(objective):
        return FunctionObjective(objective)
    raise TypeError(
        f"objective must be an Objective (e.g. KerasObjective) or a function returning a loss, "
        f"got {objective!r}"
    )


def _describe(objective: Objective) -> dict[str, Any]:
    """What the store keeps to recognise the objective on resume."""
    if hasattr(objective, "describe"):
        return objective.describe()
    cls = type(objective)
    return {"type": f"{cls.__module__}.{cls.__qualname__}", "max_epochs": objective.max_epochs}


def _warm_start(source: Study | str | Path, space: Space, strategy: str) -> WarmStart:
    """The trials of ``source`` to tell ``strategy``, or an error when it cannot learn from
    trials it did not propose."""
    cls = strategy_class(strategy)
    if not cls.learns_from_given:
        raise ValueError(
            f"strategy {strategy!r} cannot be warm-started: it learns only from trials it "
            "proposed itself (Hyperband's brackets and PBT's population hold configurations "
            "they drew). Pass "
            "enqueue=[...] to evaluate known configurations first, or use a strategy that "
            "learns from given trials (tpe, gp, evolution, cmaes, optuna-tpe)"
        )
    return warm_start_from(source, space)


def _notice_extension(store: Store, existing: StudyRecord, budget: Budget) -> None:
    """Say so when a stored study is given a larger budget than it had (an extension)."""
    if not existing.budget:
        return
    stored = Budget.from_json(existing.budget)
    _, raised = budget_changes(stored, budget)
    if raised:
        trials, epochs, _ = store.progress(existing.name)
        warnings.warn(
            f"extending study {existing.name!r} from {stored} to {budget}: {epochs} epochs and "
            f"{trials} trials spent so far (stopped: {existing.stop_reason or 'not finished'})",
            StudyNotice,
            stacklevel=3,
        )


def _check_workers(workers: Any) -> int | None:
    """``workers`` with a numpy integer made a plain ``int`` (the executor checks the value)."""
    return plain(workers) if isinstance(workers, np.integer) else workers


def _check_study_name(study_name: Any) -> None:
    if study_name is None:
        return
    if not isinstance(study_name, str):
        raise TypeError(f"study_name must be a string or None, got {study_name!r}")
    if not study_name.strip():
        raise ValueError(
            f"study_name must name the study, got {study_name!r}; pass a non-empty name, "
            "or None for the default '<strategy>-seed<seed>'"
        )


def tune(
    objective: Objective | Callable[..., float],
    space: Space | Mapping[str, Any] | None = None,
    strategy: str = "random",
    budget: Budget | None = None,
    *,
    seed: int | None = 0,
    strategy_options: Mapping[str, Any] | None = None,
    storage: str | Path | None = None,
    study_name: str | None = None,
    progress: bool | None = None,
    executor: str | Executor = "inline",
    workers: int | None = None,
    address: str | None = None,
    trial_timeout: float | None = None,
    enqueue: Iterable[Mapping[str, Any]] | None = None,
    warm_start: Study | str | Path | None = None,
    log_dir: str | Path | None = None,
    pruner: str = "none",
    pruner_options: Mapping[str, Any] | None = None,
) -> Study:
    """Search ``space`` for the parameters that minimise ``objective`` within ``budget``.

    Args:
        objective: a ``KerasObjective``, any ``Objective``, or a function ``fn(**params)``
            returning the loss.
        space: a ``Space``, or a dict as ``Space.from_dict`` takes it (the book's
            ``param_distribs``); None: the objective's own ``space`` (``HyperModelObjective``
            and ``OptunaObjective`` discover theirs).
        strategy: a registered name (see ``available_strategies()``).
        budget: ``Budget(epochs=..., trials=..., seconds=...)``; the search stops on whichever
            is spent first.
        seed: seeds the strategy and every trial; the same seed gives the same study.
            An integer from 0 to 2**63 - 1. None draws one, stored with the study: rerunning
            with ``seed=None`` resumes that study with that seed (pass another ``study_name``
            for a fresh draw).
        strategy_options: keyword options of the strategy (see ``tunebench strategies -v``).
        storage: a SQLite file; every trial is written as it finishes, and rerunning the same
            call resumes the study. None keeps the study in memory.
        study_name: the study's name in the store (default ``"<strategy>-seed<seed>"``, or
            ``"<strategy>-drawn-seed"`` for ``seed=None``). Only one process at a time runs a
            study: another one gets ``StudyBusyError`` naming it.
        progress: show a live progress line; None shows it only on a terminal.
        executor: where trials run: ``"inline"`` (this process, one at a time),
            ``"processes"`` (``workers`` worker processes on this machine) or ``"ray"``
            (Ray tasks on a local Ray or the cluster at ``address``); or an executor made
            by ``tunebench.executors.make_executor`` to reuse its workers over several
            studies (it is left open).
        workers: trials run at once (default 1 inline, the number of cores otherwise).
        address: for ``executor="ray"``: None starts a local Ray, ``"auto"`` joins the
            cluster started on this machine, ``"ray://host:port"`` a remote one. Refused
            with any other executor.
        trial_timeout: seconds a trial may run (None: no limit); one that runs longer is
            recorded ``failed`` with the reason and the search goes on. ``KerasObjective``
            stops itself between epochs (charged the epochs it trained); ``"processes"`` and
            ``"ray"`` also stop any trial still running a second later (charged its grant).
            Running trials are stopped the same way when a ``Budget(seconds=...)`` runs out.
            Inline, a plain function cannot be interrupted: it runs to its end. The limit
            counts from the trial's start (a worker's first trial includes its start-up).
        enqueue: configurations (dicts setting every parameter) evaluated first, in order,
            before the strategy's own suggestions, counted in the budget; the strategy is
            told their results as any others. Each is checked against the space.
        warm_start: a ``Study`` (``load_study(...)``) or a store file of one study: its
            finished trials are told to the strategy before it asks (not run again, not
            counted in the budget); trials outside the space are skipped, with a count in a
            ``StudyNotice``. Refused for a strategy that cannot learn from trials it did
            not propose (``hyperband``).
        log_dir: a folder for TensorBoard: each finished trial is written under
            ``log_dir/<study name>/`` (its parameters, final losses and status for the
            HParams dashboard, its per-epoch curves as scalars). Needs ``tensorboard``.
        pruner: stop trials whose reported losses are bad (``tunebench.pruning``):
            ``"none"`` (default), ``"median"``, ``"asha"`` or ``"hyperband"`` (Optuna's
            pruners). A pruned trial is ``pruned``, charged the epochs it trained. The
            objective must report after each epoch (``KerasObjective`` does; a function
            names ``report``).
        pruner_options: the pruner's options (``tunebench.pruning.PRUNERS``), e.g.
            ``{"reduction_factor": 3}``.

    A study's enqueued configurations and warm start are kept with it in the store: rerunning
    resumes it with them (pass the same ones, or none). A larger budget on a stored study
    extends it (a ``StudyNotice`` says so); a smaller one is refused (``StudyMismatchError``).

    Before the first trial the objective's ``check_space(space)``, when it has one, refuses
    a space its code cannot take (``KerasObjective`` and ``FunctionObjective`` have one).
    """
    if budget is None:
        raise ValueError("tune needs a budget, e.g. budget=Budget(epochs=300) or Budget(trials=20)")
    if not isinstance(budget, Budget):
        raise TypeError(f"budget must be a tunebench Budget, got {budget!r}")
    trial_timeout = check_trial_timeout(trial_timeout)
    objective = _as_objective(objective)
    if space is None:
        space = getattr(objective, "space", None)
        if space is None:
            raise ValueError(
                "tune needs a space: pass space=Space(...) or a dict such as "
                "{'n_hidden': [0, 1, 2, 3]} (only HyperModelObjective and OptunaObjective "
                "bring their own)"
            )
    space = Space.from_dict(space)
    check_space = getattr(objective, "check_space", None)
    if callable(check_space):  # names the builder / function cannot take, before any trial
        check_space(space)
    options = dict(strategy_options or {})
    enqueued = check_enqueue(space, enqueue)
    warm = None if warm_start is None else _warm_start(warm_start, space, strategy)
    if log_dir is not None:
        test_metrics = tuple(getattr(objective, "test_metrics", None) or ())
        log = TrialLog(log_dir, space, metrics=test_metrics)
    else:
        log = None
    spec = pruner_for(strategy, options, pruner, pruner_options, objective)
    seed = check_seed(seed)
    workers = _check_workers(workers)
    _check_study_name(study_name)
    if address is not None and not isinstance(executor, str):
        raise ValueError(
            f"address={address!r} is used only when tune starts the executor; the executor "
            "given was made already: pass address= to make_executor('ray', address=...)"
        )
    if study_name is None:
        # seed=None: a stable name, so that rerunning the same call resumes the study with
        # the seed drawn (and stored) by its first run.
        suffix = f"seed{seed}" if seed is not None else "drawn-seed"
        study_name = f"{strategy}-{suffix}"
    store = Store(":memory:" if storage is None else storage)
    try:
        store.acquire_lease(study_name)  # released by store.close(), also on Ctrl-C
        existing = store.get_study(study_name)
        if seed is None:  # the stored seed of a study being resumed, or a fresh one kept with it
            seed = existing.seed if existing is not None else _draw_seed()
        options = fidelity_options(strategy, options, objective.max_epochs)
        search = get_strategy(strategy, space, seed=int(seed), **options)
        enqueued, warm = warm_start_module.resolve(
            store, study_name, existing is not None, enqueued, warm
        )
        record = store.open_study(
            study_name,
            strategy=strategy,
            seed=int(seed),
            space=space.to_json(),
            budget=budget.to_json(),
            options=options,
            objective={**_describe(objective), **describe_pruner(strategy_class(strategy), spec)},
        )
        if existing is None:
            warm_start_module.remember(store, study_name, enqueued, warm)
            if warm is not None and (line := warm.notice(strategy, search.learns)):
                warnings.warn(line, StudyNotice, stacklevel=2)
        else:
            _notice_extension(store, existing, budget)
        if log is not None:
            log = log.for_study(study_name)
        owned = isinstance(executor, str)
        pool = make_executor(executor, workers=workers, address=address) if owned else executor
        run = _Run(
            objective,
            search,
            strategy,
            record,
            store,
            budget,
            pool,
            trial_timeout,
            enqueued=enqueued,
            warm=warm,
            log=log,
            pruner=spec,
        )
        reason: str | None = "interrupted"
        try:
            with make_progress(progress, study_name, budget) as display:
                reason = run.run(display)
        finally:
            if owned:
                pool.close()
            store.finish_study(record.id, seconds=run.ledger.seconds_spent, stop_reason=reason)
        study = store.load_study(study_name)
    finally:
        store.close()
    if study.stop_reason == "failures":
        message, count, failed = study.common_failure()  # type: ignore[misc]
        warnings.warn(
            f"study {study.name!r} stopped after {MAX_CONSECUTIVE_FAILURES} trials in a row "
            f"failed; the most common error ({count} of {failed} failed trials): {message}. "
            "Fix the objective (study.to_dataframe()['error'] has every trial's message).",
            RuntimeWarning,
            stacklevel=2,
        )
    return study
