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

import dataclasses
import difflib
import math
import numbers
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

__all__ = ["Choice", "Float", "Int", "Param", "Space", "plain"]

PlainValue = Union[int, float, str, bool, None]
#: A parameter's condition, normalised: ``((parent, (value, ...)), ...)``.
Condition = tuple[tuple[str, tuple[PlainValue, ...]], ...]


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


def _condition_values(name: str, values: Any) -> tuple[PlainValue, ...]:
    """A condition's values as a tuple of plain values (one value alone is a list of one)."""
    if isinstance(values, (str, bytes)) or not isinstance(
        values, (Sequence, np.ndarray, range, set, frozenset)
    ):
        values = [values]
    plain_values = tuple(plain(v) for v in values)
    if not plain_values:
        raise ValueError(
            f"the condition on {name!r} lists no values, got {values!r}; list the values of "
            f"{name!r} for which the parameter is active"
        )
    return plain_values


def _normalise_when(param: Any) -> None:
    """``param.when`` as a ``Condition``: ``{"n_hidden": [2, 3]}`` → ``(("n_hidden", (2, 3)),)``."""
    when = param.when
    if isinstance(when, Mapping):
        pairs = list(when.items())
    elif isinstance(when, (tuple, list)) and all(
        isinstance(pair, (tuple, list)) and len(pair) == 2 for pair in when
    ):
        pairs = [tuple(pair) for pair in when]
    else:
        raise TypeError(
            f"when must be a dict of parameter name -> values, got {when!r}; "
            "write e.g. when={'n_hidden': [2, 3]}"
        )
    normalised = []
    for name, values in pairs:
        if not isinstance(name, str):
            raise TypeError(f"when names parameters by their names, got {name!r}")
        normalised.append((name, _condition_values(name, values)))
    object.__setattr__(param, "when", tuple(normalised))


def _with_when(param: Any, data: dict[str, Any]) -> dict[str, Any]:
    if param.when:
        data["when"] = {name: list(values) for name, values in param.when}
    return data


def _param_repr(param: Any) -> str:
    """The dataclass repr, with ``when`` only when the parameter has a condition."""
    fields = [
        f"{f}={getattr(param, f)!r}"
        for f in param.__dataclass_fields__
        if f != "when" and not (f == "step" and param.step == 1)
    ]
    if param.when:
        fields.append(f"when={ {name: list(values) for name, values in param.when}!r}")
    return f"{type(param).__name__}({', '.join(fields)})"


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
    when: Condition = field(default=(), kw_only=True)

    def __post_init__(self) -> None:
        _normalise_when(self)
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
        return _with_when(
            self, {"type": "float", "low": self.low, "high": self.high, "log": self.log}
        )

    @property
    def inactive_value(self) -> float:
        """The fixed value a backend without conditions holds while this is inactive."""
        return self.low

    __repr__ = _param_repr


@dataclass(frozen=True)
class Int:
    """An integer parameter in ``[low, high]``, both ends included; with ``step``, only
    ``low``, ``low + step``, ... ``high`` (Keras Tuner's ``hp.Int(..., step=32)``).

    >>> Int(1, 99).from_unit(0.999), Int(1, 99).from_unit(0.0)
    (99, 1)
    >>> units = Int(32, 512, step=32)
    >>> units.from_unit(0.5), units.contains(48), len(units.values)
    (288, False, 16)
    """

    low: int
    high: int
    log: bool = False
    step: int = 1
    when: Condition = field(default=(), kw_only=True)

    def __post_init__(self) -> None:
        _normalise_when(self)
        for bound in ("low", "high", "step"):
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
        if self.step < 1:
            raise ValueError(f"Int step must be at least 1, got step={self.step}")
        if self.step > 1 and self.log:
            raise ValueError(
                f"Int(log=True) takes no step, got step={self.step}; list the values with "
                "Choice([...]) instead"
            )
        if (self.high - self.low) % self.step:
            last = self.low + (self.high - self.low) // self.step * self.step
            raise ValueError(
                f"Int({self.low}, {self.high}, step={self.step}) never reaches high={self.high}; "
                f"use high={last}"
            )

    @property
    def _count(self) -> int:
        return (self.high - self.low) // self.step + 1

    def sample(self, rng: np.random.Generator) -> int:
        return self.from_unit(float(rng.random()))

    def to_unit(self, value: int) -> float:
        # The centre of the value's cell, so that from_unit(to_unit(v)) == v.
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high + 1)
            return ((math.log(value) + math.log(value + 1)) / 2 - lo) / (hi - lo)
        if self.step == 1:
            return (value - self.low + 0.5) / (self.high - self.low + 1)
        return ((value - self.low) // self.step + 0.5) / self._count

    def from_unit(self, u: float) -> int:
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high + 1)
            value = math.floor(math.exp(lo + u * (hi - lo)))
        elif self.step == 1:  # as before steps existed: the same draws, bit for bit
            value = math.floor(self.low + u * (self.high - self.low + 1))
        else:
            value = self.low + min(math.floor(u * self._count), self._count - 1) * self.step
        return int(min(max(value, self.low), self.high))

    def contains(self, value: Any) -> bool:
        value = plain(value)
        return (
            type(value) is int
            and self.low <= value <= self.high
            and (value - self.low) % self.step == 0
        )

    def to_json(self) -> dict[str, Any]:
        data = {"type": "int", "low": self.low, "high": self.high, "log": self.log}
        if self.step != 1:
            data["step"] = self.step
        return _with_when(self, data)

    @property
    def inactive_value(self) -> int:
        """The fixed value a backend without conditions holds while this is inactive."""
        return self.low

    @property
    def values(self) -> list[int]:
        """Every value, in order."""
        return list(range(self.low, self.high + 1, self.step))

    __repr__ = _param_repr


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
    when: Condition = field(default=(), kw_only=True)

    def __post_init__(self) -> None:
        _normalise_when(self)
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
        return _with_when(self, {"type": "choice", "options": list(self.options)})

    @property
    def inactive_value(self) -> PlainValue:
        """The fixed value a backend without conditions holds while this is inactive."""
        return self.options[0]

    @property
    def values(self) -> list[PlainValue]:
        """Every value, in order."""
        return list(self.options)

    __repr__ = _param_repr


Param = Union[Float, Int, Choice]
_PARAM_TYPES = (Float, Int, Choice)


def _param_from_json(data: Mapping[str, Any]) -> Param:
    kind = data.get("type")
    when = {name: values for name, values in data.get("when", {}).items()}
    if kind == "float":
        return Float(data["low"], data["high"], log=data.get("log", False), when=when)
    if kind == "int":
        return Int(
            data["low"],
            data["high"],
            log=data.get("log", False),
            step=data.get("step", 1),
            when=when,
        )
    if kind == "choice":
        return Choice(data["options"], when=when)
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


def _matches(parent: Param, value: Any, values: tuple[PlainValue, ...]) -> bool:
    """Whether ``value`` of ``parent`` is one of a condition's ``values`` (``True`` is not 1)."""
    value = plain(value)
    return any(type(v) is type(value) and v == value for v in values)


def _check_conditions(params: Mapping[str, Param]) -> None:
    """Refuse a condition on an unknown, later or continuous parameter, or on values its
    parent never takes."""
    names = list(params)
    for position, (name, param) in enumerate(params.items()):
        for parent_name, values in param.when:
            if parent_name not in params:
                close = difflib.get_close_matches(parent_name, names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(
                    f"parameter {name!r}: its condition names {parent_name!r}{hint}, which is "
                    f"not a parameter of the space; the space has {', '.join(names)}"
                )
            if names.index(parent_name) >= position:
                raise ValueError(
                    f"parameter {name!r}: its condition names {parent_name!r}, which comes "
                    f"{'at the same place' if parent_name == name else 'after it'}; define "
                    f"{parent_name!r} before {name!r} in the space"
                )
            parent = params[parent_name]
            if isinstance(parent, Float):
                raise ValueError(
                    f"parameter {name!r}: its condition names {parent_name!r}, a Float; a "
                    "condition needs a parent with a finite set of values (an Int or a Choice)"
                )
            for value in values:
                ok = (type(value) is int and parent.contains(value)) or (
                    isinstance(parent, Choice) and parent.contains(value)
                )
                if not ok:
                    raise ValueError(
                        f"parameter {name!r}: its condition {parent_name} in {list(values)!r} "
                        f"has {value!r}, which {parent_name!r} ({parent!r}) never takes; list "
                        f"only values of {parent_name!r}"
                    )


def _branches_from_value(name: str, branches: list) -> list[tuple[str, Param]]:
    """The parameters of a hyperopt-style list of sub-spaces: ``name`` takes the values its
    branches give it, and each branch's other entries are active when ``name`` takes that
    branch's values (nested lists of sub-spaces nest the conditions)."""
    parent_values: list[PlainValue] = []
    children: dict[str, tuple[Any, list[PlainValue]]] = {}
    order: list[str] = []
    for branch in branches:
        if name not in branch:
            raise ValueError(
                f"parameter {name!r}: each sub-space of its list must give {name!r} the "
                f"value(s) it stands for, got {dict(branch)!r}; write e.g. "
                f"{{{name!r}: 2, 'n_neurons_2': [8, 16]}}"
            )
        own = branch[name]
        values = list(_condition_values(name, own))
        for value in values:
            if any(type(v) is type(value) and v == value for v in parent_values):
                raise ValueError(f"parameter {name!r}: the value {value!r} has two sub-spaces")
        parent_values += values
        for child, distribution in branch.items():
            if child == name:
                continue
            if child in children:
                if repr(children[child][0]) != repr(distribution):
                    raise ValueError(
                        f"parameter {child!r} has two different definitions in the sub-spaces "
                        f"of {name!r}: {children[child][0]!r} and {distribution!r}; give it "
                        "one definition or two names"
                    )
                children[child][1].extend(values)
            else:
                children[child] = (distribution, list(values))
                order.append(child)
    parent = _param_from_value(name, parent_values)
    out: list[tuple[str, Param]] = [(name, parent)]
    for child in order:
        distribution, values = children[child]
        for child_name, param in _entries(child, distribution):
            if child_name == child:  # nested sub-spaces depend on it, so on this one too
                param = dataclasses.replace(param, when={name: values, **dict(param.when)})
            out.append((child_name, param))
    return out


def _entries(name: str, value: Any) -> list[tuple[str, Param]]:
    """The parameters one ``from_dict`` entry makes (several for a list of sub-spaces)."""
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        return _branches_from_value(name, value)
    if isinstance(value, list) and any(isinstance(v, Mapping) for v in value):
        raise ValueError(
            f"parameter {name!r}: a list mixes sub-spaces (dicts) with plain values, got "
            f"{value!r}; give either values or one sub-space (dict) per value"
        )
    return [(name, _param_from_value(name, value))]


class Space(Mapping[str, Param]):
    """An ordered mapping of parameter name to ``Float`` / ``Int`` / ``Choice``.

    A parameter with a condition (``when={"n_hidden": [2, 3]}``) is active only when each
    parameter it names is active and takes one of the listed values; the conditions are
    checked here. Points of the space hold their active parameters only.

    >>> space = Space.from_dict({"n_hidden": [0, 1, 2, 3], "act": ["relu", "tanh"]})
    >>> space["n_hidden"], space["act"]
    (Int(low=0, high=3, log=False), Choice(options=('relu', 'tanh')))
    >>> layers = Space(n_hidden=Int(1, 3), n_neurons_2=Int(1, 99, when={"n_hidden": [2, 3]}))
    >>> layers.validate({"n_hidden": 1, "n_neurons_2": 50})  # inactive: dropped
    {'n_hidden': 1}
    >>> Space(n_neurons_2=Int(1, 99, when={"n_hiden": [2, 3]}), n_hidden=Int(1, 3))
    Traceback (most recent call last):
    ...
    ValueError: parameter 'n_neurons_2': its condition names 'n_hiden' (did you mean 'n_hidden'?), which is not a parameter of the space; the space has n_neurons_2, n_hidden
    """  # noqa: E501

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
        _check_conditions(merged)
        self._params = merged
        self.conditional = any(param.when for param in merged.values())
        #: The parameters that other parameters' conditions name.
        self.parents = {parent for param in merged.values() for parent, _ in param.when}

    @classmethod
    def from_dict(cls, distributions: Mapping[str, Any]) -> Space:
        """Build a space from what ``RandomizedSearchCV``'s ``param_distributions`` holds.

        Lists, ranges and arrays of contiguous integers become ``Int``, other lists ``Choice``;
        scipy's ``reciprocal`` / ``loguniform`` become log ``Float``, ``uniform`` a ``Float``,
        ``randint`` an ``Int``. A tuple of numbers is refused: scikit-optimize reads
        ``(1e-4, 1e-1)`` as a range, scikit-learn as two choices; write
        ``Float(1e-4, 1e-1, log=True)`` or a list.

        A list of dicts is a list of sub-spaces, as hyperopt's ``hp.choice`` of dicts: each
        gives the parameter its value (or a list of values) and the parameters active then.

        >>> from scipy.stats import reciprocal
        >>> Space.from_dict({"n_neurons": np.arange(1, 100), "lr": reciprocal(3e-4, 3e-2)})
        Space(n_neurons=Int(low=1, high=99, log=False), lr=Float(low=0.0003, high=0.03, log=True))
        >>> Space.from_dict({"optimizer": [
        ...     {"optimizer": "sgd", "momentum": Float(0, 0.9)},
        ...     {"optimizer": "adam"}]})  # doctest: +NORMALIZE_WHITESPACE
        Space(optimizer=Choice(options=('sgd', 'adam')),
              momentum=Float(low=0.0, high=0.9, log=False, when={'optimizer': ['sgd']}))
        """
        if isinstance(distributions, Space):
            return distributions
        if not isinstance(distributions, Mapping):
            raise TypeError(
                "Space.from_dict needs a dict of name -> values, "
                f"got {type(distributions).__name__}"
            )
        params: dict[str, Param] = {}
        for name, value in distributions.items():
            for entry, param in _entries(name, value):
                if entry in params:
                    raise ValueError(f"parameter {entry!r} is given twice")
                params[entry] = param
        return cls(params)

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

    def is_active(self, name: str, params: Mapping[str, Any]) -> bool:
        """Whether ``name`` is active at the point ``params`` (its parents' values; a parent
        that is inactive or missing makes it inactive)."""
        return all(
            parent in params
            and self.is_active(parent, params)
            and _matches(self._params[parent], params[parent], values)
            for parent, values in self._params[name].when
        )

    def active_only(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` without its inactive parameters (a full point of a backend that has
        no conditions becomes a point of this space).

        >>> space = Space(n=Int(1, 2), units_2=Int(1, 9, when={"n": 2}))
        >>> space.active_only({"n": 1, "units_2": 5}), space.active_only({"n": 2, "units_2": 5})
        ({'n': 1}, {'n': 2, 'units_2': 5})
        """
        if not self.conditional:
            return dict(params)
        return {name: value for name, value in params.items() if self.is_active(name, params)}

    def fill_inactive(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """A full point: ``params`` with every inactive parameter at its ``inactive_value``
        (the low end, or the first option) -- the fixed value that backends without
        conditions (the GP, CMA-ES's vector, the grid) hold while a parameter is inactive.

        >>> Space(n=Int(1, 2), units_2=Int(4, 9, when={"n": 2})).fill_inactive({"n": 1})
        {'n': 1, 'units_2': 4}
        """
        return {
            name: params.get(name, param.inactive_value) for name, param in self._params.items()
        }

    def sample(self, rng: np.random.Generator) -> dict[str, PlainValue]:
        """One point drawn uniformly (log-uniformly for ``log`` params); every parameter
        draws, the inactive ones are then left out (the same draws as without conditions)."""
        return self.active_only({name: param.sample(rng) for name, param in self._params.items()})

    def to_unit(self, params: Mapping[str, Any]) -> np.ndarray:
        """The point as a vector in the unit cube, one coordinate per parameter (an inactive
        parameter at its ``inactive_value``)."""
        full = self.fill_inactive(params)
        return np.array([p.to_unit(full[name]) for name, p in self._params.items()])

    def from_unit(self, vector: Sequence[float]) -> dict[str, PlainValue]:
        """The point of the unit cube as parameter values (its active parameters)."""
        pairs = zip(self._params.items(), vector, strict=True)
        return self.active_only({name: p.from_unit(u) for (name, p), u in pairs})

    def validate(self, params: Mapping[str, Any]) -> dict[str, PlainValue]:
        """Check that ``params`` is a point of this space; return it with plain Python values.

        Every active parameter must be given; a value given for an inactive one is dropped.
        """
        extra = [name for name in params if name not in self._params]
        out: dict[str, PlainValue] = {}
        missing = []
        for name, param in self._params.items():
            if not self.is_active(name, out):
                continue
            if name not in params:
                missing.append(name)
                continue
            value = plain(params[name])
            if isinstance(param, Float) and _is_integral(value):
                value = float(value)
            if not param.contains(value):
                raise ValueError(f"parameter {name!r}: {value!r} is not inside {param!r}")
            out[name] = value
        if missing or extra:
            raise ValueError(
                f"parameters do not match the space: missing {missing}, unexpected {extra}"
            )
        return out
