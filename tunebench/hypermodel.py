"""Keras Tuner code as it is: ``HyperModelObjective(build_model, task)``.

A ``build_model(hp)`` function or a ``keras_tuner.HyperModel`` is searched by any tunebench
strategy. Its space is discovered the way Keras Tuner discovers it, by calling the builder
with a ``keras_tuner.HyperParameters`` that collects each ``hp.*`` definition (its
``conditional_scope``\\ s activated in turn), and further calls with values forced, so that
parameters defined only for some values (``for i in range(hp.Int("num_layers", 1, 3))``)
are found too (``tunebench.explore``: the rule and its limits). Each trial then replays the
chosen values into a fresh ``HyperParameters`` handed to the builder, and the model is
trained with ``KerasObjective``'s protocol.

Mapping: ``hp.Int`` → ``Int`` (``sampling="log"``: ``log=True``; ``step``: ``step``); with
``sampling="log"`` and a ``step`` (a factor, in keras-tuner) a ``Choice`` of its values.
``hp.Float`` → ``Float`` (log when ``sampling="log"``); with a ``step``, a ``Choice`` of its
values. ``hp.Choice`` → ``Choice``, ``hp.Boolean`` → ``Choice([False, True])``,
``hp.Fixed`` → not searched (the builder gets its value). ``conditional_scope`` and
``parent_name`` / ``parent_values`` → the parameter's condition (``when``). Refused with an
error naming it: ``sampling="reverse_log"``, any other hyperparameter class, and a
``HyperModel`` whose ``fit`` is its own (tunebench trains the model).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .explore import choice_or_int, explore, infer_space
from .objective import KerasObjective, callable_identity
from .space import Choice, Float, Int, Param, Space, plain
from .tasks import Task

__all__ = ["HyperModelObjective", "hypermodel_space"]


def _keras_tuner() -> Any:
    from .strategies.keras_tuner_hyperband import _import_keras_tuner

    return _import_keras_tuner()


def _builder(hypermodel: Any) -> Callable[[Any], Any]:
    """``hp -> model`` of a ``build_model(hp)`` function or a ``keras_tuner.HyperModel``."""
    keras_tuner = _keras_tuner()
    if isinstance(hypermodel, keras_tuner.HyperModel):
        if type(hypermodel).fit is not keras_tuner.HyperModel.fit:
            raise ValueError(
                f"{type(hypermodel).__name__} overrides HyperModel.fit, which tunebench does "
                "not call: it trains the built model itself (early stopping, budget in "
                "epochs). Move the choices made in fit() into build(), or search a "
                "batch_size by a space parameter of that name"
            )
        return hypermodel.build
    if callable(hypermodel):
        return hypermodel
    raise TypeError(
        f"HyperModelObjective needs a build_model(hp) function or a keras_tuner.HyperModel, "
        f"got {hypermodel!r}"
    )


def _param_of(hp: Any) -> Param | None:
    """The tunebench parameter of one keras-tuner hyperparameter (None for ``Fixed``)."""
    kind = type(hp).__name__
    if kind == "Fixed":
        return None
    if kind == "Boolean":
        return Choice([False, True])
    if kind == "Choice":
        return Choice([plain(v) for v in hp.values])
    if kind in ("Int", "Float"):
        if hp.sampling not in ("linear", "log"):
            raise ValueError(
                f"hp.{kind}({hp.name!r}, sampling={hp.sampling!r}) cannot be searched by "
                "tunebench: use sampling='linear' or 'log'"
            )
        log = hp.sampling == "log"
        if kind == "Int" and (hp.step is None or (hp.step == 1 and not log)):
            return Int(hp.min_value, hp.max_value, log=log)
        if kind == "Int" and not log:
            last = hp.min_value + (hp.max_value - hp.min_value) // hp.step * hp.step
            return Int(hp.min_value, last, step=hp.step)
        if kind == "Float" and hp.step is None:
            return Float(hp.min_value, hp.max_value, log=log)
        values = [plain(v) for v in hp.values]
        return choice_or_int([int(v) for v in values] if kind == "Int" else values)
    raise TypeError(
        f"tunebench cannot search the keras-tuner hyperparameter {hp.name!r} of class {kind}; "
        "use hp.Int, hp.Float, hp.Choice, hp.Boolean or hp.Fixed"
    )


def _declared(hp: Any) -> dict[str, list[Any]] | None:
    """The condition keras-tuner holds for ``hp`` (its ``conditional_scope`` s)."""
    return {c.name: [plain(v) for v in c.values] for c in hp.conditions} or None


def hypermodel_space(hypermodel: Any) -> tuple[Space, dict[str, Any]]:
    """The space a builder defines, and its ``hp.Fixed`` values.

    >>> def build_model(hp):
    ...     units = [hp.Int(f"units_{i}", 32, 512, step=32)
    ...              for i in range(hp.Int("num_layers", 1, 2))]
    ...     hp.Float("lr", 1e-4, 1e-2, sampling="log")
    >>> space, fixed = hypermodel_space(build_model)
    >>> list(space), space["units_1"].when
    (['num_layers', 'units_0', 'lr', 'units_1'], (('num_layers', (2,)),))
    """
    keras_tuner = _keras_tuner()
    build = _builder(hypermodel)
    fixed: dict[str, Any] = {}

    def run(forced: dict[str, Any]) -> tuple[list[tuple], list[dict[str, Any]]]:
        hp = keras_tuner.HyperParameters()
        hp.values = dict(forced)
        declare = getattr(hypermodel, "declare_hyperparameters", None)
        if declare is not None:
            declare(hp)
        build(hp)
        asked = []
        for definition in hp.space:
            if not hp.is_active(definition) or definition.name not in hp.values:
                continue
            param = _param_of(definition)
            value = plain(hp.values[definition.name])
            if param is None:
                fixed[definition.name] = value
                continue
            if any(a[0] == definition.name for a in asked):
                continue  # the same name active twice: keras-tuner gives it one value
            asked.append((definition.name, param, value, _declared(definition)))
        hints = [{c.name: plain(c.values[0]) for c in scope} for scope in hp.inactive_scopes]
        return asked, hints

    what = f"the builder {getattr(build, '__qualname__', type(build).__name__)}"
    return infer_space(explore(run, what), what), fixed


class _Replay:
    """``build_model(**params)`` for ``KerasObjective``: the params replayed into a fresh
    ``HyperParameters`` handed to the user's builder."""

    def __init__(self, hypermodel: Any, space: Space, fixed: dict[str, Any]) -> None:
        self.hypermodel = hypermodel
        self.space = space
        self.fixed = fixed

    def __call__(self, **params: Any) -> Any:
        params.pop("input_shape", None)
        hp = _keras_tuner().HyperParameters()
        hp.values = dict(params)
        model = _builder(self.hypermodel)(hp)
        unknown = [
            name
            for name in hp.values
            if name not in params and name not in self.fixed and name in self.space
        ]
        if unknown:
            raise ValueError(
                f"the builder used {', '.join(map(repr, unknown))} with values "
                f"{params}, where the discovered space has {'it' if len(unknown) == 1 else 'them'}"
                " inactive; give HyperModelObjective the space explicitly (space=...)"
            )
        return model


class HyperModelObjective(KerasObjective):
    """A Keras Tuner ``build_model(hp)`` or ``HyperModel`` as a tunebench objective.

    ``space`` (discovered from the builder unless given) is what ``tune`` searches when its
    ``space`` argument is left out. Other keyword arguments are ``KerasObjective``'s.

    >>> from tunebench.tasks import synthetic_regression
    >>> import keras
    >>> def build_model(hp):
    ...     model = keras.Sequential([keras.layers.Input((4,)),
    ...                               keras.layers.Dense(hp.Int("units", 4, 16)),
    ...                               keras.layers.Dense(1)])
    ...     model.compile(loss="mse", optimizer="sgd")
    ...     return model
    >>> objective = HyperModelObjective(build_model, synthetic_regression(), max_epochs=2)
    >>> objective.space
    Space(units=Int(low=4, high=16, log=False))
    """

    def __init__(
        self, hypermodel: Any, task: Task, *, space: Space | None = None, **options: Any
    ) -> None:
        _builder(hypermodel)  # refuses what cannot be built
        discovered, fixed = hypermodel_space(hypermodel)
        self.space = discovered if space is None else Space.from_dict(space)
        self.hypermodel = hypermodel
        super().__init__(_Replay(hypermodel, self.space, fixed), task, **options)

    def describe(self) -> dict[str, Any]:
        described = super().describe()
        build = getattr(self.hypermodel, "build", self.hypermodel)
        described.update(type="keras_tuner", **callable_identity(build, "build_model"))
        return described
