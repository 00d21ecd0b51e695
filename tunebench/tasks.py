"""Tasks: the data splits a model is trained, selected and tested on, and the loss.

``california_housing()`` is the book's task, loaded from the copy shipped inside the package
(no network): scikit-learn's 8 features derived exactly, the book's splits (11,610 train /
3,870 validation / 5,160 test) and a ``StandardScaler`` fitted on the training split only.

>>> task = synthetic_regression(n_samples=200, seed=0)
>>> task.input_shape, len(task.X_train) + len(task.X_valid) + len(task.X_test)
((4,), 200)
>>> len(task.subsample(50, seed=0).X_train)
50
"""

from __future__ import annotations

import functools
import gzip
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

import numpy as np

__all__ = ["Task", "accuracy", "california_housing", "mse", "split_task", "synthetic_regression"]

FEATURE_NAMES = (
    "MedInc",
    "HouseAge",
    "AveRooms",
    "AveBedrms",
    "Population",
    "AveOccup",
    "Latitude",
    "Longitude",
)


def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean squared error, as a plain float."""
    y_true = np.asarray(y_true, dtype=np.float64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    return float(np.mean((y_true - y_pred) ** 2))


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The share of right classes, as a plain float: ``y_pred`` holds class probabilities
    (one column a class: the likeliest counts) or, with one column, the probability of
    class 1 (0.5 or more counts as 1).

    >>> accuracy([0, 1, 2], [[0.8, 0.1, 0.1], [0.1, 0.2, 0.7], [0.0, 0.1, 0.9]])
    0.6666666666666666
    >>> accuracy([0, 1, 1], [[0.2], [0.9], [0.4]])
    0.6666666666666666
    """
    y_true = np.asarray(y_true).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    y_pred = y_pred.reshape(len(y_pred), -1)
    if len(y_pred) != len(y_true):
        raise ValueError(f"accuracy: {len(y_true)} labels but {len(y_pred)} predictions")
    predicted = y_pred.argmax(axis=1) if y_pred.shape[1] > 1 else (y_pred[:, 0] >= 0.5)
    return float(np.mean(predicted.astype(np.int64) == y_true.astype(np.int64)))


@dataclass(frozen=True, eq=False)
class Task:
    """A supervised task: train / validation / test splits and the loss (``"mse"``).

    Selection uses the validation split only; the test split is reported, never used to
    choose. ``subsample`` returns a smaller task with the same scaling, for fast tests.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_valid: np.ndarray
    y_valid: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    loss: str = "mse"
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for split in ("train", "valid", "test"):
            X, y = getattr(self, f"X_{split}"), getattr(self, f"y_{split}")
            if len(X) != len(y):
                raise ValueError(
                    f"task {self.name!r}: X_{split} has {len(X)} rows but y_{split} has {len(y)}"
                )
            if len(X) == 0:
                raise ValueError(f"task {self.name!r}: the {split} split is empty")

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.X_train.shape[1:])

    @property
    def sizes(self) -> dict[str, int]:
        return {"train": len(self.X_train), "valid": len(self.X_valid), "test": len(self.X_test)}

    def subsample(
        self,
        n_train: int,
        n_valid: int | None = None,
        n_test: int | None = None,
        *,
        seed: int = 0,
    ) -> Task:
        """A smaller task drawn without replacement from each split (sizes default to
        ``n_train // 3``); the scaling is the full task's."""
        rng = np.random.default_rng(seed)
        wanted = {
            "train": n_train,
            "valid": n_train // 3 if n_valid is None else n_valid,
            "test": n_train // 3 if n_test is None else n_test,
        }
        arrays = {}
        for split, n in wanted.items():
            X, y = getattr(self, f"X_{split}"), getattr(self, f"y_{split}")
            if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(X):
                raise ValueError(
                    f"subsample: {split} size must be an integer from 1 to {len(X)}, got {n!r}"
                )
            rows = np.sort(rng.choice(len(X), size=n, replace=False))
            arrays[f"X_{split}"], arrays[f"y_{split}"] = X[rows], y[rows]
        info = {**self.info, "subsample": {**wanted, "seed": seed}}
        return replace(self, name=f"{self.name}[{n_train}]", info=info, **arrays)

    def describe(self) -> dict[str, Any]:
        """The task as the report's protocol card shows it."""
        return {"name": self.name, "loss": self.loss, "sizes": self.sizes, **self.info}


@functools.lru_cache(maxsize=1)
def _california_raw() -> tuple[np.ndarray, np.ndarray]:
    source = resources.files("tunebench") / "data" / "california_housing.csv.gz"
    with source.open("rb") as raw, gzip.open(raw, "rt") as text:
        header = text.readline().strip().split(",")
        table = np.loadtxt(text, delimiter=",", dtype=np.float64)
    col = {name: table[:, i] for i, name in enumerate(header)}
    households = col["households"]
    X = np.column_stack(
        [
            col["median_income"],
            col["housing_median_age"],
            col["total_rooms"] / households,
            col["total_bedrooms"] / households,
            col["population"],
            col["population"] / households,
            col["latitude"],
            col["longitude"],
        ]
    )
    y = col["median_house_value"] / 100_000
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def california_housing(*, scale: bool = True) -> Task:
    """The book's task: California housing with scikit-learn's features and the book's splits.

    ``train_test_split(random_state=42)`` into full-train / test, again into train / valid,
    then a ``StandardScaler`` fitted on train (set ``scale=False`` for raw features).
    """
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = _california_raw()
    X_full, X_test, y_full, y_test = train_test_split(X, y, random_state=42)
    X_train, X_valid, y_train, y_valid = train_test_split(X_full, y_full, random_state=42)
    if scale:
        scaler = StandardScaler().fit(X_train)
        X_train, X_valid, X_test = (scaler.transform(a) for a in (X_train, X_valid, X_test))
    return Task(
        name="california_housing",
        X_train=np.asarray(X_train, dtype=np.float32),
        y_train=np.asarray(y_train, dtype=np.float32),
        X_valid=np.asarray(X_valid, dtype=np.float32),
        y_valid=np.asarray(y_valid, dtype=np.float32),
        X_test=np.asarray(X_test, dtype=np.float32),
        y_test=np.asarray(y_test, dtype=np.float32),
        info={
            "source": "StatLib California housing (Pace & Barry, 1997), shipped copy",
            "features": list(FEATURE_NAMES),
            "splits": "train_test_split(random_state=42) twice; StandardScaler fitted on train",
        },
    )


def synthetic_regression(
    n_samples: int = 600, n_features: int = 4, *, noise: float = 0.1, seed: int = 0
) -> Task:
    """A tiny smooth regression task for fast tests: ``y = sin(x·w) + x·v + noise``.

    Split 60 / 20 / 20, features already standardised.
    """
    if n_samples < 10:
        raise ValueError(f"synthetic_regression needs n_samples >= 10, got {n_samples}")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)).astype(np.float32)
    w, v = rng.standard_normal(n_features), rng.standard_normal(n_features) / 2
    y = (np.sin(X @ w) + X @ v + noise * rng.standard_normal(n_samples)).astype(np.float32)
    a, b = int(0.6 * n_samples), int(0.8 * n_samples)
    return Task(
        name=f"synthetic_regression({n_samples}x{n_features})",
        X_train=X[:a],
        y_train=y[:a],
        X_valid=X[a:b],
        y_valid=y[a:b],
        X_test=X[b:],
        y_test=y[b:],
        info={"seed": seed, "noise": noise},
    )


def split_task(
    name: str,
    X: Any,
    y: Any,
    *,
    loss: str = "mse",
    seed: int = 0,
    stratify: bool = False,
    fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
    scale_target: bool = False,
    info: dict[str, Any] | None = None,
) -> Task:
    """A task from one data set: seeded train / validation / test splits (``fractions``,
    stratified by class when ``stratify``) and a ``StandardScaler`` fitted on the training
    split only. ``scale_target`` also standardises ``y`` by the training split's mean and
    standard deviation (the loss is then in units of the target's variance). Features are
    float32; labels int32 for a classification (``stratify``), float32 otherwise.

    >>> import numpy as np
    >>> X, y = np.arange(200.0).reshape(100, 2), np.arange(100) % 2
    >>> task = split_task("toy", X, y, loss="binary_crossentropy", stratify=True)
    >>> task.sizes, abs(float(task.X_train.mean())) < 1e-6, int(task.y_valid.sum())
    ({'train': 60, 'valid': 20, 'test': 20}, True, 10)
    """
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    if len(fractions) != 3 or any(f <= 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(
            f"fractions must be three positive shares of train, validation and test adding "
            f"up to 1, got {fractions!r}"
        )
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    test_share = fractions[2]
    valid_share = fractions[1] / (fractions[0] + fractions[1])
    X_full, X_test, y_full, y_test = train_test_split(
        X, y, test_size=test_share, random_state=seed, stratify=y if stratify else None
    )
    X_train, X_valid, y_train, y_valid = train_test_split(
        X_full,
        y_full,
        test_size=valid_share,
        random_state=seed,
        stratify=y_full if stratify else None,
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_valid, X_test = (scaler.transform(a) for a in (X_train, X_valid, X_test))
    y_dtype = np.int32 if stratify else np.float32
    splits = {"train": y_train, "valid": y_valid, "test": y_test}
    if scale_target:
        mean, std = float(np.mean(y_train)), float(np.std(y_train))
        splits = {k: (v - mean) / std for k, v in splits.items()}
    shares = "/".join(f"{round(100 * f)}" for f in fractions)
    described = (
        f"train_test_split(random_state={seed}{', stratified' if stratify else ''}) twice "
        f"into {shares} %; StandardScaler fitted on train"
        + ("; target standardised by the training split's mean and std" if scale_target else "")
    )
    return Task(
        name=name,
        X_train=np.asarray(X_train, dtype=np.float32),
        y_train=np.asarray(splits["train"], dtype=y_dtype),
        X_valid=np.asarray(X_valid, dtype=np.float32),
        y_valid=np.asarray(splits["valid"], dtype=y_dtype),
        X_test=np.asarray(X_test, dtype=np.float32),
        y_test=np.asarray(splits["test"], dtype=y_dtype),
        loss=loss,
        info={**(info or {}), "splits": described},
    )
