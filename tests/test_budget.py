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
