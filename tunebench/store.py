"""The study store: one SQLite file (stdlib ``sqlite3``, WAL mode) for studies and trials.

Every trial is written when it starts (``running``) and again when it finishes, each in its
own transaction, so a run killed at any point loses no finished trial. The store holds JSON
and numpy arrays only (``allow_pickle=False``): opening a store that came from elsewhere
cannot run code. The file is marked as a store (``PRAGMA application_id``, the format in
``PRAGMA user_version``); any other file is refused before anything is written to it.

A study being run is leased (``acquire_lease``): one row naming the runner's host and pid,
with a heartbeat, so a second runner of the same study is refused (``StudyBusyError``) while
other studies of the same file run alongside.

>>> store = Store(":memory:")
>>> record = store.open_study("demo", strategy="random", seed=0, space={}, budget={})
>>> record.name, record.seed, store.study_names()
('demo', 0, ['demo'])
"""

from __future__ import annotations

import functools
import io
import json
import math
import os
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .budget import Budget, budget_changes
from .space import Space
from .strategy import Result, Suggestion
from .study import Study
from .trial import COLUMNS, Column, Trial, finish_values

__all__ = [
    "Store",
    "StudyBusyError",
    "StudyMismatchError",
    "StudyRecord",
    "load_study",
    "objective_differences",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    strategy TEXT NOT NULL,
    seed INTEGER,
    options TEXT NOT NULL,
    space TEXT NOT NULL,
    budget TEXT NOT NULL,
    objective TEXT NOT NULL,
    created REAL NOT NULL,
    seconds REAL NOT NULL DEFAULT 0,
    stop_reason TEXT
);
{trials}
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
    study TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    token TEXT NOT NULL,
    acquired REAL NOT NULL,
    heartbeat REAL NOT NULL
);
"""


def _trials_table() -> str:
    """The ``trials`` table: a column for each ``Trial`` field (``trial.COLUMNS``), between
    the study it belongs to and the continuation state kept for multi-fidelity strategies."""
    columns = "".join(f"    {c.name} {c.sql},\n" for c in COLUMNS)
    return (
        "CREATE TABLE IF NOT EXISTS trials (\n"
        "    study_id INTEGER NOT NULL REFERENCES studies(id),\n"
        f"{columns}"
        "    state BLOB,\n"
        "    PRIMARY KEY (study_id, trial_id)\n"
        ");"
    )


SCHEMA = _SCHEMA.format(trials=_trials_table())

#: Write a trial as ``running``, or rewrite a redone one (keeping its first ``ask_seq``, and
#: clearing its outcome and state), in the order of ``trial.COLUMNS``.
_INSERT_RUNNING = (
    f"INSERT INTO trials (study_id, {', '.join(c.name for c in COLUMNS)}) "
    f"VALUES ({', '.join('?' * (1 + len(COLUMNS)))}) "
    "ON CONFLICT (study_id, trial_id) DO UPDATE SET "
    + "".join(
        f"{c.name} = excluded.{c.name}, " for c in COLUMNS if c.name not in ("trial_id", "ask_seq")
    )
    + "state = NULL"
)

#: ``PRAGMA application_id`` of a tunebench store ("Tune"): marks the file as ours.
APPLICATION_ID = 0x54756E65
#: ``PRAGMA user_version`` of the store this code writes. Version 0 (no application id) is
#: the first format, without the ``leases`` table; opening one migrates it. A column for a
#: new ``Trial`` field is no new format: a store without it gains it when opened (older
#: code, which names the columns it reads and writes, still opens the store).
SCHEMA_VERSION = 1
_TABLES_V0 = ("studies", "trials", "meta")


@functools.cache
def _schema_columns(table: str) -> list[str]:
    """The columns of ``table`` as SCHEMA creates it."""
    db = sqlite3.connect(":memory:")
    db.executescript(SCHEMA)
    columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
    db.close()
    return columns


def _older_trials(columns: list[str]) -> bool:
    """Whether ``columns`` are those of a ``trials`` table this code can bring up to date:
    today's, in their order, but maybe without columns of ``Trial`` fields added since."""
    today = _schema_columns("trials")
    return columns[:2] == today[:2] and [c for c in today if c in columns] == columns


class StudyMismatchError(ValueError):
    """A study of that name exists in the store with another strategy, seed, space or
    objective."""


class StudyBusyError(RuntimeError):
    """Another process is running this study: it holds the study's lease."""


#: A lease whose heartbeat is older than this is stale: its holder is gone (or frozen).
LEASE_TIMEOUT = 60.0
#: How often a running study renews its lease (a thread does, and any write after as long).
LEASE_HEARTBEAT = 10.0


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine exists (always True on Windows, where
    ``os.kill(pid, 0)`` would signal it: there only the heartbeat tells)."""
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _ago(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


class _Heartbeat(threading.Thread):
    """Renews a lease every ``LEASE_HEARTBEAT`` seconds, on a connection of its own, so
    that a trial longer than ``LEASE_TIMEOUT`` does not look like a dead runner."""

    def __init__(self, path: str, study: str, token: str) -> None:
        super().__init__(daemon=True, name=f"tunebench-lease-{study}")
        self.path, self.study, self.token = path, study, token
        self.stopped = threading.Event()

    def run(self) -> None:
        db = sqlite3.connect(self.path, timeout=LEASE_HEARTBEAT, isolation_level=None)
        try:
            while not self.stopped.wait(LEASE_HEARTBEAT):
                try:
                    renewed = db.execute(
                        "UPDATE leases SET heartbeat = ? WHERE study = ? AND token = ?",
                        (time.time(), self.study, self.token),
                    ).rowcount
                except sqlite3.Error:
                    continue  # busy for that long: try again at the next beat
                if not renewed:
                    return  # taken over; the runner finds out at its next write
        finally:
            db.close()


#: Keys of an objective's description that say how trials run, not what they score.
NOT_COMPARED = frozenset({"fast", "verbose"})


def objective_differences(stored: dict[str, Any], asked: dict[str, Any]) -> dict[str, tuple]:
    """How two objective descriptions (``objective.describe()``) differ, as
    ``{key: (stored, asked)}`` with nested keys dotted: the one rule for "the same
    objective", used by ``tune``'s resume and by the benchmark.

    Every key the store recorded is compared, except ``NOT_COMPARED``; a key it did not
    record (a description from an older tunebench) is not. A code fingerprint
    (``*_code``) is compared only when the same Python version made both.

    >>> old = {"type": "function", "fn": "f", "max_epochs": 5}
    >>> objective_differences(old, {**old, "fn_code": "py3.11:ab12"})
    {}
    >>> objective_differences(old, {**old, "fn": "g", "max_epochs": 9})
    {'fn': ('f', 'g'), 'max_epochs': (5, 9)}
    """
    found, wanted = _flat(json.loads(_dumps(stored))), _flat(json.loads(_dumps(asked)))
    differences = {}
    for key, value in found.items():
        other = wanted.get(key)
        if key.split(".")[0] in NOT_COMPARED or value == other:
            continue
        if key.endswith("_code") and str(value).split(":")[0] != str(other).split(":")[0]:
            continue  # another Python's bytecode: not comparable
        differences[key] = (value, other)
    return differences


def _flat(description: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in description.items():
        if isinstance(value, dict) and value:
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@dataclass(frozen=True)
class StudyRecord:
    id: int
    name: str
    strategy: str
    seed: int | None
    options: dict[str, Any]
    space: dict[str, Any]
    budget: dict[str, Any]
    objective: dict[str, Any]
    seconds: float
    stop_reason: str | None


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    return repr(value)


def _encode(column: Column, value: Any) -> Any:
    """A ``Trial`` field's value as its store column holds it (``Column.codec``)."""
    if column.codec == "json":
        return _dumps(value)
    if column.codec == "curve":
        return _dumps([v if math.isfinite(v) else None for v in value])
    if column.codec == "loss" and value == math.inf:
        return None
    return value


def _decode(column: Column, value: Any) -> Any:
    """A store column's value as its ``Trial`` field holds it: the inverse of ``_encode``."""
    if column.codec == "json":
        return json.loads(value)
    if column.codec == "curve":
        return tuple(math.nan if v is None else v for v in json.loads(value))
    if column.codec == "loss" and value is None:
        return math.inf
    return value


def encode_state(state: dict[str, list[np.ndarray]]) -> bytes:
    """Pack ``{"weights": [arrays], "optimizer": [arrays]}`` as an ``.npz`` (no pickle)."""
    buffer = io.BytesIO()
    arrays = {
        f"{group}/{i:05d}": np.asarray(a)
        for group, values in state.items()
        for i, a in enumerate(values)
    }
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def decode_state(blob: bytes) -> dict[str, list[np.ndarray]]:
    state: dict[str, list[np.ndarray]] = {}
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        for key in sorted(data.files):
            group, _ = key.split("/")
            state.setdefault(group, []).append(data[key])
    return state


class Store:
    """A SQLite file of studies and their trials (``":memory:"`` for a throw-away one)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            parent = Path(self.path).expanduser().resolve().parent
            if not parent.is_dir():
                raise FileNotFoundError(
                    f"cannot create the store {self.path!r}: the folder {str(parent)!r} "
                    "does not exist"
                )
        self._lease: tuple[str, str] | None = None  # (study, token) while running a study
        self._heartbeat: _Heartbeat | None = None
        self._lease_lost = False
        self._renewed_at = 0.0
        self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            if self._format() != "current":  # checked before anything is written
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("BEGIN IMMEDIATE")
                if self._format() != "current":  # unless another process just did it
                    for statement in SCHEMA.split(";"):  # not executescript: it commits
                        self._db.execute(statement)
                    self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                self._db.execute("COMMIT")
            self._add_missing_columns()
            self._db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise ValueError(
                f"{self.path!r} is not a tunebench store (SQLite said: {exc}); "
                "give another file name"
            ) from exc
        except ValueError:
            self._db.close()
            raise

    def _format(self) -> str:
        """``"current"``, ``"new"`` (empty) or ``"v0"`` (the first format: migrate it), read
        without writing; any other file raises ``ValueError``."""
        app_id = self._db.execute("PRAGMA application_id").fetchone()[0]
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        tables = sorted(
            row[0]
            for row in self._db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        )
        if app_id == APPLICATION_ID:
            if version > SCHEMA_VERSION:
                raise ValueError(
                    f"the store {self.path!r} was written by a newer tunebench (store format "
                    f"{version}; this one reads up to {SCHEMA_VERSION}): upgrade tunebench"
                )
            return "current"
        if app_id == 0 and version == 0 and not tables:
            return "new"
        first_format = (
            tables == sorted(_TABLES_V0)
            and all(self._columns(t) == _schema_columns(t) for t in ("studies", "meta"))
            and _older_trials(self._columns("trials"))
        )
        if app_id == 0 and version == 0 and first_format:
            return "v0"
        what = f"tables {', '.join(tables)}" if tables else "no tables"
        raise ValueError(
            f"{self.path!r} is a SQLite file of another program ({what}, application_id "
            f"{app_id}, user_version {version}), not a tunebench store; it was left untouched. "
            "Give a new file name for the store."
        )

    def _add_missing_columns(self) -> None:
        """Give the ``trials`` table of a store written before a ``Trial`` field existed that
        field's column (its rows take the column's default), in one transaction."""
        if not self._missing_columns():
            return
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for column in self._missing_columns():  # unless another process just added them
                self._db.execute(f"ALTER TABLE trials ADD COLUMN {column.name} {column.sql}")

    def _missing_columns(self) -> list[Column]:
        present = set(self._columns("trials"))
        return [c for c in COLUMNS if c.name not in present]

    def _columns(self, table: str) -> list[str]:
        return [row[1] for row in self._db.execute(f"PRAGMA table_info({table})")]

    def close(self) -> None:
        """Release the lease this store holds, if any, and close the file."""
        self.release_lease()
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ notes

    def set_meta(self, key: str, value: Any) -> None:
        """Keep a JSON value under ``key`` with the store (e.g. a benchmark's environment).

        >>> store = Store(":memory:")
        >>> store.set_meta("note", {"seeds": [0, 1]}); store.get_meta("note")
        {'seeds': [0, 1]}
        """
        self._db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, _dumps(value))
        )

    def get_meta(self, key: str, default: Any = None) -> Any:
        """The JSON value kept under ``key``, or ``default``."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    # ------------------------------------------------------------------ leases

    def acquire_lease(self, study: str) -> None:
        """Take the lease of ``study``: only its holder writes the study's trials.

        A lease held by another live runner raises ``StudyBusyError`` naming it; a stale one
        (its process gone from this machine, or no heartbeat for ``LEASE_TIMEOUT`` seconds)
        is taken over. Until ``release_lease()`` (or ``close()``) a thread renews it, and
        every trial written checks that it still holds.
        """
        host, pid, token, now = socket.gethostname(), os.getpid(), os.urandom(8).hex(), time.time()
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute(
                "SELECT host, pid, acquired, heartbeat FROM leases WHERE study = ?", (study,)
            ).fetchone()
            if row is not None:
                held_by, held_pid, acquired, heartbeat = row
                gone = held_by == host and not _process_alive(held_pid)
                if not gone and now - heartbeat < LEASE_TIMEOUT:
                    raise StudyBusyError(
                        f"the study {study!r} in {self.path!r} is being run by "
                        f"{held_by}:{held_pid} (started {_ago(now - acquired)} ago, last seen "
                        f"{_ago(now - heartbeat)} ago). Wait for it to finish or stop it, or "
                        "pass another study name to start a separate study. Its lease is "
                        f"taken over once that process has exited (on this machine) or "
                        f"has not been seen for {LEASE_TIMEOUT:.0f} s."
                    )
            self._db.execute(
                "INSERT OR REPLACE INTO leases (study, host, pid, token, acquired, heartbeat) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (study, host, pid, token, now, now),
            )
        self._lease, self._lease_lost = (study, token), False
        self._renewed_at = time.monotonic()
        if self.path != ":memory:":
            self._heartbeat = _Heartbeat(self.path, study, token)
            self._heartbeat.start()

    def release_lease(self) -> None:
        """Give up the lease taken by ``acquire_lease`` (nothing when none is held)."""
        if self._heartbeat is not None:
            self._heartbeat.stopped.set()
            self._heartbeat.join()
            self._heartbeat = None
        if self._lease is not None:
            study, token = self._lease
            self._lease = None
            self._db.execute("DELETE FROM leases WHERE study = ? AND token = ?", (study, token))

    def _renew_lease(self) -> None:
        """Inside a write transaction: check that this process still holds its lease (and
        renew it, if the heartbeat thread has not lately), or refuse to write."""
        if self._lease is None:
            return
        study, token = self._lease
        if self._lease_lost:
            raise StudyBusyError(f"this process lost the lease of study {study!r}; see above")
        if time.monotonic() - self._renewed_at >= LEASE_HEARTBEAT:
            held = self._db.execute(
                "UPDATE leases SET heartbeat = ? WHERE study = ? AND token = ?",
                (time.time(), study, token),
            ).rowcount
            self._renewed_at = time.monotonic()
        else:  # a read: renewing at every write would double the cost of a small trial
            held = self._db.execute(
                "SELECT count(*) FROM leases WHERE study = ? AND token = ?", (study, token)
            ).fetchone()[0]
        if not held:
            row = self._db.execute(
                "SELECT host, pid FROM leases WHERE study = ?", (study,)
            ).fetchone()
            holder = "nobody" if row is None else f"{row[0]}:{row[1]}"
            self._lease_lost = True
            raise StudyBusyError(
                f"this process lost the lease of study {study!r} in {self.path!r} (now held "
                f"by {holder}): it was not renewed for {LEASE_TIMEOUT:.0f} s (a frozen or "
                "suspended process?) and another runner took the study over. This run stops "
                "without writing; the other runner continues the study."
            )

    # ------------------------------------------------------------------ studies

    def study_names(self) -> list[str]:
        return [row[0] for row in self._db.execute("SELECT name FROM studies ORDER BY id")]

    def get_study(self, name: str) -> StudyRecord | None:
        row = self._db.execute(
            "SELECT id, name, strategy, seed, options, space, budget, objective, seconds, "
            "stop_reason FROM studies WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            return None
        return StudyRecord(
            id=row[0],
            name=row[1],
            strategy=row[2],
            seed=row[3],
            options=json.loads(row[4]),
            space=json.loads(row[5]),
            budget=json.loads(row[6]),
            objective=json.loads(row[7]),
            seconds=row[8],
            stop_reason=row[9],
        )

    def open_study(
        self,
        name: str,
        *,
        strategy: str,
        seed: int | None,
        space: dict[str, Any],
        budget: dict[str, Any],
        options: dict[str, Any] | None = None,
        objective: dict[str, Any] | None = None,
    ) -> StudyRecord:
        """The study ``name``, created if new. An existing one must match the strategy,
        options, space and objective (``objective_differences``; the seed too, unless
        ``seed`` is None: then the stored one is used); the budget is taken from this call,
        and the objective's description too (it may record keys the stored one lacks)."""
        options = options or {}
        existing = self.get_study(name)
        if existing is not None:
            wanted = {"strategy": strategy, "options": json.loads(_dumps(options)), "space": space}
            if seed is not None:
                wanted["seed"] = seed
            found = {key: getattr(existing, key) for key in wanted}
            diff = {k: (found[k], wanted[k]) for k in wanted if found[k] != wanted[k]}
            if objective is not None:
                for key, pair in objective_differences(existing.objective, objective).items():
                    diff[f"objective {key}"] = pair
            if diff:
                details = "; ".join(f"{k}: stored {a!r}, asked {b!r}" for k, (a, b) in diff.items())
                raise StudyMismatchError(
                    f"the store {self.path!r} already holds a study {name!r} made differently "
                    f"({details}); pass another study name to start a new one"
                )
            self._check_budget(existing, Budget.from_json(budget))
            self._db.execute(
                "UPDATE studies SET budget = ?, stop_reason = NULL, objective = ? WHERE id = ?",
                (
                    _dumps(budget),
                    _dumps(existing.objective if objective is None else objective),
                    existing.id,
                ),
            )
            return self.get_study(name)  # type: ignore[return-value]
        self._db.execute(
            "INSERT INTO studies (name, strategy, seed, options, space, budget, objective, "
            "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                name,
                strategy,
                seed,
                _dumps(options),
                _dumps(space),
                _dumps(budget),
                _dumps(objective or {}),
                time.time(),
            ),
        )
        return self.get_study(name)  # type: ignore[return-value]

    def _check_budget(self, existing: StudyRecord, asked: Budget) -> None:
        """Refuse a budget below the stored one: a study's budget may only grow (an
        extension), since what it spent under the larger one cannot be taken back."""
        if not existing.budget:
            return
        stored = Budget.from_json(existing.budget)
        lowered, _ = budget_changes(stored, asked)
        if not lowered:
            return
        trials, epochs, _ = self.progress(existing.name)
        limits = ", ".join(
            f"{limit} {'no limit' if a is None else f'{a:g}'} -> {b:g}"
            for limit, (a, b) in lowered.items()
        )
        raise StudyMismatchError(
            f"the study {existing.name!r} in {self.path!r} was made with {stored} and has "
            f"spent {epochs} epochs, {trials} trials, {existing.seconds:.0f} s; {asked} lowers "
            f"its budget ({limits}). A study's budget can only grow: pass {stored} to resume "
            "it, a larger budget to extend it, or another study name to start a new study"
        )

    def finish_study(self, study_id: int, *, seconds: float, stop_reason: str | None) -> None:
        """Write the study's wall time and stop reason (unless the lease was lost)."""
        if self._lease_lost:
            return  # another runner took the study over: it is not this process's to finish
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._renew_lease()
            self._db.execute(
                "UPDATE studies SET seconds = ?, stop_reason = ? WHERE id = ?",
                (seconds, stop_reason, study_id),
            )

    # ------------------------------------------------------------------ trials

    def record_start(
        self, study_id: int, suggestion: Suggestion, ask_seq: int, worker: str | None
    ) -> None:
        """Write (or rewrite, for a redone trial) a trial as ``running``.

        A redone trial keeps its first ``ask_seq``: it was asked then, and a later resume
        replays the asks in that order."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._renew_lease()
            self._insert_running(study_id, suggestion, ask_seq, worker)

    def _insert_running(
        self, study_id: int, suggestion: Suggestion, ask_seq: int, worker: str | None
    ) -> None:
        trial = Trial.start(suggestion, ask_seq=ask_seq, worker=worker, started=time.time())
        values = [_encode(c, getattr(trial, c.field)) for c in COLUMNS]
        self._db.execute(_INSERT_RUNNING, (study_id, *values))

    def record_result(
        self,
        study_id: int,
        suggestion: Suggestion,
        result: Result,
        *,
        tell_seq: int,
        study_seconds: float,
        keep_state: bool = False,
    ) -> None:
        """Write a finished trial and the study's running wall time, in one transaction.

        A field the result leaves None keeps what the trial's start wrote (the worker of a
        result that names none)."""
        state = encode_state(result.state) if keep_state and result.state is not None else None
        finished = finish_values(result, tell_seq=tell_seq, finished=time.time())
        values = {c.name: _encode(c, finished[c.field]) for c in COLUMNS if c.field in finished}
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._renew_lease()
            self._db.execute(
                "UPDATE trials SET "
                + "".join(f"{name} = COALESCE(?, {name}), " for name in values)
                + "state = ? WHERE study_id = ? AND trial_id = ?",
                (*values.values(), state, study_id, suggestion.id),
            )
            self._db.execute(
                "UPDATE studies SET seconds = ? WHERE id = ?", (study_seconds, study_id)
            )

    def load_state(self, study_id: int, trial_id: int) -> dict[str, list[np.ndarray]] | None:
        row = self._db.execute(
            "SELECT state FROM trials WHERE study_id = ? AND trial_id = ?", (study_id, trial_id)
        ).fetchone()
        return None if row is None or row[0] is None else decode_state(row[0])

    def trials(self, study_id: int) -> list[Trial]:
        rows = self._db.execute(
            f"SELECT {', '.join(c.name for c in COLUMNS)} FROM trials WHERE study_id = ? "
            "ORDER BY trial_id",
            (study_id,),
        )
        return [
            Trial(**{c.field: _decode(c, value) for c, value in zip(COLUMNS, row, strict=True)})
            for row in rows
        ]

    def progress(self, name: str) -> tuple[int, int, float]:
        """``(finished trials, epochs charged, best validation loss)`` of a study, cheaply
        (for a display that watches a study another connection is writing)."""
        row = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(t.epochs_run), 0), "
            "MIN(CASE WHEN t.status = 'ok' THEN t.loss END) FROM trials t "
            "JOIN studies s ON s.id = t.study_id WHERE s.name = ? AND t.status != 'running'",
            (name,),
        ).fetchone()
        return int(row[0]), int(row[1]), math.inf if row[2] is None else float(row[2])

    def load_study(self, name: str) -> Study:
        record = self.get_study(name)
        if record is None:
            known = ", ".join(self.study_names()) or "none"
            raise KeyError(f"no study named {name!r} in {self.path!r}; studies there: {known}")
        return Study(
            name=record.name,
            strategy=record.strategy,
            seed=record.seed,
            trials=self.trials(record.id),
            space=Space.from_json(record.space) if record.space else None,
            budget=Budget.from_json(record.budget) if record.budget else None,
            stop_reason=record.stop_reason,
            seconds=record.seconds,
            options=record.options,
            objective=record.objective,
        )


def load_study(storage: str | Path, name: str | None = None) -> Study:
    """Open a study from a store file (the only one, when ``name`` is None)."""
    if not Path(storage).exists():
        raise FileNotFoundError(f"no store at {str(storage)!r}")
    with Store(storage) as store:
        if name is None:
            names = store.study_names()
            if len(names) != 1:
                raise ValueError(
                    f"{str(storage)!r} holds {len(names)} studies ({', '.join(names)}); "
                    "pass name= to choose one"
                )
            name = names[0]
        return store.load_study(name)
