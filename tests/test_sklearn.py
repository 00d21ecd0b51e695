"""TuneSearchCV: scikit-learn's own estimator checks, parity with RandomizedSearchCV, the book's
scikeras flow end to end, Hyperband over epochs with continuation, and the README's snippet.
Real scikit-learn, real scikeras, real Keras training on a few hundred rows."""

import math
import re
import time
import warnings
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from scipy.stats import loguniform, reciprocal, uniform
from sklearn.base import clone
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import RandomizedSearchCV
from sklearn.utils.estimator_checks import parametrize_with_checks

from tunebench import Budget, Float, Space
from tunebench.sklearn import TuneSearchCV
from tunebench.strategies.hyperopt_tpe import HyperoptTPE
from tunebench.strategy import register, unregister

README = Path(__file__).resolve().parent.parent / "README.md"

# -------------------------------------------------------------------- scikit-learn's checks

# The same expected failure scikit-learn lists for RandomizedSearchCV in its own test suite
# (sklearn/utils/_test_common/instance_generator.py): BaseSearchCV does not forward the
# inner estimator's multi-output tag, so the check expects a warning the search never gives.
SKLEARN_KNOWN = {"check_supervised_y_2d": "DataConversionWarning not caught (BaseSearchCV)"}


# Checks that hand the search data its Ridge must reject (objects, NaN, inf): as from
# RandomizedSearchCV, the folds that fail give a FitFailedWarning or a "Scoring failed" warning
# (each with a traceback) and NaN scores, then the refit raises the error the check expects.
# Their warnings are expected; any other check's warnings are shown.
EXPECTED_WARNINGS = {
    "check_dtype_object": [FitFailedWarning, "Scoring failed", "scores are non-finite"],
    "check_estimators_nan_inf": [FitFailedWarning, "Scoring failed", "scores are non-finite"],
}


# A tunebench Float, not scipy's loguniform: the test ids hold the estimator's repr, which for
# a frozen scipy distribution holds its address, so that pytest-xdist's workers would each
# collect other test names.
@parametrize_with_checks(
    [TuneSearchCV(Ridge(), {"alpha": Float(1e-2, 1e2, log=True)}, n_iter=3, strategy="random")],
    expected_failed_checks=lambda estimator: SKLEARN_KNOWN,
)
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        for expected in EXPECTED_WARNINGS.get(getattr(check, "func", check).__name__, []):
            if isinstance(expected, str):
                warnings.filterwarnings("ignore", message=f".*{re.escape(expected)}")
            else:
                warnings.filterwarnings("ignore", category=expected)
        check(estimator)


# -------------------------------------------------------------------- plain estimators


@pytest.fixture(scope="module")
def regression():
    from sklearn.datasets import make_regression

    return make_regression(n_samples=120, n_features=5, noise=20.0, random_state=0)


def test_same_cv_results_keys_and_shapes_as_randomized_search(regression):
    X, y = regression
    distributions = {"alpha": reciprocal(1e-3, 1e3), "fit_intercept": [True, False]}
    theirs = RandomizedSearchCV(Ridge(), distributions, n_iter=5, cv=3, random_state=0)
    ours = TuneSearchCV(Ridge(), distributions, n_iter=5, cv=3, random_state=0, strategy="random")
    theirs.fit(X, y)
    ours.fit(X, y)
    assert sorted(ours.cv_results_) == sorted(theirs.cv_results_)
    for key, value in theirs.cv_results_.items():
        assert np.shape(ours.cv_results_[key]) == np.shape(value), key
    assert type(ours.best_params_["alpha"]) is float
    assert type(ours.best_params_["fit_intercept"]) is bool
    assert ours.best_score_ == max(ours.cv_results_["mean_test_score"])
    assert ours.cv_results_["params"][ours.best_index_] == ours.best_params_
    assert ours.score(X, y) == pytest.approx(ours.best_estimator_.score(X, y))
    import pandas as pd

    assert len(pd.DataFrame(ours.cv_results_)) == 5


def test_same_seed_same_search_and_clone_keeps_the_params(regression):
    X, y = regression
    search = TuneSearchCV(Ridge(), {"alpha": reciprocal(1e-3, 1e3)}, n_iter=4, random_state=3)
    again = clone(search)
    assert again.get_params()["strategy"] == "tpe" and again.get_params()["n_iter"] == 4
    first = search.fit(X, y).cv_results_["params"]
    assert again.fit(X, y).cv_results_["params"] == first


def test_tpe_on_gradient_boosting_and_a_space(regression):
    X, y = regression
    space = Space(learning_rate=Float(0.01, 0.5, log=True))
    search = TuneSearchCV(GradientBoostingRegressor(n_estimators=20, random_state=0), space,
                          n_iter=6, cv=2, random_state=0)  # fmt: skip
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 6
    assert 0.01 <= search.best_params_["learning_rate"] <= 0.5
    assert search.predict(X[:4]).shape == (4,)


def test_n_jobs_runs_the_folds_in_worker_processes_with_the_same_result(regression):
    X, y = regression
    kwargs = {"n_iter": 4, "strategy": "random", "random_state": 1}
    alone = TuneSearchCV(Ridge(), {"alpha": reciprocal(1e-3, 1e3)}, **kwargs).fit(X, y)
    pooled = TuneSearchCV(Ridge(), {"alpha": reciprocal(1e-3, 1e3)}, n_jobs=2, **kwargs)
    pooled.fit(X, y)
    assert pooled.cv_results_["params"] == alone.cv_results_["params"]
    np.testing.assert_allclose(
        pooled.cv_results_["mean_test_score"], alone.cv_results_["mean_test_score"]
    )


def test_a_classifier_keeps_its_classes_and_stratified_folds():
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=90, n_features=4, n_classes=3, n_informative=3,
                               n_redundant=0, random_state=0)  # fmt: skip
    search = TuneSearchCV(LogisticRegression(), {"C": loguniform(1e-2, 1e2)}, n_iter=3,
                          random_state=0)  # fmt: skip
    search.fit(X, y)
    assert list(search.classes_) == [0, 1, 2]
    assert search.predict_proba(X[:2]).shape == (2, 3)
    assert search.score(X, y) > 0.5


def test_a_budget_replaces_n_iter(regression):
    X, y = regression
    search = TuneSearchCV(Ridge(), {"alpha": reciprocal(1e-3, 1e3)}, strategy="random",
                          n_iter=50, budget=Budget(trials=3), random_state=0)  # fmt: skip
    assert len(search.fit(X, y).cv_results_["params"]) == 3
    start = time.perf_counter()
    search.set_params(budget=Budget(seconds=0.5)).fit(X, y)
    assert time.perf_counter() - start < 5 and len(search.cv_results_["params"]) >= 2


# Ridge rejects a negative alpha: about half of uniform(-1, 2) is a candidate that cannot fit.
SOMETIMES_INVALID = {"alpha": uniform(-1, 2)}


@pytest.mark.parametrize("strategy", ["tpe", "gp"])
def test_a_failing_candidate_is_nan_and_the_search_goes_on(regression, strategy):
    X, y = regression
    search = TuneSearchCV(Ridge(), SOMETIMES_INVALID, strategy=strategy, n_iter=6, cv=2,
                          random_state=0)  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X, y)
    alphas = np.array([params["alpha"] for params in search.cv_results_["params"]])
    scores = search.cv_results_["mean_test_score"]
    assert len(alphas) == 6 and (alphas < 0).any() and (alphas >= 0).any()
    assert np.array_equal(np.isnan(scores), alphas < 0)  # NaN exactly where the fits failed
    assert search.best_params_["alpha"] >= 0 and search.best_score_ == np.nanmax(scores)
    # scikit-learn's warnings, each once for the whole search, as from RandomizedSearchCV
    failed = [w for w in caught if issubclass(w.category, FitFailedWarning)]
    assert len(failed) == 1
    assert f"{2 * (alphas < 0).sum()} fits failed out of a total of 12" in str(failed[0].message)
    assert len([w for w in caught if "scores are non-finite" in str(w.message)]) == 1


class RecordingTPE(HyperoptTPE):
    """Hyperopt's TPE, keeping what it is told."""

    told: ClassVar[list] = []

    def tell(self, suggestion, result):
        RecordingTPE.told.append((suggestion.params["alpha"], result))
        super().tell(suggestion, result)


@pytest.fixture
def recording_tpe():
    register("recording-tpe", RecordingTPE)
    RecordingTPE.told.clear()
    yield "recording-tpe"
    unregister("recording-tpe")


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
def test_the_strategy_is_told_a_failed_candidate_with_its_error(regression, recording_tpe):
    X, y = regression
    search = TuneSearchCV(Ridge(), SOMETIMES_INVALID, strategy=recording_tpe, n_iter=6, cv=2,
                          random_state=0)  # fmt: skip
    with pytest.warns(FitFailedWarning):
        search.fit(X, y)
    assert len(RecordingTPE.told) == 6
    for alpha, result in RecordingTPE.told:
        if alpha < 0:
            assert result.status == "failed" and result.loss == math.inf
            assert re.match(
                r"2 of 2 folds failed to fit \(.*'alpha' parameter of Ridge", result.error
            )
        else:
            assert result.status == "ok" and math.isfinite(result.loss)


def test_a_search_goes_on_after_many_failing_candidates_in_a_row(regression):
    # tune() stops a study after 25 failed trials in a row; TuneSearchCV leaves failures to
    # error_score, and a learning strategy here runs one candidate at a time.
    X, y = regression
    hopeless = TuneSearchCV(Ridge(), {"alpha": uniform(-2, 1)}, strategy="tpe", n_iter=30,
                            cv=2, random_state=0)  # fmt: skip
    with pytest.raises(ValueError, match="All the 60 fits failed"):
        hopeless.fit(X, y)


def test_error_score_raise_and_a_search_where_every_fit_fails_still_raise(regression):
    X, y = regression
    raising = TuneSearchCV(Ridge(), {"alpha": uniform(-1, 0.5)}, n_iter=3, cv=2,
                           error_score="raise", random_state=0)  # fmt: skip
    with pytest.raises(ValueError, match="'alpha' parameter of Ridge"):
        raising.fit(X, y)
    hopeless = raising.set_params(error_score=np.nan)
    with pytest.raises(ValueError, match="All the 6 fits failed"):  # as RandomizedSearchCV
        hopeless.fit(X, y)
    assert hopeless.error_score is np.nan  # the user's value is back


def test_a_list_of_one_dict_is_that_dict_and_a_union_is_a_clear_error(regression):
    X, y = regression
    one = TuneSearchCV(Ridge(), [{"alpha": reciprocal(1e-3, 1e3)}], n_iter=3, random_state=0)
    alone = TuneSearchCV(Ridge(), {"alpha": reciprocal(1e-3, 1e3)}, n_iter=3, random_state=0)
    assert one.fit(X, y).cv_results_["params"] == alone.fit(X, y).cv_results_["params"]
    union = [{"alpha": [0.1, 1.0]}, {"alpha": [10.0], "fit_intercept": [False]}]
    with pytest.raises(ValueError, match=r"one dict, got a list of 2 .* one TuneSearchCV per dict"):
        TuneSearchCV(Ridge(), union).fit(X, y)


def test_clear_errors(regression):
    X, y = regression
    with pytest.raises(ValueError, match=r"'hyperband'.*Ridge has no epochs.*scikeras"):
        TuneSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, strategy="hyperband").fit(X, y)
    with pytest.raises(ValueError, match=r"unknown strategy 'tpee' \(did you mean 'tpe'\?\)"):
        TuneSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, strategy="tpee").fit(X, y)
    with pytest.raises(TypeError, match=r"parameter 'alpha'.*give a list of values"):
        TuneSearchCV(Ridge(), {"alpha": 0.1}).fit(X, y)
    with pytest.raises(ValueError, match="n_iter"):
        TuneSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, n_iter=0).fit(X, y)
    hyperband = TuneSearchCV(keras_regressor(), BOOK_SPACE, strategy="hyperband")
    with pytest.raises(ValueError, match=r"max_epochs=1; pass .* fit\(X, y, epochs=...\)"):
        hyperband.fit(X, y)  # the wrapper's default is 1 epoch
    with pytest.raises(ValueError, match="remove 'epochs' from param_distributions"):
        hyperband.set_params(param_distributions={"epochs": [1, 2]}).fit(X, y, epochs=9)


# -------------------------------------------------------------------- the book, with scikeras


def build_model(n_hidden=1, n_neurons=30, learning_rate=3e-3, input_shape=[8]):  # noqa: B006
    """The book's build_model, in Keras 3 spelling; records the types it is given."""
    import keras

    SEEN.append(tuple(type(v) for v in (n_hidden, n_neurons, learning_rate)))
    model = keras.models.Sequential()
    model.add(keras.layers.InputLayer(shape=input_shape))
    for _ in range(n_hidden):
        model.add(keras.layers.Dense(n_neurons, activation="relu"))
    model.add(keras.layers.Dense(1))
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=learning_rate))
    return model


SEEN: list[tuple[type, ...]] = []
BOOK_SPACE = {
    "n_hidden": [0, 1, 2, 3],
    "n_neurons": np.arange(1, 100),  # numpy ints: TuneSearchCV hands Keras plain ints
    "learning_rate": reciprocal(3e-4, 3e-2),
}


def recorder():
    """A Keras callback that logs, for each fit, its epochs, losses and learning rates, the
    steps an epoch takes, and the weights and optimizer step count it starts and ends with."""
    import keras

    class Recorder(keras.callbacks.Callback):
        fits: ClassVar[list[dict]] = []

        def on_train_begin(self, logs=None):
            Recorder.fits.append(
                {
                    "epochs": [],
                    "loss": [],
                    "lr": [],
                    "steps": self.params["steps"],
                    "start": self.model.get_weights(),
                    "iterations": int(self.model.optimizer.iterations),
                }
            )

        def on_train_end(self, logs=None):
            Recorder.fits[-1]["end"] = self.model.get_weights()

        def on_epoch_end(self, epoch, logs=None):
            fit = Recorder.fits[-1]
            fit["epochs"].append(epoch)
            fit["loss"].append(logs["loss"])
            fit["lr"].append(float(self.model.optimizer.learning_rate))

    return Recorder()


def keras_regressor(**kwargs):
    from scikeras.wrappers import KerasRegressor

    # No random_state: scikeras 0.13 then leaves TensorFlow's op determinism switched on for
    # the rest of the process (it reads TF_DETERMINISTIC_OPS too late to restore it), and every
    # later unseeded random op fails.
    return KerasRegressor(build_model, n_hidden=1, n_neurons=30, learning_rate=3e-3, verbose=0,
                          **kwargs)  # fmt: skip


def test_the_books_flow_end_to_end(small_housing):
    import keras
    from scikeras.wrappers import KerasRegressor

    task = small_housing
    record = recorder()
    SEEN.clear()
    search = TuneSearchCV(keras_regressor(), BOOK_SPACE, n_iter=2, cv=2, random_state=0)
    search.fit(
        task.X_train,
        task.y_train,
        epochs=3,
        validation_data=(task.X_valid, task.y_valid),
        callbacks=[keras.callbacks.EarlyStopping(patience=10), record],
    )
    assert set(SEEN) == {(int, int, float)}  # never numpy scalars
    assert len(type(record).fits) == 2 * 2 + 1  # every fold of every candidate, and the refit
    assert all(fit["epochs"] == [0, 1, 2] for fit in type(record).fits)
    assert sorted(search.best_params_) == ["learning_rate", "n_hidden", "n_neurons"]
    assert type(search.best_estimator_) is KerasRegressor  # the user's wrapper, fitted
    assert math.isfinite(search.score(task.X_test, task.y_test))
    assert search.predict(task.X_test[:5]).shape == (5,)
    assert search.estimator.get_params()["callbacks"] is None  # the user's wrapper is unchanged
    assert search.routed_params_ == {}  # declared on the wrapper: set by their own names


def test_the_books_wrapper_without_declared_arguments_takes_bare_names(small_housing):
    from scikeras.wrappers import KerasRegressor

    X, y = small_housing.X_train[:200], small_housing.y_train[:200]
    wrapper = KerasRegressor(build_model, verbose=0)  # the book's: no n_hidden=... declared
    search = TuneSearchCV(wrapper, BOOK_SPACE, n_iter=2, cv=2, random_state=0)
    search.fit(X, y, epochs=2)
    names = ["learning_rate", "n_hidden", "n_neurons"]
    assert search.routed_params_ == {name: f"model__{name}" for name in names}
    assert all(sorted(params) == names for params in search.cv_results_["params"])
    assert all(f"param_{name}" in search.cv_results_ for name in names)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best, fitted = search.best_params_, search.best_estimator_
    assert sorted(best) == names
    assert {name: fitted.get_params()[f"model__{name}"] for name in names} == best
    # The builder received them: the refitted model has the best candidate's shape and rate.
    dense = [layer for layer in fitted.model_.layers if layer.name.startswith("dense")]
    assert len(dense) == best["n_hidden"] + 1
    assert all(layer.units == best["n_neurons"] for layer in dense[:-1])
    assert float(fitted.model_.optimizer.learning_rate) == pytest.approx(best["learning_rate"])
    assert not any(name.startswith("model__") for name in wrapper.get_params())  # unchanged
    with pytest.raises(ValueError, match=re.escape(
        "param_distributions names 'n_layers': not an argument of "
        "build_model(n_hidden, n_neurons, learning_rate, input_shape) nor a parameter of "
        "KerasRegressor (batch_size, ")):  # fmt: skip
        search.set_params(param_distributions={"n_layers": [1, 2]}).fit(X, y)


def test_hyperband_trains_epochs_as_fidelity_and_continues_the_models(small_housing):
    task = small_housing
    record = recorder()
    budget = Budget(epochs=7)  # at most 2 epochs, factor 2: 1 + 1 + 2 + 2, a promotion 1 -> 2
    options = {"factor": 2}
    search = TuneSearchCV(keras_regressor(), BOOK_SPACE, strategy="hyperband", cv=2,
                          budget=budget, strategy_options=options, random_state=0)  # fmt: skip
    search.fit(task.X_train, task.y_train, epochs=2, callbacks=[record])
    results = search.cv_results_
    epochs, starts = results["param_epochs"].astype(int), results["initial_epoch"]
    assert set(epochs) == {1, 2} and int(np.sum(epochs - starts)) <= budget.epochs
    assert search.best_params_["epochs"] in (1, 2)
    fits = type(record).fits
    continued = [fit for fit in fits if fit["epochs"][0] > 0]
    assert len(continued) == 2 * int(np.sum(starts > 0)) > 0  # each fold of each promotion
    for fit in continued:
        assert fit["epochs"][0] == 1 and fit["iterations"] == 5  # one epoch of 150 rows / 32
        # It starts from the very weights a one-epoch fit (its parent, in this fold) ended with.
        parents = [f for f in fits if f["epochs"] == [0] and same(f["end"], fit["start"])]
        assert len(parents) == 1
    assert all(fit["iterations"] == 0 for fit in fits if fit["epochs"][0] == 0)


def test_hyperband_refuses_to_continue_on_folds_its_parent_never_saw(small_housing):
    from sklearn.model_selection import KFold

    task = small_housing
    changing = KFold(2, shuffle=True)  # no random_state: other splits at every call
    search = TuneSearchCV(keras_regressor(), BOOK_SPACE, strategy="hyperband", cv=changing,
                          budget=Budget(epochs=7), strategy_options={"factor": 2},
                          random_state=0)  # fmt: skip
    with (
        pytest.warns(FitFailedWarning, match="the cross-validation splits changed"),
        pytest.warns(UserWarning, match="test scores are non-finite"),
    ):
        search.fit(task.X_train, task.y_train, epochs=2)
    results = search.cv_results_
    promoted = results["initial_epoch"] > 0
    assert promoted.any() and np.isnan(results["mean_test_score"][promoted]).all()


def test_pbt_exploits_continue_the_top_candidates_models_at_their_own_rate(small_housing):
    task = small_housing
    record = recorder()
    options = {"population_size": 2, "perturbation_interval": 1}  # 1 epoch, then 1 more
    search = TuneSearchCV(keras_regressor(), BOOK_SPACE, strategy="pbt", cv=2,
                          budget=Budget(epochs=4), strategy_options=options,
                          random_state=0)  # fmt: skip
    search.fit(task.X_train, task.y_train, epochs=2, callbacks=[record])
    results = search.cv_results_
    assert list(results["initial_epoch"]) == [0, 0, 1, 1]
    assert np.isfinite(results["mean_test_score"]).all()  # the exploit found its model
    rates = [float(rate) for rate in results["param_learning_rate"]]
    assert rates[2] != rates[3]  # the bottom member exploited the top one with a new rate
    fits = type(record).fits
    continued = [fit for fit in fits if fit["epochs"] == [1]]
    assert len(continued) == 4  # two candidates, two folds
    for fit in continued:
        parents = [f for f in fits if f["epochs"] == [0] and same(f["end"], fit["start"])]
        assert len(parents) == 1
        own = [rate for rate in rates[2:] if rate == pytest.approx(fit["lr"][0], rel=1e-6)]
        assert len(own) == 1  # a continuation trains at its own candidate's rate
    exploits = [
        fit for fit in continued
        if not any(f["lr"][0] == fit["lr"][0] for f in fits if same(f["end"], fit["start"]))
    ]  # fmt: skip
    assert len(exploits) == 2  # the exploiting candidate's two folds, at a rate not its parent's


def test_an_epoch_budget_never_shortens_a_candidate_without_fidelity(small_housing):
    task = small_housing
    record = recorder()
    search = TuneSearchCV(keras_regressor(), BOOK_SPACE, strategy="random", n_iter=50, cv=2,
                          budget=Budget(epochs=5), random_state=0)  # fmt: skip
    search.fit(task.X_train, task.y_train, epochs=2, callbacks=[record])
    # Two candidates of 2 epochs; the 1 epoch left is no third candidate cut to 1 epoch.
    assert len(search.cv_results_["params"]) == 2 and "param_epochs" not in search.cv_results_
    assert all(fit["epochs"] == [0, 1] for fit in type(record).fits)  # the folds and the refit


def same(weights, others):
    return all(np.array_equal(a, b) for a, b in zip(weights, others, strict=True))


def test_batch_size_and_warmup_epochs_through_scikeras(small_housing):
    task = small_housing
    record = recorder()
    space = {"batch_size": [50], "warmup_epochs": [2], "learning_rate": [0.01]}
    search = TuneSearchCV(keras_regressor(), space, n_iter=1, cv=2, strategy="random",
                          random_state=0)  # fmt: skip
    search.fit(task.X_train, task.y_train, epochs=3, callbacks=[record])
    for fit in type(record).fits:  # two folds of 150 rows, then the refit on 300
        assert fit["steps"] in (3, 6)
        assert fit["lr"] == pytest.approx([0.01 / 3, 0.02 / 3, 0.01])
    assert search.best_params_ == {"batch_size": 50, "warmup_epochs": 2, "learning_rate": 0.01}


# -------------------------------------------------------------------- the README


def readme_blocks(heading):
    text = README.read_text()
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


KNOBS = {  # the README's snippet on 300 rows, 1 candidate, 1 epoch
    "california_housing()": "california_housing().subsample(300, seed=0)",
    "n_iter=10": "n_iter=1",
    "epochs=100": "epochs=1",
}


def shrink(code):
    for old, new in KNOBS.items():
        code = code.replace(old, new)
    return code


def test_the_readme_snippet_runs_and_changes_one_line():
    book, change = readme_blocks("From RandomizedSearchCV to any strategy")
    assert all(knob in book for knob in KNOBS), "the snippet's size knobs have changed"
    changed = [line for line in change.splitlines() if line.strip() and line not in book]
    assert changed == [
        "from tunebench.sklearn import TuneSearchCV",
        'rnd_search_cv = TuneSearchCV(keras_reg, param_distribs, n_iter=10, cv=3, strategy="tpe")',
    ]
    namespace: dict = {}
    exec(compile(shrink(book), "README.md (the book)", "exec"), namespace)
    theirs = namespace["rnd_search_cv"]
    exec(compile(shrink(change), "README.md (one line changed)", "exec"), namespace)
    ours = namespace["rnd_search_cv"]
    assert isinstance(ours, TuneSearchCV) and ours.strategy == "tpe"
    assert sorted(ours.cv_results_) == sorted(theirs.cv_results_)
    assert sorted(ours.best_params_) == sorted(theirs.best_params_)
