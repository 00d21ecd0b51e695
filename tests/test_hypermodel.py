"""Keras Tuner code under tunebench: HyperModelObjective."""

import keras
import keras_tuner
import pytest
from keras import layers

from tunebench import Budget, Choice, Float, Int, tune
from tunebench.hypermodel import HyperModelObjective, hypermodel_space
from tunebench.suite import SPLIT_SEED
from tunebench.tasks import split_task


def build_model(hp):
    """Keras Tuner's "getting started" build_model, as its tutorial writes it (the loss made
    sparse: the digits' labels are class numbers, not one-hot)."""
    model = keras.Sequential()
    model.add(layers.Flatten())
    # Tune the number of layers.
    for i in range(hp.Int("num_layers", 1, 3)):
        model.add(
            layers.Dense(
                # Tune number of units separately.
                units=hp.Int(f"units_{i}", min_value=32, max_value=512, step=32),
                activation=hp.Choice("activation", ["relu", "tanh"]),
            )
        )
    if hp.Boolean("dropout"):
        model.add(layers.Dropout(rate=0.25))
    model.add(layers.Dense(10, activation="softmax"))
    learning_rate = hp.Float("lr", min_value=1e-4, max_value=1e-2, sampling="log")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    task = split_task(
        "digits",
        data.data,
        data.target,
        loss="sparse_categorical_crossentropy",
        seed=SPLIT_SEED,
        stratify=True,
    )
    return task.subsample(240)


def test_the_getting_started_space_is_discovered_with_its_layers_conditions():
    space, fixed = hypermodel_space(build_model)
    units = Int(32, 512, step=32)
    assert list(space) == ["num_layers", "units_0", "activation", "dropout", "lr", "units_1",
                           "units_2"]  # fmt: skip
    assert space["num_layers"] == Int(1, 3)
    assert space["units_0"] == units
    assert space["units_1"].when == (("num_layers", (2, 3)),)
    assert space["units_2"].when == (("num_layers", (3,)),)
    assert space["dropout"] == Choice([False, True])
    assert space["lr"] == Float(1e-4, 1e-2, log=True)
    assert fixed == {}


@pytest.mark.parametrize("strategy", ["tpe", "gp", "evolution", "hyperband"])
def test_the_getting_started_example_runs_with_any_strategy(digits, strategy):
    objective = HyperModelObjective(build_model, digits, max_epochs=2)
    options = {"gp": {"n_initial_points": 2}, "tpe": {"n_startup_jobs": 2}}
    options["evolution"] = {"population_size": 2, "tournament_size": 2}
    study = tune(
        objective,
        strategy=strategy,
        budget=Budget(epochs=8),
        seed=0,
        strategy_options=options.get(strategy),
        progress=False,
    )
    assert len(study.trials) >= 4, study.summary()
    assert all(t.status == "ok" for t in study.trials), study.to_dataframe()["error"].tolist()
    assert study.best_loss < 2.3  # better than a uniform guess over 10 classes (ln 10)
    for trial in study.trials:
        layers_used = {f"units_{i}" for i in range(trial.params["num_layers"])}
        assert {k for k in trial.params if k.startswith("units_")} == layers_used


def test_the_builder_gets_the_replayed_values_and_its_scopes(digits):
    seen = []

    class Selector(keras_tuner.HyperModel):
        def build(self, hp):
            hp.Choice("kind", ["wide", "deep"])
            with hp.conditional_scope("kind", ["wide"]):
                width = hp.Int("width", 16, 64, step=16)
            with hp.conditional_scope("kind", ["deep"]):
                depth = hp.Int("depth", 2, 3)
            hp.Fixed("activation", "relu")
            seen.append(dict(hp.values))
            model = keras.Sequential([layers.Dense(width or 8, activation="relu")])
            for _ in range(depth or 0):
                model.add(layers.Dense(8, activation=hp.get("activation")))
            model.add(layers.Dense(10, activation="softmax"))
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            return model

    objective = HyperModelObjective(Selector(), digits, max_epochs=1)
    assert objective.space["width"] == Int(16, 64, step=16, when={"kind": ["wide"]})
    assert objective.space["depth"] == Int(2, 3, when={"kind": ["deep"]})
    seen.clear()
    study = tune(objective, strategy="random", budget=Budget(trials=6), seed=1, progress=False)
    assert all(t.status == "ok" for t in study.trials)
    for trial, values in zip(study.trials, seen, strict=True):
        assert values == {**trial.params, "activation": "relu"}


def test_what_cannot_be_mapped_is_refused_by_name(digits):
    def reverse(hp):
        hp.Float("lr", 1e-4, 1e-2, sampling="reverse_log")

    with pytest.raises(ValueError, match=r"hp.Float\('lr', sampling='reverse_log'\)"):
        hypermodel_space(reverse)

    class OwnFit(keras_tuner.HyperModel):
        def build(self, hp):
            hp.Int("units", 1, 4)

        def fit(self, hp, model, *args, **kwargs):
            return model.fit(*args, batch_size=hp.Int("batch_size", 16, 64), **kwargs)

    with pytest.raises(ValueError, match=r"OwnFit overrides HyperModel\.fit"):
        HyperModelObjective(OwnFit(), digits)
