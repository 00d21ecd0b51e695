"""The fast training path: one compiled TensorFlow function runs a whole epoch.

``model.fit`` spends most of a small model's epoch on per-step dispatch, not arithmetic. Here
the data live as tensors, each epoch's batches are gathered from a shuffled index (seeded per
trial and epoch), and the model's own loss and optimizer run inside one ``tf.function`` — the
same updates ``fit`` makes, without the per-step Python. Validation is one forward pass.

Tracing a new function costs far more than an epoch of the book's MLP, so traced functions are
cached, and a trial whose model has the same layers, optimizer and loss as an earlier one
trains through the earlier model's compiled epoch: its variables move into the earlier
model's variable storage, each keeping its own value (its optimizer's slots are created
there: ``_build_into``), and it stays the trial's model for everything else (early
stopping, saved state, test metrics). The key holds
everything a trace bakes in as a constant: the model's config (dtype policies included), the
optimizer's config and plain attributes (a learning-rate schedule's too: it is called inside
the trace), the loss's config and plain attributes (Keras's ``Huber.get_config()`` forgets
``delta``), the loss weights and ``floatx``. A float learning rate is left out (Keras keeps
it in a variable, moved like the weights), and so is the batch size: it is an argument of
the traced epoch, so a space that searches ``batch_size`` does not trace once a value. A
model holding code the key cannot describe — a class or function of the user's, a
``Lambda`` layer, a callable learning rate — is traced for its own trial and not cached.

Layer widths are left out of the key too when nothing in the trace reads them
(``_width_free``: a ``Sequential`` of ``Dense`` / ``Dropout`` / ``Activation`` layers and a
Keras optimizer whose update reads no shape): the first such model's variables get storage of
unknown shape (``_storage_of_any_shape``) before its epoch is traced, so every later model of
the same depth, whatever its widths, moves into that storage and reuses the trace. The book's
space then needs four traces (one a depth) instead of one an architecture (298). The forward
pass of such a model is written out layer by layer (``_layer_by_layer``), with the same
operations Keras's ``Dense`` runs when it knows its width; a ``Dropout`` rate is read from a
variable (``_DropoutRate``, Keras's own dropout bit for bit), so that a searched dropout
rate does not cost a trace a trial either. Other models (a functional model, a normalisation
layer, your own layer) are cached by architecture.

A trial's model is built with its variables in storage of unknown shape
(``private_api.keras_variables_of_any_shape``, by ``KerasObjective``; JAX's epoch builds its
optimizer's slots so too): TensorFlow loads a kernel for each variable shape it meets when
it creates, reads or assigns a variable, about 1.2 ms each, so a new architecture's 4-8 new
shapes cost its trial 10 ms more than a known one's. A model traced over its own storage
(not width-free, or ``model.fit``) gets storage of its own shape first
(``storage_of_own_shape``).

The cache holds up to 512 entries. It is large on purpose: TensorFlow keeps what it traced
and the kernels it loaded (about 3 MiB a trace for the book's MLPs) for the life of the
process, even after the Python function is gone, so evicting and retracing costs that memory
again. With one trace a depth, memory stays flat over a search of the book's space
(``benchmarks/memory.py``). For the same reason the objective never empties TensorFlow's
kernel cache between fast-path trials (as ``keras.backend.clear_session()`` would):
reloading a cached epoch's kernels costs ~80 ms.

Two engines run the compiled epoch (``ENGINES``): TensorFlow's, described above, and JAX's
(``tunebench.jax_epoch``), which a plain ``Dense`` MLP takes when JAX is installed and an
epoch holds at least ``JAX_MIN_BATCHES`` batches (``auto``, the default): the whole epoch as
one XLA computation, about 5x faster for the book's MLP, at the price of a compile for each
padded width. ``prepare`` returns either; both train through ``run_epoch`` and score through
``loss_on``, and JAX's holds the values until ``sync()`` (TensorFlow's ``sync`` does nothing).

A compiled epoch is one long chain of small dependent ops, for which TensorFlow's inter-op
thread pool only adds hand-offs: with one inter-op thread an epoch of the 3 x 99 model runs
about 25 % faster here. ``single_inter_op_thread()`` sets that before the first trial when
TensorFlow has not started yet and ``TF_NUM_INTEROP_THREADS`` does not say otherwise.
"""

from __future__ import annotations

import inspect
import json
import os
import warnings
from collections import OrderedDict
from typing import Any

import numpy as np

from .jax_epoch import JaxEpoch, jax_available, jax_refusal
from .private_api import (
    PrivateAPIChanged,
    keras_learning_rate,
    keras_replace_variable_storage,
    keras_set_variable_storage,
    keras_variable_storage,
    keras_variables_into,
    tensorflow_custom_gradients_forgotten,
    warn_changed,
)

__all__ = [
    "ENGINES",
    "JAX_MIN_BATCHES",
    "FastTrainer",
    "check_engine",
    "engine_label",
    "fast_path_refusal",
    "jax_engine_for",
    "single_inter_op_thread",
    "storage_of_own_shape",
]

#: The fast path's engines: ``auto`` trains a model JAX's epoch takes (``jax_epoch``, when JAX
#: is installed) with it when an epoch holds at least ``JAX_MIN_BATCHES`` batches, and every
#: other model with TensorFlow's; ``jax`` takes JAX's whenever it can; ``tensorflow`` never.
#: ``TUNEBENCH_FAST_ENGINE`` sets the default.
ENGINES = ("auto", "jax", "tensorflow")

#: Below this many batches an epoch, ``auto`` keeps TensorFlow's epoch: JAX's saves about
#: 0.1 ms a batch (measured on the book's MLP), while each new padded width costs it a compile
#: (about a second, or a few hundred milliseconds from its on-disk cache), which a few small
#: epochs never pay back.
JAX_MIN_BATCHES = 64


def engine_label(engine: str | None = None) -> str:
    """The engine in effect as a report names it: ``check_engine``'s, or ``tensorflow (JAX
    not installed)`` when JAX's epoch was asked for but JAX is missing."""
    engine = check_engine(engine)
    if engine != "tensorflow" and not jax_available():
        return "tensorflow (JAX not installed)"
    return engine


def check_engine(engine: str | None) -> str:
    """The engine to use: ``engine``, else ``TUNEBENCH_FAST_ENGINE``, else ``auto``.

    >>> check_engine("tensorflow")
    'tensorflow'
    """
    source = "engine"
    if engine is None:
        engine, source = os.environ.get("TUNEBENCH_FAST_ENGINE", "auto"), "TUNEBENCH_FAST_ENGINE"
    if engine not in ENGINES:
        raise ValueError(f"{source} must be one of {', '.join(ENGINES)}, got {engine!r}")
    return engine


_inter_op_decided = False  # the pool is fixed once TensorFlow starts: decide once a process


def jax_engine_for(n_rows: int, batch_size: int, engine: str | None = None) -> bool:
    """Whether ``engine`` (``ENGINES``; None: ``TUNEBENCH_FAST_ENGINE`` or ``auto``) trains an
    epoch of ``n_rows`` rows in batches of ``batch_size`` on JAX, for a model JAX's epoch
    takes (``jax_refusal``): ``auto`` only from ``JAX_MIN_BATCHES`` batches an epoch.

    >>> jax_engine_for(11_610, 32, "tensorflow"), jax_engine_for(1_000, 32, "auto")
    (False, False)
    """
    engine = check_engine(engine)
    if engine == "tensorflow" or not jax_available():
        return False
    return engine == "jax" or n_rows >= JAX_MIN_BATCHES * batch_size


def single_inter_op_thread() -> bool:
    """Give TensorFlow's inter-op pool one thread; True when the setting was made.

    Leaves TensorFlow alone when the user chose (``TF_NUM_INTEROP_THREADS``) or when it has
    already run an op in this process (the pool is fixed then). Intra-op threads (the ones a
    matmul uses) are untouched. Only the first call in a process does anything, so it is
    free to call before every trial.
    """
    global _inter_op_decided
    if _inter_op_decided:
        return False
    _inter_op_decided = True
    if "TF_NUM_INTEROP_THREADS" in os.environ:
        return False
    import tensorflow as tf

    if tf.config.threading.get_inter_op_parallelism_threads() == 1:
        return False
    try:
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already initialised
        return False
    return True


def fast_path_refusal(model: Any) -> str | None:
    """Why the fast path cannot train ``model`` (None when it can)."""
    import keras

    if type(model).train_step is not keras.Model.train_step:
        return "the model overrides train_step"
    inputs = getattr(model, "inputs", None)
    if inputs is not None and len(inputs) != 1:
        return f"the model has {len(inputs)} inputs"
    if getattr(model, "loss", None) is None:
        return "the model was compiled without a loss"
    return None


class _NotCacheable(Exception):
    """The model holds something the cache key cannot describe (user code, mostly)."""


class _Skip(Exception):
    """An attribute holding an object: described by its owner's config, if at all."""


def _from_keras(obj: Any) -> bool:
    """Whether ``obj`` (a function, or an instance of a class) is defined by Keras itself."""
    function = inspect.isfunction(obj) or inspect.isbuiltin(obj)
    module = str(obj.__module__ if function else type(obj).__module__)
    return module == "keras" or module.startswith("keras.")


#: How Keras serialises data in a config (a functional model's wiring, constants): not code.
_DATA_CLASSES = frozenset(
    {"__keras_tensor__", "__numpy__", "__tensor__", "__bytes__", "__slice__", "__ellipsis__",
     "__typespec__"}
)  # fmt: skip


def _keras_config(obj: Any, *, keep_names: bool = False) -> Any:
    """``obj.get_config()`` without names, refusing anything not defined by Keras itself.

    A user's layer, function or ``Lambda`` can bake any Python constant into the trace, which
    no config describes, so such models are not shared. ``keep_names`` keeps the layer names
    that a functional model's wiring refers to.
    """
    if not _from_keras(obj):
        raise _NotCacheable(f"{type(obj).__qualname__} is not a Keras class")

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            class_name = value.get("class_name")
            if class_name in _DATA_CLASSES or str(class_name).endswith("DTypePolicy"):
                return value  # data; a policy's "name" is the policy ("float32")
            if class_name is not None:
                module = str(value.get("module"))
                if (
                    class_name in ("Lambda", "__lambda__")
                    or value.get("registered_name") is not None
                    or not (module == "keras" or module.startswith("keras."))
                ):
                    raise _NotCacheable(f"the model holds user code: {class_name}")
            return {k: walk(v) for k, v in value.items() if keep_names or k != "name"}
        if isinstance(value, (list, tuple)):
            return [walk(v) for v in value]
        return value

    return [type(obj).__module__, type(obj).__qualname__, walk(obj.get_config())]


#: Plain-valued attributes that are an object's state, not constants a trace reads (a built
#: optimizer's index of its variables, by their storage's ids: new in every trial)
_STATE = ("name", "_name", "built", "_lock", "_trainable_variables_indices")


def _constants(obj: Any) -> dict[str, Any]:
    """The plain-valued attributes of a Keras object: the Python constants its code may read.

    Catches what its config forgets (``Huber.get_config()`` leaves ``delta`` out). Attributes
    holding objects are left to the config; variables are state, copied on a cache hit.
    """

    def plain(value: Any) -> Any:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, (set, frozenset)):
            return sorted(map(repr, value))
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if inspect.isfunction(value) or inspect.isbuiltin(value):
            if not _from_keras(value):
                raise _NotCacheable(f"the model holds the function {value.__qualname__}")
            return f"{value.__module__}.{value.__qualname__}"
        raise _Skip

    out = {}
    for name, value in vars(obj).items():
        if name in _STATE or name.startswith("_self_"):
            continue
        try:
            out[name] = plain(value)
        except _Skip:
            continue
    return out


def _optimizer_key(optimizer: Any) -> Any:
    """The optimizer's class, config and constants; a float learning rate is left out, since
    Keras keeps it in a variable (a schedule is called inside the trace: it stays in)."""
    import keras
    from keras.optimizers.schedules import LearningRateSchedule

    rate = keras_learning_rate(optimizer)
    if isinstance(rate, LearningRateSchedule):
        schedule = [_keras_config(rate), _constants(rate)]
    elif isinstance(rate, keras.Variable):
        schedule = "a variable"
    else:
        raise _NotCacheable(f"the learning rate is {rate!r}, neither a number nor a schedule")
    module, name, config = _keras_config(optimizer)
    config.pop("learning_rate", None)
    return [module, name, config, schedule, _constants(optimizer)]


def _loss_key(loss: Any) -> Any:
    """A compiled loss: a name, a Keras function, a Keras ``Loss`` (config and constants), or
    a list / dict of them."""
    import keras

    if loss is None or isinstance(loss, str):
        return loss
    if isinstance(loss, (list, tuple)):
        return [_loss_key(v) for v in loss]
    if isinstance(loss, dict):
        return {str(k): _loss_key(v) for k, v in loss.items()}
    if inspect.isfunction(loss) and _from_keras(loss):
        return f"{loss.__module__}.{loss.__qualname__}"
    if isinstance(loss, keras.losses.Loss):
        return [_keras_config(loss), _constants(loss)]
    raise _NotCacheable(f"the loss {loss!r} is user code")


def _is_sequential(model: Any) -> bool:
    import keras

    return isinstance(model, keras.Sequential)


#: Keras layers whose ``call`` reads no layer width: a model made of these alone is traced
#: once for all its widths (its variables' storage has unknown dimensions).
_WIDTH_FREE_LAYERS = frozenset({"InputLayer", "Dense", "Dropout", "Activation"})
#: Keras optimizers whose update reads no variable's shape (gradient accumulation and the
#: moving average excepted: see ``_width_free``).
_WIDTH_FREE_OPTIMIZERS = frozenset(
    {"SGD", "Adam", "AdamW", "Adamax", "Nadam", "RMSprop", "Adagrad", "Adadelta", "Ftrl", "Lion"}
)


def _width_free(model: Any) -> bool:
    """Whether one trace of ``model``'s epoch serves every model that differs from it only
    in the widths of its layers: a ``keras.Sequential`` of Keras ``Dense`` (no LoRA,
    quantisation, activity regulariser or mixed precision) / ``Dropout`` / ``Activation``
    layers, a Keras optimizer from ``_WIDTH_FREE_OPTIMIZERS`` not built yet,
    without gradient accumulation or a moving average (both read variables' shapes)."""
    import keras

    if type(model) is not keras.Sequential:
        return False
    for layer in model.layers:
        name = type(layer).__name__
        if name not in _WIDTH_FREE_LAYERS or not _from_keras(layer):
            return False
        if name == "Dense" and (
            getattr(layer, "lora_enabled", False)
            or getattr(layer, "quantization_mode", None)
            or layer.activity_regularizer is not None
            or layer.dtype_policy.compute_dtype != layer.dtype_policy.variable_dtype
        ):
            return False
    optimizer = model.optimizer
    return (
        type(optimizer).__name__ in _WIDTH_FREE_OPTIMIZERS
        and _from_keras(optimizer)
        and not optimizer.built
        and not getattr(optimizer, "gradient_accumulation_steps", None)
        and not getattr(optimizer, "use_ema", False)
    )


def _without_widths(config: Any) -> Any:
    """A model's config with every layer width and dropout rate left out: ``Dense`` units,
    the shapes the layers were built for, and a ``Dropout`` rate strictly between 0 and 1
    (``_DropoutRate`` reads it from a variable; rates 0 and 1, which Keras treats apart, stay
    in).

    >>> _without_widths({"class_name": "Dropout", "config": {"rate": 0.3, "seed": None}})
    {'class_name': 'Dropout', 'config': {'rate': 'between 0 and 1', 'seed': None}}
    """
    if isinstance(config, list):
        return [_without_widths(v) for v in config]
    if not isinstance(config, dict):
        return config
    out = {k: _without_widths(v) for k, v in config.items() if k != "build_config"}
    inner = out.get("config")
    if isinstance(inner, dict) and out.get("class_name") == "Dense":
        out["config"] = {k: v for k, v in inner.items() if k != "units"}
    if isinstance(inner, dict) and out.get("class_name") == "Dropout" and 0 < inner["rate"] < 1:
        out["config"] = {**inner, "rate": "between 0 and 1"}
    return out


def _architecture_key(model: Any, *, any_widths: bool = True) -> tuple[str | None, bool]:
    """Everything a traced epoch bakes in besides variable values and the batch size (an
    argument of the trace), as a string (None when the model holds something no key can
    describe: it is then traced for itself), and whether the key leaves the layers' widths
    out (``_width_free``, and ``any_widths``)."""
    import keras

    try:
        with warnings.catch_warnings():  # serialising a lambda warns; it is refused anyway
            warnings.simplefilter("ignore")
            compile_config = model.get_compile_config() or {}
            model_config = _keras_config(model, keep_names=not _is_sequential(model))
            width_free = any_widths and _width_free(model)
            if width_free:  # the model's own input and output shapes stay in
                model_config = [
                    _without_widths(model_config),
                    str(model.input_shape),
                    str(model.output_shape),
                ]
            key = json.dumps(
                {
                    "model": model_config,
                    "any_widths": width_free,
                    "optimizer": _optimizer_key(model.optimizer),
                    "loss": _loss_key(model.loss),
                    "loss_weights": compile_config.get("loss_weights"),
                    "floatx": keras.backend.floatx(),
                },
                sort_keys=True,
            )
            return key, width_free
    except (_NotCacheable, TypeError, ValueError, NotImplementedError):
        return None, False


def _storage_of_any_shape(variables: list[Any]) -> None:
    """Give each Keras variable storage whose dimensions are all unknown (same value), so
    that a function traced over it serves variables of any width."""
    for variable in variables:
        storage = keras_variable_storage(variable)
        if all(dimension is None for dimension in storage.shape):  # already (a scalar too)
            continue
        _move_to_new_storage(variable, storage, [None] * storage.shape.rank)


def storage_of_own_shape(variables: list[Any]) -> None:
    """Give each Keras variable whose storage has unknown dimensions (made by
    ``keras_variables_of_any_shape``) storage of its own shape, holding the same value: what a
    function traced over the model (its own epoch, ``model.fit``) needs to see its shapes.

    >>> import keras
    >>> from tunebench.private_api import keras_variables_of_any_shape
    >>> with keras_variables_of_any_shape():
    ...     weight = keras.Variable(keras.initializers.Ones(), shape=(2, 3))
    >>> storage_of_own_shape([weight])
    >>> keras_variable_storage(weight).shape.as_list(), float(weight.numpy().sum())
    ([2, 3], 6.0)
    """
    for variable in variables:
        try:
            storage = keras_variable_storage(variable)
        except PrivateAPIChanged:  # then no storage of unknown shape was made either
            return
        if not storage.shape.is_fully_defined():
            _move_to_new_storage(variable, storage, tuple(variable.shape))


def _move_to_new_storage(variable: Any, storage: Any, shape: Any) -> None:
    """Put the Keras ``variable``'s value (now in ``storage``) into a new ``tf.Variable`` of
    ``shape`` and ``storage``'s settings, under the key its optimizer knows it by."""
    import tensorflow as tf

    new = tf.Variable(
        storage,
        shape=tf.TensorShape(shape),
        dtype=storage.dtype,
        trainable=storage.trainable,
        name=storage.name.split(":")[0],
        aggregation=storage.aggregation,
        synchronization=storage.synchronization,
    )
    try:
        keras_replace_variable_storage(variable, new)
    except PrivateAPIChanged as exc:  # an optimizer built already would not know it
        warn_changed(exc, "new variable storage under a new key")
        keras_set_variable_storage(variable, new)


def _share_storage(variables: list[Any], cached: list[Any]) -> None:
    """Let each of ``variables`` (a new trial's) live in the storage of its counterpart in
    ``cached`` (the model a compiled epoch was traced for), holding its own value."""
    if len(variables) != len(cached):
        raise RuntimeError(
            f"tunebench's fast path matched a model of {len(variables)} variables with a "
            f"cached one of {len(cached)}; please report it (fast=False avoids it)"
        )
    for variable, template in zip(variables, cached, strict=True):
        own, storage = keras_variable_storage(variable), keras_variable_storage(template)
        if own is storage:
            continue
        shape = tuple(variable.shape)  # Keras's: its storage's may be unknown
        if own.dtype != storage.dtype or not storage.shape.is_compatible_with(shape):
            raise RuntimeError(
                f"tunebench's fast path matched {variable.path} {shape} {own.dtype.name} "
                f"with a cached {storage.shape} {storage.dtype.name}; please report it "
                "(fast=False avoids it)"
            )
        storage.assign(own)
        keras_set_variable_storage(variable, storage)


def _build_into(optimizer: Any, variables: list[Any], cached: Any) -> None:
    """Build ``optimizer`` for ``variables`` with its new variables (slots) created straight
    in the storage of their counterparts in ``cached`` (``keras_variables_into``), each holding
    its own initial value — what ``_share_storage`` would do after a plain ``build``, without
    making ``tf.Variable``s to throw away. Nothing when ``optimizer`` is built already."""
    if optimizer.built:
        return
    existing = len(optimizer.variables)
    try:
        storages = [keras_variable_storage(v) for v in cached.variables[existing:]]
        with keras_variables_into(storages):
            optimizer.build(variables)
    except PrivateAPIChanged as exc:  # raised before the build began
        warn_changed(exc, "a plain optimizer build (slower)")
        optimizer.build(variables)


class _DropoutRate:
    """A ``Dropout`` layer's rate held in variables, so that one trace serves every rate:
    ``load`` sets the rate of the trial's own layer before it trains.

    Its ``__call__`` makes Keras's own dropout (``stateless_dropout`` seeded from the layer's
    seed generator) with the same arithmetic: the input times ``1 / (1 - rate)`` (rounded
    from double precision, as TensorFlow rounds a Python rate), kept where a uniform draw is
    ``>= rate``. Only for rates strictly between 0 and 1 (``_has_a_rate``): Keras makes no
    seed generator at rate 0, and zeros at rate 1.
    """

    def __init__(self, layer: Any) -> None:
        import tensorflow as tf

        self.layer = layer
        self.dtype = layer.compute_dtype
        self.rate = tf.Variable(np.zeros((), self.dtype), trainable=False)
        self.scale = tf.Variable(np.ones((), self.dtype), trainable=False)
        self.load(layer)

    def load(self, layer: Any) -> None:
        self.rate.assign(np.asarray(layer.rate, self.dtype))
        self.scale.assign(np.asarray(1.0 / (1.0 - float(layer.rate)), self.dtype))

    def __call__(self, x: Any, training: bool) -> Any:
        import tensorflow as tf

        if not training:
            return x
        seed = self.layer.seed_generator.next()
        if seed.dtype != tf.int32:  # as Keras's TensorFlow backend casts it
            seed = tf.cast(tf.math.floormod(seed, tf.int32.max - 1), tf.int32)
        shape = tf.shape(x)
        if self.layer.noise_shape is not None:
            shape = [shape[i] if n is None else n for i, n in enumerate(self.layer.noise_shape)]
        uniform = tf.random.stateless_uniform(shape, seed=seed, dtype=x.dtype, alg=None)
        return tf.where(uniform >= self.rate, x * self.scale, tf.zeros((), x.dtype))


def _layer_by_layer(model: Any) -> tuple[Any, list[_DropoutRate]]:
    """``model``'s forward pass (a ``_width_free`` Sequential) for storage of unknown shape,
    and the variables holding its dropout rates (``_DropoutRate``, in layer order).

    Each ``Dense`` layer's own computation (``matmul``, bias, activation) is written out,
    because Keras's ``ops.add`` picks ``BiasAdd`` only when it sees the bias's width; its
    broadcasting add instead costs each batch step 18 more graph ops (166, against 148 here
    and 152 for a trace of known widths) and TensorFlow's MatMul + BiasAdd fusion. Each
    ``Dropout`` reads its rate from a variable. Other layers are called as usual.
    """
    import tensorflow as tf

    layers = list(model.layers)
    rates = {id(layer): _DropoutRate(layer) for layer in layers if _has_a_rate(layer)}

    def forward(x: Any, training: bool) -> Any:
        for layer in layers:
            if id(layer) in rates:
                x = rates[id(layer)](x, training)
            elif type(layer).__name__ != "Dense":
                x = layer(x, training=training)
            else:
                x = tf.matmul(tf.cast(x, layer.compute_dtype), layer.kernel)
                if layer.bias is not None:
                    x = tf.nn.bias_add(x, layer.bias)
                if layer.activation is not None:
                    x = layer.activation(x)
        return x

    return forward, list(rates.values())


def _has_a_rate(layer: Any) -> bool:
    """A ``Dropout`` layer whose rate a ``_DropoutRate`` holds (strictly between 0 and 1)."""
    return type(layer).__name__ == "Dropout" and 0 < layer.rate < 1


class _Compiled:
    """A model and its traced epoch and evaluation functions (``width_free``: traced over
    storage of unknown shape, with ``_layer_by_layer``'s forward pass). The batch size is an
    argument of the epoch, so one trace serves every batch size; ``batch_size`` is the
    current trial's (``FastTrainer.prepare`` sets it)."""

    def __init__(self, model: Any, X: Any, y: Any, batch_size: int, width_free: bool) -> None:
        import tensorflow as tf

        self.model = model
        self.batch_size = batch_size
        forward, self.dropout_rates = _layer_by_layer(model) if width_free else (model, [])
        n = int(X.shape[0])
        variables = model.trainable_variables
        optimizer = model.optimizer
        optimizer.build(variables)  # nothing when already built

        @tf.function(input_signature=[tf.TensorSpec([n], tf.int32), tf.TensorSpec([], tf.int32)])
        def train_epoch(order: tf.Tensor, batch_size: tf.Tensor) -> tf.Tensor:
            total = tf.constant(0.0, dtype=tf.float32)
            steps = (n + batch_size - 1) // batch_size
            for step in tf.range(steps):
                rows = order[step * batch_size : (step + 1) * batch_size]
                x_batch, y_batch = tf.gather(X, rows), tf.gather(y, rows)
                with tf.GradientTape() as tape:
                    y_pred = forward(x_batch, training=True)
                    loss = model.compute_loss(x=x_batch, y=y_batch, y_pred=y_pred, training=True)
                gradients = tape.gradient(loss, variables)
                optimizer.apply(gradients, variables)
                total += tf.cast(loss, tf.float32) * tf.cast(tf.shape(rows)[0], tf.float32)
            return total / n

        # Any number of rows: the validation and test splits share one trace.
        self.x_dtype, self.y_dtype = X.dtype.as_numpy_dtype, y.dtype.as_numpy_dtype
        signature = [
            tf.TensorSpec([None, *X.shape[1:]], X.dtype),
            tf.TensorSpec([None, *y.shape[1:]], y.dtype),
        ]

        @tf.function(input_signature=signature)
        def loss_on(x: tf.Tensor, y_true: tf.Tensor) -> tf.Tensor:
            y_pred = forward(x, training=False)
            return model.compute_loss(x=x, y=y_true, y_pred=y_pred, training=False)

        # Traced now, not on the first epoch, so that the gradient function Keras's optimizer
        # registers for the process's life in each trace (and that holds the whole graph)
        # can be unregistered: these functions are never differentiated.
        with tensorflow_custom_gradients_forgotten():
            train_epoch.get_concrete_function()
            loss_on.get_concrete_function()
        self.train_epoch = train_epoch
        self.loss_on = loss_on

    def sync(self) -> None:
        """Nothing: the model's own variables are what trains (``JaxEpoch.sync`` writes)."""

    def run_epoch(self, rows: np.ndarray) -> float:
        """One epoch over the training rows in the order ``rows``; the mean training loss."""
        import tensorflow as tf

        order = tf.constant(rows.astype(np.int32))
        return float(self.train_epoch(order, tf.constant(self.batch_size, tf.int32)))


class FastTrainer:
    """Trains Keras models on one task's training split with compiled whole epochs.

    >>> FastTrainer(np.zeros((10, 3), np.float32), np.zeros(10, np.float32)).n_rows
    10
    """

    def __init__(
        self,
        X_train: np.ndarray,
        y_train: np.ndarray,
        *,
        cache_size: int = 512,
        any_widths: bool = True,
        engine: str | None = None,
    ) -> None:
        self.any_widths = any_widths  # False: one trace per architecture, as before (benchmarks)
        self.engine = check_engine(engine)
        self._X_np = X_train
        self._y_np = y_train
        self.n_rows = len(X_train)
        self.cache_size = cache_size
        self._tensors: tuple[Any, Any] | None = None
        self._jax_arrays: tuple[Any, Any] | None = None
        self._cache: OrderedDict[str, _Compiled] = OrderedDict()

    def __getstate__(self) -> dict[str, Any]:  # tensors and traces stay in their process
        return {**self.__dict__, "_tensors": None, "_jax_arrays": None, "_cache": OrderedDict()}

    def _targets(self) -> np.ndarray:
        return self._y_np.reshape(len(self._y_np), -1) if self._y_np.ndim == 1 else self._y_np

    def _data(self) -> tuple[Any, Any]:
        if self._tensors is None:
            import tensorflow as tf

            self._tensors = (tf.constant(self._X_np), tf.constant(self._targets()))
        return self._tensors

    def _jax_data(self) -> tuple[Any, Any]:
        if self._jax_arrays is None:
            import jax.numpy as jnp

            X = np.asarray(self._X_np, np.float32)
            self._jax_arrays = (jnp.asarray(X), jnp.asarray(self._targets()))
        return self._jax_arrays

    def prepare(self, model: Any, batch_size: int) -> _Compiled | JaxEpoch:
        """The compiled functions that train ``model`` (which keeps being the trial's model).

        On a cache hit ``model``'s variables, its optimizer's too, move into the storage of
        the cached model the functions were traced for (each keeping its own value); else
        ``model`` is traced now — over storage of unknown shape when its key leaves widths
        out, so that later models of other widths can move in. A model built without an
        input shape (Keras Tuner's examples) is built first, on one training row.
        """
        if not model.built:  # else it would have no variables to move into a cached model
            model(self._data()[0][:1])
        if self._takes_jax(model, batch_size):
            return JaxEpoch(model, *self._jax_data(), batch_size)
        key, width_free = _architecture_key(model, any_widths=self.any_widths)
        compiled = None if key is None else self._cache.get(key)
        if compiled is None:
            X, y = self._data()
            if key is not None:
                try:
                    if width_free:
                        _storage_of_any_shape(model.variables)
                        model.optimizer.build(model.trainable_variables)
                        _storage_of_any_shape(model.optimizer.variables)
                    for variable in model.variables:  # sharing it later will work
                        keras_variable_storage(variable)
                except PrivateAPIChanged as exc:
                    warn_changed(exc, "each fast-path trial traces its own epoch (slower)")
                    key = None
            if not (width_free and key is not None):  # traced over its own storage
                storage_of_own_shape([*model.variables, *model.optimizer.variables])
            compiled = _Compiled(model, X, y, batch_size, width_free and key is not None)
            if key is None:  # traced for this trial only
                return compiled
            self._cache[key] = compiled
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
            return compiled
        self._cache.move_to_end(key)
        compiled.batch_size = batch_size
        _build_into(model.optimizer, model.trainable_variables, compiled.model.optimizer)
        _share_storage(model.variables, compiled.model.variables)
        _share_storage(model.optimizer.variables, compiled.model.optimizer.variables)
        if compiled.dropout_rates:  # width-free: the rates are not in the key, load them
            dropouts = [layer for layer in model.layers if _has_a_rate(layer)]
            for rate, layer in zip(compiled.dropout_rates, dropouts, strict=True):
                rate.load(layer)
        return compiled

    def _takes_jax(self, model: Any, batch_size: int) -> bool:
        """Whether ``model`` trains through JAX's epoch (``ENGINES``)."""
        return jax_engine_for(self.n_rows, batch_size, self.engine) and jax_refusal(model) is None

    def traces(self) -> int:
        """How many epoch functions the cache holds traces of (one each, normally)."""
        return sum(c.train_epoch.experimental_get_tracing_count() for c in self._cache.values())

    def train_epoch(
        self, compiled: _Compiled | JaxEpoch, rng: np.random.Generator, *, shuffle: bool = True
    ) -> float:
        """One epoch over the shuffled training split (in order: ``shuffle=False``); the
        mean training loss."""
        rows = rng.permutation(self.n_rows) if shuffle else np.arange(self.n_rows)
        return compiled.run_epoch(rows)

    @staticmethod
    def loss(compiled: _Compiled | JaxEpoch, X: np.ndarray, y: np.ndarray) -> float:
        """The compiled loss of the model on (X, y), in one pass (chunks of 65,536 rows)."""
        X = np.asarray(X, dtype=compiled.x_dtype)
        y = np.asarray(y, dtype=compiled.y_dtype)
        y = y.reshape(len(y), -1) if y.ndim == 1 else y
        chunk = 65_536
        if len(X) <= chunk:
            return float(compiled.loss_on(X, y))
        total = sum(
            float(compiled.loss_on(X[i : i + chunk], y[i : i + chunk])) * len(X[i : i + chunk])
            for i in range(0, len(X), chunk)
        )
        return total / len(X)
