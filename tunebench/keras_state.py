"""A Keras model's state around one trial: seeding, names and session, weights + optimizer.

Used by ``KerasObjective``, ``TuneSearchCV`` and ``lr_find`` alike:

- ``seeded_keras(seed)``: build and train reproducibly from a trial's seed, leaving Python's
  and numpy's global random state as found;
- ``reset_keras_names()`` / ``clear_keras_session()``: start each trial's layer names afresh
  (cheaply), or empty Keras's session (keeping the user's dtype policy);
- ``save_state(model)`` / ``load_state(model, state)``: weights and optimizer variables as
  numpy arrays, to continue training later (no pickles).

>>> import keras
>>> from tunebench.models import build_mlp
>>> with seeded_keras(0):
...     model = build_mlp(n_hidden=1, n_neurons=4, input_shape=(3,))
>>> state = save_state(model)
>>> sorted(state), len(state["weights"])
(['optimizer', 'weights'], 4)
>>> with seeded_keras(0):
...     again = build_mlp(n_hidden=1, n_neurons=4, input_shape=(3,))
>>> load_state(again, state)
>>> all((a == b).all() for a, b in zip(model.get_weights(), again.get_weights()))
True
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from typing import Any

import numpy as np

from .private_api import keras_learning_rate, keras_reset_names, keras_seed_without_tensorflow

__all__ = [
    "clear_keras_session",
    "keras_seed",
    "load_state",
    "reset_keras_names",
    "save_state",
    "seeded_keras",
]


def clear_keras_session() -> None:
    """``keras.backend.clear_session()``, keeping the user's global dtype policy (which it
    would reset to float32, e.g. dropping ``mixed_bfloat16`` for every later model)."""
    import keras

    policy = keras.config.dtype_policy()
    keras.backend.clear_session(free_memory=False)
    keras.config.set_dtype_policy(policy)


def reset_keras_names() -> None:
    """Restart Keras's layer-name counters, so each trial's layers are named as the first's.

    TensorFlow caches a kernel for every distinct variable name it has created; with names
    counting up (``dense_4711/kernel``) every trial's model left about 0.3 MiB in that cache.
    ``keras.backend.clear_session()`` resets the counters too, but it also empties the kernel
    cache, after which each cached compiled epoch reloads its kernels (about 80 ms); it is
    the fallback when Keras's internals moved.
    """
    if not keras_reset_names():
        clear_keras_session()


def keras_seed(seed: int) -> int:
    """A trial's seed in the range Keras and TensorFlow accept.

    >>> keras_seed(2**31 + 5)
    5
    """
    return int(seed) % (2**31)


@contextlib.contextmanager
def seeded_keras(seed: int | None) -> Iterator[None]:
    """Seed Keras for one trial, leaving Python's and numpy's global state as found.

    Keras 3 draws initial weights, and the seeds of layers such as ``Dropout``, from Python's
    ``random``, and unseeded ``keras.random`` calls from its global seed generator: those are
    what a trial's seed must fix, and the Python and numpy states it also touches are put
    back. TensorFlow's own global seed is not set (``tf.random.set_seed`` also clears
    TensorFlow's kernel cache, about 80 ms for every cached compiled epoch); set it where it
    matters, before ``model.fit``, whose shuffling draws from it. The cost: on the fast path,
    a model that calls raw ``tf.random`` ops without a seed (say, in a ``Lambda`` layer) is
    not reproducible from the trial's seed; use ``keras.random`` with a ``SeedGenerator``, or
    ``fast=False``.
    """
    if seed is None:
        yield
        return
    py_state, np_state = random.getstate(), np.random.get_state()
    keras_seed_without_tensorflow(keras_seed(seed))
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


def save_state(model: Any) -> dict[str, Any]:
    """Weights and optimizer variables as numpy arrays (no pickles)."""
    return {
        "weights": [np.asarray(w) for w in model.get_weights()],
        "optimizer": [np.asarray(v) for v in model.optimizer.variables],
    }


def load_state(model: Any, state: dict[str, Any], *, keep_learning_rate: bool = False) -> None:
    """Continue from ``save_state``'s output: same architecture, same optimizer.

    Keras 3 holds a constant learning rate in an optimizer variable, so the saved state
    brings the saved model's rate back. With ``keep_learning_rate`` the rate ``model`` was
    built with stays instead: a continuation with a new rate (``pbt``'s explore) trains at
    it. (A ``LearningRateSchedule`` is no variable: it follows the restored iteration count.)
    """
    model.set_weights(state["weights"])
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)
    saved = state.get("optimizer", [])
    if len(saved) != len(optimizer.variables):
        raise ValueError(
            f"cannot continue: the saved optimizer has {len(saved)} variables, the new one "
            f"{len(optimizer.variables)}; was the model built with other parameters?"
        )
    rate = _rate_variable(optimizer) if keep_learning_rate else None
    built = None if rate is None else np.asarray(rate)
    for variable, value in zip(optimizer.variables, saved, strict=True):
        variable.assign(value)
    if rate is not None:
        rate.assign(built)


def _rate_variable(optimizer: Any) -> Any:
    """The variable holding ``optimizer``'s constant learning rate, or None (a schedule)."""
    import keras

    rate = keras_learning_rate(optimizer)
    return rate if isinstance(rate, keras.Variable) else None
