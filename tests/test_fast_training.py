"""The fast path against model.fit: same learning, same early stopping, NaN stop and
continuation, with each engine (``engine``: JAX's epoch and TensorFlow's); TensorFlow's
architecture cache changes nothing; unusual models fall back to fit."""

import math
import os
import subprocess
import sys

import numpy as np
import pytest

from tunebench import KerasObjective, Suggestion
from tunebench.models import build_mlp, build_network
from tunebench.private_api import keras_variable_storage

PARAMS = {"n_hidden": 2, "n_neurons": 16, "learning_rate": 0.02}


#: The fast path with each engine (``jax``: JAX's epoch for these MLPs), and ``model.fit``.
PATHS = ["jax", "tensorflow", "fit"]


def on_path(path, monkeypatch):
    """Set the fast path's engine for ``path``; the ``fast`` flag of a ``KerasObjective``."""
    if path != "fit":
        monkeypatch.setenv("TUNEBENCH_FAST_ENGINE", path)
    return path != "fit"


def run(objective, params=PARAMS, seed=3, **fields):
    return objective.evaluate(Suggestion(id=0, params=params, seed=seed, **fields))


def test_full_batch_training_matches_fit_step_for_step(small_housing, engine):
    # One batch holds every row, so shuffling cannot matter: both paths make the same updates.
    kwargs = {"max_epochs": 15, "batch_size": 300}
    fast = run(KerasObjective(build_mlp, small_housing, fast=True, **kwargs))
    fit = run(KerasObjective(build_mlp, small_housing, fast=False, **kwargs))
    assert fast.status == fit.status == "ok"
    np.testing.assert_allclose(fast.curve, fit.curve, rtol=1e-4)
    assert fast.test_loss == pytest.approx(fit.test_loss, rel=1e-4)


def test_minibatch_training_learns_like_fit(small_housing, engine):
    fast = run(KerasObjective(build_mlp, small_housing, max_epochs=20, fast=True))
    fit = run(KerasObjective(build_mlp, small_housing, max_epochs=20, fast=False))
    assert fast.loss == pytest.approx(fit.loss, rel=0.25)
    assert fast.curve[-1] < fast.curve[0] and fit.curve[-1] < fit.curve[0]


@pytest.mark.parametrize("path", PATHS)
def test_early_stopping_and_restore_on_every_path(small_housing, path, monkeypatch):
    fast = on_path(path, monkeypatch)
    objective = KerasObjective(build_mlp, small_housing, max_epochs=50, patience=2,
                               min_delta=1e9, fast=fast)  # fmt: skip
    result = run(objective)
    assert result.epochs_run == 3 and result.loss == result.curve[0]


@pytest.mark.parametrize("path", PATHS)
def test_nan_stops_on_every_path(small_housing, path, monkeypatch):
    fast = on_path(path, monkeypatch)
    objective = KerasObjective(build_mlp, small_housing, max_epochs=20, fast=fast)
    result = run(objective, {"n_hidden": 2, "n_neurons": 50, "learning_rate": 5e3})
    assert result.status == "diverged" and result.epochs_run < 20 and result.loss == math.inf


@pytest.mark.parametrize("path", PATHS)
def test_continuation_on_every_path(small_housing, path, monkeypatch):
    fast = on_path(path, monkeypatch)
    objective = KerasObjective(build_mlp, small_housing, fast=fast)
    parent = run(objective, epochs=4)
    child = objective.evaluate(
        Suggestion(id=1, params=PARAMS, seed=4, epochs=8, initial_epoch=4, resume_from=0),
        parent.state,
    )
    fresh = run(objective, epochs=4, seed=4)
    assert child.epochs_run == 4
    assert child.curve[0] < fresh.curve[0]


@pytest.mark.usefixtures("tensorflow_engine")
def test_the_architecture_cache_changes_no_result(small_housing):
    warm = KerasObjective(build_mlp, small_housing, max_epochs=5)
    run(warm, {**PARAMS, "learning_rate": 0.05}, seed=1)  # traces this architecture
    cached = run(warm, PARAMS, seed=2)
    cold = run(KerasObjective(build_mlp, small_housing, max_epochs=5), PARAMS, seed=2)
    assert cached.curve == pytest.approx(cold.curve, rel=1e-6)
    assert len(warm._trainer._cache) == 1


def test_a_custom_train_step_falls_back_to_fit_with_a_notice(small_housing):
    import keras

    class Custom(keras.Sequential):
        def train_step(self, data):
            return super().train_step(data)

    def build(**params):
        model = Custom([keras.Input(shape=(8,)), keras.layers.Dense(1)])
        model.compile(loss="mse", optimizer="sgd")
        return model

    objective = KerasObjective(build, small_housing, max_epochs=2)
    with pytest.warns(UserWarning, match="overrides train_step"):
        result = run(objective, {})
    assert result.status == "ok" and result.epochs_run == 2
    assert len(objective._trainer._cache) == 0
    # ... and fit trains it as without the fast path: over variables of their own shapes
    reference = run(KerasObjective(build, small_housing, max_epochs=2, fast=False), {})
    assert result.curve == pytest.approx(reference.curve, rel=1e-6)


def test_a_new_architecture_meets_no_new_variable_shape(small_housing, engine):
    """TensorFlow loads a kernel for each variable shape it meets (about 1.2 ms, kept for the
    process): a trial of a new width makes its variables in storage of unknown shape."""
    import tensorflow as tf

    objective = KerasObjective(build_mlp, small_housing, max_epochs=2)
    assert run(objective, {**PARAMS, "n_neurons": 9}).status == "ok"  # traced / compiled
    made = []

    def creator(next_creator, **kwargs):
        variable = next_creator(**kwargs)
        made.append(variable.shape)
        return variable

    with tf.variable_creator_scope(creator):
        result = run(objective, {**PARAMS, "n_neurons": 13}, seed=4)  # JAX: the same padding
    assert result.status == "ok", result.error
    assert made and [s for s in made if s.rank and s.is_fully_defined()] == []


def optimizer_built_by_the_builder(make):
    """``make``'s model, its optimizer built by the builder (as ``load_model`` does)."""

    def build(**params):
        model = make(**params)
        model.optimizer.build(model.trainable_variables)
        return model

    return build


def custom_train_step(**params):
    import keras

    class Custom(keras.Sequential):
        def train_step(self, data):
            return super().train_step(data)

    model = Custom([keras.Input(shape=(8,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(0.01))
    return model


@pytest.mark.usefixtures("tensorflow_engine")
@pytest.mark.filterwarnings("ignore:tunebench. the model overrides train_step")
@pytest.mark.parametrize(
    "build", [custom_train_step, build_mlp], ids=["model.fit", "its own trace"]
)
def test_an_optimizer_built_by_the_builder_trains_as_without_the_fast_path(small_housing, build):
    # The variables, built in storage of unknown shape, get storage of their own shapes
    # before fit or their own trace (a built optimizer keeps a model off the trace shared by
    # a depth): the optimizer, built before that, must still know them.
    kwargs = {"max_epochs": 3, "batch_size": 300}
    fast = run(KerasObjective(optimizer_built_by_the_builder(build), small_housing, **kwargs))
    fit = run(KerasObjective(build, small_housing, fast=False, **kwargs))
    assert fast.status == "ok", fast.error
    np.testing.assert_allclose(fast.curve, fit.curve, rtol=1e-4)


def functional_mlp(**params):
    import keras

    inputs = keras.Input((8,))
    outputs = keras.layers.Dense(1)(keras.layers.Dense(12, activation="relu")(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(0.01))
    return model


def normalised_mlp(**params):
    import keras

    layers = [keras.layers.Dense(12), keras.layers.BatchNormalization(), keras.layers.Dense(1)]
    model = keras.Sequential([keras.Input((8,)), *layers])
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(0.05))
    return model


@pytest.mark.usefixtures("tensorflow_engine")
@pytest.mark.parametrize("build", [functional_mlp, normalised_mlp])
def test_a_model_traced_for_its_architecture_matches_fit_step_for_step(small_housing, build):
    # Traced over its own variables (not one trace for all widths), which are built in
    # storage of unknown shape and must get their own shapes back first.
    kwargs = {"max_epochs": 6, "batch_size": 300}
    objective = KerasObjective(build, small_housing, fast=True, **kwargs)
    fast = run(objective, {})
    fit = run(KerasObjective(build, small_housing, fast=False, **kwargs), {})
    assert len(objective._trainer._cache) == 1
    np.testing.assert_allclose(fast.curve, fit.curve, rtol=1e-4)
    # Keras's code reads static shapes (a loss broadcasts its targets by them): the trace saw
    # the model's own shapes
    traced = next(iter(objective._trainer._cache.values())).model
    assert all(keras_variable_storage(v).shape.is_fully_defined() for v in traced.variables)


THREADS_SCRIPT = """
import tensorflow as tf
from tunebench import KerasObjective, Suggestion
from tunebench.models import build_mlp, build_network
from tunebench.tasks import synthetic_regression

objective = KerasObjective(build_mlp, synthetic_regression(n_samples=64), max_epochs=1)
assert objective.evaluate(Suggestion(id=0, params={"n_hidden": 1}, seed=0)).status == "ok"
print(tf.config.threading.get_inter_op_parallelism_threads())
"""


# "0": left to TensorFlow, which then reads TF_NUM_INTEROP_THREADS itself
@pytest.mark.parametrize(("env", "expected"), [({}, "1"), ({"TF_NUM_INTEROP_THREADS": "3"}, "0")])
def test_the_fast_path_takes_one_inter_op_thread_unless_told_otherwise(env, expected):
    environment = {k: v for k, v in os.environ.items() if k != "TF_NUM_INTEROP_THREADS"}
    environment.update(env, TF_CPP_MIN_LOG_LEVEL="2")
    out = subprocess.run(
        [sys.executable, "-c", THREADS_SCRIPT],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert out.stdout.split()[-1] == expected


def traces(objective):
    """How many epoch functions the objective's fast path has traced so far."""
    cache = objective._trainer._cache.values()
    return sum(c.train_epoch.experimental_get_tracing_count() for c in cache)


@pytest.mark.usefixtures("tensorflow_engine")
def test_models_of_one_depth_share_one_trace(small_housing):
    objective = KerasObjective(build_mlp, small_housing, max_epochs=2)
    for n_neurons in (3, 7, 12, 7):
        assert run(objective, {**PARAMS, "n_neurons": n_neurons}).status == "ok"
    assert traces(objective) == 1
    run(objective, {**PARAMS, "n_hidden": 1})  # another depth: another trace
    assert traces(objective) == 2


@pytest.mark.usefixtures("tensorflow_engine")
def test_batch_sizes_share_one_trace_and_train_as_alone(small_housing):
    # The batch size is an argument of the trace: a full batch trained after batches of 16
    # through the same trace still matches fit step for step, and one of 64 trains as alone.
    warm = KerasObjective(build_mlp, small_housing, max_epochs=6)
    run(warm, {**PARAMS, "batch_size": 16})
    full = run(warm, {**PARAMS, "batch_size": 300})
    shared = run(warm, {**PARAMS, "batch_size": 64}, seed=4)
    assert traces(warm) == 1
    fit = run(KerasObjective(build_mlp, small_housing, max_epochs=6, fast=False),
              {**PARAMS, "batch_size": 300})  # fmt: skip
    np.testing.assert_allclose(full.curve, fit.curve, rtol=1e-4)
    alone = run(KerasObjective(build_mlp, small_housing, max_epochs=6),
                {**PARAMS, "batch_size": 64}, seed=4)  # fmt: skip
    assert shared.curve == pytest.approx(alone.curve, rel=1e-6)
    assert shared.curve != pytest.approx(full.curve, rel=1e-3)


BUILDERS = {
    "book MLP, SGD": (build_mlp, {"n_hidden": 2, "learning_rate": 0.02}),
    "dropout, Adam": (
        build_network,
        {"n_hidden": 3, "learning_rate": 0.003, "dropout": 0.2, "optimizer": "adam"},
    ),
}


@pytest.mark.usefixtures("tensorflow_engine")
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_a_width_trains_after_another_exactly_as_alone(small_housing, name):
    # The second model trains in storage that held the first's weights, through the first's
    # trace: nothing of the first may leak into it.
    build, params = BUILDERS[name]
    warm = KerasObjective(build, small_housing, max_epochs=4)
    first = run(warm, {**params, "n_neurons": 13}, seed=1)
    shared = run(warm, {**params, "n_neurons": 6}, seed=2)
    alone = run(KerasObjective(build, small_housing, max_epochs=4), {**params, "n_neurons": 6},
                seed=2)  # fmt: skip
    assert shared.curve == pytest.approx(alone.curve, rel=1e-6)
    assert shared.test_loss == pytest.approx(alone.test_loss, rel=1e-6)
    assert [w.shape for w in shared.state["weights"]][:2] == [(8, 6), (6,)]
    assert shared.curve != pytest.approx(first.curve, rel=1e-3)
    assert traces(warm) == 1


@pytest.mark.usefixtures("tensorflow_engine")
def test_a_width_trained_after_another_matches_fit_step_for_step(small_housing):
    # Adam's update through the shared trace is Keras's own, to float tolerance.
    params = {"n_hidden": 2, "learning_rate": 0.01, "optimizer": "adam"}
    kwargs = {"max_epochs": 8, "batch_size": 300}
    fast = KerasObjective(build_network, small_housing, fast=True, **kwargs)
    run(fast, {**params, "n_neurons": 21})
    shared = run(fast, {**params, "n_neurons": 9})
    fit = run(KerasObjective(build_network, small_housing, fast=False, **kwargs),
              {**params, "n_neurons": 9})  # fmt: skip
    np.testing.assert_allclose(shared.curve, fit.curve, rtol=1e-4)
    assert shared.test_loss == pytest.approx(fit.test_loss, rel=1e-4)
    assert traces(fast) == 1


@pytest.mark.usefixtures("tensorflow_engine")
@pytest.mark.parametrize("arch", [(1, 5), (3, 9)])
def test_one_trace_a_depth_trains_as_one_trace_an_architecture(small_housing, arch):
    params = {"n_hidden": arch[0], "n_neurons": arch[1], "learning_rate": 0.02}
    shared = KerasObjective(build_mlp, small_housing, max_epochs=3)
    run(shared, {**params, "n_neurons": 40}, seed=1)  # the depth's trace, for another width
    apart = KerasObjective(build_mlp, small_housing, max_epochs=3)
    apart._trainer.any_widths = False  # the fast path before: a trace for each architecture
    result, before = run(shared, params), run(apart, params)
    assert result.curve == pytest.approx(before.curve, rel=1e-5)
    assert result.test_loss == pytest.approx(before.test_loss, rel=1e-5)
    assert (traces(shared), traces(apart)) == (1, 1)


@pytest.mark.usefixtures("tensorflow_engine")
def test_dropout_rates_share_one_trace_and_train_as_keras_dropout(small_housing):
    # A searched dropout rate is read from a variable: one trace serves every rate, and each
    # trial trains bit for bit as through a trace of its own (Keras's Dropout layer).
    params = {"n_hidden": 2, "learning_rate": 0.01, "optimizer": "adam"}
    shared = KerasObjective(build_network, small_housing, max_epochs=3)
    for rate, n_neurons in ((0.4, 11), (0.15, 6), (0.3, 9)):
        trial = {**params, "dropout": rate, "n_neurons": n_neurons}
        apart = KerasObjective(build_network, small_housing, max_epochs=3)
        apart._trainer.any_widths = False  # a trace of its own, Keras's Dropout.call
        result, alone = run(shared, trial), run(apart, trial)
        assert result.curve == pytest.approx(alone.curve, rel=1e-6), rate
        assert result.test_loss == pytest.approx(alone.test_loss, rel=1e-6)
    assert traces(shared) == 1
    run(shared, {**params, "dropout": 0.0, "n_neurons": 6})  # no Dropout layer: another trace
    assert traces(shared) == 2


def _normalised_dropout_mlp(n_neurons=8, dropout=0.3, learning_rate=0.01):
    import keras

    model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.LayerNormalization(),
                              keras.layers.Dense(n_neurons, activation="relu"),
                              keras.layers.Dropout(dropout), keras.layers.Dense(1)])  # fmt: skip
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(learning_rate))
    return model


@pytest.mark.usefixtures("tensorflow_engine")
def test_a_model_cached_by_architecture_keeps_its_dropout_rate_in_the_key(small_housing):
    # Not width-free (a normalisation layer): the rate stays in the key, nothing is loaded,
    # and a second trial of the same architecture reuses the trace.
    objective = KerasObjective(_normalised_dropout_mlp, small_housing, max_epochs=2)
    params = {"n_neurons": 8, "dropout": 0.3, "learning_rate": 0.01}
    first, again = run(objective, params, seed=1), run(objective, params, seed=1)
    assert first.status == again.status == "ok" and again.curve == pytest.approx(first.curve)
    run(objective, {**params, "dropout": 0.2})
    assert traces(objective) == 2


@pytest.mark.usefixtures("tensorflow_engine")
def test_a_softmax_head_trains_with_one_trace_a_depth_as_before():
    # A classification loss through the width-free trace, with Adam and dropout.
    from functools import partial

    from tunebench.tasks import split_task

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6))
    task = split_task("blobs", X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0), stratify=True,
                      loss="sparse_categorical_crossentropy")  # fmt: skip
    build = partial(build_network, output="softmax", n_outputs=3)
    params = {"n_hidden": 2, "learning_rate": 0.01, "dropout": 0.1, "optimizer": "adam"}
    shared = KerasObjective(build, task, max_epochs=3)
    run(shared, {**params, "n_neurons": 17}, seed=1)
    apart = KerasObjective(build, task, max_epochs=3)
    apart._trainer.any_widths = False
    result, before = run(shared, {**params, "n_neurons": 5}), run(apart, {**params, "n_neurons": 5})
    assert result.status == "ok" and result.curve == pytest.approx(before.curve, rel=1e-5)
    assert (traces(shared), traces(apart)) == (1, 1)
