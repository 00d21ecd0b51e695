"""The book's model builder (an MLP for regression, compiled with SGD and MSE) and its space.

``KerasObjective(build_mlp, california_housing())`` with ``book_space()`` is the book's search.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["book_space", "build_mlp"]


def build_mlp(
    n_hidden: int = 1,
    n_neurons: int = 30,
    learning_rate: float = 3e-3,
    input_shape: Sequence[int] = (8,),
):
    """The book's ``build_model``: ``n_hidden`` ReLU layers of ``n_neurons``, one linear output,
    SGD at ``learning_rate``, MSE loss. Returns a compiled ``keras.Sequential``."""
    import keras

    model = keras.Sequential()
    model.add(keras.Input(shape=tuple(input_shape)))
    for _ in range(n_hidden):
        model.add(keras.layers.Dense(n_neurons, activation="relu"))
    model.add(keras.layers.Dense(1))
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=learning_rate))
    return model


def book_space():
    """The book's search space for ``build_mlp``: ``n_hidden`` 0–3, ``n_neurons`` 1–99 and a
    log-uniform ``learning_rate`` in [3e-4, 3e-2] (``reciprocal(3e-4, 3e-2)`` in the book).

    >>> book_space()
    Space(n_hidden=Int(low=0, high=3, log=False), n_neurons=Int(low=1, high=99, log=False), learning_rate=Float(low=0.0003, high=0.03, log=True))
    """  # noqa: E501
    from .space import Float, Int, Space

    return Space(
        n_hidden=Int(0, 3),
        n_neurons=Int(1, 99),
        learning_rate=Float(3e-4, 3e-2, log=True),
    )
