"""TensorBoard logs of a study (``tune(..., log_dir=...)``): written by the runner's process
from the trial records, so they are the same under every executor.

``log_dir/<study>/`` holds the HParams experiment (the space's parameters, the final
validation and test loss as metrics); each finished trial is a run of its own,
``log_dir/<study>/trial-0007/``: its parameters and status (a session of the HParams
dashboard), its final ``validation_loss`` and ``test_loss`` (and test metrics) as scalars at
the last epoch it trained, and its per-epoch curves (``epoch_curves``) as scalars by epoch.
``tensorboard --logdir log_dir`` shows them.

Written with TensorBoard's own protocol buffers, HParams summaries and record writer
(``tensorboard.plugins.hparams.summary_v2``, the functions ``hparams.api`` exports), without
TensorFlow: logging a plain function's study does not import it.
"""

from __future__ import annotations

import math
import os
import socket
import time
from pathlib import Path
from typing import Any

from .space import Choice, Float, Int, Space
from .trial import Trial

__all__ = ["TrialLog", "epoch_curves"]

#: How a trial's status shows in the HParams dashboard (``api_pb2.Status`` names).
STATUS = {
    "ok": "STATUS_SUCCESS",
    "failed": "STATUS_FAILURE",
    "diverged": "STATUS_FAILURE",
    "pruned": "STATUS_SUCCESS",
}


def epoch_curves(trial: Trial) -> dict[str, list[tuple[int, float]]]:
    """A trial's per-epoch curves as ``{tag: [(epoch, value), ...]}``, epochs counted from 1
    (a continuation's from its ``initial_epoch`` + 1).

    Each epoch's validation loss (``Trial.curve``) and, when the objective measured it,
    training loss (``Trial.train_curve``: ``KerasObjective``'s, not a function's reports).

    >>> epoch_curves(Trial(id=0, params={}, initial_epoch=3, curve=(0.5, 0.4)))
    {'epoch/validation_loss': [(4, 0.5), (5, 0.4)]}
    >>> epoch_curves(Trial(id=0, params={}, curve=(0.5,), train_curve=(0.7,)))
    {'epoch/validation_loss': [(1, 0.5)], 'epoch/training_loss': [(1, 0.7)]}
    """
    start = trial.initial_epoch + 1
    curves = {}
    for tag, values in (
        ("epoch/validation_loss", trial.curve),
        ("epoch/training_loss", trial.train_curve),
    ):
        points = [(start + i, v) for i, v in enumerate(values) if math.isfinite(v)]
        if points:
            curves[tag] = points
    return curves


def _run_name(trial_id: int) -> str:
    return f"trial-{trial_id:04d}"


def _safe(name: str) -> str:
    """A study name as one folder name."""
    return "".join(c if c.isalnum() or c in "-_.=+" else "_" for c in name) or "_"


class TrialLog:
    """Writes a study's trials as TensorBoard runs under ``log_dir/<study>/``."""

    def __init__(
        self,
        log_dir: str | Path,
        space: Space,
        study: str | None = None,
        metrics: tuple[str, ...] = (),
    ) -> None:
        if not isinstance(log_dir, (str, Path)):
            raise TypeError(f"log_dir must be a folder path, got {log_dir!r}")
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            raise ImportError(
                "log_dir= writes TensorBoard logs and needs the tensorboard package: "
                "pip install tensorboard"
            ) from None
        self.root = Path(log_dir).expanduser()
        if self.root.exists() and not self.root.is_dir():
            raise ValueError(f"log_dir {str(log_dir)!r} is a file; give a folder")
        self.space = space
        self.study = study
        self.metrics = tuple(metrics)  # the objective's test metrics, by name
        self._failed = False

    def for_study(self, study: str) -> TrialLog:
        """This log for the study named ``study``: its folder, with the experiment written."""
        log = TrialLog(self.root, self.space, study, self.metrics)
        log._write_experiment()
        return log

    @property
    def folder(self) -> Path:
        return self.root / _safe(self.study or "study")

    # ------------------------------------------------------------------ writing

    def catch_up(self, trials: list[Trial]) -> None:
        """Write the finished trials that have no run yet (from a session without a log, or
        one stopped before it wrote them)."""
        for trial in trials:
            if trial.is_finished and not (self.folder / _run_name(trial.id)).is_dir():
                self.write(trial)

    def write(self, trial: Trial) -> None:
        """Write one finished trial as its own run. A failure to write says so once and
        turns the log off: the search goes on."""
        if self._failed:
            return
        try:
            self._write_trial(trial)
        except OSError as exc:
            import warnings

            self._failed = True
            warnings.warn(
                f"tunebench: cannot write TensorBoard logs under {str(self.folder)!r} "
                f"({exc}); the search goes on without them",
                stacklevel=3,
            )

    def _write_experiment(self) -> None:
        from tensorboard.plugins.hparams import summary_v2 as hp

        if any(self.folder.glob("events.out.tfevents.*")):
            return  # written by an earlier session of this study
        hparams = [hp.HParam(name, _domain(hp, param)) for name, param in self.space.items()]
        metrics = [
            hp.Metric("validation_loss", display_name="validation loss"),
            hp.Metric("test_loss", display_name="test loss"),
            *(hp.Metric(name, display_name=f"test {name}") for name in self.metrics),
        ]
        _write_events(self.folder, [(0, time.time(), hp.hparams_config_pb(hparams, metrics))])

    def _write_trial(self, trial: Trial) -> None:
        from tensorboard.compat.proto import summary_pb2
        from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
        from tensorboard.plugins.hparams import summary_v2 as hp

        now = time.time()
        started = trial.started or now
        finished = trial.finished or now
        values = {name: _hparam_value(self.space[name], v) for name, v in trial.params.items()}
        group = f"{self.study}/{_run_name(trial.id)}"  # one session group a trial
        events = [(0, started, hp.hparams_pb(values, trial_id=group, start_time_secs=started))]
        for tag, points in epoch_curves(trial).items():
            events += [(step, finished, _scalar(summary_pb2, tag, value)) for step, value in points]
        last = trial.epochs if trial.epochs is not None else trial.initial_epoch + trial.epochs_run
        final = {"validation_loss": trial.loss, "test_loss": trial.test_loss, **trial.metrics}
        for tag, value in final.items():
            if value is not None and math.isfinite(value):
                events.append((last, finished, _scalar(summary_pb2, tag, value)))
        end = plugin_data_pb2.SessionEndInfo(
            status=api_pb2.Status.Value(STATUS[trial.status]), end_time_secs=finished
        )
        summary = summary_pb2.Summary()
        summary.value.add(
            tag=metadata.SESSION_END_INFO_TAG,
            metadata=metadata.create_summary_metadata(
                plugin_data_pb2.HParamsPluginData(session_end_info=end)
            ),
            tensor=metadata.NULL_TENSOR,
        )
        events.append((last, finished, summary))
        _write_events(self.folder / _run_name(trial.id), events)


def _domain(hp: Any, param: Any) -> Any:
    """The HParams domain of a space's parameter (a ``Choice`` of mixed types as strings)."""
    if isinstance(param, Float):
        return hp.RealInterval(float(param.low), float(param.high))
    if isinstance(param, Int):
        return hp.IntInterval(int(param.low), int(param.high))
    assert isinstance(param, Choice)
    kinds = {type(o) for o in param.options}
    if kinds <= {str} or kinds <= {bool} or (kinds <= {int, float} and bool not in kinds):
        return hp.Discrete([float(o) if kinds == {int, float} else o for o in param.options])
    return hp.Discrete([str(o) for o in param.options])


def _hparam_value(param: Any, value: Any) -> Any:
    """A parameter's value as its HParams domain holds it."""
    if isinstance(param, Choice):
        kinds = {type(o) for o in param.options}
        if kinds <= {str} or kinds <= {bool} or (kinds <= {int, float} and bool not in kinds):
            return float(value) if kinds == {int, float} else value
        return str(value)
    return value


def _scalar(summary_pb2: Any, tag: str, value: float) -> Any:
    summary = summary_pb2.Summary()
    summary.value.add(tag=tag, simple_value=float(value))
    return summary


def _write_events(folder: Path, events: list[tuple[int, float, Any]]) -> None:
    """One event file in ``folder`` holding ``(step, wall time, summary)`` events, written
    with TensorBoard's record writer (no TensorFlow)."""
    from tensorboard.compat.proto import event_pb2
    from tensorboard.summary.writer.record_writer import RecordWriter

    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.time()
    name = f"events.out.tfevents.{int(stamp):010d}.{socket.gethostname()}.{os.getpid()}"
    path = folder / name
    suffix = 0
    while path.exists():
        suffix += 1
        path = folder / f"{name}.{suffix}"
    writer = RecordWriter(open(path, "wb"))  # noqa: SIM115 (closed below)
    try:
        header = event_pb2.Event(wall_time=stamp, file_version="brain.Event:2")
        writer.write(header.SerializeToString())
        for step, wall_time, summary in events:
            event = event_pb2.Event(wall_time=wall_time, step=step, summary=summary)
            writer.write(event.SerializeToString())
    finally:
        writer.close()
