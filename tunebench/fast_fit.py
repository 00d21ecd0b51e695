"""``model.fit`` through the fast path, for one Keras model: how ``TuneSearchCV`` trains the
model a scikeras wrapper builds.

``fit(model, x, y, ...)`` takes ``keras.Model.fit``'s arguments and returns its
``keras.callbacks.History`` (``loss``, and ``val_loss`` with ``validation_data``), but trains
each epoch as one compiled function (``tunebench.fast_training.FastTrainer``) and drives the
callbacks at the epoch level through a ``keras.callbacks.CallbackList``: ``on_train_begin``,
``on_epoch_begin``, ``on_epoch_end(logs)``, ``on_train_end``, with ``model.stop_training``
honoured, so ``EarlyStopping`` (``restore_best_weights`` too), ``ReduceLROnPlateau``,
``LearningRateScheduler`` and ``tunebench.warmup`` work as under ``fit``. ``verbose`` prints
one finished progress bar an epoch (no bar that fills during the epoch).

It trains with the model's own loss and optimizer, the same updates ``fit`` makes: on one
batch of all rows the same weights to float precision, epoch for epoch. Minibatches come in
another (seeded) order than ``fit``'s, so there the two agree in distribution, not digit for
digit. The shuffle's generator is a private ``numpy.random.Generator`` seeded from
TensorFlow's global seed, which also seeds ``fit``'s shuffle: under
``keras.utils.set_random_seed`` or a scikeras ``random_state`` the same fit gives the same
model.

Whatever it cannot do exactly goes to the real ``model.fit`` (``fast_fit_refusal`` says why):
a model ``fast_path_refusal`` refuses or ``clone_model`` cannot copy (a subclassed model),
compiled metrics besides the loss, ``sample_weight``, ``class_weight``, ``validation_split``,
``steps_per_epoch``, ``validation_steps``, ``validation_freq`` other than 1,
``shuffle="batch"``, inputs other than numpy arrays (datasets, generators, lists, dicts),
validation data with sample weights, callbacks not in a list (a ``CallbackList``), and a
callback with batch-level or evaluation hooks (``TerminateOnNaN``, ``ModelCheckpoint``,
``TensorBoard``, ``BackupAndRestore``, a ``LambdaCallback`` or your own callback with
``on_train_batch_end``...), which only ``fit`` calls.

Models of one architecture share a compiled epoch (``FastTrainer``'s cache, kept here for
the last few training sets: a search's folds and its refit). What trains in it is a copy of
the model's architecture (``keras.models.clone_model``), into which the model's values go
before each epoch and out of which they come after it: the model keeps its own variables,
so a fitted model is never changed by a later fit, and its optimizer goes on working with
``fit``. A model Keras cannot copy (a subclassed one) trains with ``fit``. Fits in one
process take turns (a lock): threads would share that storage.
"""

from __future__ import annotations

import math
import numbers
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

__all__ = ["fast_fit_refusal", "fit", "fit_through_fast_path"]

#: The callback hooks only ``fit`` calls (each training step, and the validation pass).
_FIT_ONLY_HOOKS = (
    "on_batch_begin",
    "on_batch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_begin",
    "on_test_end",
    "on_test_batch_begin",
    "on_test_batch_end",
)
#: The arguments of ``fit`` the fast path takes only at these values (the others: any value).
_NEUTRAL = {
    "validation_split": (0, 0.0, None),
    "class_weight": (None,),
    "sample_weight": (None,),
    "steps_per_epoch": (None,),
    "validation_steps": (None,),
    "validation_freq": (1,),
}
_ARGUMENTS = frozenset(
    {"x", "y", "batch_size", "epochs", "verbose", "callbacks", "validation_data", "shuffle",
     "initial_epoch", "validation_batch_size", *_NEUTRAL}
)  # fmt: skip

_TRAINERS_KEPT = 8  # training sets whose compiled epochs are kept (folds, refit, ...)
_trainers: OrderedDict[str, Any] = OrderedDict()
_lock = threading.RLock()


def _hooks_only_fit_calls(callback: Any) -> list[str]:
    """The batch-level and evaluation hooks ``callback`` has: its class's own methods, or
    functions set on it (``LambdaCallback(on_train_batch_end=...)``)."""
    import keras

    base = keras.callbacks.Callback
    return [
        name
        for name in _FIT_ONLY_HOOKS
        if getattr(getattr(callback, name), "__func__", None) is not getattr(base, name)
    ]


def fast_fit_refusal(model: Any, arguments: dict[str, Any]) -> str | None:
    """Why ``fit(model, **arguments)`` goes to ``model.fit`` (None: the fast path trains it).

    >>> import keras
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(loss="mse", optimizer="sgd")
    >>> fast_fit_refusal(model, {"x": np.zeros((4, 2)), "y": np.zeros(4)}) is None
    True
    >>> fast_fit_refusal(model, {"x": np.zeros((4, 2)), "y": np.zeros(4),
    ...                          "sample_weight": np.ones(4)})
    'sample_weight is given'
    """
    import keras

    from .fast_training import fast_path_refusal

    unknown = sorted(set(arguments) - _ARGUMENTS)
    if unknown:
        return f"fit got {', '.join(unknown)}"
    for name, neutral in _NEUTRAL.items():
        value = arguments.get(name, neutral[0])
        if not any(value is v or (type(value) is type(v) and value == v) for v in neutral):
            return f"{name} is given"
    if keras.backend.backend() != "tensorflow":
        return f"the Keras backend is {keras.backend.backend()}"
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        return "the model is not compiled"
    refusal = fast_path_refusal(model)
    if refusal is not None:
        return refusal
    outputs = getattr(model, "outputs", None)
    if outputs is not None and len(outputs) != 1:
        return f"the model has {len(outputs)} outputs"
    try:
        config = model.get_compile_config() or {}
    except Exception:  # a compiled object that cannot be serialised: its metrics are unknown
        return "the model's compile config cannot be read"
    if config.get("metrics") or config.get("weighted_metrics"):
        return "the model was compiled with metrics besides the loss"
    x, y = arguments.get("x"), arguments.get("y")
    if not isinstance(x, np.ndarray) or not isinstance(y, np.ndarray):
        return "x and y are not both numpy arrays"
    if x.ndim < 2 or len(x) != len(y) or len(x) == 0:
        return f"x of shape {x.shape} and y of shape {y.shape}"
    validation = arguments.get("validation_data")
    if validation is not None and not (
        isinstance(validation, (tuple, list))
        and len(validation) == 2
        and all(isinstance(a, np.ndarray) for a in validation)
    ):
        return "validation_data is not a pair of numpy arrays"
    if not isinstance(arguments.get("shuffle", True), bool):
        return f"shuffle={arguments['shuffle']!r}"
    for name in ("batch_size", "epochs", "initial_epoch"):
        value = arguments.get(name)
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, numbers.Integral)
            or value < (1 if name == "batch_size" else 0)
        ):
            return f"{name}={value!r}"
    callbacks = arguments.get("callbacks")
    if callbacks is not None and not isinstance(callbacks, (list, tuple)):
        return f"callbacks is a {type(callbacks).__name__}, not a list"
    for callback in callbacks or []:
        hooks = _hooks_only_fit_calls(callback)
        if hooks:
            return f"the callback {type(callback).__name__} has {', '.join(hooks)}"
    return None


def _floatx(array: np.ndarray) -> np.ndarray:
    """As ``fit`` takes an array: floats in Keras's float type."""
    import keras

    if np.issubdtype(array.dtype, np.floating) and array.dtype != keras.backend.floatx():
        return array.astype(keras.backend.floatx())
    return array


def _trainer(x: np.ndarray, y: np.ndarray) -> Any:
    """The ``FastTrainer`` of this training set (kept for the last few sets)."""
    import joblib

    from .fast_training import FastTrainer

    key = joblib.hash((x, y))
    trainer = _trainers.get(key)
    if trainer is None:
        trainer = _trainers[key] = FastTrainer(x, y)
        while len(_trainers) > _TRAINERS_KEPT:
            _trainers.popitem(last=False)
    _trainers.move_to_end(key)
    return trainer


def _shuffle_seed() -> int:
    """A seed drawn from TensorFlow's global random state, as ``fit``'s shuffle is."""
    import tensorflow as tf

    return int(tf.random.uniform((), maxval=2**31 - 1, dtype=tf.int64))


def fit(model: Any, *args: Any, **kwargs: Any) -> Any:
    """``model.fit(*args, **kwargs)``, through the fast path when it can be exact (see the
    module's docstring); ``type(model).fit`` otherwise. Returns the ``History``."""
    import inspect

    import keras

    real_fit = type(model).fit
    try:
        arguments = inspect.signature(keras.Model.fit).bind(model, *args, **kwargs).arguments
    except TypeError:
        return real_fit(model, *args, **kwargs)  # let fit say what is wrong
    arguments.pop("self", None)
    arguments.update(arguments.pop("kwargs", {}))
    if fast_fit_refusal(model, arguments) is not None:
        return real_fit(model, *args, **kwargs)
    return _fast_fit(model, **arguments)


def _template(model: Any) -> Any | None:
    """A copy of ``model``'s architecture (``clone_model``) compiled with its loss and a
    new optimizer of its optimizer's config, to train in the fast path's shared storage; None
    when Keras cannot copy it (a subclassed model). Its optimizer is left unbuilt, so that
    ``FastTrainer`` can share one trace among the models of any widths."""
    import keras

    optimizer = model.optimizer
    try:
        template = keras.models.clone_model(model)
        template.compile(
            optimizer=type(optimizer).from_config(optimizer.get_config()),
            loss=model.loss,
            loss_weights=(model.get_compile_config() or {}).get("loss_weights"),
        )
    except Exception:
        return None
    return template


def _copy(source: list[Any], target: list[Any]) -> None:
    for a, b in zip(source, target, strict=True):
        b.assign(a)


def _fast_fit(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int | None = None,
    epochs: int = 1,
    verbose: Any = "auto",
    callbacks: Any = None,
    validation_data: Any = None,
    shuffle: bool = True,
    initial_epoch: int = 0,
    **_neutral: Any,
) -> Any:
    """The fast path: ``model``'s values (its optimizer's too) go into a template trained
    through a compiled epoch, and back into ``model`` after each epoch, before its callbacks
    see it; whatever the callbacks change (weights, learning rate) goes back in before the
    next. ``model`` itself keeps its own variables."""
    import keras

    from .fast_training import FastTrainer

    template = _template(model)  # its optimizer unbuilt: FastTrainer shares its trace
    if template is None:
        return type(model).fit(model, x, y, batch_size=batch_size, epochs=epochs,
                               verbose=verbose, callbacks=callbacks,
                               validation_data=validation_data, shuffle=shuffle,
                               initial_epoch=initial_epoch, **_neutral)  # fmt: skip
    most = keras.config.max_epochs()
    if most and most < epochs:
        warnings.warn(f"Limiting epochs to {most}", stacklevel=3)
        epochs = most
    x, y = _floatx(x), _floatx(y)
    epochs, initial_epoch = int(epochs), int(initial_epoch)
    batch_size = min(int(batch_size or 32), len(x))  # fit's default; at most all the rows
    callback_list = keras.callbacks.CallbackList(
        callbacks,
        add_history=True,
        add_progbar=verbose != 0,
        verbose=verbose,
        epochs=epochs,
        steps=math.ceil(len(x) / batch_size),
        model=model,
    )
    history = next(c for c in callback_list.callbacks if isinstance(c, keras.callbacks.History))
    rng = np.random.default_rng(_shuffle_seed())
    model.optimizer.build(model.trainable_variables)  # as fit does; nothing when built
    with _lock:  # the template's storage is shared by every model of its architecture
        trainer = _trainer(x, y)
        compiled = trainer.prepare(template, batch_size)
        ours = [*model.variables, *model.optimizer.variables]
        theirs = [*template.variables, *template.optimizer.variables]
        if len(ours) != len(theirs):  # clone_model made another model
            raise RuntimeError(
                f"tunebench's fast fit copied a model of {len(ours)} variables into one of "
                f"{len(theirs)}; please report it (a batch-level callback keeps model.fit)"
            )
        model.stop_training = False
        callback_list.on_train_begin()
        logs: dict[str, float] | None = None
        for epoch in range(initial_epoch, epochs):
            callback_list.on_epoch_begin(epoch)
            _copy(ours, theirs)
            epoch_logs = {"loss": trainer.train_epoch(compiled, rng, shuffle=shuffle)}
            if validation_data is not None:
                val_x, val_y = validation_data
                epoch_logs["val_loss"] = FastTrainer.loss(compiled, val_x, val_y)
            compiled.sync()  # the JAX epoch's values into the template, before they are copied
            _copy(theirs, ours)
            callback_list.on_epoch_end(epoch, epoch_logs)
            logs = epoch_logs
            if model.stop_training:
                break
    if epochs > 0:
        model.optimizer.finalize_variable_values(model.trainable_weights)
    callback_list.on_train_end(logs=logs)
    model.history = history
    return history


def _instance_fit(model: Any) -> Any:
    def fast(*args: Any, **kwargs: Any) -> Any:
        return fit(model, *args, **kwargs)

    return fast


@contextmanager
def fit_through_fast_path(estimator: Any) -> Iterator[None]:
    """While inside, the scikeras wrapper ``estimator`` trains its ``model_`` with ``fit``
    above; afterwards it is a plain scikeras wrapper again (nothing of it left on the
    estimator or on its model: it pickles as before).

    scikeras calls ``model_.fit`` in its ``_fit_keras_model`` (``private_api``): for the length
    of that call the model gets ``fit`` as an attribute of its own. When scikeras has moved,
    a warning says so and its models train with ``model.fit``.
    """
    from .private_api import PrivateAPIChanged, scikeras_fit_keras_model, warn_changed

    try:
        original = scikeras_fit_keras_model(estimator)
    except PrivateAPIChanged as exc:
        warn_changed(exc, "scikeras models train with model.fit (slower)")
        yield
        return

    def fit_keras_model(*args: Any, **kwargs: Any) -> Any:
        model = estimator.model_
        model.fit = _instance_fit(model)
        try:
            return original(*args, **kwargs)
        finally:
            del model.fit

    estimator._fit_keras_model = fit_keras_model
    try:
        yield
    finally:
        del estimator._fit_keras_model
