"""executor="processes": real worker processes on this machine."""

from __future__ import annotations

import itertools
import os
import signal

import pytest

from tunebench import Budget, Choice, Float, KerasObjective, Result, Space, tune
from tunebench.models import book_space, build_mlp


def test_two_workers_match_the_inline_run(small_housing, tmp_path):
    # patience > max_epochs: every trial trains its full grant, so the budget splits into the
    # same trials whether they run one at a time or two at once. Random search proposes the
    # same params either way, so equal params prove nothing: what is checked is that each
    # trial, trained in another process, gets the inline run's loss, that the losses differ
    # (a mix-up of results would show), and that trials really ran at the same time.
    objective = KerasObjective(build_mlp, small_housing, max_epochs=4, patience=10)
    kwargs = dict(strategy="random", budget=Budget(epochs=30), seed=5, progress=False)
    inline = tune(objective, book_space(), **kwargs)
    parallel = tune(
        objective,
        book_space(),
        executor="processes",
        workers=2,
        storage=tmp_path / "runs.db",
        **kwargs,
    )
    assert len({t.worker for t in parallel.trials}) == 2
    assert all(str(os.getpid()) not in t.worker for t in parallel.trials)
    assert [t.params for t in parallel.trials] == [t.params for t in inline.trials]
    assert parallel.epochs_spent == inline.epochs_spent == 30
    assert len({round(t.loss, 4) for t in inline.trials}) == len(inline.trials)
    for a, b in zip(parallel.trials, inline.trials, strict=True):
        assert a.loss == pytest.approx(b.loss, rel=1e-3)
    trials = parallel.trials
    assert any(b.started < a.finished for a, b in itertools.pairwise(trials))  # two at once
    assert set(parallel.to_dataframe()["worker"]) == {t.worker for t in parallel.trials}


class KillsItsWorker:
    """An objective whose trial 3 is killed by SIGKILL mid-trial (as the OOM killer would)."""

    max_epochs = None

    def evaluate(self, suggestion, state=None):
        if suggestion.id == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return Result(loss=(suggestion.params["x"] - 0.3) ** 2)


def test_a_killed_worker_fails_its_trial_and_the_study_goes_on():
    study = tune(
        KillsItsWorker(),
        Space(x=Float(0, 1)),
        strategy="tpe",
        budget=Budget(trials=12),
        executor="processes",
        workers=2,
        progress=False,
    )
    assert len(study.trials) == 12
    killed = next(t for t in study.trials if t.id == 3)
    assert killed.status == "failed"
    assert "died during the trial" in killed.error and "exit code -9" in killed.error
    assert sum(t.status == "ok" for t in study.trials) == 11
    assert len({t.worker for t in study.trials}) == 3  # the dead worker was replaced


def test_bad_executor_arguments_are_explained():
    with pytest.raises(ValueError, match="unknown executor 'threads'"):
        tune(lambda x: x, Space(x=Float(0, 1)), budget=Budget(trials=1), executor="threads")
    with pytest.raises(ValueError, match="workers=2"):
        tune(lambda x: x, Space(x=Float(0, 1)), budget=Budget(trials=1), workers=2)
    with pytest.raises(ValueError, match="workers must be a positive integer, got 0"):
        tune(
            lambda x: x,
            Space(x=Float(0, 1)),
            budget=Budget(trials=1),
            executor="processes",
            workers=0,
        )


def test_one_pool_serves_several_studies_and_is_left_open():
    from tunebench.executors import make_executor

    pool = make_executor("processes", workers=2)
    try:
        workers = set()
        for seed in (0, 1):
            study = tune(
                lambda x: (x - 0.3) ** 2,
                Space(x=Float(0, 1)),
                strategy="random",
                budget=Budget(trials=6),
                seed=seed,
                executor=pool,
                progress=False,
            )
            assert len(study.trials) == 6
            workers |= {t.worker for t in study.trials}
        assert len(workers) == 2  # the same two processes ran both studies
    finally:
        pool.close()


def test_the_benchmark_runs_through_worker_processes(tmp_path):
    from tunebench.bench import run_benchmark

    report = run_benchmark(
        ["random", "tpe"],
        seeds=1,
        budget_epochs=6,
        storage=tmp_path / "runs.db",
        out_dir=tmp_path,
        subsample=300,
        max_epochs=3,
        executor="processes",
        workers=2,
        progress=False,
    )
    assert report.exists()
    from tunebench import load_study

    for name in ("random-seed0", "tpe-seed0"):
        study = load_study(tmp_path / "runs.db", name)
        assert study.epochs_spent <= 6 and all(t.status == "ok" for t in study.trials)


# ------------------------------------------------------------- plain scripts, start-up failures

PLAIN_SCRIPT = """
from tunebench import Budget, Float, Int, Space, tune

def bowl(x, n):
    return (x - 0.3) ** 2 + 0.01 * (n - 4) ** 2

study = tune(bowl, Space(x=Float(0, 1), n=Int(1, 8)), strategy="random",
             budget=Budget(trials=16), executor="processes", workers=2, progress=False)
print("STATUSES", sorted({t.status for t in study.trials}), len(study.trials),
      len({t.worker for t in study.trials}))
"""


def _run_plain_script(tmp_path, *, stdin: bool):
    import subprocess
    import sys
    from pathlib import Path

    import tunebench

    root = str(Path(tunebench.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    script = tmp_path / "search.py"  # no `if __name__ == "__main__":` guard
    script.write_text(PLAIN_SCRIPT)
    command = [sys.executable, "-"] if stdin else [sys.executable, str(script)]
    done = subprocess.run(
        command,
        input=PLAIN_SCRIPT if stdin else None,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("STATUSES"))
    return line


@pytest.mark.parametrize("stdin", [False, True], ids=["script-file", "stdin"])
def test_a_plain_script_without_a_main_guard_runs_on_worker_processes(tmp_path, stdin):
    line = _run_plain_script(tmp_path, stdin=stdin)
    assert line == "STATUSES ['ok'] 16 2", line  # 16 trials, every one ok, on 2 workers


GHOST_MODULE = """
class Ghost:
    max_epochs = None

    def evaluate(self, suggestion, state=None):
        from tunebench import Result
        return Result(loss=suggestion.params["x"])
"""


def test_an_objective_the_workers_cannot_import_stops_with_a_clear_error(tmp_path, monkeypatch):
    import sys

    from tunebench import load_study
    from tunebench.executors import WorkerStartError

    (tmp_path / "ghost_objective.py").write_text(GHOST_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import ghost_objective

    objective = ghost_objective.Ghost()
    sys.path.remove(str(tmp_path))  # the workers will not find the module: pickled by name
    monkeypatch.delitem(sys.modules, "ghost_objective")
    sys.modules["ghost_objective"] = ghost_objective  # the driver still has it
    db = tmp_path / "runs.db"
    with pytest.raises(WorkerStartError, match="cannot load the objective") as caught:
        tune(
            objective,
            Space(x=Float(0, 1)),
            budget=Budget(trials=4),
            executor="processes",
            workers=2,
            storage=db,
            progress=False,
        )
    message = str(caught.value)
    assert "No module named 'ghost_objective'" in message and "PYTHONPATH" in message
    assert "register_pickle_by_value" in message and "no trial was run or charged" in message
    study = load_study(db)
    assert study.epochs_spent == 0
    assert not [t for t in study.trials if t.status == "failed"]


# ---------------------------------------------------------------------- the pool's bookkeeping


def _run(pool, objective, ids):
    from tunebench.strategy import Suggestion

    done = []
    for i in ids:
        if pool.running == pool.capacity:
            done += pool.wait()
        pool.submit(objective, Suggestion(id=i, params={"x": 0.0}), None)
    while pool.running:
        done += pool.wait()
    return sorted((s.id, r.loss, r.status) for s, r in done)


class Constant:
    """An objective returning ``value`` whatever the params (slots: freed in one block)."""

    __slots__ = ("value",)
    max_epochs = None

    def __init__(self, value):
        self.value = value

    def evaluate(self, suggestion, state=None):
        import time

        time.sleep(0.2)  # long enough for both workers to take a trial
        return Result(loss=self.value)


def test_a_new_objective_reaching_a_freed_objectives_id_is_sent_again():
    from tunebench.executors import ProcessExecutor

    pool = ProcessExecutor(workers=2)
    try:
        first = Constant(1.0)
        assert _run(pool, first, [0, 1]) == [(0, 1.0, "ok"), (1, 1.0, "ok")]  # both hold it
        freed = id(first)
        assert _run(pool, Constant(2.0), [2]) == [(2, 2.0, "ok")]  # only one worker moves on
        del first
        third = Constant(3.0)  # CPython hands it the freed block, so the freed id
        if id(third) != freed:
            pytest.skip("CPython did not reuse the freed object's id")
        assert _run(pool, third, [3, 4]) == [(3, 3.0, "ok"), (4, 3.0, "ok")]
    finally:
        pool.close()


def test_a_worker_that_died_while_idle_is_replaced_before_its_next_trial():
    from tunebench.executors import ProcessExecutor

    pool = ProcessExecutor(workers=2)
    try:
        assert _run(pool, Constant(1.0), [0, 1]) == [(0, 1.0, "ok"), (1, 1.0, "ok")]
        victim = pool._workers[0].process
        os.kill(victim.pid, signal.SIGKILL)  # killed while idle, as the OOM killer might
        victim.join(timeout=10)
        assert _run(pool, Constant(1.0), [2, 3, 4]) == [(i, 1.0, "ok") for i in (2, 3, 4)]
    finally:
        pool.close()


def _tensorflow_log_level(x: float) -> float:
    import logging

    return float(logging.getLogger("tensorflow").level)


def test_workers_keep_the_drivers_tensorflow_log_level(monkeypatch):
    import logging

    # The CLI raises it to hide retracing warnings; its workers must stay as quiet.
    monkeypatch.setattr(logging.getLogger("tensorflow"), "level", logging.ERROR)
    study = tune(
        _tensorflow_log_level,
        Space(x=Float(0, 1)),
        "random",
        Budget(trials=2),
        executor="processes",
        workers=1,
        progress=False,
    )
    assert [t.loss for t in study.trials] == [logging.ERROR, logging.ERROR]


_HELD: list[bytes] = []


def _hold_memory(megabytes: int) -> float:
    """Keeps ``megabytes`` more of resident memory for the life of the worker process."""
    _HELD.append(b"\1" * (megabytes << 20))
    return float(sum(len(b) for b in _HELD) >> 20)


def _resident_megabytes(x: int) -> float:
    from tunebench.executors import resident_bytes

    return float((resident_bytes() or 0) >> 20)


def test_a_worker_holding_too_much_memory_retires_after_its_trial_and_is_replaced():
    from tunebench.executors import ProcessExecutor

    # The limit: what a fresh worker holds after a trial, plus 150 MiB. Each trial holds
    # 100 MiB more, so the worker retires after its second.
    probe = tune(
        _resident_megabytes,
        Space(x=Choice([0])),
        strategy="random",
        budget=Budget(trials=1),
        seed=0,
        executor="processes",
        workers=1,
    )
    limit = (int(probe.best_loss) + 150) << 20
    study = tune(
        _hold_memory,
        Space(megabytes=Choice([100])),
        strategy="random",
        budget=Budget(trials=5),
        seed=0,
        executor=ProcessExecutor(workers=1, max_worker_memory=limit),
    )
    trials = sorted(study.trials, key=lambda t: t.id)
    assert [t.status for t in trials] == ["ok"] * 5  # nothing lost to the retirement
    # What the worker held when it answered: growing, then back to 100 MiB in a new process.
    assert [t.loss for t in trials] == [100.0, 200.0, 100.0, 200.0, 100.0]
    workers = [t.worker for t in trials]
    assert workers[0] == workers[1] != workers[2] == workers[3] != workers[4]


def test_a_bad_worker_memory_limit_is_explained():
    from tunebench.executors import ProcessExecutor

    with pytest.raises(ValueError, match=r"max_worker_memory must be .* got -1"):
        ProcessExecutor(workers=1, max_worker_memory=-1)
