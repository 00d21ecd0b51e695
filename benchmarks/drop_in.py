"""The README's drop-in ``TuneSearchCV`` snippet, through the fast path and through
``model.fit``, side by side in one run.

The snippet of README.md's "From RandomizedSearchCV to any strategy": the book's
California-housing splits, its ``build_model`` in a scikeras ``KerasRegressor``, the book's
space, ``cv=3``, ``fit(X_train, y_train, epochs=100, validation_data=(X_valid, y_valid),
callbacks=[EarlyStopping(patience=10)])``, ``strategy="tpe"`` seeded. It runs twice: as
released (each fold's model trained by ``tunebench.fast_fit``) and with ``model.fit`` (the
hook that installs the fast path left out, i.e. the code before it). Prints each run's wall
seconds, epochs trained (early stopping decides), seconds an epoch, ``best_score_`` (R²) and
best parameters, and the ratio of the wall times. The two runs draw the same candidates while
the strategy is still sampling at random (TPE's first 10); initial weights are not seeded
(as in the snippet), so scores differ by training noise.

    python benchmarks/drop_in.py               # n_iter=3: 14 min on 2 cores under load
    python benchmarks/drop_in.py --n-iter 10   # the README snippet as written: 13.5 min
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from typing import Any

import numpy as np


def build_model(n_hidden=1, n_neurons=30, learning_rate=3e-3, input_shape=[8]):  # noqa: B006
    """The book's, as in the README."""
    import keras

    model = keras.models.Sequential()
    model.add(keras.layers.InputLayer(shape=input_shape))
    for _ in range(n_hidden):
        model.add(keras.layers.Dense(n_neurons, activation="relu"))
    model.add(keras.layers.Dense(1))
    optimizer = keras.optimizers.SGD(learning_rate=learning_rate)
    model.compile(loss="mse", optimizer=optimizer)
    return model


def epoch_counter() -> Any:
    """An epoch-level callback counting the epochs trained (it keeps the fast path)."""
    import keras

    class Epochs(keras.callbacks.Callback):
        count = 0

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            Epochs.count += 1

    return Epochs()


def search(housing: Any, n_iter: int, epochs: int, fast: bool) -> dict[str, Any]:
    import keras
    from scikeras.wrappers import KerasRegressor
    from scipy.stats import reciprocal

    from tunebench import sklearn as tunebench_sklearn
    from tunebench.sklearn import TuneSearchCV

    keras_reg = KerasRegressor(build_model, n_hidden=1, n_neurons=30, learning_rate=3e-3, verbose=0)
    param_distribs = {
        "n_hidden": [0, 1, 2, 3],
        "n_neurons": np.arange(1, 100).tolist(),
        "learning_rate": reciprocal(3e-4, 3e-2),
    }
    counter = epoch_counter()
    hook = tunebench_sklearn.fit_through_fast_path
    if not fast:  # the code before the fast path: model.fit trains every fold
        tunebench_sklearn.fit_through_fast_path = lambda estimator: contextlib.nullcontext()
    try:
        rnd_search_cv = TuneSearchCV(
            keras_reg, param_distribs, n_iter=n_iter, cv=3, strategy="tpe", random_state=0
        )
        start = time.perf_counter()
        rnd_search_cv.fit(
            housing.X_train,
            housing.y_train,
            epochs=epochs,
            validation_data=(housing.X_valid, housing.y_valid),
            callbacks=[keras.callbacks.EarlyStopping(patience=10), counter],
        )
        seconds = time.perf_counter() - start
    finally:
        tunebench_sklearn.fit_through_fast_path = hook
    return {
        "seconds": seconds,
        "epochs": type(counter).count,
        "best_score": float(rnd_search_cv.best_score_),
        "best_params": rnd_search_cv.best_params_,
        "params": rnd_search_cv.cv_results_["params"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-iter", type=int, default=3, help="candidates (README: 10)")
    parser.add_argument("--epochs", type=int, default=100, help="epochs a fit (README: 100)")
    args = parser.parse_args()

    from tunebench.tasks import california_housing

    housing = california_housing()
    print(
        f"README drop-in: TuneSearchCV(tpe, n_iter={args.n_iter}, cv=3), epochs={args.epochs}, "
        f"EarlyStopping(patience=10); {len(housing.X_train)} training rows, "
        f"{os.cpu_count()} cores"
    )
    runs = {}
    for name, fast in (("model.fit", False), ("fast path", True)):
        runs[name] = run = search(housing, args.n_iter, args.epochs, fast)
        print(
            f"{name:>10}: {run['seconds']:7.1f} s, {run['epochs']:5d} epochs "
            f"({1000 * run['seconds'] / max(run['epochs'], 1):6.1f} ms an epoch), "
            f"best_score_ {run['best_score']:.4f}, best_params_ {run['best_params']}"
        )
    fit, fast = runs["model.fit"], runs["fast path"]
    same = fit["params"] == fast["params"]
    print(
        f"fast path / model.fit wall time: {fast['seconds'] / fit['seconds']:.3f} "
        f"({fit['seconds'] / fast['seconds']:.1f}x faster); "
        f"same candidates: {'yes' if same else 'no'}"
    )


if __name__ == "__main__":
    main()
