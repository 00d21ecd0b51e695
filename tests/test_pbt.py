"""``pbt``: population-based training, on real Keras models and real SQLite stores."""

from __future__ import annotations

import warnings

import pytest

from tunebench import Budget, Float, Int, KerasObjective, Space, tune
from tunebench.models import build_mlp
from tunebench.options import InvalidOptionError
from tunebench.store import Store
from tunebench.strategy import Result, Suggestion, get_strategy
from tunebench.tasks import synthetic_regression
from tunebench.testing import check_strategy
from tunebench.warm_start import StudyNotice

SPACE = Space(learning_rate=Float(1e-3, 3e-2, log=True), n_neurons=Int(2, 16))
#: Four members, segments of 2 epochs, trained to 4 (then 6): one bottom member exploits
#: the top one after each generation.
OPTIONS = {"population_size": 4, "perturbation_interval": 2}


def _objective(max_epochs: int = 4, fast: bool = True) -> KerasObjective:
    task = synthetic_regression(300, seed=0)
    return KerasObjective(build_mlp, task, max_epochs=max_epochs, patience=10, fast=fast)


def _rows(study) -> list[tuple]:
    return [
        (t.id, t.params, t.initial_epoch, t.epochs, t.resume_from, t.status, t.loss, t.epochs_run)
        for t in study.trials
    ]


def test_pbt_passes_the_conformance_suite():
    check_strategy("pbt")


def _trained_rate(state: dict) -> float:
    """The learning rate held in a saved optimizer state of ``build_mlp``'s SGD."""
    probe = build_mlp(n_neurons=2, input_shape=(4,))
    probe.optimizer.build(probe.trainable_variables)
    at = [i for i, v in enumerate(probe.optimizer.variables) if v.name == "learning_rate"]
    assert len(at) == 1
    return float(state["optimizer"][at[0]])


def test_a_bottom_member_continues_the_top_members_model_at_its_explored_rate(tmp_path):
    db = tmp_path / "pbt.db"
    study = tune(
        _objective(),
        SPACE,
        "pbt",
        Budget(epochs=16),
        seed=0,
        storage=db,
        progress=False,
        strategy_options=OPTIONS,
    )
    trials = {t.id: t for t in study.trials}
    first = [t for t in study.trials if t.meta["generation"] == 0]
    assert len(first) == 4 and all(t.status == "ok" for t in first)
    top = min(first, key=lambda t: t.loss)
    exploiting = [t for t in study.trials if t.meta["exploited"] is not None]
    assert len(exploiting) == 1  # the bottom quarter of four: one member
    child = exploiting[0]
    donor = trials[child.resume_from]
    assert donor.id == top.id and child.meta["exploited"] == top.meta["member"]
    assert child.meta["member"] == max(first, key=lambda t: t.loss).meta["member"]
    assert (child.initial_epoch, child.epochs) == (2, 4)
    assert child.params["n_neurons"] == donor.params["n_neurons"]  # the architecture, copied
    assert child.params["learning_rate"] != donor.params["learning_rate"]  # explored
    # It starts from the top member's weights: its first epoch is as good as the top
    # member's last, far better than any member's first epoch from scratch.
    assert child.curve[0] < 1.1 * donor.curve[-1]
    assert child.curve[0] < 0.8 * min(t.curve[0] for t in first)
    # ... and trains at its own, explored rate: Keras keeps the learning rate in an optimizer
    # variable, which the loaded state would otherwise set back to the top member's.
    with Store(db) as store:
        record = store.get_study(study.name)
        state = store.load_state(record.id, child.id)
    rate = _trained_rate(state)
    assert rate == pytest.approx(child.params["learning_rate"], rel=1e-6)
    assert rate != pytest.approx(donor.params["learning_rate"], rel=1e-3)
    # The budget is the sum of the epochs all members trained, each continuation its new ones.
    assert all(t.epochs_run == t.epochs - t.initial_epoch for t in study.trials)
    assert study.epochs_spent == sum(t.epochs_run for t in study.trials) == 16


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "fit"])
def test_a_continuation_trains_at_its_own_learning_rate_not_the_saved_one(fast):
    objective = _objective(max_epochs=2, fast=fast)
    parent = objective.evaluate(
        Suggestion(id=0, params={"learning_rate": 0.01, "n_neurons": 4}, epochs=1, seed=0)
    )
    child = objective.evaluate(
        Suggestion(
            id=1,
            params={"learning_rate": 0.002, "n_neurons": 4},
            epochs=2,
            initial_epoch=1,
            resume_from=0,
            seed=1,
        ),
        state=parent.state,
    )
    assert parent.status == child.status == "ok"
    assert _trained_rate(parent.state) == pytest.approx(0.01, rel=1e-6)
    assert _trained_rate(child.state) == pytest.approx(0.002, rel=1e-6)
    # The weights were continued: the child's one epoch is as good as the parent's last.
    assert child.curve[0] < 1.1 * parent.curve[-1]


def test_same_seed_same_trials_and_a_resumed_study_equals_an_uninterrupted_one(tmp_path):
    def run(budget: int, storage=None):
        return tune(
            _objective(max_epochs=6),
            SPACE,
            "pbt",
            Budget(epochs=budget),
            seed=1,
            storage=storage,
            progress=False,
            strategy_options=OPTIONS,
        )

    whole = run(24)
    assert any(t.meta["exploited"] is not None for t in whole.trials)  # continued across
    assert _rows(run(24)) == _rows(whole)  # another seed's differ: the conformance suite
    db = tmp_path / "resumed.db"
    part = run(10, storage=db)  # stops in the second generation
    assert part.epochs_spent == 10 and len(part.trials) == 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StudyNotice)  # "extending study ..."
        resumed = run(24, storage=db)
    assert _rows(resumed) == _rows(whole)
    assert resumed.epochs_spent == sum(t.epochs_run for t in resumed.trials) <= 24


def _told(strategy, losses):
    asked = [strategy.ask() for _ in losses]
    for suggestion, loss in zip(asked, losses, strict=True):
        result = (
            Result.failure("boom")
            if loss is None
            else Result(loss=loss, epochs_run=suggestion.new_epochs)
        )
        strategy.tell(suggestion, result)
    return asked


def test_a_failed_member_exploits_a_top_one_and_a_generation_of_failures_starts_afresh():
    space = Space(x=Float(0.0, 1.0), width=Int(1, 9))
    strategy = get_strategy("pbt", space, seed=0, population_size=4, max_epochs=8)
    asked = _told(strategy, [0.5, None, 0.2, 0.9])
    following = {s.meta["member"]: s for s in (strategy.ask() for _ in range(4))}
    assert following[1].resume_from == asked[2].id  # the failed member exploits the best
    assert following[1].params["width"] == asked[2].params["width"]
    assert following[3].resume_from == asked[2].id  # the worst quarter too
    assert following[0].resume_from == asked[0].id  # the others continue themselves
    assert following[0].params == asked[0].params
    for suggestion in following.values():
        strategy.tell(suggestion, Result.failure("boom"))
    fresh = [strategy.ask() for _ in range(4)]
    assert all(s.resume_from is None and s.initial_epoch == 0 for s in fresh)


def test_rounds_restart_once_every_member_trained_max_epochs():
    strategy = get_strategy("pbt", SPACE, seed=0, population_size=2, max_epochs=3)
    asked = _told(strategy, [1.0, 2.0]) + _told(strategy, [0.5, 0.6])
    assert [(s.initial_epoch, s.epochs, s.resume_from) for s in asked] == [(0, 3, None)] * 4
    assert [s.meta["round"] for s in asked] == [0, 0, 1, 1]
    assert asked[2].params != asked[0].params  # a fresh population


def test_mutable_is_checked_against_the_space_and_only_mutable_parameters_change():
    with pytest.raises(InvalidOptionError, match="'lr', which is not in the space"):
        get_strategy("pbt", SPACE, mutable=["lr"])
    with pytest.raises(InvalidOptionError, match="list of parameter names"):
        get_strategy("pbt", SPACE, mutable="learning_rate")
    conditional = Space(depth=Int(1, 2), rate=Float(0.1, 1.0, when={"depth": [2]}))
    with pytest.raises(InvalidOptionError, match="'depth', on which a condition depends"):
        get_strategy("pbt", conditional, mutable=["depth"])
    strategy = get_strategy(
        "pbt", SPACE, seed=0, population_size=4, max_epochs=8, mutable=["n_neurons"]
    )
    asked = _told(strategy, [0.1, 0.2, 0.3, 0.4])
    child = next(s for s in (strategy.ask() for _ in range(4)) if s.meta["exploited"] == 0)
    assert child.params["learning_rate"] == asked[0].params["learning_rate"]
    assert SPACE["n_neurons"].contains(child.params["n_neurons"])
