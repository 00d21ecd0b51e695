"""What a strategy proposes (``Suggestion``), what it learns (``Result``), its base class and
the registry that finds strategies by name.

A strategy only proposes: ``ask()`` returns the next ``Suggestion`` (or None while it waits for
pending results), ``tell()`` hands back the ``Result``. The runner owns the loop, the budget and
the store. Strategies are found through the entry-point group ``tunebench.strategies`` — the
built-ins are declared in tunebench's own ``pyproject.toml`` — or added with ``register``.

>>> from tunebench import Space, Float
>>> strategy = get_strategy("random", Space(x=Float(0, 1)), seed=0)
>>> suggestion = strategy.ask()
>>> suggestion.id, 0 <= suggestion.params["x"] <= 1
(0, True)
>>> strategy.tell(suggestion, Result(loss=0.5))
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import textwrap
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .options import Constraint, check_option, unknown_option_message
from .registry import Registry, UnknownNameError
from .space import Space, plain

__all__ = [
    "STATUSES",
    "Result",
    "Strategy",
    "Suggestion",
    "UnknownOptionError",
    "UnknownStrategyError",
    "available_strategies",
    "get_strategy",
    "lost_trial",
    "register",
    "strategy_class",
]

ENTRY_POINT_GROUP = "tunebench.strategies"
STATUSES = ("ok", "failed", "diverged", "pruned")


#: The largest seed: seeds are stored in SQLite, whose integers are signed 64-bit.
MAX_SEED = 2**63 - 1


def check_seed(seed: Any) -> int | None:
    """``seed`` as a plain ``int`` from 0 to ``MAX_SEED`` (numpy integers too), None kept.

    >>> check_seed(np.int64(7))
    7
    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    ValueError: seed must be an integer from 0 to 2**63 - 1, got -1; pass a non-negative seed such as 0
    """  # noqa: E501
    if seed is None:
        return None
    seed = plain(seed)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(
            f"seed must be an integer from 0 to 2**63 - 1 or None, got {seed!r} "
            f"({type(seed).__name__})"
        )
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(
            f"seed must be an integer from 0 to 2**63 - 1, got {seed}; pass a non-negative "
            f"seed such as {seed % (MAX_SEED + 1) if seed > 0 else 0}"
        )
    return seed


@dataclass(frozen=True)
class Suggestion:
    """One trial to run: the parameters and, for multi-fidelity strategies, how far to train.

    ``epochs`` is the epoch to train up to (None: the objective's own limit);
    ``initial_epoch`` and ``resume_from`` (the id of an earlier suggestion whose model this one
    continues) describe a continuation. ``seed`` is set by the runner for the trial's own
    randomness (weight initialisation, shuffling). ``meta`` is the strategy's private notes.
    """

    id: int
    params: dict[str, Any]
    epochs: int | None = None
    initial_epoch: int = 0
    resume_from: int | None = None
    seed: int | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def new_epochs(self) -> int | None:
        """Epochs this trial will train (its cost), or None when the objective decides."""
        return None if self.epochs is None else self.epochs - self.initial_epoch


@dataclass(frozen=True)
class Result:
    """What an evaluation produced.

    ``loss`` is the validation loss used for selection (``inf`` when the trial failed or
    diverged); ``test_loss`` is reported, never used to select, and so are ``metrics``, other
    measures of the test split by name (``{"accuracy": 0.97}``). ``epochs_run`` is the number
    of new epochs actually trained — what the budget is charged. ``state`` carries weights and
    optimizer state for a later continuation (multi-fidelity strategies only).
    """

    loss: float
    status: str = "ok"
    epochs_run: int = 1
    seconds: float = 0.0
    test_loss: float | None = None
    curve: tuple[float, ...] = ()
    train_curve: tuple[float, ...] = ()
    state: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    error: str | None = None
    worker: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"Result status must be one of {STATUSES}, got {self.status!r}")
        loss = float(self.loss)
        if math.isnan(loss):
            loss = math.inf
        object.__setattr__(self, "loss", loss)
        if self.status == "ok" and not math.isfinite(loss):
            object.__setattr__(self, "status", "diverged")
        object.__setattr__(self, "curve", tuple(float(v) for v in self.curve))
        object.__setattr__(self, "train_curve", tuple(float(v) for v in self.train_curve))
        object.__setattr__(self, "metrics", {str(k): float(v) for k, v in self.metrics.items()})

    @classmethod
    def failure(cls, error: str, *, seconds: float = 0.0, epochs_run: int = 0) -> Result:
        """A trial whose code raised: recorded with its message, loss ``inf``."""
        return cls(
            loss=math.inf, status="failed", epochs_run=epochs_run, seconds=seconds, error=error
        )


def lost_trial(
    suggestion: Suggestion, reason: str, *, worker: str | None = None, seconds: float = 0.0
) -> Result:
    """A trial whose outcome is unknown: ``failed``, charged everything it was granted.

    >>> lost_trial(Suggestion(id=0, params={}, epochs=30, initial_epoch=10), "it was lost").error
    'it was lost; charged its grant of 20 epochs, as how many it trained is unknown'
    """
    granted = suggestion.new_epochs
    if granted is None:  # an objective without epochs: one evaluation
        return dataclasses.replace(
            Result.failure(reason, seconds=seconds, epochs_run=1), worker=worker
        )
    first, newline, rest = reason.partition("\n")  # the note goes before any traceback
    note = f"charged its grant of {granted} epochs, as how many it trained is unknown"
    message = f"{first}; {note}{newline}{rest}"
    return dataclasses.replace(
        Result.failure(message, seconds=seconds, epochs_run=granted), worker=worker
    )


class Strategy(ABC):
    """Base class of every search strategy.

    Subclasses implement ``_propose()`` (return a ``Suggestion`` made with
    ``self._suggest(params, ...)``, or None while waiting) and, when they learn from results,
    ``tell()``. They draw every random number from ``self.rng``, a private
    ``numpy.random.Generator`` made from ``seed``; they never touch global random state.
    Several asks may be outstanding at once (parallel workers).

    Class attributes: ``name`` (registry name), ``description`` (one line for
    ``tunebench strategies``), ``learns`` (whether results steer the next suggestions),
    ``multi_fidelity`` (whether suggestions continue earlier trials),
    ``option_constraints``: each keyword option's type and range (``tunebench.options``),
    checked — and numpy scalars made plain — before the subclass's ``__init__`` runs, and
    ``startup_option``: the option holding how many random suggestions come before the
    strategy's model steers it (``startup_trials``; None: no such phase),
    ``learns_from_given``: whether ``tell`` also learns from trials the strategy did not
    propose (another study's, ``tune(warm_start=...)``; configurations given by the user,
    ``tune(enqueue=...)``), which Hyperband's brackets cannot, and ``pruner``: the
    pruner the runner runs its trials under when the strategy prunes by itself (``asha``,
    ``bohb``; None: whatever ``tune(pruner=...)`` says).

    >>> from tunebench import Float
    >>> from tunebench.options import Integer
    >>> class Mine(Strategy):
    ...     option_constraints = {"width": Integer(1)}
    ...     def __init__(self, space, seed=None, *, width=3):
    ...         super().__init__(space, seed)
    ...         self.width = width
    ...     def _propose(self):
    ...         return None
    >>> space = Space(x=Float(0, 1))
    >>> Mine(space, width=0)
    Traceback (most recent call last):
    ...
    tunebench.options.InvalidOptionError: Mine option width must be an integer >= 1, got 0
    >>> Mine(space, widht=2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tunebench.strategy.UnknownOptionError: Mine has no option 'widht' (did you mean 'width'?); ...
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    learns: ClassVar[bool] = True
    multi_fidelity: ClassVar[bool] = False
    option_constraints: ClassVar[dict[str, Constraint]] = {}
    startup_option: ClassVar[str | None] = None
    learns_from_given: ClassVar[bool] = True
    pruner: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and not hasattr(init, "__checked_options__"):
            cls.__init__ = _checking_options(cls, init)  # type: ignore[method-assign]

    def __init__(self, space: Space, seed: int | None = None) -> None:
        if not isinstance(space, Space):
            raise TypeError(
                f"{type(self).__name__} needs a tunebench Space, got {type(space).__name__}; "
                "build one with Space(...) or Space.from_dict(...)"
            )
        self.space = space
        self.seed = check_seed(seed)
        self.rng = np.random.default_rng(self.seed)
        self._next_id = 0

    def _suggest(self, params: dict[str, Any], **fields: Any) -> Suggestion:
        """Make the next suggestion, with plain Python values checked against the space."""
        suggestion = Suggestion(id=self._next_id, params=self.space.validate(params), **fields)
        self._next_id += 1
        return suggestion

    def given(self, params: dict[str, Any], **fields: Any) -> Suggestion:
        """A suggestion of ``params`` chosen outside the strategy (``tune(enqueue=...)``): it
        takes the next id, and its result comes back through ``tell`` as any other's."""
        return self._suggest(params, **fields)

    def ask(self) -> Suggestion | None:
        """The next trial to run, or None while nothing can be proposed before a tell."""
        if self.done:
            return None
        return self._propose()

    @abstractmethod
    def _propose(self) -> Suggestion | None: ...

    def tell(self, suggestion: Suggestion, result: Result) -> None:  # noqa: B027
        """Learn from a finished trial. Strategies that ignore results keep this default."""

    @property
    def done(self) -> bool:
        """True once the strategy has nothing more to try (e.g. a finished grid)."""
        return False

    @property
    def startup_trials(self) -> int:
        """How many trials the strategy suggests at random before its model takes over (its
        start-up phase); 0 when it has no such phase. A run that ends within it is random
        search, whatever the strategy's name."""
        return 0 if self.startup_option is None else int(getattr(self, self.startup_option))

    @classmethod
    def startup_trials_for(cls, options: Mapping[str, Any]) -> int:
        """``startup_trials`` of the strategy made with ``options`` (a study's stored options;
        the defaults fill in the rest), read without making one — making one may import a
        heavy library.

        >>> tpe = strategy_class("tpe")
        >>> tpe.startup_trials_for({}), tpe.startup_trials_for({"n_startup_jobs": 3})
        (10, 3)
        >>> strategy_class("random").startup_trials_for({})
        0
        """
        name = cls.startup_option
        if name is None:
            return 0
        if name in options:
            return int(options[name])
        default = inspect.signature(cls.__init__).parameters[name].default
        return int(default)

    @classmethod
    def pruner_option_names(cls) -> list[str]:
        """The options of a strategy that prunes by itself (``pruner``: a name of
        ``tunebench.pruning.PRUNERS``) that go to its pruner; none for the others."""
        if cls.pruner is None:
            return []
        from .pruning import PRUNERS

        return [name for name in PRUNERS[cls.pruner] if name in cls.option_constraints]

    @classmethod
    def pruner_options_from(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        """The pruner's options among a study's strategy ``options`` (its defaults for the
        rest)."""
        return {k: v for k, v in options.items() if k in cls.pruner_option_names()}

    @classmethod
    def options_doc(cls) -> str:
        """The ``Options`` part of the class docstring, for ``tunebench strategies --verbose``."""
        doc = inspect.cleandoc(cls.__doc__ or "")
        _, found, rest = doc.partition("Options:\n")
        block = []
        for line in rest.splitlines():
            if line.strip() and not line[0].isspace():
                break  # the first line back at the left margin ends the section
            block.append(line)
        return textwrap.dedent("\n".join(block)).strip() if found else ""


class UnknownOptionError(TypeError):
    """A strategy was given an option it does not take."""


def _checking_options(cls: type[Strategy], init: Callable[..., None]) -> Callable[..., None]:
    """Wrap ``cls.__init__`` so that the outermost constructor checks its options once."""
    signature = inspect.signature(init)
    parameters = signature.parameters
    undeclared = set(cls.__dict__.get("option_constraints", {})) - set(parameters)
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    if undeclared and not takes_any:
        raise TypeError(
            f"{cls.__name__}.option_constraints names {sorted(undeclared)}, which its "
            "__init__ does not take"
        )
    options = [n for n, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]

    @functools.wraps(init)
    def __init__(self: Strategy, *args: Any, **kwargs: Any) -> None:
        owner = type(self)
        if owner.__init__ is __init__:  # not a super().__init__ call from a subclass
            if not takes_any:  # with **kwargs, what it takes is its parents' (or its own) affair
                for name in kwargs:
                    if name not in parameters:
                        message = unknown_option_message(owner.__name__, name, options)
                        raise UnknownOptionError(message)
            # Options forwarded through **kwargs to a parent are checked here too.
            kwargs = {
                name: (
                    check_option(owner.__name__, name, value, owner.option_constraints[name])
                    if name in owner.option_constraints
                    else value
                )
                for name, value in kwargs.items()
            }
            bound = signature.bind(self, *args, **kwargs)
            for name, constraint in owner.option_constraints.items():
                if name in bound.arguments and name not in kwargs:
                    value = bound.arguments[name]
                    bound.arguments[name] = check_option(owner.__name__, name, value, constraint)
            args, kwargs = bound.args[1:], bound.kwargs
        init(self, *args, **kwargs)

    __init__.__checked_options__ = True  # type: ignore[attr-defined]
    return __init__


# --------------------------------------------------------------------------- registry

#: Strategies declared here as well as in ``pyproject.toml``: found from a source tree whose
#: install metadata predates them (an editable install made before they were added).
_BUILTINS = {
    "asha": "tunebench.strategies.pruned:Asha",
    "bohb": "tunebench.strategies.pruned:Bohb",
    "pbt": "tunebench.strategies.pbt:PBT",
}

_registry = Registry(ENTRY_POINT_GROUP, "strategy", builtins=_BUILTINS)


class UnknownStrategyError(UnknownNameError):
    """Raised for a strategy name that is not registered."""


def register(name: str, cls: type[Strategy]) -> None:
    """Add a strategy at run time (tests, notebooks). Duplicate names are refused.

    >>> register("random", Strategy)
    Traceback (most recent call last):
    ...
    ValueError: a strategy named 'random' is already registered; pick another name
    """
    _registry.check_free(name)
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise TypeError(f"register needs a Strategy subclass, got {cls!r}")
    _registry.register(name, cls)


def unregister(name: str) -> None:
    """Remove a strategy added with ``register`` (entry points cannot be removed)."""
    _registry.unregister(name)


def available_strategies() -> list[str]:
    """Names of every registered strategy, sorted.

    >>> {"random", "grid"} <= set(available_strategies())
    True
    """
    return _registry.names()


def strategy_class(name: str) -> type[Strategy]:
    """The class registered under ``name``; its module is imported only now."""
    try:
        cls = _registry.load(name)
    except UnknownNameError as exc:
        raise UnknownStrategyError(str(exc)) from None
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        where = _registry.entry_point(name)
        raise TypeError(
            f"entry point {name!r} ({where.value if where else cls!r}) is not a Strategy subclass"
        )
    return cls


def get_strategy(name: str, space: Space, seed: int | None = None, **options: Any) -> Strategy:
    """A new strategy by name, for ``space``, seeded with ``seed``, with its own options."""
    cls = strategy_class(name)
    try:
        return cls(space, seed=seed, **options)
    except UnknownOptionError as exc:
        doc = cls.options_doc() or "(it takes no options)"
        raise UnknownOptionError(f"strategy {name!r}: {exc}. Its options:\n{doc}") from None
