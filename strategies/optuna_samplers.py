"""``optuna-tpe`` and ``cmaes``: optuna's samplers through its ask-and-tell interface.

Each strategy owns an in-memory optuna study. ``ask`` is ``study.ask(distributions)`` with the
space translated once into optuna distributions (``Choice`` params as a categorical of option
indices, so options such as ``True`` and ``1`` stay distinct); ``tell`` is ``study.tell``.
Failed and diverged trials are told as ``TrialState.FAIL``, which both samplers leave out of
their models. Optuna's INFO logging is held at WARNING while optuna runs, unless
``verbose=True``; the global optuna verbosity is restored afterwards.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from tunebench.options import Constraint, Flag, Integer, Real
from tunebench.private_api import optuna_tell_without_copy
from tunebench.space import Choice, Float, Int, Space
from tunebench.strategy import Result, Strategy, Suggestion

_SEED_BOUND = 2**32 - 1


class _OptunaStrategy(Strategy):
    """Shared machinery: the study, the distributions, value conversion, ask and tell.

    ``define_by_run``: a conditional space is asked parameter by parameter, each only when
    active (optuna's own conditional spaces); otherwise every parameter is asked at once and
    the inactive ones are dropped from the suggestion.
    """

    define_by_run: ClassVar[bool] = True

    def __init__(self, space: Space, seed: int | None, verbose: bool) -> None:
        super().__init__(space, seed)
        self.verbose = verbose
        import optuna
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        self._distributions: dict[str, Any] = {}
        for pname, param in space.items():
            if isinstance(param, Float):
                self._distributions[pname] = FloatDistribution(param.low, param.high, log=param.log)
            elif isinstance(param, Int):
                self._distributions[pname] = IntDistribution(
                    param.low, param.high, log=param.log, step=param.step
                )
            else:
                indices = tuple(range(len(param.options)))
                self._distributions[pname] = CategoricalDistribution(indices)
        with self._quiet():
            sampler = self._make_sampler()
            self._study = optuna.create_study(sampler=sampler, direction="minimize")
        self._pending: dict[int, Any] = {}  # suggestion id -> optuna Trial
        self._told: set[int] = set()

    #: Whether a pruned trial is told as optuna's ``PRUNED`` with its curve (TPE uses it),
    #: rather than as complete with its best loss (CMA-ES leaves pruned trials out).
    tells_pruned: ClassVar[bool] = False

    def _make_sampler(self) -> Any:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def _backend_seed(self) -> int:
        return int(self.rng.integers(_SEED_BOUND))

    @contextmanager
    def _quiet(self) -> Iterator[None]:
        if self.verbose:
            yield
            return
        import optuna
        from optuna.exceptions import ExperimentalWarning

        previous = optuna.logging.get_verbosity()
        louder = previous < logging.WARNING
        if louder:  # setting a level clears every logger's cache: only when needed
            optuna.logging.set_verbosity(logging.WARNING)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExperimentalWarning)
                yield
        finally:
            if louder:
                optuna.logging.set_verbosity(previous)

    def _from_optuna(self, raw: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for pname, param in self.space.items():
            if pname not in raw:  # not suggested: inactive
                continue
            value = raw[pname]
            if isinstance(param, Float):
                params[pname] = min(max(float(value), param.low), param.high)
            elif isinstance(param, Int):
                params[pname] = min(max(int(value), param.low), param.high)
            else:
                params[pname] = param.options[int(value)]
        return params

    def _to_optuna(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            pname: param.index(params[pname]) if isinstance(param, Choice) else params[pname]
            for pname, param in self.space.items()
            if pname in params
        }

    def _ask_define_by_run(self) -> Any:
        """An optuna trial whose parameters are suggested one by one, in the space's order,
        each only when active: optuna's define-by-run conditional space."""
        trial = self._study.ask()
        params: dict[str, Any] = {}
        for pname, distribution in self._distributions.items():
            if not self.space.is_active(pname, params):
                continue
            if isinstance(self.space[pname], Choice):
                trial.suggest_categorical(pname, distribution.choices)
            elif isinstance(self.space[pname], Float):
                trial.suggest_float(
                    pname, distribution.low, distribution.high, log=distribution.log
                )
            else:
                trial.suggest_int(
                    pname,
                    distribution.low,
                    distribution.high,
                    log=distribution.log,
                    step=distribution.step,
                )
            params = self._from_optuna(trial.params)
        return trial

    def _propose(self) -> Suggestion:
        with self._quiet():
            if self.space.conditional and self.define_by_run:
                trial = self._ask_define_by_run()
            else:
                trial = self._study.ask(self._distributions)
        suggestion = self._suggest(self._from_optuna(trial.params))
        self._pending[suggestion.id] = trial
        return suggestion

    def tell(self, suggestion: Suggestion, result: Result) -> None:
        """Tell optuna the loss, or ``TrialState.FAIL`` for a failed or diverged trial.

        A pruned trial with a finite loss is told as complete with that loss (TPE: as
        optuna's pruned state with its curve, ``tells_pruned``). A suggestion
        this strategy did not make (e.g. a warm start) is added to the study as a new trial.
        """
        if suggestion.id in self._told:
            raise ValueError(f"suggestion {suggestion.id} was already told; tell each one once")
        from optuna.trial import TrialState, create_trial

        loss = float(result.loss)
        ok = result.status in ("ok", "pruned") and math.isfinite(loss)
        trial = self._pending.pop(suggestion.id, None)
        if result.status == "pruned" and self.tells_pruned and result.curve:
            self._tell_pruned(suggestion, result, trial)
            return
        with self._quiet():
            if trial is not None:
                if ok:
                    optuna_tell_without_copy(self._study, trial, loss, None)
                else:
                    optuna_tell_without_copy(self._study, trial, None, TrialState.FAIL)
            else:
                params = self._to_optuna(self.space.validate(suggestion.params))
                self._study.add_trial(
                    create_trial(
                        params=params,
                        distributions={name: self._distributions[name] for name in params},
                        value=loss if ok else None,
                        state=TrialState.COMPLETE if ok else TrialState.FAIL,
                    )
                )
        self._told.add(suggestion.id)

    def _tell_pruned(self, suggestion: Suggestion, result: Result, trial: Any) -> None:
        """Optuna's own pruned state: the curve reported as intermediate values (epoch
        ``initial_epoch + i + 1``), the trial ``PRUNED``; TPE ranks such trials below the
        complete ones, the longer-trained first (``tells_pruned``)."""
        from optuna.trial import TrialState, create_trial

        steps = {
            suggestion.initial_epoch + i + 1: v
            for i, v in enumerate(result.curve)
            if math.isfinite(v)
        }
        with self._quiet():
            if trial is None:
                params = self._to_optuna(self.space.validate(suggestion.params))
                self._study.add_trial(
                    create_trial(
                        params=params,
                        distributions=self._distributions,
                        intermediate_values=steps,
                        state=TrialState.PRUNED,
                    )
                )
            else:
                for step, value in steps.items():
                    trial.report(value, step)
                optuna_tell_without_copy(self._study, trial, None, TrialState.PRUNED)
        self._told.add(suggestion.id)


class OptunaTPE(_OptunaStrategy):
    """Tree-structured Parzen Estimator (optuna ``TPESampler``), multivariate, constant liar.

    The multivariate TPE models all parameters jointly (in a conditional space, asked
    define-by-run, each group of parameters suggested together: ``group=True``); with the
    constant liar, pending trials
    count as the worst loss so far, so parallel workers get different suggestions.

    Options:
        n_startup_trials: int, default 10. Random trials before TPE takes over.
        multivariate: bool, default True. One joint Parzen estimator instead of one per
            parameter.
        constant_liar: bool, default True. Treat pending trials as the worst result so far.
        n_ei_candidates: int, default 24. Candidates scored per suggestion.
        verbose: bool, default False. Let optuna log at INFO level (one line per trial).

    >>> from tunebench.space import Float, Int, Space
    >>> s = OptunaTPE(Space(x=Float(0, 1), n=Int(1, 5)), seed=0, n_startup_trials=3)
    >>> for _ in range(5):
    ...     suggestion = s.ask()
    ...     s.tell(suggestion, Result(loss=(suggestion.params["x"] - 0.3) ** 2))
    >>> type(suggestion.params["n"]).__name__, 0.0 <= suggestion.params["x"] <= 1.0
    ('int', True)
    """

    name = "optuna-tpe"
    description = "Tree-structured Parzen Estimator (optuna TPESampler, multivariate)"
    learns = True
    tells_pruned = True
    option_constraints: ClassVar[dict[str, Constraint]] = {
        "n_startup_trials": Integer(0),
        "multivariate": Flag(),
        "constant_liar": Flag(),
        "n_ei_candidates": Integer(1),
        "verbose": Flag(),
    }
    startup_option = "n_startup_trials"

    def __init__(
        self,
        space: Space,
        seed: int | None = None,
        *,
        n_startup_trials: int = 10,
        multivariate: bool = True,
        constant_liar: bool = True,
        n_ei_candidates: int = 24,
        verbose: bool = False,
    ) -> None:
        self.n_startup_trials = n_startup_trials
        self.multivariate = multivariate
        self.constant_liar = constant_liar
        self.n_ei_candidates = n_ei_candidates
        super().__init__(space, seed, verbose)

    def _make_sampler(self) -> Any:
        from optuna.samplers import TPESampler

        return TPESampler(
            seed=self._backend_seed(),
            n_startup_trials=self.n_startup_trials,
            n_ei_candidates=self.n_ei_candidates,
            multivariate=self.multivariate,
            # A conditional space: one joint model per group of parameters suggested together.
            group=self.multivariate and self.space.conditional,
            constant_liar=self.constant_liar,
        )


class OptunaCmaEs(_OptunaStrategy):
    """CMA-ES over the numeric parameters (optuna ``CmaEsSampler``, ``cmaes`` package).

    ``Float`` and ``Int`` params are searched by CMA-ES; ``Choice`` params are sampled at
    random (a seeded ``RandomSampler``), since CMA-ES has no notion of categories. In a
    conditional space CMA-ES keeps every parameter in its vector: an inactive one keeps the
    value CMA-ES drew, left out of the suggestion, so the objective never sees it. Each
    generation needs ``popsize`` finished trials; failed trials are replaced by new samples.
    Ten or more successful trials told before the first ask (a warm start, without
    ``sigma0``) set its first search distribution, as WS-CMA-ES does (optuna's
    ``source_trials``).

    Options:
        sigma0: float or None, default None. Initial step size; None means optuna's default
            (a sixth of the smallest parameter range, in the scaled space).
        n_startup_trials: int, default 1. Trials from the random sampler before CMA-ES
            starts (optuna's default).
        popsize: int or None, default None. Population size; None means 4 + 3 ln(dimension).
        verbose: bool, default False. Let optuna log at INFO level (one line per trial).

    >>> from tunebench.space import Choice, Float, Space
    >>> s = OptunaCmaEs(Space(x=Float(0, 1), act=Choice(["relu", "tanh"])), seed=0)
    >>> for _ in range(5):
    ...     suggestion = s.ask()
    ...     s.tell(suggestion, Result(loss=(suggestion.params["x"] - 0.3) ** 2))
    >>> type(suggestion.params["x"]).__name__, suggestion.params["act"] in ("relu", "tanh")
    ('float', True)
    """

    name = "cmaes"
    define_by_run = False  # CMA-ES's vector has every parameter
    description = "CMA-ES (optuna CmaEsSampler); categorical parameters are sampled at random"
    learns = True
    option_constraints: ClassVar[dict[str, Constraint]] = {
        "sigma0": Real(0, inclusive=False, none_ok=True),
        "n_startup_trials": Integer(0),
        "popsize": Integer(2, none_ok=True),
        "verbose": Flag(),
    }
    startup_option = "n_startup_trials"

    def __init__(
        self,
        space: Space,
        seed: int | None = None,
        *,
        sigma0: float | None = None,
        n_startup_trials: int = 1,
        popsize: int | None = None,
        verbose: bool = False,
    ) -> None:
        self.sigma0 = sigma0
        self.n_startup_trials = n_startup_trials
        self.popsize = popsize
        super().__init__(space, seed, verbose)

    def _make_sampler(self) -> Any:
        self._sampler_seeds = (self._backend_seed(), self._backend_seed())
        # (params, loss) of the trials told before the first ask, not asked here
        self._source: list[tuple[dict[str, Any], float]] = []
        self._asked = False
        return self._cma_sampler(None)

    def _cma_sampler(self, source_trials: list[Any] | None) -> Any:
        from optuna.samplers import CmaEsSampler, RandomSampler

        cma_seed, random_seed = self._sampler_seeds
        return CmaEsSampler(
            seed=cma_seed,
            sigma0=self.sigma0,
            n_startup_trials=self.n_startup_trials,
            popsize=self.popsize,
            independent_sampler=RandomSampler(seed=random_seed),
            warn_independent_sampling=False,
            source_trials=source_trials,
        )

    def _propose(self) -> Suggestion:
        if not self._asked:
            self._asked = True
            # Warm-starting CMA-ES (WS-CMA-ES): its first search distribution is fitted to
            # the best tenth of the trials told before the first ask (at least 10 are needed).
            source = self._source_trials()
            if len(source) >= 10 and self.sigma0 is None:
                with self._quiet():
                    self._study.sampler = self._cma_sampler(source)
        return super()._propose()

    def _source_trials(self) -> list[Any]:
        """The told trials as optuna's ``source_trials``: over the numeric parameters every one
        of them set (optuna's search space then, the intersection of its trials': in a
        conditional space, an inactive parameter is left out rather than invented)."""
        from optuna.trial import create_trial

        if not self._source:
            return []
        common = set.intersection(*(set(params) for params, _ in self._source))
        numeric = {
            name: d
            for name, d in self._distributions.items()
            if name in common and not isinstance(self.space[name], Choice) and not d.single()
        }
        if not numeric:
            return []
        return [
            create_trial(
                params={name: params[name] for name in numeric},
                distributions=numeric,
                value=loss,
            )
            for params, loss in self._source
        ]

    def tell(self, suggestion: Suggestion, result: Result) -> None:
        given = suggestion.id not in self._pending
        super().tell(suggestion, result)
        numeric = {
            name: d
            for name, d in self._distributions.items()
            if not isinstance(self.space[name], Choice) and not d.single()
        }
        ok = result.status in ("ok", "pruned") and math.isfinite(result.loss)
        if given and ok and not self._asked and numeric:
            self._source.append((dict(suggestion.params), float(result.loss)))
