"""JAX's epoch (``tunebench.jax_epoch``) against TensorFlow's: the same updates for every
model, loss and optimizer it takes, widths padded without changing a value, one compile for
the widths of a bucket, and everything else left to TensorFlow's epoch."""

from functools import partial

import numpy as np
import pytest

from tunebench import KerasObjective, Suggestion
from tunebench.fast_training import FastTrainer
from tunebench.jax_epoch import JaxEpoch, _compiled_epoch, jax_refusal
from tunebench.models import build_mlp, build_network

RNG = np.random.default_rng(0)
X = RNG.normal(size=(300, 8)).astype(np.float32)
TARGETS = {
    "regression": RNG.normal(size=300).astype(np.float32),
    "labels": RNG.integers(0, 4, 300).astype(np.float32),
    "binary": RNG.integers(0, 2, 300).astype(np.float32),
}
TARGETS["one-hot"] = np.eye(4, dtype=np.float32)[TARGETS["labels"].astype(int)]


def sequential(hidden, output="linear", n_outputs=1, loss="mse", optimizer=None, bias=True):
    import keras

    layers = [keras.Input(shape=(8,))]
    layers += [keras.layers.Dense(w, activation=a, use_bias=bias) for w, a in hidden]
    layers.append(keras.layers.Dense(n_outputs, activation=output))
    model = keras.Sequential(layers)
    model.compile(loss=loss, optimizer=optimizer or keras.optimizers.SGD(0.01))
    return model


def _optimizer(name):
    import keras

    return {
        "momentum": lambda: keras.optimizers.SGD(0.01, momentum=0.9),
        "nesterov": lambda: keras.optimizers.SGD(0.01, momentum=0.8, nesterov=True),
        "adam": lambda: keras.optimizers.Adam(0.003),
    }[name]()


CASES = {
    "book MLP, SGD, MSE": (lambda: build_mlp(2, 30, 0.01), "regression", 32),
    "momentum, tanh, no bias": (
        lambda: sequential(
            [(12, "tanh"), (5, "tanh")], optimizer=_optimizer("momentum"), bias=False
        ),
        "regression",
        64,
    ),
    # sigmoid(0) and softplus(0) are not 0: the padded units are masked out
    "sigmoid and softplus hidden layers": (
        lambda: sequential([(13, "sigmoid"), (6, "softplus")]),
        "regression",
        32,
    ),
    "Nesterov, elu": (
        lambda: sequential([(20, "elu")], optimizer=_optimizer("nesterov")),
        "regression",
        16,
    ),
    "Adam, softmax, sparse labels": (
        lambda: build_network(2, 9, 0.003, optimizer="adam", output="softmax", n_outputs=4),
        "labels",
        32,
    ),
    "Adam, sigmoid, binary": (
        lambda: build_network(1, 40, 0.003, optimizer="adam", output="sigmoid"),
        "binary",
        50,
    ),
    "one-hot cross-entropy": (
        lambda: sequential([(7, "relu")], "softmax", 4, "categorical_crossentropy"),
        "one-hot",
        32,
    ),
    "logits, no hidden layer": (
        lambda: sequential([], "linear", 4, _sparse_from_logits()),
        "labels",
        32,
    ),
}


def _sparse_from_logits():
    import keras

    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def train(build, target, batch_size, engine, epochs=3):
    """Per-epoch losses, validation loss, weights and optimizer values after ``epochs``."""
    import keras

    keras.utils.set_random_seed(11)
    model = build()
    trainer = FastTrainer(X, TARGETS[target], engine=engine)
    compiled = trainer.prepare(model, batch_size)
    rng = np.random.default_rng(5)
    losses = [trainer.train_epoch(compiled, rng) for _ in range(epochs)]
    validation = FastTrainer.loss(compiled, X[:100], TARGETS[target][:100])
    compiled.sync()
    optimizer = [np.asarray(v, np.float64) for v in model.optimizer.variables]
    return compiled, losses, validation, model.get_weights(), optimizer


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_model_it_takes_trains_as_tensorflows_epoch(case):
    build, target, batch_size = CASES[case]
    compiled, losses, validation, weights, optimizer = train(build, target, batch_size, "jax")
    assert isinstance(compiled, JaxEpoch)
    _, tf_losses, tf_validation, tf_weights, tf_optimizer = train(
        build, target, batch_size, "tensorflow"
    )
    np.testing.assert_allclose(losses, tf_losses, rtol=1e-5)
    assert validation == pytest.approx(tf_validation, rel=1e-5)
    for ours, theirs in zip(weights + optimizer, tf_weights + tf_optimizer, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
    assert losses[-1] < losses[0]


def test_the_widths_of_a_bucket_share_one_compile_and_train_as_alone():
    before = _compiled_epoch.cache_info().currsize
    for width in (25, 29, 32):  # all padded to 32
        build = partial(build_mlp, 3, width, 0.01)
        _, losses, _, weights, _ = train(build, "regression", 32, "jax")
        _, tf_losses, _, tf_weights, _ = train(build, "regression", 32, "tensorflow")
        np.testing.assert_allclose(losses, tf_losses, rtol=1e-5)
        assert [w.shape for w in weights] == [w.shape for w in tf_weights]
    assert _compiled_epoch.cache_info().currsize == before + 1


def test_the_values_stay_in_jax_until_sync():
    import keras

    keras.utils.set_random_seed(1)
    model = build_mlp(1, 6, 0.05)
    start = model.get_weights()
    epoch = JaxEpoch(model, X, TARGETS["regression"].reshape(-1, 1), batch_size=100)
    epoch.run_epoch(np.arange(300))
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), start, strict=True))
    held = epoch.get_weights()
    assert not np.array_equal(held[0], start[0])
    epoch.sync()
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), held, strict=True))
    assert int(model.optimizer.iterations.numpy()) == 3  # 300 rows, batches of 100
    model.set_weights(start)  # a restore after sync: the next loss reads it
    fresh = JaxEpoch(model, X, TARGETS["regression"].reshape(-1, 1), batch_size=100)
    assert epoch.loss_on(X, TARGETS["regression"]) == pytest.approx(
        fresh.loss_on(X, TARGETS["regression"])
    )


def _refused():
    import keras

    class MyDense(keras.layers.Dense):  # its own call: not what JAX's epoch writes out
        pass

    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    return {
        "Dropout": lambda: build_network(2, 8, dropout=0.2),
        "RMSprop": lambda: sequential([(4, "relu")], optimizer=keras.optimizers.RMSprop()),
        "amsgrad": lambda: sequential([(4, "relu")], optimizer=keras.optimizers.Adam(amsgrad=True)),
        "clipnorm": lambda: sequential([(4, "relu")], optimizer=keras.optimizers.SGD(clipnorm=1)),
        "schedule": lambda: sequential([(4, "relu")], optimizer=keras.optimizers.SGD(schedule)),
        "mae": lambda: sequential([(4, "relu")], loss="mae"),
        "softmax": lambda: sequential([(4, "softmax")]),
        "linear output": lambda: sequential([(4, "relu")], "linear", 4, "categorical_crossentropy"),
        "loss_weights": lambda: _compiled(sequential([(4, "relu")]), loss_weights=[0.5]),
        "MyDense": lambda: _compiled(keras.Sequential([keras.Input((8,)), MyDense(1)])),
    }


def _compiled(model, **kwargs):
    model.compile(loss="mse", optimizer="sgd", **kwargs)
    return model


@pytest.mark.parametrize(
    "reason",
    [
        "Dropout",
        "RMSprop",
        "amsgrad",
        "clipnorm",
        "schedule",
        "mae",
        "softmax",
        "linear output",
        "loss_weights",
        "MyDense",
    ],
)
def test_what_it_cannot_compute_trains_through_tensorflows_epoch(reason):
    model = _refused()[reason]()
    assert reason in jax_refusal(model)
    compiled = FastTrainer(X, TARGETS["regression"], engine="jax").prepare(model, 32)
    assert not isinstance(compiled, JaxEpoch)


def test_a_model_built_without_an_input_shape_trains_through_jax():
    # Keras Tuner's examples: the layers get their shapes when the model first sees data.
    import keras

    def build():
        model = keras.Sequential([keras.layers.Dense(6, activation="relu"), keras.layers.Dense(1)])
        model.compile(loss="mse", optimizer=keras.optimizers.SGD(0.01))
        return model

    compiled, losses, *_ = train(build, "regression", 32, "jax")
    assert isinstance(compiled, JaxEpoch) and losses[-1] < losses[0]


def test_auto_takes_jax_for_epochs_of_many_batches():
    # 300 rows: 10 batches of 32 stay with TensorFlow, 150 of 2 go to JAX.
    trainer = FastTrainer(X, TARGETS["regression"], engine="auto")
    assert not isinstance(trainer.prepare(build_mlp(1, 5), 32), JaxEpoch)
    assert isinstance(trainer.prepare(build_mlp(1, 5), 2), JaxEpoch)
    assert not isinstance(
        FastTrainer(X, TARGETS["regression"], engine="tensorflow").prepare(build_mlp(1, 5), 2),
        JaxEpoch,
    )


def test_a_warm_up_and_early_stopping_run_as_on_tensorflows_epoch(small_housing, monkeypatch):
    # The learning rate is read before each epoch (the warm-up sets it), and early stopping
    # restores the best weights it copied out of the JAX epoch.
    params = {"n_hidden": 2, "n_neurons": 10, "learning_rate": 0.05, "warmup_epochs": 3}
    results = {}
    for engine in ("jax", "tensorflow"):
        monkeypatch.setenv("TUNEBENCH_FAST_ENGINE", engine)
        objective = KerasObjective(build_mlp, small_housing, max_epochs=12, patience=2)
        results[engine] = objective.evaluate(Suggestion(id=0, params=params, seed=4))
    jax_result, tf_result = results["jax"], results["tensorflow"]
    assert jax_result.status == "ok" and jax_result.epochs_run == tf_result.epochs_run
    np.testing.assert_allclose(jax_result.curve, tf_result.curve, rtol=1e-5)
    assert jax_result.test_loss == pytest.approx(tf_result.test_loss, rel=1e-5)
    for ours, theirs in zip(jax_result.state["weights"], tf_result.state["weights"], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
