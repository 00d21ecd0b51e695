"""One trial record: ``Trial``, whose fields are the one list of what a trial holds.

Each field declares how it is stored and shown (``Column``): its SQL type, its encoding, its
store column and its column in ``Study.to_dataframe()`` and the report's ``trials.csv``. The
store's table, its writes and reads, the DataFrame and the CSV are all made from that list,
so a new field is one edit here. ``Suggestion`` and ``Result`` (what strategies see) map to
and from a ``Trial`` by their field names.

>>> trial = Trial.start(Suggestion(id=3, params={"x": 0.5}, epochs=4), ask_seq=7)
>>> trial.status, trial.epochs, trial.ask_seq
('running', 4, 7)
>>> done = trial.finish(Result(loss=0.25, epochs_run=4), tell_seq=8)
>>> done.status, done.loss, done.result().epochs_run, done.suggestion() == trial.suggestion()
('ok', 0.25, 4, True)
>>> trial_row(done)["trial"], trial_row(done)["param_x"]
(3, 0.5)
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import Any

from .strategy import Result, Suggestion

__all__ = ["COLUMNS", "SHOWN_COLUMNS", "Column", "Trial", "finish_values", "trial_row"]

FINISHED = ("ok", "failed", "diverged", "pruned")
#: How a field's value becomes a store value: ``plain`` as it is, ``json`` (dicts),
#: ``curve`` (JSON, a non-finite value as null, read back as NaN), ``loss`` (inf, no loss, as
#: NULL).
CODECS = ("plain", "json", "curve", "loss")


@dataclass(frozen=True)
class Column:
    """How one ``Trial`` field is stored and shown.

    ``name`` is its column in the store (``sql`` its type there); ``shown_as`` its column in
    the DataFrame and the CSV (None: not shown; ``first_line``: only the text's first line).
    """

    field: str
    sql: str
    codec: str = "plain"
    name: str = ""
    shown_as: str | None = ""
    first_line: bool = False


def _column(
    sql: str,
    *,
    codec: str = "plain",
    name: str = "",
    shown_as: str | None = "",
    first_line: bool = False,
    **field_options: Any,
) -> Any:
    """A ``Trial`` field declared with its ``Column`` (names default to the field's)."""
    if codec not in CODECS:
        raise ValueError(f"codec must be one of {CODECS}, got {codec!r}")
    column = Column("", sql, codec, name, shown_as, first_line)  # its field named in COLUMNS
    return dataclasses.field(metadata={"column": column}, **field_options)


@dataclass(frozen=True, kw_only=True)
class Trial:
    """One trial as stored: its suggestion, its outcome and its bookkeeping.

    ``status`` is ``running`` until the trial finishes (a trial still ``running`` in a store
    was interrupted and is redone on resume). ``ask_seq`` / ``tell_seq`` order the asks and
    tells of the whole study, which is what a resume replays. The fields are in the order of
    the store's columns (a field added later goes last: older stores gain its column at the
    end); ``params`` are shown as ``param_<name>`` columns after the others, then the test
    ``metrics`` as ``metric_<name>`` columns.
    """

    id: int = _column("INTEGER NOT NULL", name="trial_id", shown_as="trial")
    ask_seq: int = _column("INTEGER NOT NULL", shown_as=None, default=0)
    tell_seq: int | None = _column("INTEGER", shown_as=None, default=None)
    params: dict[str, Any] = _column("TEXT NOT NULL", codec="json", shown_as=None)  # noqa: RUF009
    epochs: int | None = _column("INTEGER", default=None)
    initial_epoch: int = _column("INTEGER NOT NULL DEFAULT 0", default=0)
    resume_from: int | None = _column("INTEGER", default=None)
    seed: int | None = _column("INTEGER", shown_as=None, default=None)
    meta: dict[str, Any] = _column(  # noqa: RUF009 (a field specifier, as dataclasses.field)
        "TEXT NOT NULL DEFAULT '{}'",
        codec="json",
        shown_as=None,
        default_factory=dict,
        compare=False,
    )
    status: str = _column("TEXT NOT NULL", default="running")
    loss: float = _column("REAL", codec="loss", default=math.inf)
    test_loss: float | None = _column("REAL", default=None)
    epochs_run: int = _column("INTEGER NOT NULL DEFAULT 0", default=0)
    seconds: float = _column("REAL NOT NULL DEFAULT 0", default=0.0)
    #: The trial's intermediate results: its validation loss after each epoch it trained
    #: (``initial_epoch + 1`` first), as it reported them (what a pruner decides from).
    curve: tuple[float, ...] = _column("TEXT NOT NULL DEFAULT '[]'", codec="curve", default=())
    error: str | None = _column("TEXT", first_line=True, default=None)
    worker: str | None = _column("TEXT", default=None)
    started: float | None = _column("REAL", default=None)
    finished: float | None = _column("REAL", default=None)
    metrics: dict[str, float] = _column(  # noqa: RUF009 (a field specifier, as dataclasses.field)
        "TEXT NOT NULL DEFAULT '{}'", codec="json", shown_as=None, default_factory=dict
    )
    #: The training loss after each epoch of ``curve``, when the objective measures it
    #: (``KerasObjective`` does; shown in TensorBoard, never used to decide).
    train_curve: tuple[float, ...] = _column(
        "TEXT NOT NULL DEFAULT '[]'", codec="curve", default=()
    )

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @classmethod
    def start(cls, suggestion: Suggestion, **bookkeeping: Any) -> Trial:
        """A ``running`` trial of ``suggestion`` (``ask_seq``, ``worker``, ``started``...)."""
        return cls(**_shared(suggestion, cls), **bookkeeping)

    def finish(self, result: Result, **bookkeeping: Any) -> Trial:
        """This trial with ``result``'s outcome (``tell_seq``, ``finished``...)."""
        return dataclasses.replace(self, **finish_values(result, **bookkeeping))

    def suggestion(self) -> Suggestion:
        return Suggestion(**_shared(self, Suggestion))

    def result(self) -> Result:
        return Result(**_shared(self, Result))


def _shared(source: Any, target: type) -> dict[str, Any]:
    """The values of ``source``'s fields that ``target`` has too, by name (dicts copied)."""
    return {
        name: dict(value) if isinstance(value := getattr(source, name), dict) else value
        for name in _shared_names(type(source), target)
    }


@functools.cache
def _shared_names(source: type, target: type) -> tuple[str, ...]:
    """The fields of ``source`` that ``target`` has too, in ``source``'s order (computed once
    a pair: this runs twice a trial)."""
    names = {f.name for f in dataclasses.fields(target)}
    return tuple(f.name for f in dataclasses.fields(source) if f.name in names)


def finish_values(result: Result, **bookkeeping: Any) -> dict[str, Any]:
    """The ``Trial`` fields a finished trial writes: ``result``'s own, and ``bookkeeping``
    (``tell_seq``, ``finished``). ``Result.state`` is kept apart (only the store has it)."""
    return {**_shared(result, Trial), **bookkeeping}


def _columns() -> tuple[Column, ...]:
    columns = []
    for f in dataclasses.fields(Trial):
        column = f.metadata["column"]
        shown_as = f.name if column.shown_as == "" else column.shown_as
        columns.append(
            dataclasses.replace(column, field=f.name, name=column.name or f.name, shown_as=shown_as)
        )
    return tuple(columns)


#: Every ``Trial`` field with its ``Column``, in the order of the store's columns.
COLUMNS = _columns()
#: The columns of ``Study.to_dataframe()`` and ``trials.csv`` (before ``param_<name>``).
SHOWN_COLUMNS = tuple(c.shown_as for c in COLUMNS if c.shown_as is not None)


def trial_row(trial: Trial) -> dict[str, Any]:
    """``trial`` as one row of ``Study.to_dataframe()`` and ``trials.csv``: the shown
    columns, then its parameters as ``param_<name>``, then its test metrics as
    ``metric_<name>``."""
    row: dict[str, Any] = {}
    for column in COLUMNS:
        if column.shown_as is not None:
            value = getattr(trial, column.field)
            if column.first_line and value:
                value = value.splitlines()[0]
            row[column.shown_as] = value
    row.update({f"param_{name}": value for name, value in trial.params.items()})
    row.update({f"metric_{name}": value for name, value in trial.metrics.items()})
    return row
