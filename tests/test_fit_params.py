"""Training hyperparameters in a space: ``batch_size`` and ``warmup_epochs``, on both the fast
path and ``model.fit``, with real training on the book task."""

import numpy as np
import pytest

from tunebench import KerasObjective, Space, Suggestion
from tunebench.models import build_mlp

PARAMS = {"n_hidden": 1, "n_neurons": 16, "learning_rate": 0.05}


def run(objective, params, seed=3, **fields):
    return objective.evaluate(Suggestion(id=0, params=params, seed=seed, **fields))


def test_batch_size_in_the_params_is_used_on_both_paths(small_housing):
    # The objective's default is 32; a full batch of the 300 rows makes one update an epoch,
    # which both paths then make identically — so equal curves show the params' size was used.
    fast = KerasObjective(build_mlp, small_housing, max_epochs=4, fast=True)
    fit = KerasObjective(build_mlp, small_housing, max_epochs=4, fast=False)
    full_fast = run(fast, {**PARAMS, "batch_size": 300})
    full_fit = run(fit, {**PARAMS, "batch_size": 300})
    default = run(fast, PARAMS)
    assert full_fast.status == full_fit.status == default.status == "ok", full_fast.error
    np.testing.assert_allclose(full_fast.curve, full_fit.curve, rtol=1e-4)
    assert not np.allclose(full_fast.curve, default.curve, rtol=1e-3)


def test_batch_size_is_searchable_and_never_reaches_the_builder(small_housing):
    from tunebench import Budget, tune

    space = Space.from_dict({"batch_size": [16, 300], "n_neurons": [8]})
    study = tune(KerasObjective(build_mlp, small_housing, max_epochs=2), space,
                 strategy="grid", budget=Budget(trials=2), seed=0, progress=False)  # fmt: skip
    assert [t.status for t in study.trials] == ["ok", "ok"]
    assert sorted(t.params["batch_size"] for t in study.trials) == [16, 300]


@pytest.mark.parametrize("fast", [True, False])
def test_warmup_first_epoch_runs_at_the_ramps_first_rate(small_housing, fast):
    # Full batch, same seed: with warmup_epochs=3 the first epoch trains at lr / 4, exactly
    # like a plain run at that rate; later epochs climb to lr.
    objective = KerasObjective(build_mlp, small_housing, max_epochs=2, batch_size=300, fast=fast)
    warm = run(objective, {**PARAMS, "warmup_epochs": 3})
    slow = run(objective, {**PARAMS, "learning_rate": PARAMS["learning_rate"] / 4})
    plain = run(objective, PARAMS)
    assert warm.status == "ok", warm.error
    assert warm.curve[0] == pytest.approx(slow.curve[0], rel=1e-5)
    assert warm.curve[0] != pytest.approx(plain.curve[0], rel=1e-3)
    assert warm.curve[1] != pytest.approx(slow.curve[1], rel=1e-4)  # the rate has moved on
    # The state saved for a continuation holds the builder's rate, not a ramp value.
    assert float(warm.state["optimizer"][1]) == pytest.approx(PARAMS["learning_rate"])


def test_warmup_is_the_same_on_the_fast_path_and_fit(small_housing):
    # Also shows the fast path reads the rate from its variable, not from a traced constant.
    kwargs = {"max_epochs": 5, "batch_size": 300}
    fast_objective = KerasObjective(build_mlp, small_housing, fast=True, **kwargs)
    run(fast_objective, PARAMS)  # traces this architecture without warm-up
    fast = run(fast_objective, {**PARAMS, "warmup_epochs": 4})
    fit = run(KerasObjective(build_mlp, small_housing, fast=False, **kwargs),
              {**PARAMS, "warmup_epochs": 4})  # fmt: skip
    np.testing.assert_allclose(fast.curve, fit.curve, rtol=1e-4)
    assert len(fast_objective._trainer._cache) == 1


@pytest.mark.parametrize("fast", [True, False])
def test_warmup_continues_its_ramp_after_a_continuation(small_housing, fast):
    objective = KerasObjective(build_mlp, small_housing, batch_size=300, fast=fast)
    params = {**PARAMS, "warmup_epochs": 4}
    whole = run(objective, params, epochs=4)
    parent = run(objective, params, epochs=2)
    child = objective.evaluate(
        Suggestion(id=1, params=params, seed=3, epochs=4, initial_epoch=2, resume_from=0),
        parent.state,
    )
    np.testing.assert_allclose(parent.curve + child.curve, whole.curve, rtol=1e-4)


def test_bad_warmup_epochs_fail_the_trial_with_the_value(small_housing):
    result = run(KerasObjective(build_mlp, small_housing, max_epochs=2), {"warmup_epochs": -2})
    assert result.status == "failed"
    assert "warmup_epochs must be an integer >= 0 (0: no warm-up), got -2" in result.error
