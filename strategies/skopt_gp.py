"""``gp``: Gaussian-process Bayesian optimisation with scikit-optimize's ``Optimizer``.

skopt's ask/tell is used as is, with three additions: values come back as plain Python types;
a failed or diverged trial is told a finite penalty (one NaN or inf told to skopt breaks every
later fit); and while suggestions are pending, the next one is asked from a temporary copy of
the optimizer that was told a constant lie for each pending point (skopt's own ``ask`` would
return the same point again).

skopt runs with BLAS and OpenMP limited to one thread (threadpoolctl, only during its calls):
the GP's matrices are small, so one thread is faster, and the suggestions then do not depend on
the thread count -- with several BLAS threads the floating-point sums, hence the fitted GP and
the suggestions, differed from the one-thread ones, which would break replaying a study.
"""

from __future__ import annotations

import math
import random
import warnings
from contextlib import contextmanager
from typing import Any, ClassVar

from tunebench.options import Constraint, Flag, Integer, OneOf
from tunebench.space import Choice, Float, Int, Space
from tunebench.strategy import Result, Strategy, Suggestion

_SEED_BOUND = 2**31 - 1
_ACQ_FUNCS = ("gp_hedge", "EI", "LCB", "PI")
_LIARS = ("min", "mean", "max")


class SkoptGP(Strategy):
    """Gaussian-process Bayesian optimisation (scikit-optimize ``Optimizer``, GP, ``gp_hedge``).

    ``Float`` params become ``Real``, ``Int`` params ``Integer`` (``prior="log-uniform"`` for
    ``log``; with a ``step``, the index of its step), ``Choice`` params a ``Categorical`` of
    option indices (so options of mixed types, such as ``True`` and ``1``, never get
    confused). Params with a single possible value are
    left out of the model. In a conditional space the GP models every parameter: an inactive
    one is told at a fixed value (``inactive_value``: its low end, or its first option) and
    left out of the suggestion, so the objective never sees it. The first
    ``n_initial_points`` results come from random points, after which each ``tell`` refits the
    GP (hyperparameters included) and optimises the acquisition function: measured about
    0.4 s a trial near 40 trials and 3 s near 200 (2-core machine), growing with the number of
    trials -- negligible next to training a network, not next to a cheap test function.

    A failed or diverged trial is told a penalty: the worst finite loss seen so far plus 10%
    of the spread of finite losses (10% of its magnitude when all are equal). Failures that
    come before any finite loss are held back and told once one arrives.

    Options:
        n_initial_points: int, default 10. Random points before the GP takes over.
        acq_func: str, default "gp_hedge". Acquisition function: "gp_hedge" (a softmax
            hedge over EI, LCB and PI), "EI", "LCB" or "PI".
        liar: str, default "min". The constant lie told for pending points when a new one is
            asked before their results are in: the "min", "mean" or "max" of the losses told so
            far (skopt's cl_min / cl_mean / cl_max).
        verbose: bool, default False. Show skopt's and scikit-learn's warnings (duplicate
            points, GP convergence).

    >>> from tunebench.space import Choice, Float, Space
    >>> space = Space(x=Float(0, 1), act=Choice(["relu", "tanh"]))
    >>> s = SkoptGP(space, seed=0, n_initial_points=3)
    >>> for _ in range(5):
    ...     suggestion = s.ask()
    ...     s.tell(suggestion, Result(loss=(suggestion.params["x"] - 0.3) ** 2))
    >>> type(suggestion.params["x"]).__name__, suggestion.params["act"] in ("relu", "tanh")
    ('float', True)
    """

    name = "gp"
    description = "Gaussian-process Bayesian optimisation (scikit-optimize, gp_hedge)"
    learns = True
    option_constraints: ClassVar[dict[str, Constraint]] = {
        "n_initial_points": Integer(1),
        "acq_func": OneOf(*_ACQ_FUNCS),
        "liar": OneOf(*_LIARS),
        "verbose": Flag(),
    }
    startup_option = "n_initial_points"

    def __init__(
        self,
        space: Space,
        seed: int | None = None,
        *,
        n_initial_points: int = 10,
        acq_func: str = "gp_hedge",
        liar: str = "min",
        verbose: bool = False,
    ) -> None:
        super().__init__(space, seed)
        self.n_initial_points = n_initial_points
        self.acq_func = acq_func
        self.liar = liar
        self.verbose = verbose

        # Importing skopt imports scikit-learn, which imports rich, whose rich.style draws from
        # Python's global random state at import time; put that state back.
        state = random.getstate()
        try:
            from skopt.space import Categorical, Integer, Real
            from threadpoolctl import ThreadpoolController  # a scikit-learn dependency
        finally:
            random.setstate(state)
        self._threadpools = ThreadpoolController()

        self._dims: list[Any] = []
        self._modelled: list[str] = []  # params in the skopt space, in order
        self._fixed: dict[str, Any] = {}  # params with a single possible value
        for pname, param in space.items():
            if isinstance(param, Float):
                prior = "log-uniform" if param.log else "uniform"
                self._dims.append(Real(param.low, param.high, prior=prior, name=pname))
            elif isinstance(param, Int):
                if param.low == param.high:
                    self._fixed[pname] = param.low
                    continue
                prior = "log-uniform" if param.log else "uniform"
                if param.step > 1:  # the index of its step
                    self._dims.append(Integer(0, len(param.values) - 1, name=pname))
                else:
                    self._dims.append(Integer(param.low, param.high, prior=prior, name=pname))
            else:
                if len(param.options) == 1:
                    self._fixed[pname] = param.options[0]
                    continue
                self._dims.append(Categorical(list(range(len(param.options))), name=pname))
            self._modelled.append(pname)
        self._opt = self._optimizer() if self._dims else None
        self._pending: dict[int, list] = {}  # suggestion id -> skopt point
        self._told: set[int] = set()
        self._finite: list[float] = []  # finite losses told so far
        self._held_back: list[list] = []  # failed points told before any finite loss
        # Trials told before the first ask (a warm start): one GP fit for all of them.
        self._deferred: tuple[list[list], list[float]] = ([], [])

    # ------------------------------------------------------------------ helpers

    def _optimizer(self) -> Any:
        from skopt import Optimizer

        with self._quiet():
            opt = Optimizer(
                self._dims,
                base_estimator="GP",
                n_initial_points=self.n_initial_points,
                acq_func=self.acq_func,
                random_state=int(self.rng.integers(_SEED_BOUND)),
                model_queue_size=1,  # keep only the latest GP, not one per tell
            )
        return opt

    @contextmanager
    def _quiet(self) -> Any:
        """Run skopt with BLAS / OpenMP on one thread and, unless verbose, without warnings."""
        with self._threadpools.limit(limits=1), warnings.catch_warnings():
            if not self.verbose:
                warnings.simplefilter("ignore")
            yield

    def _to_point(self, params: dict[str, Any]) -> list:
        params = self.space.fill_inactive(params)  # an inactive parameter: its fixed value
        point: list[Any] = []
        for pname in self._modelled:
            param, value = self.space[pname], params[pname]
            if isinstance(param, Choice):
                point.append(param.index(value))
            elif isinstance(param, Int) and param.step > 1:
                point.append(param.values.index(value))
            elif isinstance(param, Int):
                point.append(int(value))
            else:
                point.append(float(value))
        return point

    def _from_point(self, point: list) -> dict[str, Any]:
        values = dict(self._fixed)
        for pname, raw in zip(self._modelled, point, strict=True):
            param = self.space[pname]
            if isinstance(param, Float):
                values[pname] = min(max(float(raw), param.low), param.high)
            elif isinstance(param, Int) and param.step > 1:
                index = min(max(round(float(raw)), 0), len(param.values) - 1)
                values[pname] = param.values[index]
            elif isinstance(param, Int):
                values[pname] = min(max(round(float(raw)), param.low), param.high)
            else:
                index = min(max(int(raw), 0), len(param.options) - 1)
                values[pname] = param.options[index]
        return {pname: values[pname] for pname in self.space}

    def _penalty(self) -> float:
        worst, best = max(self._finite), min(self._finite)
        spread = worst - best if worst > best else abs(worst)
        return worst + 0.1 * spread

    def _lie(self) -> float:
        y = self._opt.yi
        if self.liar == "min":
            return float(min(y))
        if self.liar == "max":
            return float(max(y))
        return float(sum(y) / len(y))

    # ------------------------------------------------------------------ ask / tell

    def _propose(self) -> Suggestion:
        if self._opt is None:  # every parameter has a single value
            return self._suggest(dict(self._fixed))
        if self._deferred[0]:
            xs, ys = self._deferred
            self._deferred = ([], [])
            self._tell_skopt(xs, ys)
        with self._quiet():
            if self._pending and len(self._opt.yi) >= self.n_initial_points:
                # Constant liar: a temporary optimizer that believes the pending points are done.
                liar = self._optimizer()
                if hasattr(self._opt, "gains_"):
                    liar.gains_ = self._opt.gains_.copy()
                pending = list(self._pending.values())
                liar.tell(self._opt.Xi + pending, self._opt.yi + [self._lie()] * len(pending))
                point = liar.ask()
            else:
                # Random phase (every call draws a new point) or nothing pending.
                point = self._opt.ask()
        params = self._from_point(point)
        suggestion = self._suggest(params)
        self._pending[suggestion.id] = self._to_point(suggestion.params)
        return suggestion

    def tell(self, suggestion: Suggestion, result: Result) -> None:
        """Tell skopt the loss, or a finite penalty for a failed or diverged trial.

        A pruned trial with a finite loss is told that loss. A suggestion this strategy did not
        make (e.g. a warm start) is told as a new point; those told before the first ask are
        told to skopt together, at that ask (one fit instead of one a trial).
        """
        if suggestion.id in self._told:
            raise ValueError(f"suggestion {suggestion.id} was already told; tell each one once")
        point = self._pending.pop(suggestion.id, None)
        given = point is None
        if given:
            point = self._to_point(self.space.validate(suggestion.params))
        self._told.add(suggestion.id)
        if self._opt is None:
            return
        loss = float(result.loss)
        xs: list[list] = []
        ys: list[float] = []
        if result.status in ("ok", "pruned") and math.isfinite(loss):
            self._finite.append(loss)
            xs.append(point)
            ys.append(loss)
            if self._held_back:
                penalty = self._penalty()
                xs += self._held_back
                ys += [penalty] * len(self._held_back)
                self._held_back = []
        elif self._finite:
            xs.append(point)
            ys.append(self._penalty())
        else:
            self._held_back.append(point)
            return
        if given and self._next_id == 0:  # a warm start: told in one fit at the first ask
            self._deferred[0].extend(xs)
            self._deferred[1].extend(ys)
            return
        self._tell_skopt(xs, ys)

    def _tell_skopt(self, xs: list[list], ys: list[float]) -> None:
        with self._quiet():
            self._opt.tell(xs if len(xs) > 1 else xs[0], ys if len(ys) > 1 else ys[0])
