"""Declared strategy options: one validator for every strategy, built-in or not."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest

from tunebench import Float, Space
from tunebench.options import Constraint, Flag, Integer, InvalidOptionError, OneOf, Real
from tunebench.strategy import (
    Strategy,
    UnknownOptionError,
    available_strategies,
    get_strategy,
    strategy_class,
)

SPACE = Space(x=Float(0, 1), y=Float(1e-3, 1, log=True))


def _declared() -> list[tuple[str, str, Constraint]]:
    return [
        (name, option, constraint)
        for name in available_strategies()
        for option, constraint in strategy_class(name).option_constraints.items()
    ]


def test_every_learning_builtin_declares_its_options() -> None:
    for name in ("tpe", "gp", "hyperband", "evolution", "cmaes", "optuna-tpe", "grid"):
        assert strategy_class(name).option_constraints, name


@pytest.mark.parametrize(("name", "option", "constraint"), _declared())
def test_a_value_of_the_wrong_type_is_refused_with_its_name(
    name: str, option: str, constraint: Constraint
) -> None:
    owner = strategy_class(name).__name__
    with pytest.raises(InvalidOptionError) as caught:
        get_strategy(name, SPACE, seed=0, **{option: "nonsense"})
    assert str(caught.value) == (
        f"{owner} option {option} must be {constraint.describe()}, got 'nonsense'"
    )


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        (
            "evolution",
            {"population_size": 1},
            "Evolution option population_size must be an integer >= 2, got 1",
        ),
        (
            "evolution",
            {"crossover_prob": 1.5},
            "Evolution option crossover_prob must be a number in [0, 1], got 1.5",
        ),
        ("tpe", {"gamma": 0}, "HyperoptTPE option gamma must be a number > 0, got 0"),
        ("tpe", {"gamma": float("inf")}, "HyperoptTPE option gamma must be a number > 0, got inf"),
        (
            "gp",
            {"liar": "median"},
            "SkoptGP option liar must be one of ('min', 'mean', 'max'), got 'median'",
        ),
        (
            "cmaes",
            {"popsize": 1},
            "OptunaCmaEs option popsize must be an integer >= 2 or None, got 1",
        ),
        (
            "hyperband",
            {"factor": True},
            "Hyperband option factor must be an integer >= 2, got True",
        ),
        ("optuna-tpe", {"verbose": 1}, "OptunaTPE option verbose must be True or False, got 1"),
    ],
)
def test_out_of_range_values_get_the_message_that_names_them(
    name: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        get_strategy(name, SPACE, seed=0, **options)
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, TypeError)


def test_numpy_values_are_accepted_and_made_plain() -> None:
    strategy = get_strategy(
        "evolution",
        SPACE,
        seed=0,
        population_size=np.int64(4),
        tournament_size=np.int8(2),
        crossover_prob=np.float32(0.5),
    )
    assert type(strategy.population_size) is int and strategy.population_size == 4
    assert type(strategy.crossover_prob) is float
    assert type(get_strategy("tpe", SPACE, seed=0, verbose=np.bool_(False)).verbose) is bool


def test_a_misspelt_option_gets_the_close_match_and_the_list() -> None:
    with pytest.raises(UnknownOptionError) as caught:
        get_strategy("tpe", SPACE, seed=0, n_startup_trials=5)
    message = str(caught.value)
    assert message.startswith(
        "strategy 'tpe': HyperoptTPE has no option 'n_startup_trials' "
        "(did you mean 'n_startup_jobs'?)"
    )
    assert "n_startup_jobs: int, default 10" in message  # the options' documentation follows


class _ThirdParty(Strategy):
    """A third-party strategy declaring its options the same way."""

    option_constraints: ClassVar[dict[str, Constraint]] = {
        "width": Integer(1, 10),
        "mode": OneOf("a", "b"),
        "rate": Real(0, 1, inclusive=False, none_ok=True),
        "loud": Flag(),
    }

    def __init__(
        self,
        space: Space,
        seed: int | None = None,
        *,
        width: int = 3,
        mode: str = "a",
        rate: float | None = None,
        loud: bool = False,
    ) -> None:
        super().__init__(space, seed)
        self.width, self.mode, self.rate, self.loud = width, mode, rate, loud

    def _propose(self) -> None:
        return None


class _Child(_ThirdParty):
    """A subclass whose own __init__ calls its parent's: options are checked once, by the
    outermost constructor, against the subclass's declaration."""

    option_constraints: ClassVar[dict[str, Constraint]] = {"width": Integer(5)}

    def __init__(self, space: Space, seed: int | None = None, *, width: int = 5) -> None:
        super().__init__(space, seed, width=width)


def test_third_party_strategies_get_the_same_checks() -> None:
    assert _ThirdParty(SPACE, rate=None).rate is None
    with pytest.raises(
        InvalidOptionError,
        match=r"_ThirdParty option width must be an integer "
        r"in \[1, 10\], got 11",
    ):
        _ThirdParty(SPACE, width=11)
    with pytest.raises(InvalidOptionError, match=r"rate must be a number in \(0, 1\) or None"):
        _ThirdParty(SPACE, rate=1.0)
    with pytest.raises(UnknownOptionError, match="did you mean 'mode'"):
        _ThirdParty(SPACE, mdoe="b")
    assert _Child(SPACE, width=20).width == 20  # the parent's bound [1, 10] is not applied
    with pytest.raises(InvalidOptionError, match="_Child option width must be an integer >= 5"):
        _Child(SPACE, width=4)


def test_a_constraint_on_an_option_the_strategy_does_not_take_is_a_definition_error() -> None:
    with pytest.raises(TypeError, match=r"option_constraints names \['widht'\]"):

        class _Typo(Strategy):
            option_constraints: ClassVar[dict[str, Constraint]] = {"widht": Integer(1)}

            def __init__(self, space: Space, seed: int | None = None, *, width: int = 1) -> None:
                super().__init__(space, seed)

            def _propose(self) -> None:
                return None


class _Forwarding(_ThirdParty):
    """A subclass that forwards its options to its parent through **kwargs."""

    def __init__(self, space: Space, seed: int | None = None, **options: Any) -> None:
        super().__init__(space, seed, **options)


def test_options_forwarded_through_kwargs_are_checked_too() -> None:
    assert _Forwarding(SPACE, width=np.int64(4)).width == 4
    assert type(_Forwarding(SPACE, width=np.int64(4)).width) is int
    with pytest.raises(InvalidOptionError, match="_Forwarding option width must be an integer"):
        _Forwarding(SPACE, width=0)
