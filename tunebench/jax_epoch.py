"""The JAX epoch: a plain Keras MLP's whole epoch as one XLA computation.

TensorFlow runs the fast path's compiled epoch as a graph, op by op; for a small MLP most of
an epoch is the cost of dispatching those ops, not arithmetic. When JAX is installed, a
model made only of ``Dense`` layers (the book's MLP and most of the suite's) trains instead
through one ``jax.jit``-compiled function whose loop over the batches is a ``jax.lax.scan``:
the same updates, computed by XLA in a few fused kernels. The model stays a TensorFlow Keras
model — built by the user's ``build_model``, scored, saved and restored as before; its
values go into JAX arrays before each epoch and back after it.

What it computes is what Keras computes, written out (``_forward``, ``_loss``, ``_update``):

- ``Dense`` layers: ``x @ kernel + bias``, then the layer's activation;
- the loss: mean squared error; binary, categorical or sparse categorical cross-entropy from
  the logits of a final sigmoid / softmax (as Keras's TensorFlow backend computes them) or
  with ``from_logits=True``;
- the optimizer: ``SGD`` (plain, momentum, Nesterov) and ``Adam``, their arithmetic as in
  ``update_step`` of Keras's optimizers, the learning rate read before each epoch (so a
  warm-up or a callback that sets it works);
- batches gathered from the same shuffled order as the TensorFlow fast path.

Anything else — dropout, other layers, optimizers or losses, regularizers, constraints,
gradient clipping, a learning-rate schedule, another dtype — is refused (``jax_refusal``
says why) and trains through the TensorFlow fast path as before.

One compile serves many architectures: the hidden layers are padded with zero units to a
common width from ``WIDTHS`` (a 2 x 30 model trains as 2 x 32), and a mask zeroes the padded
units' activations, so they add nothing to the output and get zero gradients: their weights
stay zero, under SGD and Adam alike, and the real units compute what they would unpadded.
The book's space (widths 1-99 in 9 of ``WIDTHS``, depths 0-3) needs 28 compiled epochs at most,
each about half a second; they are kept for the life of the process (``_compiled_epoch``).
"""

from __future__ import annotations

import functools
import importlib.util
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["WIDTHS", "JaxEpoch", "jax_available", "jax_refusal", "padded_width"]

#: The widths hidden layers are padded to (at most a third more units; beyond 1,024,
#: multiples of 256): a depth compiles once for each of them it meets.
WIDTHS = (8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512)
WIDTHS += (640, 768, 896, 1024)

#: Activations a hidden or output ``Dense`` layer may have, by Keras's name.
_ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "elu", "selu", "softplus", "silu", "softmax")

#: The losses, by what ``keras.losses.get`` returns (function name or class name).
_LOSSES = {
    "mean_squared_error": "mse",
    "MeanSquaredError": "mse",
    "binary_crossentropy": "binary",
    "BinaryCrossentropy": "binary",
    "categorical_crossentropy": "categorical",
    "CategoricalCrossentropy": "categorical",
    "sparse_categorical_crossentropy": "sparse",
    "SparseCategoricalCrossentropy": "sparse",
}
#: The final activation each cross-entropy reads its logits from (Keras's TensorFlow backend
#: does the same when the output comes from that activation).
_LOGITS_OF = {"binary": "sigmoid", "categorical": "softmax", "sparse": "softmax"}


def jax_available() -> bool:
    """Whether JAX is installed (the JAX epoch is then used for the models it can take)."""
    return importlib.util.find_spec("jax") is not None


def padded_width(width: int) -> int:
    """The width a hidden layer of ``width`` units trains at.

    >>> padded_width(30), padded_width(99), padded_width(1), padded_width(1500)
    (32, 112, 8, 1536)
    """
    for size in WIDTHS:
        if width <= size:
            return size
    return -(-width // 256) * 256


@dataclass(frozen=True)
class _Plan:
    """Everything one compiled epoch bakes in (its cache key)."""

    n_inputs: int
    hidden: tuple[str, ...]  # each hidden layer's activation
    width: int  # the padded width of every hidden layer
    n_outputs: int
    output: str  # the output layer's activation
    biases: tuple[bool, ...]
    loss: str  # mse, binary, categorical, sparse
    from_logits: bool  # the loss reads the output layer's pre-activation
    optimizer: str  # sgd, momentum, nesterov, adam
    constants: tuple[float, ...]  # momentum, or beta_1, beta_2, epsilon
    batch_size: int
    n_rows: int


def _activation_name(activation: Any) -> str | None:
    import keras

    try:
        name = keras.activations.serialize(activation)
    except (ValueError, TypeError):
        return None
    name = name if isinstance(name, str) else None
    return "silu" if name == "swish" else name


def _loss_kind(loss: Any) -> tuple[str, bool] | None:
    """``(kind, from_logits)`` of a loss the JAX epoch computes, else None."""
    import keras

    if isinstance(loss, str):
        try:
            loss = keras.losses.get(loss)
        except ValueError:
            return None
    if isinstance(loss, keras.losses.Loss):
        keras_own = type(loss).__module__.split(".")[0] == "keras"
        kind = _LOSSES.get(type(loss).__name__) if keras_own else None
        config = loss.get_config()
        if (
            kind is None
            or config.get("reduction", "sum_over_batch_size") != "sum_over_batch_size"
            or config.get("label_smoothing", 0.0)
            or config.get("axis", -1) != -1
            or config.get("ignore_class") is not None
            or config.get("dtype") not in (None, "float32")
        ):
            return None
        return kind, bool(config.get("from_logits", False))
    kind = _LOSSES.get(getattr(loss, "__name__", ""))
    if kind is None or getattr(loss, "__module__", "").split(".")[0] != "keras":
        return None
    return kind, False


def _optimizer_kind(optimizer: Any) -> tuple[str, tuple[float, ...]] | str:
    """``(kind, constants)`` of an optimizer the JAX epoch runs, else why not."""
    import keras

    from .private_api import keras_learning_rate

    name = type(optimizer).__name__
    if type(optimizer) not in (keras.optimizers.SGD, keras.optimizers.Adam):
        return f"the optimizer is {name} (SGD and Adam only)"
    for attribute in ("clipnorm", "clipvalue", "global_clipnorm", "weight_decay"):
        if getattr(optimizer, attribute, None):
            return f"the optimizer sets {attribute}"
    if getattr(optimizer, "use_ema", False) or getattr(
        optimizer, "gradient_accumulation_steps", None
    ):
        return "the optimizer uses EMA or gradient accumulation"
    if getattr(optimizer, "loss_scale_factor", None):
        return "the optimizer scales the loss"
    if not isinstance(keras_learning_rate(optimizer), keras.Variable):
        return "the learning rate is a schedule"
    if name == "SGD":
        momentum = float(optimizer.momentum)
        if momentum == 0:
            return "sgd", ()
        return ("nesterov" if optimizer.nesterov else "momentum"), (momentum,)
    if optimizer.amsgrad:
        return "Adam has amsgrad=True"
    return "adam", (float(optimizer.beta_1), float(optimizer.beta_2), float(optimizer.epsilon))


def jax_refusal(model: Any) -> str | None:
    """Why the JAX epoch cannot train ``model`` (None when it can): JAX missing, or a model,
    loss or optimizer it does not compute exactly."""
    import keras

    if not jax_available():
        return "JAX is not installed"
    layers = list(getattr(model, "layers", []))
    if type(model) is not keras.Sequential or not layers:
        return "the model is not a Sequential"
    if (model.get_compile_config() or {}).get("loss_weights") is not None:
        return "the model was compiled with loss_weights"
    for index, layer in enumerate(layers):
        if type(layer) is not keras.layers.Dense:
            return f"it has a {type(layer).__name__} layer"
        if any(
            getattr(layer, attribute, None) is not None
            for attribute in (
                "kernel_regularizer",
                "bias_regularizer",
                "activity_regularizer",
                "kernel_constraint",
                "bias_constraint",
            )
        ):
            return "a Dense layer has a regularizer or a constraint"
        if getattr(layer, "lora_enabled", False) or getattr(layer, "quantization_mode", None):
            return "a Dense layer uses LoRA or quantization"
        if layer.dtype != "float32" or layer.compute_dtype != "float32":
            return "a layer is not float32"
        activation = _activation_name(layer.activation)
        if activation not in _ACTIVATIONS:
            return f"a Dense layer's activation is {activation or layer.activation!r}"
        if activation == "softmax" and index < len(layers) - 1:
            return "a hidden layer has a softmax"
        if len(layer.kernel.shape) != 2:
            return "a Dense layer is not 2-D"
    if len(model.inputs[0].shape) != 2:
        return "the input is not a flat vector"
    loss = _loss_kind(getattr(model, "loss", None))
    if loss is None:
        return f"the loss {model.loss!r} is not one the JAX epoch computes"
    kind, from_logits = loss
    output = _activation_name(layers[-1].activation)
    if kind != "mse" and not from_logits and output != _LOGITS_OF[kind]:
        return f"{kind} cross-entropy after a {output} output"
    if kind != "mse" and from_logits and output != "linear":
        return "from_logits=True after an activation"
    optimizer = _optimizer_kind(model.optimizer)
    return optimizer if isinstance(optimizer, str) else None


def _plan(model: Any, batch_size: int, n_rows: int) -> _Plan:
    layers = list(model.layers)
    kind, from_logits = _loss_kind(model.loss)  # type: ignore[misc]
    optimizer, constants = _optimizer_kind(model.optimizer)  # type: ignore[misc]
    widths = [int(layer.units) for layer in layers[:-1]]
    return _Plan(
        n_inputs=int(layers[0].kernel.shape[0]),
        hidden=tuple(_activation_name(layer.activation) for layer in layers[:-1]),
        width=padded_width(max(widths)) if widths else 0,
        n_outputs=int(layers[-1].units),
        output=_activation_name(layers[-1].activation),
        biases=tuple(bool(layer.use_bias) for layer in layers),
        loss=kind,
        from_logits=from_logits or kind != "mse",
        optimizer=optimizer,
        constants=constants,
        batch_size=int(batch_size),
        n_rows=int(n_rows),
    )


# ------------------------------------------------------------------ the computation (JAX)


def _activate(name: str, z: Any) -> Any:
    """Keras's activation ``name`` in JAX (``relu``'s gradient at 0 is 0, as TensorFlow's)."""
    import jax
    import jax.numpy as jnp

    if name == "linear":
        return z
    if name == "tanh":
        return jnp.tanh(z)
    if name == "softmax":
        return jax.nn.softmax(z, axis=-1)
    return getattr(jax.nn, name)(z)  # relu, sigmoid, elu, selu, softplus, silu


def _forward(plan: _Plan, params: list[Any], masks: list[Any], x: Any) -> Any:
    """The output layer's pre-activation (logits) of the padded network."""
    h = x
    last = len(plan.hidden)
    for index in range(last + 1):
        kernel, bias = params[2 * index], params[2 * index + 1]
        z = h @ kernel
        if plan.biases[index]:
            z = z + bias
        if index == last:
            return z
        h = _activate(plan.hidden[index], z) * masks[index]
    raise AssertionError("unreachable")


def _loss(plan: _Plan, params: list[Any], masks: list[Any], x: Any, y: Any) -> Any:
    """The batch's mean loss, as Keras computes it (``sum_over_batch_size``)."""
    import jax
    import jax.numpy as jnp

    z = _forward(plan, params, masks, x)
    if plan.loss == "mse":
        y_pred = _activate(plan.output, z)
        return jnp.mean(jnp.mean(jnp.square(y.astype(z.dtype) - y_pred), axis=-1))
    if plan.loss == "binary":
        y = y.astype(z.dtype)
        per = jnp.maximum(z, 0) - z * y + jnp.log1p(jnp.exp(-jnp.abs(z)))
        return jnp.mean(jnp.mean(per, axis=-1))
    log_p = jax.nn.log_softmax(z, axis=-1)
    if plan.loss == "sparse":
        labels = y.reshape(-1).astype(jnp.int32)
        return -jnp.mean(jnp.take_along_axis(log_p, labels[:, None], axis=-1))
    return -jnp.mean(jnp.sum(y.astype(z.dtype) * log_p, axis=-1))


def _update(plan: _Plan, params, grads, slots, lr, iteration):  # type: ignore[no-untyped-def]
    """One optimizer step over every variable (Keras's ``update_step`` arithmetic)."""
    import jax.numpy as jnp

    if plan.optimizer == "sgd":
        return [w - g * lr for w, g in zip(params, grads, strict=True)], slots
    if plan.optimizer in ("momentum", "nesterov"):
        (momentum,) = plan.constants
        new_params, new_slots = [], []
        for w, g, m in zip(params, grads, slots, strict=True):
            m = m * momentum - g * lr
            step = m * momentum - g * lr if plan.optimizer == "nesterov" else m
            new_params.append(w + step)
            new_slots.append(m)
        return new_params, new_slots
    beta_1, beta_2, epsilon = plan.constants
    local_step = (iteration + 1).astype(jnp.float32)
    alpha = (
        lr
        * jnp.sqrt(1 - jnp.float32(beta_2) ** local_step)
        / (1 - jnp.float32(beta_1) ** local_step)
    )
    n = len(params)
    new_params, momentums, velocities = [], [], []
    for w, g, m, v in zip(params, grads, slots[:n], slots[n:], strict=True):
        m = m + (g - m) * (1 - beta_1)
        v = v + (jnp.square(g) - v) * (1 - beta_2)
        new_params.append(w - (m * alpha) / (jnp.sqrt(v) + epsilon))
        momentums.append(m)
        velocities.append(v)
    return new_params, momentums + velocities


def compilation_cache() -> str | None:
    """The folder where XLA keeps compiled epochs between processes (JAX's persistent
    compilation cache): yours when you set one (``JAX_COMPILATION_CACHE_DIR``), else
    ``~/.cache/tunebench/jax`` (``XDG_CACHE_HOME`` honoured); ``TUNEBENCH_JAX_CACHE=0``
    leaves JAX without one. A compile costs about a second; loading one, a few milliseconds.
    """
    import jax

    if jax.config.jax_compilation_cache_dir:
        return jax.config.jax_compilation_cache_dir
    if os.environ.get("TUNEBENCH_JAX_CACHE", "1") == "0":
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "tunebench", "jax")
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.1)
    return folder


@functools.lru_cache(maxsize=256)
def _compiled_epoch(plan: _Plan) -> Any:
    """The jitted epoch of ``plan``: (params, slots, iteration, lr, masks, X, y, order) ->
    (params, slots, iteration, mean loss)."""
    import jax
    import jax.numpy as jnp

    compilation_cache()
    full, rest = divmod(plan.n_rows, plan.batch_size)
    value_and_grad = jax.value_and_grad(functools.partial(_loss, plan))

    def step(carry, rows, masks, X, y, lr):  # type: ignore[no-untyped-def]
        params, slots, iteration = carry
        loss, grads = value_and_grad(params, masks, X[rows], y[rows])
        params, slots = _update(plan, params, grads, slots, lr, iteration)
        return (params, slots, iteration + 1), loss

    def epoch(params, slots, iteration, lr, masks, X, y, order):  # type: ignore[no-untyped-def]
        carry = (params, slots, iteration)
        total = jnp.float32(0.0)
        if full:
            batches = order[: full * plan.batch_size].reshape(full, plan.batch_size)
            carry, losses = jax.lax.scan(
                lambda c, rows: step(c, rows, masks, X, y, lr), carry, batches
            )
            total = jnp.sum(losses) * plan.batch_size
        if rest:
            carry, loss = step(carry, order[full * plan.batch_size :], masks, X, y, lr)
            total = total + loss * rest
        return (*carry, total / plan.n_rows)

    return jax.jit(epoch)


@functools.lru_cache(maxsize=256)
def _compiled_loss(plan: _Plan) -> Any:
    import jax

    compilation_cache()
    return jax.jit(functools.partial(_loss, plan))


# ------------------------------------------------------------------ the Keras side


class JaxEpoch:
    """A Keras model's compiled JAX epoch and loss; ``model`` keeps being the trial's model.

    The model's values (its optimizer's too) are read into JAX arrays at the first
    ``run_epoch`` and stay there, epoch after epoch, until ``sync()`` writes them back into
    the model; ``get_weights()`` and ``loss_on`` read them where they are. After ``sync()``
    the model is where the values live again (restore, score or save it), and the next
    ``run_epoch`` reads them anew. The learning rate is read from the optimizer before each
    epoch, so a warm-up or a callback that sets it works.

    >>> import keras; from tunebench.models import build_mlp
    >>> X, y = np.ones((64, 8), np.float32), np.ones((64, 1), np.float32)
    >>> model = build_mlp(1, 4)
    >>> epoch = JaxEpoch(model, X, y, batch_size=32)
    >>> round(epoch.run_epoch(np.arange(64)), 3) > 0
    True
    >>> epoch.sync(); int(model.optimizer.iterations.numpy())
    2
    """

    engine = "jax"

    def __init__(self, model: Any, X: Any, y: Any, batch_size: int) -> None:
        import jax.numpy as jnp

        from .private_api import (
            keras_learning_rate,
            keras_optimizer_slots,
            keras_variables_of_any_shape,
        )

        self.model = model
        self.plan = _plan(model, batch_size, len(X))
        self._X, self._y = jnp.asarray(X), jnp.asarray(y)
        self.x_dtype, self.y_dtype = np.float32, np.dtype(self._y.dtype)
        layers = list(model.layers)
        self._variables: list[Any] = []  # kernel, bias of each layer (None: no bias)
        for layer in layers:
            self._variables += [layer.kernel, layer.bias if layer.use_bias else None]
        optimizer = model.optimizer
        with keras_variables_of_any_shape():  # only their values are read and written here
            optimizer.build(model.trainable_variables)  # nothing when already built
        self._slots = keras_optimizer_slots(optimizer, self._variables)
        self._learning_rate = keras_learning_rate(optimizer)
        self._masks = []
        for layer in layers[:-1]:
            mask = np.zeros(self.plan.width, np.float32)
            mask[: int(layer.units)] = 1.0
            self._masks.append(jnp.asarray(mask))
        self._state: tuple[Any, Any, Any] | None = None  # params, slots, iteration

    def _shape(self, index: int) -> tuple[int, ...]:
        """The padded shape of variable ``index`` (kernel or bias of layer ``index // 2``)."""
        plan = self.plan
        layer, is_bias = divmod(index, 2)
        fan_in = plan.n_inputs if layer == 0 else plan.width
        fan_out = plan.n_outputs if layer == len(plan.hidden) else plan.width
        return (fan_out,) if is_bias else (fan_in, fan_out)

    def _padded(self, variables: list[Any | None]) -> list[Any]:
        import jax.numpy as jnp

        arrays = []
        for index, variable in enumerate(variables):
            padded = np.zeros(self._shape(index), np.float32)
            if variable is not None:
                value = variable.numpy()
                padded[tuple(slice(0, n) for n in value.shape)] = value
            arrays.append(jnp.asarray(padded))
        return arrays

    def _load(self) -> tuple[Any, Any, Any]:
        """The values held here, else the model's read into JAX arrays (not held: only
        ``run_epoch`` starts holding them)."""
        import jax.numpy as jnp

        if self._state is not None:
            return self._state
        slots = [a for kind in self._slots for a in self._padded(kind)]
        iteration = jnp.int32(int(self.model.optimizer.iterations.numpy()))
        return self._padded(self._variables), slots, iteration

    def _unpadded(self, arrays: list[Any], variables: list[Any | None]) -> list[np.ndarray]:
        return [
            np.asarray(array)[tuple(slice(0, n) for n in variable.shape)]
            for array, variable in zip(arrays, variables, strict=True)
            if variable is not None
        ]

    def get_weights(self) -> list[np.ndarray]:
        """The model's weights as ``model.get_weights()`` would give them after ``sync()``."""
        params, _, _ = self._load()
        return self._unpadded(params, self._variables)

    def sync(self) -> None:
        """Write the values held here back into the model (nothing when none are held)."""
        if self._state is None:
            return
        params, slots, iteration = self._state
        self._state = None
        kinds = [self._variables, *self._slots]
        per_kind = len(self._variables)
        values = [params] + [
            slots[k * per_kind : (k + 1) * per_kind] for k in range(len(kinds) - 1)
        ]
        for variables, arrays in zip(kinds, values, strict=True):
            present = [v for v in variables if v is not None]
            for variable, array in zip(present, self._unpadded(arrays, variables), strict=True):
                variable.assign(array)
        self.model.optimizer.iterations.assign(int(iteration))

    def run_epoch(self, rows: np.ndarray) -> float:
        """Train one epoch over the training rows in the order ``rows``; the mean loss."""
        import jax.numpy as jnp

        params, slots, iteration = self._load()
        lr = jnp.float32(self._learning_rate.numpy())
        params, slots, iteration, loss = _compiled_epoch(self.plan)(
            params,
            slots,
            iteration,
            lr,
            self._masks,
            self._X,
            self._y,
            jnp.asarray(rows, jnp.int32),
        )
        self._state = (params, slots, iteration)
        return float(loss)

    def loss_on(self, X: np.ndarray, y: np.ndarray) -> float:
        """The model's mean loss on (X, y) with its current values."""
        import jax.numpy as jnp

        params, _, _ = self._load()
        return float(_compiled_loss(self.plan)(params, self._masks, jnp.asarray(X), jnp.asarray(y)))
