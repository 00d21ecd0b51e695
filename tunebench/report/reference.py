"""The external reference the report measures strategies against: the book's own search.

>>> TARGET_MSE
0.32
"""

from __future__ import annotations

__all__ = ["REFERENCE", "TARGET_MSE"]

#: The book's ``RandomizedSearchCV`` (n_iter=10, cv=3) on the same task: an external
#: reference, not run here.
REFERENCE = {
    "name": "book RandomizedSearchCV (n_iter=10, cv=3)",
    "cv_mse": 0.320,
    "test_mse": 0.303,
}
#: The validation MSE a strategy must reach for time-to-target: the book's CV MSE.
TARGET_MSE = REFERENCE["cv_mse"]
