"""Pruning: stopping a trial whose intermediate results are bad, under any strategy.

A trial reports its validation loss after every epoch (``KerasObjective`` does by itself; a
function gets a ``report(epoch, loss)`` argument). A pruner decides from those reports and
the other trials' whether it trains on. The rules are Optuna's own pruners
(``MedianPruner``, ``SuccessiveHalvingPruner`` for ASHA, ``HyperbandPruner``), fed from
tunebench's trials through in-memory Optuna studies that mirror them:

- the runner keeps a ``PruningMirror``: one Optuna trial per tunebench trial, the trial's
  number its tunebench id (so that Hyperband's bracket of a trial, a hash of its number,
  does not depend on the order trials finish in), finished trials with their curves and the
  rung marks successive halving writes;
- when a trial starts, the runner hands it a ``TrialPruner``: a snapshot of that mirror.
  The trial decides in its own worker, after each epoch, against that snapshot (which is
  what "asynchronous" successive halving means: a trial is judged against the results known
  when it started). The decision never depends on how fast other workers run, so it is the
  same inline, in worker processes and on Ray, and a resumed study decides as the
  uninterrupted one did.

A pruned trial is ``pruned``, keeps its curve, and is charged the epochs it trained, like
any trial (the runner's ``Ledger`` grants, charges and refunds).

>>> spec = check_pruner("median", {"n_startup_trials": 1})
>>> mirror = PruningMirror(spec)
>>> from tunebench.strategy import Result
>>> mirror.finish(0, 0, Result(loss=0.1, epochs_run=3, curve=(0.5, 0.2, 0.1)))
>>> pruner = mirror.trial_pruner(1)
>>> pruner.should_prune(1, 0.4), pruner.should_prune(2, 0.9)  # worse than the median at 2
(False, True)
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
import logging
import math
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .options import (
    Constraint,
    Integer,
    InvalidOptionError,
    check_option,
    unknown_option_message,
)

__all__ = [
    "PRUNERS",
    "Pruned",
    "PrunerSpec",
    "PruningMirror",
    "TrialPruner",
    "UnknownPrunerError",
    "check_pruner",
    "check_pruner_name",
    "current_pruner",
    "describe_pruner",
    "pruning_under",
    "split_label",
    "strategy_label",
]

#: Each pruner's options, their constraints and defaults (Optuna's, except ``min_resource``:
#: 1 epoch, not ``"auto"``, whose estimate changes as trials finish).
PRUNERS: dict[str, dict[str, tuple[Constraint, Any]]] = {
    "none": {},
    "median": {
        "n_startup_trials": (Integer(0), 5),
        "n_warmup_steps": (Integer(0), 0),
        "interval_steps": (Integer(1), 1),
        "n_min_trials": (Integer(1), 1),
    },
    "asha": {
        "min_resource": (Integer(1), 1),
        "reduction_factor": (Integer(2), 4),
        "min_early_stopping_rate": (Integer(0), 0),
        "bootstrap_count": (Integer(0), 0),
    },
    "hyperband": {
        "min_resource": (Integer(1), 1),
        "max_resource": (Integer(1), None),
        "reduction_factor": (Integer(2), 3),
        "bootstrap_count": (Integer(0), 0),
    },
}

#: What each pruner is, for messages and ``tunebench strategies``.
DESCRIPTIONS = {
    "none": "no pruning: every trial trains until its end or early stopping",
    "median": "stop a trial whose best loss is worse than the median of finished trials at "
    "the same epoch (optuna MedianPruner)",
    "asha": "asynchronous successive halving: at epochs r, r*eta, r*eta^2... keep the best "
    "1/eta of the trials that reached it (optuna SuccessiveHalvingPruner)",
    "hyperband": "successive halving over Hyperband's brackets, each trial in one by its id "
    "(optuna HyperbandPruner)",
}

#: The name of the mirror's Optuna study: part of Hyperband's hash of a trial's bracket.
STUDY_NAME = "tunebench"


class UnknownPrunerError(ValueError):
    """A pruner name that is not one of ``PRUNERS``."""


class Pruned(Exception):
    """Raised by ``report(epoch, loss)`` inside a function objective when its trial is
    pruned: let it propagate (a ``try/except Exception`` around training must re-raise it)."""

    def __init__(self, epoch: int) -> None:
        super().__init__(f"pruned after epoch {epoch}")
        self.epoch = epoch


@dataclass(frozen=True)
class PrunerSpec:
    """A pruner by name, with every option filled in (plain values, JSON-ready)."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.name != "none"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, **self.options}

    def make(self) -> Any:
        """The Optuna pruner."""
        import optuna

        o = self.options
        if self.name == "median":
            return optuna.pruners.MedianPruner(**o)
        if self.name == "asha":
            return optuna.pruners.SuccessiveHalvingPruner(**o)
        if self.name == "hyperband":
            return optuna.pruners.HyperbandPruner(**o)
        return optuna.pruners.NopPruner()


def check_pruner_name(name: Any) -> str:
    """``name`` if it names a pruner (None: ``"none"``), else ``UnknownPrunerError`` with the
    valid names and the closest one."""
    if name is None:
        return "none"
    if not isinstance(name, str) or name not in PRUNERS:
        close = difflib.get_close_matches(str(name), list(PRUNERS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownPrunerError(
            f"unknown pruner {name!r}{hint}. Valid names: {', '.join(PRUNERS)}"
        )
    return name


def check_pruner(
    name: Any, options: Mapping[str, Any] | None = None, max_epochs: int | None = None
) -> PrunerSpec:
    """``name`` and ``options`` checked, the defaults filled in; Hyperband's ``max_resource``
    defaults to ``max_epochs`` (the objective's longest trial).

    >>> check_pruner("asha").options["reduction_factor"]
    4
    >>> check_pruner("ahsa")
    Traceback (most recent call last):
    ...
    tunebench.pruning.UnknownPrunerError: unknown pruner 'ahsa' (did you mean 'asha'?). Valid names: none, median, asha, hyperband
    >>> check_pruner("median", {"n_warmup_steps": -1})
    Traceback (most recent call last):
    ...
    tunebench.options.InvalidOptionError: pruner median option n_warmup_steps must be an integer >= 0, got -1
    """  # noqa: E501
    name = check_pruner_name(name)
    declared = PRUNERS[name]
    owner = f"pruner {name}"
    given = dict(options or {})
    for key in given:
        if key not in declared:
            raise InvalidOptionError(unknown_option_message(owner, key, declared))
    checked = {}
    for key, (constraint, default) in declared.items():
        value = given.get(key, default)
        if key == "max_resource" and value is None:
            value = max_epochs
            if value is None:
                raise ValueError(
                    "pruner hyperband needs max_resource (the most epochs a trial trains), "
                    "and the objective has no max_epochs: pass max_resource (in "
                    "pruner_options=, or as a strategy option of bohb)"
                )
        checked[key] = check_option(owner, key, value, constraint)
    if name == "hyperband" and checked["min_resource"] > checked["max_resource"]:
        raise ValueError(
            f"pruner hyperband: min_resource={checked['min_resource']} exceeds max_resource="
            f"{checked['max_resource']}"
        )
    return PrunerSpec(name, checked)


def describe_pruner(strategy_cls: type, spec: PrunerSpec | None) -> dict[str, Any]:
    """What a study's stored description records of its ``pruner=``: ``{"pruner": name,
    "pruner_options": {...}}``, ``{"pruner": "none"}`` without one — also for a strategy that
    prunes by itself (its pruner is in its options). A resumed study must match it.

    >>> describe_pruner(object, check_pruner("median"))["pruner"]
    'median'
    """
    if spec is None or not spec.active or getattr(strategy_cls, "pruner", None) is not None:
        return {"pruner": "none"}
    return {"pruner": spec.name, "pruner_options": dict(spec.options)}


def strategy_label(strategy: str, pruner: str | None) -> str:
    """How reports name a strategy run with ``pruner=``: ``tpe+asha`` (``tpe`` alone
    without a pruner).

    >>> strategy_label("tpe", "asha"), strategy_label("tpe", "none"), strategy_label("tpe", None)
    ('tpe+asha', 'tpe', 'tpe')
    """
    return strategy if pruner in (None, "none") else f"{strategy}+{pruner}"


def split_label(label: str) -> tuple[str, str]:
    """A benchmark's strategy entry ``NAME[+PRUNER]`` as (strategy, pruner).

    >>> split_label("tpe+asha"), split_label("random")
    (('tpe', 'asha'), ('random', 'none'))
    """
    name, plus, pruner = label.partition("+")
    return name, (pruner if plus else "none")


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Optuna's INFO lines ("A new study created in memory") held back while mirroring."""
    import optuna

    previous = optuna.logging.get_verbosity()
    louder = previous < logging.WARNING
    if louder:
        optuna.logging.set_verbosity(logging.WARNING)
    try:
        yield
    finally:
        if louder:
            optuna.logging.set_verbosity(previous)


def _new_study() -> tuple[Any, Any, int]:
    """An in-memory Optuna study (minimise), its storage and its id."""
    import optuna

    storage = optuna.storages.InMemoryStorage()
    with _quiet_optuna():
        study = optuna.create_study(storage=storage, study_name=STUDY_NAME, direction="minimize")
    return study, storage, storage.get_study_id_from_name(STUDY_NAME)


class PruningMirror:
    """The runner's side: tunebench's trials mirrored into an Optuna study, trial ``k`` as
    Optuna trial number ``k``. Trials not finished yet are ``RUNNING`` with no values."""

    def __init__(self, spec: PrunerSpec) -> None:
        self.spec = spec
        self.pruner = spec.make()
        self.study, self.storage, self.study_id = _new_study()
        self.token = uuid.uuid4().hex  # this mirror's replicas in workers are known by it
        self._optuna_ids: list[int] = []  # Optuna's trial id, by tunebench trial id
        self._finished: dict[int, Any] = {}  # tunebench id -> its finished Optuna trial

    def _optuna_id(self, trial_id: int) -> int:
        while len(self._optuna_ids) <= trial_id:
            self._optuna_ids.append(self.storage.create_new_trial(self.study_id))
        return self._optuna_ids[trial_id]

    def trial_pruner(self, trial_id: int) -> TrialPruner:
        """What trial ``trial_id`` decides with in its worker: the trials finished by now."""
        self._optuna_id(trial_id)
        return TrialPruner(
            self.spec, self.token, trial_id, len(self._optuna_ids), dict(self._finished)
        )

    def finish(self, trial_id: int, initial_epoch: int, result: Any) -> None:
        """Mirror a finished trial: its curve as intermediate values (epoch ``initial_epoch
        + i + 1``), the rung marks successive halving keeps, its state.

        The marks are written by the pruner itself, called after each epoch as it was while
        the trial ran; what it answers is ignored here (the trial has ended).
        """
        from optuna.trial import TrialState

        optuna_id = self._optuna_id(trial_id)
        if trial_id in self._finished:
            return  # already mirrored
        usable = result.status in ("ok", "pruned")
        if usable:
            for index, value in enumerate(result.curve):
                if not math.isfinite(value):
                    break
                step = initial_epoch + index + 1
                self.storage.set_trial_intermediate_value(optuna_id, step, value)
                self.pruner.prune(self.study, self.storage.get_trial(optuna_id))
        if result.status == "ok" and math.isfinite(result.loss):
            self.storage.set_trial_state_values(optuna_id, TrialState.COMPLETE, [result.loss])
        elif usable:
            self.storage.set_trial_state_values(optuna_id, TrialState.PRUNED)
        else:
            self.storage.set_trial_state_values(optuna_id, TrialState.FAIL)
        self._finished[trial_id] = self.storage.get_trial(optuna_id)  # never changed again


class _Replica:
    """A worker's copy of a runner's mirror, kept between the trials of one study (by the
    mirror's token) and brought up to date from each trial's snapshot: rebuilding it for
    every trial would cost a copy of every trial, each time."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.study, self.storage, self.study_id = _new_study()
        self.optuna_ids: list[int] = []
        self.finished: set[int] = set()
        self.own: int | None = None  # the trial that last reported here

    def sync(self, n_trials: int, finished: Mapping[int, Any]) -> bool:
        """Bring the replica to the snapshot; False when it holds reports the snapshot has
        not (its last trial's, not yet finished there): it must then be rebuilt."""
        if self.own is not None and self.own not in finished:
            return False
        while len(self.optuna_ids) < n_trials:
            self.optuna_ids.append(self.storage.create_new_trial(self.study_id))
        for number in sorted(set(finished) - self.finished):
            frozen, optuna_id = finished[number], self.optuna_ids[number]
            for step, value in frozen.intermediate_values.items():
                self.storage.set_trial_intermediate_value(optuna_id, step, value)
            for key, value in frozen.system_attrs.items():
                self.storage.set_trial_system_attr(optuna_id, key, value)
            values = frozen.values if frozen.state.name == "COMPLETE" else None
            self.storage.set_trial_state_values(optuna_id, frozen.state, values)
            self.finished.add(number)
        return True


_REPLICA: _Replica | None = None  # this process's replica of the mirror it last served


class TrialPruner:
    """A trial's side: decides after each epoch whether the trial stops, from the trials
    finished when it started (``finished``: Optuna trials by tunebench id; ``n_trials``:
    the ids given so far). Pickles without any Optuna study: the worker keeps a replica of
    the runner's mirror and brings it up to date at the trial's first report."""

    def __init__(
        self,
        spec: PrunerSpec,
        token: str,
        trial_id: int,
        n_trials: int,
        finished: dict[int, Any],
    ) -> None:
        self.spec = spec
        self.token = token
        self.trial_id = trial_id
        self.n_trials = n_trials
        self.finished = finished
        self._live: tuple[_Replica, Any, int] | None = None
        self._private = False  # decide with a replica of its own (``fork``)
        self.pruned_at: int | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_live": None}

    def fork(self) -> TrialPruner:
        """A fresh copy of this snapshot, nothing reported yet, that decides with a replica of
        the mirror of its own: for several curves of one trial, each judged against the same
        snapshot and none seeing the others' reports (``TuneSearchCV``'s folds). The worker's
        shared replica would keep one curve's epochs beyond where another stops.

        >>> from tunebench.strategy import Result
        >>> mirror = PruningMirror(check_pruner("median", {"n_startup_trials": 1}))
        >>> mirror.finish(0, 0, Result(loss=0.1, curve=(0.2,)))
        >>> pruner = mirror.trial_pruner(1)
        >>> first, second = pruner.fork(), pruner.fork()
        >>> first.should_prune(1, 0.3), second.should_prune(1, 0.1)  # each against trial 0's 0.2
        (True, False)
        """
        copy = TrialPruner(self.spec, self.token, self.trial_id, self.n_trials, self.finished)
        copy._private = True
        return copy

    def _replica(self) -> tuple[_Replica, Any, int]:
        if self._private:
            own = _Replica(self.token)
            own.sync(self.n_trials, self.finished)
            own.own = self.trial_id
            return own, self.spec.make(), own.optuna_ids[self.trial_id]
        global _REPLICA
        replica = _REPLICA
        if (
            replica is None
            or replica.token != self.token
            or not replica.sync(self.n_trials, self.finished)
        ):
            replica = _REPLICA = _Replica(self.token)
            replica.sync(self.n_trials, self.finished)
        replica.own = self.trial_id
        return replica, self.spec.make(), replica.optuna_ids[self.trial_id]

    def should_prune(self, epoch: int, loss: float) -> bool:
        """Record the loss after ``epoch`` (counted from the start of training, 1 first);
        True when the trial should stop now."""
        if not self.spec.active:
            return False
        if self._live is None:
            self._live = self._replica()
        replica, pruner, optuna_id = self._live
        value = float(loss)
        storage = replica.storage
        storage.set_trial_intermediate_value(
            optuna_id, int(epoch), value if math.isfinite(value) else math.nan
        )
        if pruner.prune(replica.study, storage.get_trial(optuna_id)):
            self.pruned_at = int(epoch)
            return True
        return False


_CURRENT: contextvars.ContextVar[TrialPruner | None] = contextvars.ContextVar(
    "tunebench_trial_pruner", default=None
)


def current_pruner() -> TrialPruner | None:
    """The pruner of the trial running in this thread, or None (no pruning)."""
    return _CURRENT.get()


@contextlib.contextmanager
def pruning_under(pruner: TrialPruner | None) -> Iterator[None]:
    """Run a trial whose reports go to ``pruner`` (None: no pruning)."""
    token = _CURRENT.set(pruner)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def pruned_loss(curve: tuple[float, ...] | list[float]) -> float:
    """A pruned trial's loss: the best of its reports (inf when none is finite).

    >>> pruned_loss([0.5, 0.3, float("nan"), 0.4])
    0.3
    """
    finite = [v for v in curve if math.isfinite(v)]
    return min(finite) if finite else math.inf
