"""Every registered strategy tunes the real book MLP (on a subsample) through ``tune()``.

These are the acceptance runs of the strategies issue: real Keras training, a real SQLite
store, the epoch budget respected, Hyperband's promotions continuing their parent's model and
charged only their new epochs, and a resumed study for every strategy.
"""

from __future__ import annotations

import sqlite3

import pytest

from tunebench import Budget, KerasObjective, available_strategies, load_study, tune
from tunebench.models import book_space, build_mlp

BUDGET = 24
MAX_EPOCHS = 9


def _objective(task):
    return KerasObjective(build_mlp, task, max_epochs=MAX_EPOCHS, patience=3)


@pytest.mark.parametrize("name", available_strategies())
def test_every_strategy_tunes_the_book_mlp(name, small_housing, tmp_path):
    db = tmp_path / "runs.db"
    study = tune(
        _objective(small_housing),
        book_space(),
        strategy=name,
        budget=Budget(epochs=BUDGET),
        seed=3,
        storage=db,
        progress=False,
    )
    assert study.trials, f"{name} ran no trial"
    assert study.epochs_spent <= BUDGET
    assert study.epochs_spent == sum(t.epochs_run for t in study.trials)
    # asha and bohb prune: a pruned trial is charged what it trained, as any other.
    assert all(t.status in ("ok", "pruned") for t in study.trials), [t.error for t in study.trials]
    assert all(t.epochs_run == len(t.curve) for t in study.trials)
    assert 0 < study.best_loss < 10
    for trial in study.trials:
        assert type(trial.params["n_neurons"]) is int
        assert trial.epochs <= MAX_EPOCHS
    with sqlite3.connect(db) as con:
        (stored,) = con.execute("SELECT count(*) FROM trials").fetchone()
    assert stored == len(study.trials)
    assert load_study(db, study.name).best_params == study.best_params


def test_hyperband_promotions_continue_their_parent_and_cost_only_new_epochs(small_housing):
    study = tune(
        _objective(small_housing),
        book_space(),
        strategy="hyperband",
        budget=Budget(epochs=60),
        seed=0,
        progress=False,
    )
    by_id = {t.id: t for t in study.trials}
    promoted = [t for t in study.trials if t.initial_epoch > 0]
    assert promoted, "no Hyperband promotion within 60 epochs"
    for child in promoted:
        parent = by_id[child.resume_from]
        assert child.params == parent.params
        assert child.initial_epoch == parent.epochs
        assert child.epochs_run == child.epochs - child.initial_epoch
    # The hyperband schedule defaults to the objective's own limit (9 epochs, factor 3).
    assert {t.epochs for t in study.trials} <= {1, 3, 9}
    assert study.epochs_spent == sum(t.epochs_run for t in study.trials) <= 60


def test_hyperband_refuses_rungs_longer_than_the_objective_trains(small_housing):
    with pytest.raises(ValueError, match="max_epochs=27 exceeds the objective's max_epochs=9"):
        tune(
            _objective(small_housing),
            book_space(),
            strategy="hyperband",
            budget=Budget(epochs=10),
            strategy_options={"max_epochs": 27},
            progress=False,
        )


class _InterruptedAt(KerasObjective):
    """Ctrl-C during the ``n``-th trial."""

    def __init__(self, *args, n, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls, self.n = 0, n

    def evaluate(self, suggestion, state=None):
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt
        return super().evaluate(suggestion, state)


def test_an_interrupted_hyperband_study_resumes_from_stored_models(small_housing, tmp_path):
    kwargs = dict(
        space=book_space(),
        strategy="hyperband",
        budget=Budget(epochs=40),
        seed=1,
        progress=False,
    )
    whole = tune(_objective(small_housing), **kwargs)
    db = tmp_path / "runs.db"
    interrupted = _InterruptedAt(build_mlp, small_housing, max_epochs=MAX_EPOCHS, patience=3, n=14)
    with pytest.raises(KeyboardInterrupt):
        tune(interrupted, storage=db, **kwargs)
    resumed = tune(_objective(small_housing), storage=db, **kwargs)

    def key(t):
        return (t.id, t.params, t.epochs, t.initial_epoch, t.resume_from, t.epochs_run)

    assert [key(t) for t in resumed.trials] == [key(t) for t in whole.trials]
    assert any(t.initial_epoch > 0 for t in resumed.trials[13:])
    for a, b in zip(resumed.trials, whole.trials, strict=True):
        assert a.loss == pytest.approx(b.loss, rel=1e-4)
    assert resumed.epochs_spent == whole.epochs_spent <= 40
