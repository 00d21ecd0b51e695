"""``evolution``: steady-state aging (regularized) evolution with DEAP's operators.

The genome is the point in the unit cube (``Space.to_unit`` / ``Space.from_unit``), one gene a
parameter. Parents come from a tournament over the living population (the last
``population_size`` results), children from uniform crossover and bounded polynomial mutation
(numeric genes) or resampling (``Choice`` genes). In a conditional space every parameter has
its gene: an inactive one is carried along, inherited and mutated unseen, and expressed once
the genes it depends on switch it on (conditions by construction). DEAP's operators draw from
Python's module-level ``random``; here they draw from a private ``random.Random`` instead,
swapped into the ``deap.tools`` modules for the duration of each call and put back afterwards.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from tunebench.options import Constraint, Integer, Real
from tunebench.private_api import deap_operator_modules
from tunebench.space import Choice, Space
from tunebench.strategy import Result, Strategy, Suggestion

# Held while the deap.tools modules draw from a strategy's private generator.
_DEAP_LOCK = threading.Lock()


@contextmanager
def _deap_random(rng: random.Random) -> Iterator[Any]:
    """``deap.tools`` with its operators drawing from ``rng`` instead of the global ``random``."""
    from deap import tools

    modules = deap_operator_modules()
    with _DEAP_LOCK:
        saved = [module.random for module in modules]
        for module in modules:
            module.random = rng
        try:
            yield tools
        finally:
            for module, original in zip(modules, saved, strict=True):
                module.random = original


class _Individual(list):
    """A genome (list of unit-cube genes) with the ``fitness`` DEAP's tournament maximises."""

    fitness: float


class Evolution(Strategy):
    """Steady-state aging evolution (regularized evolution) with DEAP's operators.

    The first ``population_size`` asks are random draws. After that each ask breeds one child
    from the results received so far: two parents by tournament over the living population
    (the last ``population_size`` finished trials; the oldest dies when a new result arrives),
    uniform crossover (``cxUniform``), then per-gene mutation: bounded polynomial mutation
    (``mutPolynomialBounded``) in the unit cube for ``Float`` and ``Int`` genes, a new option
    for ``Choice`` genes. A child identical to a parent is mutated again. Asks never wait, so
    any number can be outstanding; before any result is in, asks are random draws. A failed
    or diverged trial (loss ``inf``) stays in the population as the worst individual. Trials
    it did not propose (a warm start, enqueued configurations) join the population and take
    the place of initial random draws; of those told before its first ask, the best
    ``population_size`` make the population.

    Options:
        population_size: int, default 10. Living population, and the number of initial random
            draws (suits budgets of about 40 to 300 trials).
        tournament_size: int, default 5, at most ``population_size``. Individuals drawn (with
            replacement) per tournament; larger is greedier.
        crossover_prob: float, default 0.9. Probability that a child is a uniform crossover
            of its two parents rather than a copy of the first.
        mutation_prob: float or None, default None. Probability that each gene mutates;
            None means 1 / number of parameters.
        eta: float, default 10. Crowding degree of the polynomial mutation: larger values keep
            children closer to their parents.

    >>> from tunebench.space import Float, Space
    >>> s = Evolution(Space(x=Float(0, 1), act=Choice(["relu", "tanh"])), seed=0)
    >>> for _ in range(30):
    ...     suggestion = s.ask()
    ...     s.tell(suggestion, Result(loss=(suggestion.params["x"] - 0.3) ** 2))
    >>> type(suggestion.params["x"]).__name__, suggestion.params["act"] in ("relu", "tanh")
    ('float', True)
    """

    name = "evolution"
    description = "steady-state aging evolution with DEAP operators (tournament, crossover)"
    learns = True
    option_constraints: ClassVar[dict[str, Constraint]] = {
        "population_size": Integer(2),
        "tournament_size": Integer(1),
        "crossover_prob": Real(0, 1),
        "mutation_prob": Real(0, 1, none_ok=True),
        "eta": Real(0, inclusive=False),
    }
    startup_option = "population_size"

    def __init__(
        self,
        space: Space,
        seed: int | None = None,
        *,
        population_size: int = 10,
        tournament_size: int = 5,
        crossover_prob: float = 0.9,
        mutation_prob: float | None = None,
        eta: float = 10.0,
    ) -> None:
        super().__init__(space, seed)
        self.population_size = population_size
        self.tournament_size = tournament_size
        if tournament_size > population_size:
            raise ValueError(
                f"Evolution option tournament_size={tournament_size} exceeds "
                f"population_size={population_size}: a tournament draws from the living "
                "population; lower tournament_size or raise population_size"
            )
        self.crossover_prob = crossover_prob
        self.mutation_prob = 1.0 / len(space) if mutation_prob is None else mutation_prob
        self.eta = eta
        params = list(space.values())
        self._numeric = [i for i, p in enumerate(params) if not isinstance(p, Choice)]
        self._choices = [(i, p) for i, p in enumerate(params) if isinstance(p, Choice)]
        deap_operator_modules()  # before any trial: refuse a DEAP whose operators moved
        # DEAP's operators draw from this generator, seeded from the strategy's own.
        self._random = random.Random(int(self.rng.integers(2**63)))
        self._population: deque[_Individual] = deque(maxlen=self.population_size)
        self._pending: dict[int, list[float]] = {}  # suggestion id -> its genome
        self._asked = 0
        self._given = 0  # trials told that were not asked here (a warm start, enqueued ones)

    def _propose(self) -> Suggestion:
        if self._asked + self._given < self.population_size or not self._population:
            # Every gene drawn, active or not (the same draws as Space.sample).
            full = {name: param.sample(self.rng) for name, param in self.space.items()}
            genome = [float(g) for g in self.space.to_unit(full)]
            params = self.space.active_only(full)
        else:
            genome, params = self._breed()
        self._asked += 1
        suggestion = self._suggest(params)
        self._pending[suggestion.id] = genome
        return suggestion

    def tell(self, suggestion: Suggestion, result: Result) -> None:
        genome = self._pending.pop(suggestion.id, None)
        given = genome is None  # not asked here: a warm start, an enqueued configuration
        if given:
            genome = [float(g) for g in self.space.to_unit(suggestion.params)]
            self._given += 1  # a member of the initial population, as a random draw is
        individual = _Individual(genome)
        individual.fitness = -float(result.loss)  # inf loss: -inf, the worst
        if given and self._asked == 0 and self._full():
            # Told before the first ask (a warm start): the best of them make the population.
            worst = min(self._population, key=lambda member: member.fitness)
            if individual.fitness <= worst.fitness:
                return
            self._population.remove(worst)
        self._population.append(individual)  # the oldest dies once the deque is full

    def _full(self) -> bool:
        return len(self._population) == self.population_size

    # ------------------------------------------------------------------ breeding

    def _breed(self) -> tuple[list[float], dict[str, Any]]:
        with _deap_random(self._random) as tools:
            first, second = (
                _Individual(parent)
                for parent in tools.selTournament(
                    list(self._population), 2, tournsize=self.tournament_size
                )
            )
            parents = (self.space.from_unit(first), self.space.from_unit(second))
            child = first
            if self._random.random() < self.crossover_prob:
                child, _ = tools.cxUniform(first, second, indpb=0.5)
            self._mutate(tools, child, self.mutation_prob)
            params = self.space.from_unit(child)
            for _ in range(10):  # a copy of a parent teaches nothing: mutate one gene more
                if params not in parents:
                    break
                gene = self._random.randrange(len(child))
                self._mutate(tools, child, 1.0, only=gene)
                params = self.space.from_unit(child)
        return [min(max(float(g), 0.0), 1.0) for g in child], params

    def _mutate(self, tools: Any, child: list[float], prob: float, only: int | None = None) -> None:
        """Polynomial bounded mutation of numeric genes, resampling of choice genes."""
        numeric = [i for i in self._numeric if only is None or i == only]
        if numeric:
            genes = [child[i] for i in numeric]
            (genes,) = tools.mutPolynomialBounded(genes, eta=self.eta, low=0.0, up=1.0, indpb=prob)
            for i, gene in zip(numeric, genes, strict=True):
                child[i] = gene
        for i, param in self._choices:
            if (only is None or i == only) and self._random.random() < prob:
                n = len(param.options)
                if n > 1:
                    current = min(int(child[i] * n), n - 1)
                    new = self._random.randrange(n - 1)
                    new += new >= current
                    child[i] = (new + 0.5) / n
