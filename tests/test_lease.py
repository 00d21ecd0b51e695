"""One runner per study: the lease, between real processes on one SQLite file."""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import pytest

from tunebench import Budget, Float, Space, load_study, tune
from tunebench.store import Store, StudyBusyError

SPACE = Space(x=Float(0, 1))

RUNNER = """
import os, sys, time
from tunebench import Budget, Float, Space, tune

HOLD = sys.argv[4] if len(sys.argv) > 4 else None
calls = 0

def slow(x):
    global calls
    calls += 1
    time.sleep(0.25)
    deadline = time.monotonic() + 120
    while calls > 1 and HOLD and os.path.exists(HOLD) and time.monotonic() < deadline:
        time.sleep(0.05)  # held after its first trial, however slowly the test's others start
    return (x - 0.3) ** 2

study = tune(slow, Space(x=Float(0, 1)), "random", Budget(trials=int(sys.argv[3])), seed=0,
             storage=sys.argv[1], study_name=sys.argv[2], progress=False)
print(repr(study.best_loss))
"""


def start(storage, study, trials, hold=None):
    """A runner of ``study`` in a new process; with ``hold``, it waits after its first trial
    for as long as that file exists."""
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(storage), study, str(trials)]
        + ([str(hold)] if hold else []),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(storage, study):
    try:
        with sqlite3.connect(storage, timeout=5) as db:
            return db.execute(
                "SELECT count(*) FROM trials t JOIN studies s ON s.id = t.study_id "
                "WHERE s.name = ? AND t.status != 'running'",
                (study,),
            ).fetchone()[0]
    except sqlite3.OperationalError:  # no tables yet
        return 0


def wait_for_trials(process, storage, study, n):
    deadline = time.monotonic() + 60
    while finished(storage, study) < n:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the first runner did not get going"
        time.sleep(0.05)


def leases(storage):
    with sqlite3.connect(storage) as db:
        return db.execute("SELECT study, host, pid FROM leases").fetchall()


def square(x):
    return (x - 0.3) ** 2


def test_a_second_runner_of_the_same_study_is_refused_naming_the_first(tmp_path):
    storage = tmp_path / "runs.db"
    hold = tmp_path / "hold"
    hold.touch()  # the first runner holds its lease until the second has been refused
    first = start(storage, "shared", 12, hold)
    wait_for_trials(first, storage, "shared", 1)
    second = start(storage, "shared", 12)
    other = start(storage, "other", 4)  # another study in the same store runs alongside
    _, err = second.communicate(timeout=60)
    hold.unlink()
    assert second.returncode != 0
    assert "StudyBusyError" in err
    assert f"is being run by {socket.gethostname()}:{first.pid}" in err
    assert "last seen" in err and "another study name" in err
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert other.wait(timeout=60) == 0, other.communicate()
    study = load_study(storage, "shared")
    assert [t.id for t in study.trials] == list(range(12))
    assert all(t.is_finished for t in study.trials)
    assert float(out) == study.best_loss  # the best the first runner reported is in the store
    assert {t.worker.split(":")[1] for t in study.trials} == {str(first.pid)}
    assert len(load_study(storage, "other").trials) == 4
    assert leases(storage) == []  # both released


def test_the_lease_of_a_killed_runner_is_taken_over(tmp_path):
    storage = tmp_path / "runs.db"
    killed = start(storage, "shared", 30)
    wait_for_trials(killed, storage, "shared", 2)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert leases(storage)[0][2] == killed.pid  # left behind by kill -9
    rerun = start(storage, "shared", 30)  # its budget: a study's budget may only grow
    assert rerun.wait(timeout=60) == 0, rerun.communicate()
    assert [t.id for t in load_study(storage).trials] == list(range(30))
    assert leases(storage) == []


def put_lease(storage, host, pid, seen_ago):
    Store(storage).close()
    now = time.time()
    with sqlite3.connect(storage) as db:
        db.execute(
            "INSERT OR REPLACE INTO leases VALUES ('random-seed0', ?, ?, 'theirs', ?, ?)",
            (host, pid, now - 600, now - seen_ago),
        )
    db.close()


def test_another_machines_lease_holds_until_its_heartbeat_is_old(tmp_path):
    storage = tmp_path / "runs.db"
    put_lease(storage, "elsewhere", 4242, seen_ago=5)
    with pytest.raises(
        StudyBusyError, match=r"run by elsewhere:4242 \(started 10 min ago, last seen 5 s"
    ):
        tune(square, SPACE, "random", Budget(trials=3), storage=storage, progress=False)
    put_lease(storage, "elsewhere", 4242, seen_ago=3600)
    study = tune(square, SPACE, "random", Budget(trials=3), storage=storage, progress=False)
    assert len(study.trials) == 3 and leases(storage) == []


def test_this_process_holding_the_lease_is_refused_too(tmp_path):
    storage = tmp_path / "runs.db"
    put_lease(storage, socket.gethostname(), os.getpid(), seen_ago=1)
    with pytest.raises(StudyBusyError, match=f":{os.getpid()} "):
        tune(square, SPACE, "random", Budget(trials=3), storage=storage, progress=False)


def test_the_lease_is_released_on_ctrl_c(tmp_path):
    storage = tmp_path / "runs.db"

    def interrupted(x):
        if x > 0.5:
            raise KeyboardInterrupt
        return x

    with pytest.raises(KeyboardInterrupt):
        tune(interrupted, SPACE, "random", Budget(trials=20), storage=storage, progress=False)
    assert leases(storage) == []
    study = tune(square, SPACE, "random", Budget(trials=1), storage=storage, study_name="other",
                 progress=False)  # fmt: skip
    assert len(study.trials) == 1


def test_a_long_trial_keeps_its_lease_alive(tmp_path, monkeypatch):
    import tunebench.store

    monkeypatch.setattr(tunebench.store, "LEASE_HEARTBEAT", 0.05)
    storage = tmp_path / "runs.db"
    seen = []

    def long_trial(x):
        for _ in range(2):
            with sqlite3.connect(storage) as db:
                seen.append(db.execute("SELECT heartbeat FROM leases").fetchone()[0])
            db.close()
            time.sleep(0.5)
        return x

    tune(long_trial, SPACE, "random", Budget(trials=1), storage=storage, progress=False)
    assert seen[1] > seen[0] + 0.3  # renewed during the trial, not only between trials


def test_a_runner_that_lost_its_lease_stops_without_writing(tmp_path):
    storage = tmp_path / "runs.db"

    def taken_over(x):
        with sqlite3.connect(storage) as db:  # as another machine taking a stale lease does
            db.execute("UPDATE leases SET host = 'elsewhere', pid = 7, token = 'theirs'")
        db.close()
        return x

    with pytest.raises(StudyBusyError, match=r"lost the lease .* \(now held by elsewhere:7\)"):
        tune(taken_over, SPACE, "random", Budget(trials=3), storage=storage, progress=False)
    study = load_study(storage)
    assert [t.status for t in study.trials] == ["running"]  # its result was not written
    assert study.stop_reason is None
    assert leases(storage) == [("random-seed0", "elsewhere", 7)]  # the new holder's, kept
