"""What the report says of the problem its runs tuned: the loss's name and meaning, and the
external references it measures strategies against (for the book's problem: the book's own
search). A benchmark of another problem keeps its own in the store's ``benchmark`` note
(``tunebench.problems.Problem.report_notes``).

>>> TARGET_MSE
0.32
>>> problem_text({"benchmark": {"problem": "bowl", "problem_report": {"loss_name": "loss",
...     "loss_description": "height", "references": []}}}).target is None
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["BOOK", "REFERENCE", "TARGET_MSE", "ProblemText", "problem_text"]

#: The book's ``RandomizedSearchCV`` (n_iter=10, cv=3) on the same task: an external
#: reference, not run here.
REFERENCE = {
    "name": "book RandomizedSearchCV (n_iter=10, cv=3)",
    "cv_mse": 0.320,
    "test_mse": 0.303,
}
#: The validation MSE a strategy must reach for time-to-target: the book's CV MSE.
TARGET_MSE = REFERENCE["cv_mse"]


@dataclass(frozen=True)
class ProblemText:
    """The problem as the report names it. ``references``: ``{"name", "validation",
    "test"}`` each (values may be None); ``book``: the book's problem, whose reference the
    report describes in full (3-fold cross-validation, 10 candidates); ``metrics``: the test
    metrics (``Result.metrics``) the report shows each incumbent's."""

    loss_name: str = "MSE"
    loss_description: str = (
        "mean squared errors (MSE, lower is better) of the median house value in units of "
        "100,000 US dollars"
    )
    references: tuple[dict[str, Any], ...] = (
        {"name": REFERENCE["name"], "validation": TARGET_MSE, "test": REFERENCE["test_mse"]},
    )
    name: str = "california_housing"
    book: bool = True
    metrics: tuple[str, ...] = ()

    @property
    def target(self) -> float | None:
        """The validation loss of time-to-target: the first reference's, if any."""
        found = [r["validation"] for r in self.references if r.get("validation") is not None]
        return found[0] if found else None

    @property
    def target_reference(self) -> dict[str, Any] | None:
        return next((r for r in self.references if r.get("validation") is not None), None)


#: The book's problem (also any store written before problems had names).
BOOK = ProblemText()


def problem_text(notes: dict[str, Any]) -> ProblemText:
    """The problem of a store from its notes (``load_runs``): the book's unless the
    benchmark note names another problem."""
    bench = notes.get("benchmark") or {}
    if "problem" not in bench:
        return BOOK
    told = bench.get("problem_report") or {}
    return ProblemText(
        loss_name=told.get("loss_name", "loss"),
        loss_description=told.get("loss_description", "the objective's loss (lower is better)"),
        references=tuple(told.get("references", ())),
        name=bench["problem"],
        book=False,
        metrics=tuple(told.get("metrics", ())),
    )
