"""``grid``: every combination of a discretised space, via scikit-learn's ``ParameterGrid``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from tunebench.options import Constraint, Flag
from tunebench.space import Choice, Float, Int, Param, Space
from tunebench.strategy import Strategy, Suggestion


def grid_values(param: Param, points: int) -> list:
    """The values a grid takes for one parameter: all choices, ``points`` spaced numbers.

    >>> grid_values(Float(1e-3, 1e-1, log=True), 3)
    [0.001, 0.01, 0.1]
    >>> grid_values(Int(0, 3), 5), grid_values(Int(1, 99), 3), grid_values(Int(8, 64, step=8), 3)
    ([0, 1, 2, 3], [1, 50, 99], [8, 40, 64])
    """
    if isinstance(param, Choice):
        return list(param.options)
    if isinstance(param, Float):
        if param.log:
            values = np.geomspace(param.low, param.high, points)
        else:
            values = np.linspace(param.low, param.high, points)
        # Rounded to 12 significant digits so that geomspace's 0.010000000000000002 reads 0.01.
        return [float(f"{v:.12g}") for v in values]
    assert isinstance(param, Int)
    if len(param.values) <= points:
        return param.values
    if param.step > 1:  # evenly spaced steps
        return sorted(
            {
                param.low + param.step * round(i)
                for i in np.linspace(0, len(param.values) - 1, points)
            }
        )
    spaced = np.geomspace if param.log else np.linspace
    return sorted({round(v) for v in spaced(param.low, param.high, points)})


def conditional_grids(space: Space, values: Mapping[str, list]) -> list[dict[str, list]]:
    """One grid per combination of the values of the parameters that conditions name, each
    holding only the parameters active there: no point is tried twice for the values of
    parameters it does not use.

    >>> space = Space(n=Int(1, 2), units_2=Int(1, 3, when={"n": 2}))
    >>> conditional_grids(space, {"n": [1, 2], "units_2": [1, 2, 3]})
    [{'n': [1]}, {'n': [2], 'units_2': [1, 2, 3]}]
    """
    grids: list[tuple[dict[str, Any], dict[str, list]]] = [({}, {})]
    for name in space:
        branched = []
        for fixed, grid in grids:
            if not space.is_active(name, fixed):  # its parents are fixed in this grid
                branched.append((fixed, grid))
            elif name in space.parents:
                branched += [({**fixed, name: v}, {**grid, name: [v]}) for v in values[name]]
            else:
                branched.append((fixed, {**grid, name: list(values[name])}))
        grids = branched
    return [grid for _, grid in grids]


class GridSearch(Strategy):
    """Grid search over every combination (scikit-learn ``ParameterGrid``).

    ``Choice`` params take all their options; ``Int`` params all their values when there are
    at most ``resolution`` of them; ``Float`` params (and wider ``Int`` ones) ``resolution``
    evenly spaced values (geometrically spaced for ``log``). Once every point is tried the
    strategy is ``done``. In a conditional space the grid holds each parameter only where it
    is active: one sub-grid per combination of the values of the parameters conditions name.

    Options:
        resolution: int or dict name -> int, default 5. Values per numeric parameter.
        shuffle: bool, default True. Visit the grid in a seeded random order, so that a budget
            smaller than the grid still covers every parameter's range; False keeps
            ``ParameterGrid``'s order.

    >>> from tunebench import Int
    >>> g = GridSearch(Space(a=Int(0, 1), b=Choice(["x", "y"])), seed=0, shuffle=False)
    >>> [g.ask().params for _ in range(4)][:2], g.size, g.done
    ([{'a': 0, 'b': 'x'}, {'a': 0, 'b': 'y'}], 4, True)
    """

    name = "grid"
    description = "grid search over a discretised space (scikit-learn ParameterGrid)"
    learns = False
    # resolution (an int, or a mapping per parameter) is checked against the space below.
    option_constraints: ClassVar[dict[str, Constraint]] = {"shuffle": Flag()}

    def __init__(
        self,
        space: Space,
        seed: int | None = None,
        *,
        resolution: int | Mapping[str, int] = 5,
        shuffle: bool = True,
    ) -> None:
        from sklearn.model_selection import ParameterGrid

        super().__init__(space, seed)
        per_param = dict(resolution) if isinstance(resolution, Mapping) else {}
        unknown = set(per_param) - set(space)
        if unknown:
            raise ValueError(f"grid resolution names unknown parameters {sorted(unknown)}")
        default = 5 if isinstance(resolution, Mapping) else resolution
        grid = {}
        for name, param in space.items():
            points = per_param.get(name, default)
            if isinstance(points, bool) or not isinstance(points, int) or points < 2:
                raise ValueError(
                    f"grid resolution for {name!r} must be an integer >= 2, got {points!r}"
                )
            grid[name] = grid_values(param, points)
        self._grid = ParameterGrid(conditional_grids(space, grid) if space.conditional else grid)
        self.size = len(self._grid)
        self._order = self.rng.permutation(self.size) if shuffle else np.arange(self.size)
        self._position = 0

    def _propose(self) -> Suggestion:
        point = self._grid[int(self._order[self._position])]
        self._position += 1
        return self._suggest({name: point[name] for name in self.space if name in point})

    @property
    def done(self) -> bool:
        return self._position >= self.size
