"""Benchmark problems defined outside tunebench, exactly as a user defines theirs.

``problem`` is a cheap fidelity objective (a plain function of the parameters and the epochs
trained: no training, so a whole benchmark takes seconds); ``failing`` and ``misnamed`` are
broken on purpose: the first one's factory raises, the second one's space names an argument
its function does not take.
"""

from __future__ import annotations

from tunebench import Float, FunctionObjective, Int, Space
from tunebench.problems import Problem, Reference

#: Every call of ``bowl`` appends a line here when the environment variable names a file, so
#: that a test can tell whether any trial ran.
CALLS_ENV = "TUNEBENCH_TEST_CALLS"


def bowl(x: float, width: int, epochs: int) -> float:
    """A quadratic bowl, lowest at x = 0.3, width 1; more epochs lower it a little."""
    import os

    log = os.environ.get(CALLS_ENV)
    if log:
        with open(log, "a") as handle:
            handle.write(f"{x} {width} {epochs}\n")
    return (x - 0.3) ** 2 + 0.01 * width + 1.0 / epochs


def make_objective(max_epochs: int = 8) -> FunctionObjective:
    """A fresh objective for each run; ``--max-epochs`` reaches it, ``--subsample`` does not."""
    return FunctionObjective(bowl, max_epochs=max_epochs)


problem = Problem(
    "bowl",
    Space(x=Float(0.0, 1.0), width=Int(1, 4)),
    make_objective,
    references=(Reference("the bowl's floor", validation=0.135, test=0.135),),
    loss_name="bowl loss",
    loss_description="the bowl's height at the chosen point (lower is better)",
)


def make_failing_objective() -> FunctionObjective:
    raise FileNotFoundError("no data at /nowhere/bowl.csv")


failing = Problem("broken_bowl", Space(x=Float(0.0, 1.0)), make_failing_objective)

misnamed = Problem(
    "misnamed_bowl", Space(x=Float(0.0, 1.0), width=Int(1, 4), depth=Int(1, 3)), make_objective
)
