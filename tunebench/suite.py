"""tunebench's built-in benchmark problems, defined exactly as a user defines theirs
(``tunebench.problems.Problem``) and declared in the entry-point group ``tunebench.problems``.

``california_housing``: the book's MLP on California housing — the book's splits and space,
SGD, MSE, batch 32, at most 100 epochs a trial, early stopping with patience 10 — with the
book's ``RandomizedSearchCV`` as the external reference.

>>> california_housing.name, sorted(california_housing.space)
('california_housing', ['learning_rate', 'n_hidden', 'n_neurons'])
"""

from __future__ import annotations

from typing import Any

from .models import book_space, build_mlp
from .problems import Problem, Reference
from .report.reference import REFERENCE

__all__ = ["california_housing", "california_housing_objective"]


def california_housing_objective(
    subsample: int | None = None, max_epochs: int = 100, patience: int = 10
) -> Any:
    """A fresh ``KerasObjective`` of the book's MLP on California housing; ``subsample``
    trains on that many rows (validation and test a third of it) for a quick benchmark."""
    from .objective import KerasObjective
    from .tasks import california_housing as load_task

    task = load_task()
    if subsample is not None:
        task = task.subsample(subsample)
    return KerasObjective(build_mlp, task, max_epochs=max_epochs, patience=patience)


california_housing = Problem(
    "california_housing",
    book_space(),
    california_housing_objective,
    references=(
        Reference(REFERENCE["name"], validation=REFERENCE["cv_mse"], test=REFERENCE["test_mse"]),
    ),
    loss_name="MSE",
    loss_description=(
        "mean squared errors (MSE, lower is better) of the median house value in units of "
        "100,000 US dollars"
    ),
)
