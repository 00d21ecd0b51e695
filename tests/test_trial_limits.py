"""Trial time limits (``trial_timeout=``, the end of ``Budget(seconds=...)``) and the charging
of trials whose outcome is unknown: the budget audit stays exact."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from tunebench import Budget, Float, FunctionObjective, Int, KerasObjective, Result, Space, tune
from tunebench.models import build_mlp
from tunebench.tasks import synthetic_regression

SPACE = Space(x=Float(0, 1))


def _audit(study, budget_epochs=None):
    """What the store says each trial ran is what the ledger charged, never above the budget."""
    assert study.epochs_spent == sum(t.epochs_run for t in study.trials)
    if budget_epochs is not None:
        assert study.epochs_spent <= budget_epochs


def hangs(x):
    time.sleep(20 if x < 2 else 0)  # every trial hangs (x is in [0, 1])
    return x


def test_a_seconds_budget_stops_a_hung_trial_in_worker_processes():
    start = time.monotonic()
    study = tune(
        hangs,
        SPACE,
        budget=Budget(seconds=5),
        executor="processes",
        workers=2,
        progress=False,
    )
    elapsed = time.monotonic() - start
    assert elapsed < 15, elapsed  # not the objective's 20 s
    assert study.stop_reason == "seconds"
    assert len(study.trials) == 2
    for trial in study.trials:
        assert trial.status == "failed"
        assert "stopped by the study's time budget, Budget(seconds=5)" in trial.error


def test_trial_timeout_fails_the_hung_trial_and_the_search_goes_on():
    def sometimes_hangs(x):
        if x > 0.7:
            time.sleep(60)
        return x

    start = time.monotonic()
    study = tune(
        sometimes_hangs,
        SPACE,
        budget=Budget(trials=8),
        seed=1,
        executor="processes",
        workers=2,
        trial_timeout=4,  # a loaded machine can take a second to start a worker's first trial
        progress=False,
    )
    assert time.monotonic() - start < 45
    hung = [t for t in study.trials if t.params["x"] > 0.7]
    assert hung and len(study.trials) == 8
    for trial in study.trials:
        if trial in hung:
            assert trial.status == "failed" and "exceeded trial_timeout=4s" in trial.error
        else:
            assert trial.status == "ok"


class Epochs:
    """An objective counted in epochs (at most 10 a trial); ``hang`` / ``kill`` pick trials."""

    max_epochs = 10

    def __init__(self, kill=(), hang=(), claims=None):
        self.kill, self.hang, self.claims = kill, hang, claims

    def evaluate(self, suggestion, state=None):
        if suggestion.id in self.kill:
            os.kill(os.getpid(), signal.SIGKILL)
        if suggestion.id in self.hang:
            time.sleep(20)
        ran = suggestion.epochs - suggestion.initial_epoch
        return Result(loss=suggestion.params["x"], epochs_run=self.claims or ran)


def test_a_trial_lost_with_its_worker_is_charged_its_grant():
    study = tune(
        Epochs(kill={2}),
        SPACE,
        budget=Budget(epochs=60),
        executor="processes",
        workers=2,
        progress=False,
    )
    killed = next(t for t in study.trials if t.id == 2)
    assert killed.status == "failed" and "died during the trial" in killed.error
    assert killed.epochs_run == 10 and "charged its grant of 10 epochs" in killed.error
    assert len(study.trials) == 6
    _audit(study, 60)


def test_a_trial_stopped_at_its_timeout_is_charged_its_grant():
    study = tune(
        Epochs(hang={1}),
        SPACE,
        budget=Budget(epochs=40),
        executor="processes",
        workers=2,
        trial_timeout=1.5,
        progress=False,
    )
    stopped = next(t for t in study.trials if t.id == 1)
    assert stopped.status == "failed" and "exceeded trial_timeout=1.5s" in stopped.error
    assert stopped.epochs_run == 10
    _audit(study, 40)


def test_an_objective_claiming_more_epochs_than_granted_is_charged_the_grant():
    study = tune(Epochs(claims=50), SPACE, budget=Budget(epochs=25), progress=False)
    assert [t.epochs_run for t in study.trials] == [10, 10, 5]
    _audit(study, 25)


def test_trial_timeout_is_validated():
    for bad in (0, -1, float("inf"), "5", True):
        with pytest.raises(ValueError, match="trial_timeout must be a positive number"):
            tune(lambda x: x, SPACE, budget=Budget(trials=1), trial_timeout=bad)


# ---------------------------------------------------------------------------- Keras, inline


@pytest.fixture(scope="module")
def tiny_task():
    return synthetic_regression(n_samples=300)


def test_inline_keras_trials_stop_between_epochs_at_the_trial_timeout(tiny_task):
    objective = KerasObjective(build_mlp, tiny_task, max_epochs=10_000, patience=10_000)
    study = tune(
        objective,
        Space(n_hidden=Int(0, 1)),
        budget=Budget(trials=1),
        trial_timeout=2,
        progress=False,
    )
    (trial,) = study.trials
    assert trial.status == "failed" and "exceeded trial_timeout=2s" in trial.error
    assert 0 < trial.epochs_run < 10_000
    assert f"stopped after {trial.epochs_run} epochs" in trial.error
    _audit(study)


def test_a_failure_after_training_is_charged_the_epochs_trained(tiny_task):
    # The test split has a column too few: training and validation work, scoring fails.
    from dataclasses import replace

    broken = replace(tiny_task, X_test=np.asarray(tiny_task.X_test)[:, :-1])
    objective = KerasObjective(build_mlp, broken, max_epochs=3, patience=10)
    study = tune(objective, Space(n_hidden=Int(0, 1)), budget=Budget(epochs=9), progress=False)
    assert [t.status for t in study.trials] == ["failed"] * 3
    assert [t.epochs_run for t in study.trials] == [3, 3, 3]
    assert study.epochs_spent == 9
    _audit(study, 9)


class RaisesAfterTraining:
    """A hand-written objective whose ``evaluate`` raises: what it trained is unknown."""

    max_epochs = 10

    def evaluate(self, suggestion, state=None):
        raise RuntimeError("lost the model after training")


def test_an_evaluate_that_raises_is_charged_its_grant():
    study = tune(RaisesAfterTraining(), SPACE, budget=Budget(epochs=25), progress=False)
    assert [t.epochs_run for t in study.trials] == [10, 10, 5]
    assert all(t.status == "failed" for t in study.trials)
    first_line = study.trials[0].error.splitlines()[0]
    assert first_line == (
        "RuntimeError: lost the model after training; "
        "charged its grant of 10 epochs, as how many it trained is unknown"
    )
    _audit(study, 25)


def test_a_fidelity_function_that_raises_is_charged_its_grant():
    def trained(x: float, epochs: int) -> float:
        if x > 0.5:
            raise RuntimeError("out of memory after some epochs")
        return x / epochs

    objective = FunctionObjective(trained, max_epochs=10)
    study = tune(objective, Space(x=Float(0, 1)), "random", Budget(epochs=100), progress=False)
    failed = [t for t in study.trials if t.status == "failed"]
    assert failed and all(t.epochs_run == 10 for t in failed)
    assert all("charged its grant of 10 epochs" in t.error.splitlines()[0] for t in failed)
    assert study.epochs_spent == sum(t.epochs_run for t in study.trials) == 100


def test_a_fidelity_function_returning_no_number_is_charged_what_it_trained():
    objective = FunctionObjective(lambda x, epochs: "bad", max_epochs=10)
    study = tune(objective, Space(x=Float(0, 1)), "random", Budget(epochs=30), progress=False)
    assert [(t.status, t.epochs_run) for t in study.trials] == [("failed", 10)] * 3
