"""``asha`` and ``bohb``: strategies that prune by themselves, on Optuna's pruners.

Each is a sampler plus the pruner the runner runs its trials under (``Strategy.pruner``;
``tunebench.pruning`` holds the mirror that feeds Optuna's pruners from tunebench's trials).
Every trial is drawn once and trained from scratch; the pruner stops it at a rung when it is
not among the best ``1/reduction_factor`` there, so the budget goes to the trials that stay
good. Both need an objective that reports after each epoch (``KerasObjective`` does).

- ``asha``: random sampling under asynchronous successive halving (Li et al., 2020), the
  baseline of Ray Tune and Syne Tune: Optuna's ``SuccessiveHalvingPruner``.
- ``bohb``: model-based sampling over Hyperband's brackets (Falkner et al., 2018): Optuna's
  multivariate ``TPESampler`` with its ``HyperbandPruner``, the combination Optuna's authors
  recommend for BOHB. A pruned trial is told to TPE as ``PRUNED`` with its curve, and TPE
  ranks complete trials above pruned ones and the longer-trained pruned ones above the
  shorter, so its model is fitted on the highest fidelities reached, as BOHB's is. (The
  ``dehb`` package pins ``numpy<2``; Syne Tune's BOHB brings a second framework's
  dependencies for the same rule.)
"""

from __future__ import annotations

from typing import ClassVar

from tunebench.options import Constraint, Integer
from tunebench.space import Space
from tunebench.strategy import Strategy, Suggestion

from .optuna_samplers import OptunaTPE


class Asha(Strategy):
    """Random search under asynchronous successive halving (optuna
    ``SuccessiveHalvingPruner``): a trial reaching epoch ``min_resource *
    reduction_factor**k`` trains on only if its loss there is among the best
    ``1/reduction_factor`` of the trials that reached it before it started.

    Options:
        min_resource: int, default 1. Epochs of the first rung.
        reduction_factor: int, default 4. Rungs are this factor apart; this share goes on.
        min_early_stopping_rate: int, default 0. The first rung is at
            ``min_resource * reduction_factor**min_early_stopping_rate``.
        bootstrap_count: int, default 0. Trials a rung needs before it prunes.

    >>> from tunebench import Float
    >>> Asha(Space(x=Float(0, 1)), seed=0).ask().params["x"] < 1
    True
    """

    name = "asha"
    description = "random sampling under asynchronous successive halving (optuna pruner)"
    learns = False
    pruner = "asha"
    option_constraints: ClassVar[dict[str, Constraint]] = {
        "min_resource": Integer(1),
        "reduction_factor": Integer(2),
        "min_early_stopping_rate": Integer(0),
        "bootstrap_count": Integer(0),
    }

    def __init__(
        self,
        space: Space,
        seed: int | None = None,
        *,
        min_resource: int = 1,
        reduction_factor: int = 4,
        min_early_stopping_rate: int = 0,
        bootstrap_count: int = 0,
    ) -> None:
        super().__init__(space, seed)
        self.min_resource = min_resource
        self.reduction_factor = reduction_factor
        self.min_early_stopping_rate = min_early_stopping_rate
        self.bootstrap_count = bootstrap_count

    def _propose(self) -> Suggestion:
        return self._suggest(self.space.sample(self.rng))


class Bohb(OptunaTPE):
    """BOHB: multivariate TPE (optuna ``TPESampler``) over Hyperband's brackets (optuna
    ``HyperbandPruner``; a trial's bracket is a hash of its id).

    Options:
        min_resource: int, default 1. Epochs of the first rung of the most aggressive
            bracket.
        max_resource: int or None, default None. Epochs of the longest trials; None: the
            objective's ``max_epochs``.
        reduction_factor: int, default 3. Rungs are this factor apart.
        bootstrap_count: int, default 0. Trials a rung needs before it prunes.
        n_startup_trials: int, default 10. Random trials before TPE takes over.
        multivariate, constant_liar, n_ei_candidates, verbose: as ``optuna-tpe``'s.

    >>> from tunebench import Float
    >>> Bohb(Space(x=Float(0, 1)), seed=0, reduction_factor=2).ask().params["x"] < 1
    True
    """

    name = "bohb"
    description = "BOHB: TPE (optuna) over Hyperband brackets (optuna HyperbandPruner)"
    pruner = "hyperband"
    option_constraints: ClassVar[dict[str, Constraint]] = {
        **OptunaTPE.option_constraints,
        "min_resource": Integer(1),
        "max_resource": Integer(1, none_ok=True),
        "reduction_factor": Integer(2),
        "bootstrap_count": Integer(0),
    }

    def __init__(
        self,
        space: Space,
        seed: int | None = None,
        *,
        min_resource: int = 1,
        max_resource: int | None = None,
        reduction_factor: int = 3,
        bootstrap_count: int = 0,
        n_startup_trials: int = 10,
        multivariate: bool = True,
        constant_liar: bool = True,
        n_ei_candidates: int = 24,
        verbose: bool = False,
    ) -> None:
        self.min_resource = min_resource
        self.max_resource = max_resource
        self.reduction_factor = reduction_factor
        self.bootstrap_count = bootstrap_count
        super().__init__(
            space,
            seed,
            n_startup_trials=n_startup_trials,
            multivariate=multivariate,
            constant_liar=constant_liar,
            n_ei_candidates=n_ei_candidates,
            verbose=verbose,
        )
