"""Extending a finished study, enqueued configurations, warm starts: real strategies, real
SQLite files, plain functions (training is not the point here)."""

import warnings

import pytest

from tunebench import (
    Budget,
    Choice,
    Float,
    FunctionObjective,
    Int,
    Space,
    StudyMismatchError,
    StudyNotice,
    available_strategies,
    load_study,
    tune,
)
from tunebench.strategy import strategy_class

SPACE = Space(x=Float(0, 1), n=Int(1, 4), act=Choice(["relu", "tanh"]))


def trained(x, n, act, epochs, report):
    def loss(epoch):
        return (x - 0.3) ** 2 + 0.1 * n + (act == "relu") * 0.05 + 1 / epoch

    for epoch in range(1, epochs + 1):  # for the strategies that prune (asha, bohb)
        report(epoch, loss(epoch))
    return loss(epochs)


def objective():
    return FunctionObjective(trained, max_epochs=8)


def rows(study):
    return [(t.id, t.params, t.epochs, t.initial_epoch, t.loss) for t in study.trials]


@pytest.mark.parametrize("name", available_strategies())
def test_a_larger_budget_extends_a_finished_study(name, tmp_path):
    storage = tmp_path / "runs.db"
    first = tune(objective(), SPACE, name, Budget(epochs=40), storage=storage, progress=False)
    assert first.stop_reason in ("epochs", "strategy_done")
    with pytest.warns(StudyNotice, match=r"extending study .* from Budget\(epochs=40\) to "):
        extended = tune(objective(), SPACE, name, Budget(epochs=80), storage=storage,
                        progress=False)  # fmt: skip
    assert rows(extended)[: len(first.trials)] == rows(first)  # kept as they were
    assert 40 < extended.epochs_spent <= 80 or extended.stop_reason == "strategy_done"
    assert extended.budget == Budget(epochs=80)
    ids = [t.id for t in extended.trials]
    assert ids == list(range(len(ids)))
    cls = strategy_class(name)
    if not (cls.multi_fidelity or cls.pruner):  # 8-epoch trials, unpruned: 40 clip none
        fresh = tune(objective(), SPACE, name, Budget(epochs=80), progress=False)
        assert rows(extended) == rows(fresh)  # the same as if it had had 80 from the start


def test_a_smaller_budget_is_refused_and_leaves_the_study_alone(tmp_path):
    storage = tmp_path / "runs.db"
    tune(objective(), SPACE, "tpe", Budget(epochs=40), storage=storage, progress=False)
    with pytest.raises(StudyMismatchError, match=r"lowers its budget \(epochs 40 -> 20\)") as no:
        tune(objective(), SPACE, "tpe", Budget(epochs=20), storage=storage, progress=False)
    assert "spent 40 epochs, 5 trials" in str(no.value)
    assert "pass Budget(epochs=40) to resume it" in str(no.value)
    with pytest.raises(StudyMismatchError, match=r"seconds no limit -> 60"):
        tune(objective(), SPACE, "tpe", Budget(epochs=40, seconds=60), storage=storage,
             progress=False)  # fmt: skip
    kept = load_study(storage)
    assert kept.budget == Budget(epochs=40) and kept.stop_reason == "epochs"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same budget: a plain resume, no notice
        again = tune(objective(), SPACE, "tpe", Budget(epochs=40), storage=storage,
                     progress=False)  # fmt: skip
    assert rows(again) == rows(kept)


GIVEN = [{"x": 0.3, "n": 1, "act": "tanh"}, {"x": 0.9, "n": 4, "act": "relu"}]


@pytest.mark.parametrize("name", ["tpe", "evolution", "hyperband"])
def test_enqueued_configurations_run_first_and_count_in_the_budget(name):
    study = tune(objective(), SPACE, name, Budget(epochs=40), enqueue=GIVEN, progress=False)
    assert [t.params for t in study.trials[:2]] == GIVEN
    assert [t.meta.get("enqueued") for t in study.trials[:3]] == [True, True, None]
    assert study.trials[0].epochs == 8  # the objective's own length, Hyperband's too
    assert study.epochs_spent <= 40  # counted in the budget
    assert study.best_params == GIVEN[0] or study.best_loss <= study.trials[0].loss


def test_an_enqueued_study_resumes_as_it_ran(tmp_path):
    calls = {"n": 0}

    def interrupted(x, n, act):
        calls["n"] += 1
        if calls["n"] == 2:  # during the second enqueued configuration
            raise KeyboardInterrupt
        return trained(x, n, act, 8)

    storage = tmp_path / "runs.db"
    with pytest.raises(KeyboardInterrupt):
        tune(interrupted, SPACE, "gp", Budget(trials=8), enqueue=GIVEN, storage=storage,
             progress=False)  # fmt: skip
    resumed = tune(interrupted, SPACE, "gp", Budget(trials=8), storage=storage, progress=False)
    calls["n"] = -100
    fresh = tune(interrupted, SPACE, "gp", Budget(trials=8), enqueue=GIVEN, progress=False)
    assert [t.params for t in resumed.trials] == [t.params for t in fresh.trials]
    assert [t.params for t in resumed.trials[:2]] == GIVEN
    with pytest.raises(StudyMismatchError, match="enqueue: stored 2 configurations"):
        tune(interrupted, SPACE, "gp", Budget(trials=8), enqueue=GIVEN[:1], storage=storage,
             progress=False)  # fmt: skip


@pytest.mark.parametrize(
    ("enqueue", "error", "message"),
    [
        ([{"x": 1.5, "n": 1, "act": "tanh"}], ValueError,
         r"enqueue\[0\]: parameter 'x': 1.5 is not inside Float"),
        ([GIVEN[0], {"x": 0.5, "n": 1, "act": "gelu"}], ValueError,
         r"enqueue\[1\]: parameter 'act': 'gelu' is not inside Choice"),
        ([{"x": 0.5, "nn": 1, "act": "tanh"}], ValueError,
         r"enqueue\[0\] names 'nn' \(did you mean 'n'\?\)"),
        ([{"x": 0.5}], ValueError, r"enqueue\[0\] lacks 'n', 'act'"),
        ({"x": 0.5, "n": 1, "act": "tanh"}, TypeError, r"a list of configurations"),
        ([0.5], TypeError, r"enqueue\[0\] must be a dict"),
    ],
)  # fmt: skip
def test_an_enqueued_value_outside_the_space_is_refused_naming_it(enqueue, error, message):
    with pytest.raises(error, match=message):
        tune(objective(), SPACE, "random", Budget(epochs=8), enqueue=enqueue, progress=False)


def test_warm_start_skips_trials_outside_the_new_space_with_a_count(tmp_path):
    source = tmp_path / "source.db"
    wide = Space(x=Float(0, 2), n=Int(1, 4), act=Choice(["relu", "tanh"]))
    old = tune(objective(), wide, "random", Budget(trials=20), seed=1, storage=source,
               progress=False)  # fmt: skip
    outside = sum(t.params["x"] > 1 for t in old.trials)
    assert 0 < outside < 20
    with pytest.warns(StudyNotice) as notices:
        study = tune(objective(), SPACE, "tpe", Budget(trials=3), warm_start=str(source),
                     progress=False)  # fmt: skip
    (notice,) = [str(n.message) for n in notices]
    assert notice.startswith(f"warm start: told tpe {20 - outside} trials of study 'random-seed1'")
    assert f"skipped {outside} outside the space (the first: trial " in notice
    assert "is not inside Float(low=0.0, high=1.0" in notice and "\n" not in notice
    assert len(study.trials) == 3  # warm-start trials are told, not run or charged


def test_a_warm_started_study_resumes_with_its_stored_trials_and_refuses_others(tmp_path):
    source = tune(objective(), SPACE, "random", Budget(trials=12), seed=1, progress=False)
    other = tune(objective(), SPACE, "random", Budget(trials=12), seed=2, progress=False)
    storage = tmp_path / "runs.db"
    first = tune(objective(), SPACE, "tpe", Budget(trials=4), warm_start=source,
                 storage=storage, progress=False)  # fmt: skip
    cold = tune(objective(), SPACE, "tpe", Budget(trials=4), progress=False)
    assert rows(first) != rows(cold)  # the strategy was told them
    with pytest.warns(StudyNotice, match="extending"):  # no warm_start given: the stored one
        extended = tune(objective(), SPACE, "tpe", Budget(trials=8), storage=storage,
                        progress=False)  # fmt: skip
    fresh = tune(objective(), SPACE, "tpe", Budget(trials=8), warm_start=source, progress=False)
    assert rows(extended) == rows(fresh)
    with pytest.raises(StudyMismatchError, match=r"warm start: stored 12 trials of study "):
        tune(objective(), SPACE, "tpe", Budget(trials=8), warm_start=other, storage=storage,
             progress=False)  # fmt: skip


def test_hyperband_refuses_a_warm_start_and_says_what_to_do():
    source = tune(objective(), SPACE, "random", Budget(trials=3), progress=False)
    with pytest.raises(ValueError, match=r"'hyperband' cannot be warm-started.*enqueue="):
        tune(objective(), SPACE, "hyperband", Budget(epochs=30), warm_start=source,
             progress=False)  # fmt: skip
