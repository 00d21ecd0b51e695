"""The learning-rate range test of the book: train with a rate that grows by a constant factor
each step, watch the loss, and take a rate about ten times below where the loss turns up.

``lr_find(build_model_or_model, task_or_X_y)`` starts at ``min_lr`` and multiplies the rate by
``exp(log(max_lr / min_lr) / steps)`` after every batch (the book: ``exp(log(10**6) / 500)``).
It stops early once the smoothed loss is NaN or more than four times its best, puts the model's
weights and optimizer state back as they were, and returns an ``LRFindResult``.

>>> from tunebench.models import build_mlp
>>> from tunebench.tasks import synthetic_regression
>>> found = lr_find(build_mlp, synthetic_regression(), steps=100, max_lr=100.0)
>>> found.suggested < found.climb_rate < 100.0, found.rates[0]
(True, 1e-05)
>>> found.narrow({"n_hidden": [1, 2], "learning_rate": [0.1]})["learning_rate"].log
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .keras_state import load_state, save_state, seeded_keras
from .signature import accepts
from .space import Float, Space
from .tasks import Task

__all__ = ["LRFindResult", "lr_find"]


@dataclass(frozen=True)
class LRFindResult:
    """What a learning-rate range test saw.

    ``rates[i]`` is the rate of step ``i``, ``losses[i]`` the smoothed training loss after it
    (``raw_losses[i]`` the batch's own loss). ``climb_rate`` is the rate at the lowest smoothed
    loss, where the loss starts to climb; ``suggested`` is ten times lower, as the book
    advises. ``exploded`` tells whether the test stopped early on a diverging loss (if not,
    raise ``max_lr``: the loss may not have climbed yet).
    """

    rates: tuple[float, ...]
    losses: tuple[float, ...]
    raw_losses: tuple[float, ...]
    climb_rate: float
    suggested: float
    exploded: bool

    def plot(self, path: str | Path | None = None) -> Any:
        """The smoothed loss against the rate (log scale), with the climb and the suggestion
        marked; written to ``path`` when given. Returns the matplotlib ``Figure``."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6.4, 4.0), layout="constrained")
        FigureCanvasAgg(fig)  # no pyplot, no global backend switch
        ax = fig.subplots()
        ax.plot(self.rates, self.losses, color="tab:blue", label="smoothed training loss")
        ax.axvline(self.climb_rate, color="tab:red", linestyle="--",
                   label=f"loss climbs: {self.climb_rate:.2g}")  # fmt: skip
        ax.axvline(self.suggested, color="tab:green",
                   label=f"suggested: {self.suggested:.2g}")  # fmt: skip
        ax.set_xscale("log")
        low, start = min(self.losses), self.losses[0]
        if start > low:  # as in the book: from the lowest loss to a bit above the first
            ax.set_ylim(low - 0.05 * (start - low), start + 0.25 * (start - low))
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.set_title("learning-rate range test")
        ax.legend()
        if path is not None:
            fig.savefig(path, dpi=100)
        return fig

    def narrow(
        self,
        space: Space | Mapping[str, Any],
        name: str = "learning_rate",
        factor: float = 10.0,
    ) -> Space:
        """A copy of ``space`` whose ``name`` is a log-uniform ``Float`` from
        ``suggested / factor`` to ``suggested * factor`` (by default up to the climb), clipped
        to the rates the test tried. ``space`` may be a ``Space`` or a ``param_distribs`` dict.
        """
        space = Space.from_dict(space)
        if name not in space:
            raise ValueError(
                f"narrow: the space has no parameter {name!r}; its parameters are "
                f"{list(space)}; pass name= the learning rate's name"
            )
        if not (isinstance(factor, (int, float)) and factor > 1):
            raise ValueError(f"narrow: factor must be a number > 1, got {factor!r}")
        low = max(self.suggested / factor, self.rates[0])
        high = min(self.suggested * factor, self.rates[-1])
        if not low < high:
            raise ValueError(
                f"narrow: the range around the suggestion {self.suggested:g} collapses inside "
                f"the tested rates [{self.rates[0]:g}, {self.rates[-1]:g}]; rerun lr_find with "
                "a wider min_lr / max_lr"
            )
        narrowed = Float(low, high, log=True)
        return Space({key: narrowed if key == name else p for key, p in space.items()})


def _data(task_or_X_y: Task | tuple[Any, Any]) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(task_or_X_y, Task):
        return task_or_X_y.X_train, task_or_X_y.y_train
    if isinstance(task_or_X_y, (tuple, list)) and len(task_or_X_y) == 2:
        X, y = (np.asarray(a) for a in task_or_X_y)
        if len(X) != len(y):
            raise ValueError(f"lr_find: X has {len(X)} rows but y has {len(y)}")
        return X, y
    raise TypeError(
        f"lr_find needs a tunebench Task or an (X, y) pair of training data, "
        f"got {type(task_or_X_y).__name__}"
    )


def _model(build_model_or_model: Any, input_shape: tuple[int, ...], seed: int | None) -> Any:
    import keras

    if isinstance(build_model_or_model, keras.Model):
        model = build_model_or_model
    elif callable(build_model_or_model):
        kwargs = (
            {"input_shape": input_shape} if accepts(build_model_or_model, "input_shape") else {}
        )
        with seeded_keras(seed):
            model = build_model_or_model(**kwargs)
    else:
        raise TypeError(
            f"lr_find needs a compiled Keras model or a function that builds one, "
            f"got {build_model_or_model!r}"
        )
    if getattr(model, "optimizer", None) is None or getattr(model, "loss", None) is None:
        raise TypeError(
            "lr_find needs a compiled model; call model.compile(loss=..., optimizer=...) first"
        )
    return model


def _check(min_lr: float, max_lr: float, steps: int, batch_size: int, n_rows: int) -> None:
    if not (0 < min_lr < max_lr and math.isfinite(max_lr)):
        raise ValueError(
            f"lr_find needs 0 < min_lr < max_lr, got min_lr={min_lr!r}, max_lr={max_lr!r}"
        )
    for what, value in (("steps", steps), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"lr_find: {what} must be a positive integer, got {value!r}")
    if batch_size > n_rows:
        raise ValueError(
            f"lr_find: batch_size={batch_size} is larger than the {n_rows} training rows; "
            "pass a smaller batch_size"
        )


def lr_find(
    build_model_or_model: Callable[..., Any] | Any,
    task_or_X_y: Task | tuple[Any, Any],
    *,
    min_lr: float = 1e-5,
    max_lr: float = 10.0,
    steps: int = 500,
    batch_size: int = 32,
    seed: int | None = 0,
    smoothing: float = 0.98,
    explode: float = 4.0,
) -> LRFindResult:
    """Run the learning-rate range test and return what it found.

    Args:
        build_model_or_model: a compiled Keras model (its weights and optimizer state are put
            back afterwards) or a builder such as the book's ``build_model`` (called with its
            defaults, and ``input_shape`` when it takes one; weights seeded with ``seed``).
        task_or_X_y: a ``Task`` (its training split is used) or an ``(X, y)`` pair.
        min_lr, max_lr: the first rate and the rate the last step would reach.
        steps: training steps (batches) at most; the rate grows by
            ``exp(log(max_lr / min_lr) / steps)`` each step.
        batch_size: rows a step; batches are drawn from a permutation per pass over the data.
        seed: seeds the shuffling (and the builder's weights).
        smoothing: the exponential-moving-average factor of the loss (bias-corrected).
        explode: stop once the smoothed loss exceeds this many times its lowest value.
    """
    X, y = _data(task_or_X_y)
    _check(min_lr, max_lr, steps, batch_size, len(X))
    model = _model(build_model_or_model, tuple(int(d) for d in X.shape[1:]), seed)
    optimizer = model.optimizer
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    saved = save_state(model)
    growth = math.exp(math.log(max_lr / min_lr) / steps)
    rng = np.random.default_rng(seed)
    per_pass = len(X) // batch_size  # whole batches only: one traced step
    rates: list[float] = []
    raw: list[float] = []
    smoothed: list[float] = []
    average, best, exploded = 0.0, math.inf, False
    try:
        for step in range(steps):
            if step % per_pass == 0:
                order = rng.permutation(len(X))
            rows = order[(step % per_pass) * batch_size : (step % per_pass + 1) * batch_size]
            rate = min_lr * growth**step
            optimizer.learning_rate = rate
            loss = float(model.train_on_batch(X[rows], y[rows]))
            if not math.isfinite(loss):
                exploded = True
                break
            average = smoothing * average + (1 - smoothing) * loss
            value = average / (1 - smoothing ** (step + 1))
            rates.append(rate)
            raw.append(loss)
            smoothed.append(value)
            best = min(best, value)
            if value > explode * best:
                exploded = True
                break
    finally:
        load_state(model, saved)
    if not smoothed:
        raise ValueError(
            f"lr_find: the loss was NaN from the first step at min_lr={min_lr:g}; "
            "check the data and the model, or lower min_lr"
        )
    climb = rates[int(np.argmin(smoothed))]
    return LRFindResult(
        rates=tuple(rates),
        losses=tuple(smoothed),
        raw_losses=tuple(raw),
        climb_rate=climb,
        suggested=climb / 10,
        exploded=exploded,
    )
