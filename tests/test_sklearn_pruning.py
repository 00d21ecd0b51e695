"""TuneSearchCV under a pruner: each fold's fit reports its val_loss after every epoch to its
candidate's pruner and stops when told, in this process and in joblib's worker processes;
pruned candidates are marked in cv_results_ and charged the epochs they trained; asha and
bohb run through the same path; the refusals. Real scikeras, real Keras on 300 rows."""

from typing import ClassVar

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from tunebench import Budget
from tunebench.options import InvalidOptionError
from tunebench.pruning import UnknownPrunerError
from tunebench.runner import PrunerError
from tunebench.sklearn import TuneSearchCV

EPOCHS = 4
# A good learning rate (val_loss about 0.8 after one epoch here) or a hopeless one (the loss
# stays about 5): with random_state=1, random and asha draw the good one first, then hopeless
# ones, which fall below it at the first epoch in every fold.
SPACE = {"learning_rate": [0.05, 1e-6]}
DRAWN = [0.05, 1e-6, 1e-6, 1e-6]
MEDIAN = {"n_startup_trials": 1}  # judge from the second candidate on


def build_model(learning_rate=1e-3):
    import keras

    model = keras.models.Sequential(
        [keras.layers.InputLayer(shape=[8]), keras.layers.Dense(10, activation="relu"),
         keras.layers.Dense(1)]
    )  # fmt: skip
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=learning_rate))
    return model


def regressor():
    from scikeras.wrappers import KerasRegressor

    return KerasRegressor(build_model, learning_rate=1e-3, batch_size=8, verbose=0)


def recorder():
    """A Keras callback that logs the epochs of each fit (in this process)."""
    import keras

    class Recorder(keras.callbacks.Callback):
        fits: ClassVar[list[list[int]]] = []

        def on_train_begin(self, logs=None):
            Recorder.fits.append([])

        def on_epoch_end(self, epoch, logs=None):
            Recorder.fits[-1].append(epoch)

    return Recorder()


def fit(search, task, **params):
    return search.fit(
        task.X_train,
        task.y_train,
        epochs=EPOCHS,
        validation_data=(task.X_valid, task.y_valid),
        **params,
    )


def test_the_median_pruner_stops_bad_candidates_and_charges_what_they_trained(small_housing):
    import keras

    record = recorder()
    budget = Budget(epochs=10)  # 2 candidates of 4 epochs without pruning
    search = TuneSearchCV(regressor(), SPACE, strategy="random", cv=2, budget=budget,
                          pruner="median", pruner_options=MEDIAN, random_state=1)  # fmt: skip
    fit(search, small_housing, callbacks=[keras.callbacks.EarlyStopping(patience=10), record])
    results = search.cv_results_
    pruned, trained = results["pruned"], results["epochs_trained"]
    assert pruned.dtype == bool and trained.dtype.kind == "i"
    assert results["param_learning_rate"].tolist() == DRAWN
    assert pruned.tolist() == [False, True, True, True] and trained.tolist() == [4, 1, 1, 1]
    # Each candidate is charged the most epochs one of its folds trained (candidate-major,
    # fold by fold; the refit last, trained to its end: the pruner is the search's only).
    fits = type(record).fits
    assert len(fits) == 2 * len(trained) + 1 and fits[-1] == list(range(EPOCHS))
    assert [max(len(fits[2 * i]), len(fits[2 * i + 1])) for i in range(4)] == trained.tolist()
    # The ledger charged exactly that: the refunded epochs ran 4 candidates where 2 of 4
    # epochs fit in the budget, and the loop stopped when the next 4 epochs no longer fit.
    assert budget.epochs - EPOCHS < trained.sum() <= budget.epochs
    assert np.isfinite(results["mean_test_score"]).all()
    assert search.best_params_ == {"learning_rate": 0.05}


def test_folds_in_worker_processes_still_prune(small_housing):
    search = TuneSearchCV(regressor(), SPACE, strategy="random", n_iter=3, cv=2, n_jobs=2,
                          pruner="median", pruner_options=MEDIAN, random_state=1)  # fmt: skip
    fit(search, small_housing)
    results = search.cv_results_
    assert results["param_learning_rate"].tolist() == DRAWN[:3]
    assert results["pruned"].tolist() == [False, True, True]
    assert results["epochs_trained"].tolist() == [4, 1, 1]


@pytest.mark.parametrize("strategy", ["asha", "bohb"])
def test_the_pruning_strategies_run_through_the_same_path(small_housing, strategy):
    options = {"reduction_factor": 2}
    search = TuneSearchCV(regressor(), SPACE, strategy=strategy, n_iter=3, cv=2,
                          strategy_options=options, random_state=1)  # fmt: skip
    fit(search, small_housing)
    results = search.cv_results_
    pruned, trained = results["pruned"], results["epochs_trained"]
    assert np.isfinite(results["mean_test_score"]).all()
    assert (trained <= EPOCHS).all() and (trained[~pruned] == EPOCHS).all()
    if strategy == "asha":  # rungs at epochs 1, 2 and 4: only the best half goes on
        assert results["param_learning_rate"].tolist() == DRAWN[:3]
        assert pruned.tolist() == [False, True, True] and trained.tolist() == [4, 1, 1]


def test_refusals_before_any_training(small_housing):
    task = small_housing
    record = recorder()
    X, y = task.X_train, task.y_train
    no_validation = r"fits have no validation data: pass it to fit, e.g. search.fit\(X_train, "
    for kwargs in ({"pruner": "median"}, {"strategy": "asha"}):
        search = TuneSearchCV(regressor(), SPACE, n_iter=2, cv=2, **kwargs)
        with pytest.raises(ValueError, match=no_validation + r".*or validation_split=0.1"):
            search.fit(X, y, epochs=2, callbacks=[record])
    assert type(record).fits == []
    # A validation split given to the wrapper is validation enough.
    TuneSearchCV(regressor().set_params(validation_split=0.2), SPACE, n_iter=1, cv=2,
                 pruner="median").fit(X, y, epochs=1)  # fmt: skip
    with pytest.raises(ValueError, match=r"pruner='median' stops .* Ridge has no epochs"):
        TuneSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, pruner="median").fit(X, y)
    with pytest.raises(ValueError, match=r"strategy='asha' stops .* Ridge has no epochs"):
        TuneSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, strategy="asha").fit(X, y)
    unknown = r"unknown pruner 'meadian' \(did you mean 'median'\?\)"
    with pytest.raises(UnknownPrunerError, match=unknown):
        TuneSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, pruner="meadian").fit(X, y)
    with pytest.raises(InvalidOptionError, match="pruner median option n_warmup_steps"):
        fit(TuneSearchCV(regressor(), SPACE, pruner="median",
                         pruner_options={"n_warmup_steps": -1}), task)  # fmt: skip
    with pytest.raises(PrunerError, match=r"strategy 'asha' prunes by itself"):
        fit(TuneSearchCV(regressor(), SPACE, strategy="asha", pruner="median"), task)
    with pytest.raises(PrunerError, match=r"strategy 'hyperband' schedules"):
        fit(TuneSearchCV(regressor(), SPACE, strategy="hyperband", pruner="median"), task)
