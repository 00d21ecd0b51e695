"""A study killed with SIGKILL in the middle of training resumes with the same command."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

from tunebench import load_study

COMMAND = [
    sys.executable, "-m", "tunebench.cli", "tune", "--strategy", "random",
    "--budget-epochs", "40", "--seed", "0", "--subsample", "300", "--max-epochs", "5",
    "--no-progress",
]  # fmt: skip


def finished_trials(storage):
    if not storage.exists():
        return 0
    try:
        with sqlite3.connect(storage, timeout=5) as db:
            return db.execute("SELECT count(*) FROM trials WHERE status != 'running'").fetchone()[0]
    except sqlite3.OperationalError:  # the tables are not there yet
        return 0


def test_kill_9_then_rerun_loses_nothing_and_counts_nothing_twice(tmp_path):
    storage = tmp_path / "runs.db"
    command = [*COMMAND, "--storage", str(storage)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.monotonic() + 180
    while finished_trials(storage) < 3:
        assert process.poll() is None, process.stdout.read().decode()
        assert time.monotonic() < deadline, "the study did not get going"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = load_study(storage)
    done_before = {t.id: t for t in before.trials if t.is_finished}
    assert len(done_before) >= 3 and before.epochs_spent < 40

    rerun = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True,
                           timeout=300)  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    assert "best trial" in rerun.stdout

    after = load_study(storage)
    ids = [t.id for t in after.trials]
    assert ids == list(range(len(ids)))  # no trial duplicated, none missing
    assert all(t.is_finished for t in after.trials)
    for trial_id, trial in done_before.items():  # finished trials kept as they were
        kept = after.trials[trial_id]
        assert (kept.params, kept.loss, kept.epochs_run) == (
            trial.params, trial.loss, trial.epochs_run)  # fmt: skip
    assert after.epochs_spent <= 40 and after.stop_reason == "epochs"
    # The resumed study proposes exactly what an uninterrupted one would (random ignores losses).
    from tunebench import get_strategy
    from tunebench.models import book_space

    strategy = get_strategy("random", book_space(), seed=0)
    assert [t.params for t in after.trials] == [strategy.ask().params for _ in after.trials]
