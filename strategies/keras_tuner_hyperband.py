"""``hyperband``: keras-tuner's ``HyperbandOracle`` driven from outside its ``Tuner``.

The oracle is used through its own protocol: ``create_trial(tuner_id)`` for each ask (one
tuner id per outstanding suggestion, so several can be pending), ``update_trial`` and
``end_trial`` for each tell. Its special hyperparameters become suggestion fields:
``tuner/epochs`` → ``epochs``, ``tuner/initial_epoch`` → ``initial_epoch``, ``tuner/trial_id``
(the parent whose model is continued) → ``resume_from`` (the parent's suggestion id), and
``tuner/bracket`` / ``tuner/round`` (and keras-tuner's own trial id, ``keras_tuner_trial_id``) are
kept in ``meta``.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import sys
import warnings
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from tunebench.options import Constraint, Flag, Integer
from tunebench.private_api import keras_tuner_forget_oracle, keras_tuner_oracle_hooks
from tunebench.space import Choice, Float, Int, Space
from tunebench.strategy import Result, Strategy, Suggestion

_SEED_BOUND = 2**31 - 1
_OBJECTIVE = "val_loss"
# Told to the oracle for a failed or diverged trial: worse than every finite loss, so it is
# promoted only when its whole round failed, and still finite, so keras-tuner never marks the
# trial INVALID/FAILED (a FAILED trial is never COMPLETED, which stalls its bracket's promotions
# for good, and three in a row make the oracle raise).
_PENALTY = sys.float_info.max


def _import_keras_tuner() -> Any:
    """Import keras_tuner, leaving Python's and numpy's global random state as found.

    (Importing TensorFlow draws from the global ``random`` module.)
    """
    import random

    import numpy as np

    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        import keras_tuner
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    return keras_tuner


def _release(oracle: Any, tmp: str | None) -> None:
    """Drop keras-tuner's module-level lock entries (they would keep the oracle alive forever)
    and remove the temporary directory."""
    keras_tuner_forget_oracle(oracle)
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def _quiet() -> Iterator[None]:
    """Hide keras-tuner's DeprecationWarnings (``threading.currentThread`` in every call)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"keras_tuner\.")
        yield


_ORACLE_CLASS: Any = None


def _oracle_class() -> Any:
    """``HyperbandOracle`` that keeps going, with repeated values, once its space is exhausted.

    keras-tuner gives up after 20 consecutive duplicate random draws and stops the whole search
    (or waits, when trials are running), leaving its brackets unfinished. In a small discrete
    space that ends Hyperband after a few one-epoch trials; drawing a repeat instead lets the
    brackets fill and the best configurations be trained longer.
    """
    global _ORACLE_CLASS
    if _ORACLE_CLASS is None:
        keras_tuner = _import_keras_tuner()
        keras_tuner_oracle_hooks(keras_tuner.oracles.HyperbandOracle)  # what is overridden here

        class _HyperbandOracle(keras_tuner.oracles.HyperbandOracle):
            def _random_values(self) -> dict[str, Any]:
                values = super()._random_values()
                if values is None:  # exhausted: draw again, duplicates allowed
                    hps = self.hyperparameters.copy()
                    for hp in hps.space:
                        if hps.is_active(hp):
                            hps.values[hp.name] = hp.random_sample(self._seed_state)
                            self._seed_state += 1
                    values = hps.values
                return values

        _ORACLE_CLASS = _HyperbandOracle
    return _ORACLE_CLASS


def _scopes(space: Space, name: str) -> list[tuple[str, tuple]]:
    """The nested ``conditional_scope`` s of a parameter: its last parent's, then the
    condition on that parent. keras-tuner finds a parent only under the very scopes it was
    defined in, so a condition on another, unrelated parent too is applied when the values
    are read back (``Space.validate`` drops what is inactive)."""
    when = space[name].when
    if not when:
        return []
    order = list(space)
    parent, values = max(when, key=lambda condition: order.index(condition[0]))
    return [*_scopes(space, parent), (parent, values)]


def _backend_values(parent: Any, values: tuple) -> list:
    """A condition's values as the oracle holds its parent: option indices for a ``Choice``."""
    if isinstance(parent, Choice):
        return [parent.index(value) for value in values]
    return list(values)


class Hyperband(Strategy):
    """Hyperband (keras-tuner ``HyperbandOracle``): successive halving over brackets.

    Each bracket starts many configurations for a few epochs and continues the best third
    (``factor``) for ``factor`` times more epochs, until ``max_epochs``; brackets range from
    aggressive to plain random search. A continuation has ``initial_epoch > 0`` and
    ``resume_from`` set to the suggestion whose model it continues (same params). The strategy
    waits (``ask()`` returns None) while a round needs the results of its running trials, and
    once every bracket of an iteration is finished starts the next iteration, until the budget
    ends (or is ``done`` after ``hyperband_iterations`` full iterations, when given). ``Float``
    and ``Int`` params map to keras-tuner's (log sampling for ``log``), ``Choice`` params to a
    choice of option indices; a condition becomes keras-tuner's ``conditional_scope``. A failed
    or diverged trial is told the largest finite float, so it ranks last in its round. When the
    space is too small for fresh configurations, repeats are drawn. It has no start-up phase
    (``startup_trials`` is 0): every bracket, the first one too, draws its configurations at
    random, with no model to warm up; what it adds to random search is successive halving,
    from its first round on. It cannot be warm-started (``learns_from_given`` is False): the
    oracle takes no trials it did not draw, so ``tune(warm_start=...)`` is refused; enqueued
    configurations (``tune(enqueue=...)``) are trained to the objective's ``max_epochs``
    outside the brackets.

    Options:
        max_epochs: int, default 100. Epochs of the longest trial (the book protocol's limit).
        factor: int, default 3. Reduction factor between rounds (>= 2).
        hyperband_iterations: int or None, default None. Full Hyperband iterations before
            ``done``; None: none, the budget ends the search (keras-tuner's own default is 1,
            which left a benchmark run with 15-epoch trials half its budget unspent).
        directory: str or None, default None. Where keras-tuner writes its oracle and trial
            files; None uses a temporary directory removed when the strategy is done or freed.
        verbose: bool, default False. Let keras-tuner print its trial tables.

    >>> from tunebench.space import Float, Space
    >>> s = Hyperband(Space(x=Float(0, 1)), seed=0, max_epochs=3)
    >>> asked = []
    >>> while (suggestion := s.ask()) is not None:  # until it must wait for results
    ...     asked.append(suggestion)
    >>> [(a.epochs, a.meta["tuner/bracket"]) for a in asked]
    [(1, 1), (1, 1), (1, 1), (3, 0), (3, 0)]
    >>> for a in asked:
    ...     s.tell(a, Result(loss=a.params["x"], epochs_run=a.epochs))
    >>> nxt = s.ask()  # the best 1-epoch trial, continued to 3 epochs
    >>> nxt.epochs, nxt.initial_epoch, nxt.params == asked[nxt.resume_from].params
    (3, 1, True)
    """

    name = "hyperband"
    description = "Hyperband successive halving over brackets (keras-tuner HyperbandOracle)"
    learns = True
    multi_fidelity = True
    learns_from_given = False  # its brackets hold only configurations the oracle drew
    option_constraints: ClassVar[dict[str, Constraint]] = {
        "max_epochs": Integer(1),
        "factor": Integer(2),
        "hyperband_iterations": Integer(1, none_ok=True),
        "verbose": Flag(),
    }

    def __init__(
        self,
        space: Space,
        seed: int | None = None,
        *,
        max_epochs: int = 100,
        factor: int = 3,
        hyperband_iterations: int | None = None,
        directory: str | None = None,
        verbose: bool = False,
    ) -> None:
        import tempfile

        super().__init__(space, seed)
        self.max_epochs = max_epochs
        self.factor = factor
        self.hyperband_iterations = hyperband_iterations
        self.verbose = verbose

        keras_tuner = _import_keras_tuner()
        hps = keras_tuner.HyperParameters()
        for name, param in space.items():
            with contextlib.ExitStack() as scopes:  # a condition: keras-tuner's own
                for parent, values in _scopes(space, name):
                    scopes.enter_context(
                        hps.conditional_scope(parent, _backend_values(space[parent], values))
                    )
                if isinstance(param, Float):
                    sampling = "log" if param.log else "linear"
                    hps.Float(name, param.low, param.high, sampling=sampling)
                elif isinstance(param, Int):
                    sampling = "log" if param.log else "linear"
                    step = None if param.step == 1 else param.step
                    hps.Int(name, param.low, param.high, step=step, sampling=sampling)
                else:  # keras-tuner wants one type per Choice: use the option indices
                    hps.Choice(name, list(range(len(param.options))))

        tmp = None
        if directory is None:
            tmp = directory = tempfile.mkdtemp(prefix="tunebench-hyperband-")
        self.directory = str(directory)
        # keras-tuner reads seed 0 as "no seed" and then draws from the global `random`.
        oracle_seed = int(self.rng.integers(1, _SEED_BOUND))
        self._oracle = _oracle_class()(
            objective=keras_tuner.Objective(_OBJECTIVE, direction="min"),
            max_epochs=self.max_epochs,
            factor=self.factor,
            hyperband_iterations=self.hyperband_iterations or 1,  # None: one more at a time
            seed=oracle_seed,
            hyperparameters=hps,
            allow_new_entries=False,
            tune_new_entries=False,
        )
        self._oracle._set_project_dir(self.directory, "oracle")
        self._oracle.verbose = 1 if verbose else 0
        # Run by close(), or when the strategy is garbage-collected, or at exit.
        self._finalizer = weakref.finalize(self, _release, self._oracle, tmp)
        self._to_trial: dict[int, str] = {}  # suggestion id -> keras-tuner trial id (pending)
        self._to_suggestion: dict[str, int] = {}  # keras-tuner trial id -> suggestion id
        self._bracket: dict[str, int] = {}  # keras-tuner trial id -> its bracket
        self._asks = 0
        self._stopped = False

    # ------------------------------------------------------------------ ask / tell

    def _params(self, values: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for name, param in self.space.items():
            if name not in values or not self.space.is_active(name, params):
                continue
            value = values[name]
            if isinstance(param, Float):
                params[name] = float(min(max(float(value), param.low), param.high))
            elif isinstance(param, Int):
                value = int(min(max(int(value), param.low), param.high))
                params[name] = value - (value - param.low) % param.step  # on its step
            else:
                assert isinstance(param, Choice)
                params[name] = param.options[int(value)]
        return params

    def _propose(self) -> Suggestion | None:
        with _quiet():
            trial = self._oracle.create_trial(f"tunebench-{self._asks}")
        if trial.status == "IDLE":
            return None
        if trial.status == "STOPPED" and self.hyperband_iterations is None:
            # Every bracket of the iteration is finished: start the next one, as a fresh
            # Hyperband iteration would (keras-tuner opens brackets of one iteration while
            # others wait, so an unbounded count would never let a round wait for results).
            self._oracle.hyperband_iterations += 1
            with _quiet():
                trial = self._oracle.create_trial(f"tunebench-{self._asks}")
        if trial.status != "RUNNING":  # STOPPED: every iteration is finished
            self.close()
            return None
        self._asks += 1
        values = dict(trial.hyperparameters.values)
        parent = values.get("tuner/trial_id")
        # keras-tuner labels a promotion with the bracket it is currently filling, not the
        # bracket of the trial it promotes: take the parent's.
        bracket = int(values["tuner/bracket"]) if parent is None else self._bracket[parent]
        suggestion = self._suggest(
            self._params(values),
            epochs=int(values["tuner/epochs"]),
            initial_epoch=int(values["tuner/initial_epoch"]),
            resume_from=None if parent is None else self._to_suggestion[parent],
            meta={
                "tuner/bracket": bracket,
                "tuner/round": int(values["tuner/round"]),
                "keras_tuner_trial_id": trial.trial_id,
            },
        )
        self._to_trial[suggestion.id] = trial.trial_id
        self._to_suggestion[trial.trial_id] = suggestion.id
        self._bracket[trial.trial_id] = bracket
        return suggestion

    def tell(self, suggestion: Suggestion, result: Result) -> None:
        trial_id = self._to_trial.pop(suggestion.id, None)
        if trial_id is None or self._stopped:
            return  # not pending here (told twice, or from another strategy)
        loss = result.loss if math.isfinite(result.loss) else _PENALTY
        with _quiet():
            self._oracle.update_trial(trial_id, {_OBJECTIVE: float(loss)})
            trial = self._oracle.get_trial(trial_id)
            trial.status = "COMPLETED"
            self._oracle.end_trial(trial)

    @property
    def done(self) -> bool:
        return self._stopped

    # ------------------------------------------------------------------ cleanup

    def close(self) -> None:
        """End the search now and remove the temporary directory (a user's ``directory`` stays).

        Called by itself once the oracle stops; afterwards the strategy is ``done``.
        """
        self._stopped = True
        self._finalizer()
