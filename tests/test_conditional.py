"""Conditional spaces: a parameter active only when another takes certain values."""

import csv
import math

import numpy as np
import pytest
from scipy.stats import reciprocal

from tunebench import Budget, Choice, Float, Int, KerasObjective, Space, get_strategy, tune
from tunebench.cli import main
from tunebench.report.runs import load_runs
from tunebench.report.write import write_trials_csv
from tunebench.store import load_study
from tunebench.strategy import Result, Suggestion
from tunebench.tasks import synthetic_regression
from tunebench.testing import CONDITIONAL_SPACE

LAYERS = Space(
    n_hidden=Int(0, 3),
    n_neurons_1=Int(1, 99, when={"n_hidden": [1, 2, 3]}),
    n_neurons_2=Int(1, 99, when={"n_hidden": [2, 3]}),
    n_neurons_3=Int(1, 99, when={"n_hidden": 3}),
    learning_rate=Float(3e-4, 3e-2, log=True),
)


def active_layers(params):
    """The names active at ``params``, by hand."""
    return {"n_hidden", "learning_rate"} | {
        f"n_neurons_{i}" for i in range(1, params["n_hidden"] + 1)
    }


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (
            lambda: Space(n_hidden=Int(0, 3), units=Int(1, 9, when={"n_hiden": [1]})),
            "'n_hiden' (did you mean 'n_hidden'?), which is not a parameter",
        ),
        (
            lambda: Space(units=Int(1, 9, when={"n_hidden": [1]}), n_hidden=Int(0, 3)),
            "define 'n_hidden' before 'units'",
        ),
        (
            lambda: Space(n_hidden=Int(0, 3), units=Int(1, 9, when={"n_hidden": [2, 5]})),
            "has 5, which 'n_hidden' (Int(low=0, high=3, log=False)) never takes",
        ),
        (
            lambda: Space(act=Choice(["relu"]), units=Int(1, 9, when={"act": ["tanh"]})),
            "has 'tanh', which 'act'",
        ),
        (
            lambda: Space(lr=Float(0, 1), units=Int(1, 9, when={"lr": [0.5]})),
            "'lr', a Float; a condition needs a parent with a finite set of values",
        ),
        (lambda: Int(1, 9, when={"n_hidden": []}), "lists no values"),
        (lambda: Int(1, 9, when=["n_hidden"]), "when must be a dict"),
    ],
)
def test_a_bad_condition_is_refused_naming_the_parameter(make, fragment):
    with pytest.raises((ValueError, TypeError)) as info:
        make()
    assert fragment in str(info.value)


def test_points_hold_only_the_active_parameters():
    rng = np.random.default_rng(0)
    points = [LAYERS.sample(rng) for _ in range(40)]
    assert {p["n_hidden"] for p in points} == {0, 1, 2, 3}
    for point in points:
        assert set(point) == active_layers(point)
    point = {"n_hidden": 1, "n_neurons_1": 5, "learning_rate": 0.01}
    with pytest.raises(ValueError, match=r"missing \['n_neurons_2'\]"):
        LAYERS.validate({**point, "n_hidden": 2})
    assert LAYERS.validate({**point, "n_neurons_3": 7}) == point  # inactive: dropped
    assert LAYERS.fill_inactive(point) == {**point, "n_neurons_2": 1, "n_neurons_3": 1}
    assert set(LAYERS.from_unit(LAYERS.to_unit(point))) == set(point)


def test_from_dict_takes_hyperopt_style_sub_spaces_and_json_keeps_conditions():
    units = np.arange(1, 100)
    space = Space.from_dict(
        {
            "n_hidden": [
                {"n_hidden": 0},
                {"n_hidden": 1, "n_neurons_1": units},
                {"n_hidden": 2, "n_neurons_1": units, "n_neurons_2": units},
                {"n_hidden": 3, "n_neurons_1": units, "n_neurons_2": units, "n_neurons_3": units},
            ],
            "learning_rate": reciprocal(3e-4, 3e-2),
        }
    )
    assert space == LAYERS
    assert Space.from_json(space.to_json()) == LAYERS
    nested = Space.from_dict(
        {
            "optimizer": [
                {"optimizer": "sgd", "nesterov": [{"nesterov": True, "momentum": [0.5, 0.9]}]},
                {"optimizer": "adam"},
            ]
        }
    )
    assert nested["nesterov"].when == (("optimizer", ("sgd",)),)
    assert nested["momentum"].when == (("nesterov", (True,)),)
    assert nested.active_only({"optimizer": "adam", "nesterov": True, "momentum": 0.5}) == {
        "optimizer": "adam"
    }
    with pytest.raises(ValueError, match="two different definitions"):
        Space.from_dict({"n": [{"n": 1, "u": [1, 2]}, {"n": 2, "u": [1, 3]}]})


def test_an_unconditional_space_keeps_its_json_and_repr():
    assert "when" not in str(LAYERS["n_hidden"]) and "when" not in LAYERS.to_json()["n_hidden"]


def test_the_grid_tries_each_active_point_once():
    grid = get_strategy("grid", LAYERS, seed=0, resolution=3)
    points = []
    while not grid.done:
        points.append(grid.ask().params)
    # n_hidden 0, 2 or 3 (3 grid values), 3 values per active layer, 3 learning rates
    assert len(points) == (1 + 3**2 + 3**3) * 3
    assert len({tuple(sorted(p.items())) for p in points}) == len(points)


def test_hyperopt_samples_a_conditional_parameter_only_in_its_sub_space():
    tpe = get_strategy("tpe", LAYERS, seed=0, n_startup_jobs=3)
    for _ in range(12):
        suggestion = tpe.ask()
        vals = tpe._trials.trials[-1]["misc"]["vals"]
        sampled = {name for name, value in vals.items() if value}
        assert sampled == active_layers(suggestion.params) == set(suggestion.params)
        tpe.tell(suggestion, Result(loss=suggestion.params["learning_rate"]))


def test_optuna_tpe_asks_define_by_run():
    optuna_tpe = get_strategy("optuna-tpe", LAYERS, seed=0)
    layers = set()
    for _ in range(8):
        suggestion = optuna_tpe.ask()
        trial = optuna_tpe._pending[suggestion.id]
        assert set(trial.params) == active_layers(suggestion.params) == set(suggestion.params)
        layers.add(suggestion.params["n_hidden"])
        optuna_tpe.tell(suggestion, Result(loss=1.0))
    assert len(layers) > 2


def test_the_gp_is_told_an_inactive_parameter_at_a_fixed_value():
    gp = get_strategy("gp", LAYERS, seed=0, n_initial_points=3)
    for _ in range(6):
        suggestion = gp.ask()
        gp.tell(suggestion, Result(loss=suggestion.params["learning_rate"]))
    names = list(LAYERS)
    for told in gp._opt.Xi:
        params = dict(zip(names, told, strict=True))
        for layer in range(params["n_hidden"] + 1, 4):
            assert told[names.index(f"n_neurons_{layer}")] == 1  # inactive: its low end
    assert any(told[0] < 3 for told in gp._opt.Xi)


def test_hyperband_gives_keras_tuner_the_conditions():
    hyperband = get_strategy("hyperband", CONDITIONAL_SPACE, seed=0, max_epochs=3)
    conditions = {
        hp.name: [(c.name, list(c.values)) for c in hp.conditions]
        for hp in hyperband._oracle.hyperparameters.space
    }
    assert conditions["n_neurons_2"] == [("n_hidden", [2, 3])]
    assert conditions["nesterov"] == [("optimizer", [0])]  # a Choice: its option index
    assert conditions["momentum"] == [("optimizer", [0]), ("nesterov", [1])]  # nested scopes


def book_layers(n_hidden=1, n_neurons_1=30, n_neurons_2=30, n_neurons_3=30, learning_rate=3e-3):
    """The book's MLP with a neuron count per hidden layer."""
    import keras

    model = keras.Sequential([keras.layers.Input(shape=(8,))])
    for units in (n_neurons_1, n_neurons_2, n_neurons_3)[:n_hidden]:
        model.add(keras.layers.Dense(units, activation="relu"))
    model.add(keras.layers.Dense(1))
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=learning_rate))
    return model


def test_a_keras_search_of_neurons_per_layer_stores_inactive_layers_as_empty(tmp_path):
    task = synthetic_regression(n_samples=300, n_features=8, seed=0)
    study = tune(
        KerasObjective(book_layers, task, max_epochs=2),
        LAYERS,
        "random",
        Budget(trials=8),
        seed=1,
        storage=tmp_path / "runs.db",
        progress=False,
    )
    assert all(t.status == "ok" for t in study.trials)
    stored = load_study(tmp_path / "runs.db")
    frame = stored.to_dataframe()
    for _, row in frame.iterrows():
        for layer in (1, 2, 3):
            value = row[f"param_n_neurons_{layer}"]
            assert (layer <= row["param_n_hidden"]) == (not math.isnan(value))
    assert frame["param_n_hidden"].nunique() > 1
    groups, _ = load_runs(tmp_path / "runs.db")
    write_trials_csv(groups, tmp_path / "trials.csv")
    with (tmp_path / "trials.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 8
    for row in rows:
        for layer in (1, 2, 3):
            empty = row[f"param_n_neurons_{layer}"] == ""
            assert empty == (layer > int(row["param_n_hidden"]))
    assert main(["show", str(tmp_path / "runs.db"), "--study", study.name]) == 0


def test_evolution_carries_a_random_gene_for_an_inactive_parameter():
    evolution = get_strategy("evolution", LAYERS, seed=0, population_size=10)
    genomes = []
    for _ in range(10):
        suggestion = evolution.ask()
        if suggestion.params["n_hidden"] < 3:
            genomes.append(evolution._pending[suggestion.id][list(LAYERS).index("n_neurons_3")])
    assert genomes and len(set(genomes)) == len(genomes)  # drawn, not a fixed value


def test_a_builder_must_not_require_a_conditional_parameter():
    def build(n_hidden, n_neurons_1, n_neurons_2, n_neurons_3, learning_rate): ...

    task = synthetic_regression(n_samples=50, n_features=8, seed=0)
    with pytest.raises(ValueError, match="'n_neurons_1', 'n_neurons_2', 'n_neurons_3', which"):
        KerasObjective(build, task).check_space(LAYERS)


@pytest.mark.parametrize("name", ["tpe", "gp", "optuna-tpe", "cmaes", "evolution"])
def test_a_strategy_learns_conditional_points_it_did_not_propose(name):
    """Points told without an ask (a warm start): only their active parameters are given."""
    rng = np.random.default_rng(1)
    strategy = get_strategy(name, CONDITIONAL_SPACE, seed=0)
    for i in range(12):
        params = CONDITIONAL_SPACE.sample(rng)
        strategy.tell(Suggestion(id=1000 + i, params=params), Result(loss=float(rng.random())))
    suggestion = strategy.ask()
    assert CONDITIONAL_SPACE.validate(suggestion.params) == suggestion.params
