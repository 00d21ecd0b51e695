from importlib.metadata import entry_points

import pytest

from tunebench import Float, Space, Strategy, available_strategies, get_strategy, register
from tunebench.strategy import UnknownStrategyError, strategy_class, unregister


class Fixed(Strategy):
    name = "fixed"
    description = "always 0.5"

    def _propose(self):
        return self._suggest({"x": 0.5})


def test_builtins_come_through_the_entry_point_group():
    names = {ep.name for ep in entry_points(group="tunebench.strategies")}
    assert {"random", "grid"} <= names
    assert {"random", "grid"} <= set(available_strategies())


def test_unknown_name_lists_valid_names_and_closest_match():
    with pytest.raises(UnknownStrategyError) as info:
        get_strategy("randm", Space(x=Float(0, 1)))
    message = str(info.value)
    assert "'randm'" in message and "did you mean 'random'" in message
    for name in available_strategies():
        assert name in message


def test_register_at_run_time_and_refuse_duplicates():
    register("fixed-test", Fixed)
    try:
        assert "fixed-test" in available_strategies()
        assert get_strategy("fixed-test", Space(x=Float(0, 1))).ask().params == {"x": 0.5}
        with pytest.raises(ValueError, match="'fixed-test' is already registered"):
            register("fixed-test", Fixed)
        with pytest.raises(ValueError, match="'random' is already registered"):
            register("random", Fixed)
    finally:
        unregister("fixed-test")
    with pytest.raises(TypeError, match="Strategy subclass"):
        register("not-a-strategy", dict)


def test_unknown_option_lists_the_strategys_options():
    with pytest.raises(TypeError) as info:
        get_strategy("grid", Space(x=Float(0, 1)), resolutoin=3)
    assert "resolutoin" in str(info.value) and "resolution" in str(info.value)


def test_every_strategy_has_a_description():
    for name in available_strategies():
        cls = strategy_class(name)
        assert cls.description and issubclass(cls, Strategy)


def test_grid_covers_the_space_then_is_done():
    strategy = get_strategy("grid", Space(x=Float(0, 1)), seed=3, resolution=4)
    seen = []
    while not strategy.done:
        seen.append(strategy.ask().params["x"])
    assert sorted(seen) == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert strategy.ask() is None
