"""``TuneSearchCV``: scikit-learn's ``RandomizedSearchCV`` with a tunebench strategy choosing
the candidates.

It is a ``BaseSearchCV``: cross-validation, scoring, ``n_jobs``, refitting and every fitted
attribute (``cv_results_``, ``best_params_``, ``best_estimator_``, ...) are scikit-learn's own,
with scikit-learn's keys. The strategy only proposes: ``_run_search`` runs ``tune()``'s loop
(``runner.run_in_memory``: asks, grants, clipping, the budget, the pruner's mirror) with
scikit-learn's ``evaluate_candidates`` as the evaluation of each batch, and tells it
``-mean_test_score``. Under a pruner each fold's Keras fit reports its ``val_loss`` to its
candidate's ``TrialPruner`` and leaves a record of its curve for the parent.

>>> from scipy.stats import loguniform
>>> from sklearn.datasets import make_regression
>>> from sklearn.linear_model import Ridge
>>> X, y = make_regression(n_samples=60, n_features=3, noise=10.0, random_state=0)
>>> search = TuneSearchCV(Ridge(), {"alpha": loguniform(1e-3, 1e3)}, strategy="random",
...                       n_iter=4, random_state=0).fit(X, y)
>>> len(search.cv_results_["params"]), type(search.best_params_["alpha"]).__name__
(4, 'float')
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import math
import numbers
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import joblib
import numpy as np
from sklearn.base import clone
from sklearn.metrics import check_scoring
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import get_tags
from sklearn.utils._param_validation import Interval

from .budget import Budget
from .executors import InlineExecutor
from .fast_fit import fit_through_fast_path
from .keras_state import load_state, save_state
from .private_api import sklearn_fit_failure_check, tensorflow_custom_gradients_forgotten
from .pruning import PrunerSpec, TrialPruner, check_pruner_name, current_pruner
from .runner import fidelity_options, pruner_for, run_in_memory
from .signature import parameters
from .space import Space
from .strategy import Result, Suggestion, get_strategy, strategy_class
from .warmup import check_warmup_epochs, warmup_callback

__all__ = ["TuneSearchCV"]

_SEED_BOUND = 2**31 - 1


def _is_keras_wrapper(estimator: Any) -> bool:
    """Whether ``estimator`` is a scikeras wrapper (told without importing scikeras)."""
    return any(cls.__module__.split(".")[0] == "scikeras" for cls in type(estimator).__mro__)


# What scikeras hands a model builder itself, and the hyperparameter TuneSearchCV adds.
_SCIKERAS_BUILDER_ARGUMENTS = frozenset({"meta", "compile_kwargs", "params"})
_OWN_KERAS_PARAMS = frozenset({"warmup_epochs"})


def _builder(wrapper: Any) -> Callable[..., Any] | None:
    """A scikeras wrapper's model builder (``model``, ``build_fn`` or ``_keras_build_fn``);
    None for a Keras model built beforehand."""
    builder = wrapper.model if wrapper.model is not None else wrapper.build_fn
    if builder is None:
        builder = getattr(wrapper, "_keras_build_fn", None)
    plain = inspect.isfunction(builder) or inspect.ismethod(builder)
    return builder if plain or isinstance(builder, functools.partial) else None


def _builder_arguments(builder: Callable[..., Any] | None) -> tuple[list[str], bool]:
    """The argument names of a model builder scikeras does not fill itself, and whether it
    takes ``**kwargs``."""
    if builder is None:
        return [], False
    taken = parameters(builder)
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    names = [name for name, p in taken.items() if p.kind in named]
    return (
        [name for name in names if name not in _SCIKERAS_BUILDER_ARGUMENTS],
        any(p.kind is inspect.Parameter.VAR_KEYWORD for p in taken.values()),
    )


def _builder_routes(wrapper: Any, names: list[str]) -> dict[str, str]:
    """``{name: "model__name"}`` for the searched names that only the builder takes.

    scikeras hands its builder the wrapper's parameters named like the builder's arguments
    (declared: ``KerasRegressor(build_model, n_hidden=1)``) and those routed to it
    (``model__n_hidden``); a bare ``n_hidden`` on ``KerasRegressor(build_model)`` is neither,
    and ``set_params`` would reject it. A name that is no parameter of the wrapper, no
    argument of the builder and no routed name is an error here, before any training.
    """
    own = set(wrapper.get_params(deep=False)) | _OWN_KERAS_PARAMS
    prefixes = tuple(f"{prefix}__" for prefix in sorted(getattr(wrapper, "_routing_prefixes", ())))
    builder = _builder(wrapper)
    arguments, takes_kwargs = _builder_arguments(builder)
    routes: dict[str, str] = {}
    unknown: list[str] = []
    for name in names:
        if name in own or name.startswith(prefixes):
            continue
        if name in arguments or takes_kwargs:
            routes[name] = f"model__{name}"
        else:
            unknown.append(name)
    if unknown:
        kind = type(wrapper).__name__
        name = getattr(builder, "__name__", "the model builder")
        raise ValueError(
            f"param_distributions names {', '.join(map(repr, unknown))}: not an argument of "
            f"{name}({', '.join(arguments)}) nor a parameter of {kind} "
            f"({', '.join(sorted(own))}); name a builder argument (TuneSearchCV passes it as "
            "model__<name>), a parameter of the wrapper, or a routed name such as "
            "optimizer__momentum"
        )
    return routes


def _as_list(callbacks: Any) -> list[Any]:
    if callbacks is None:
        return []
    if isinstance(callbacks, Mapping):
        return list(callbacks.values())
    if isinstance(callbacks, (list, tuple)):
        return list(callbacks)
    return [callbacks]


def _seed(random_state: Any) -> int:
    """The strategy's seed: an int as given; drawn from a ``RandomState``; fresh for None."""
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0] % _SEED_BOUND)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(_SEED_BOUND))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(random_state)
    raise TypeError(f"random_state must be an int, a RandomState or None, got {random_state!r}")


class _FitFailures(float):
    """``error_score`` while a ``TuneSearchCV`` searches: the number scikit-learn records for a
    failed fit, and a mark that hands the fits' errors to the search (``sink``, one list a
    batch) instead of letting scikit-learn warn or raise about each batch.

    scikit-learn raises "All the N fits failed" when every fit of one ``evaluate_candidates``
    call fails; ``RandomizedSearchCV`` makes one call, but a learning strategy makes one call a
    candidate, so one bad candidate would end the search. The search gives scikit-learn's
    warning (or error, when every fit of the whole search failed) once, at its end.
    A worker process receives a plain float.
    """

    sink: list[list[str | None]]

    def __new__(cls, value: float, sink: list[list[str | None]]) -> _FitFailures:
        marked = super().__new__(cls, value)
        marked.sink = sink
        return marked

    def __reduce__(self) -> tuple[type, tuple[float]]:
        return float, (float(self),)


_sklearn_fit_failure_check: Callable[..., None] | None = None  # scikit-learn's own


def _warn_or_raise_about_fit_failures(results: list[dict[str, Any]], error_score: Any) -> None:
    """scikit-learn's check after each batch of fits, except in a ``TuneSearchCV`` search."""
    if isinstance(error_score, _FitFailures):
        error_score.sink.append([result["fit_error"] for result in results])
    else:
        _fit_failure_check()(results, error_score)


def _fit_failure_check() -> Callable[..., None]:
    """scikit-learn's own check after each batch of fits; the first call puts
    ``_warn_or_raise_about_fit_failures`` in its place (``BaseSearchCV.fit`` calls it from
    ``sklearn.model_selection._search``), where only a marked ``error_score`` changes what
    it does. Raises ``PrivateAPIChanged`` if scikit-learn moved it."""
    global _sklearn_fit_failure_check
    if _sklearn_fit_failure_check is None:
        module, check = sklearn_fit_failure_check()
        _sklearn_fit_failure_check = check
        module._warn_or_raise_about_fit_failures = _warn_or_raise_about_fit_failures
    return _sklearn_fit_failure_check


class _SharedFolder:
    """A temporary folder the search shares with its fits, also in worker processes
    (``n_jobs``): files named by a digest of what they belong to, written atomically (a
    reader never sees half a file), removed by ``close``."""

    def __init__(self, prefix: str) -> None:
        self.directory = tempfile.mkdtemp(prefix=prefix)

    @staticmethod
    def digest(key: Any) -> str:
        """A file-name-safe digest of ``key`` (anything JSON can write, ``repr`` for the rest)."""
        text = key if isinstance(key, str) else json.dumps(key, sort_keys=True, default=repr)
        return hashlib.sha1(text.encode()).hexdigest()

    @staticmethod
    def write_atomically(path: Path, write: Callable[[Path], None], suffix: str) -> None:
        """``write(partial)`` to a file beside ``path`` ending in ``suffix`` (``np.savez``
        insists on ``.npz``; a name that no reader's pattern matches otherwise), then rename
        it to ``path``."""
        partial = path.with_name(f"{path.stem}.partial{suffix}")
        write(partial)
        partial.replace(path)

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


class _Checkpoints(_SharedFolder):
    """Where each fold of a multi-fidelity rung leaves its model for the next rung.

    A fit finds the model to continue by its parent's parameters (without ``epochs``; the
    candidate's own for a Hyperband promotion, a top member's for a ``pbt`` exploit), the
    epoch the parent reached and a hash of the fold's training data: the same cross-validation
    splitter gives the same folds in every rung. The weights and optimizer variables are
    ``.npz`` files in a temporary folder, so that worker processes (``n_jobs``) share them.
    """

    def __init__(self) -> None:
        super().__init__("tunebench-tunesearchcv-")
        # candidate key -> the epoch it continues from and the parameters of its parent
        self.starts: dict[str, tuple[int, dict[str, Any]]] = {}

    @staticmethod
    def _key(params: Mapping[str, Any], epochs: int) -> str:
        config = {name: value for name, value in params.items() if name != "epochs"}
        return json.dumps([config, int(epochs)], sort_keys=True, default=repr)

    def plan(
        self,
        params: Mapping[str, Any],
        initial_epoch: int,
        parent: Mapping[str, Any] | None = None,
    ) -> None:
        """Record that the candidate ``params`` (with its ``epochs``) continues from
        ``initial_epoch`` (0: trains from scratch) the model of the candidate ``parent``
        (None: ``params`` with fewer epochs)."""
        source = dict(params if parent is None else parent)
        self.starts[self._key(params, params["epochs"])] = (int(initial_epoch), source)

    def start(self, params: Mapping[str, Any]) -> int:
        return self.starts.get(self._key(params, params["epochs"]), (0, params))[0]

    def parent(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        """The parameters of the candidate whose model ``params`` continues."""
        return self.starts.get(self._key(params, params["epochs"]), (0, params))[1]

    def _path(self, params: Mapping[str, Any], epochs: int, fold: str) -> Path:
        digest = self.digest(f"{self._key(params, epochs)}|{fold}")
        return Path(self.directory) / f"{digest}.npz"

    def save(self, params: Mapping[str, Any], epochs: int, fold: str, state: dict) -> None:
        arrays = {f"w{i}": a for i, a in enumerate(state["weights"])}
        arrays.update({f"o{i}": a for i, a in enumerate(state["optimizer"])})
        path = self._path(params, epochs, fold)
        self.write_atomically(path, lambda partial: np.savez(partial, **arrays), ".npz")

    def load(self, params: Mapping[str, Any], epochs: int, fold: str) -> dict | None:
        path = self._path(params, epochs, fold)
        if not path.exists():
            return None  # a fold the parent never saw
        with np.load(path) as data:
            names = sorted(data.files, key=lambda name: (name[0], int(name[1:])))
            return {
                "weights": [data[name] for name in names if name[0] == "w"],
                "optimizer": [data[name] for name in names if name[0] == "o"],
            }


class _FoldRecords(_SharedFolder):
    """Under a pruner: each candidate's ``TrialPruner``, handed to its folds' fits, and what
    each fold's fit reports back (its ``val_loss`` after every epoch, and whether it was
    pruned) as a small JSON file in a temporary folder, so that worker processes (``n_jobs``)
    report too. The parent reads a candidate's records after its batch (``collect``).

    Candidates are known by their parameters: two identical candidates of one batch share
    their records (and the pruner of the later one).
    """

    def __init__(self) -> None:
        super().__init__("tunebench-tunesearchcv-folds-")
        self.pruners: dict[str, TrialPruner] = {}  # candidate key -> its trial's pruner

    def _digest(self, params: Mapping[str, Any]) -> str:
        return self.digest(dict(params))

    def plan(self, params: Mapping[str, Any], pruner: TrialPruner) -> None:
        """Have the folds of the candidate ``params`` decide with ``pruner``."""
        self.pruners[self._digest(params)] = pruner

    def pruner(self, params: Mapping[str, Any]) -> TrialPruner | None:
        """A fold's own copy of its candidate's pruner (None: not searched under one, e.g.
        the refit)."""
        pruner = self.pruners.get(self._digest(params))
        return None if pruner is None else pruner.fork()

    def path(self, params: Mapping[str, Any]) -> str:
        """Where one fold's fit of ``params`` writes its record."""
        return str(Path(self.directory) / f"{self._digest(params)}-{uuid.uuid4().hex}.json")

    @classmethod
    def write(cls, path: str, curve: list[float], pruned: bool) -> None:
        text = json.dumps({"curve": curve, "pruned": pruned})
        cls.write_atomically(Path(path), lambda partial: partial.write_text(text), ".tmp")

    def collect(self, candidates: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """The records the folds of each candidate of a batch wrote, removed from the folder
        (identical candidates get the same ones)."""
        collected: dict[str, list[dict[str, Any]]] = {}
        digests = [self._digest(params) for params in candidates]
        for digest in digests:
            if digest not in collected:
                paths = sorted(Path(self.directory).glob(f"{digest}-*.json"))
                collected[digest] = [json.loads(path.read_text()) for path in paths]
                for path in paths:
                    path.unlink()
        return [collected[digest] for digest in digests]


@functools.cache
def _fold_pruning_class() -> type:
    import keras

    class FoldPruning(keras.callbacks.Callback):
        """Keras callback of one fold's fit under a pruner: reports ``val_loss`` after each
        epoch to the fold's ``TrialPruner``, stops the fit when it says so, and writes the
        fold's record (``_FoldRecords.write``) when the fit ends."""

        def __init__(self, pruner: TrialPruner, record: str) -> None:
            super().__init__()
            self.pruner = pruner
            self.record = record
            self.curve: list[float] = []
            self.pruned = False

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            loss = (logs or {}).get("val_loss")
            if loss is None:
                raise ValueError(
                    f"the pruner needs Keras's val_loss after every epoch, and epoch {epoch + 1} "
                    "has none (validation_freq > 1?); validate after every epoch"
                )
            self.curve.append(float(loss))
            if self.pruner.should_prune(epoch + 1, float(loss)):
                self.pruned = True
                self.model.stop_training = True

        def on_train_end(self, logs: dict | None = None) -> None:
            _FoldRecords.write(self.record, self.curve, self.pruned)

    return FoldPruning


def _has_validation(wrapper: Any, fit_params: Mapping[str, Any]) -> bool:
    """Whether each fit of ``wrapper`` computes Keras's ``val_loss``: ``validation_data`` or a
    positive ``validation_split`` given to ``fit``, to the wrapper, or routed (``fit__``)."""
    params = wrapper.get_params()
    for given in (fit_params, params, {k[5:]: v for k, v in params.items() if k[:5] == "fit__"}):
        if given.get("validation_data") is not None:
            return True
        split = given.get("validation_split")
        if isinstance(split, numbers.Real) and split > 0:
            return True
    return False


class _KerasFit:
    """A scikeras wrapper as ``TuneSearchCV`` fits it (it exists only during ``fit``).

    Every parameter, method and attribute is the wrapper's; ``fit`` adds what scikeras lacks:
    ``callbacks`` given to ``fit`` reach Keras (scikeras would drop them), a ``warmup_epochs``
    hyperparameter adds a ``tunebench.warmup`` callback, a candidate's own ``epochs`` beats
    ``fit(epochs=...)``, and under a multi-fidelity strategy a candidate continues, in each
    fold, the model its parent left there. A name in ``routes`` (a bare builder argument)
    reaches the wrapper as ``model__<name>``. Under a pruner (``records``) a fold's fit reports
    its ``val_loss`` after each epoch to its candidate's pruner, stops when told, and leaves
    its record for the parent.
    """

    def __init__(
        self,
        estimator: Any,
        checkpoints: _Checkpoints | None = None,
        routes: Mapping[str, str] | None = None,
        records: _FoldRecords | None = None,
    ) -> None:
        self.estimator = estimator
        self.checkpoints = checkpoints
        self.routes = dict(routes or {})
        self.records = records
        self._candidate: dict[str, Any] = {}

    def __sklearn_clone__(self) -> _KerasFit:
        return _KerasFit(clone(self.estimator), self.checkpoints, self.routes, self.records)

    def __sklearn_tags__(self) -> Any:
        return get_tags(self.estimator)

    def __getattr__(self, name: str) -> Any:
        estimator = self.__dict__.get("estimator")
        if name.startswith("_") or estimator is None:
            raise AttributeError(name)
        return getattr(estimator, name)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {**self.estimator.get_params(deep=deep), **self._candidate}

    def set_params(self, **params: Any) -> _KerasFit:
        self._candidate.update(params)
        params.pop("warmup_epochs", None)  # ours, not the wrapper's
        if params:
            self.estimator.set_params(**{self.routes.get(k, k): v for k, v in params.items()})
        return self

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> _KerasFit:
        # model.fit where the fast path cannot be exact; a candidate's traced training step is
        # never differentiated, so the custom gradient each trace registers can go
        with fit_through_fast_path(self.estimator), tensorflow_custom_gradients_forgotten():
            return self._fit(X, y, **fit_params)

    def _fit(self, X: Any, y: Any = None, **fit_params: Any) -> _KerasFit:
        estimator = self.estimator
        callbacks = _as_list(fit_params.pop("callbacks", None))
        warmup = check_warmup_epochs(self._candidate.get("warmup_epochs", 0))
        if warmup:
            callbacks.append(warmup_callback(warmup))
        records = self.records
        pruner = None if records is None else records.pruner(self._candidate)
        if records is not None and pruner is not None:  # last: after the user's callbacks
            callbacks.append(_fold_pruning_class()(pruner, records.path(self._candidate)))
        if callbacks:
            estimator.set_params(callbacks=[*_as_list(estimator.callbacks), *callbacks])
        if "epochs" in self._candidate:
            fit_params.pop("epochs", None)  # the candidate's own epochs
        if self.checkpoints is None:
            estimator.fit(X, y, **fit_params)
            return self
        fit_params.pop("initial_epoch", None)
        epochs = int(self._candidate["epochs"])
        fold = joblib.hash((X, y))
        start = self.checkpoints.start(self._candidate)
        parent = self.checkpoints.parent(self._candidate)
        state = self.checkpoints.load(parent, start, fold) if start else None
        if start and state is None:  # charged epochs - start: training from 0 would pass it
            raise ValueError(
                f"this fold is not one the candidate's first {start} epochs were trained on: "
                "the cross-validation splits changed between Hyperband's rounds; give cv fixed "
                "splits (e.g. KFold(3, shuffle=True, random_state=0), or shuffle=False)"
            )
        if state is None:
            estimator.fit(X, y, epochs=epochs, **fit_params)
        else:
            warm_start = estimator.warm_start
            estimator.set_params(warm_start=True)  # fit keeps the model it is given
            estimator.initialize(X, y)
            load_state(estimator.model_, state, keep_learning_rate=True)  # its own rate
            estimator.fit(X, y, epochs=epochs - start, initial_epoch=start, **fit_params)
            estimator.set_params(warm_start=warm_start)
        self.checkpoints.save(self._candidate, epochs, fold, save_state(estimator.model_))
        return self


@dataclass(frozen=True)
class _Reporting:
    """What ``pruner_for`` asks of an objective, for a scikeras search: the most epochs a
    candidate trains (Hyperband's ``max_resource``), and that it reports after each epoch
    (its folds' fits do; ``TuneSearchCV`` checks they validate)."""

    max_epochs: int | None
    reports_intermediate: ClassVar[bool] = True


@dataclass
class _Search:
    """What one ``fit`` searches with, worked out before scikit-learn takes over."""

    space: Space
    seed: int
    options: dict[str, Any]
    budget: Budget
    epochs: int | None  # epochs a candidate trains (a scikeras wrapper); None: one unit each
    checkpoints: _Checkpoints | None  # multi-fidelity strategies only
    routes: dict[str, str]  # bare builder arguments of a scikeras wrapper -> model__<name>
    pruner: PrunerSpec | None = None  # pruner= or the strategy's own (asha, bohb)
    records: _FoldRecords | None = None  # under a pruner: what each fold's fit reported
    pruned: list[bool] = field(default_factory=list)  # by candidate, in cv_results_' order
    epochs_trained: list[int] = field(default_factory=list)  # what the budget charged each
    fit_errors: list[list[str | None]] = field(default_factory=list)  # a batch's, fold by fold
    non_finite: list[warnings.WarningMessage] = field(default_factory=list)  # the latest batch's


class TuneSearchCV(BaseSearchCV):
    """Search hyperparameters with cross-validation, the candidates chosen by a tunebench
    strategy: ``RandomizedSearchCV`` with ``strategy=`` and ``budget=`` added.

    Parameters
    ----------
    estimator : a scikit-learn estimator, or a scikeras ``KerasRegressor`` /
        ``KerasClassifier``.
    param_distributions : what ``RandomizedSearchCV`` takes (lists, ``np.arange``, scipy
        ``reciprocal`` / ``loguniform`` / ``uniform`` / ``randint``), or a tunebench ``Space``.
        The estimator always receives plain Python ``int`` / ``float`` / ``str`` / ``bool``.
        One dict: a list of one dict is that dict; a list of several (a union of sub-spaces)
        is a ``ValueError``.
    strategy : a name from ``tunebench.available_strategies()`` (default ``"tpe"``).
    n_iter : candidates to evaluate when ``budget`` is None.
    cv, scoring, refit, n_jobs, verbose, error_score, pre_dispatch, return_train_score :
        as in ``RandomizedSearchCV``. The strategy maximises the mean test score (with several
        scorers, the one named by ``refit``). ``n_jobs`` runs folds and candidates in parallel
        (joblib); learning strategies are asked for about ``n_jobs / cv`` candidates at a time.
        With a numeric ``error_score``, a candidate whose fits fail gets that score and is told
        to the strategy as failed; the search goes on, and gives scikit-learn's
        ``FitFailedWarning`` once at its end (its ``ValueError`` if every fit failed).
    budget : a tunebench ``Budget``: ``trials`` counts candidates, ``seconds`` wall-clock time,
        ``epochs`` the epochs the candidates are asked to train (each of the ``cv`` folds trains
        them; an estimator without epochs costs 1 a candidate). None: ``n_iter`` trials.
    random_state : seeds the strategy (an int, a ``RandomState``, or None for a fresh seed).
    strategy_options : the strategy's options (``tunebench strategies --verbose``).
    pruner : stop candidates whose validation loss is bad after some epoch, as
        ``tune(pruner=...)``: None (default), ``"median"``, ``"asha"`` or ``"hyperband"``
        (``tunebench.pruning``). A scikeras wrapper only, under a strategy that trains each
        candidate to its end; ``strategy="asha"`` / ``"bohb"`` prune by themselves.
    pruner_options : the pruner's options (``tunebench.pruning.PRUNERS``).

    A scikeras wrapper gets the ``callbacks`` given to ``fit``, added to its own ``callbacks``
    (scikeras itself ignores them: ``fit(X, y, callbacks=[EarlyStopping(patience=10)])`` works
    as in the book, and ``best_estimator_`` keeps them), and two training hyperparameters:
    ``batch_size`` (the wrapper's own) and ``warmup_epochs`` (a linear learning-rate warm-up,
    ``tunebench.warmup``). A searched name that is an argument of the wrapper's model builder
    but no parameter of the wrapper (``n_hidden`` on ``KerasRegressor(build_model)``) is set as
    ``model__n_hidden``; ``routed_params_`` maps the names so routed to the names set. Its
    models train through ``tunebench.fast_fit`` (a compiled epoch, ``model.fit``'s History and
    epoch-level callbacks); what that cannot do exactly (sample weights, metrics besides the
    loss, a callback with batch-level hooks, ...) trains with ``model.fit``.

    ``strategy="hyperband"`` (any multi-fidelity strategy) needs a scikeras wrapper: a
    candidate's ``epochs`` is the fidelity (``param_epochs`` in ``cv_results_``, and in
    ``best_params_``: the refit trains that many). ``max_epochs`` defaults to
    ``fit(epochs=...)`` (or the wrapper's ``epochs``). A promotion continues, fold by fold, the
    model its parent trained (weights and optimizer state, from ``initial_epoch``, a column of
    ``cv_results_``) and costs only its new epochs; a fold without its parent's model trains
    from scratch. Give it an epoch budget (``budget=Budget(epochs=...)``): ``n_iter`` would
    count its many short first-rung trials.

    Under a pruner (``pruner=``, or ``strategy="asha"`` / ``"bohb"``) each fold's fit reports
    Keras's ``val_loss`` after every epoch, so ``fit`` needs validation data
    (``fit(..., validation_data=(X_valid, y_valid))`` or ``validation_split=0.1``; a
    ``ValueError`` before any training otherwise). The loop hands each candidate a snapshot
    of the candidates finished so far; every fold decides against it with its own curve and
    stops its fit when told (``model.stop_training``), so the folds of one candidate may
    disagree. A candidate is pruned when any fold was: told to the strategy as ``pruned``
    with its curve (the folds' mean ``val_loss`` over the epochs all of them reached, which
    later candidates are judged against), charged the most epochs a fold trained (under a
    pruner an unpruned candidate stopped early is charged what it trained too), and scored by
    scikit-learn on its shortened fits; ``cv_results_`` gains ``pruned`` and
    ``epochs_trained``, added once the search is done (they are known only after each
    batch). Candidates go to scikit-learn about ``n_jobs / cv`` at a time, so that each is
    judged against those before it; the refit is never pruned.

    The fitted attributes are ``RandomizedSearchCV``'s, and ``routed_params_``; ``cv_results_``
    and ``best_params_`` use the names of ``param_distributions``.
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseSearchCV._parameter_constraints,
        "param_distributions": [Mapping, list],  # a list: _space explains
        "strategy": [str],
        "n_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "budget": [Budget, None],
        "random_state": ["random_state"],
        "strategy_options": [Mapping, None],
        "pruner": [str, None],
        "pruner_options": [Mapping, None],
    }

    def __init__(
        self,
        estimator: Any,
        param_distributions: Mapping[str, Any] | Space,
        *,
        strategy: str = "tpe",
        n_iter: int = 10,
        cv: Any = 3,
        scoring: Any = None,
        budget: Budget | None = None,
        refit: bool | str | Callable = True,
        random_state: Any = None,
        n_jobs: int | None = None,
        verbose: int = 0,
        error_score: Any = np.nan,
        strategy_options: Mapping[str, Any] | None = None,
        pre_dispatch: int | str = "2*n_jobs",
        return_train_score: bool = False,
        pruner: str | None = None,
        pruner_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.param_distributions = param_distributions
        self.strategy = strategy
        self.n_iter = n_iter
        self.budget = budget
        self.random_state = random_state
        self.strategy_options = strategy_options
        self.pruner = pruner
        self.pruner_options = pruner_options
        super().__init__(
            estimator=estimator,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )

    # ------------------------------------------------------------------ fit

    def fit(self, X: Any, y: Any = None, **params: Any) -> TuneSearchCV:
        """Search with cross-validation, then (``refit``) fit the best candidate on all of X.

        ``params`` go to every fit of the estimator, as in ``RandomizedSearchCV``.
        """
        self._validate_params()
        search = self._prepare(params)
        original = self.estimator
        keras = _is_keras_wrapper(original)
        error_score = self.error_score
        if not isinstance(error_score, str):
            _fit_failure_check()  # the hook in place before scikit-learn's first batch
        self._search = search
        if keras:  # BaseSearchCV clones self.estimator: the adapter must be there meanwhile
            self.estimator = _KerasFit(original, search.checkpoints, search.routes, search.records)
        if not isinstance(error_score, str):  # "raise": scikit-learn raises, as it would
            self.error_score = _FitFailures(error_score, search.fit_errors)
        try:
            super().fit(X, y, **params)
        finally:
            self.estimator = original
            self.error_score = error_score
            del self._search
            if search.checkpoints is not None:
                search.checkpoints.close()
            if search.records is not None:
                search.records.close()
        if search.records is not None:  # known after each batch: added once the search is done
            self.cv_results_["pruned"] = np.array(search.pruned, dtype=bool)
            self.cv_results_["epochs_trained"] = np.array(search.epochs_trained, dtype=int)
        self.routed_params_ = dict(search.routes)
        if keras:
            if hasattr(self, "best_estimator_"):
                self.best_estimator_ = self.best_estimator_.estimator
            if self.scoring is None:
                self.scorer_ = check_scoring(original)
        return self

    def _space(self) -> Space:
        """The space searched: ``param_distributions``, or the single dict of a list of one."""
        distributions = self.param_distributions
        if isinstance(distributions, list):
            if len(distributions) != 1 or not isinstance(distributions[0], Mapping):
                raise ValueError(
                    "TuneSearchCV searches one space: give param_distributions as one dict, got "
                    f"a list of {len(distributions)} (RandomizedSearchCV's union of sub-spaces, "
                    "which a strategy cannot search yet); run one TuneSearchCV per dict and keep "
                    "the one with the highest best_score_, or merge the dicts into one"
                )
            distributions = distributions[0]
        return Space.from_dict(distributions)

    def _prepare(self, fit_params: Mapping[str, Any]) -> _Search:
        space = self._space()
        cls = strategy_class(self.strategy)  # an unknown name: the valid ones, the closest
        options = dict(self.strategy_options or {})
        keras = _is_keras_wrapper(self.estimator)
        epochs = None
        if keras:
            epochs = fit_params.get("epochs", getattr(self.estimator, "epochs", 1))
            if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
                raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
            epochs = int(epochs)
        spec = self._pruner(cls, options, keras, epochs, fit_params)
        routes = _builder_routes(self.estimator, list(space)) if keras else {}
        checkpoints = None
        if cls.multi_fidelity:
            if not keras:
                raise ValueError(
                    f"strategy={self.strategy!r} trains candidates for a growing number of "
                    f"epochs, but {type(self.estimator).__name__} has no epochs; use it with a "
                    "scikeras KerasRegressor / KerasClassifier, or pick a strategy without "
                    "fidelity such as 'tpe' or 'random'"
                )
            if "epochs" in space:
                raise ValueError(
                    f"strategy={self.strategy!r} sets each candidate's epochs itself; remove "
                    "'epochs' from param_distributions (pass fit(epochs=...) as the maximum)"
                )
            if "max_epochs" not in options:  # a larger one is allowed: it becomes the limit
                options = fidelity_options(self.strategy, options, epochs)
            if options.get("max_epochs") is not None and options["max_epochs"] < 2:
                raise ValueError(
                    f"strategy={self.strategy!r} needs room for the epochs to grow, got "
                    f"max_epochs={options['max_epochs']!r}; pass the most a candidate may train "
                    "as fit(X, y, epochs=...), e.g. epochs=100 as in the book"
                )
            checkpoints = _Checkpoints()
        budget = Budget(trials=self.n_iter) if self.budget is None else self.budget
        seed = _seed(self.random_state)
        records = None if spec is None else _FoldRecords()
        return _Search(space, seed, options, budget, epochs, checkpoints, routes, spec, records)

    def _pruner(
        self,
        cls: type,
        options: Mapping[str, Any],
        keras: bool,
        epochs: int | None,
        fit_params: Mapping[str, Any],
    ) -> PrunerSpec | None:
        """The pruner the search runs with (``pruner=``, or the strategy's own), checked by
        ``tune()``'s rules, and what it needs here: a scikeras wrapper that validates after
        each epoch. None: no pruning."""
        asked = f"pruner={self.pruner!r}" if cls.pruner is None else f"strategy={self.strategy!r}"
        prunes = check_pruner_name(self.pruner) != "none" or cls.pruner is not None
        if prunes and not keras:
            raise ValueError(
                f"{asked} stops a candidate's training between epochs, but "
                f"{type(self.estimator).__name__} has no epochs; use it with a scikeras "
                "KerasRegressor / KerasClassifier, or leave out pruner= (with a strategy that "
                "does not prune, such as 'tpe' or 'random')"
            )
        reporter = _Reporting(epochs)
        spec = pruner_for(self.strategy, options, self.pruner, self.pruner_options, reporter)
        if spec is not None and not _has_validation(self.estimator, fit_params):
            raise ValueError(
                f"{asked} decides from the validation loss (Keras's val_loss) of each fold's "
                "fit after every epoch, and the fits have no validation data: pass it to "
                "fit, e.g. search.fit(X_train, y_train, validation_data=(X_valid, y_valid)) "
                "or validation_split=0.1"
            )
        return spec

    # ------------------------------------------------------------------ the search

    def _run_search(self, evaluate_candidates: Callable[..., dict[str, Any]]) -> None:
        """``tune()``'s loop (``run_in_memory``), scikit-learn cross-validating the trials."""
        search = self._search
        strategy = get_strategy(self.strategy, search.space, seed=search.seed, **search.options)
        at_once: float = max(1, math.ceil(joblib.effective_n_jobs(self.n_jobs) / self.n_splits_))
        counted = search.budget.trials is not None or search.budget.epochs is not None
        if counted and (not strategy.learns or strategy.multi_fidelity) and search.pruner is None:
            at_once = math.inf  # proposals that need no results go to scikit-learn together
        # (under a pruner a candidate is judged against those finished before it started)
        candidates = _Candidates(search, evaluate_candidates, self._score_key, self.n_splits_)
        batches = _Batches(at_once)
        try:  # no max_failures: error_score says what a failing candidate does
            run_in_memory(
                candidates,
                strategy,
                search.budget,
                batches,
                seed=search.seed,
                max_failures=None,
                pruner=search.pruner,
            )
            if search.fit_errors:  # scikit-learn's FitFailedWarning, once for the whole search;
                # its ValueError when every fit failed, as RandomizedSearchCV's single batch
                _fit_failure_check()(
                    [{"fit_error": error} for call in search.fit_errors for error in call],
                    float(self.error_score),
                )
            for caught in search.non_finite:  # "... scores are non-finite", once, as in
                # RandomizedSearchCV (scikit-learn gives it again after each batch)
                warnings.warn_explicit(
                    caught.message, caught.category, caught.filename, caught.lineno
                )
        finally:
            close = getattr(strategy, "close", None)
            if callable(close):
                close()  # e.g. Hyperband's temporary folder
            if search.checkpoints is not None:  # the refit trains from scratch on all the data
                search.checkpoints.starts.clear()
            if search.records is not None:  # and to its end
                search.records.pruners.clear()

    def _format_results(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """scikit-learn's ``cv_results_`` of the candidates so far; its warning that some mean
        scores are non-finite is kept for the end of the search (``_run_search``)."""
        search = getattr(self, "_search", None)
        if search is None:
            return super()._format_results(*args, **kwargs)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results = super()._format_results(*args, **kwargs)
        search.non_finite = []
        for warning in caught:
            if "scores are non-finite" in str(warning.message):
                search.non_finite.append(warning)
            else:
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
        return results

    def _score_key(self, results: Mapping[str, Any]) -> str:
        if "mean_test_score" in results:
            return "mean_test_score"
        if isinstance(self.refit, str) and f"mean_test_{self.refit}" in results:
            return f"mean_test_{self.refit}"
        raise ValueError(
            "with several scorers, TuneSearchCV maximises the one named by refit; set "
            f"refit to one of the scorer names, got refit={self.refit!r}"
        )


class _Candidates:
    """``TuneSearchCV``'s objective in ``tune()``'s loop: ``evaluate_batch`` has scikit-learn
    cross-validate candidates together (``evaluate_candidates``, which runs their folds in
    parallel under ``n_jobs``) and returns each one's ``loss = -mean_test_score``.

    ``max_epochs`` counts the budget: None (an estimator without epochs) costs one unit a
    candidate. A scikeras wrapper's candidates cost the epochs they are asked to train: under
    a multi-fidelity strategy the loop sets them (``param_epochs``, from ``initial_epoch``);
    otherwise they are the wrapper's own, or the candidate's ``epochs`` (``fixed_epochs``).
    Under a pruner a candidate costs the epochs it trained: the most any of its folds trained
    (all it was asked when a fit failed, as the loop charges a trial that says nothing).
    """

    def __init__(
        self,
        search: _Search,
        evaluate_candidates: Callable[..., dict[str, Any]],
        score_key: Callable[[Mapping[str, Any]], str],
        n_splits: int,
    ) -> None:
        self.search = search
        self.evaluate_candidates = evaluate_candidates
        self.score_key = score_key
        self.n_splits = n_splits
        self.max_epochs = search.epochs
        self.params_of: dict[int, dict[str, Any]] = {}  # trial id -> its candidate's params
        wanted = search.options.get("max_epochs")  # a multi-fidelity strategy's longest rung
        if search.checkpoints is not None and isinstance(wanted, numbers.Integral):
            self.max_epochs = max(search.epochs, int(wanted))

    def describe(self) -> dict[str, Any]:
        return {"type": "tunebench.sklearn.TuneSearchCV", "max_epochs": self.max_epochs}

    def fixed_epochs(self, suggestion: Suggestion) -> int | None:
        """The epochs a candidate trains when the strategy does not choose them (the wrapper's
        own, or the candidate's ``epochs``): the loop starts it only if the budget has them all.
        """
        if self.search.checkpoints is not None or self.search.epochs is None:
            return None
        return int(suggestion.params.get("epochs", self.search.epochs))

    def evaluate(self, suggestion: Suggestion, state: dict[str, Any] | None = None) -> Result:
        return self.evaluate_batch([suggestion], [current_pruner()])[0]

    def evaluate_batch(
        self, suggestions: list[Suggestion], pruners: list[TrialPruner | None] | None = None
    ) -> list[Result]:
        """Cross-validate ``suggestions`` together; each one's folds decide with its pruner
        (``pruners``, by suggestion; None: no pruning)."""
        search = self.search
        pruners = pruners or [None] * len(suggestions)
        candidates = []
        for suggestion, pruner in zip(suggestions, pruners, strict=True):
            params = dict(suggestion.params)
            if search.checkpoints is not None:  # the fidelity the loop granted
                self.params_of[suggestion.id] = dict(params)
                parent = (
                    None
                    if suggestion.resume_from is None
                    else self.params_of.get(suggestion.resume_from)
                )
                params["epochs"] = suggestion.epochs
                search.checkpoints.plan(params, suggestion.initial_epoch, parent)
            if search.records is not None and pruner is not None:
                search.records.plan(params, pruner)
            candidates.append(params)
        more = None
        if search.checkpoints is not None:  # where each candidate's training started
            more = {"initial_epoch": [suggestion.initial_epoch for suggestion in suggestions]}
        reported = len(search.fit_errors)
        try:
            results = self.evaluate_candidates(candidates, more_results=more)
        finally:
            if search.records is not None:
                search.records.pruners.clear()
        folds = (
            [[]] * len(candidates) if search.records is None else search.records.collect(candidates)
        )
        scores = results[self.score_key(results)][-len(suggestions) :]
        errors = [error for call in search.fit_errors[reported:] for error in call]
        outcomes = []
        for i, suggestion in enumerate(suggestions):
            fold_errors = errors[i * self.n_splits : (i + 1) * self.n_splits]  # candidate-major
            result = _result(float(scores[i]), suggestion.new_epochs or 1, fold_errors, folds[i])
            if search.records is not None:
                search.pruned.append(result.status == "pruned")
                search.epochs_trained.append(result.epochs_run)
            outcomes.append(result)
        return outcomes


class _Batches(InlineExecutor):
    """Runs the trials submitted, up to ``capacity`` of them, as one batch: their objective's
    ``evaluate_batch``, one ``evaluate_candidates`` call of scikit-learn.

    A trial's time limit is not enforced (scikit-learn's fits run to their end), and an
    exception from ``evaluate_batch`` (``error_score="raise"``) ends the search.
    """

    def __init__(self, capacity: float) -> None:
        super().__init__()
        self.capacity = capacity  # type: ignore[assignment]  # math.inf: all that are asked

    def wait(self) -> list[tuple[Suggestion, Result]]:
        submitted, self.submitted = self.submitted, []
        if not submitted:
            return []
        objective: _Candidates = submitted[0][0]  # type: ignore[assignment]
        batch = [trial[1] for trial in submitted]
        pruners = [trial[4] for trial in submitted]  # the loop's snapshot for each trial
        return list(zip(batch, objective.evaluate_batch(batch, pruners), strict=True))


def _result(
    score: float,
    epochs: int,
    fold_errors: list[str | None],
    folds: list[dict[str, Any]] | None = None,
) -> Result:
    """What the strategy is told of a candidate: its loss, or why it failed (a fold's fit
    raised, whatever ``error_score`` made of it, or the mean score is NaN).

    Under a pruner ``folds`` holds each fold's record: the candidate is ``pruned`` when any
    fold was, its curve is the folds' mean ``val_loss`` over the epochs every fold reached,
    and it is charged the most epochs a fold trained (``epochs``, all it was asked, when a
    fit failed).

    >>> folds = [{"curve": [3.0, 2.0], "pruned": True}, {"curve": [1.0, 2.0, 1.5], "pruned": False}]
    >>> result = _result(0.5, 4, [None, None], folds)
    >>> result.status, result.loss, result.curve, result.epochs_run
    ('pruned', -0.5, (2.0, 2.0), 3)
    """
    errors = [error for error in fold_errors if error is not None]
    if errors:
        last_line = errors[-1].strip().splitlines()[-1]
        why = f"{len(errors)} of {len(fold_errors)} folds failed to fit ({last_line})"
    elif not math.isfinite(score):
        why = f"the mean cross-validation score is {score}: a fold's score failed or was {score}"
    elif folds:
        curves = [fold["curve"] for fold in folds]
        reached = min(len(curve) for curve in curves)
        return Result(
            loss=-score,
            status="pruned" if any(fold["pruned"] for fold in folds) else "ok",
            epochs_run=max(len(curve) for curve in curves),
            curve=tuple(float(np.mean([curve[i] for curve in curves])) for i in range(reached)),
        )
    else:
        return Result(loss=-score, epochs_run=epochs)
    return Result.failure(
        f"{why}; pass error_score='raise' to see the traceback", epochs_run=epochs
    )
