"""Bad inputs are refused before any trial, with a message naming the value and the fix;
bad values returned or met during a trial fail that trial with a clear message."""

import numpy as np
import pytest

from tunebench import (
    Budget,
    Choice,
    Float,
    FunctionObjective,
    Int,
    KerasObjective,
    Space,
    Suggestion,
    get_strategy,
    tune,
)
from tunebench.executors import make_executor
from tunebench.models import book_space, build_mlp

SPACE = Space(x=Float(0, 1))


def square(x):
    return x * x


def refused(error, *fragments, **kwargs):
    """The message of the error ``tune(**kwargs)`` raises, checked for every fragment."""
    arguments = {
        "objective": square,
        "space": SPACE,
        "strategy": "random",
        "budget": Budget(trials=2),
        "progress": False,
        **kwargs,
    }
    with pytest.raises(error) as info:
        tune(**arguments)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


# ---------------------------------------------------------------- seeds, names, counts


@pytest.mark.parametrize(
    ("seed", "error", "fragments"),
    [
        (-1, ValueError, ["seed must be an integer from 0 to 2**63 - 1, got -1", "such as 0"]),
        (2**64, ValueError, ["seed must be", f"got {2**64}"]),
        (2**63, ValueError, ["seed must be", f"got {2**63}"]),
        (True, TypeError, ["seed must be", "got True"]),
        ("7", TypeError, ["seed must be", "got '7'"]),
    ],
)
def test_a_bad_seed_is_named_as_the_seed(seed, error, fragments):
    refused(error, *fragments, seed=seed)
    with pytest.raises(error, match="seed must be"):
        get_strategy("random", SPACE, seed=seed)


def test_numpy_integers_are_counts_like_ints():
    study = tune(
        square,
        SPACE,
        "evolution",
        Budget(trials=np.int64(3)),
        seed=np.int64(2**63 - 1),
        workers=np.int64(1),
        strategy_options={"population_size": np.int64(4), "tournament_size": np.int32(2)},
        progress=False,
    )
    assert len(study.trials) == 3 and study.seed == 2**63 - 1 and type(study.seed) is int


def test_numpy_integers_are_objective_limits_like_ints(small_housing):
    keras_objective = KerasObjective(
        build_mlp,
        small_housing,
        max_epochs=np.int64(2),
        patience=np.int32(1),
        batch_size=np.int64(8),
    )
    limits = (keras_objective.max_epochs, keras_objective.patience, keras_objective.batch_size)
    assert limits == (2, 1, 8) and all(type(v) is int for v in limits)
    assert type(FunctionObjective(lambda x: x, max_epochs=np.int64(5)).max_epochs) is int
    with pytest.raises(ValueError, match="max_epochs must be a positive integer, got 0"):
        FunctionObjective(lambda x: x, max_epochs=0)


def test_numpy_workers_reach_the_worker_processes_as_an_int():
    study = tune(
        square,
        SPACE,
        "random",
        Budget(trials=2),
        executor="processes",
        workers=np.int64(2),
        progress=False,
    )
    assert len(study.trials) == 2


@pytest.mark.parametrize("name", ["", "   "])
def test_an_empty_study_name_is_refused(name):
    refused(ValueError, f"study_name must name the study, got {name!r}", study_name=name)


def test_address_is_only_for_ray():
    for executor in ("inline", "processes"):
        with pytest.raises(ValueError) as info:
            make_executor(executor, address="auto")
        message = str(info.value)
        assert "address='auto'" in message and f"executor={executor!r}" in message
        assert "executor='ray'" in message
    refused(ValueError, "address='auto'", "executor='ray'", address="auto")
    pool = make_executor("inline")
    refused(ValueError, "address='auto'", "make_executor", executor=pool, address="auto")


def test_evolution_tournament_larger_than_population_is_refused():
    with pytest.raises(ValueError) as info:
        get_strategy("evolution", SPACE, seed=0, population_size=4, tournament_size=5)
    message = str(info.value)
    assert "tournament_size=5" in message and "population_size=4" in message
    get_strategy("evolution", SPACE, seed=0, population_size=4, tournament_size=4)


# ---------------------------------------------------------------- what an objective returns


@pytest.mark.parametrize(
    ("value", "shown"), [(True, "True (bool)"), ("0.5", "'0.5' (str)"), (np.bool_(False), "(bool")]
)
def test_a_returned_bool_or_string_is_a_failed_trial(value, shown):
    result = FunctionObjective(lambda x: value).evaluate(Suggestion(id=0, params={"x": 0.5}))
    assert result.status == "failed"
    assert "must return a number" in result.error and shown in result.error


@pytest.mark.parametrize("value", [0.25, 1, np.float32(0.25), np.array(0.25), np.int64(1)])
def test_numbers_of_any_kind_are_losses(value):
    result = FunctionObjective(lambda x: value).evaluate(Suggestion(id=0, params={"x": 0.5}))
    assert result.status == "ok" and result.loss == float(value)


# ---------------------------------------------------------------- a parameter named epochs


def test_a_searched_epochs_parameter_is_refused_for_a_fidelity_function():
    def train(x, epochs):
        return x / epochs

    space = Space(x=Float(0, 1), epochs=Int(1, 50))
    message = refused(
        ValueError, "named 'epochs'", "train", "rename", "n_epochs", objective=train, space=space
    )
    assert "Result(loss=..., epochs_run=...)" in message
    # Called directly (no tune), the trial fails instead of using another value silently.
    direct = FunctionObjective(train).evaluate(Suggestion(id=0, params={"x": 1.0, "epochs": 7}))
    assert direct.status == "failed" and "named 'epochs'" in direct.error


def test_the_suggested_rename_works_and_charges_what_was_trained():
    from tunebench import Result

    def train(x, n_epochs, epochs):
        trained = min(n_epochs, epochs)
        return Result(loss=x / trained, epochs_run=trained)

    space = Space(x=Float(0, 1), n_epochs=Int(1, 5))
    study = tune(train, space, "random", Budget(epochs=40), seed=0, progress=False)
    trained = [min(t.params["n_epochs"], t.epochs) for t in study.trials]  # the last is clipped
    assert study.epochs_spent == sum(trained) == 40
    assert trained[:-1] == [t.params["n_epochs"] for t in study.trials[:-1]]


def test_a_searched_epochs_passes_through_a_function_that_does_not_take_the_fidelity():
    seen = []

    def train(**params):
        seen.append(params["epochs"])
        return 1.0

    tune(train, Space(epochs=Int(1, 9)), "random", Budget(trials=3), seed=0, progress=False)
    assert len(seen) == 3 and all(1 <= e <= 9 for e in seen)


def test_a_searched_epochs_a_keras_builder_would_swallow_is_refused(small_housing):
    def build(**params):
        return build_mlp()

    refused(
        ValueError,
        "named 'epochs'",
        "max_epochs=1",
        "would be ignored",
        objective=KerasObjective(build, small_housing, max_epochs=1),
        space=Space(epochs=Int(1, 5)),
    )


# ---------------------------------------------------------------- names the code cannot take


def test_function_names_are_checked_before_the_first_trial():
    calls = []

    def loss(learning_rate, n_hidden=1):
        calls.append(1)
        return learning_rate

    message = refused(
        ValueError,
        "'learnig_rate' (did you mean 'learning_rate'?)",
        "it takes learning_rate, n_hidden",
        objective=loss,
        space=Space(learnig_rate=Float(0.1, 1), n_hidden=Int(1, 3)),
    )
    assert "the function" in message and calls == []
    refused(ValueError, "requires 'learning_rate'", objective=loss, space=Space(n_hidden=Int(1, 3)))
    tune(lambda **p: 0.0, Space(anything=Int(1, 2)), "random", Budget(trials=1), progress=False)


def test_builder_names_are_checked_before_the_first_trial(small_housing):
    objective = KerasObjective(build_mlp, small_housing, max_epochs=1)
    space = Space(n_hiden=Int(0, 3), batch_size=Choice([32, 64]), warmup_epochs=Int(0, 2))
    message = refused(
        ValueError,
        "the builder build_mlp does not take 'n_hiden' (did you mean 'n_hidden'?)",
        "n_hidden, n_neurons, learning_rate, input_shape, batch_size, warmup_epochs",
        objective=objective,
        space=space,
    )
    assert "**kwargs" in message
    study = tune(objective, book_space(), "random", Budget(trials=1), seed=0, progress=False)
    assert study.trials[0].status == "ok"  # input_shape and the fit-time names are fine


@pytest.mark.parametrize(
    ("param", "shown"),
    [
        (Int(0, 64), "Int(low=0, high=64"),
        (Choice([32, 0]), "Choice(options=(32, 0))"),
        (Float(16, 64), "Float(low=16.0"),
        (Choice([32, 64.0]), "Choice(options=(32, 64.0))"),
    ],
)
def test_a_space_whose_batch_size_can_be_invalid_is_refused(small_housing, param, shown):
    objective = KerasObjective(build_mlp, small_housing, max_epochs=1)
    refused(
        ValueError,
        "batch_size in the space must take only integers >= 1",
        shown,
        "Int(16, 256, log=True) or [32, 64, 128]",
        objective=objective,
        space=Space(n_hidden=Int(0, 1), batch_size=param),
    )


def test_a_space_whose_warmup_epochs_can_be_negative_is_refused(small_housing):
    objective = KerasObjective(build_mlp, small_housing, max_epochs=1)
    refused(
        ValueError,
        "warmup_epochs in the space must take only integers >= 0",
        "Int(low=-1, high=2",
        objective=objective,
        space=Space(n_hidden=Int(0, 1), warmup_epochs=Int(-1, 2)),
    )


def test_a_bad_batch_size_met_in_a_trial_fails_it_clearly(small_housing):
    objective = KerasObjective(build_mlp, small_housing, max_epochs=1)
    result = objective.evaluate(Suggestion(id=0, params={"batch_size": 0}, seed=0))
    assert result.status == "failed"
    assert "batch_size must be a positive integer, got 0" in result.error
    assert "ZeroDivisionError" not in result.error


def test_a_numpy_max_epochs_beyond_the_objectives_is_refused_too():
    objective = FunctionObjective(lambda x, epochs: x / epochs, max_epochs=9)
    with pytest.raises(ValueError, match="max_epochs=27 exceeds the objective's max_epochs=9"):
        tune(
            objective,
            Space(x=Float(0, 1)),
            "hyperband",
            Budget(epochs=50),
            strategy_options={"max_epochs": np.int64(27)},
            progress=False,
        )
