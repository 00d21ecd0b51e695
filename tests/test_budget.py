import numpy as np
import pytest

from tunebench import Budget, Ledger


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({}, ValueError, "at least one"),
        ({"epochs": 0}, ValueError, "0"),
        ({"epochs": -5}, ValueError, "-5"),
        ({"epochs": 2.5}, TypeError, "2.5"),
        ({"trials": "10"}, TypeError, "'10'"),
        ({"seconds": float("nan")}, TypeError, "nan"),
    ],
)
def test_bad_budgets(kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        Budget(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"epochs": True}, TypeError, "epochs must be a positive whole number or None, got True"),
        ({"trials": np.float64(2.5)}, TypeError, "Budget trials must be a whole number, got 2.5"),
        ({"epochs": np.int64(0)}, ValueError, "Budget epochs must be positive, got 0"),
        ({"seconds": np.float64("inf")}, TypeError, "Budget seconds must be a finite"),
    ],
)  # fmt: skip
def test_bad_numpy_and_bool_budgets_name_the_limit(kwargs, error, fragment):
    with pytest.raises(error) as info:
        Budget(**kwargs)
    assert fragment in str(info.value)


def test_numpy_numbers_are_accepted_as_plain_ones():
    budget = Budget(epochs=np.int64(5), trials=np.int32(3), seconds=np.float32(1.5))
    assert budget == Budget(epochs=5, trials=3, seconds=1.5)
    assert type(budget.epochs) is int and type(budget.trials) is int
    assert type(budget.seconds) is float


def test_ledger_clips_the_last_grant_and_refunds_unused_epochs():
    ledger = Ledger(Budget(epochs=100))
    first = ledger.grant(60)
    second = ledger.grant(60)  # only 40 left while the first runs
    assert (first, second) == (60, 40)
    assert ledger.stop_reason() == "epochs"
    ledger.charge(12, granted=first)  # early-stopped: 48 come back
    assert ledger.epochs_left == 48
    ledger.charge(40, granted=second)
    assert ledger.epochs_spent == 52 and ledger.stop_reason() is None


def test_ledger_counts_trials_running_and_done():
    ledger = Ledger(Budget(trials=2), trials_done=1)
    assert ledger.grant(1) == 1
    assert ledger.stop_reason() == "trials"
    assert ledger.grant(1) == 0


def test_ledger_seconds_carry_over_sessions():
    ledger = Ledger(Budget(seconds=5), seconds_before=6)
    assert ledger.stop_reason() == "seconds"
