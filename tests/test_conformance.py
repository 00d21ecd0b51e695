"""One conformance suite over the registry: every strategy, every rule."""

import numpy as np
import pytest

from tunebench import Strategy, Suggestion, available_strategies, register
from tunebench.strategy import unregister
from tunebench.testing import CHECKS, check_strategy


@pytest.mark.parametrize("check", list(CHECKS))
@pytest.mark.parametrize("name", available_strategies())
def test_strategy_conforms(name, check):
    check_strategy(name, [check])


class NumpyValues(Strategy):
    """Bypasses _suggest and hands numpy scalars to user code."""

    def _propose(self):
        params = {k: p.sample(self.rng) for k, p in self.space.items()}
        params["units"] = np.int64(params["units"])
        self._next_id += 1
        return Suggestion(id=self._next_id, params=params)


class GlobalRandom(Strategy):
    """Draws from numpy's global state instead of its seed."""

    def _propose(self):
        return self._suggest(self.space.from_unit(np.random.random(len(self.space))))


class BreaksOnFailure(Strategy):
    def _propose(self):
        return self._suggest(self.space.sample(self.rng))

    def tell(self, suggestion, result):
        if result.status != "ok":
            raise ValueError("cannot handle inf")


class GivesUpAfterFailures(Strategy):
    """Stops proposing (without being done) after 12 failures in a row."""

    def __init__(self, space, seed=None):
        super().__init__(space, seed)
        self.failures_in_a_row = 0

    def _propose(self):
        if self.failures_in_a_row >= 12:
            return None
        return self._suggest(self.space.sample(self.rng))

    def tell(self, suggestion, result):
        self.failures_in_a_row = 0 if result.status == "ok" else self.failures_in_a_row + 1


class IgnoresResults(Strategy):
    """Claims to learn but never looks at the results."""

    def _propose(self):
        return self._suggest(self.space.sample(self.rng))


@pytest.mark.parametrize(
    ("cls", "check", "message"),
    [
        (NumpyValues, "values", "int64"),
        (GlobalRandom, "determinism", "seed 7"),
        (BreaksOnFailure, "failures", "raised ValueError: cannot handle inf"),
        (GivesUpAfterFailures, "failures", "gave nothing after 12 failed trials"),
        (IgnoresResults, "learns", "not below half"),
        (IgnoresResults, "warm_start", "not below half of a cold start"),
    ],
)
def test_a_broken_strategy_fails_the_suite(cls, check, message):
    register("broken-toy", cls)
    try:
        with pytest.raises(AssertionError, match=message):
            check_strategy("broken-toy", [check])
    finally:
        unregister("broken-toy")
