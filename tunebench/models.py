"""The book's model builder (an MLP for regression, compiled with SGD and MSE) and its space,
and ``build_network``, the same MLP for regression or classification with the knobs a
practitioner searches beyond the book's (dropout, the optimizer).

``KerasObjective(build_mlp, california_housing())`` with ``book_space()`` is the book's search.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["OUTPUTS", "book_space", "build_mlp", "build_network"]

#: ``build_network``'s output heads: the last layer's activation and the loss it is compiled
#: with (``"softmax"``: one unit a class, ``n_outputs`` classes, integer labels).
OUTPUTS = {
    "linear": (None, "mse"),
    "sigmoid": ("sigmoid", "binary_crossentropy"),
    "softmax": ("softmax", "sparse_categorical_crossentropy"),
}
_OPTIMIZERS = {"sgd": "SGD", "adam": "Adam"}


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


def build_network(
    n_hidden: int = 1,
    n_neurons: int = 30,
    learning_rate: float = 3e-3,
    dropout: float = 0.0,
    optimizer: str = "sgd",
    *,
    output: str = "linear",
    n_outputs: int = 1,
    input_shape: Sequence[int] = (8,),
):
    """The book's MLP for any of ``OUTPUTS``: ``n_hidden`` ReLU layers of ``n_neurons``, each
    followed by ``dropout`` (when > 0), then ``n_outputs`` units of the ``output`` head,
    compiled with its loss and ``optimizer`` (``"sgd"`` or ``"adam"``) at ``learning_rate``.
    With the defaults it is ``build_mlp``. Fix ``output`` / ``n_outputs`` for a problem with
    ``functools.partial`` (it pickles, and the study records the bound values).

    >>> model = build_network(2, 16, dropout=0.2, optimizer="adam", output="softmax",
    ...                       n_outputs=10, input_shape=(64,))
    >>> model.output_shape, model.loss, type(model.optimizer).__name__
    ((None, 10), 'sparse_categorical_crossentropy', 'Adam')
    """
    import keras

    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {sorted(OUTPUTS)}, got {output!r}")
    if optimizer not in _OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(_OPTIMIZERS)}, got {optimizer!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    activation, loss = OUTPUTS[output]
    # The layers in one list: the model is built once (each ``add`` rebuilds it: twice the
    # time), with the same initial weights.
    layers: list = [keras.Input(shape=tuple(input_shape))]
    for _ in range(n_hidden):
        layers.append(keras.layers.Dense(n_neurons, activation="relu"))
        if dropout > 0:
            layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(n_outputs, activation=activation))
    model = keras.Sequential(layers)
    optimizer_class = getattr(keras.optimizers, _OPTIMIZERS[optimizer])
    model.compile(loss=loss, optimizer=optimizer_class(learning_rate=learning_rate))
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
