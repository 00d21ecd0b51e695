"""Intermediate results and pruning: reports after each epoch (functions, Keras on the fast
path and through fit), Optuna's pruners fed from tunebench's trials, exact charges, the
decision in the worker from a snapshot (worker processes), and the errors before a trial."""

from __future__ import annotations

import base64
import math

import numpy as np
import pytest

from tunebench import Budget, Float, FunctionObjective, Int, KerasObjective, Space, tune
from tunebench.models import build_mlp
from tunebench.pruning import PruningMirror, UnknownPrunerError, check_pruner, pruning_under
from tunebench.runner import PrunerError
from tunebench.strategy import Result, Suggestion, get_strategy

SPACE = Space(x=Float(0, 1), n=Int(1, 5))


def curve_of(x: float, n: int, epoch: int) -> float:
    """A learning curve whose final value ranks points like its early values do."""
    return (x - 0.3) ** 2 + 0.01 * n + 1.0 / epoch


def trained(x: float, n: int, epochs: int, report) -> float:
    loss = math.inf
    for epoch in range(1, epochs + 1):
        loss = curve_of(x, n, epoch)
        report(epoch, loss)
    return loss


def test_a_functions_reports_are_its_trials_curve(tmp_path):
    study = tune(
        FunctionObjective(trained, max_epochs=5),
        SPACE,
        "random",
        Budget(epochs=20),
        seed=0,
        progress=False,
        storage=tmp_path / "runs.db",
    )
    for trial in study.trials:
        x, n = trial.params["x"], trial.params["n"]
        assert trial.curve == tuple(curve_of(x, n, e) for e in range(1, trial.epochs_run + 1))
    frame = study.to_dataframe()
    assert list(frame["curve"]) == [t.curve for t in study.trials]


def test_report_takes_the_epochs_one_by_one():
    def skips(x, epochs, report):
        report(2, x)
        return x

    result = FunctionObjective(skips, max_epochs=3).evaluate(
        Suggestion(id=0, params={"x": 0.5}, epochs=3)
    )
    assert result.status == "failed" and "expected epoch 1, got 2" in result.error


def test_hyperband_continues_a_reporting_function_that_is_not_told_initial_epoch():
    study = tune(
        FunctionObjective(trained, max_epochs=9),
        SPACE,
        "hyperband",
        Budget(epochs=60),
        seed=0,
        progress=False,
    )
    continued = [t for t in study.trials if t.initial_epoch > 0]
    assert continued and all(t.status == "ok" for t in study.trials)
    for trial in continued:  # it reported from epoch 1; the curve keeps the new epochs
        x, n = trial.params["x"], trial.params["n"]
        new = range(trial.initial_epoch + 1, trial.epochs + 1)
        assert trial.curve == tuple(curve_of(x, n, e) for e in new)
        assert trial.epochs_run == len(trial.curve)


def _prunes_after_two_epochs():
    """A pruner that stops a trial at epoch 2: the median of one finished trial whose losses
    no model can beat, with 2 warm-up steps."""
    mirror = PruningMirror(check_pruner("median", {"n_startup_trials": 1, "n_warmup_steps": 2}))
    mirror.finish(0, 0, Result(loss=1e-9, epochs_run=5, curve=(1e-9,) * 5))
    return mirror.trial_pruner(1)


@pytest.mark.parametrize("fast", [True, False])
def test_keras_reports_each_epochs_validation_loss(small_housing, fast):
    objective = KerasObjective(build_mlp, small_housing, max_epochs=5, fast=fast)
    suggestion = Suggestion(id=1, params={"n_hidden": 1, "n_neurons": 8}, seed=0)
    pruner = _prunes_after_two_epochs()
    with pruning_under(pruner):
        result = objective.evaluate(suggestion)
    assert result.status == "pruned" and pruner.pruned_at == 2
    assert result.epochs_run == 2 and len(result.curve) == 2
    assert result.loss == min(result.curve)
    unpruned = objective.evaluate(suggestion)  # the same training, to its end
    assert unpruned.status == "ok" and unpruned.curve[:2] == pytest.approx(result.curve)


@pytest.mark.parametrize(
    ("pruner", "options"),
    [("median", {"n_startup_trials": 2}), ("asha", None), ("hyperband", None)],
)
def test_a_pruned_trial_is_charged_exactly_the_epochs_it_trained(pruner, options):
    reports = []

    def counted(x, n, epochs, report):
        def note(epoch, loss):
            reports.append(epoch)
            report(epoch, loss)

        return trained(x, n, epochs, note)

    study = tune(
        FunctionObjective(counted, max_epochs=27),
        SPACE,
        "tpe",
        Budget(epochs=200),
        seed=1,
        progress=False,
        pruner=pruner,
        pruner_options=options,
    )
    pruned = [t for t in study.trials if t.status == "pruned"]
    assert pruned and study.best_trial.status == "ok"
    assert study.epochs_spent == len(reports) <= 200
    for trial in pruned:
        assert trial.epochs_run == len(trial.curve) < 27
        assert trial.loss == min(trial.curve)
    spent = sum(t.epochs_run for t in pruned)
    assert f"pruned, charged {spent} epoch" in study.summary().splitlines()[1]


def test_optuna_tpe_is_told_a_pruned_trial_as_optunas_pruned_state():
    from optuna.trial import TrialState

    strategy = get_strategy("optuna-tpe", SPACE, seed=0)
    suggestion = strategy.ask()
    strategy.tell(suggestion, Result(loss=0.4, status="pruned", epochs_run=2, curve=(0.5, 0.4)))
    (told,) = strategy._study.trials
    assert told.state == TrialState.PRUNED and told.intermediate_values == {1: 0.5, 2: 0.4}


def test_worker_processes_decide_from_the_trials_finished_when_a_trial_started(tmp_path):
    spec = check_pruner("asha", {"reduction_factor": 3})
    study = tune(
        FunctionObjective(trained, max_epochs=27),
        SPACE,
        "random",
        Budget(epochs=150),
        seed=2,
        progress=False,
        executor="processes",
        workers=2,
        storage=tmp_path / "runs.db",
        pruner="asha",
        pruner_options={"reduction_factor": 3},
    )
    assert len({t.worker for t in study.trials}) == 2
    pruned = [t for t in study.trials if t.status == "pruned"]
    assert pruned
    overlapping = 0
    for trial in study.trials:
        # Its snapshot: the trials told before it was asked. Deciding again from that
        # snapshot gives the stop it made in its worker.
        before = sorted(
            (t for t in study.trials if t.tell_seq is not None and t.tell_seq < trial.ask_seq),
            key=lambda t: t.tell_seq,
        )
        overlapping += len(before) < trial.id
        mirror = PruningMirror(spec)
        for t in before:
            mirror.finish(t.id, t.initial_epoch, t.result())
        decider = mirror.trial_pruner(trial.id)
        stops = [e for e, v in enumerate(trial.curve, start=1) if decider.should_prune(e, v)]
        assert stops[:1] == ([len(trial.curve)] if trial.status == "pruned" else []), trial.id
        assert trial.epochs_run == len(trial.curve)
    assert overlapping  # some trials started while others ran: their snapshots lacked them


def test_a_pruner_needs_reports_and_says_so_before_any_trial():
    calls = []

    def silent(x, n):
        calls.append(x)
        return x

    with pytest.raises(PrunerError, match="never reports one: give the function a `report`"):
        tune(silent, SPACE, "random", Budget(trials=3), progress=False, pruner="median")
    with pytest.raises(PrunerError, match="strategy 'asha' decides"):
        tune(silent, SPACE, "asha", Budget(trials=3), progress=False)
    assert calls == []


def test_pruner_names_and_options_are_checked():
    objective = FunctionObjective(trained, max_epochs=9)
    run = dict(budget=Budget(epochs=20), progress=False)
    with pytest.raises(UnknownPrunerError, match="did you mean 'median'"):
        tune(objective, SPACE, "random", pruner="medain", **run)
    with pytest.raises(TypeError, match=r"no option .reduction. .did you mean .reduction_factor"):
        tune(objective, SPACE, "random", pruner="asha", pruner_options={"reduction": 3}, **run)
    with pytest.raises(ValueError, match="reduction_factor must be an integer >= 2, got 1"):
        options = {"reduction_factor": 1}
        tune(objective, SPACE, "random", pruner="asha", pruner_options=options, **run)
    with pytest.raises(PrunerError, match="'hyperband' schedules its trials' training"):
        tune(objective, SPACE, "hyperband", pruner="asha", **run)
    with pytest.raises(PrunerError, match="'bohb' prunes by itself"):
        tune(objective, SPACE, "bohb", pruner="median", **run)


def reporting_bowl(x: float, width: int, epochs: int, report) -> float:
    loss = math.inf
    for epoch in range(1, epochs + 1):
        loss = (x - 0.3) ** 2 + 0.01 * width + 1.0 / epoch
        report(epoch, loss)
    return loss


def make_reporting_bowl(max_epochs: int = 9) -> FunctionObjective:
    return FunctionObjective(reporting_bowl, max_epochs=max_epochs)


def test_the_benchmark_runs_pruned_strategies_and_reports_their_pruned_epochs(tmp_path, capsys):
    from tunebench.bench import run_benchmark
    from tunebench.problems import Problem
    from tunebench.store import Store

    bowl = Problem("reporting_bowl", Space(x=Float(0, 1), width=Int(1, 4)), make_reporting_bowl)
    run = dict(seeds=1, budget_epochs=60, problems=[bowl], out_dir=tmp_path, progress=False)
    report = run_benchmark(["random", "random+asha", "bohb"], **run)
    text = report.read_text()
    pruning = text[text.index("## Pruning") :].split("\n\n")[1]
    assert "| random+asha |" in pruning and "| bohb |" in pruning
    assert "| random |" not in pruning
    with Store(tmp_path / "runs.db") as store:
        pruned = store.load_study("reporting_bowl/random+asha-seed0")
    assert pruned.strategy == "random" and pruned.objective["pruner"] == "asha"
    assert any(t.status == "pruned" for t in pruned.trials)
    # pruner= puts every strategy that takes one under it: here the same runs, done already.
    run_benchmark(["random", "bohb"], pruner="asha", **run)
    assert "all 2 runs are finished in the store" in capsys.readouterr().err
    with pytest.raises(ValueError, match="'bohb' schedules its trials' training lengths"):
        run_benchmark(["bohb+asha"], **run)


def test_the_command_line_takes_a_pruner(tmp_path, capsys):
    from tunebench.cli import main
    from tunebench.store import load_study

    assert main(["tune", "--strategy", "hyperband", "--pruner", "asha"]) == 2
    assert "schedules its trials' training lengths" in capsys.readouterr().err
    assert main(["tune", "--pruner", "ahsa"]) == 2
    assert "did you mean 'asha'" in capsys.readouterr().err
    assert main(["tune", "--pruner", "asha", "--pruner-option", "reduction=3"]) == 2
    assert "error: --pruner-option: pruner asha has no option 'reduction'" in (
        capsys.readouterr().err
    )
    storage = tmp_path / "runs.db"
    flags = ["--subsample", "60", "--max-epochs", "3", "--budget-epochs", "12", "--no-progress"]
    pruner = ["--pruner", "median", "--pruner-option", "n_startup_trials=1"]
    assert main(["tune", *flags, *pruner, "--storage", str(storage)]) == 0
    study = load_study(storage)
    assert study.objective["pruner"] == "median"
    assert study.objective["pruner_options"]["n_startup_trials"] == 1


@pytest.mark.parametrize("name", ["asha", "bohb"])
def test_tunesearchcv_refuses_a_pruning_strategy_on_an_estimator_without_epochs(name):
    import numpy as np
    from scipy.stats import loguniform
    from sklearn.linear_model import Ridge

    from tunebench.sklearn import TuneSearchCV

    X, y = np.random.default_rng(0).normal(size=(30, 2)), np.arange(30.0)
    search = TuneSearchCV(Ridge(), {"alpha": loguniform(1e-2, 1e2)}, n_iter=2, strategy=name)
    # (on a scikeras wrapper it prunes: tests/test_sklearn_pruning.py)
    with pytest.raises(ValueError, match=f"strategy='{name}' stops .* Ridge has no epochs"):
        search.fit(X, y)


def bowl_that_sometimes_breaks(x: float, width: int, epochs: int, report) -> float:
    """The reporting bowl, except that a point with ``x > 0.7`` reports inf, then NaN and
    returns NaN: a diverged trial with a non-finite curve, which the report must survive."""
    for epoch in range(1, epochs + 1):
        if x > 0.7 and epoch == 3:
            report(epoch, math.nan)
            return math.nan
        report(epoch, math.inf if x > 0.7 and epoch == 2 else (x - 0.3) ** 2 + 1.0 / epoch)
    return (x - 0.3) ** 2 + 1.0 / epochs


def make_breaking_bowl(max_epochs: int = 9) -> FunctionObjective:
    return FunctionObjective(bowl_that_sometimes_breaks, max_epochs=max_epochs)


def test_the_report_draws_the_learning_curves_of_the_strategies_that_prune(tmp_path):
    """Each problem's report shows the trials' curves of every strategy that stops trials
    early, in a PNG beside it, and none when no strategy does."""
    from tunebench.bench import run_benchmark

    run = dict(seeds=2, budget_epochs=60, problems=["branin"], max_epochs=9, progress=False)
    report = run_benchmark(["random", "tpe+asha"], out_dir=tmp_path / "pruned", **run)
    text = report.read_text()
    assert "![" in text and "](learning_curves.png)" in text
    figure = report.parent / "learning_curves.png"
    assert figure.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    embedded = base64.b64encode(figure.read_bytes()).decode("ascii")
    assert embedded in (report.parent / "report.html").read_text()
    from tunebench.report import load_runs
    from tunebench.report.curves import curve_panels

    groups, _ = load_runs(report.parent / "runs.db")
    (panel,) = curve_panels(groups, ["random", "tpe+asha"])
    assert panel.strategy == "tpe+asha" and panel.seed == 0
    trials = groups["tpe+asha"][0].study.trials
    assert len(panel.lines) == len(trials)
    for line, trial in zip(panel.lines, trials, strict=True):  # each ends where it stopped
        assert list(line.epochs) == list(range(1, trial.epochs_run + 1))
        assert line.fate == ("stopped" if trial.status == "pruned" else "complete")
    assert {line.fate for line in panel.lines} == {"stopped", "complete"}

    plain = run_benchmark(["random"], out_dir=tmp_path / "plain", **run)
    assert "learning_curves" not in plain.read_text()
    assert not (plain.parent / "learning_curves.png").exists()


def test_the_learning_curves_survive_failed_trials_with_non_finite_losses(tmp_path):
    from tunebench.bench import run_benchmark
    from tunebench.problems import Problem

    bowl = Problem("breaking_bowl", Space(x=Float(0, 1), width=Int(1, 4)), make_breaking_bowl)
    report = run_benchmark(
        ["random+median"], seeds=1, budget_epochs=60, problems=[bowl], out_dir=tmp_path,
        progress=False,
    )  # fmt: skip
    assert "](learning_curves.png)" in report.read_text()
    from tunebench.report import load_runs
    from tunebench.report.curves import curve_panels

    groups, _ = load_runs(tmp_path / "runs.db")
    (panel,) = curve_panels(groups, ["random+median"])
    failed = [line for line in panel.lines if line.fate == "failed"]
    assert failed and all(not np.isfinite(line.losses[1:]).any() for line in failed)


def test_the_benchmark_command_takes_pruner_options_and_keeps_them_with_its_runs(tmp_path, capsys):
    from tunebench.cli import main
    from tunebench.store import Store

    out = tmp_path / "out"
    flags = ["--problems", "branin", "--strategies", "random,tpe+asha,bohb", "--seeds", "1"]
    flags += ["--budget-epochs", "60", "--max-epochs", "9", "--out", str(out), "--no-progress"]
    assert main(["bench", *flags, "--pruner-option", "reduction_factor=3"]) == 0
    with Store(out / "runs.db") as store:
        pruned = store.load_study("branin/tpe+asha-seed0")
        bohb = store.load_study("branin/bohb-seed0")
    assert pruned.objective["pruner_options"]["reduction_factor"] == 3
    stopped_at = {t.epochs_run for t in pruned.trials if t.status == "pruned"}
    assert 3 in stopped_at and stopped_at <= {1, 3, 9}  # ASHA's rungs for factor 3 (4: 1, 4)
    assert bohb.objective["pruner"] == "none"  # bohb's pruner options are its own
    card = (out / "report.md").read_text().split("## Protocol", 1)[1]
    row = next(line for line in card.splitlines() if line.startswith("| pruner options |"))
    assert "tpe+asha: {" in row and "'reduction_factor': 3" in row and "bohb" not in row
    capsys.readouterr()
    # Other options are another benchmark: refused before any run, as another budget is.
    assert main(["bench", *flags, "--pruner-option", "reduction_factor=2"]) == 2
    err = capsys.readouterr().err
    assert "pruner_options.reduction_factor: stored 3, asked 2" in err

    fresh = tmp_path / "fresh"
    flags[flags.index(str(out))] = str(fresh)
    assert main(["bench", *flags, "--pruner-option", "reduction=3"]) == 2
    err = capsys.readouterr().err
    assert "error: --pruner-option: pruner asha has no option 'reduction'" in err
    assert "did you mean 'reduction_factor'" in err and not fresh.exists()
    flags[flags.index("random,tpe+asha,bohb")] = "random,bohb"
    assert main(["bench", *flags, "--pruner-option", "reduction_factor=3"]) == 2
    assert "no strategy runs under a pruner" in capsys.readouterr().err and not fresh.exists()


def test_the_duration_estimate_counts_the_many_short_trials_of_pruned_runs(tmp_path, capsys):
    """A pruned run spends its epochs over more, shorter trials: more trial starts to pay,
    and a trial length that depends on the pruner, which the printed estimate says."""
    from tunebench.bench import TRIAL_START_SECONDS, estimate_seconds, run_benchmark

    full = estimate_seconds([("full", 300)], n_train=11_610)
    pruned = estimate_seconds([("pruned", 300)], n_train=11_610)
    assert pruned - full > 30 * TRIAL_START_SECONDS  # tens of trial starts more, not 0
    assert estimate_seconds([("rungs", 300)], n_train=11_610) > pruned
    run = dict(seeds=1, budget_epochs=4, subsample=60, max_epochs=2, progress=False)
    run_benchmark(["random+asha", "bohb"], out_dir=tmp_path, **run)
    assert "rough for the 2 runs that prune" in capsys.readouterr().err
