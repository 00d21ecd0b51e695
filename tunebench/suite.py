"""tunebench's built-in benchmark problems, defined exactly as a user defines theirs
(``tunebench.problems.Problem``) and declared in the entry-point group ``tunebench.problems``.

``california_housing``: the book's MLP on California housing — the book's splits and space,
SGD, MSE, batch 32, at most 100 epochs a trial, early stopping with patience 10 — with the
book's ``RandomizedSearchCV`` as the external reference.

Four more Keras problems of other characters, on data scikit-learn ships (nothing is
downloaded), each split 60 / 20 / 20 with ``random_state=0`` (stratified for the
classifications) and a ``StandardScaler`` fitted on train (``tunebench.tasks.split_task``),
trained by ``tunebench.models.build_network`` under the book's protocol (at most 100 epochs,
early stopping on the validation loss with patience 10; the test split only reported):

- ``diabetes``: 442 patients, 10 features — a small, noisy regression (MSE of the
  standardised target);
- ``digits``: 1,797 8x8 images of 10 digits — classification (sparse categorical
  cross-entropy), test accuracy reported;
- ``breast_cancer``: 569 tumours, 30 features — binary classification (binary
  cross-entropy), test accuracy reported;
- ``friedman1``: ``make_friedman1`` — a smooth nonlinear regression with 5 informative
  features of 10 and unit noise (MSE; the noise floor is 1).

The synthetic problems with a fidelity (``branin``, ``hartmann6``) are in
``tunebench.synthetic``.

>>> california_housing.name, sorted(california_housing.space)
('california_housing', ['learning_rate', 'n_hidden', 'n_neurons'])
>>> sorted(digits.space), digits.metrics
(['dropout', 'learning_rate', 'n_hidden', 'n_neurons', 'optimizer'], ('accuracy',))
"""

from __future__ import annotations

import functools
from typing import Any

from .models import book_space, build_mlp, build_network
from .problems import Problem, Reference
from .report.reference import REFERENCE
from .space import Choice, Float, Int, Space

__all__ = [
    "breast_cancer",
    "breast_cancer_objective",
    "california_housing",
    "california_housing_objective",
    "diabetes",
    "diabetes_objective",
    "digits",
    "digits_objective",
    "friedman1",
    "friedman1_objective",
]

#: The rows ``friedman1`` draws (seed 0): 3,000 train, 1,000 validation, 1,000 test, so that
#: an epoch at batch 32 costs about 6 ms (a quarter of California housing's; measured beside it).
FRIEDMAN1_ROWS = 5_000
#: The seed of every split (and of ``make_friedman1``).
SPLIT_SEED = 0
#: The epoch budget of one run of each problem in the suite protocol (``Problem.budget_epochs``):
#: about 15 trials' worth at the epochs random trials trained before early stopping (means of
#: 10: diabetes 73, digits 60, breast_cancer 84, friedman1 68), so that every strategy runs
#: past its start-up of 10 random trials. Not more: on these small problems a trial's cost is
#: mostly its start (0.4-0.9 s to build and trace a new architecture on 2 cores), and
#: Hyperband's hundreds of short trials a run make it the full protocol's largest cost.
BUDGETS = {"diabetes": 1100, "digits": 900, "breast_cancer": 1200, "friedman1": 1000}


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
    budget_epochs=1000,  # about 20 trials of the book's (50 epochs before early stopping)
)


def _objective(
    task: Any,
    output: str,
    n_outputs: int,
    subsample: int | None,
    max_epochs: int,
    patience: int,
) -> Any:
    """A ``KerasObjective`` of ``build_network`` with this output head on ``task`` (test
    accuracy for a classification)."""
    from .objective import KerasObjective
    from .tasks import accuracy

    if subsample is not None:
        task = task.subsample(subsample)
    builder = functools.partial(build_network, output=output, n_outputs=n_outputs)
    metrics = None if output == "linear" else {"accuracy": accuracy}
    return KerasObjective(
        builder, task, max_epochs=max_epochs, patience=patience, test_metrics=metrics
    )


def diabetes_objective(
    subsample: int | None = None, max_epochs: int = 100, patience: int = 10
) -> Any:
    """``build_network`` regressing the diabetes progression of 442 patients (264 train /
    89 validation / 89 test rows), its target standardised on train: MSE 1 is the mean's."""
    from sklearn.datasets import load_diabetes

    from .tasks import split_task

    data = load_diabetes()
    task = split_task(
        "diabetes",
        data.data,
        data.target,
        seed=SPLIT_SEED,
        scale_target=True,
        info={"source": "scikit-learn load_diabetes (Efron et al., 2004)"},
    )
    return _objective(task, "linear", 1, subsample, max_epochs, patience)


def digits_objective(
    subsample: int | None = None, max_epochs: int = 100, patience: int = 10
) -> Any:
    """``build_network`` classifying 1,797 8x8 digit images (1,077 train / 360 / 360),
    softmax over 10 classes, test accuracy reported."""
    from sklearn.datasets import load_digits

    from .tasks import split_task

    data = load_digits()
    task = split_task(
        "digits",
        data.data,
        data.target,
        loss="sparse_categorical_crossentropy",
        seed=SPLIT_SEED,
        stratify=True,
        info={"source": "scikit-learn load_digits (UCI optical digits, test set)"},
    )
    return _objective(task, "softmax", 10, subsample, max_epochs, patience)


def breast_cancer_objective(
    subsample: int | None = None, max_epochs: int = 100, patience: int = 10
) -> Any:
    """``build_network`` classifying 569 tumours as malignant or benign (341 train / 114 /
    114), one sigmoid unit, test accuracy reported."""
    from sklearn.datasets import load_breast_cancer

    from .tasks import split_task

    data = load_breast_cancer()
    task = split_task(
        "breast_cancer",
        data.data,
        data.target,
        loss="binary_crossentropy",
        seed=SPLIT_SEED,
        stratify=True,
        info={"source": "scikit-learn load_breast_cancer (Wisconsin diagnostic)"},
    )
    return _objective(task, "sigmoid", 1, subsample, max_epochs, patience)


def friedman1_objective(
    subsample: int | None = None, max_epochs: int = 100, patience: int = 10
) -> Any:
    """``build_network`` regressing ``make_friedman1(5000, noise=1.0, random_state=0)``
    (3,000 train / 1,000 / 1,000 rows: an epoch at batch 32 costs a few milliseconds), in
    the target's own units, so that the noise floor of the MSE is 1."""
    from sklearn.datasets import make_friedman1

    from .tasks import split_task

    X, y = make_friedman1(FRIEDMAN1_ROWS, n_features=10, noise=1.0, random_state=SPLIT_SEED)
    task = split_task(
        "friedman1",
        X,
        y,
        seed=SPLIT_SEED,
        info={
            "source": f"scikit-learn make_friedman1({FRIEDMAN1_ROWS}, n_features=10, "
            f"noise=1.0, random_state={SPLIT_SEED}) (Friedman, 1991)"
        },
    )
    return _objective(task, "linear", 1, subsample, max_epochs, patience)


_ACCURACY_NOTE = (
    "; the test accuracy of each incumbent (the share of right classes, higher is better) is "
    "reported too, never used to select"
)

diabetes = Problem(
    "diabetes",
    Space(
        n_hidden=Int(0, 3),
        n_neurons=Int(1, 99),
        learning_rate=Float(3e-4, 3e-2, log=True),
        dropout=Float(0.0, 0.5),
        batch_size=Choice([16, 32, 64]),
    ),
    diabetes_objective,
    loss_name="MSE",
    loss_description=(
        "mean squared errors (MSE, lower is better) of the disease progression a year on, "
        "standardised by the training split (1 is the error of predicting the mean)"
    ),
    budget_epochs=BUDGETS["diabetes"],
)

digits = Problem(
    "digits",
    Space(
        n_hidden=Int(0, 3),
        n_neurons=Int(8, 256, log=True),
        learning_rate=Float(1e-4, 1e-1, log=True),
        optimizer=Choice(["sgd", "adam"]),
        dropout=Float(0.0, 0.5),
    ),
    digits_objective,
    loss_name="cross-entropy",
    loss_description="sparse categorical cross-entropy (lower is better) of the 10 digits"
    + _ACCURACY_NOTE,
    metrics=("accuracy",),
    budget_epochs=BUDGETS["digits"],
)

breast_cancer = Problem(
    "breast_cancer",
    Space(
        n_hidden=Int(0, 3),
        n_neurons=Int(4, 128, log=True),
        learning_rate=Float(1e-4, 1e-1, log=True),
        optimizer=Choice(["sgd", "adam"]),
        batch_size=Choice([16, 32, 64]),
    ),
    breast_cancer_objective,
    loss_name="cross-entropy",
    loss_description="binary cross-entropy (lower is better) of malignant versus benign"
    + _ACCURACY_NOTE,
    metrics=("accuracy",),
    budget_epochs=BUDGETS["breast_cancer"],
)

friedman1 = Problem(
    "friedman1",
    Space(
        n_hidden=Int(0, 3),
        n_neurons=Int(1, 99),
        learning_rate=Float(3e-4, 3e-2, log=True),
        batch_size=Choice([16, 32, 64, 128]),
    ),
    friedman1_objective,
    loss_name="MSE",
    loss_description=(
        "mean squared errors (MSE, lower is better) in the target's own units; the noise "
        "added to the target has variance 1, so no model is expected below about 1"
    ),
    budget_epochs=BUDGETS["friedman1"],
)
