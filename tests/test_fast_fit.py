"""tunebench.fast_fit against model.fit: the same History and weights on full batch (early
stopping and continuation included), the same learning on minibatches, model.fit for what it
cannot do exactly; TuneSearchCV trains a scikeras wrapper through it."""

import math
import pickle
from typing import ClassVar

import keras
import numpy as np
import pytest

from tunebench import fast_fit, private_api
from tunebench.sklearn import TuneSearchCV


def build_model(n_hidden=2, n_neurons=16, learning_rate=0.02, seed=7):
    """The book's MLP, its initial weights drawn from ``seed`` (both paths start alike)."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(shape=(8,))])
    for _ in range(n_hidden):
        model.add(keras.layers.Dense(n_neurons, activation="relu"))
    model.add(keras.layers.Dense(1))
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=learning_rate))
    return model


def both(task, callbacks=lambda: [], **kwargs):
    """The same fit through the fast path and through model.fit: (model, history) each."""
    kwargs = {"verbose": 0, "validation_data": (task.X_valid, task.y_valid), **kwargs}
    fast, real = build_model(), build_model()
    fast_history = fast_fit.fit(fast, task.X_train, task.y_train, callbacks=callbacks(), **kwargs)
    real_history = real.fit(task.X_train, task.y_train, callbacks=callbacks(), **kwargs)
    return (fast, fast_history), (real, real_history)


def assert_same_weights(model, other, atol=1e-5):
    for a, b in zip(model.get_weights(), other.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=atol)


def test_full_batch_gives_fits_history_and_weights_epoch_for_epoch(small_housing):
    n = len(small_housing.X_train)
    (fast, fast_history), (real, real_history) = both(small_housing, batch_size=n, epochs=12)
    assert fast_fit.fast_fit_refusal(fast, {"x": small_housing.X_train,
                                            "y": small_housing.y_train}) is None  # fmt: skip
    assert sorted(fast_history.history) == sorted(real_history.history) == ["loss", "val_loss"]
    assert fast_history.epoch == real_history.epoch == list(range(12))
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(fast_history.history[key], real_history.history[key], rtol=1e-5)
        assert all(type(v) is float for v in fast_history.history[key])
    assert_same_weights(fast, real)
    assert int(fast.optimizer.iterations) == int(real.optimizer.iterations) == 12


def test_minibatches_learn_like_fit(small_housing):
    (_, fast), (_, real) = both(small_housing, batch_size=32, epochs=10)
    assert fast.history["val_loss"][-1] == pytest.approx(real.history["val_loss"][-1], rel=0.25)
    for history in (fast, real):
        assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_early_stopping_stops_at_fits_epoch_and_restores_the_same_weights(small_housing):
    import keras

    def stop():
        return [keras.callbacks.EarlyStopping(patience=2, min_delta=0.02,
                                              restore_best_weights=True)]  # fmt: skip

    n = len(small_housing.X_train)
    (fast, fast_history), (real, real_history) = both(small_housing, stop, batch_size=n,
                                                      epochs=200)  # fmt: skip
    assert 3 <= len(real_history.epoch) < 200  # it did stop early
    assert fast_history.epoch == real_history.epoch
    np.testing.assert_allclose(fast_history.history["val_loss"],
                               real_history.history["val_loss"], rtol=1e-4)  # fmt: skip
    assert_same_weights(fast, real)  # the best epoch's, restored


def test_a_continuation_from_initial_epoch_matches_fit(small_housing):
    task, n = small_housing, len(small_housing.X_train)
    (fast, _), (real, _) = both(task, batch_size=n, epochs=3)
    kwargs = {"batch_size": n, "epochs": 6, "initial_epoch": 3, "verbose": 0}
    fast_history = fast_fit.fit(fast, task.X_train, task.y_train, **kwargs)
    real_history = real.fit(task.X_train, task.y_train, **kwargs)
    assert fast_history.epoch == real_history.epoch == [3, 4, 5]
    np.testing.assert_allclose(fast_history.history["loss"], real_history.history["loss"],
                               rtol=1e-5)  # fmt: skip
    assert_same_weights(fast, real)
    assert int(fast.optimizer.iterations) == 6


def test_a_fitted_model_is_not_changed_by_a_later_fit_of_its_architecture(small_housing):
    task = small_housing
    first = build_model()
    fast_fit.fit(first, task.X_train, task.y_train, epochs=2, verbose=0)
    weights = first.get_weights()
    traces = fast_fit._trainer(task.X_train, task.y_train).traces()
    second = build_model(learning_rate=0.05, seed=8)
    fast_fit.fit(second, task.X_train, task.y_train, epochs=2, verbose=0)
    trainer = fast_fit._trainer(task.X_train, task.y_train)
    assert trainer.traces() == traces  # the same compiled epoch trained both
    assert all(np.array_equal(a, b) for a, b in zip(first.get_weights(), weights, strict=True))
    assert math.isfinite(float(first.evaluate(task.X_valid, task.y_valid, verbose=0)))
    first.fit(task.X_train, task.y_train, epochs=1, verbose=0)  # its optimizer still works
    assert int(first.optimizer.iterations) == 3 * 10


def test_a_callback_with_a_batch_hook_goes_through_fit(small_housing):
    import keras

    steps = []
    counter = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: steps.append(1))
    model = build_model()
    arguments = {"x": small_housing.X_train, "y": small_housing.y_train, "callbacks": [counter]}
    assert "on_train_batch_end" in fast_fit.fast_fit_refusal(model, arguments)
    fast_fit.fit(model, small_housing.X_train, small_housing.y_train, batch_size=100, epochs=2,
                 callbacks=[counter], verbose=0)  # fmt: skip
    assert len(steps) == 2 * 3  # model.fit ran it at every step


def test_sample_weight_goes_through_fit(small_housing):
    task, n = small_housing, len(small_housing.X_train)
    weights = np.where(np.arange(n) < n // 2, 1.0, 0.0)
    kwargs = {"batch_size": n, "epochs": 3, "verbose": 0, "sample_weight": weights}
    arguments = {"x": task.X_train, "y": task.y_train, **kwargs}
    assert fast_fit.fast_fit_refusal(build_model(), arguments) == "sample_weight is given"
    through, real = build_model(), build_model()
    fast_fit.fit(through, task.X_train, task.y_train, **kwargs)
    real.fit(task.X_train, task.y_train, **kwargs)
    assert_same_weights(through, real)


# -------------------------------------------------------------------- TuneSearchCV


def seeded_build_model(n_hidden=1, n_neurons=30, learning_rate=3e-3):
    """The book's builder, each candidate's initial weights seeded (both searches alike)."""
    return build_model(n_hidden, n_neurons, learning_rate, seed=0)


class FastPaths(keras.callbacks.Callback):
    """Records, for each fit, whether the fast path trained it (model.fit would have made
    the model's train_function)."""

    seen: ClassVar[list[bool]] = []

    def on_train_end(self, logs=None):
        FastPaths.seen.append(self.model.train_function is None)


class BatchHook:
    """A callback with a batch-level hook: it keeps every fit on model.fit."""

    def __new__(cls):
        import keras

        return keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: None)


def search_books_flow(task, *callbacks):
    import keras
    from scikeras.wrappers import KerasRegressor

    space = {"n_hidden": [1, 2], "n_neurons": [5, 20], "learning_rate": [0.01, 0.03]}
    wrapper = KerasRegressor(seeded_build_model, n_hidden=1, n_neurons=30, learning_rate=3e-3,
                             batch_size=-1, verbose=0)  # fmt: skip  # -1: a batch of all rows
    search = TuneSearchCV(wrapper, space, strategy="random", n_iter=2, cv=2, random_state=0)
    search.fit(task.X_train, task.y_train, epochs=5, validation_data=(task.X_valid, task.y_valid),
               callbacks=[keras.callbacks.EarlyStopping(patience=2), *callbacks])  # fmt: skip
    return search


def test_tune_search_cv_trains_through_the_fast_path_with_fits_results(small_housing):
    from scikeras.wrappers import KerasRegressor

    FastPaths.seen.clear()
    fast = search_books_flow(small_housing, FastPaths())
    assert FastPaths.seen == [True] * (2 * 2 + 1)  # every fold of every candidate, the refit
    FastPaths.seen.clear()
    real = search_books_flow(small_housing, FastPaths(), BatchHook())
    assert FastPaths.seen == [False] * (2 * 2 + 1)
    assert fast.cv_results_["params"] == real.cv_results_["params"]
    np.testing.assert_allclose(fast.cv_results_["mean_test_score"],
                               real.cv_results_["mean_test_score"], rtol=1e-4)  # fmt: skip
    np.testing.assert_allclose(fast.best_estimator_.history_["loss"],
                               real.best_estimator_.history_["loss"], rtol=1e-4)  # fmt: skip
    best = fast.best_estimator_
    assert type(best) is KerasRegressor
    assert "_fit_keras_model" not in vars(best) and "fit" not in vars(best.model_)
    X = small_housing.X_test[:5]
    restored = pickle.loads(pickle.dumps(best))
    np.testing.assert_allclose(restored.predict(X), best.predict(X), rtol=1e-6)
    np.testing.assert_allclose(best.predict(X), real.best_estimator_.predict(X), rtol=1e-3)


def test_a_moved_scikeras_hook_warns_and_trains_with_fit(small_housing, monkeypatch):
    from scikeras.wrappers import BaseWrapper, KerasRegressor

    original = BaseWrapper._fit_keras_model

    def moved(self, X, y, sample_weight, warm_start, epochs, initial_epoch, extra=None, **kw):
        return original(self, X, y, sample_weight, warm_start, epochs, initial_epoch, **kw)

    monkeypatch.setattr(BaseWrapper, "_fit_keras_model", moved)
    monkeypatch.setattr(private_api, "_warned", set())
    wrapper = KerasRegressor(seeded_build_model, verbose=0, callbacks=[FastPaths()])
    FastPaths.seen.clear()
    with (
        pytest.warns(RuntimeWarning, match="_fit_keras_model.*train with model.fit"),
        fast_fit.fit_through_fast_path(wrapper),
    ):
        wrapper.fit(small_housing.X_train, small_housing.y_train, epochs=1)
    assert FastPaths.seen == [False] and len(wrapper.history_["loss"]) == 1
