"""One trial record: ``Trial``'s fields drive the store's table, the DataFrame and the CSV, and a
store written before the record existed still opens, resumes and reads back equal."""

from __future__ import annotations

import csv
import dataclasses
import json
import sqlite3

from tunebench import Budget, Float, Result, Space, Suggestion, load_study, tune
from tunebench.report import load_runs, write_trials_csv
from tunebench.store import APPLICATION_ID, Store
from tunebench.trial import COLUMNS, SHOWN_COLUMNS, Trial

SPACE = Space(x=Float(0, 1))


def square(x):
    if x > 0.8:
        raise ValueError(f"x too large: {x}\nsecond line of the message")
    return (x - 0.3) ** 2


def test_every_trial_field_is_a_store_column_and_a_shown_column_unless_marked(tmp_path):
    path = tmp_path / "runs.db"
    study = tune(square, SPACE, "random", Budget(trials=8), seed=3, storage=path, progress=False)
    assert {t.status for t in study.trials} == {"ok", "failed"}  # an error of two lines too
    # The store: a column for each field, in the fields' order (and only for them).
    fields = [f.name for f in dataclasses.fields(Trial)]
    assert [c.field for c in COLUMNS] == fields
    with sqlite3.connect(path) as db:
        table = [row[1] for row in db.execute("PRAGMA table_info(trials)")]
    db.close()
    assert table == ["study_id", *(c.name for c in COLUMNS), "state"]
    # The DataFrame and the CSV: every field not marked hidden, then the parameters (and the
    # test metrics, as metric_<name> columns: tests/test_suite_problems.py).
    hidden = {c.field for c in COLUMNS if c.shown_as is None}
    assert hidden == {"ask_seq", "tell_seq", "params", "seed", "meta", "metrics"}
    assert len(SHOWN_COLUMNS) == len(fields) - len(hidden)
    frame = study.to_dataframe()
    assert list(frame.columns) == [*SHOWN_COLUMNS, "param_x"]
    groups, _ = load_runs(path)
    write_trials_csv(groups, tmp_path / "trials.csv")
    with (tmp_path / "trials.csv").open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["strategy", "seed", "study", *SHOWN_COLUMNS, "param_x"]
    failed = next(t for t in study.trials if t.status == "failed")
    assert frame.loc[failed.id, "error"] == failed.error.splitlines()[0]
    assert rows[1 + failed.id][3 + SHOWN_COLUMNS.index("error")] == failed.error.splitlines()[0]
    # What strategies see maps to and from a Trial by field name: nothing is listed twice.
    assert {f.name for f in dataclasses.fields(Suggestion)} <= set(fields)
    assert {f.name for f in dataclasses.fields(Result)} - set(fields) == {"state"}
    for trial in load_study(path).trials:
        assert trial == Trial.start(trial.suggestion(), ask_seq=trial.ask_seq).finish(
            trial.result(),
            tell_seq=trial.tell_seq,
            worker=trial.worker,
            started=trial.started,
            finished=trial.finished,
        )


#: The table and the writes of the store as tunebench wrote them before ``Trial`` drove them
#: (format 1), verbatim.
V1_TRIALS = """CREATE TABLE trials (
    study_id INTEGER NOT NULL REFERENCES studies(id),
    trial_id INTEGER NOT NULL,
    ask_seq INTEGER NOT NULL,
    tell_seq INTEGER,
    params TEXT NOT NULL,
    epochs INTEGER,
    initial_epoch INTEGER NOT NULL DEFAULT 0,
    resume_from INTEGER,
    seed INTEGER,
    meta TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL,
    loss REAL,
    test_loss REAL,
    epochs_run INTEGER NOT NULL DEFAULT 0,
    seconds REAL NOT NULL DEFAULT 0,
    curve TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    worker TEXT,
    started REAL,
    finished REAL,
    state BLOB,
    PRIMARY KEY (study_id, trial_id)
)"""
V1_START = (
    "INSERT INTO trials (study_id, trial_id, ask_seq, params, epochs, "
    "initial_epoch, resume_from, seed, meta, status, worker, started) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)"
)
V1_FINISH = (
    "UPDATE trials SET tell_seq = ?, status = ?, loss = ?, test_loss = ?, "
    "epochs_run = ?, seconds = ?, curve = ?, error = ?, worker = COALESCE(?, worker), "
    "finished = ?, state = ? WHERE study_id = ? AND trial_id = ?"
)


def test_the_store_table_is_the_one_of_format_1_so_no_migration(tmp_path):
    Store(tmp_path / "runs.db").close()
    with sqlite3.connect(tmp_path / "runs.db") as db:
        (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'trials'").fetchone()
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    db.close()
    # Format 1's table, with the columns of Trial fields added since (an older store gains
    # them when opened, after its last column).
    added_since = (
        "    metrics TEXT NOT NULL DEFAULT '{}',\n    train_curve TEXT NOT NULL DEFAULT '[]',\n"
    )
    assert sql == V1_TRIALS.replace("    state BLOB,\n", added_since + "    state BLOB,\n")
    # A column added since can be added to an older store: NOT NULL only with a DEFAULT.
    added = [c for c in COLUMNS if f"\n    {c.name} " not in V1_TRIALS]
    assert all("NOT NULL" not in c.sql or "DEFAULT" in c.sql for c in added)


def test_a_store_written_by_the_format_1_code_opens_resumes_and_reads_back_equal(tmp_path):
    new, old, fresh = tmp_path / "new.db", tmp_path / "old.db", tmp_path / "fresh.db"
    run = {"space": SPACE, "strategy": "random", "seed": 2, "progress": False}
    tune(square, budget=Budget(trials=5), storage=new, **run)
    written = load_study(new)
    # The same study written with format 1's statements; its last trial left running.
    db = sqlite3.connect(old, isolation_level=None)
    db.execute("ATTACH ? AS new", (str(new),))
    for (sql,) in db.execute("SELECT sql FROM new.sqlite_master WHERE name != 'trials' AND sql "
                             "NOT NULL").fetchall():  # fmt: skip
        db.execute(sql)
    db.execute(V1_TRIALS)
    db.execute("INSERT INTO main.studies SELECT * FROM new.studies")
    db.execute("DETACH new")
    for t in written.trials:
        db.execute(
            V1_START,
            (1, t.id, t.ask_seq, json.dumps(t.params), t.epochs, t.initial_epoch,
             t.resume_from, t.seed, json.dumps(t.meta), t.worker, t.started),
        )  # fmt: skip
        if t.id < 4:
            db.execute(
                V1_FINISH,
                (t.tell_seq, t.status, t.loss, t.test_loss, t.epochs_run, t.seconds,
                 json.dumps(t.curve), t.error, t.worker, t.finished, None, 1, t.id),
            )  # fmt: skip
    db.executescript(f"PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = 1;")
    db.close()
    read = load_study(old)
    assert read.trials[:4] == written.trials[:4]
    assert [t.meta for t in read.trials] == [t.meta for t in written.trials]
    assert read.trials[4].status == "running" and read.trials[4].params == written.trials[4].params
    # It resumes: the running trial is redone, then the search goes on as a fresh one would.
    resumed = tune(square, budget=Budget(trials=7), storage=old, **run)
    again = tune(square, budget=Budget(trials=7), storage=fresh, **run)
    assert [(t.id, t.params, t.status, t.loss) for t in resumed.trials] == [
        (t.id, t.params, t.status, t.loss) for t in again.trials
    ]
    assert load_study(old).trials == resumed.trials


def test_a_store_without_the_column_of_a_newer_field_gains_it_when_opened(tmp_path):
    path = tmp_path / "runs.db"
    tune(square, SPACE, "random", Budget(trials=3), seed=1, storage=path, progress=False)
    written = load_study(path)
    # As if ``worker`` and ``curve`` had been added to Trial after this store was written.
    with sqlite3.connect(path) as db:
        db.executescript(
            "ALTER TABLE trials DROP COLUMN worker; ALTER TABLE trials DROP COLUMN curve;"
        )
    db.close()
    read = load_study(path)
    assert [dataclasses.replace(t, worker=None, curve=()) for t in written.trials] == read.trials
    study = tune(square, SPACE, "random", Budget(trials=5), seed=1, storage=path, progress=False)
    assert [t.id for t in study.trials] == list(range(5)) and study.trials[4].worker is not None
    assert load_study(path).trials == study.trials
