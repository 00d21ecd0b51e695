"""Objectives: what a trial evaluates. ``FunctionObjective`` wraps a Python function,
``KerasObjective`` builds, trains and scores a Keras model on a ``Task``.

An objective's ``max_epochs`` tells the runner how the budget is counted: an ``int`` means
trials are charged the epochs they train (at most that many each); ``None`` means one
evaluation costs one unit.

>>> objective = FunctionObjective(lambda x: (x - 1) ** 2)
>>> objective.evaluate(Suggestion(id=0, params={"x": 3.0})).loss
4.0
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import math
import sys
import time
import traceback
import types
import warnings
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .fast_training import (
    FastTrainer,
    fast_path_refusal,
    single_inter_op_thread,
    storage_of_own_shape,
)
from .jax_epoch import JaxEpoch
from .keras_state import (
    clear_keras_session,
    keras_seed,
    load_state,
    reset_keras_names,
    save_state,
    seeded_keras,
)
from .limits import TrialLimit, current_limit
from .private_api import keras_variables_of_any_shape, tensorflow_custom_gradients_forgotten
from .pruning import Pruned, TrialPruner, current_pruner, pruned_loss
from .signature import accepts, check_names, names_parameter
from .space import Choice, Int, Space, plain
from .strategy import Result, Suggestion, lost_trial
from .tasks import Task
from .warmup import WarmUp, check_warmup_epochs, warmup_callback

__all__ = ["FIT_PARAMS", "FunctionObjective", "KerasObjective", "Objective"]

#: Names in a suggestion's params that go to training rather than to ``build_model``:
#: the batch size, and ``warmup_epochs`` of linear learning-rate warm-up (``tunebench.warmup``).
FIT_PARAMS = frozenset({"batch_size", "warmup_epochs"})


@runtime_checkable
class Objective(Protocol):
    """Anything with ``evaluate(suggestion, state=None) -> Result`` and ``max_epochs``.

    An objective may also have ``check_space(space)``, which ``tune()`` calls before the first
    trial: it raises a ``ValueError`` when the space cannot fit (a name the code does not take);
    and ``fixed_epochs(suggestion) -> int | None``, the epoch a trial trains up to when the
    objective sets it itself: the runner never clips such a trial, it starts it only when the
    budget has all its epochs (``TuneSearchCV``: an estimator's own ``epochs``).
    """

    max_epochs: int | None

    def evaluate(self, suggestion: Suggestion, state: dict[str, Any] | None = None) -> Result: ...


def describe_error(exc: BaseException) -> str:
    """``Type: message`` followed by the traceback, as stored with a failed trial."""
    head = f"{type(exc).__name__}: {exc}"
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-8))
    return f"{head}\n{tb}"


def callable_identity(fn: Callable, key: str) -> dict[str, Any]:
    """``{key: qualname, key_module: module, key_code: fingerprint}``: what tells a stored
    study's function from another when resuming (``tunebench.store.objective_differences``).

    The fingerprint hashes the bytecode, constants and names (not the line numbers, not
    anything that changes between processes), prefixed with the Python version that made it,
    so an edited function or another lambda of the same name is told apart.

    >>> a, b = (lambda x: x + 1), (lambda x: x + 2)
    >>> identity = callable_identity(a, "fn")
    >>> identity["fn"], identity["fn_module"]
    ('<lambda>', 'tunebench.objective')
    >>> identity == callable_identity(a, "fn") != callable_identity(b, "fn")
    True
    >>> import functools  # a partial is its function and the arguments bound to it
    >>> one, two = functools.partial(a, x=1), functools.partial(a, x=2)
    >>> callable_identity(one, "fn") != callable_identity(two, "fn")
    True
    """
    bound = ""
    while isinstance(fn, functools.partial):  # the function, and the arguments bound to it
        bound = _stable_repr((fn.args, sorted(fn.keywords.items()))) + bound
        fn = fn.func
    code = getattr(fn, "__code__", None)
    if code is None and not isinstance(fn, type):  # a callable object: its class's __call__
        call = next((vars(k)["__call__"] for k in type(fn).__mro__ if "__call__" in vars(k)), None)
        code = getattr(call, "__code__", None)
    identity = {
        key: getattr(fn, "__qualname__", type(fn).__qualname__),
        f"{key}_module": getattr(fn, "__module__", type(fn).__module__),
    }
    if code is not None or bound:
        digest = hashlib.sha256(bound.encode())
        if code is not None:
            _feed_code(digest, code)
        version = f"py{sys.version_info.major}.{sys.version_info.minor}"
        identity[f"{key}_code"] = f"{version}:{digest.hexdigest()[:16]}"
    return identity


def _feed_code(digest: Any, code: types.CodeType) -> None:
    digest.update(code.co_code)
    digest.update(repr((code.co_names, code.co_varnames, code.co_freevars)).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _feed_code(digest, const)
        else:
            digest.update(_stable_repr(const).encode())


def _stable_repr(value: Any) -> str:
    """``repr`` with sets sorted (their order follows the per-process string hash)."""
    if isinstance(value, (frozenset, set)):
        return "{" + ", ".join(sorted(_stable_repr(v) for v in value)) + "}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_stable_repr(v) for v in value) + ")"
    return repr(value)


def _describe_callable(fn: Callable) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__name__


def _positive_int(name: str, value: Any) -> int:
    """``value`` as a plain ``int`` >= 1 (numpy integers too), or a ``ValueError`` naming it."""
    value = plain(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _loss_of(value: Any) -> float:
    """An objective's return value as a loss, or a ``TypeError`` saying what was returned.

    ``True`` and ``"0.5"`` are refused: neither is a number, though ``float()`` takes both.
    """
    if isinstance(value, (bool, np.bool_, str, bytes)) or not hasattr(type(value), "__float__"):
        raise TypeError(
            f"the objective must return a number (the loss to minimise) or a tunebench Result, "
            f"got {value!r} ({type(value).__name__})"
        )
    return float(value)


class FunctionObjective:
    """Wrap ``fn(**params) -> float`` (the loss to minimise) as an objective.

    If ``fn`` also takes ``epochs`` it is treated as a fidelity objective: it receives the
    suggestion's ``epochs`` and each call is charged the new epochs (``max_epochs`` is then the
    per-trial limit, default 100); a call that raises is charged the epochs it was asked to
    train, since how many it trained is unknown. Otherwise one call costs one unit of budget.
    A fidelity function that also names ``initial_epoch`` gets the epoch its trial continues
    from (0 for a fresh one), e.g. to return ``Result(..., epochs_run=epochs - initial_epoch)``.
    The training length is then the runner's to set, so a space with a parameter named ``epochs`` is
    refused: name it otherwise (``n_epochs``), train ``min(n_epochs, epochs)`` and return
    ``Result(loss=..., epochs_run=...)`` to be charged what was trained.

    A function that names ``report`` gets ``report(epoch, loss)`` to call after each epoch
    (``epoch`` counted from the start of training: ``initial_epoch + 1``, then one more each
    call; from 1 for a function that does not name ``initial_epoch``, which trains a continued
    trial from scratch: its curve keeps the epochs after ``initial_epoch``). The losses are
    the trial's curve, and what a pruner (``tune(pruner=...)``) decides from: when the trial
    is pruned, ``report`` raises ``tunebench.pruning.Pruned`` — let it
    propagate — and the trial is ``pruned``, charged the epochs it reported.

    >>> FunctionObjective(lambda epochs, x: x / epochs).max_epochs
    100
    >>> def trained(x, epochs, report):
    ...     for epoch in range(1, epochs + 1):
    ...         report(epoch, x / epoch)
    ...     return x / epochs
    >>> FunctionObjective(trained).evaluate(Suggestion(id=0, params={"x": 1.0}, epochs=4)).curve
    (1.0, 0.5, 0.3333333333333333, 0.25)
    """

    def __init__(self, fn: Callable[..., float], *, max_epochs: int | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"FunctionObjective needs a callable, got {fn!r}")
        self.fn = fn
        self.takes_epochs = names_parameter(fn, "epochs")
        self.takes_initial_epoch = self.takes_epochs and names_parameter(fn, "initial_epoch")
        self.takes_report = names_parameter(fn, "report")
        if self.takes_epochs and max_epochs is None:
            max_epochs = 100
        self.max_epochs = None if max_epochs is None else _positive_int("max_epochs", max_epochs)

    def _epochs_conflict(self) -> str:
        name = _describe_callable(self.fn)
        return (
            f"the space has a parameter named 'epochs', but {name} takes epochs as the training "
            "length the runner sets (and charges to the budget), so the searched value would "
            "be replaced: rename the space's parameter (e.g. n_epochs), train "
            "min(n_epochs, epochs) and return tunebench.Result(loss=..., epochs_run=...)"
        )

    def check_space(self, space: Space) -> None:
        """Refuse, before any trial, a space ``fn`` cannot be called with."""
        if self.takes_epochs and "epochs" in space:
            raise ValueError(self._epochs_conflict())
        provided = ("epochs", "initial_epoch")[: self.takes_epochs + self.takes_initial_epoch]
        what = f"the function {_describe_callable(self.fn)}"
        if self.takes_report:
            if "report" in space:
                raise ValueError(
                    f"the space has a parameter named 'report', but {what} takes report as "
                    "the callable that reports its intermediate losses: rename the parameter"
                )
            provided = (*provided, "report")
        check_names(space, self.fn, what, provided=provided, conditional=_conditional(space))

    def evaluate(self, suggestion: Suggestion, state: dict[str, Any] | None = None) -> Result:
        start = time.perf_counter()
        kwargs = dict(suggestion.params)
        cost = 1
        if self.takes_epochs and "epochs" in kwargs:
            return Result.failure(f"ValueError: {self._epochs_conflict()}")
        if self.takes_epochs:
            epochs = suggestion.epochs if suggestion.epochs is not None else self.max_epochs
            kwargs["epochs"] = epochs
            if self.takes_initial_epoch:
                kwargs["initial_epoch"] = suggestion.initial_epoch
            cost = epochs - suggestion.initial_epoch
        curve: list[float] = []
        if self.takes_report:
            # A function that is not told initial_epoch trains (and reports) from epoch 1.
            first = suggestion.initial_epoch if self.takes_initial_epoch else 0
            kwargs["report"] = _Reporter(first, suggestion.initial_epoch, curve)
        try:
            value = self.fn(**kwargs)
        except Pruned as pruned:  # charged the epochs it reported
            return Result(
                loss=pruned_loss(curve),
                status="pruned",
                epochs_run=(pruned.epoch - suggestion.initial_epoch) if self.takes_epochs else 1,
                seconds=time.perf_counter() - start,
                curve=tuple(curve),
            )
        except Exception as exc:  # how much it trained is unknown: charged what it was asked
            if not self.takes_epochs:
                return Result.failure(describe_error(exc), seconds=time.perf_counter() - start)
            asked = dataclasses.replace(suggestion, epochs=suggestion.initial_epoch + cost)
            return lost_trial(asked, describe_error(exc), seconds=time.perf_counter() - start)
        if isinstance(value, Result):
            return (
                value
                if value.curve or not curve
                else dataclasses.replace(value, curve=tuple(curve))
            )
        try:
            loss = _loss_of(value)
        except (TypeError, ValueError) as exc:  # it ran (and trained) all the same
            return Result.failure(
                f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - start, epochs_run=cost
            )
        return Result(
            loss=loss, epochs_run=cost, seconds=time.perf_counter() - start, curve=tuple(curve)
        )

    @property
    def reports_intermediate(self) -> bool:
        """Whether trials report a loss after each epoch (the function names ``report``)."""
        return self.takes_report

    def describe(self) -> dict[str, Any]:
        return {
            "type": "function",
            **callable_identity(self.fn, "fn"),
            "max_epochs": self.max_epochs,
        }


class _Reporter:
    """The ``report(epoch, loss)`` a function objective is given: the trial's curve, and the
    pruner's decision after each epoch (``Pruned`` raised when it stops the trial)."""

    def __init__(self, first: int, initial_epoch: int, curve: list[float]) -> None:
        self.next_epoch = first + 1  # reports come one by one from here
        self.initial_epoch = initial_epoch  # the curve holds the epochs after this one
        self.curve = curve
        self.pruner = current_pruner()

    def __call__(self, epoch: int, loss: float) -> None:
        expected = self.next_epoch
        epoch = plain(epoch)
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch != expected:
            raise ValueError(
                f"report(epoch, loss) takes the epochs one by one, counted from the start of "
                f"training: expected epoch {expected}, got {epoch!r}"
            )
        value = _loss_of(loss)
        self.next_epoch += 1
        if epoch <= self.initial_epoch:
            return  # retrained by a function that does not continue its trial
        self.curve.append(value)
        if self.pruner is not None and self.pruner.should_prune(epoch, value):
            raise Pruned(epoch)


class _EpochMonitor:
    """Early stopping on validation loss with best-weights restore, and a NaN stop."""

    def __init__(
        self,
        patience: int,
        min_delta: float,
        limit: TrialLimit | None = None,
        pruner: TrialPruner | None = None,
        initial_epoch: int = 0,
    ) -> None:
        self.patience = patience
        self.min_delta = min_delta
        self.limit = limit
        self.pruner = pruner
        self.initial_epoch = initial_epoch
        self.pruned = False
        self.curve: list[float] = []
        self.train_curve: list[float] = []
        self.best = math.inf
        self.best_weights: list[np.ndarray] | None = None
        self.diverged = False
        self.stopped_by: TrialLimit | None = None  # the time limit that ended training
        self._wait = 0

    def update(self, model: Any, train_loss: float, val_loss: float) -> bool:
        """Record one epoch; return True when training should stop."""
        self.curve.append(val_loss)
        self.train_curve.append(float(train_loss))
        if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
            self.diverged = True
            return True
        if val_loss < self.best - self.min_delta:
            self.best = val_loss
            self.best_weights = model.get_weights()
            self._wait = 0
        else:
            self._wait += 1
            if self._wait >= self.patience:
                return True
        if self.limit is not None and self.limit.expired():
            self.stopped_by = self.limit
            return True
        epoch = self.initial_epoch + len(self.curve)
        if self.pruner is not None and self.pruner.should_prune(epoch, val_loss):
            self.pruned = True
            return True
        return False


def _outcome(
    model: Any,
    monitor: _EpochMonitor,
    test_loss: Callable[[], float],
    start: float,
    test_metrics: Callable[[], dict[str, float]] = dict,
) -> Result:
    """The result of a trained model: its best weights restored, scored (the test loss and
    ``test_metrics``), its state kept."""
    epochs_run = len(monitor.curve)
    if monitor.stopped_by is not None:
        return Result.failure(
            f"{monitor.stopped_by.reason}; stopped after {epochs_run} epochs",
            seconds=time.perf_counter() - start,
            epochs_run=epochs_run,
        )
    # What every trained outcome carries: the epochs it trained and their curves.
    trained = {
        "epochs_run": epochs_run,
        "curve": tuple(monitor.curve),
        "train_curve": tuple(monitor.train_curve),
    }
    if monitor.pruned:
        return Result(
            loss=monitor.best, status="pruned", seconds=time.perf_counter() - start, **trained
        )
    if monitor.best_weights is not None:
        model.set_weights(monitor.best_weights)
    if monitor.diverged or monitor.best_weights is None:
        return Result(
            loss=math.inf,
            status="diverged",
            seconds=time.perf_counter() - start,
            error="the training or validation loss became NaN or infinite",
            **trained,
        )
    return Result(
        loss=monitor.best,
        test_loss=test_loss(),
        metrics=test_metrics(),
        seconds=time.perf_counter() - start,
        state=save_state(model),
        **trained,
    )


def _predict(model: Any, X: np.ndarray) -> np.ndarray:
    """The model's outputs on ``X`` (inference mode), in chunks of 65,536 rows, as numpy."""
    chunk = 65_536
    parts = [np.asarray(model(X[i : i + chunk], training=False)) for i in range(0, len(X), chunk)]
    return np.concatenate(parts)


def _check_test_metrics(test_metrics: Any) -> dict[str, Callable[[Any, Any], float]]:
    """``test_metrics`` as a dict of names to callables, or a ``TypeError`` naming the bad one."""
    if test_metrics is None:
        return {}
    if not isinstance(test_metrics, dict):
        raise TypeError(
            "test_metrics must be a dict of names to functions fn(y_true, y_pred) -> float, "
            f"e.g. {{'accuracy': tunebench.tasks.accuracy}}, got {test_metrics!r}"
        )
    for name, fn in test_metrics.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"test_metrics names must be identifiers, got {name!r}")
        if not callable(fn):
            raise TypeError(f"test_metrics[{name!r}] must be a function, got {fn!r}")
    return dict(test_metrics)


def _conditional(space: Space) -> list[str]:
    """The names of ``space`` that a condition may leave out of a trial."""
    return [name for name, param in space.items() if param.when]


def _integers_from(param: Any, least: int) -> bool:
    """Whether every value of a space's parameter is an integer >= ``least``."""
    if isinstance(param, Int):
        return param.low >= least
    if isinstance(param, Choice):
        return all(type(v) is int and v >= least for v in param.options)
    return False


def check_batch_size(value: Any) -> int:
    """``value`` as a plain ``int`` >= 1, or a ``ValueError`` that names it.

    >>> check_batch_size(0)
    Traceback (most recent call last):
    ...
    ValueError: batch_size must be a positive integer, got 0
    """
    return _positive_int("batch_size", value)


class KerasObjective:
    """Build a Keras model from the params, train it on a ``Task``, score it.

    ``build_model(**params)`` returns a compiled model — the book's ``build_model`` works
    unchanged; ``input_shape`` is passed when the builder takes it and the space does not set
    it. Fit-time names in the params go to training, not to the builder: ``batch_size``, and
    ``warmup_epochs`` (the rate ramps linearly up to the builder's over that many epochs).
    Training runs up to the suggestion's ``epochs`` (at most ``max_epochs``) with early stopping
    on validation loss (``patience`` epochs, best weights restored) and stops as ``diverged`` on
    a NaN / inf loss. The result carries the best validation loss (used for selection), the
    test loss of the restored model (reported only), the per-epoch validation curve, and the
    weights and optimizer state so that a multi-fidelity strategy can continue the trial.
    ``test_metrics`` (``{"accuracy": tunebench.tasks.accuracy}``: module-level functions
    ``fn(y_true, y_pred) -> float`` of the test labels and the model's outputs) are computed on
    the test split of the restored model of each successful trial, into ``Result.metrics``:
    reported, never used to select.
    Under a time limit (``tune(trial_timeout=...)``, or the end of a ``Budget(seconds=...)``)
    training stops between epochs and the trial is ``failed`` with the reason, charged the
    epochs it trained (``tunebench.limits``). Under a pruner (``tune(pruner=...)``) the
    validation loss after each epoch is reported to it, on the fast path and through ``fit``
    alike; a trial it stops is ``pruned``, with its curve, charged the epochs it trained.

    By default training takes the fast path (``tunebench.fast_training``: one compiled
    function a whole epoch, the model's own loss and optimizer, batches shuffled per epoch
    from the trial's seed). Models it cannot take (a custom ``train_step``, several inputs)
    fall back to ``model.fit`` with a one-line notice; ``fast=False`` always uses ``fit``.

    >>> from tunebench.models import build_mlp
    >>> from tunebench.tasks import synthetic_regression
    >>> objective = KerasObjective(build_mlp, synthetic_regression(), max_epochs=5)
    >>> result = objective.evaluate(Suggestion(id=0, params={"n_hidden": 1}, seed=0))
    >>> result.status, result.epochs_run, result.loss < 2
    ('ok', 5, True)
    """

    def __init__(
        self,
        build_model: Callable[..., Any],
        task: Task,
        *,
        max_epochs: int = 100,
        patience: int = 10,
        min_delta: float = 0.0,
        batch_size: int = 32,
        fast: bool = True,
        verbose: int = 0,
        test_metrics: dict[str, Callable[[Any, Any], float]] | None = None,
    ) -> None:
        if not callable(build_model):
            raise TypeError(f"build_model must be callable, got {build_model!r}")
        if not isinstance(task, Task):
            raise TypeError(f"task must be a tunebench Task, got {type(task).__name__}")
        max_epochs = _positive_int("max_epochs", max_epochs)
        patience = _positive_int("patience", patience)
        batch_size = check_batch_size(batch_size)
        self.build_model = build_model
        self.task = task
        self.max_epochs = max_epochs
        self.patience = patience
        self.min_delta = float(min_delta)
        self.batch_size = batch_size
        self.verbose = verbose
        self.fast = bool(fast)
        self.test_metrics = _check_test_metrics(test_metrics)
        self._fallback_noticed = False
        self._trainer = FastTrainer(task.X_train, task.y_train)
        self._takes_input_shape = accepts(build_model, "input_shape")

    #: Every trial reports its validation loss after each epoch (to a pruner, when one runs).
    reports_intermediate = True

    def describe(self) -> dict[str, Any]:
        described = {
            "type": "keras",
            **callable_identity(self.build_model, "build_model"),
            "task": self.task.describe(),
            "max_epochs": self.max_epochs,
            "patience": self.patience,
            "batch_size": self.batch_size,
            "fast": self.fast,
        }
        if self.test_metrics:  # only then: a study stored before test metrics still resumes
            described["test_metrics"] = {
                name: callable_identity(fn, "fn") for name, fn in self.test_metrics.items()
            }
        return described

    def _test_metrics(self, model: Any) -> dict[str, float]:
        """``test_metrics`` of ``model`` on the test split, as plain floats."""
        if not self.test_metrics:
            return {}
        y_pred = _predict(model, self.task.X_test)
        values = {}
        for name, fn in self.test_metrics.items():
            try:
                values[name] = _loss_of(fn(self.task.y_test, y_pred))
            except Exception as exc:
                raise ValueError(
                    f"the test metric {name!r} ({_describe_callable(fn)}) raised "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
        return values

    def check_space(self, space: Space) -> None:
        """Refuse, before any trial, a space whose names ``build_model`` does not take (the
        fit-time names aside) or whose ``batch_size`` / ``warmup_epochs`` can be invalid."""
        provided = ("input_shape",) if self._takes_input_shape else ()
        what = f"the builder {_describe_callable(self.build_model)}"
        if "epochs" in space and not names_parameter(self.build_model, "epochs"):
            raise ValueError(
                f"the space has a parameter named 'epochs', which {what} does not name: each "
                f"trial trains up to the runner's epochs (at most max_epochs={self.max_epochs}, "
                "with early stopping), so a searched value would be ignored. Leave it out and "
                "set KerasObjective(max_epochs=...), or let strategy='hyperband' choose "
                "training lengths"
            )
        check_names(
            space,
            self.build_model,
            what,
            also_accepted=sorted(FIT_PARAMS),
            provided=provided,
            conditional=_conditional(space),
        )
        for name, least, example in (
            ("batch_size", 1, "Int(16, 256, log=True) or [32, 64, 128]"),
            ("warmup_epochs", 0, "Int(0, 5) or [0, 5]"),
        ):
            if name in space and not _integers_from(space[name], least):
                raise ValueError(
                    f"{name} in the space must take only integers >= {least}, got "
                    f"{space[name]!r}; write e.g. {example}"
                )

    def _split_params(self, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        build = {k: v for k, v in params.items() if k not in FIT_PARAMS}
        fit = {k: v for k, v in params.items() if k in FIT_PARAMS}
        if self._takes_input_shape and "input_shape" not in build:
            build["input_shape"] = self.task.input_shape
        return build, fit

    def evaluate(self, suggestion: Suggestion, state: dict[str, Any] | None = None) -> Result:
        start = time.perf_counter()
        import keras

        if self.fast:
            single_inter_op_thread()  # before TensorFlow starts, if it has not yet
        reset_keras_names()
        epochs = self.max_epochs if suggestion.epochs is None else suggestion.epochs
        epochs = min(epochs, self.max_epochs)
        build_kwargs, fit_kwargs = self._split_params(suggestion.params)
        monitor = _EpochMonitor(
            self.patience,
            self.min_delta,
            current_limit(),
            current_pruner(),
            suggestion.initial_epoch,
        )
        try:
            batch_size = check_batch_size(fit_kwargs.get("batch_size", self.batch_size))
            warmup_epochs = check_warmup_epochs(fit_kwargs.get("warmup_epochs", 0))
            with seeded_keras(suggestion.seed):
                # On the fast path the variables live in storage of unknown shape, so that a
                # new architecture meets no new variable shape; fit gets ``made`` back in
                # storage of their own shapes (below).
                made: list[Any] = []
                with keras_variables_of_any_shape(made) if self.fast else contextlib.nullcontext():
                    model = self.build_model(**build_kwargs)
                if getattr(model, "optimizer", None) is None or not getattr(
                    model, "compiled", True
                ):
                    raise TypeError(
                        "build_model must return a compiled Keras model; call "
                        "model.compile(loss=..., optimizer=...) before returning it"
                    )
                if self._use_fast_path(model):
                    compiled = self._trainer.prepare(model, batch_size)  # model trains in it
                    warm_up = WarmUp(model.optimizer, warmup_epochs)  # the builder's rate
                    if state is not None:
                        load_state(model, state, keep_learning_rate=True)
                    rng = np.random.default_rng(suggestion.seed)
                    # Where the weights are between epochs (the JAX epoch holds them until
                    # its sync): early stopping copies the best of them from there.
                    holder = compiled if isinstance(compiled, JaxEpoch) else model
                    for epoch in range(suggestion.initial_epoch, epochs):
                        warm_up.begin_epoch(epoch)
                        train_loss = self._trainer.train_epoch(compiled, rng)
                        val_loss = FastTrainer.loss(compiled, self.task.X_valid, self.task.y_valid)
                        if monitor.update(holder, train_loss, val_loss):
                            break
                    compiled.sync()  # the JAX epoch's values back into the model
                    warm_up.finish()

                    def test_loss() -> float:
                        return FastTrainer.loss(compiled, self.task.X_test, self.task.y_test)
                else:
                    storage_of_own_shape(made)  # fit traces its steps over them
                    if state is not None:
                        load_state(model, state, keep_learning_rate=True)
                    # Each fit traces new functions: drop the kernels of earlier trials'. (Not on
                    # the fast path, whose cached functions would pay ~80 ms to reload them.)
                    clear_keras_session()
                    if suggestion.seed is not None:  # fit also shuffles from TensorFlow's seed
                        keras.utils.set_random_seed(keras_seed(suggestion.seed))
                    callbacks = [warmup_callback(warmup_epochs)] if warmup_epochs else []
                    self._fit(
                        model, monitor, suggestion.initial_epoch, epochs, batch_size, callbacks
                    )

                    def test_loss() -> float:
                        X, y = self.task.X_test, self.task.y_test
                        return float(model.evaluate(X, y, batch_size=2048, verbose=0))

            # Inside the error handling too: a failure while scoring the restored model or
            # saving its state still charges the epochs trained.
            return _outcome(model, monitor, test_loss, start, lambda: self._test_metrics(model))
        except Exception as exc:
            return Result.failure(
                describe_error(exc),
                seconds=time.perf_counter() - start,
                epochs_run=len(monitor.curve),
            )

    def _use_fast_path(self, model: Any) -> bool:
        """Whether this model trains through the fast path; says once why not."""
        if not self.fast:
            return False
        refusal = fast_path_refusal(model)
        if refusal is not None and not self._fallback_noticed:
            self._fallback_noticed = True
            warnings.warn(
                f"tunebench: {refusal}, so trials train with model.fit (slower); "
                "pass fast=False to KerasObjective to silence this",
                stacklevel=3,
            )
        return refusal is None

    def _fit(
        self,
        model: Any,
        monitor: _EpochMonitor,
        initial_epoch: int,
        epochs: int,
        batch_size: int,
        callbacks: list[Any],
    ) -> None:
        """The reference path: ``model.fit`` with the monitor (and ``callbacks``) as callbacks."""
        import keras

        class _Stop(keras.callbacks.Callback):
            def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
                logs = logs or {}
                train = float(logs.get("loss", math.nan))
                val = float(logs.get("val_loss", math.nan))
                if monitor.update(self.model, train, val):
                    self.model.stop_training = True

        task = self.task
        # fit's traced training step is never differentiated: its custom gradient can go
        with tensorflow_custom_gradients_forgotten():
            model.fit(
                task.X_train,
                task.y_train,
                batch_size=batch_size,
                epochs=epochs,
                initial_epoch=initial_epoch,
                validation_data=(task.X_valid, task.y_valid),
                callbacks=[*callbacks, _Stop()],
                verbose=self.verbose,
            )
