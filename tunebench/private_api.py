"""Every private API of a backend that tunebench relies on, each behind one small function.

Keras, optuna, keras-tuner, scikit-learn, scikeras, DEAP and joblib's loky are driven here in ways
their public APIs do not offer (resetting Keras's name counters without emptying TensorFlow's
kernel cache, telling optuna a trial without its deep copy, an oracle that keeps drawing once
its space is exhausted, ...). Each such use lives in this module and nowhere else, and
``check_private_apis()`` lists the ones a newly installed version no longer offers, naming the
package and its version; ``tests/test_private_api.py`` fails on that list, so an upgrade that
moves one is seen at once instead of in every trial.

At run time a missing private API never fails a trial: where a public call does the same work
(more slowly) the shim makes it and warns once, naming the package version; where none does,
the strategy or search that needs it refuses to start with ``PrivateAPIChanged``.

>>> check_private_apis()
[]
"""

from __future__ import annotations

import random
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np

__all__ = [
    "PrivateAPIChanged",
    "check_private_apis",
    "deap_operator_modules",
    "keras_learning_rate",
    "keras_optimizer_slots",
    "keras_replace_variable_storage",
    "keras_reset_names",
    "keras_seed_without_tensorflow",
    "keras_set_variable_storage",
    "keras_tuner_forget_oracle",
    "keras_tuner_oracle_hooks",
    "keras_variable_storage",
    "keras_variables_into",
    "keras_variables_of_any_shape",
    "loky_context",
    "optuna_tell_without_copy",
    "scikeras_fit_keras_model",
    "sklearn_fit_failure_check",
    "tensorflow_custom_gradients_forgotten",
]


class PrivateAPIChanged(RuntimeError):
    """A backend no longer has a private API tunebench needs (an upgrade moved it)."""


#: Packages installed under another distribution name too (tunebench installs tensorflow-cpu)
_DISTRIBUTIONS = {"tensorflow": ("tensorflow", "tensorflow-cpu")}


def _version(package: str) -> str:
    for distribution in _DISTRIBUTIONS.get(package, (package,)):
        try:
            return version(distribution)
        except PackageNotFoundError:
            pass
    return "(not installed)"


def _changed(package: str, what: str, error: BaseException | None = None) -> str:
    cause = f" ({type(error).__name__}: {error})" if error is not None else ""
    return (
        f"{package} {_version(package)} no longer has {what}{cause}, which tunebench uses; "
        f"install the {package} version tunebench's pyproject.toml allows, or report it"
    )


_warned: set[str] = set()


def _warn_once(package: str, what: str, error: BaseException, fallback: str) -> None:
    if what not in _warned:
        _warned.add(what)
        warnings.warn(
            f"tunebench: {_changed(package, what, error)}; using {fallback} instead",
            RuntimeWarning,
            stacklevel=3,
        )


def warn_changed(error: BaseException, instead: str) -> None:
    """One warning for each private API found changed (``error``, a ``PrivateAPIChanged``
    raised by this module), saying what tunebench does ``instead``."""
    message = str(error)
    if message not in _warned:
        _warned.add(message)
        warnings.warn(f"tunebench: {message}; {instead}", RuntimeWarning, stacklevel=3)


# ---------------------------------------------------------------------------- keras


def keras_reset_names() -> bool:
    """Restart Keras's layer-name counters (``keras.src.utils.naming.reset_uids``); False when
    Keras no longer has it (the caller then clears the session, the public way)."""
    try:
        from keras.src.utils import naming

        reset = naming.reset_uids
    except (ImportError, AttributeError) as exc:
        _warn_once("keras", "keras.src.utils.naming.reset_uids", exc, "clear_session (slower)")
        return False
    reset()
    return True


def keras_seed_without_tensorflow(seed: int) -> None:
    """What ``keras.utils.set_random_seed(seed)`` does, except TensorFlow's global seed.

    Sets Keras's global seed and drops its global seed generator (``keras.src`` internals),
    then seeds Python's ``random`` and numpy's global state, which Keras also draws from.
    Falls back to ``keras.utils.set_random_seed`` when the internals moved.
    """
    try:
        from keras.src.backend.common import global_state
        from keras.src.random import seed_generator
        from keras.src.utils import rng_utils

        names = (rng_utils.GLOBAL_RANDOM_SEED, seed_generator.GLOBAL_SEED_GENERATOR)
    except (ImportError, AttributeError) as exc:
        _warn_once("keras", "keras.src's global seed state", exc, "keras.utils.set_random_seed")
        import keras

        keras.utils.set_random_seed(seed)
        return
    global_state.set_global_attribute(names[0], seed)
    global_state.set_global_attribute(names[1], None)
    random.seed(seed)
    np.random.seed(seed)


def keras_learning_rate(optimizer: Any) -> Any:
    """What a Keras optimizer holds as its learning rate (``optimizer._learning_rate``): a
    ``keras.Variable`` for a number, the ``LearningRateSchedule`` itself for a schedule (the
    public ``optimizer.learning_rate`` gives a schedule's current value instead)."""
    try:
        return optimizer._learning_rate
    except AttributeError as exc:
        raise PrivateAPIChanged(_changed("keras", "Optimizer._learning_rate", exc)) from exc


def keras_optimizer_slots(optimizer: Any, variables: list[Any]) -> list[list[Any]]:
    """A built ``SGD`` or ``Adam`` optimizer's slot variables for ``variables`` (``None``
    entries stay ``None``): one list a kind — SGD's momentums (none without momentum),
    Adam's momentums then velocities — aligned with ``variables``."""
    try:
        if type(optimizer).__name__ == "SGD":
            kinds = [optimizer.momentums] if optimizer.momentum != 0 else []
        else:
            kinds = [optimizer._momentums, optimizer._velocities]
        return [
            [None if v is None else kind[optimizer._get_variable_index(v)] for v in variables]
            for kind in kinds
        ]
    except (AttributeError, KeyError) as exc:
        raise PrivateAPIChanged(
            _changed("keras", "the optimizer's slot lists and _get_variable_index", exc)
        ) from exc


def keras_variable_storage(variable: Any) -> Any:
    """The ``tf.Variable`` that holds a Keras variable's value on the TensorFlow backend
    (``keras.Variable._value``); the fast path shares it between models of one family."""
    import tensorflow as tf

    storage = getattr(variable, "_value", None)
    if not isinstance(storage, tf.Variable):
        raise PrivateAPIChanged(_changed("keras", "a tf.Variable in keras.Variable._value"))
    return storage


def keras_set_variable_storage(variable: Any, storage: Any) -> None:
    """Make ``storage`` (a ``tf.Variable``) hold the Keras ``variable``'s value from now on."""
    keras_variable_storage(variable)  # the attribute is still where it was
    variable._value = storage


def keras_replace_variable_storage(variable: Any, storage: Any) -> None:
    """Make ``storage`` (a new ``tf.Variable``) hold the Keras ``variable``'s value in place of
    its storage, under the same key: Keras's TensorFlow optimizers know a variable by its
    storage's ``_unique_id`` (their slot indices, weight-decay exclusions), so an optimizer
    already built for ``variable`` still knows it. (``keras_set_variable_storage`` shares a
    storage instead, which keeps its own key.)"""
    old = keras_variable_storage(variable)
    unique_id = getattr(old, "_unique_id", None)
    if not isinstance(unique_id, str):
        raise PrivateAPIChanged(_changed("tensorflow", "ResourceVariable._unique_id"))
    storage._unique_id = unique_id
    variable._value = storage


_into = threading.local()  # where this thread's new Keras variables go (the scopes below)


def _tf_variable_of_any_shape(variable: Any, value: Any) -> Any:
    """What Keras's ``Variable._initialize`` makes (TensorFlow backend), with every dimension
    left unknown: ``value`` (an initializer call) in a ``tf.Variable`` of shape
    ``[None] * rank``. The Keras variable keeps its own shape."""
    import tensorflow as tf

    return tf.Variable(
        value,
        dtype=variable._dtype,
        trainable=variable.trainable,
        name=variable.name,
        shape=tf.TensorShape([None] * len(variable._shape)),
        aggregation=variable._map_aggregation(variable.aggregation),
        synchronization=variable._map_synchronization(variable.synchronization),
    )


def _initialize_into(original: Callable[..., None]) -> Callable[..., None]:
    """``Variable._initialize`` that, inside ``keras_variables_into``, puts the initial value
    into the next given storage instead of a new ``tf.Variable``, and inside
    ``keras_variables_of_any_shape`` makes the ``tf.Variable`` of unknown shape."""

    def initialize(variable: Any, value: Any) -> None:
        storages = getattr(_into, "storages", None)
        if storages is None:
            made = getattr(_into, "any_shape", None)
            if made is not None and callable(value):
                try:
                    variable._value = _tf_variable_of_any_shape(variable, value)
                    made.append(variable)
                    return
                except AttributeError as exc:  # Keras moved what it passes to tf.Variable
                    _warn_once("keras", "Variable's tf.Variable arguments", exc, "its own shape")
            # a value, not an initializer: Keras reads the variable's shape off the storage
            original(variable, value)
            return
        storage = next(storages, None)
        if storage is None:
            raise RuntimeError(
                f"tunebench's fast path had no stored variable left for {variable.path} "
                f"{variable.shape}; please report it (fast=False avoids it)"
            )
        if storage.dtype != variable._dtype:
            raise RuntimeError(
                f"tunebench's fast path matched {variable.path} ({variable._dtype}) with a "
                f"stored {storage.dtype.name} variable; please report it (fast=False avoids it)"
            )
        initial = value() if callable(value) else value
        if not storage.shape.is_compatible_with(np.shape(initial)):
            raise RuntimeError(
                f"tunebench's fast path matched {variable.path} {np.shape(initial)} with a "
                f"stored {storage.shape}; please report it (fast=False avoids it)"
            )
        storage.assign(initial)
        variable._value = storage

    initialize.tunebench_original = original  # type: ignore[attr-defined]
    return initialize


def _install_initialize() -> None:
    """Install ``_initialize_into`` on Keras's TensorFlow ``Variable`` (once; it is inert
    outside the scopes), or raise ``PrivateAPIChanged``."""
    try:
        from keras.src.backend.tensorflow.core import Variable
    except ImportError as exc:
        raise PrivateAPIChanged(
            _changed("keras", "keras.src.backend.tensorflow.core.Variable", exc)
        ) from exc
    original = Variable.__dict__.get("_initialize")
    if original is None:
        raise PrivateAPIChanged(_changed("keras", "Variable._initialize on TensorFlow"))
    if not hasattr(original, "tunebench_original"):
        Variable._initialize = _initialize_into(original)


@contextmanager
def keras_variables_into(storages: list[Any]) -> Iterator[None]:
    """While active, each Keras variable this thread creates (TensorFlow backend) lives in the
    next of ``storages`` (``tf.Variable``s), holding its own initial value, instead of in a
    new ``tf.Variable``: the fast path builds a trial's optimizer straight into the storage
    of the cached one it trains through (a new ``tf.Variable`` costs 2-3 ms)."""
    _install_initialize()
    previous = getattr(_into, "storages", None)
    _into.storages = iter(storages)
    try:
        yield
    finally:
        _into.storages = previous


@contextmanager
def keras_variables_of_any_shape(made: list[Any] | None = None) -> Iterator[None]:
    """While active, each Keras variable this thread creates from an initializer (a layer's
    weights, an optimizer's slots; TensorFlow backend) lives in a ``tf.Variable`` whose
    dimensions are all unknown, holding the same value; the Keras variable keeps its shape.
    ``made``, when given, receives each such variable.

    TensorFlow instantiates a kernel for each variable shape it meets when it creates, reads
    or assigns a variable (about 1.2 ms a shape, against 0.15 ms to create one of a shape met
    before), and keeps them for the process; a new architecture meets 4-8 new shapes.
    Storage of unknown shape meets one shape for all. But a function traced over it sees no
    static dimensions, and Keras's own code reads them (a loss that squeezes or broadcasts its
    targets by their shapes computes another value): a model that is traced on its own
    storage (``model.fit``, its own epoch) gets storage of its own shape first
    (``fast_training.storage_of_own_shape``). Nothing on other backends; when Keras has moved
    ``Variable._initialize``, one warning and variables as Keras makes them.

    >>> import keras
    >>> with keras_variables_of_any_shape():
    ...     layer = keras.layers.Dense(3)
    ...     layer.build((None, 2))
    >>> tuple(layer.kernel.shape), keras_variable_storage(layer.kernel).shape.as_list()
    ((2, 3), [None, None])
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        yield
        return
    try:
        _install_initialize()
    except PrivateAPIChanged as exc:
        warn_changed(exc, "variables of their own shape (each new shape costs about 1 ms)")
        yield
        return
    previous = getattr(_into, "any_shape", None)
    _into.any_shape = [] if made is None else made
    try:
        yield
    finally:
        _into.any_shape = previous


# ---------------------------------------------------------------------------- tensorflow


def _tensorflow_gradient_registry() -> dict[str, Any]:
    """TensorFlow's process-wide registry of gradient functions
    (``tensorflow.python.framework.ops._gradient_registry._registry``), name -> entry."""
    try:
        from tensorflow.python.framework import ops

        entries = ops._gradient_registry._registry
    except (ImportError, AttributeError) as exc:
        raise PrivateAPIChanged(
            _changed("tensorflow", "ops._gradient_registry._registry", exc)
        ) from exc
    if not isinstance(entries, dict):
        raise PrivateAPIChanged(_changed("tensorflow", "a dict in ops._gradient_registry"))
    return entries


@contextmanager
def tensorflow_custom_gradients_forgotten() -> Iterator[None]:
    """Unregister the gradient functions TensorFlow registers while the block runs.

    Tracing a ``tf.custom_gradient`` registers a new gradient function under a new name in a
    process-wide registry that is never emptied, and the function holds the traced graph.
    Keras's optimizer calls one in every traced update step (the default strategy's
    all-reduce of the gradients), so each trace of a training step stays in memory, with
    thousands of Python objects (about 7,500 for a small MLP) that every full garbage
    collection then walks. Only those registrations go (a gradient registered by name, e.g.
    by a module imported in the block, stays): functions traced in the block must never be
    differentiated, for their custom gradients are gone once it ends. Not for a block that
    runs beside another thread's tracing, whose custom gradients it would take too. Does
    nothing when Keras runs on another backend; when TensorFlow no longer has the registry,
    warns once and forgets nothing.

    >>> import tensorflow as tf
    >>> step = tf.function(lambda x: tf.custom_gradient(lambda v: (v, lambda d: d))(x))
    >>> registered = len(_tensorflow_gradient_registry())
    >>> with tensorflow_custom_gradients_forgotten():
    ...     _ = step.get_concrete_function(tf.TensorSpec([], tf.float32))
    >>> len(_tensorflow_gradient_registry()) - registered
    0
    """
    import keras

    if keras.backend.backend() != "tensorflow":  # nothing traced by TensorFlow to forget
        yield
        return
    try:
        entries = _tensorflow_gradient_registry()
    except PrivateAPIChanged as exc:
        warn_changed(exc, "each traced training step stays in memory")
        yield
        return
    before = set(entries)
    try:
        yield
    finally:
        for name in entries.keys() - before:
            if _is_custom_gradient(entries.get(name)):
                entries.pop(name, None)


#: What ``tf.custom_gradient`` registers while tracing (``custom_gradient._graph_mode_decorator``)
_CUSTOM_GRADIENT_FUNCTION = "_graph_mode_decorator.<locals>.internal_grad_fn"


def _is_custom_gradient(entry: Any) -> bool:
    """Whether a gradient registry entry is one ``tf.custom_gradient`` made while tracing."""
    function = entry.get("type") if isinstance(entry, dict) else None
    return getattr(function, "__qualname__", "") == _CUSTOM_GRADIENT_FUNCTION


def _tensorflow_custom_gradients_found() -> bool:
    """Whether tracing a ``tf.custom_gradient`` still registers one entry the block forgets."""
    import tensorflow as tf

    entries = _tensorflow_gradient_registry()
    before = set(entries)
    step = tf.function(lambda x: tf.custom_gradient(lambda v: (v, lambda d: d))(x))
    step.get_concrete_function(tf.TensorSpec([], tf.float32))
    registered = [entries.pop(name) for name in entries.keys() - before]
    return len(registered) == 1 and _is_custom_gradient(registered[0])


# ---------------------------------------------------------------------------- optuna


def optuna_tell_without_copy(study: Any, trial: Any, value: float | None, state: Any) -> None:
    """``study.tell`` without the deep copy of the finished trial it returns (optuna's own
    ``study.optimize`` skips it the same way); the public ``study.tell`` if that moved."""
    try:
        from optuna.study._tell import _tell_with_warning
    except ImportError as exc:
        _warn_once("optuna", "optuna.study._tell._tell_with_warning", exc, "study.tell")
        study.tell(trial, value, state=state)
        return
    try:
        _tell_with_warning(study=study, trial=trial, value_or_values=value, state=state)
    except TypeError as exc:  # its signature changed (raised before it ran)
        _warn_once("optuna", "_tell_with_warning's signature", exc, "study.tell")
        study.tell(trial, value, state=state)


# ---------------------------------------------------------------------------- keras-tuner


def keras_tuner_oracle_hooks(oracle_class: type) -> None:
    """Refuse a ``HyperbandOracle`` without the private members the ``hyperband`` strategy
    overrides or calls (``_random_values``, ``_set_project_dir``)."""
    for member in ("_random_values", "_set_project_dir"):
        if not callable(getattr(oracle_class, member, None)):
            raise PrivateAPIChanged(_changed("keras-tuner", f"HyperbandOracle.{member}"))


def keras_tuner_forget_oracle(oracle: Any) -> None:
    """Drop keras-tuner's module-level lock entries for ``oracle`` (they would keep it alive
    for the life of the process)."""
    try:
        from keras_tuner.src.engine import oracle as oracle_module

        tables = (oracle_module.LOCKS, oracle_module.THREADS)
    except (ImportError, AttributeError) as exc:
        _warn_once("keras-tuner", "keras_tuner.src.engine.oracle.LOCKS", exc, "nothing")
        return
    for table in tables:
        table.pop(oracle, None)


# ---------------------------------------------------------------------------- scikit-learn


def sklearn_fit_failure_check() -> tuple[Any, Callable[..., None]]:
    """``(module, function)``: scikit-learn's check after each batch of fits,
    ``sklearn.model_selection._search._warn_or_raise_about_fit_failures(results,
    error_score)``, which ``TuneSearchCV`` replaces during its own searches."""
    import inspect

    from sklearn.model_selection import _search

    check = getattr(_search, "_warn_or_raise_about_fit_failures", None)
    if check is None or list(inspect.signature(check).parameters) != ["results", "error_score"]:
        raise PrivateAPIChanged(
            _changed(
                "scikit-learn", "_search._warn_or_raise_about_fit_failures(results, error_score)"
            )
        )
    return _search, check


# ---------------------------------------------------------------------------- scikeras

#: The arguments of scikeras' ``BaseWrapper._fit_keras_model`` (besides ``**kwargs``).
_SCIKERAS_FIT_KERAS_MODEL = ["X", "y", "sample_weight", "warm_start", "epochs", "initial_epoch"]


def scikeras_fit_keras_model(estimator: Any) -> Callable[..., Any]:
    """A scikeras wrapper's ``_fit_keras_model`` (bound), the method that calls
    ``self.model_.fit(x=X, y=y, **fit_args)`` once the model is built and compiled;
    ``tunebench.fast_fit`` wraps it for one fit to give that model its fast ``fit``."""
    import inspect

    method = getattr(estimator, "_fit_keras_model", None)
    if not callable(method) or "_fit_keras_model" in vars(estimator):
        raise PrivateAPIChanged(_changed("scikeras", "BaseWrapper._fit_keras_model"))
    names = [
        name
        for name, p in inspect.signature(method).parameters.items()
        if p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    if names != _SCIKERAS_FIT_KERAS_MODEL:
        wanted = ", ".join(_SCIKERAS_FIT_KERAS_MODEL)
        raise PrivateAPIChanged(_changed("scikeras", f"BaseWrapper._fit_keras_model({wanted})"))
    return method


# ---------------------------------------------------------------------------- deap


def deap_operator_modules() -> tuple[Any, ...]:
    """The ``deap.tools`` modules whose operators draw from their module-level ``random``
    (``selection``, ``crossover``, ``mutation``), which ``evolution`` points at its private
    generator while it calls them."""
    from deap.tools import crossover, mutation, selection

    modules = (selection, crossover, mutation)
    for module in modules:
        if getattr(module, "random", None) is not random:
            raise PrivateAPIChanged(_changed("deap", f"{module.__name__}.random"))
    return modules


# ---------------------------------------------------------------------------- joblib (loky)


def loky_context() -> Any:
    """The process context of joblib's vendored loky: ``executor="processes"`` starts its
    workers with its ``Process(..., env=...)`` and ``Pipe()``; it starts a worker through its
    own entry point, never re-importing the user's ``__main__``."""
    import inspect

    try:
        from joblib.externals.loky.backend.context import get_context

        context = get_context("loky")
        process_class = context.Process
    except (ImportError, AttributeError, ValueError) as exc:
        what = "externals.loky's 'loky' context"
        raise PrivateAPIChanged(_changed("joblib", what, exc)) from exc
    if "env" not in inspect.signature(process_class).parameters:
        raise PrivateAPIChanged(_changed("joblib", "loky's Process(env=...)"))
    return context


# ---------------------------------------------------------------------------- the check


def check_private_apis() -> list[str]:
    """What each backend's installed version no longer offers; empty when all is there."""
    problems: list[str] = []

    def probe(package: str, what: str, test: Callable[[], Any]) -> None:
        try:
            if test() is False:
                problems.append(_changed(package, what))
        except PrivateAPIChanged as exc:
            problems.append(str(exc))
        except Exception as exc:
            problems.append(_changed(package, what, exc))

    def keras_internals() -> bool:
        import keras
        from keras.src.backend.common import global_state
        from keras.src.random import seed_generator
        from keras.src.utils import naming, rng_utils

        decay = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
        adam, weight = keras.optimizers.Adam(), keras.Variable(np.zeros(2, "float32"))
        adam.build([weight])
        slots = keras_optimizer_slots(adam, [weight, None])
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            keras_variable_storage(keras.Variable(1.0))
            storage = tf.Variable(np.ones(3, "float32"), shape=tf.TensorShape([None]))
            with keras_variables_into([storage]):
                into = keras.Variable(keras.initializers.Zeros(), shape=(2,))
            if keras_variable_storage(into) is not storage or storage.numpy().tolist() != [0, 0]:
                return False
            with keras_variables_of_any_shape():
                anyshape = keras.Variable(keras.initializers.Ones(), shape=(2, 3))
            if keras_variable_storage(anyshape).shape.as_list() != [None, None] or tuple(
                anyshape.shape
            ) != (2, 3):
                return False
            sgd = keras.optimizers.SGD()
            sgd.build([anyshape])
            keras_replace_variable_storage(anyshape, tf.Variable(np.ones((2, 3), "float32")))
            if sgd._get_variable_index(anyshape) != 0:
                return False
        return (
            isinstance(keras_learning_rate(keras.optimizers.SGD(0.1)), keras.Variable)
            and keras_learning_rate(keras.optimizers.SGD(decay)) is decay
            and len(slots) == 2
            and tuple(slots[1][0].shape) == (2,)
            and callable(naming.reset_uids)
            and callable(global_state.set_global_attribute)
            and isinstance(rng_utils.GLOBAL_RANDOM_SEED, str)
            and isinstance(seed_generator.GLOBAL_SEED_GENERATOR, str)
        )

    def optuna_tell() -> bool:
        import inspect

        from optuna.study._tell import _tell_with_warning

        wanted = {"study", "trial", "value_or_values", "state"}
        return wanted <= set(inspect.signature(_tell_with_warning).parameters)

    def keras_tuner_internals() -> bool:
        from keras_tuner import oracles
        from keras_tuner.src.engine import oracle

        keras_tuner_oracle_hooks(oracles.HyperbandOracle)
        return isinstance(oracle.LOCKS, dict) and isinstance(oracle.THREADS, dict)

    def sklearn_search() -> bool:
        from sklearn.model_selection._search import BaseSearchCV
        from sklearn.utils._param_validation import Interval

        sklearn_fit_failure_check()
        # TuneSearchCV overrides _format_results (to give the non-finite-scores warning once)
        return (
            callable(BaseSearchCV._run_search)
            and callable(getattr(BaseSearchCV, "_format_results", None))
            and callable(Interval)
        )

    probe(
        "keras",
        "keras.src's naming, global seed state, Optimizer._learning_rate, its slot lists, "
        "Variable._value and Variable._initialize",
        keras_internals,
    )
    probe(
        "tensorflow",
        "ops._gradient_registry and what tf.custom_gradient registers while tracing",
        _tensorflow_custom_gradients_found,
    )
    probe("optuna", "optuna.study._tell._tell_with_warning", optuna_tell)
    probe("keras-tuner", "its oracle internals", keras_tuner_internals)
    probe("scikit-learn", "BaseSearchCV and its parameter validation", sklearn_search)
    probe("deap", "deap.tools' module-level random", deap_operator_modules)

    def scikeras_hook() -> None:
        from scikeras.wrappers import KerasRegressor

        scikeras_fit_keras_model(KerasRegressor())

    probe("scikeras", "BaseWrapper._fit_keras_model", scikeras_hook)
    probe("joblib", "externals.loky's process start with env=", loky_context)
    return problems
