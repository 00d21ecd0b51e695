"""Cheap synthetic benchmark problems with a fidelity: Branin (2-d) and Hartmann 6 (6-d).

Each is a ``FunctionObjective`` whose function takes ``epochs``: one epoch is one unit of
fidelity, ``s = epochs / max_epochs`` (``max_epochs`` 81 = 3**4, so that Hyperband's brackets
at ``eta = 3`` are 1, 3, 9, 27 and 81 epochs). The fidelity forms are BoTorch's
``AugmentedBranin`` and ``AugmentedHartmann`` (Balandat et al., 2020, after the
multi-fidelity Branin and Hartmann of Kandasamy et al., 2017, "Multi-fidelity Bayesian
optimisation with continuous approximations"), whose value at ``s = 1`` is the classic
function:

- Branin: ``(x2 - (5.1 / (4 pi^2) - 0.1 (1 - s)) x1^2 + 5 x1 / pi - 6)^2
  + 10 (1 - 1 / (8 pi)) cos(x1) + 10`` on x1 in [-5, 10], x2 in [0, 15]; global minimum
  0.397887 at (-pi, 12.275), (pi, 2.275) and (9.42478, 2.475).
- Hartmann 6: ``-sum_i alpha_i exp(-sum_j A_ij (x_j - P_ij)^2)`` on [0, 1]^6 with
  ``alpha_1 = 1 - 0.1 (1 - s)``; global minimum -3.32237 at (0.20169, 0.150011, 0.476874,
  0.275332, 0.311652, 0.6573).

For an honest comparison a low fidelity must never look better than the truth (the best
validation value over trials must be a true value, not a low-fidelity artefact), so the value
returned at fidelity ``s`` is ``f_1(x) + |g_s(x) - f_1(x)|``, with ``g_s`` the augmented form:
the literature's low-fidelity deviation taken as a non-negative penalty that vanishes at
``s = 1``. For Hartmann 6 the deviation is never negative (a smaller ``alpha_1`` only raises
the value), so this is exactly BoTorch's form; for Branin it is not, and the absolute value is
this module's addition. Each call returns ``Result(loss=f_s(x), test_loss=f_1(x))``: the
report's "test" column is the true full-fidelity value.

>>> round(branin_value(math.pi, 2.275), 6), round(hartmann6_value(*HARTMANN6_MINIMIZER), 5)
(0.397887, -3.32237)
>>> result = branin_fidelity(0.0, 5.0, epochs=9, initial_epoch=3)
>>> result.loss >= result.test_loss, result.epochs_run
(True, 6)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .problems import Problem, Reference
from .space import Float, Space
from .strategy import Result

__all__ = [
    "BRANIN_MIN",
    "BRANIN_MINIMIZERS",
    "HARTMANN6_MIN",
    "HARTMANN6_MINIMIZER",
    "MAX_EPOCHS",
    "branin",
    "branin_fidelity",
    "branin_objective",
    "branin_value",
    "hartmann6",
    "hartmann6_fidelity",
    "hartmann6_objective",
    "hartmann6_value",
]

#: The epochs of full fidelity (3**4: Hyperband's brackets at eta 3 are 1, 3, 9, 27, 81).
MAX_EPOCHS = 81
BRANIN_MIN = 0.397887
BRANIN_MINIMIZERS = ((-math.pi, 12.275), (math.pi, 2.275), (9.42478, 2.475))
HARTMANN6_MIN = -3.32237
HARTMANN6_MINIMIZER = (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573)

_HARTMANN_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_HARTMANN_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def branin_value(x1: float, x2: float, s: float = 1.0) -> float:
    """BoTorch's ``AugmentedBranin`` at fidelity ``s`` (the classic Branin at ``s = 1``)."""
    b = 5.1 / (4 * math.pi**2) - 0.1 * (1 - s)
    c, t = 5 / math.pi, 1 / (8 * math.pi)
    return float((x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10)


def hartmann6_value(*x: float, s: float = 1.0) -> float:
    """BoTorch's ``AugmentedHartmann`` at fidelity ``s`` (the classic Hartmann 6 at ``s = 1``)."""
    alpha = np.array([1.0 - 0.1 * (1 - s), 1.2, 3.0, 3.2])
    inner = np.sum(_HARTMANN_A * (np.asarray(x, dtype=np.float64) - _HARTMANN_P) ** 2, axis=1)
    return float(-np.sum(alpha * np.exp(-inner)))


def _fidelity_loss(low: float, true: float) -> float:
    """The loss at a fidelity: ``f_s``, never below ``f_1`` (the deviation's size added)."""
    return true + abs(low - true)


def _fidelity_result(low: float, true: float, epochs: int, initial_epoch: int) -> Result:
    """``Result(loss=f_s, test_loss=f_1)`` (``_fidelity_loss``), charged the new epochs."""
    return Result(
        loss=_fidelity_loss(low, true), test_loss=true, epochs_run=max(epochs - initial_epoch, 0)
    )


def _report_fidelities(
    value: Callable[[float], float],
    true: float,
    epochs: int,
    initial_epoch: int,
    max_epochs: int,
    report: Callable[[int, float], None] | None,
) -> None:
    """Report the loss at each new epoch's fidelity (``report(epoch, loss)``), as a training
    reports its validation loss, so that a pruner can stop the trial (``tune(pruner=...)``,
    ``asha``, ``bohb``)."""
    if report is None:
        return
    for epoch in range(initial_epoch + 1, epochs + 1):
        low = value(min(epoch / max_epochs, 1.0))
        report(epoch, _fidelity_loss(low, true))


def branin_fidelity(
    x1: float,
    x2: float,
    epochs: int,
    initial_epoch: int = 0,
    max_epochs: int = MAX_EPOCHS,
    report: Callable[[int, float], None] | None = None,
) -> Result:
    """Branin at fidelity ``epochs / max_epochs``: loss ``f_s`` (never below the truth), test
    loss the true value; each epoch's fidelity reported to ``report``."""
    true = branin_value(x1, x2)
    _report_fidelities(
        lambda s: branin_value(x1, x2, s), true, epochs, initial_epoch, max_epochs, report
    )
    s = min(epochs / max_epochs, 1.0)
    return _fidelity_result(branin_value(x1, x2, s), true, epochs, initial_epoch)


def hartmann6_fidelity(
    x1: float,
    x2: float,
    x3: float,
    x4: float,
    x5: float,
    x6: float,
    epochs: int,
    initial_epoch: int = 0,
    max_epochs: int = MAX_EPOCHS,
    report: Callable[[int, float], None] | None = None,
) -> Result:
    """Hartmann 6 at fidelity ``epochs / max_epochs``: loss ``f_s`` (never below the truth),
    test loss the true value; each epoch's fidelity reported to ``report``."""
    x = (x1, x2, x3, x4, x5, x6)
    true = hartmann6_value(*x)
    _report_fidelities(
        lambda s: hartmann6_value(*x, s=s), true, epochs, initial_epoch, max_epochs, report
    )
    s = min(epochs / max_epochs, 1.0)
    return _fidelity_result(hartmann6_value(*x, s=s), true, epochs, initial_epoch)


def branin_objective(max_epochs: int = MAX_EPOCHS) -> Any:
    """A ``FunctionObjective`` of the multi-fidelity Branin, full fidelity at ``max_epochs``."""
    from .objective import FunctionObjective

    return FunctionObjective(
        functools.partial(branin_fidelity, max_epochs=max_epochs), max_epochs=max_epochs
    )


def hartmann6_objective(max_epochs: int = MAX_EPOCHS) -> Any:
    """A ``FunctionObjective`` of the multi-fidelity Hartmann 6, full fidelity at
    ``max_epochs``."""
    from .objective import FunctionObjective

    return FunctionObjective(
        functools.partial(hartmann6_fidelity, max_epochs=max_epochs), max_epochs=max_epochs
    )


_FIDELITY_NOTE = (
    "; a trial of e epochs is evaluated at fidelity e / max_epochs, never below the true value "
    "there (the validation column), and its test value is the true, full-fidelity value"
)

#: 20 full-fidelity evaluations' worth of epochs a run (twice the start-up of 10 random
#: trials): enough to compare strategies past their start-up, cheap enough for many seeds
#: (gp, the slowest to propose, takes about 5 s a run).
SYNTHETIC_BUDGET = 20 * MAX_EPOCHS

branin = Problem(
    "branin",
    Space(x1=Float(-5.0, 10.0), x2=Float(0.0, 15.0)),
    branin_objective,
    references=(Reference("global minimum", validation=BRANIN_MIN, test=BRANIN_MIN),),
    loss_name="Branin value",
    loss_description="the Branin function (lower is better; global minimum 0.397887)"
    + _FIDELITY_NOTE,
    budget_epochs=SYNTHETIC_BUDGET,
)

hartmann6 = Problem(
    "hartmann6",
    Space(**{f"x{i}": Float(0.0, 1.0) for i in range(1, 7)}),
    hartmann6_objective,
    references=(Reference("global minimum", validation=HARTMANN6_MIN, test=HARTMANN6_MIN),),
    loss_name="Hartmann 6 value",
    loss_description="the Hartmann 6 function (lower is better; global minimum -3.32237)"
    + _FIDELITY_NOTE,
    budget_epochs=SYNTHETIC_BUDGET,
)
