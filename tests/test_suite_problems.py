"""The built-in suite: its Keras problems train real trials (test accuracy for the
classifications), test metrics go through the store, the report and the DataFrame, stores
written before test metrics still open and resume, the synthetic problems' fidelity never
flatters, and every problem is declared and registered under its own name."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from tunebench import Budget, Float, FunctionObjective, Result, Store, Suggestion, load_study, tune
from tunebench.cli import main
from tunebench.models import build_mlp
from tunebench.objective import KerasObjective
from tunebench.problems import _BUILTINS, Problem, get_problem
from tunebench.report.reference import ProblemText, problem_text
from tunebench.report.runs import load_runs
from tunebench.report.sections import final_table
from tunebench.synthetic import (
    BRANIN_MIN,
    BRANIN_MINIMIZERS,
    HARTMANN6_MIN,
    HARTMANN6_MINIMIZER,
    MAX_EPOCHS,
    branin_value,
    hartmann6_value,
)
from tunebench.tasks import accuracy, synthetic_regression

ROOT = Path(__file__).resolve().parent.parent
KERAS_PROBLEMS = ("diabetes", "digits", "breast_cancer", "friedman1")
CLASSIFICATIONS = ("digits", "breast_cancer")


@pytest.mark.parametrize("name", KERAS_PROBLEMS)
def test_each_keras_problem_trains_a_trial_and_reports_its_metrics(name):
    problem = get_problem(name)
    objective = problem.checked_objective({"max_epochs": 2, "patience": 10})
    params = problem.space.sample(np.random.default_rng(0))
    result = objective.evaluate(Suggestion(id=0, params=params, seed=0))
    assert result.status == "ok" and result.epochs_run == 2, result.error
    assert math.isfinite(result.loss) and math.isfinite(result.test_loss)
    if name in CLASSIFICATIONS:
        assert problem.metrics == ("accuracy",)
        assert set(result.metrics) == {"accuracy"} and 0 <= result.metrics["accuracy"] <= 1
        assert objective.describe()["test_metrics"]["accuracy"]["fn"] == "accuracy"
    else:
        assert problem.metrics == () and result.metrics == {}
        assert "test_metrics" not in objective.describe()
    assert problem.budget_epochs is not None and problem.budget_epochs >= 10 * 20


def test_test_accuracy_is_that_of_the_restored_model_on_both_training_paths():
    from tunebench.models import build_network

    task = get_problem("breast_cancer").make_objective().task
    builder = _sigmoid_network
    for fast in (True, False):
        objective = KerasObjective(
            builder, task, max_epochs=3, fast=fast, test_metrics={"accuracy": accuracy}
        )
        params = {"n_hidden": 1, "n_neurons": 8, "learning_rate": 0.01, "optimizer": "adam"}
        result = objective.evaluate(Suggestion(id=0, params=params, seed=1))
        model = build_network(**params, output="sigmoid", input_shape=task.input_shape)
        model.set_weights(result.state["weights"])
        expected = accuracy(task.y_test, model.predict(task.X_test, verbose=0))
        assert result.metrics == {"accuracy": pytest.approx(expected)}, fast


def _sigmoid_network(**params):
    from tunebench.models import build_network

    return build_network(**params, output="sigmoid")


def test_a_metric_that_raises_fails_the_trial_naming_it():
    def broken(y_true, y_pred):
        raise ZeroDivisionError("no")

    objective = KerasObjective(
        build_mlp, synthetic_regression(100), max_epochs=1, test_metrics={"r2": broken}
    )
    result = objective.evaluate(Suggestion(id=0, params={}, seed=0))
    assert result.status == "failed" and result.epochs_run == 1
    assert result.error.startswith("ValueError: the test metric 'r2' (")
    with pytest.raises(TypeError, match="test_metrics must be a dict"):
        KerasObjective(build_mlp, synthetic_regression(100), test_metrics=[accuracy])


def test_describe_is_unchanged_without_test_metrics():
    """A study stored before test metrics existed must resume: the description of an
    objective without them has exactly the keys it always had."""
    task = synthetic_regression(100)
    plain = KerasObjective(build_mlp, task).describe()
    assert list(plain) == [
        *("type", "build_model", "build_model_module", "build_model_code", "task"),
        *("max_epochs", "patience", "batch_size", "fast"),
    ]
    measured = KerasObjective(build_mlp, task, test_metrics={"accuracy": accuracy}).describe()
    assert {k: v for k, v in measured.items() if k != "test_metrics"} == plain
    assert measured["test_metrics"]["accuracy"]["fn_module"] == "tunebench.tasks"


def _measured(x, epochs):
    return Result(loss=(x - 0.3) ** 2, epochs_run=epochs, metrics={"accuracy": x})


def test_metrics_round_trip_through_the_store_the_dataframe_and_the_report(tmp_path):
    storage = tmp_path / "runs.db"
    objective = FunctionObjective(_measured, max_epochs=2)
    space = {"x": Float(0.0, 1.0)}
    tune(objective, space, strategy="random", budget=Budget(epochs=10), storage=storage, seed=0)
    study = load_study(storage)
    assert all(set(t.metrics) == {"accuracy"} for t in study.trials)
    frame = study.to_dataframe()
    assert list(frame["metric_accuracy"]) == [t.params["x"] for t in study.trials]
    groups, _ = load_runs(storage)
    table = final_table(groups, ["random"], ProblemText(name="bowl", book=False))
    assert "test accuracy, median" not in table.headers
    table = final_table(
        groups, ["random"], ProblemText(name="bowl", book=False, metrics=("accuracy",))
    )
    column = table.headers.index("test accuracy, median")
    assert table.rows[0][column] == f"{study.best_trial.metrics['accuracy']:.4f}"


def test_a_store_written_before_test_metrics_opens_and_resumes(tmp_path):
    """The store of the code before ``Trial.metrics``: the same tables without its column
    (``Trial`` fields are the columns, the new one last)."""
    storage = tmp_path / "old.db"
    objective = FunctionObjective(_measured, max_epochs=2)
    space = {"x": Float(0.0, 1.0)}
    tune(objective, space, strategy="random", budget=Budget(epochs=6), storage=storage, seed=0)
    with sqlite3.connect(storage) as db:
        db.execute("ALTER TABLE trials DROP COLUMN metrics")
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    with Store(storage) as store:  # opening it gives it the column, old trials an empty dict
        study = store.load_study(store.study_names()[0])
    assert len(study.trials) == 3 and all(t.metrics == {} for t in study.trials)
    study = tune(
        objective, space, strategy="random", budget=Budget(epochs=10), storage=storage, seed=0
    )
    assert len(study.trials) == 5 and [bool(t.metrics) for t in study.trials] == [0, 0, 0, 1, 1]


def test_problem_settings_are_checked_and_metrics_reach_the_report_notes():
    space = {"x": Float(0.0, 1.0)}
    with pytest.raises(ValueError, match="budget_epochs must be a positive integer or None"):
        Problem("p", space, FunctionObjective, budget_epochs=0)
    with pytest.raises(ValueError, match="metrics must be names"):
        Problem("p", space, FunctionObjective, metrics=("test accuracy",))
    assert "metrics" not in get_problem("diabetes").report_notes()
    notes = get_problem("digits").report_notes()
    assert notes["metrics"] == ["accuracy"] and "higher is better" in notes["loss_description"]
    told = problem_text({"benchmark": {"problem": "digits", "problem_report": notes}})
    assert told.metrics == ("accuracy",) and told.loss_name == "cross-entropy"


def test_low_fidelity_is_never_below_the_true_value():
    rng = np.random.default_rng(0)
    for name in ("branin", "hartmann6"):
        problem = get_problem(name)
        objective = problem.checked_objective({})
        assert objective.max_epochs == MAX_EPOCHS
        for i in range(200):
            params = problem.space.sample(rng)
            epochs = int(rng.integers(1, MAX_EPOCHS + 1))
            low = objective.evaluate(Suggestion(id=i, params=params, epochs=epochs))
            full = objective.evaluate(Suggestion(id=i, params=params, epochs=MAX_EPOCHS))
            assert low.loss >= full.loss == full.test_loss == low.test_loss
            assert low.epochs_run == epochs
    # The Branin deviation does go both ways: without the penalty it would flatter.
    assert branin_value(math.pi, 0.0, s=0.0) < branin_value(math.pi, 0.0)


def test_the_known_optima_are_reached_at_the_known_minimisers():
    for x in BRANIN_MINIMIZERS:
        assert branin_value(*x) == pytest.approx(BRANIN_MIN, abs=1e-5)
    assert hartmann6_value(*HARTMANN6_MINIMIZER) == pytest.approx(HARTMANN6_MIN, abs=1e-5)
    objective = get_problem("branin").checked_objective({})
    continued = objective.evaluate(
        Suggestion(
            id=0,
            params=dict(zip(("x1", "x2"), BRANIN_MINIMIZERS[1], strict=True)),
            epochs=MAX_EPOCHS,
            initial_epoch=27,
        )
    )
    assert continued.loss == pytest.approx(BRANIN_MIN, abs=1e-5) and continued.epochs_run == 54
    assert get_problem("hartmann6").references[0].validation == HARTMANN6_MIN


def test_the_synthetic_benchmark_runs_through_the_command_line(tmp_path):
    out = tmp_path / "out"
    flags = ["--strategies", "random,tpe", "--seeds", "2", "--budget-epochs", "243"]
    assert main(["bench", "--problems", "branin", *flags, "--out", str(out), "--no-progress"]) == 0
    report = (out / "report.md").read_text()
    assert "global minimum" in report and "Branin value" in report
    with Store(out / "runs.db") as store:
        assert len(store.study_names()) == 4


def test_every_declared_problem_resolves_to_a_problem_of_its_name():
    pyproject = (ROOT / "pyproject.toml").read_text()
    group = pyproject.split('[project.entry-points."tunebench.problems"]\n', 1)[1]
    lines = group.split("\n\n", 1)[0].splitlines()  # name = "module:attribute", to a blank line
    declared = {n.strip(): v.strip().strip('"') for n, _, v in (x.partition("=") for x in lines)}
    builtins = {f"{module}:{n}" for module, names in _BUILTINS.items() for n in names}
    assert {f"{v}" for v in declared.values()} == builtins
    assert set(declared) == {*KERAS_PROBLEMS, "california_housing", "branin", "hartmann6"}
    for name, target in declared.items():
        attribute = target.partition(":")[2]
        assert attribute == name
        problem = get_problem(name)
        assert isinstance(problem, Problem) and problem.name == name
        assert get_problem(target) is problem
        json.dumps(problem.report_notes())


def test_a_classification_benchmark_reports_the_test_accuracy(tmp_path):
    from tunebench.bench import run_benchmark

    out = tmp_path / "out"
    run_benchmark(
        ["random"], seeds=1, budget_epochs=6, problems=["breast_cancer"], out_dir=out,
        subsample=60, max_epochs=3, progress=False,
    )  # fmt: skip
    report = (out / "report.md").read_text()
    header = next(line for line in report.splitlines() if "test accuracy, median" in line)
    row = next(line for line in report.splitlines() if line.startswith("| random |"))
    accuracy_cell = row.split("|")[header.split("|").index(" test accuracy, median ")]
    assert 0 <= float(accuracy_cell) <= 1
    frame = load_study(out / "runs.db", "breast_cancer/random-seed0").to_dataframe()
    assert frame["metric_accuracy"].between(0, 1).all()


def test_a_negative_loss_is_reported_with_the_right_signs_on_a_linear_axis(tmp_path):
    """Hartmann 6 is negative: a lower value is still a negative difference and a negative
    percentage, and the anytime figure (no log scale for values <= 0) shows every curve."""
    import warnings

    from tunebench.report import write_report
    from tunebench.report.formats import fmt_difference

    assert fmt_difference(-3.0, -2.0) == "-1.0000, -50.0 %"
    out = tmp_path / "out"
    flags = ["--strategies", "random,hyperband", "--seeds", "2", "--budget-epochs", "405"]
    assert (
        main(["bench", "--problems", "hartmann6", *flags, "--out", str(out), "--no-progress"]) == 0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns of a log scale of negative values
        report = write_report(out / "runs.db", tmp_path / "again").read_text()
    wilcoxon = [line for line in report.splitlines() if line.startswith("| hyperband | 2 |")]
    row = next(line for line in wilcoxon if " / " in line)  # seeds lower / equal / higher
    cells = [c.strip() for c in row.split("|")]
    difference = next(c for c in cells if c.startswith(("+", "-")) and "%" not in c)
    percent = next(c for c in cells if c.endswith("%"))
    assert difference[0] == percent[0], row


def test_the_synthetic_problems_report_each_epoch_so_that_pruning_strategies_run_on_them():
    """``make bench`` runs every registered strategy on branin and hartmann6: asha and bohb
    need a loss after each epoch (without one they are refused before the first trial)."""
    from tunebench import Budget, tune
    from tunebench.synthetic import branin, hartmann6

    for problem in (branin, hartmann6):
        for name in ("asha", "bohb"):
            study = tune(problem.make_objective(), problem.space, name, Budget(epochs=400),
                         seed=0, progress=False)  # fmt: skip
            assert any(t.status == "pruned" for t in study.trials), (problem.name, name)
            assert study.epochs_spent == 400


@pytest.mark.parametrize("n_hidden", [0, 3])
def test_build_network_with_the_defaults_is_build_mlp_weight_for_weight(n_hidden):
    # build_network builds its Sequential from one list of layers (once), build_mlp layer by
    # layer as the book does: the same seed must still give the same model.
    import keras

    from tunebench.models import build_mlp, build_network

    models = []
    for build in (build_mlp, build_network):
        keras.utils.set_random_seed(11)
        models.append(build(n_hidden=n_hidden, n_neurons=7))
    ours, book = models[1], models[0]
    assert [type(x).__name__ for x in ours.layers] == [type(x).__name__ for x in book.layers]
    for a, b in zip(ours.get_weights(), book.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
