"""KerasObjective on real (small) data: early stopping, divergence, failures, continuation."""

import math
import random

import numpy as np
import pytest

from tunebench import FunctionObjective, KerasObjective, Suggestion
from tunebench.models import build_mlp


def suggestion(params, **fields):
    return Suggestion(id=0, params=params, seed=fields.pop("seed", 7), **fields)


def test_the_books_build_model_works_unchanged_and_gets_plain_ints(small_housing):
    import keras

    seen = {}

    def build_model(n_hidden=1, n_neurons=30, learning_rate=3e-3, input_shape=[8]):  # noqa: B006
        seen.update(n_hidden=n_hidden, n_neurons=n_neurons, input_shape=input_shape)
        model = keras.models.Sequential()
        model.add(keras.layers.InputLayer(shape=input_shape))
        for _ in range(n_hidden):
            model.add(keras.layers.Dense(n_neurons, activation="relu"))
        model.add(keras.layers.Dense(1))
        model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=learning_rate))
        return model

    from tunebench import Space

    params = Space.from_dict({"n_hidden": [0, 1, 2, 3], "n_neurons": np.arange(1, 100)}).validate(
        {"n_hidden": np.int64(2), "n_neurons": np.int64(17)}
    )
    result = KerasObjective(build_model, small_housing, max_epochs=3).evaluate(suggestion(params))
    assert result.status == "ok", result.error
    assert type(seen["n_neurons"]) is int and seen["input_shape"] == (8,)
    assert result.epochs_run == 3 and len(result.curve) == 3
    assert result.loss == min(result.curve)
    assert math.isfinite(result.test_loss)


@pytest.mark.parametrize("fast", [True, False])
def test_same_seed_same_training(small_housing, fast):
    objective = KerasObjective(build_mlp, small_housing, max_epochs=3, fast=fast)
    a = objective.evaluate(suggestion({"n_hidden": 1, "n_neurons": 8}))
    b = objective.evaluate(suggestion({"n_hidden": 1, "n_neurons": 8}))
    c = objective.evaluate(suggestion({"n_hidden": 1, "n_neurons": 8}, seed=8))
    assert a.curve == b.curve
    assert a.curve != c.curve


def test_training_leaves_global_random_state_alone(small_housing):
    random.seed(123)
    np.random.seed(123)
    expected = (random.random(), np.random.random())
    random.seed(123)
    np.random.seed(123)
    KerasObjective(build_mlp, small_housing, max_epochs=1).evaluate(suggestion({}))
    assert (random.random(), np.random.random()) == expected


def test_early_stopping_restores_the_best_epoch(small_housing):
    # min_delta so large that nothing after the first epoch counts as an improvement.
    objective = KerasObjective(build_mlp, small_housing, max_epochs=50, patience=2, min_delta=1e9)
    result = objective.evaluate(suggestion({"learning_rate": 0.01}))
    assert result.status == "ok"
    assert result.epochs_run == 3  # the first epoch, then two without improvement
    assert result.loss == result.curve[0]


def test_nan_loss_stops_the_trial_as_diverged(small_housing):
    objective = KerasObjective(build_mlp, small_housing, max_epochs=20)
    result = objective.evaluate(suggestion({"n_hidden": 2, "n_neurons": 50, "learning_rate": 5e3}))
    assert result.status == "diverged" and result.loss == math.inf
    assert result.epochs_run < 20


def test_user_errors_become_failed_results(small_housing):
    def broken(**params):
        raise RuntimeError("units must be even, got 7")

    def not_compiled(**params):
        import keras

        return keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(1)])

    failed = KerasObjective(broken, small_housing).evaluate(suggestion({"units": 7}))
    assert failed.status == "failed" and "units must be even, got 7" in failed.error
    assert failed.loss == math.inf and failed.epochs_run == 0
    failed = KerasObjective(not_compiled, small_housing).evaluate(suggestion({}))
    assert failed.status == "failed" and "model.compile" in failed.error


def test_continuation_charges_only_new_epochs_and_keeps_learning(small_housing):
    objective = KerasObjective(build_mlp, small_housing, max_epochs=100)
    params = {"n_hidden": 1, "n_neurons": 16, "learning_rate": 0.01}
    parent = objective.evaluate(suggestion(params, epochs=4))
    child = objective.evaluate(
        suggestion(params, epochs=7, initial_epoch=4, resume_from=0), state=parent.state
    )
    fresh = objective.evaluate(suggestion(params, epochs=3))
    assert child.status == "ok" and child.epochs_run == 3
    # The continued model starts where the parent stopped, not from scratch.
    assert child.curve[0] < fresh.curve[0]
    assert child.curve[0] <= parent.loss * 1.1
    assert [a.shape for a in child.state["weights"]] == [a.shape for a in parent.state["weights"]]


def test_bad_keras_objective_arguments(small_housing):
    with pytest.raises(ValueError, match=r"patience.*0"):
        KerasObjective(build_mlp, small_housing, patience=0)
    with pytest.raises(TypeError, match="Task"):
        KerasObjective(build_mlp, (np.zeros((2, 2)), np.zeros(2)))


def test_function_objective_with_fidelity():
    objective = FunctionObjective(lambda x, epochs: x / epochs, max_epochs=20)
    result = objective.evaluate(Suggestion(id=0, params={"x": 10.0}, epochs=5, initial_epoch=2))
    assert result.loss == 2.0 and result.epochs_run == 3
    bad = FunctionObjective(lambda x: "high").evaluate(Suggestion(id=0, params={"x": 1.0}))
    assert bad.status == "failed" and "'high'" in bad.error


@pytest.mark.parametrize("fast", [True, False])
def test_trials_keep_the_users_dtype_policy(small_housing, fast):
    import keras

    keras.config.set_dtype_policy("float64")
    try:
        objective = KerasObjective(build_mlp, small_housing, max_epochs=1, fast=fast)
        for seed in (1, 2):  # a second trial is built after the first one's session clear
            assert objective.evaluate(suggestion({"n_hidden": 1}, seed=seed)).status == "ok"
            assert keras.config.dtype_policy().name == "float64"
    finally:
        keras.config.set_dtype_policy("float32")
