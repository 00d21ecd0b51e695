"""The fast path's cache of compiled epochs: everything a trace bakes in is in its key.

A cached trial must train exactly like a cold one (a fresh objective that never saw another
model): learning-rate schedules, optimizer constants and loss settings are traced as
constants, so models differing in them must not share a trace; a plain float learning rate is
a variable, so they may. Models holding user code are traced for themselves, never shared.
"""

import functools

import pytest

from tunebench import KerasObjective, Suggestion

pytestmark = pytest.mark.usefixtures("tensorflow_engine")  # TensorFlow's traces are under test


def builder(make_optimizer, make_loss=lambda: "mse", **compile_kwargs):
    """A fixed 1 x 8 MLP whose optimizer and loss the test makes."""

    def build(**params):
        import keras

        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dense(1)])  # fmt: skip
        model.compile(loss=make_loss(), optimizer=make_optimizer(),
                      **compile_kwargs)  # fmt: skip
        return model

    return build


def curve(objective, build, seed=2):
    objective.build_model = build
    result = objective.evaluate(Suggestion(id=0, params={}, seed=seed))
    assert result.status == "ok", result.error
    return result.curve


def cached_and_cold(task, first, second):
    """The curve of ``second`` trained after ``first`` in one objective, and trained alone."""
    warm = KerasObjective(first, task, max_epochs=3)
    first_curve = curve(warm, first)
    cached = curve(warm, second)
    cold = curve(KerasObjective(second, task, max_epochs=3), second)
    return first_curve, cached, cold, warm


def exponential_decay(rate):
    def make():
        import keras

        schedule = keras.optimizers.schedules.ExponentialDecay(0.05, 10, decay_rate=rate)
        return keras.optimizers.SGD(learning_rate=schedule)

    return make


def test_two_learning_rate_schedules_do_not_share_a_trace(small_housing):
    first, cached, cold, warm = cached_and_cold(
        small_housing, builder(exponential_decay(0.01)), builder(exponential_decay(0.999))
    )
    assert cached == pytest.approx(cold, rel=1e-6)
    assert cold != pytest.approx(first, rel=1e-3)  # the schedules do train differently
    assert len(warm._trainer._cache) == 2


def test_a_float_learning_rate_is_a_variable_and_shares_the_trace(small_housing):
    import keras

    first, cached, cold, warm = cached_and_cold(
        small_housing,
        builder(lambda: keras.optimizers.SGD(learning_rate=0.05)),
        builder(lambda: keras.optimizers.SGD(learning_rate=0.002)),
    )
    assert cached == pytest.approx(cold, rel=1e-6)
    assert cold != pytest.approx(first, rel=1e-3)
    assert len(warm._trainer._cache) == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"momentum": 0.0}, {"momentum": 0.9}),
        ({"momentum": 0.9}, {"momentum": 0.9, "nesterov": True}),
        ({"clipnorm": None}, {"clipnorm": 1e-3}),
        ({"weight_decay": None}, {"weight_decay": 0.5}),
    ],
)
def test_optimizer_constants_are_in_the_key(small_housing, first, second):
    import keras

    _, cached, cold, warm = cached_and_cold(
        small_housing,
        builder(lambda: keras.optimizers.SGD(learning_rate=0.05, **first)),
        builder(lambda: keras.optimizers.SGD(learning_rate=0.05, **second)),
    )
    assert cached == pytest.approx(cold, rel=1e-6)
    assert len(warm._trainer._cache) == 2


def test_loss_settings_missing_from_keras_configs_are_in_the_key(small_housing):
    # Keras's Huber.get_config() leaves delta out; the key must not.
    import keras

    def sgd():
        return keras.optimizers.SGD(learning_rate=0.05)

    _, cached, cold, warm = cached_and_cold(
        small_housing,
        builder(sgd, make_loss=lambda: keras.losses.Huber(delta=0.05)),
        builder(sgd, make_loss=lambda: keras.losses.Huber(delta=5.0)),
    )
    assert cached == pytest.approx(cold, rel=1e-6)
    assert len(warm._trainer._cache) == 2
    curve(warm, builder(sgd, make_loss=lambda: keras.losses.Huber(delta=5.0)))
    assert len(warm._trainer._cache) == 2  # the same settings share their trace


def test_loss_weights_are_in_the_key(small_housing):
    import keras

    def sgd():
        return keras.optimizers.SGD(learning_rate=0.05)

    _, cached, cold, warm = cached_and_cold(
        small_housing, builder(sgd, loss_weights=[1.0]), builder(sgd, loss_weights=[0.01])
    )
    assert cached == pytest.approx(cold, rel=1e-6)
    assert len(warm._trainer._cache) == 2


def test_layer_dtype_policies_are_in_the_key(small_housing):
    import keras

    def build(dtype):
        def build_model(**params):
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, dtype=dtype)])
            model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=0.05))
            return model

        return build_model

    _, cached, cold, warm = cached_and_cold(small_housing, build("float32"), build("float64"))
    assert cached == pytest.approx(cold, rel=1e-6)
    assert len(warm._trainer._cache) == 2


def test_functional_models_share_a_trace_only_when_wired_alike(small_housing):
    import keras

    def build(order, rate=0.05):
        def build_model(**params):
            inputs = keras.Input((8,))
            hidden = keras.layers.Dense(4, activation="relu")(inputs)
            pair = [inputs, hidden] if order == "inputs first" else [hidden, inputs]
            outputs = keras.layers.Dense(1)(keras.layers.Concatenate()(pair))
            model = keras.Model(inputs, outputs)
            model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=rate))
            return model

        return build_model

    _, cached, cold, warm = cached_and_cold(
        small_housing, build("inputs first"), build("inputs first", rate=0.01)
    )
    assert cached == pytest.approx(cold, rel=1e-6)
    assert len(warm._trainer._cache) == 1
    _, cached, cold, warm = cached_and_cold(
        small_housing, build("inputs first"), build("hidden first")
    )
    assert cached == pytest.approx(cold, rel=1e-6)
    assert len(warm._trainer._cache) == 2


def test_models_holding_user_code_are_traced_for_themselves(small_housing):
    import keras

    def scaled_mse(factor):
        def loss(y_true, y_pred):
            return factor * keras.ops.mean(keras.ops.square(y_true - y_pred))

        return lambda: loss

    def sgd():
        return keras.optimizers.SGD(learning_rate=0.05)

    _, cached, cold, warm = cached_and_cold(
        small_housing,
        builder(sgd, make_loss=scaled_mse(1.0)),
        builder(sgd, make_loss=scaled_mse(0.01)),
    )
    assert cached == pytest.approx(cold, rel=1e-6)
    assert len(warm._trainer._cache) == 0

    def lambda_layer(scale):
        def build(**params):
            model = keras.Sequential(
                [keras.Input((8,)), keras.layers.Lambda(lambda x: x * scale), keras.layers.Dense(1)]
            )
            model.compile(loss="mse", optimizer=sgd())
            return model

        return build

    _, cached, cold, warm = cached_and_cold(small_housing, lambda_layer(1.0), lambda_layer(0.01))
    assert cached == pytest.approx(cold, rel=1e-6)
    assert len(warm._trainer._cache) == 0


def test_a_callable_learning_rate_is_not_cached(small_housing):
    import keras

    def sgd(rate):
        return lambda: keras.optimizers.SGD(learning_rate=lambda: rate)

    _, cached, cold, warm = cached_and_cold(small_housing, builder(sgd(0.05)), builder(sgd(0.001)))
    assert cached == pytest.approx(cold, rel=1e-6)
    assert len(warm._trainer._cache) == 0


@pytest.mark.parametrize("fast", [True, False], ids=["fast path", "model.fit"])
def test_a_finished_trial_leaves_no_traced_graph_alive(small_housing, fast):
    """Keras's optimizer registers a gradient function for the process's life in each trace
    of a training step, holding the whole graph: a long benchmark's workers then slowed
    under the garbage collector. A trial's traces must go with its model."""
    import gc

    import keras
    from tensorflow.python.framework.func_graph import FuncGraph

    def loss(y_true, y_pred):  # user code: each fast-path trial traces its own epoch
        return keras.ops.mean(keras.ops.square(y_true - y_pred))

    objective = KerasObjective(
        builder(lambda: keras.optimizers.Adam(0.01), make_loss=lambda: loss),
        small_housing,
        max_epochs=2,
        fast=fast,
    )

    def graphs_after_trial(seed):
        result = objective.evaluate(Suggestion(id=seed, params={}, seed=seed))
        assert result.status == "ok", result.error
        gc.collect()
        return sum(isinstance(o, FuncGraph) for o in gc.get_objects())

    first = graphs_after_trial(0)
    assert [graphs_after_trial(seed) for seed in (1, 2, 3)] == [first] * 3


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_an_optimizer_built_by_the_builder_shares_the_trace(small_housing, optimizer):
    """A built optimizer indexes its variables by their storage (new in every trial): that
    index is state, not a constant of the trace, so it must not keep trials from sharing
    (each trial traced its own epoch, and the cache kept them all)."""
    from tunebench.models import build_mlp

    def build(**params):
        model = build_mlp(n_hidden=2, **params)
        model.compile(loss="mse", optimizer=optimizer)
        model.optimizer.build(model.trainable_variables)
        return model

    objective = KerasObjective(build, small_housing, max_epochs=2)
    curves = [curve(objective, functools.partial(build, n_neurons=w)) for w in (5, 9, 5)]
    # traced by architecture (a built optimizer's slots have their shapes): the third trial
    # is the first's architecture again, and trains as it did
    assert len(objective._trainer._cache) == 2 and objective._trainer.traces() == 2
    assert curves[2] == pytest.approx(curves[0], rel=1e-6)
