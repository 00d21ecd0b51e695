"""Search spaces: ``Float``, ``Int``, ``Choice`` and the ordered ``Space`` that holds them.

Every parameter is a frozen value object, checked when it is built, serialisable to JSON,
and able to map a value to and from the unit interval (used by random search, evolution
and CMA-ES). Every value a space hands out is a plain Python ``int`` / ``float`` / ``str`` /
``bool`` — never a numpy scalar (Keras 3 rejects ``numpy.int64`` layer sizes).

>>> space = Space(n_hidden=Int(0, 3), learning_rate=Float(3e-4, 3e-2, log=True))
>>> params = space.sample(np.random.default_rng(0))
>>> sorted(params), type(params["n_hidden"]).__name__
(['learning_rate', 'n_hidden'], 'int')
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

__all__ = ["Choice", "Float", "Int", "Param", "Space", "plain"]

PlainValue = Union[int, float, str, bool, None]


def plain(value: Any) -> Any:
    """Turn a numpy scalar (or a 0-d array) into the plain Python value it holds.

    >>> type(plain(np.int64(3))).__name__, type(plain(np.float32(0.5))).__name__
    ('int', 'float')
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _is_integral(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class Float:
    """A real parameter in ``[low, high]``, sampled uniformly or log-uniformly.

    >>> round(Float(3e-4, 3e-2, log=True).from_unit(0.5), 9)  # the geometric midpoint
    0.003
    >>> Float(1, 0)
    Traceback (most recent call last):
    ...
    ValueError: Float needs low < high, got low=1, high=0; swap the bounds
    """

    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        for bound in ("low", "high"):
            value = plain(getattr(self, bound))
            if not _is_real(value) or not math.isfinite(value):
                raise TypeError(
                    f"Float {bound} must be a finite real number, got {value!r} "
                    f"({type(value).__name__})"
                )
            object.__setattr__(self, bound, float(value))
        if not isinstance(self.log, (bool, np.bool_)):
            raise TypeError(f"Float log must be True or False, got {self.log!r}")
        object.__setattr__(self, "log", bool(self.log))
        if not self.low < self.high:
            raise ValueError(
                f"Float needs low < high, got low={self.low:g}, high={self.high:g}; swap the bounds"
            )
        if self.log and self.low <= 0:
            raise ValueError(
                f"Float(log=True) needs low > 0, got low={self.low:g}; "
                "use a positive lower bound or log=False"
            )

    def sample(self, rng: np.random.Generator) -> float:
        return self.from_unit(float(rng.random()))

    def to_unit(self, value: float) -> float:
        if self.log:
            u = (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        else:
            u = (value - self.low) / (self.high - self.low)
        return min(max(u, 0.0), 1.0)

    def from_unit(self, u: float) -> float:
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            value = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            value = self.low + u * (self.high - self.low)
        return float(min(max(value, self.low), self.high))

    def contains(self, value: Any) -> bool:
        value = plain(value)
        return isinstance(value, float) and self.low <= value <= self.high

    def to_json(self) -> dict[str, Any]:
        return {"type": "float", "low": self.low, "high": self.high, "log": self.log}


@dataclass(frozen=True)
class Int:
    """An integer parameter in ``[low, high]``, both ends included.

    >>> Int(1, 99).from_unit(0.999), Int(1, 99).from_unit(0.0)
    (99, 1)
    """

    low: int
    high: int
    log: bool = False

    def __post_init__(self) -> None:
        for bound in ("low", "high"):
            value = plain(getattr(self, bound))
            if not _is_integral(value):
                raise TypeError(
                    f"Int {bound} must be an integer, got {value!r} ({type(value).__name__}); "
                    "use Float for real-valued parameters"
                )
            object.__setattr__(self, bound, int(value))
        if not isinstance(self.log, (bool, np.bool_)):
            raise TypeError(f"Int log must be True or False, got {self.log!r}")
        object.__setattr__(self, "log", bool(self.log))
        if self.low > self.high:
            raise ValueError(
                f"Int needs low <= high, got low={self.low}, high={self.high}; swap the bounds"
            )
        if self.log and self.low < 1:
            raise ValueError(
                f"Int(log=True) needs low >= 1, got low={self.low}; "
                "use a positive lower bound or log=False"
            )

    def sample(self, rng: np.random.Generator) -> int:
        return self.from_unit(float(rng.random()))

    def to_unit(self, value: int) -> float:
        # The centre of the value's cell, so that from_unit(to_unit(v)) == v.
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high + 1)
            return ((math.log(value) + math.log(value + 1)) / 2 - lo) / (hi - lo)
        return (value - self.low + 0.5) / (self.high - self.low + 1)

    def from_unit(self, u: float) -> int:
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high + 1)
            value = math.floor(math.exp(lo + u * (hi - lo)))
        else:
            value = math.floor(self.low + u * (self.high - self.low + 1))
        return int(min(max(value, self.low), self.high))

    def contains(self, value: Any) -> bool:
        value = plain(value)
        return type(value) is int and self.low <= value <= self.high

    def to_json(self) -> dict[str, Any]:
        return {"type": "int", "low": self.low, "high": self.high, "log": self.log}


@dataclass(frozen=True)
class Choice:
    """One of a fixed list of plain values (``int``, ``float``, ``str``, ``bool`` or ``None``).

    >>> Choice(["relu", "tanh"]).from_unit(0.9)
    'tanh'
    >>> Choice([])
    Traceback (most recent call last):
    ...
    ValueError: Choice needs at least one option, got []
    """

    options: tuple[PlainValue, ...]

    def __post_init__(self) -> None:
        raw = self.options
        if isinstance(raw, (str, bytes)) or not isinstance(raw, (Sequence, np.ndarray)):
            raise TypeError(
                f"Choice options must be a list or tuple, got {raw!r} ({type(raw).__name__})"
            )
        options = tuple(plain(option) for option in raw)
        if not options:
            raise ValueError(f"Choice needs at least one option, got {list(raw)!r}")
        for option in options:
            if option is not None and not isinstance(option, (int, float, str, bool)):
                raise TypeError(
                    f"Choice options must be int, float, str, bool or None, got {option!r} "
                    f"({type(option).__name__}); pass a name and build the object in your code"
                )
        if len(set(map(repr, options))) != len(options):
            raise ValueError(f"Choice options must be distinct, got {list(options)!r}")
        object.__setattr__(self, "options", options)

    def sample(self, rng: np.random.Generator) -> PlainValue:
        return self.options[int(rng.integers(len(self.options)))]

    def index(self, value: Any) -> int:
        value = plain(value)
        for i, option in enumerate(self.options):
            if type(option) is type(value) and option == value:
                return i
        raise ValueError(f"{value!r} is not one of the options {list(self.options)!r}")

    def to_unit(self, value: Any) -> float:
        return (self.index(value) + 0.5) / len(self.options)

    def from_unit(self, u: float) -> PlainValue:
        u = min(max(float(u), 0.0), 1.0)
        return self.options[min(int(u * len(self.options)), len(self.options) - 1)]

    def contains(self, value: Any) -> bool:
        try:
            self.index(value)
        except ValueError:
            return False
        return True

    def to_json(self) -> dict[str, Any]:
        return {"type": "choice", "options": list(self.options)}


Param = Union[Float, Int, Choice]
_PARAM_TYPES = (Float, Int, Choice)


def _param_from_json(data: Mapping[str, Any]) -> Param:
    kind = data.get("type")
    if kind == "float":
        return Float(data["low"], data["high"], log=data.get("log", False))
    if kind == "int":
        return Int(data["low"], data["high"], log=data.get("log", False))
    if kind == "choice":
        return Choice(data["options"])
    raise ValueError(f"unknown parameter type {kind!r} in {dict(data)!r}")


def _tuple_refusal(name: str, value: tuple) -> str:
    """Why a tuple of numbers is refused: scikit-optimize reads ``(low, high)`` as a range,
    scikit-learn as two choices; either reading would be a silent guess.

    >>> print(_tuple_refusal("lr", (1e-4, 1e-1)))  # doctest: +NORMALIZE_WHITESPACE
    parameter 'lr': a tuple (0.0001, 0.1) is ambiguous (a range to scikit-optimize, choices
    to scikit-learn); write a range as Float(0.0001, 0.1, log=True) (or
    scipy.stats.loguniform(0.0001, 0.1)), or Float(0.0001, 0.1) for a linear scale, and
    choices as a list [0.0001, 0.1]
    """
    values = [plain(v) for v in value]
    if len(values) == 2 and all(_is_integral(v) for v in values):
        low, high = values
        ranges = f"Int({low}, {high}) (or scipy.stats.randint({low}, {high + 1}))"
    elif len(values) == 2 and all(_is_real(v) for v in values):
        low, high = values
        ranges = (
            f"Float({low!r}, {high!r}, log=True) (or scipy.stats.loguniform({low!r}, {high!r})), "
            f"or Float({low!r}, {high!r}) for a linear scale"
        )
    else:
        ranges = "Float(low, high, log=True), Float(low, high) or Int(low, high)"
    return (
        f"parameter {name!r}: a tuple {value!r} is ambiguous (a range to scikit-optimize, "
        f"choices to scikit-learn); write a range as {ranges}, and choices as a list "
        f"{values!r}"
    )


def _param_from_value(name: str, value: Any) -> Param:
    """What ``Space.from_dict`` makes of one entry of a ``param_distribs``-style dict."""
    if isinstance(value, _PARAM_TYPES):
        return value
    if isinstance(value, tuple) and any(_is_real(plain(v)) for v in value):
        raise ValueError(_tuple_refusal(name, value))
    if isinstance(value, (list, tuple, np.ndarray, range)):
        values = [plain(v) for v in np.asarray(value, dtype=object).ravel()] if len(value) else []
        if not values:
            raise ValueError(f"parameter {name!r}: an empty list of values, got {value!r}")
        if len(values) >= 2 and all(_is_integral(v) for v in values):
            ints = sorted(int(v) for v in values)
            if ints == list(range(ints[0], ints[-1] + 1)):
                return Int(ints[0], ints[-1])
        return Choice(values)
    dist = getattr(value, "dist", None)
    if dist is not None and hasattr(value, "support"):  # a frozen scipy.stats distribution
        dist_name = getattr(dist, "name", type(dist).__name__)
        low, high = (plain(b) for b in value.support())
        if dist_name in ("reciprocal", "loguniform"):
            return Float(low, high, log=True)
        if dist_name == "uniform":
            return Float(low, high)
        if dist_name == "randint":
            return Int(int(low), int(high))
        raise ValueError(
            f"parameter {name!r}: scipy distribution {dist_name!r} is not supported; "
            "use uniform, loguniform/reciprocal or randint, or a Float / Int / Choice"
        )
    raise TypeError(
        f"parameter {name!r}: cannot make a search dimension of {value!r} "
        f"({type(value).__name__}); give a list of values, a scipy uniform / loguniform / "
        "reciprocal / randint distribution, or a Float / Int / Choice"
    )


class Space(Mapping[str, Param]):
    """An ordered mapping of parameter name to ``Float`` / ``Int`` / ``Choice``.

    >>> space = Space.from_dict({"n_hidden": [0, 1, 2, 3], "act": ["relu", "tanh"]})
    >>> space["n_hidden"], space["act"]
    (Int(low=0, high=3, log=False), Choice(options=('relu', 'tanh')))
    """

    def __init__(self, params: Mapping[str, Param] | None = None, /, **kwargs: Param) -> None:
        merged: dict[str, Param] = {}
        for name, param in [*(params or {}).items(), *kwargs.items()]:
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(
                    f"parameter names must be Python identifiers, got {name!r}; "
                    "they are passed to your code as keyword arguments"
                )
            if name in merged:
                raise ValueError(f"parameter {name!r} is given twice")
            if not isinstance(param, _PARAM_TYPES):
                raise TypeError(
                    f"parameter {name!r} must be a Float, Int or Choice, got {param!r}; "
                    "use Space.from_dict for lists and scipy distributions"
                )
            merged[name] = param
        if not merged:
            raise ValueError("a Space needs at least one parameter, got none")
        self._params = merged

    @classmethod
    def from_dict(cls, distributions: Mapping[str, Any]) -> Space:
        """Build a space from what ``RandomizedSearchCV``'s ``param_distributions`` holds.

        Lists, ranges and arrays of contiguous integers become ``Int``, other lists ``Choice``;
        scipy's ``reciprocal`` / ``loguniform`` become log ``Float``, ``uniform`` a ``Float``,
        ``randint`` an ``Int``. A tuple of numbers is refused: scikit-optimize reads
        ``(1e-4, 1e-1)`` as a range, scikit-learn as two choices; write
        ``Float(1e-4, 1e-1, log=True)`` or a list.

        >>> from scipy.stats import reciprocal
        >>> Space.from_dict({"n_neurons": np.arange(1, 100), "lr": reciprocal(3e-4, 3e-2)})
        Space(n_neurons=Int(low=1, high=99, log=False), lr=Float(low=0.0003, high=0.03, log=True))
        """
        if isinstance(distributions, Space):
            return distributions
        if not isinstance(distributions, Mapping):
            raise TypeError(
                "Space.from_dict needs a dict of name -> values, "
                f"got {type(distributions).__name__}"
            )
        return cls({name: _param_from_value(name, v) for name, v in distributions.items()})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Space:
        return cls({name: _param_from_json(p) for name, p in data.items()})

    def to_json(self) -> dict[str, Any]:
        return {name: param.to_json() for name, param in self._params.items()}

    def __getitem__(self, name: str) -> Param:
        return self._params[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(tuple(self._params.items()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={param!r}" for name, param in self._params.items())
        return f"Space({inner})"

    def sample(self, rng: np.random.Generator) -> dict[str, PlainValue]:
        """One point drawn uniformly (log-uniformly for ``log`` params)."""
        return {name: param.sample(rng) for name, param in self._params.items()}

    def to_unit(self, params: Mapping[str, Any]) -> np.ndarray:
        """The point as a vector in the unit cube, one coordinate per parameter."""
        return np.array([p.to_unit(params[name]) for name, p in self._params.items()])

    def from_unit(self, vector: Sequence[float]) -> dict[str, PlainValue]:
        """The point of the unit cube as parameter values."""
        pairs = zip(self._params.items(), vector, strict=True)
        return {name: p.from_unit(u) for (name, p), u in pairs}

    def validate(self, params: Mapping[str, Any]) -> dict[str, PlainValue]:
        """Check that ``params`` is a point of this space; return it with plain Python values."""
        missing = [name for name in self._params if name not in params]
        extra = [name for name in params if name not in self._params]
        if missing or extra:
            raise ValueError(
                f"parameters do not match the space: missing {missing}, unexpected {extra}"
            )
        out = {}
        for name, param in self._params.items():
            value = plain(params[name])
            if isinstance(param, Float) and _is_integral(value):
                value = float(value)
            if not param.contains(value):
                raise ValueError(f"parameter {name!r}: {value!r} is not inside {param!r}")
            out[name] = value
        return out
