"""``pbt``: population-based training (Jaderberg et al., 2017), in synchronous generations.

A population trains in segments of ``perturbation_interval`` epochs. Once every member of a
generation has finished its segment, the members are ranked by validation loss: each one in
the bottom ``quantile_fraction`` (and each failed or diverged one) **exploits** a member
drawn from the top quantile — it continues that member's model (``resume_from``: the top
member's last trial, whose weights and optimizer state the runner hands to the objective) with
its parameters — and **explores**: the ``mutable`` parameters are perturbed. The others
continue their own model. So the mutable parameters follow a schedule found along the way
(the learning rate, say), while the architecture, which the continued weights fix, is copied.
This is Ray Tune's ``PopulationBasedTraining`` rule, synchronous as its ``synch=True``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from tunebench.options import Constraint, Integer, InvalidOptionError, Real
from tunebench.space import Choice, Float, Int, Space
from tunebench.strategy import Result, Strategy, Suggestion

#: An explored value is perturbed by one of these factors, each drawn with equal probability.
PERTURBATION_FACTORS = (0.8, 1.2)


@dataclass(frozen=True)
class _Member:
    """One member of the population: its parameters, the trial holding its model (None: not
    trained yet) and the epochs that model has trained."""

    params: dict[str, Any]
    model: int | None = None
    reached: int = 0


@dataclass(frozen=True)
class _Segment:
    """A member's next trial, decided at the end of a generation, asked when the runner asks."""

    member: int
    params: dict[str, Any]
    resume_from: int | None
    initial_epoch: int
    exploited: int | None  # the member whose model it continues, when not its own


def perturb(param: Float | Int | Choice, value: Any, factor: float) -> Any:
    """``value`` moved by ``factor``: multiplied for a log-scaled parameter, shifted by
    ``factor - 1`` of the range for a linear one (so 0.0 moves too), clipped to the bounds; an
    integer is rounded onto its step; a ``Choice`` moves to the option before (factor < 1)
    or after.

    >>> perturb(Float(1e-4, 1e-1, log=True), 0.01, 1.2), round(perturb(Float(0, 0.5), 0.0, 1.2), 9)
    (0.012, 0.1)
    >>> perturb(Int(1, 99), 50, 0.8), perturb(Choice(["a", "b", "c"]), "a", 0.8)
    (30, 'a')
    """
    if isinstance(param, Choice):
        index = param.index(value) + (1 if factor > 1 else -1)
        return param.options[min(max(index, 0), len(param.options) - 1)]
    moved = value * factor if param.log else value + (factor - 1) * (param.high - param.low)
    moved = min(max(moved, param.low), param.high)
    if isinstance(param, Float):
        return float(moved)
    stepped = param.low + round((moved - param.low) / param.step) * param.step
    return int(min(max(stepped, param.low), param.high - (param.high - param.low) % param.step))


class PBT(Strategy):
    """Population-based training: ``population_size`` members train in segments of
    ``perturbation_interval`` epochs; after each generation the bottom ``quantile_fraction``
    continue a top member's model with its parameters perturbed (exploit and explore).

    A generation waits for all its members (``ask()`` returns None meanwhile). Its ok members
    are ranked by their segment's validation loss; a failed or diverged member exploits a top
    one too (the best, when the quantile is empty; when no member of the generation is ok it
    is drawn afresh, from epoch 0). Explore, for each ``mutable`` parameter active in the
    copied parameters: with probability ``resample_probability`` a fresh draw from its
    distribution, else a perturbation by 0.8 or 1.2 (``perturb``). The other parameters —
    the architecture, which the continued weights fix — are copied unchanged. Once every
    member has trained ``max_epochs`` a fresh population starts (a new round), until the
    budget ends. The budget is the sum of the epochs all members trained: a continuation is
    charged only its new epochs. A member whose objective keeps no state (a plain function)
    is evaluated again at the higher fidelity with its new parameters. It cannot be
    warm-started (``learns_from_given`` is False): a given trial has no place in the
    population; enqueued configurations are trained to the objective's ``max_epochs`` beside
    it. A continuation trains at its own learning rate (``KerasObjective`` keeps the rate its
    parameters built over the one in the loaded optimizer state).

    Options:
        population_size: int, default 8. Members trained side by side (>= 2).
        perturbation_interval: int, default 4. Epochs of a segment, between two exploits.
        quantile_fraction: float, default 0.25. Share of a generation's ok members in the
            top and in the bottom quantile (at most 0.5; 0: only failed members exploit).
        resample_probability: float, default 0.25. Chance that an explored parameter is
            drawn afresh rather than perturbed.
        mutable: names or None, default None. The parameters explore may change; None: every
            ``Float`` of the space that no condition depends on. They must not change the
            model's shape (a unit count would not fit the continued weights).
        max_epochs: int, default 100. Epochs a member trains (the objective's ``max_epochs``
            when run by ``tune``).

    >>> from tunebench.space import Float, Int, Space
    >>> space = Space(learning_rate=Float(1e-4, 1e-1, log=True), n_hidden=Int(1, 3))
    >>> s = PBT(space, seed=0, population_size=4, max_epochs=8)
    >>> first = [s.ask() for _ in range(4)]
    >>> s.ask() is None  # the generation waits for its results
    True
    >>> for a in first:
    ...     s.tell(a, Result(loss=a.params["learning_rate"], epochs_run=a.epochs))
    >>> worst = max(first, key=lambda a: a.params["learning_rate"])
    >>> best = min(first, key=lambda a: a.params["learning_rate"])
    >>> nxt = {a.meta["member"]: a for a in (s.ask() for _ in range(4))}
    >>> again = nxt[worst.meta["member"]]  # the worst continues the best's model
    >>> again.resume_from == best.id, (again.initial_epoch, again.epochs)
    (True, (4, 8))
    >>> again.params["n_hidden"] == best.params["n_hidden"]
    True
    """

    name = "pbt"
    description = "population-based training: exploit the best members' models, explore"
    learns = True
    multi_fidelity = True
    learns_from_given = False  # a given trial has no place in the population
    option_constraints: ClassVar[dict[str, Constraint]] = {
        "population_size": Integer(2),
        "perturbation_interval": Integer(1),
        "quantile_fraction": Real(0.0, 0.5),
        "resample_probability": Real(0.0, 1.0),
        "max_epochs": Integer(1),
    }

    def __init__(
        self,
        space: Space,
        seed: int | None = None,
        *,
        population_size: int = 8,
        perturbation_interval: int = 4,
        quantile_fraction: float = 0.25,
        resample_probability: float = 0.25,
        mutable: Sequence[str] | None = None,
        max_epochs: int = 100,
    ) -> None:
        super().__init__(space, seed)
        self.population_size = population_size
        self.perturbation_interval = perturbation_interval
        self.quantile_fraction = quantile_fraction
        self.resample_probability = resample_probability
        self.max_epochs = max_epochs
        self.mutable = _check_mutable(space, mutable)
        self.round = 0
        self.generation = 0
        self._members: list[_Member] = []
        self._queue: list[_Segment] = []  # the generation's trials not asked yet
        self._pending: dict[int, int] = {}  # suggestion id -> member, asked and not told
        self._told: dict[int, tuple[Suggestion, Result]] = {}  # member -> its segment's end
        self._new_population()

    # ------------------------------------------------------------------ ask / tell

    def _propose(self) -> Suggestion | None:
        if not self._queue:
            return None  # the generation waits for its running members
        segment = self._queue.pop(0)
        suggestion = self._suggest(
            segment.params,
            epochs=min(segment.initial_epoch + self.perturbation_interval, self.max_epochs),
            initial_epoch=segment.initial_epoch,
            resume_from=segment.resume_from,
            meta={
                "round": self.round,
                "generation": self.generation,
                "member": segment.member,
                "exploited": segment.exploited,
            },
        )
        self._pending[suggestion.id] = segment.member
        return suggestion

    def tell(self, suggestion: Suggestion, result: Result) -> None:
        member = self._pending.pop(suggestion.id, None)
        if member is None:
            return  # not this population's (enqueued, or told twice)
        self._told[member] = (suggestion, result)
        if not self._queue and not self._pending:
            self._next_generation()

    # ------------------------------------------------------------------ generations

    def _new_population(self) -> None:
        """A fresh round: ``population_size`` members drawn at random, from epoch 0."""
        self._members = [_Member(self.space.sample(self.rng)) for _ in range(self.population_size)]
        self._queue = [
            _Segment(i, member.params, None, 0, None) for i, member in enumerate(self._members)
        ]

    def _next_generation(self) -> None:
        """Rank the generation just told, exploit and explore, and queue the next one."""
        told = self._told
        self._told = {}
        ok = {m for m, (_, result) in told.items() if result.status == "ok"}
        for m in ok:  # each member that trained keeps its new model
            suggestion, result = told[m]
            ran = max(result.epochs_run, 1)  # an objective without epochs: one evaluation
            end = suggestion.initial_epoch + ran
            if suggestion.epochs is not None:
                end = min(end, suggestion.epochs)
            self._members[m] = _Member(suggestion.params, suggestion.id, end)
        order = sorted(ok, key=lambda m: (told[m][1].loss, m))  # the best first
        quantile = min(math.ceil(len(order) * self.quantile_fraction), len(order) // 2)
        # A failed member exploits the best one even when the quantile is empty.
        top = order[: max(quantile, 1)] if len(ok) < len(told) else order[:quantile]
        donors = [m for m in top if self._members[m].reached < self.max_epochs]
        bottom = set(order[len(order) - quantile :] if quantile else ()) | (set(told) - ok)
        segments = []
        for m in sorted(told):
            if m in bottom and donors:
                donor = donors[int(self.rng.integers(len(donors)))]
                top = self._members[donor]
                self._members[m] = _Member(self._explore(top.params), top.model, top.reached)
                exploited: int | None = donor
            elif m not in ok:  # failed, and no member to exploit: start afresh
                self._members[m] = _Member(self.space.sample(self.rng))
                exploited = None
            else:
                exploited = None
            member = self._members[m]
            if member.reached < self.max_epochs:
                segments.append(_Segment(m, member.params, member.model, member.reached, exploited))
        self.generation += 1
        if not segments:  # every member trained max_epochs: the next round
            self.round += 1
            self.generation = 0
            self._new_population()
        else:
            self._queue = segments

    def _explore(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` with each active mutable parameter drawn afresh or perturbed."""
        explored = dict(params)
        for name in self.mutable:
            if name not in explored:
                continue  # inactive here
            param = self.space[name]
            if self.rng.random() < self.resample_probability:
                explored[name] = param.sample(self.rng)
            else:
                factor = PERTURBATION_FACTORS[int(self.rng.integers(len(PERTURBATION_FACTORS)))]
                explored[name] = perturb(param, explored[name], factor)
        return explored


def _check_mutable(space: Space, mutable: Sequence[str] | None) -> tuple[str, ...]:
    """The parameters explore may change: ``mutable`` checked against ``space``, or by
    default every ``Float`` no condition depends on."""
    parents = {parent for param in space.values() for parent, _ in param.when}
    if mutable is None:
        return tuple(
            name for name, p in space.items() if isinstance(p, Float) and name not in parents
        )
    if isinstance(mutable, str) or not all(isinstance(name, str) for name in mutable):
        raise InvalidOptionError(
            f"PBT option mutable must be a list of parameter names or None, got {mutable!r}; "
            f"e.g. mutable=[{next(iter(space), 'learning_rate')!r}]"
        )
    for name in mutable:
        if name not in space:
            raise InvalidOptionError(
                f"PBT option mutable names {name!r}, which is not in the space "
                f"({', '.join(space)}); name parameters of the space"
            )
        if name in parents:
            raise InvalidOptionError(
                f"PBT option mutable names {name!r}, on which a condition depends: changing "
                "it would change which parameters are active; leave it out of mutable"
            )
    return tuple(dict.fromkeys(mutable))
