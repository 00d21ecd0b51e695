"""Linear learning-rate warm-up, usable as a hyperparameter (``warmup_epochs``).

Over the first ``warmup_epochs`` epochs the rate climbs in equal steps from
``lr / (warmup_epochs + 1)`` to the builder's ``lr``, then stays there — the book's advice
for large batches. The rate is set on the optimizer's learning-rate *variable* before each
epoch, so compiled training functions read the new value without being traced again.

>>> [round(warmup_rate(0.3, epoch, warmup_epochs=2), 3) for epoch in range(4)]
[0.1, 0.2, 0.3, 0.3]
"""

from __future__ import annotations

import functools
import math
from typing import Any

from .private_api import keras_learning_rate
from .space import plain

__all__ = ["WarmUp", "check_warmup_epochs", "warmup_callback", "warmup_rate"]


def check_warmup_epochs(value: Any) -> int:
    """``value`` as a plain ``int`` >= 0, or a ``ValueError`` that names it.

    >>> check_warmup_epochs(-1)
    Traceback (most recent call last):
    ...
    ValueError: warmup_epochs must be an integer >= 0 (0: no warm-up), got -1
    """
    value = plain(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"warmup_epochs must be an integer >= 0 (0: no warm-up), got {value!r}")
    return value


def warmup_rate(lr: float, epoch: int, warmup_epochs: int) -> float:
    """The learning rate of ``epoch`` (counted from 0) under a linear warm-up to ``lr``."""
    if epoch >= warmup_epochs:
        return float(lr)
    return float(lr) * (epoch + 1) / (warmup_epochs + 1)


def _rate_of(optimizer: Any) -> float:
    from keras.optimizers.schedules import LearningRateSchedule

    schedule = keras_learning_rate(optimizer)
    if isinstance(schedule, LearningRateSchedule):
        raise ValueError(
            "warmup_epochs needs a constant learning rate, but the model's optimizer uses a "
            f"{type(schedule).__name__} schedule; build the optimizer with a "
            "number as learning_rate, or leave warmup_epochs out"
        )
    rate = float(optimizer.learning_rate)
    if not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"warmup_epochs needs a positive learning rate, got {rate!r}")
    return rate


class WarmUp:
    """Drives one optimizer through a warm-up: ``begin_epoch(epoch)`` before each epoch,
    ``finish()`` at the end (the builder's rate is put back, so that saved optimizer state
    holds it). With ``warmup_epochs=0`` both do nothing."""

    def __init__(self, optimizer: Any, warmup_epochs: int) -> None:
        self.warmup_epochs = check_warmup_epochs(warmup_epochs)
        self.optimizer = optimizer
        self.base = _rate_of(optimizer) if self.warmup_epochs else None

    def begin_epoch(self, epoch: int) -> None:
        if self.base is not None:
            self.optimizer.learning_rate = warmup_rate(self.base, epoch, self.warmup_epochs)

    def finish(self) -> None:
        if self.base is not None:
            self.optimizer.learning_rate = self.base


@functools.cache
def _callback_class() -> type:
    import keras

    class LinearWarmUp(keras.callbacks.Callback):
        """Keras callback: a linear warm-up of the model's learning rate (``model.fit``)."""

        def __init__(self, warmup_epochs: int) -> None:
            super().__init__()
            self.warmup_epochs = check_warmup_epochs(warmup_epochs)
            self._warm_up: WarmUp | None = None

        def on_train_begin(self, logs: dict | None = None) -> None:
            self._warm_up = WarmUp(self.model.optimizer, self.warmup_epochs)

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            if self._warm_up is not None:
                self._warm_up.begin_epoch(epoch)

        def on_train_end(self, logs: dict | None = None) -> None:
            if self._warm_up is not None:
                self._warm_up.finish()
                self._warm_up = None

        def __reduce__(self) -> tuple:  # copied and pickled through the module-level factory
            return warmup_callback, (self.warmup_epochs,)

        def __repr__(self) -> str:
            return f"LinearWarmUp(warmup_epochs={self.warmup_epochs})"

    return LinearWarmUp


def warmup_callback(warmup_epochs: int) -> Any:
    """A ``keras.callbacks.Callback`` that warms the rate up over ``warmup_epochs`` epochs
    of ``model.fit`` (epochs counted from 0, so a fit resumed at ``initial_epoch`` continues
    the same ramp)."""
    return _callback_class()(warmup_epochs)
