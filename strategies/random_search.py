"""``random``: independent draws, uniform or log-uniform per parameter."""

from __future__ import annotations

from tunebench.space import Space
from tunebench.strategy import Strategy, Suggestion


class RandomSearch(Strategy):
    """Random search: every parameter drawn independently (log-uniformly for ``log`` params).

    The baseline every other strategy is measured against. It ignores results.

    Options: none.

    >>> from tunebench import Float, Int
    >>> s = RandomSearch(Space(x=Float(0, 1), n=Int(1, 3)), seed=0)
    >>> s.ask().params == RandomSearch(Space(x=Float(0, 1), n=Int(1, 3)), seed=0).ask().params
    True
    """

    name = "random"
    description = "random search: uniform / log-uniform independent draws (the baseline)"
    learns = False

    def __init__(self, space: Space, seed: int | None = None) -> None:
        super().__init__(space, seed)

    def _propose(self) -> Suggestion:
        return self._suggest(self.space.sample(self.rng))
