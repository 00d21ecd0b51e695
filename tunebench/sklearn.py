"""``TuneSearchCV``: scikit-learn's ``RandomizedSearchCV`` with a tunebench strategy choosing
the candidates.

It is a ``BaseSearchCV``: cross-validation, scoring, ``n_jobs``, refitting and every fitted
attribute (``cv_results_``, ``best_params_``, ``best_estimator_``, ...) are scikit-learn's own,
with scikit-learn's keys. The strategy only proposes: ``_run_search`` runs ``tune()``'s loop
(``runner.run_in_memory``: asks, grants, clipping, the budget) with scikit-learn's
``evaluate_candidates`` as the evaluation of each batch, and tells it ``-mean_test_score``.

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
from .private_api import sklearn_fit_failure_check
from .runner import fidelity_options, run_in_memory
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


class _Checkpoints:
    """Where each fold of a multi-fidelity rung leaves its model for the next rung.

    A fit finds the model to continue by its candidate's parameters (without ``epochs``), the
    epoch the parent reached and a hash of the fold's training data: the same cross-validation
    splitter gives the same folds in every rung. The weights and optimizer variables are
    ``.npz`` files in a temporary folder, so that worker processes (``n_jobs``) share them.
    """

    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="tunebench-tunesearchcv-")
        self.starts: dict[str, int] = {}  # candidate key -> the epoch it continues from

    @staticmethod
    def _key(params: Mapping[str, Any], epochs: int) -> str:
        config = {name: value for name, value in params.items() if name != "epochs"}
        return json.dumps([config, int(epochs)], sort_keys=True, default=repr)

    def plan(self, params: Mapping[str, Any], initial_epoch: int) -> None:
        """Record that the candidate ``params`` (with its ``epochs``) continues from
        ``initial_epoch`` (0: trains from scratch)."""
        self.starts[self._key(params, params["epochs"])] = int(initial_epoch)

    def start(self, params: Mapping[str, Any]) -> int:
        return self.starts.get(self._key(params, params["epochs"]), 0)

    def _path(self, params: Mapping[str, Any], epochs: int, fold: str) -> Path:
        digest = hashlib.sha1(f"{self._key(params, epochs)}|{fold}".encode()).hexdigest()
        return Path(self.directory) / f"{digest}.npz"

    def save(self, params: Mapping[str, Any], epochs: int, fold: str, state: dict) -> None:
        path = self._path(params, epochs, fold)
        arrays = {f"w{i}": a for i, a in enumerate(state["weights"])}
        arrays.update({f"o{i}": a for i, a in enumerate(state["optimizer"])})
        partial = path.with_suffix(".partial.npz")
        np.savez(partial, **arrays)
        partial.replace(path)  # atomic: a reader never sees half a file

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

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


class _KerasFit:
    """A scikeras wrapper as ``TuneSearchCV`` fits it (it exists only during ``fit``).

    Every parameter, method and attribute is the wrapper's; ``fit`` adds what scikeras lacks:
    ``callbacks`` given to ``fit`` reach Keras (scikeras would drop them), a ``warmup_epochs``
    hyperparameter adds a ``tunebench.warmup`` callback, a candidate's own ``epochs`` beats
    ``fit(epochs=...)``, and under a multi-fidelity strategy a candidate continues, in each
    fold, the model its parent left there. A name in ``routes`` (a bare builder argument)
    reaches the wrapper as ``model__<name>``.
    """

    def __init__(
        self,
        estimator: Any,
        checkpoints: _Checkpoints | None = None,
        routes: Mapping[str, str] | None = None,
    ) -> None:
        self.estimator = estimator
        self.checkpoints = checkpoints
        self.routes = dict(routes or {})
        self._candidate: dict[str, Any] = {}

    def __sklearn_clone__(self) -> _KerasFit:
        return _KerasFit(clone(self.estimator), self.checkpoints, self.routes)

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
        with fit_through_fast_path(self.estimator):  # model.fit where it cannot be exact
            return self._fit(X, y, **fit_params)

    def _fit(self, X: Any, y: Any = None, **fit_params: Any) -> _KerasFit:
        estimator = self.estimator
        callbacks = _as_list(fit_params.pop("callbacks", None))
        warmup = check_warmup_epochs(self._candidate.get("warmup_epochs", 0))
        if warmup:
            callbacks.append(warmup_callback(warmup))
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
        state = self.checkpoints.load(self._candidate, start, fold) if start else None
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
            load_state(estimator.model_, state)
            estimator.fit(X, y, epochs=epochs - start, initial_epoch=start, **fit_params)
            estimator.set_params(warm_start=warm_start)
        self.checkpoints.save(self._candidate, epochs, fold, save_state(estimator.model_))
        return self


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
    ) -> None:
        self.param_distributions = param_distributions
        self.strategy = strategy
        self.n_iter = n_iter
        self.budget = budget
        self.random_state = random_state
        self.strategy_options = strategy_options
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
            self.estimator = _KerasFit(original, search.checkpoints, search.routes)
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
        if cls.pruner is not None:
            raise ValueError(
                f"strategy={self.strategy!r} prunes trials from the loss each one reports "
                "after every epoch, which TuneSearchCV's cross-validated candidates do not "
                "report: use tunebench.tune with a KerasObjective for it, or another strategy"
            )
        options = dict(self.strategy_options or {})
        keras = _is_keras_wrapper(self.estimator)
        epochs = None
        if keras:
            epochs = fit_params.get("epochs", getattr(self.estimator, "epochs", 1))
            if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
                raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
            epochs = int(epochs)
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
        return _Search(space, seed, options, budget, epochs, checkpoints, routes)

    # ------------------------------------------------------------------ the search

    def _run_search(self, evaluate_candidates: Callable[..., dict[str, Any]]) -> None:
        """``tune()``'s loop (``run_in_memory``), scikit-learn cross-validating the trials."""
        search = self._search
        strategy = get_strategy(self.strategy, search.space, seed=search.seed, **search.options)
        at_once: float = max(1, math.ceil(joblib.effective_n_jobs(self.n_jobs) / self.n_splits_))
        counted = search.budget.trials is not None or search.budget.epochs is not None
        if counted and (not strategy.learns or strategy.multi_fidelity):
            at_once = math.inf  # proposals that need no results go to scikit-learn together
        candidates = _Candidates(search, evaluate_candidates, self._score_key, self.n_splits_)
        batches = _Batches(at_once)
        try:  # no max_failures: error_score says what a failing candidate does
            run_in_memory(
                candidates, strategy, search.budget, batches, seed=search.seed, max_failures=None
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
        return self.evaluate_batch([suggestion])[0]

    def evaluate_batch(self, suggestions: list[Suggestion]) -> list[Result]:
        search = self.search
        candidates = []
        for suggestion in suggestions:
            params = dict(suggestion.params)
            if search.checkpoints is not None:  # the fidelity the loop granted
                params["epochs"] = suggestion.epochs
                search.checkpoints.plan(params, suggestion.initial_epoch)
            candidates.append(params)
        more = None
        if search.checkpoints is not None:  # where each candidate's training started
            more = {"initial_epoch": [suggestion.initial_epoch for suggestion in suggestions]}
        reported = len(search.fit_errors)
        results = self.evaluate_candidates(candidates, more_results=more)
        scores = results[self.score_key(results)][-len(suggestions) :]
        errors = [error for call in search.fit_errors[reported:] for error in call]
        return [  # errors: candidate-major
            _result(
                float(scores[i]),
                suggestion.new_epochs or 1,
                errors[i * self.n_splits : (i + 1) * self.n_splits],
            )
            for i, suggestion in enumerate(suggestions)
        ]


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
        return list(zip(batch, objective.evaluate_batch(batch), strict=True))


def _result(score: float, epochs: int, fold_errors: list[str | None]) -> Result:
    """What the strategy is told of a candidate: its loss, or why it failed (a fold's fit
    raised, whatever ``error_score`` made of it, or the mean score is NaN)."""
    errors = [error for error in fold_errors if error is not None]
    if errors:
        last_line = errors[-1].strip().splitlines()[-1]
        why = f"{len(errors)} of {len(fold_errors)} folds failed to fit ({last_line})"
    elif not math.isfinite(score):
        why = f"the mean cross-validation score is {score}: a fold's score failed or was {score}"
    else:
        return Result(loss=-score, epochs_run=epochs)
    return Result.failure(
        f"{why}; pass error_score='raise' to see the traceback", epochs_run=epochs
    )
