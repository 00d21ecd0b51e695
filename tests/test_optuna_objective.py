"""Optuna objectives under tunebench: OptunaObjective."""

import math

import pytest
import sklearn.datasets
import sklearn.ensemble
import sklearn.model_selection
import sklearn.svm

from tunebench import Budget, Choice, Float, Int, OptunaObjective, Space, available_strategies, tune
from tunebench.optuna_objective import optuna_space

CALLS = []


def objective(trial):
    """Optuna's first tutorial objective (iris, SVC or random forest), as it is written."""
    CALLS.append(trial)
    iris = sklearn.datasets.load_iris()
    x, y = iris.data, iris.target

    classifier_name = trial.suggest_categorical("classifier", ["SVC", "RandomForest"])
    if classifier_name == "SVC":
        svc_c = trial.suggest_float("svc_c", 1e-10, 1e10, log=True)
        classifier_obj = sklearn.svm.SVC(C=svc_c, gamma="auto")
    else:
        rf_max_depth = trial.suggest_int("rf_max_depth", 2, 32, log=True)
        classifier_obj = sklearn.ensemble.RandomForestClassifier(
            max_depth=rf_max_depth, n_estimators=10
        )

    score = sklearn.model_selection.cross_val_score(classifier_obj, x, y, cv=3)
    accuracy = score.mean()
    return accuracy


def test_the_space_of_a_define_by_run_objective_is_explored():
    CALLS.clear()
    space = optuna_space(objective)
    assert space == Space(
        classifier=Choice(["SVC", "RandomForest"]),
        svc_c=Float(1e-10, 1e10, log=True, when={"classifier": ["SVC"]}),
        rf_max_depth=Int(2, 32, log=True, when={"classifier": ["RandomForest"]}),
    )
    # the default call, classifier=RandomForest, svc_c's and rf_max_depth's two other probes
    assert len(CALLS) == 6


@pytest.mark.parametrize("strategy", ["tpe", "evolution", "gp"])
def test_an_optuna_tutorial_objective_runs_with_any_strategy(strategy):
    options = {
        "tpe": {"n_startup_jobs": 5},
        "gp": {"n_initial_points": 5},
        "evolution": {"population_size": 5, "tournament_size": 3},
    }
    study = tune(
        OptunaObjective(objective, direction="maximize"),
        strategy=strategy,
        budget=Budget(trials=12),
        seed=0,
        strategy_options=options[strategy],
        progress=False,
    )
    assert len(study.trials) == 12
    assert all(t.status == "ok" for t in study.trials), study.to_dataframe()["error"].tolist()
    for trial in study.trials:
        branch = "svc_c" if trial.params["classifier"] == "SVC" else "rf_max_depth"
        assert set(trial.params) == {"classifier", branch}
    assert {t.params["classifier"] for t in study.trials} == {"SVC", "RandomForest"}
    assert -study.best_loss > 0.9  # the accuracy, maximised


def test_trial_methods_and_what_is_refused():
    seen = {}

    def reporting(trial):
        x = trial.suggest_float("x", 0, 1)
        again = trial.suggest_float("x", 0, 1)
        trial.report(x, step=0)
        seen.update(number=trial.number, again=again, prune=trial.should_prune())
        trial.set_user_attr("note", "kept")
        return x

    study = tune(OptunaObjective(reporting), strategy="random", budget=Budget(trials=2))
    last = study.trials[-1]
    assert seen == {"number": last.id, "again": last.params["x"], "prune": False}

    def two_ways(trial):
        if trial.suggest_categorical("kind", ["a", "b"]) == "a":
            return trial.suggest_float("x", 0, 1)
        return trial.suggest_float("x", 0, 2)

    with pytest.raises(ValueError, match=r"defines 'x' in two ways: Float\(low=0.0, high=1.0"):
        optuna_space(two_ways)

    def gated_by_a_float(trial):
        if trial.suggest_float("x", 0, 1) > 0.7:
            return trial.suggest_int("y", 1, 3)
        return 0.0

    with pytest.raises(ValueError, match="asks for 'y' only in some calls"):
        optuna_space(gated_by_a_float)

    def unsupported(trial):
        trial.suggest_float("x", 0, 1)
        return trial.study.best_value

    result = tune(OptunaObjective(unsupported), strategy="random", budget=Budget(trials=1))
    assert "tunebench's Optuna trial has no 'study'" in result.trials[0].error


def branching(trial):
    """A cheap define-by-run objective: a layer count, a size for each layer, a branch."""
    n_layers = trial.suggest_int("n_layers", 1, 3)
    sizes = [trial.suggest_int(f"n_units_l{i}", 4, 128, log=True) for i in range(n_layers)]
    optimizer = trial.suggest_categorical("optimizer", ["sgd", "adam"])
    momentum = trial.suggest_float("momentum", 0.0, 0.9) if optimizer == "sgd" else 0.5
    return sum(abs(s - 32) / 32 for s in sizes) + abs(n_layers - 2) + momentum


@pytest.mark.parametrize("strategy", available_strategies())
def test_a_branching_optuna_objective_runs_under_every_strategy(strategy):
    objective = OptunaObjective(branching)
    assert objective.space["n_units_l2"].when == (("n_layers", (3,)),)
    assert objective.space["momentum"].when == (("optimizer", ("sgd",)),)
    if strategy == "bohb":  # Hyperband's brackets need the most steps a trial reports
        with pytest.raises(ValueError, match=r"needs max_resource .* strategy option of bohb"):
            tune(objective, strategy=strategy, budget=Budget(trials=12), seed=0, progress=False)
        return
    study = tune(objective, strategy=strategy, budget=Budget(trials=12), seed=0, progress=False)
    assert len(study.trials) == 12 or study.stop_reason == "strategy_done"
    assert all(t.status == "ok" for t in study.trials), study.to_dataframe()["error"].tolist()


def reporting(trial):
    """Optuna's pruning idiom: report after each step, stop when told to."""
    import optuna

    x = trial.suggest_float("x", -10, 10)
    loss = math.inf
    for step in range(10):
        loss = (x - 2) ** 2 + 1 / (step + 1)
        trial.report(loss, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return loss


@pytest.mark.parametrize(
    ("strategy", "pruner", "options"),
    [("tpe", "median", {}), ("asha", "none", {}), ("bohb", "none", {"max_resource": 10})],
)
def test_trial_report_and_should_prune_run_tunebenchs_pruner(strategy, pruner, options):
    study = tune(
        OptunaObjective(reporting),
        strategy=strategy,
        budget=Budget(trials=30),
        pruner=pruner,
        strategy_options=options,
        seed=0,
        progress=False,
    )
    pruned = [t for t in study.trials if t.status == "pruned"]
    assert pruned and len(pruned) < len(study.trials)
    for trial in pruned:  # stopped early, its loss the best of its reports
        assert 0 < len(trial.curve) < 10 and trial.loss == min(trial.curve)
    assert all(len(t.curve) == 10 for t in study.trials if t.status == "ok")
    assert study.epochs_spent == len(study.trials)  # an Optuna objective's unit: one call
