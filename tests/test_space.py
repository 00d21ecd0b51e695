import json

import numpy as np
import pytest
from scipy import stats

from tunebench import Choice, Float, Int, Space
from tunebench.models import book_space


def test_from_dict_takes_the_books_param_distribs():
    space = Space.from_dict(
        {
            "n_hidden": [0, 1, 2, 3],
            "n_neurons": np.arange(1, 100),
            "learning_rate": stats.reciprocal(3e-4, 3e-2),
        }
    )
    assert space == book_space()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([2, 3, 4], Int(2, 4)),
        (("relu", "tanh"), Choice(["relu", "tanh"])),  # a tuple of names is no range
        ([1, 3, 9], Choice([1, 3, 9])),
        (["relu", "tanh"], Choice(["relu", "tanh"])),
        (np.array([0.1, 0.2]), Choice([0.1, 0.2])),
        (range(5), Int(0, 4)),
        (stats.loguniform(1e-3, 1e-1), Float(1e-3, 1e-1, log=True)),
        (stats.uniform(2, 3), Float(2, 5)),
        (stats.randint(1, 10), Int(1, 9)),
    ],
)
def test_from_dict_conversions(value, expected):
    assert Space.from_dict({"p": value})["p"] == expected


@pytest.mark.parametrize(
    ("make", "error", "fragment"),
    [
        (lambda: Float(1.0, 0.5), ValueError, "low=1, high=0.5"),
        (lambda: Float(0.0, 1.0, log=True), ValueError, "low=0"),
        (lambda: Float(-1.0, 1.0, log=True), ValueError, "low=-1"),
        (lambda: Float("a", 1.0), TypeError, "'a'"),
        (lambda: Float(0.0, float("inf")), TypeError, "inf"),
        (lambda: Int(5, 2), ValueError, "low=5, high=2"),
        (lambda: Int(0.5, 2), TypeError, "0.5"),
        (lambda: Int(0, 10, log=True), ValueError, "low=0"),
        (lambda: Choice([]), ValueError, "[]"),
        (lambda: Choice("abc"), TypeError, "'abc'"),
        (lambda: Choice([object]), TypeError, "object"),
        (lambda: Choice([1, 1]), ValueError, "[1, 1]"),
        (lambda: Int(1, 10, step=4), ValueError, "never reaches high=10; use high=9"),
        (lambda: Int(1, 9, step=0), ValueError, "step=0"),
        (lambda: Int(1, 9, log=True, step=2), ValueError, "takes no step"),
    ],
)
def test_bad_params_name_the_bad_value(make, error, fragment):
    with pytest.raises(error) as info:
        make()
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("value", "error", "fragment"),
    [
        ([], ValueError, "'units'"),
        (stats.norm(0, 1), ValueError, "'norm'"),
        ({"a": 1}, TypeError, "dict"),
        ("relu", TypeError, "'relu'"),
        (3, TypeError, "3"),
    ],
)
def test_from_dict_rejects_what_it_cannot_use(value, error, fragment):
    with pytest.raises(error) as info:
        Space.from_dict({"units": value})
    assert fragment in str(info.value)
    assert "units" in str(info.value)


def test_bad_names_and_types_in_space():
    with pytest.raises(ValueError, match="'bad name'"):
        Space({"bad name": Int(0, 1)})
    with pytest.raises(TypeError, match="'units'"):
        Space(units=[1, 2])
    with pytest.raises(ValueError, match="at least one"):
        Space()


def test_samples_are_plain_python_and_inside():
    space = Space(
        lr=Float(1e-4, 1e-1, log=True),
        units=Int(1, 99),
        wide=Int(1, 1000, log=True),
        act=Choice(["relu", "tanh"]),
        flag=Choice([True, False]),
    )
    rng = np.random.default_rng(0)
    for _ in range(200):
        params = space.sample(rng)
        assert type(params["lr"]) is float
        assert type(params["units"]) is int and type(params["wide"]) is int
        assert params["act"] in ("relu", "tanh") and type(params["flag"]) is bool
        assert space.validate(params) == params


def test_unit_round_trip():
    space = Space(
        a=Float(-2, 3),
        b=Float(1e-3, 1, log=True),
        c=Int(0, 7),
        d=Int(1, 64, log=True),
        e=Choice(["x", "y", "z"]),
    )
    rng = np.random.default_rng(1)
    for _ in range(100):
        params = space.sample(rng)
        back = space.from_unit(space.to_unit(params))
        assert back["c"] == params["c"] and back["d"] == params["d"] and back["e"] == params["e"]
        assert back["a"] == pytest.approx(params["a"]) and back["b"] == pytest.approx(params["b"])


def test_validate_converts_numpy_and_rejects_outside():
    space = Space(units=Int(1, 99), lr=Float(0.1, 1.0))
    clean = space.validate({"units": np.int64(5), "lr": np.float32(0.5)})
    assert type(clean["units"]) is int and type(clean["lr"]) is float
    with pytest.raises(ValueError, match="100"):
        space.validate({"units": 100, "lr": 0.5})
    with pytest.raises(ValueError, match="missing"):
        space.validate({"units": 5})


def test_json_round_trip():
    space = Space(a=Float(0, 1), b=Int(1, 9, log=True), c=Choice([None, 1, "x", True]))
    assert Space.from_json(json.loads(json.dumps(space.to_json()))) == space


@pytest.mark.parametrize(
    ("value", "fragments"),
    [
        ((1e-4, 1e-1), ["(0.0001, 0.1)", "Float(0.0001, 0.1, log=True)", "[0.0001, 0.1]"]),
        ((1, 99), ["(1, 99)", "Int(1, 99)", "randint(1, 100)", "[1, 99]"]),
        ((np.float64(0.5), 2.0, "log-uniform"), ["Float(low, high, log=True)", "a list"]),
    ],
)  # fmt: skip
def test_a_tuple_of_numbers_is_refused_with_both_readings_spelled_out(value, fragments):
    # skopt users mean a range, RandomizedSearchCV users a choice: no silent guess.
    with pytest.raises(ValueError, match="'lr'") as info:
        Space.from_dict({"lr": value})
    for fragment in fragments:
        assert fragment in str(info.value)


def test_an_int_with_a_step_takes_only_its_steps():
    units = Int(32, 512, step=32)
    rng = np.random.default_rng(0)
    drawn = {units.sample(rng) for _ in range(400)}
    assert drawn == set(range(32, 513, 32))
    assert all(units.from_unit(units.to_unit(v)) == v for v in units.values)
    assert not units.contains(33) and units.contains(512)
    space = Space(units=units)
    assert Space.from_json(json.loads(json.dumps(space.to_json()))) == space
    assert "step" not in Int(1, 3).to_json() and repr(Int(1, 3)) == "Int(low=1, high=3, log=False)"
